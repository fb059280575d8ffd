import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { HealthError, createHealth, postgresCheck } from '../src/index.js'
import type { HealthCheck } from '../src/index.js'
import { closedPort, memoryLogger } from './helpers.js'

const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' }
const pools: pg.Pool[] = []
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)))
})

function pool(config: pg.PoolConfig): pg.Pool {
  const created = new pg.Pool({ connectionTimeoutMillis: 2000, ...config })
  created.on('error', () => undefined)
  pools.push(created)
  return created
}

/** Runs one check through readiness with details and returns everything that left the package. */
async function leaked(check: HealthCheck): Promise<{ said: string; body: string }> {
  const logger = memoryLogger()
  const health = createHealth({ checks: [check], logger })
  try {
    const response = await health.readiness({ details: true })
    expect(response.status).toBe(503)
    expect(logger.lines.length).toBeGreaterThan(0)
    return { said: JSON.stringify(logger.lines), body: response.body }
  } finally {
    health.close()
  }
}

function expectNone(text: string, fragments: readonly string[]): void {
  for (const fragment of fragments) expect(text).not.toContain(fragment)
}

// Messages as drivers and applications write them, each with the secret parts listed after it.
const shapes: [string, string[]][] = [
  ['connect to postgres://app:pa@ss@db.internal:5432/app failed', ['pa@ss', 'ss@']],
  ['cannot reach mongodb://svc:pa/ss0rd@mongo.internal/app', ['pa/ss0rd', 'ss0rd']],
  ['bad url postgres://user:pa/ss@w@rd@db.internal/app: refused', ['pa/ss', 'ss@w', 'w@rd', 'rd@']],
  ['redis://:Zq8v#x?y:z@[2001:db8::1]:6379 unreachable', ['Zq8v', 'x?y', 'y:z']],
  ['redis://:K3y/Ab@cache.internal', ['K3y', 'Ab@']],
  ['tried amqp://a:Pw1/x@mq1.internal, then amqp://b:Pw2@y@mq2.internal', ['Pw1', 'Pw2', 'y@mq2']],
  ['auth failed: password=Hunter2x token=tok_9f8e7d user=app', ['Hunter2x', 'tok_9f8e7d']],
  [
    'conninfo host=db pwd=Pw0rd;secret=\'a b c\';passwd="d e" apikey=Ak1&api_key=Ak2',
    ['Pw0rd', 'a b c', 'd e', 'Ak1', 'Ak2'],
  ],
  ['PGPASSWORD=Sup3r client_secret=Cl1ent access_token=Acc3ss', ['Sup3r', 'Cl1ent', 'Acc3ss']],
]

describe('failure messages are scrubbed before they leave the package', () => {
  it.each(shapes)('a check throwing "%s"', async (message, fragments) => {
    const { said, body } = await leaked({
      name: 'dep',
      run: () => Promise.reject(new Error(message)),
    })
    expectNone(said, fragments)
    expectNone(body, fragments)
  })

  it.each(shapes)('a built-in check whose client throws "%s"', async (message, fragments) => {
    const failing = { query: () => Promise.reject(new Error(message)) }
    const { said, body } = await leaked(postgresCheck(failing))
    expectNone(said, fragments)
    expectNone(body, fragments)
    expect(said).toContain('PostgreSQL query failed')
  })

  it.each(shapes)('a HealthError whose output is "%s"', async (message, fragments) => {
    const check: HealthCheck = {
      name: 'dep',
      run: () => {
        throw new HealthError('PALISADE_HEALTH_CHECK_FAILED', message, { output: message })
      },
    }
    const { said, body } = await leaked(check)
    expectNone(said, fragments)
    expectNone(body, fragments)
  })

  it('keeps what is not a secret, so the log still says what failed', async () => {
    const { said } = await leaked({
      name: 'dep',
      run: () => Promise.reject(new Error('bad url postgres://user:pa/ss@w@rd@db.internal/app')),
    })
    expect(said).toContain('postgres://***@db.internal/app')
  })
})

describe('a real pg pool', () => {
  it('against a closed port, reached through a URL with a malformed password', async () => {
    const port = await closedPort()
    const url = `postgres://app:pa@ss/w0rd@127.0.0.1:${port}/app`
    const fragments = ['pa@ss', 'w0rd']
    expectNone(
      JSON.stringify(await leaked(postgresCheck(pool({ connectionString: url })))),
      fragments,
    )

    // An application that says which URL failed, as many do.
    const quoting = pool({ ...POSTGRES, port, password: 'pa@ss/w0rd' })
    const check: HealthCheck = {
      name: 'orders-db',
      run: async () => {
        try {
          await quoting.query('SELECT 1')
        } catch (error) {
          throw new Error(`cannot query ${url}: ${(error as Error).message}`, { cause: error })
        }
      },
    }
    const { said, body } = await leaked(check)
    expectNone(said + body, fragments)
    expect(said).toContain('ECONNREFUSED')
  })

  it('on the local PostgreSQL, whose error quotes a connection parameter', async () => {
    // A libpq keyword string given as the database name: the server quotes it back.
    const quoted = pool({ ...POSTGRES, database: 'orders password=Hunter2x sslmode=disable' })
    const { said, body } = await leaked(postgresCheck(quoted))
    expect(said).toContain('does not exist')
    expectNone(said + body, ['Hunter2x'])
  })
})
