import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  assertEnvExample,
  checkEnvExample,
  databaseUrl,
  generateEnvExample,
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
