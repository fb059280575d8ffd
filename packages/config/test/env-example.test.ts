import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  assertEnvExample,
  checkEnvExample,
  databaseUrl,
  generateEnvExample,
  makePolicyValidator,
  port,
  secret,
  str,
} from '../src/index.js'

const schema = {
  PORT: port({ default: 3000, desc: 'Port the HTTP server listens on' }),
  LOG_LEVEL: str({ choices: ['debug', 'info'], default: 'info', docs: 'https://getpino.io' }),
  PUBLIC_URL: str({ example: 'https://orders.example.com', desc: 'Where users reach the service' }),
  SESSION_KEY: secret({ desc: 'Signs session cookies', example: 'not-shown-in-the-file' }),
  DATABASE_URL: databaseUrl({ example: 'postgres://app:pw@db/app' }),
  REDIS_URL: str({ default: undefined }),
}

describe('generateEnvExample', () => {
  const text = generateEnvExample(schema, { header: 'orders-api' })

  it('lists every variable with its facts, and leaves secrets empty', () => {
    expect(text).toBe(`# orders-api
# Generated from the configuration schema by @palisade/config. Never commit real secrets:
# secrets below are left empty on purpose.

# Port the HTTP server listens on
# optional, default: 3000
PORT=3000

# optional, default: info; one of: debug, info; see https://getpino.io
LOG_LEVEL=info

# Where users reach the service
# required
PUBLIC_URL=https://orders.example.com

# Signs session cookies
# required; secret: set SESSION_KEY or SESSION_KEY_FILE (a file that holds it)
SESSION_KEY=

# required; secret: set DATABASE_URL or DATABASE_URL_FILE (a file that holds it)
DATABASE_URL=

# optional
REDIS_URL=
`)
    expect(text).not.toContain('not-shown-in-the-file')
  })

  it('passes its own check', () => {
    expect(checkEnvExample(schema, text)).toEqual({
      ok: true,
      missing: [],
      stale: [],
      secretsWithValues: [],
      issues: [],
    })
    expect(() => {
      assertEnvExample(schema, text)
    }).not.toThrow()
  })
})

describe('checkEnvExample', () => {
  it('finds missing and stale variables and secrets with values', () => {
    const result = checkEnvExample(
      schema,
      [
        '# PUBLIC_URL=commented out does not count',
        'export PORT=3000',
        'LOG_LEVEL = info',
        'SESSION_KEY="changeme"',
        'DATABASE_URL_FILE=/run/secrets/database_url',
        'OLD_FLAG=1',
      ].join('\r\n'),
    )
    expect(result.ok).toBe(false)
    expect(result.missing).toEqual(['PUBLIC_URL', 'REDIS_URL'])
    expect(result.stale).toEqual(['OLD_FLAG'])
    expect(result.secretsWithValues).toEqual(['SESSION_KEY'])
    expect(result.issues.map((i) => `${i.variable}:${i.rule}`)).toEqual([
      'PUBLIC_URL:env-example-missing',
      'REDIS_URL:env-example-missing',
      'OLD_FLAG:env-example-stale',
      'SESSION_KEY:env-example-secret-value',
    ])
  })

  it('throws a ConfigError naming each variable from assertEnvExample', () => {
    let error: unknown
    try {
      assertEnvExample(schema, 'PORT=1\n')
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('PALISADE_ENV_EXAMPLE_MISMATCH')
    expect((error as ConfigError).message).toContain('SESSION_KEY [env-example-missing]')
    expect((error as ConfigError).message).not.toContain('changeme')
  })
})

describe('.env.example never holds a credential', () => {
  const risky = {
    ORDERS_DB_URL: str({ example: 'postgres://app:Hunter2Hunter2@db.internal:5432/app' }),
    REPLICA_URL: str({ default: 'postgres://ro:pa/ss@w0rd@replica.internal/app' }),
    CACHE_URL: str({ devDefault: 'redis://:R3d1sPass@127.0.0.1:6379/0', default: undefined }),
    UPSTREAMS: str({
      default: 'https://svc:Up1/x@a.internal https://b.internal',
      choices: ['https://svc:Up1/x@a.internal https://b.internal', 'none'],
    }),
    DB_PASS: str({ default: 'letmein-db' }),
    SMTP_PASSWORD: str({ example: 'smtp-pw-example' }),
    WEBHOOK_SECRET: str({ default: 'whsec-default' }),
    GITHUB_TOKEN: str({ example: 'ghp_example' }),
    STRIPE_KEY: str({ example: 'sk_live_example' }),
    SIGNING_KEY: str({ default: 'signing-default' }),
    SERVICE_TOKEN: makePolicyValidator((raw) => raw)({ default: 'tok-default' }),
    LOG_LEVEL: str({ default: 'info' }),
    PUBLIC_URL: str({ example: 'https://orders@orders.example.com/' }),
  }
  const text = generateEnvExample(risky)
  const values = Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  )

  it('writes URLs with the password replaced by a placeholder', () => {
    expect(values.ORDERS_DB_URL).toBe('postgres://app:change-me@db.internal:5432/app')
    expect(values.REPLICA_URL).toBe('postgres://ro:change-me@replica.internal/app')
    expect(values.UPSTREAMS).toBe('"https://svc:change-me@a.internal https://b.internal"')
    expect(values.PUBLIC_URL).toBe('https://orders@orders.example.com/')
    for (const fragment of ['Hunter2', 'pa/ss', 'w0rd', 'R3d1s', 'Up1/x']) {
      expect(text).not.toContain(fragment)
    }
  })

  it('writes no value, default or example of a secret-looking variable', () => {
    for (const name of [
      'DB_PASS',
      'SMTP_PASSWORD',
      'WEBHOOK_SECRET',
      'GITHUB_TOKEN',
      'STRIPE_KEY',
      'SIGNING_KEY',
      'SERVICE_TOKEN',
    ]) {
      expect(values[name]).toBe('')
    }
    for (const fragment of ['letmein', 'smtp-pw', 'whsec', 'ghp_', 'sk_live', 'signing-', 'tok-']) {
      expect(text).not.toContain(fragment)
    }
    expect(values.LOG_LEVEL).toBe('info')
  })

  it('passes its own check', () => {
    expect(checkEnvExample(risky, text)).toMatchObject({ ok: true, secretsWithValues: [] })
  })

  it('is what the check refuses otherwise', () => {
    const result = checkEnvExample(
      risky,
      text
        .replace(
          'ORDERS_DB_URL=postgres://app:change-me@',
          'ORDERS_DB_URL=postgres://app:Hunter2Hunter2@',
        )
        .replace('DB_PASS=', 'DB_PASS=letmein-db'),
    )
    expect(result.secretsWithValues).toEqual(['ORDERS_DB_URL', 'DB_PASS'])
    expect(result.issues.map((i) => `${i.variable}:${i.rule}`)).toEqual([
      'ORDERS_DB_URL:env-example-secret-value',
      'DB_PASS:env-example-secret-value',
    ])
    expect(JSON.stringify(result.issues)).not.toMatch(/Hunter2|letmein/)
  })
})
