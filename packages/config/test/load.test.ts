import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest'
import type { ConfigIssue, Secret } from '../src/index.js'
import {
  ConfigError,
  bool,
  databaseUrl,
  describeConfig,
  isProductionLike,
  json,
  makeValidator,
  num,
  parseConfig,
  port,
  resolveEnvironment,
  secret,
  str,
  url,
} from '../src/index.js'

const STRONG = 'q4Zt9mVx2LrB7wKs1NcY8pHd3JfG6aTe'
const PROD = { NODE_ENV: 'production' }
const dir = mkdtempSync(join(tmpdir(), 'palisade-config-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})
function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

function refusal(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}
const brief = (issues: readonly ConfigIssue[]) =>
  issues.map((i) => `${i.variable}:${i.kind}:${i.rule}`)

describe('environments', () => {
  it.each([
    [{}, true],
    [{ NODE_ENV: 'production' }, true],
    [{ NODE_ENV: 'staging' }, true],
    [{ NODE_ENV: '' }, true],
    [{ NODE_ENV: 'development' }, false],
    [{ NODE_ENV: 'DEV' }, false],
    [{ NODE_ENV: 'local' }, false],
    [{ NODE_ENV: 'test' }, false],
    [{ NODE_ENV: 'development', APP_ENV: 'production' }, true],
    [{ NODE_ENV: 'production', APP_ENV: 'local' }, false],
  ])('%j is production-like: %s', (env, expected) => {
    expect(isProductionLike(env)).toBe(expected)
  })

  it('says which variable decided', () => {
    expect(resolveEnvironment({ NODE_ENV: 'test', APP_ENV: 'dev' })).toEqual({
      name: 'dev',
      from: 'APP_ENV',
      productionLike: false,
    })
  })
})

describe('parseConfig', () => {
  const schema = {
    PORT: port({ default: 3000 }),
    LOG_LEVEL: str({ choices: ['debug', 'info', 'warn'], default: 'info' }),
    SESSION_KEY: secret({ desc: 'Signs session cookies' }),
    DATABASE_URL: databaseUrl({ schemes: ['postgres', 'postgresql'] }),
    FEATURES: json<{ beta: boolean }>({ default: { beta: false } }),
  }
  const good = {
    ...PROD,
    SESSION_KEY: STRONG,
    DATABASE_URL: 'postgres://app@127.0.0.1:5432/orders',
  }

  it('returns a frozen, typed configuration', () => {
    const config = parseConfig(schema, { env: good })
    expectTypeOf(config.PORT).toEqualTypeOf<number>()
    expectTypeOf(config.LOG_LEVEL).toEqualTypeOf<'debug' | 'info' | 'warn'>()
    expectTypeOf(config.SESSION_KEY).toEqualTypeOf<Secret>()
    expectTypeOf(config.DATABASE_URL).toEqualTypeOf<Secret>()
    expectTypeOf(config.FEATURES).toEqualTypeOf<{ beta: boolean }>()
    expect(config.PORT).toBe(3000)
    expect(config.LOG_LEVEL).toBe('info')
    expect(config.FEATURES).toEqual({ beta: false })
    expect(Object.isFrozen(config)).toBe(true)
    expect(() => {
      ;(config as { PORT: number }).PORT = 1
    }).toThrow(TypeError)
    expect(Object.keys(config).sort()).toEqual(Object.keys(schema).sort())
    expect(inspect(config)).not.toContain(STRONG)
    expect(JSON.stringify(config)).not.toContain(STRONG)
  })

  it('reports every problem at once, grouped, in schema order', () => {
    const error = refusal(() =>
      parseConfig(schema, {
        env: {
          ...PROD,
          PORT: 'eighty',
          LOG_LEVEL: 'verbose',
          SESSION_KEY: 'changeme',
          DATABASE_URL: 'sqlite:///tmp/app.db',
        },
      }),
    )
    expect(error.code).toBe('PALISADE_CONFIG_INVALID')
    expect(brief(error.issues)).toEqual([
      'PORT:invalid:format',
      'LOG_LEVEL:invalid:choices',
      'SESSION_KEY:weak:placeholder',
      'SESSION_KEY:weak:too-short',
      'DATABASE_URL:invalid:scheme',
    ])
    const report = error.message
    expect(report).toMatch(
      /^Configuration refused in a production-like environment \(NODE_ENV=production\): 5 problems\./,
    )
    expect(report.indexOf('Invalid:')).toBeLessThan(report.indexOf('Weak:'))
    expect(report).toContain('PORT [format]: Invalid port input: "eighty" (from the environment).')
    expect(report).toContain('fix: use one of: debug, info, warn')
    expect(report).toContain('SESSION_KEY [placeholder]')
    expect(report).not.toContain('changeme')
  })

  it('reports missing variables with their description and how to set them', () => {
    const error = refusal(() => parseConfig(schema, { env: PROD }))
    expect(brief(error.issues)).toEqual([
      'SESSION_KEY:missing:required',
      'DATABASE_URL:missing:required',
    ])
    expect(error.message).toContain('Missing:')
    expect(error.message).toContain(
      'SESSION_KEY [required]: is required but not set (Signs session cookies).',
    )
    expect(error.message).toContain(
      'fix: set SESSION_KEY, or SESSION_KEY_FILE to a file that holds it',
    )
  })

  it.each([
    ['an empty string', ''],
    ['whitespace only', ' \t '],
  ])('treats %s as missing, never as a value', (_label, value) => {
    const error = refusal(() =>
      parseConfig(
        { NAME: str(), PORT: port({ default: 80 }) },
        { env: { ...PROD, NAME: value, PORT: value } },
      ),
    )
    expect(brief(error.issues)).toEqual(['NAME:missing:empty', 'PORT:missing:empty'])
    expect(error.issues[1]!.fix).toBe('give PORT a value, or unset it to use the default')
  })

  it('validates defaults in production like any other value', () => {
    const error = refusal(() =>
      parseConfig(
        {
          KEY: secret({ default: 'changeme' }),
          DB: databaseUrl({ default: 'sqlite::memory:' }),
          LEVEL: str({ choices: ['a'], default: 'b' }),
        },
        { env: PROD },
      ),
    )
    expect(brief(error.issues)).toEqual([
      'KEY:weak:placeholder',
      'KEY:weak:too-short',
      'DB:unsafe:sqlite',
      'DB:unsafe:in-memory',
      'LEVEL:invalid:choices',
    ])
    expect(error.issues.every((i) => i.provenance.source === 'default')).toBe(true)
    expect(error.message).toContain('(from the default)')
  })

  it('picks testDefault, devDefault and default by environment, never a devDefault in production', () => {
    const spec = { LEVEL: str({ default: 'warn', devDefault: 'debug', testDefault: 'silent' }) }
    expect(parseConfig(spec, { env: { NODE_ENV: 'test' } }).LEVEL).toBe('silent')
    expect(parseConfig(spec, { env: { NODE_ENV: 'development' } }).LEVEL).toBe('debug')
    expect(parseConfig(spec, { env: { NODE_ENV: 'staging' } }).LEVEL).toBe('warn')
    expect(parseConfig(spec, { env: {} }).LEVEL).toBe('warn')
    const devOnly = { KEY: secret({ devDefault: STRONG }) }
    expect(parseConfig(devOnly, { env: { NODE_ENV: 'dev' } }).KEY.reveal()).toBe(STRONG)
    expect(
      brief(refusal(() => parseConfig(devOnly, { env: { NODE_ENV: 'staging' } })).issues),
    ).toEqual(['KEY:missing:required'])
  })

  it('types devDefault: undefined as possibly unset, and passes defaults to validators as strings', () => {
    const spec = {
      DATABASE_URL: databaseUrl({ devDefault: undefined }),
      PORT: port({ default: 8080 }),
      VERBOSE: bool({ default: true }),
    }
    const config = parseConfig(spec, { env: { NODE_ENV: 'development' } })
    expectTypeOf(config.DATABASE_URL).toEqualTypeOf<Secret | undefined>()
    expect(config.DATABASE_URL).toBeUndefined()
    expect(config.PORT).toBe(8080)
    expect(config.VERBOSE).toBe(true)
    const typed = parseConfig(
      { N: makeValidator((input) => typeof input)({ default: 5 as never }) },
      { env: {} },
    )
    expect(typed.N).toBe('string')
    expect(brief(refusal(() => parseConfig(spec, { env: PROD })).issues)).toEqual([
      'DATABASE_URL:missing:required',
    ])
  })

  it('keeps optional variables undefined, and honours requiredWhen', () => {
    const spec = {
      REDIS_URL: str({ default: undefined }),
      SMTP_HOST: str({ default: undefined }),
      SMTP_PORT: num({ default: undefined, requiredWhen: (env) => env.SMTP_HOST !== undefined }),
    }
    const config = parseConfig(spec, { env: PROD })
    expectTypeOf(config.REDIS_URL).toEqualTypeOf<string | undefined>()
    expect(config.REDIS_URL).toBeUndefined()
    expect(
      brief(refusal(() => parseConfig(spec, { env: { ...PROD, SMTP_HOST: 'mail' } })).issues),
    ).toEqual(['SMTP_PORT:missing:required'])
  })

  it('shows non-secret values safely: credentials stripped, long values cut', () => {
    const huge = `x${'y'.repeat(1024 * 1024)}`
    const error = refusal(() =>
      parseConfig(
        { ISSUER: url(), FLAG: bool(), COUNT: num() },
        {
          env: {
            ...PROD,
            ISSUER: 'https://user:pa55word@idp example.com',
            FLAG: huge,
            COUNT: 'many\u0000',
          },
        },
      ),
    )
    expect(error.message).not.toContain('pa55word')
    expect(error.message).toContain('https://***@idp example.com')
    expect(error.message).toContain(`(${huge.length} characters)`)
    expect(error.message.length).toBeLessThan(2000)
    expect(error.message).toContain('many\\u0000')
  })

  it('redacts variables whose names say they are secret even when declared with str()', () => {
    const error = refusal(() =>
      parseConfig(
        { STRIPE_API_KEY: str({ choices: ['a'] }), WEBHOOK_SECRET: str({ choices: ['b'] }) },
        {
          env: {
            ...PROD,
            STRIPE_API_KEY: 'sk_live_abcdefghijklmnop',
            WEBHOOK_SECRET: 'whsec_qrstuvwxyz',
          },
        },
      ),
    )
    expect(error.message).not.toContain('sk_live_abcdefghijklmnop')
    expect(error.message).not.toContain('whsec_qrstuvwxyz')
    expect(error.message).toContain('STRIPE_API_KEY [choices]: is not valid')
  })

  it('refuses a schema entry that is not a spec, naming it', () => {
    // @ts-expect-error -- not a validator spec
    expect(() => parseConfig({ PORT: 3000 }, { env: {} })).toThrow(
      'schema entry "PORT" must be a validator spec',
    )
  })
})

describe('VAR_FILE', () => {
  const schema = { DB_PASSWORD: secret({ minLength: 16 }), LOG_LEVEL: str({ default: 'info' }) }

  it('reads the file, trimming the trailing newline, and records the provenance', () => {
    const path = file('db-password', `${STRONG}\n`)
    const config = parseConfig(schema, { env: { ...PROD, DB_PASSWORD_FILE: path } })
    expect(config.DB_PASSWORD.reveal()).toBe(STRONG)
    expect(describeConfig(config).provenance).toEqual({
      DB_PASSWORD: { source: 'file', path },
      LOG_LEVEL: { source: 'default' },
    })
    expect(describeConfig(config).sensitive).toEqual(['DB_PASSWORD'])
    const fromEnv = parseConfig(schema, {
      env: { ...PROD, DB_PASSWORD: STRONG, LOG_LEVEL: 'warn' },
    })
    expect(describeConfig(fromEnv).provenance).toEqual({
      DB_PASSWORD: { source: 'env' },
      LOG_LEVEL: { source: 'env' },
    })
  })

  it.each([
    ['a missing file', () => join(dir, 'nope'), 'invalid:file', 'does not exist'],
    ['a directory', () => dir, 'invalid:file', 'points to a directory'],
    ['an empty file', () => file('empty', '\n'), 'missing:file', 'is empty'],
  ])('refuses %s, naming the variable and the path', (_label, path, rule, text) => {
    const target = path()
    const error = refusal(() => parseConfig(schema, { env: { ...PROD, DB_PASSWORD_FILE: target } }))
    expect(brief(error.issues)).toEqual([`DB_PASSWORD:${rule}`])
    expect(error.message).toContain('DB_PASSWORD_FILE')
    expect(error.message).toContain(target)
    expect(error.message).toContain(text)
  })

  it('refuses a device or a FIFO, saying to point at a regular file', () => {
    const error = refusal(() =>
      parseConfig(schema, { env: { ...PROD, DB_PASSWORD_FILE: '/dev/zero' } }),
    )
    expect(brief(error.issues)).toEqual(['DB_PASSWORD:invalid:file'])
    expect(error.message).toContain('is a character device, not a regular file')
    expect(error.issues[0]!.fix).toBe(
      'point DB_PASSWORD_FILE to a regular file that holds the value (not a FIFO, device or /proc file)',
    )
  })

  it('refuses VAR and VAR_FILE both set', () => {
    const error = refusal(() =>
      parseConfig(schema, {
        env: { ...PROD, DB_PASSWORD: STRONG, DB_PASSWORD_FILE: file('p', STRONG) },
      }),
    )
    expect(brief(error.issues)).toEqual(['DB_PASSWORD:invalid:conflict'])
    expect(error.issues[0]!.fix).toBe('unset either DB_PASSWORD or DB_PASSWORD_FILE')
    expect(error.message).not.toContain(STRONG)
  })

  it('judges a value from a file like any other, naming the file', () => {
    const path = file('weak', 'changeme\n')
    const error = refusal(() => parseConfig(schema, { env: { ...PROD, DB_PASSWORD_FILE: path } }))
    expect(error.issues[0]!.provenance).toEqual({ source: 'file', path })
    expect(error.message).toContain(`(from file ${path})`)
  })
})

describe('describeConfig', () => {
  it('refuses an object that is not a loaded configuration', () => {
    expect(() => describeConfig({})).toThrow('describeConfig() takes a configuration')
  })
})
