import { describe, expect, expectTypeOf, it } from 'vitest'
import type { ConfigIssue, Secret } from '../src/index.js'
import { ConfigError, databaseUrl, dsn, isLocalHost, parseConfig, parseDsn } from '../src/index.js'

const PASSWORD = 'Vq7xKp2mZt9wLr4s'
const PROD = { NODE_ENV: 'production' }

function issuesFor(
  value: string,
  options: Parameters<typeof dsn>[0] = {},
  env: Record<string, string> = PROD,
): ConfigIssue[] {
  try {
    parseConfig({ DATABASE_URL: dsn(options) }, { env: { ...env, DATABASE_URL: value } })
  } catch (error) {
    if (error instanceof ConfigError) {
      expect(error.message).not.toContain(PASSWORD)
      expect(error.message).not.toContain('hunter2')
      return [...error.issues]
    }
    throw error
  }
  return []
}
const rules = (...args: Parameters<typeof issuesFor>) => issuesFor(...args).map((i) => i.rule)

describe('dsn() in a production-like environment', () => {
  it.each([
    `postgres://app:${PASSWORD}@db.internal:5432/orders?sslmode=verify-full`,
    `postgresql://app:${PASSWORD}@db.internal/orders?sslmode=require`,
    `postgres://app:${PASSWORD}@127.0.0.1:5432/test`,
    `postgres://app:${PASSWORD}@localhost/test`,
    `postgres://app@[::1]:5432/test`,
    'postgres:///orders?host=/var/run/postgresql',
    'postgresql://app@%2Fvar%2Frun%2Fpostgresql/orders',
    `mysql://app:${PASSWORD}@db.internal:3306/orders?ssl-mode=REQUIRED`,
    `mariadb://app:${PASSWORD}@db.internal/orders?ssl={"rejectUnauthorized":true}`,
    `rediss://:${PASSWORD}@cache.internal:6380/0`,
    'redis://127.0.0.1:6379',
    `amqps://app:${PASSWORD}@mq.internal/vhost`,
    'amqp://guest:guest@127.0.0.1:5672'.replace('guest:guest', `guest:${PASSWORD}`),
    'tls://nats.internal:4222',
    'nats://nats.internal:4222?tls=true',
    `mongodb://app:${PASSWORD}@a.internal:27017,b.internal:27017/orders?replicaSet=rs0&tls=true`,
    `mongodb+srv://app:${PASSWORD}@cluster.internal/orders`,
  ])('accepts %s', (value) => {
    expect(issuesFor(value)).toEqual([])
  })

  it.each([
    ['postgres without sslmode', 'postgres://app@db.internal/orders', 'tls-required'],
    [
      'postgres with sslmode=prefer',
      'postgres://app@db.internal/orders?sslmode=prefer',
      'tls-required',
    ],
    [
      'postgres with sslmode=disable',
      'postgres://app@db.internal/orders?sslmode=disable',
      'tls-required',
    ],
    ['mysql without ssl', 'mysql://app@db.internal/orders', 'tls-required'],
    ['redis: to a remote host', 'redis://cache.internal:6379', 'tls-required'],
    ['amqp: to a remote host', 'amqp://mq.internal', 'tls-required'],
    ['nats: to a remote host', 'nats://nats.internal:4222', 'tls-required'],
    ['mongodb without tls', 'mongodb://a.internal:27017,127.0.0.1:27017/orders', 'tls-required'],
    ['a SQLite file', 'sqlite:///var/lib/app/db.sqlite3', 'sqlite'],
    ['an in-memory SQLite', 'sqlite::memory:', 'in-memory'],
    ['an in-memory SQLite URL', 'sqlite://:memory:', 'in-memory'],
    ['a shared in-memory file: URL', 'file::memory:?cache=shared', 'in-memory'],
    ['a placeholder password', 'postgres://app:changeme@127.0.0.1/orders', 'placeholder'],
    ['a short password', 'postgres://app:hunter2@127.0.0.1/orders', 'too-short'],
    ['a templated password', 'postgres://app:${DB_PASSWORD}@127.0.0.1/orders', 'placeholder'],
  ])('refuses %s', (_label, value, rule) => {
    const found = issuesFor(value)
    expect(found.map((i) => i.rule)).toContain(rule)
    const issue = found.find((i) => i.rule === rule)!
    expect(['unsafe', 'weak']).toContain(issue.kind)
    expect(issue.fix).not.toBe('')
  })

  it.each([
    ['no scheme', 'db.internal:5432/orders'],
    ['an unknown scheme', 'oracle://db.internal/orders'],
    ['a bad port', 'postgres://app@db.internal:99999/orders'],
    ['a port without host', 'redis://:6379'],
    ['a scheme without //', 'postgres:db.internal'],
    ['bad percent-encoding', 'postgres://app:%zz@db.internal/orders'],
    ['spaces in the host', 'postgres://app@db internal/orders'],
    ['an empty host for redis', 'redis:///0'],
  ])('refuses an invalid URL: %s', (_label, value) => {
    const found = issuesFor(value)
    expect(found.map((i) => i.kind)).toEqual(['invalid'])
  })

  it('keeps credentials out of the report, showing only scheme, host and path', () => {
    const [issue] = issuesFor(`postgres://app:${PASSWORD}@db.internal:5432/orders`)
    expect(issue!.message).toContain('postgres://***@db.internal:5432/orders')
    expect(issue!.message).not.toContain('app:')
  })

  it('keeps credentials out of an invalid URL report', () => {
    const [issue] = issuesFor(`postgres://app:${PASSWORD}@db.internal:70000/orders`)
    expect(issue!.rule).toBe('format')
    expect(issue!.message).toContain('port')
  })

  it('shows SQLite paths as written', () => {
    expect(issuesFor('sqlite:///./app.db')[0]!.message).toContain('(sqlite:///./app.db)')
    expect(issuesFor('sqlite::memory:')[0]!.message).toContain('(sqlite::memory:)')
  })

  it('honours its waivers', () => {
    expect(rules('postgres://app@db.internal/orders', { requireTls: false })).toEqual([])
    expect(rules('sqlite:///var/lib/app.db', { allowSqlite: true })).toEqual([])
    expect(rules('sqlite::memory:', { allowSqlite: true, allowInMemory: true })).toEqual([])
    expect(rules('sqlite::memory:', { allowSqlite: true })).toEqual(['in-memory'])
    expect(
      rules(`postgres://app:${PASSWORD.slice(0, 8)}@localhost/db`, { minPasswordLength: 8 }),
    ).toEqual([])
  })

  it('limits schemes', () => {
    expect(rules('redis://127.0.0.1', { schemes: ['postgres', 'postgresql'] })).toEqual(['scheme'])
    expect(rules('mysql://app@localhost/db', {}, PROD)).toEqual([])
  })
})

