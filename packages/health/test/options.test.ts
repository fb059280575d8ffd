import { createServer } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import {
  amqpCheck,
  createHealth,
  diskCheck,
  gracefulShutdown,
  heapCheck,
  httpCheck,
  postgresCheck,
  serverTimeouts,
} from '../src/index.js'
import type { GracefulShutdown } from '../src/index.js'

// Options are untyped here on purpose: plain JavaScript callers pass names that do not exist.
const loose = (options: Record<string, unknown>): never => options as never

describe('unknown option names', () => {
  const started: GracefulShutdown[] = []
  afterEach(() => {
    for (const shutdown of started.splice(0)) shutdown.dispose()
  })

  it('gracefulShutdown() refuses terminus and lightship names with the Palisade name', () => {
    const server = createServer()
    expect(() => gracefulShutdown(server, loose({ onSignal: () => Promise.resolve() }))).toThrow(
      new TypeError(
        `unknown option "onSignal" in gracefulShutdown(): did you mean "hooks"? (@godaddy/terminus's onSignal is Palisade's hooks)`,
      ),
    )
    expect(() => gracefulShutdown(server, loose({ timeout: 1000 }))).toThrow(
      /did you mean "timeoutMs"\?/,
    )
    expect(() => gracefulShutdown(server, loose({ shutdownDelay: 1000 }))).toThrow(
      /did you mean "drainMs"\? \(lightship's shutdownDelay is Palisade's drainMs\)/,
    )
    expect(() => gracefulShutdown(server, loose({ drainMS: 1000 }))).toThrow(
      /unknown option "drainMS" in gracefulShutdown\(\): did you mean "drainMs"\?/,
    )
    // Known names with undefined values keep their defaults.
    started.push(gracefulShutdown(server, { drainMs: undefined, signals: [] }))
  })

  it('gracefulShutdown() checks each hook with its path', () => {
    expect(() =>
      gracefulShutdown(
        createServer(),
        loose({ hooks: [{ name: 'db', run: () => undefined, timeout: 5 }] }),
      ),
    ).toThrow(
      /unknown option "hooks\[0\].timeout" in gracefulShutdown\(\): did you mean "hooks\[0\].timeoutMs"\?/,
    )
  })

  it('createHealth() refuses healthChecks with the Palisade name', () => {
    expect(() => createHealth(loose({ healthChecks: { '/readyz': () => undefined } }))).toThrow(
      /unknown option "healthChecks" in createHealth\(\) \(from @godaddy\/terminus\): .*createHealth\(\{ checks \}\)/,
    )
    expect(() => createHealth(loose({ check: [] }))).toThrow(
      /unknown option "check" in createHealth\(\): did you mean "checks"\?/,
    )
    expect(() => createHealth(loose({ paths: { startUp: '/start' } }))).toThrow(
      /unknown option "paths.startUp" in createHealth\(\): did you mean "paths.startup"\?/,
    )
    expect(() => createHealth(loose({ paths: { ready: '/ready' } }))).toThrow(
      /unknown option "paths.ready" in createHealth\(\); known: liveness, readiness, startup/,
    )
    // A check is an object with a contract, like a store: it may carry state of its own.
    expect(() =>
      createHealth({ checks: [Object.assign({ name: 'a', run: () => undefined }, { pool: {} })] }),
    ).not.toThrow()
  })

  it('check factories refuse unknown names and accept their own', () => {
    const pool = { query: () => Promise.resolve() }
    expect(() => postgresCheck(pool, loose({ timeout: 500 }))).toThrow(
      /unknown option "timeout" in postgresCheck\(\): did you mean "timeoutMs"\?/,
    )
    expect(() => httpCheck('http://127.0.0.1/', loose({ fetch, retries: 2 }))).toThrow(
      /unknown option "retries" in httpCheck\(\)/,
    )
    expect(() => heapCheck(loose({ maxPercentage: 80 }))).toThrow(
      /unknown option "maxPercentage" in heapCheck\(\)/,
    )
    expect(() => diskCheck({ path: '.', minFreeBytes: 1, critical: false })).not.toThrow()
    const channel = { checkExchange: () => Promise.resolve() }
    expect(() => amqpCheck(channel as never, { exchange: 'amq.topic', name: 'mq' })).not.toThrow()
  })

  it('serverTimeouts() uses the shared wording', () => {
    expect(() => serverTimeouts(loose({ keepAliveTimeout: 65_000 }))).toThrow(
      /unknown option "keepAliveTimeout" in serverTimeouts\(\): did you mean "keepAliveTimeoutMs"\?/,
    )
  })
})
