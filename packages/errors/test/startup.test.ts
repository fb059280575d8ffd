import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  PalisadeError,
  describeNetworkFailure,
  formatStartupReport,
  reportStartupFailure,
  startupFailureOf,
  withStartupProblems,
} from '../src/index.js'

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

const problem = {
  what: 'OpenID discovery document',
  source: 'http://127.0.0.1:9/.well-known/openid-configuration',
  cause: 'connection refused (ECONNREFUSED)',
  fix: 'start the identity provider at 127.0.0.1:9, or correct the issuer option (AUTH_ISSUER)',
}

/** Runs reportStartupFailure() in a child process on a wrapped dependency failure. */
function run(options: string, env: Record<string, string> = {}) {
  const script = `
    import { PalisadeError, withStartupProblems, reportStartupFailure } from ${JSON.stringify(dist)}
    const inner = withStartupProblems(new Error('socket'), 'the identity provider could not be reached', [${JSON.stringify(problem)}])
    const outer = new PalisadeError('PALISADE_JWT_JWKS_UNAVAILABLE', 'Token verification is temporarily unavailable', { cause: inner })
    const logged = []
    const logger = { debug() {}, info() {}, warn() {}, error: (object, message) => logged.push({ object, message }) }
    process.on('exit', () => process.stdout.write(JSON.stringify(logged)))
    reportStartupFailure(outer, ${options})
  `
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
  })
  return {
    status: child.status,
    stderr: child.stderr,
    logged: JSON.parse(child.stdout || '[]') as {
      object: Record<string, unknown>
      message: string
    }[],
  }
}

describe('reportStartupFailure()', () => {
  it('prints one short report to stderr and exits 69 for an unreachable dependency', () => {
    const { status, stderr } = run('{}')
    expect(status).toBe(69)
    expect(stderr.trim().split('\n')).toEqual([
      'Startup refused: the identity provider could not be reached (1 problem, exit 69).',
      `  OpenID discovery document at ${problem.source}: ${problem.cause}.`,
      `      fix: ${problem.fix}`,
    ])
  })

  it('also sends the report to the logger, with the problems as fields', () => {
    const { status, logged } = run('{ logger }')
    expect(status).toBe(69)
    expect(logged).toHaveLength(1)
    expect(logged[0]?.message).toContain(problem.source)
    expect(logged[0]?.object).toMatchObject({
      code: 'PALISADE_JWT_JWKS_UNAVAILABLE',
      exitCode: 69,
      problems: [problem],
    })
  })

  it('adds the stack and causes only with PALISADE_DEBUG=1 or stack: true', () => {
    expect(run('{}').stderr).not.toContain('    at ')
    expect(run('{}', { PALISADE_DEBUG: '1' }).stderr).toContain('    at ')
    expect(run('{ stack: true }').stderr).toContain('[cause]')
  })

  it('returns the exit code without exiting when exit is false', () => {
    const { status, stderr } = run('{ exit: false }')
    expect(status).toBe(0)
    expect(stderr).toContain('Startup refused')
  })

  it('refuses bad options with a TypeError naming the option', () => {
    expect(() => reportStartupFailure(new Error('x'), { exit: 'no' as never })).toThrow(
      '"exit" option must be a boolean',
    )
    expect(() => reportStartupFailure(new Error('x'), { logger: {} as never })).toThrow(
      '"logger" option must be a pino-compatible logger',
    )
  })
})

describe('formatStartupReport()', () => {
  it('exits 78 with the configuration report as it is', () => {
    const report = formatStartupReport(
      new PalisadeError('PALISADE_CONFIG_INVALID', 'Configuration refused in a ...: 1 problem.'),
    )
    expect(report).toMatchObject({
      exitCode: 78,
      text: 'Configuration refused in a ...: 1 problem.',
    })
  })

  it('tells any other error in one line with its code, exit 1', () => {
    const report = formatStartupReport(new PalisadeError('PALISADE_X', 'boom'))
    expect(report).toMatchObject({ exitCode: 1, text: 'Startup failed: boom [PALISADE_X]' })
  })

  it('finds the problems anywhere in the cause chain, and survives a cycle', () => {
    const inner = withStartupProblems(new Error('inner'), 'x', [problem], 78)
    const outer = new Error('outer', { cause: new Error('middle', { cause: inner }) })
    expect(startupFailureOf(outer)?.exitCode).toBe(78)
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    ;(a as { cause?: unknown }).cause = b
    expect(startupFailureOf(a)).toBeUndefined()
  })
})

describe('describeNetworkFailure()', () => {
  it('reads the code of the innermost cause', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      code: 'ECONNREFUSED',
    })
    expect(describeNetworkFailure(new TypeError('fetch failed', { cause: socket }))).toEqual({
      kind: 'refused',
      reason: 'connection refused (ECONNREFUSED)',
    })
    const tls = Object.assign(
      new Error('80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:x.c:350:'),
      { code: 'ERR_SSL_WRONG_VERSION_NUMBER' },
    )
    expect(describeNetworkFailure(new TypeError('fetch failed', { cause: tls })).kind).toBe('tls')
  })
})
