import { describe, expect, it } from 'vitest'
import type { ConfigIssue } from '../src/index.js'
import {
  ConfigError,
  databaseUrl,
  describeConfig,
  loadConfig,
  parseConfig,
  port,
  str,
} from '../src/index.js'

const PROD = { NODE_ENV: 'production' }
const DEV = { NODE_ENV: 'development' }
const PASSWORD = 'Vq7xKp2mZt9wLr4s'

function issuesOf(run: () => unknown): readonly ConfigIssue[] {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) {
      expect(error.message).not.toContain(PASSWORD)
      return error.issues
    }
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('the fix of an empty variable', () => {
  it('offers the default only when there is one', () => {
    const issues = issuesOf(() =>
      parseConfig(
        {
          NAME: str(),
          OPTIONAL: str({ default: undefined }),
          LATER: str({ devDefault: 'local' }),
          PORT: port({ default: 3000 }),
        },
        { env: { ...PROD, NAME: '', OPTIONAL: '', LATER: ' ', PORT: '' } },
      ),
    )
    expect(issues.map((i) => `${i.variable}: ${i.fix}`)).toEqual([
      'NAME: give NAME a value',
      'OPTIONAL: give OPTIONAL a value',
      'LATER: give LATER a value',
      'PORT: give PORT a value, or unset it to use the default',
    ])
  })
})

describe('the development summary', () => {
  function accepted(value: string): { rules: string[]; logged: string[] } {
    const logged: string[] = []
    const logger = { warn: (_object: object, message: string) => logged.push(message) }
    const config = loadConfig(
      { DATABASE_URL: databaseUrl() },
      { env: { ...DEV, DATABASE_URL: value }, logger },
    )
    return { rules: describeConfig(config).warnings.map((w) => w.rule), logged }
  }

  it('lists SQLite, which production refuses', () => {
    const { rules, logged } = accepted('file:./dev.db')
    expect(rules).toEqual(['sqlite'])
    expect(logged).toEqual([
      expect.stringMatching(
        /^DATABASE_URL points to SQLite.*\(file:\.\/dev\.db\).*\(refused in production\)$/,
      ),
    ])
  })

  it('lists a plaintext connection to a remote host, which production refuses', () => {
    const { rules, logged } = accepted(`postgres://app:${PASSWORD}@db.internal:5432/orders`)
    expect(rules).toEqual(['tls-required'])
    expect(logged[0]).toContain('connects to db.internal without TLS')
    expect(logged[0]).toContain('(postgres://***@db.internal:5432/orders)')
    expect(logged.join('\n')).not.toContain(PASSWORD)
  })

  it('stays silent about a loopback connection without TLS', () => {
    expect(accepted('postgres://app@127.0.0.1:5432/test').rules).toEqual([])
  })
})

describe('connection strings in the report', () => {
  const shown = (value: string): string =>
    issuesOf(() =>
      parseConfig({ DATABASE_URL: databaseUrl() }, { env: { ...PROD, DATABASE_URL: value } }),
    )[0]!.message

  it('are echoed as written, without adding slashes', () => {
    expect(shown('file:./dev.db')).toContain('(file:./dev.db)')
    expect(shown('file:/var/lib/app.db')).toContain('(file:/var/lib/app.db)')
    expect(shown('sqlite:///var/lib/app.db')).toContain('(sqlite:///var/lib/app.db)')
    expect(shown('sqlite://:memory:')).toContain('(sqlite://:memory:)')
    expect(shown('sqlite::memory:')).toContain('(sqlite::memory:)')
    expect(shown('postgres:///orders?host=db.internal')).toContain('(postgres:///orders)')
  })

  it('keep credentials redacted', () => {
    const message = shown(`postgres://app:${PASSWORD}@db.internal/orders`)
    expect(message).toContain('(postgres://***@db.internal/orders)')
    expect(message).not.toContain('app:')
  })
})
