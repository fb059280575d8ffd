import { afterEach, describe, expect, it } from 'vitest'
import { HealthError, createHealth } from '../src/index.js'
import type { CheckReport, Health, HealthCheck, HealthResponse } from '../src/index.js'
import { memoryLogger, sleep } from './helpers.js'

const created: Health[] = []
function make(options: Parameters<typeof createHealth>[0]): Health {
  const health = createHealth(options)
  created.push(health)
  return health
}
afterEach(() => {
  for (const health of created.splice(0)) health.close()
})

interface Body {
  status: string
  output?: string
  checks: Record<string, (CheckReport & Record<string, unknown>)[]>
}

function body(response: HealthResponse): Body {
  return JSON.parse(response.body) as Body
}

function counting(run: HealthCheck['run'], extra: Partial<HealthCheck> = {}) {
  const counter = { runs: 0 }
  const check: HealthCheck = {
    name: 'dep',
    ...extra,
    run: (signal) => {
      counter.runs++
      return run(signal)
    },
  }
  return { check, counter }
}

describe('readiness', () => {
  it('passes with no checks, in application/health+json, not cacheable', async () => {
    const response = await make({}).readiness()
    expect(response.status).toBe(200)
    expect(response.headers).toEqual({
      'Content-Type': 'application/health+json; charset=utf-8',
      'Cache-Control': 'no-store',
    })
    expect(body(response)).toEqual({ status: 'pass' })
  })

  it('runs a check once for 100 concurrent probes (single-flight)', async () => {
    const { check, counter } = counting(() => sleep(50))
    const health = make({ checks: [check] })
    const responses = await Promise.all(Array.from({ length: 100 }, () => health.readiness()))
    expect(counter.runs).toBe(1)
    expect(responses.every((r) => r.status === 200)).toBe(true)
    // Without a cache, the next probe runs it again.
    await health.readiness()
    expect(counter.runs).toBe(2)
  })

  it('reuses results for cacheMs, failures included', async () => {
    let fail = true
    const { check, counter } = counting(
      () => {
        if (fail) throw new Error('down')
      },
      { cacheMs: 200 },
    )
    const health = make({ checks: [check] })
    expect((await health.readiness()).status).toBe(503)
    fail = false
    expect((await health.readiness()).status).toBe(503)
    expect(counter.runs).toBe(1)
    await sleep(230)
    expect((await health.readiness()).status).toBe(200)
    expect(counter.runs).toBe(2)
    expect((await health.readiness()).status).toBe(200)
    expect(counter.runs).toBe(2)
  })

  it('fails a hung check at its timeout and aborts its signal', async () => {
    let seen: AbortSignal | undefined
    const health = make({
      checks: [
        {
          name: 'hung',
          timeoutMs: 150,
          run: (signal) => {
            seen = signal
            return new Promise(() => undefined)
          },
        },
      ],
    })
    const started = performance.now()
    const response = await health.readiness({ details: true })
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(140)
    expect(elapsed).toBeLessThan(400)
    expect(response.status).toBe(503)
    expect(body(response).checks['hung:connection']![0]!).toMatchObject({
      status: 'fail',
      output: 'timeout',
    })
    expect(seen?.aborted).toBe(true)
    expect(seen?.reason).toBeInstanceOf(HealthError)
    expect((seen?.reason as HealthError).code).toBe('PALISADE_HEALTH_CHECK_TIMEOUT')
  })

  it('reports a synchronous throw as a failed check, not an exception', async () => {
    const health = make({
      checks: [
        {
          name: 'sync',
          run: () => {
            throw new Error('boom at db.internal:5432')
          },
        },
      ],
    })
    const response = await health.readiness({ details: true })
    expect(response.status).toBe(503)
    expect(body(response)).toMatchObject({
      status: 'fail',
      checks: { 'sync:connection': [{ status: 'fail', output: 'error' }] },
    })
  })

  it('answers 200 warn when only a non-critical check fails', async () => {
    const health = make({
      checks: [
        { name: 'db', run: () => undefined },
        {
          name: 'cache',
          critical: false,
          run: () => Promise.reject(new Error('down')),
        },
      ],
    })
    const response = await health.readiness({ details: true })
    expect(response.status).toBe(200)
    const json = body(response)
    expect(json.status).toBe('warn')
    expect(json.checks['db:connection']![0]!.status).toBe('pass')
    expect(json.checks['cache:connection']![0]!.status).toBe('warn')
    expect(body(await health.readiness())).toEqual({ status: 'warn' })
  })

  it('hides details by default and shows short reasons without hosts with details: true', async () => {
    const refused = Object.assign(
      new Error('connect ECONNREFUSED 10.1.2.3:5432 postgres://app:hunter2@db.internal/app'),
      { code: 'ECONNREFUSED' },
    )
    const health = make({
      checks: [
        {
          name: 'postgresql',
          componentType: 'datastore',
          run: () => Promise.reject(refused),
        },
        { name: 'disk', measurement: 'free', run: () => 'ok' },
      ],
    })
    const hidden = await health.readiness()
    expect(hidden.status).toBe(503)
    expect(hidden.body).toBe('{"status":"fail"}')

    const shown = await health.readiness({ details: true })
    expect(shown.status).toBe(503)
    expect(shown.body).not.toMatch(/10\.1\.2\.3|db\.internal|hunter2|ECONNREFUSED|at /)
    const json = body(shown)
    const report = json.checks['postgresql:connection']![0]!
    expect(report).toEqual({
      componentType: 'datastore',
      status: 'fail',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      observedValue: expect.any(Number),
      observedUnit: 'ms',
      output: 'unavailable',
    })
    expect(json.checks['disk:free']![0]!).toMatchObject({
      componentType: 'component',
      status: 'pass',
    })
    expect(json.checks['disk:free']![0]!).not.toHaveProperty('output')
  })

  it('uses the output of a HealthError thrown by a check', async () => {
    const health = make({
      checks: [
        {
          name: 'disk',
          run: () => {
            throw new HealthError('PALISADE_HEALTH_CHECK_FAILED', 'only 10 MB free', {
              output: 'low disk space',
            })
          },
        },
      ],
    })
    const json = body(await health.readiness({ details: true }))
    expect(json.checks['disk:connection']![0]!.output).toBe('low disk space')
  })

  it('logs state changes only, with the message but no credentials', async () => {
    const logger = memoryLogger()
    let fail = true
    const health = make({
      logger,
      checks: [
        {
          name: 'db',
          run: () => {
            if (fail) throw new Error('cannot reach postgres://app:hunter2@db.internal/app')
          },
        },
      ],
    })
    await health.readiness()
    await health.readiness()
    await health.readiness()
    expect(logger.lines).toHaveLength(1)
    expect(logger.lines[0]!.level).toBe('warn')
    expect(logger.lines[0]!.object).toMatchObject({ code: 'PALISADE_HEALTH_CHECK_DOWN' })
    expect(logger.lines[0]!.message).toContain('cannot reach')
    expect(logger.lines[0]!.message).not.toContain('hunter2')
    fail = false
    await health.readiness()
    await health.readiness()
    expect(logger.lines).toHaveLength(2)
    expect(logger.lines[1]!.object).toMatchObject({ code: 'PALISADE_HEALTH_CHECK_UP' })
  })

  it('fails with 503 "shutting down" after beginShutdown, without running checks', async () => {
    const { check, counter } = counting(() => undefined)
    const health = make({ checks: [check] })
    expect(health.shuttingDown).toBe(false)
    health.beginShutdown()
    expect(health.shuttingDown).toBe(true)
    const response = await health.readiness({ details: true })
    expect(response.status).toBe(503)
    expect(body(response)).toEqual({ status: 'fail', output: 'shutting down' })
    expect(counter.runs).toBe(0)
  })

  it('fails a probe whose checks were running when the shutdown began', async () => {
    const health = make({ checks: [{ name: 'slow', run: () => sleep(50) }] })
    const pending = health.readiness()
    health.beginShutdown()
    expect((await pending).status).toBe(503)
  })
})

