import { createServer as createHttpServer } from 'node:http'
import type { Server as HttpServer } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net'
import { Redis } from 'ioredis'
import pg from 'pg'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHealth, httpCheck, postgresCheck, redisCheck } from '../src/index.js'
import type { Health, HealthCheck, HealthResponse } from '../src/index.js'

const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' }
const REDIS_URL = 'redis://127.0.0.1:6379'
const TIMEOUT = 300

let closedPort = 0
let hung: TcpServer
let hungPort = 0
const hungSockets = new Set<Socket>()
let web: HttpServer
let webUrl = ''
const cleanups: (() => unknown)[] = []

function portOf(server: { address: () => AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port
}

beforeAll(async () => {
  // A port nobody listens on: bound once, then released.
  const probe = createTcpServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  closedPort = portOf(probe)
  await new Promise((resolve) => probe.close(resolve))

  // A listener that accepts connections and never answers.
  hung = createTcpServer((socket) => {
    hungSockets.add(socket)
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
  hungPort = portOf(hung)

  web = createHttpServer((request, response) => {
    if (request.url === '/ok') response.writeHead(200).end('ok')
    else if (request.url === '/redirect') response.writeHead(302, { Location: '/ok' }).end()
    else if (request.url === '/bad') response.writeHead(503).end('down')
    else if (request.url === '/hang') request.on('close', () => response.destroy())
    else response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
  webUrl = `http://127.0.0.1:${portOf(web)}`
})

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  for (const socket of hungSockets) socket.destroy()
  hung.close()
  web.closeAllConnections()
  web.close()
})

interface Outcome {
  response: HealthResponse
  json: { status: string; checks: Record<string, { status: string; output?: string }[]> }
  elapsed: number
  report: { status: string; output?: string; componentType: string }
}

async function probe(check: HealthCheck): Promise<Outcome> {
  const health: Health = createHealth({ checks: [check] })
  try {
    const started = performance.now()
    const response = await health.readiness({ details: true })
    const elapsed = performance.now() - started
    const json = JSON.parse(response.body) as Outcome['json']
    const report = Object.values(json.checks)[0]![0]! as Outcome['report']
    return { response, json, elapsed, report }
  } finally {
    health.close()
  }
}

describe('postgresCheck', () => {
  it('passes against the local PostgreSQL through the existing pool', async () => {
    const pool = new pg.Pool({ ...POSTGRES, max: 2 })
    cleanups.push(() => pool.end())
    const check = postgresCheck(pool)
    const { response, json, report } = await probe(check)
    expect(response.status).toBe(200)
    expect(Object.keys(json.checks)).toEqual(['postgresql:connection'])
    expect(report).toMatchObject({ status: 'pass', componentType: 'datastore' })
    // The pool's own connection is reused: no connection per probe.
    await probe(check)
    expect(pool.totalCount).toBe(1)
  })

  it('fails with "unavailable" against a closed port', async () => {
    const pool = new pg.Pool({ ...POSTGRES, port: closedPort, connectionTimeoutMillis: 2000 })
    pool.on('error', () => undefined)
    cleanups.push(() => pool.end())
    const { response, report, elapsed } = await probe(postgresCheck(pool, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'unavailable' })
    expect(elapsed).toBeLessThan(TIMEOUT + 150)
  })

  it('fails with "timeout" within its timeout against a listener that never answers', async () => {
    const pool = new pg.Pool({ ...POSTGRES, port: hungPort })
    pool.on('error', () => undefined)
    cleanups.push(() => {
      for (const socket of hungSockets) socket.destroy()
      return pool.end().catch(() => undefined)
    })
    const { response, report, elapsed } = await probe(
      postgresCheck(pool, { name: 'db', timeoutMs: TIMEOUT }),
    )
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'timeout' })
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 10)
    expect(elapsed).toBeLessThan(TIMEOUT + 150)
  })

  it('validates its arguments', () => {
    expect(() => postgresCheck({} as never)).toThrow('"pool" argument')
    const pool = { query: () => Promise.resolve() }
    expect(() => postgresCheck(pool, { timeoutMs: -1 })).toThrow('"timeoutMs" option')
    expect(() => postgresCheck(pool, { name: '' })).toThrow('"name" option')
  })
})