describe('dsn() in development', () => {
  const DEV = { NODE_ENV: 'development' }
  it('allows SQLite, in-memory and plaintext connections, and warns about weak passwords', () => {
    expect(rules('sqlite::memory:', {}, DEV)).toEqual([])
    expect(rules('postgres://app@db.internal/orders', {}, DEV)).toEqual([])
    const config = parseConfig(
      { DATABASE_URL: dsn() },
      { env: { ...DEV, DATABASE_URL: 'postgres://app:changeme@localhost/db' } },
    )
    expect(config.DATABASE_URL.reveal()).toBe('postgres://app:changeme@localhost/db')
  })

  it('still refuses what is not a URL', () => {
    expect(rules('not a url', {}, DEV)).toEqual(['format'])
  })
})

describe('databaseUrl()', () => {
  it('accepts database schemes only, and returns a Secret', () => {
    const config = parseConfig(
      { DATABASE_URL: databaseUrl() },
      { env: { ...PROD, DATABASE_URL: 'postgres://app@localhost/db' } },
    )
    expectTypeOf(config.DATABASE_URL).toEqualTypeOf<Secret>()
    expect(config.DATABASE_URL.reveal()).toBe('postgres://app@localhost/db')
    expect(() =>
      parseConfig(
        { DATABASE_URL: databaseUrl() },
        { env: { ...PROD, DATABASE_URL: 'redis://localhost' } },
      ),
    ).toThrow(/DATABASE_URL \[scheme\]/)
  })

  it('validates its options when created', () => {
    expect(() => databaseUrl({ schemes: [] })).toThrow('"schemes" option must be a non-empty array')
    expect(() => databaseUrl({ schemes: ['oracle'] })).toThrow(
      '"schemes" option has the unknown scheme "oracle"',
    )
    expect(() => dsn({ minPasswordLength: -1 })).toThrow(
      '"minPasswordLength" option must be a positive integer',
    )
    // @ts-expect-error -- a boolean is required
    expect(() => dsn({ requireTls: 'no' })).toThrow('"requireTls" option must be a boolean')
  })
})

describe('parseDsn() and isLocalHost()', () => {
  it('parses several hosts, sockets and encoded credentials', () => {
    const parsed = parseDsn('mongodb://u%40x:p%3Ass@A.internal:27017,[::1]:27018/db?replicaSet=rs0')
    expect(parsed.username).toBe('u@x')
    expect(parsed.password).toBe('p:ss')
    expect(parsed.hosts).toEqual([
      { name: 'a.internal', port: 27017 },
      { name: '::1', port: 27018 },
    ])
    expect(parsed.path).toBe('/db')
    expect(parsed.params.get('replicaSet')).toBe('rs0')
  })

  it.each([
    ['localhost', true],
    // Resolved through DNS on many systems: a name, not a loopback address.
    ['api.localhost', false],
    ['[0:0:0:0:0:0:0:1]', true],
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['/var/run/postgresql', true],
    ['', true],
    ['10.0.0.5', false],
    ['db.internal', false],
    ['localhost.example.com', false],
    ['::ffff:10.0.0.1', false],
  ])('isLocalHost(%j) is %s', (host, local) => {
    expect(isLocalHost(host)).toBe(local)
  })
})