describe('startup and liveness', () => {
  it('fails startup until markStarted()', () => {
    const health = make({})
    const before = health.startup()
    expect(before.status).toBe(503)
    expect(body(before)).toEqual({ status: 'fail', output: 'starting' })
    health.markStarted()
    const after = health.startup()
    expect(after.status).toBe(200)
    expect(body(after)).toEqual({ status: 'pass' })
  })

  it('passes liveness, also while shutting down, and fails it when the event loop is blocked', async () => {
    const health = make({ eventLoopDelayThresholdMs: 100 })
    const live = health.liveness()
    expect(live.status).toBe(200)
    expect(live.headers['Content-Type']).toBe('application/health+json; charset=utf-8')
    expect(body(live)).toEqual({ status: 'pass' })
    health.beginShutdown()
    expect(health.liveness().status).toBe(200)

    await sleep(60) // let the monitor take its first samples
    const until = performance.now() + 250
    while (performance.now() < until) {
      // Block the event loop on purpose.
    }
    await sleep(40)
    const blocked = health.liveness()
    expect(blocked.status).toBe(503)
    expect(body(blocked)).toEqual({ status: 'fail', output: 'event loop blocked' })
  })
})

describe('options', () => {
  const cases: [unknown, string][] = [
    [{ checks: 'x' }, '"checks" option must be an array'],
    [{ checks: [{ run: () => 1 }] }, '"checks[0].name" option must be a non-empty string'],
    [{ checks: [{ name: 'a' }] }, '"checks[0].run" option must be a function'],
    [{ checks: [{ name: 'a', run: () => 1, timeoutMs: 0 }] }, '"checks[0].timeoutMs" option'],
    [{ checks: [{ name: 'a', run: () => 1, cacheMs: -1 }] }, '"checks[0].cacheMs" option'],
    [{ checks: [{ name: 'a', run: () => 1, critical: 'no' }] }, '"checks[0].critical" option'],
    [{ eventLoopDelayThresholdMs: 1.5 }, '"eventLoopDelayThresholdMs" option'],
    [{ logger: console.log }, '"logger" option'],
  ]
  it.each(cases)('refuses %j at creation', (options, message) => {
    expect(() => createHealth(options as never)).toThrow(TypeError)
    expect(() => createHealth(options as never)).toThrow(message)
  })
})