describe('redisCheck', () => {
  it('passes against the local Redis with an ioredis client', async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false })
    cleanups.push(() => {
      redis.disconnect()
    })
    await redis.connect()
    const { response, json, report } = await probe(redisCheck(redis))
    expect(response.status).toBe(200)
    expect(Object.keys(json.checks)).toEqual(['redis:connection'])
    expect(report).toMatchObject({ status: 'pass', componentType: 'datastore' })
  })

  it('passes against the local Redis with a node-redis client', async () => {
    const client = createClient({ url: REDIS_URL })
    client.on('error', () => undefined)
    cleanups.push(() => {
      client.destroy()
    })
    await client.connect()
    const { response, report } = await probe(redisCheck(client))
    expect(response.status).toBe(200)
    expect(report.status).toBe('pass')
  })

  it('fails with "unavailable" against a closed port (ioredis)', async () => {
    const redis = new Redis(closedPort, '127.0.0.1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    })
    redis.on('error', () => undefined)
    cleanups.push(() => {
      redis.disconnect()
    })
    redis.connect().catch(() => undefined)
    const { response, report, elapsed } = await probe(
      redisCheck(redis, { critical: false, timeoutMs: TIMEOUT }),
    )
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body).status).toBe('warn')
    expect(report).toMatchObject({ status: 'warn', output: 'unavailable' })
    expect(elapsed).toBeLessThan(TIMEOUT + 150)
  })

  it('fails within its timeout against a listener that never answers (node-redis)', async () => {
    const client = createClient({
      url: `redis://127.0.0.1:${hungPort}`,
      socket: { connectTimeout: 5000, reconnectStrategy: false },
    })
    client.on('error', () => undefined)
    cleanups.push(() => {
      client.destroy()
    })
    client.connect().catch(() => undefined)
    const { response, report, elapsed } = await probe(redisCheck(client, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'timeout' })
    expect(elapsed).toBeLessThan(TIMEOUT + 150)
  })

  it('validates its arguments', () => {
    expect(() => redisCheck(null as never)).toThrow('"client" argument')
    expect(() => redisCheck({ ping: () => Promise.resolve() }, { cacheMs: 0.5 })).toThrow(
      '"cacheMs" option',
    )
  })
})

describe('httpCheck', () => {
  it('passes on 2xx and 3xx (without following redirects)', async () => {
    const ok = await probe(httpCheck(`${webUrl}/ok`, { name: 'web' }))
    expect(ok.response.status).toBe(200)
    expect(Object.keys(ok.json.checks)).toEqual(['web:connection'])
    const redirect = await probe(httpCheck(new URL('/redirect', webUrl)))
    expect(redirect.report.status).toBe('pass')
  })

  it('fails on 5xx, a closed port and a hung answer, without the URL in the output', async () => {
    const bad = await probe(httpCheck(`${webUrl}/bad`))
    expect(bad.response.status).toBe(503)
    expect(bad.report.output).toBe('unexpected status 503')

    const closed = await probe(httpCheck(`http://127.0.0.1:${closedPort}/`))
    expect(closed.report.output).toBe('unavailable')

    const hanging = await probe(httpCheck(`${webUrl}/hang`, { timeoutMs: TIMEOUT }))
    expect(hanging.report.output).toBe('timeout')
    expect(hanging.elapsed).toBeLessThan(TIMEOUT + 150)
    for (const outcome of [bad, closed, hanging]) {
      expect(outcome.response.body).not.toContain('127.0.0.1')
    }
  })

  it('validates its arguments', () => {
    expect(() => httpCheck('not a url')).toThrow('"url" argument')
    expect(() => httpCheck('ftp://example.com/')).toThrow('"url" argument')
    expect(() => httpCheck('http://example.com/', { fetch: 1 as never })).toThrow('"fetch" option')
  })
})
