import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import type { Express } from 'express'
import { randomUUID } from 'node:crypto'
import { MemoryStore as ErlMemoryStore, rateLimit as expressRateLimit } from 'express-rate-limit'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createVerifier } from '@palisade/jwt'
import { startDevIssuer } from '@palisade/testing'
import type { DevIssuer } from '@palisade/testing'
import { MemoryStore, RedisStore, auth, rateLimit } from '../src/index.js'

let issuer: DevIssuer
const servers = new Set<Server>()

beforeAll(async () => {
  issuer = await startDevIssuer()
})
afterEach(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  servers.clear()
})
afterAll(async () => {
  await issuer.close()
})

async function serve(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.add(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function logger() {
  const codes: unknown[] = []
  const log = (object: Record<string, unknown>) => codes.push(object['code'])
  return { codes, debug: log, info: log, warn: log, error: log }
}

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, signal: AbortSignal.timeout(10_000) })

// Headers, 429 problem+json, costs, several policies and the Redis store are checked identically
// on all three frameworks by the repository's test/rate-limit.test.ts (the @palisade/testing
// conformance cases); here, what depends on this framework's own API and trust-proxy settings.
describe('rateLimit() for Express', () => {
  it('keys authenticated requests by token subject', async () => {
    const app = express()
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
    })
    app.use(auth(verifier), rateLimit({ limit: 1 }))
    app.get('/', (req, res) => res.json({ subject: req.auth?.subject }))
    const url = await serve(app)
    const token = async (subject: string) => ({
      authorization: `Bearer ${await issuer.mint({ audience: 'api', subject })}`,
    })
    expect((await get(url, await token('alice'))).status).toBe(200)
    expect((await get(url, await token('alice'))).status).toBe(429)
    expect((await get(url, await token('bob'))).status).toBe(200)
  })

  it('per-route cost shares the limiter and its store', async () => {
    const app = express()
    const limiter = rateLimit({ limit: 10 })
    app.post('/bulk', limiter.route({ cost: 10 }), (_req, res) => res.json({ ok: true }))
    app.get('/', limiter, (_req, res) => res.json({ ok: true }))
    const url = await serve(app)
    const bulk = await fetch(`${url}/bulk`, { method: 'POST' })
    expect(bulk.headers.get('ratelimit')).toBe('"default";r=0;t=60')
    expect((await get(url)).status).toBe(429)
  })

  it('a spoofed X-Forwarded-For changes nothing without trust proxy, and the key with it', async () => {
    const plain = express()
    plain.use(rateLimit({ limit: 1, validate: false }))
    plain.get('/', (_req, res) => res.json({ ok: true }))
    const plainUrl = await serve(plain)
    expect((await get(plainUrl, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200)
    expect((await get(plainUrl, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(429)

    const proxied = express()
    proxied.set('trust proxy', 1)
    proxied.use(rateLimit({ limit: 1 }))
    proxied.get('/', (_req, res) => res.json({ ok: true }))
    const proxiedUrl = await serve(proxied)
    expect((await get(proxiedUrl, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200)
    expect((await get(proxiedUrl, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429)
    expect((await get(proxiedUrl, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200)
  })

  it('warns once about trust proxy true and about X-Forwarded-For without trust proxy', async () => {
    const permissive = logger()
    const open = express()
    open.set('trust proxy', true)
    open.use(rateLimit({ limit: 100, logger: permissive }))
    open.get('/', (_req, res) => res.json({ ok: true }))
    const openUrl = await serve(open)
    await get(openUrl)
    await get(openUrl)
    expect(permissive.codes).toEqual(['PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY'])

    const unset = logger()
    const closed = express()
    closed.use(rateLimit({ limit: 100, logger: unset }))
    closed.get('/', (_req, res) => res.json({ ok: true }))
    const closedUrl = await serve(closed)
    await get(closedUrl, { 'x-forwarded-for': '198.51.100.1' })
    expect(unset.codes).toEqual(['PALISADE_RATE_LIMIT_UNEXPECTED_X_FORWARDED_FOR'])
  })

  it("drives express-rate-limit's MemoryStore unchanged", async () => {
    const app = express()
    app.use(rateLimit({ limit: 1, store: new ErlMemoryStore() }))
    app.get('/', (_req, res) => res.json({ ok: true }))
    const url = await serve(app)
    expect((await get(url)).status).toBe(200)
    expect((await get(url)).status).toBe(429)
  })

  it("serves express-rate-limit's own middleware from Palisade's stores, shared through Redis", async () => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
      maxRetriesPerRequest: 1,
    })
    try {
      const prefix = `palisade-test:${randomUUID()}:`
      // Two instances of a service that uses express-rate-limit itself, sharing one count.
      const instance = async () => {
        const app = express()
        app.use(
          expressRateLimit({
            windowMs: 60_000,
            limit: 3,
            standardHeaders: 'draft-8',
            legacyHeaders: false,
            store: new RedisStore({ client: redis, prefix }),
          }),
        )
        app.get('/', (_req, res) => res.json({ ok: true }))
        return serve(app)
      }
      const [a, b] = [await instance(), await instance()]
      const statuses = []
      for (const url of [a, b, a, b]) statuses.push((await get(url)).status)
      expect(statuses).toEqual([200, 200, 200, 429])
      const last = await get(a)
      expect(last.status).toBe(429)
      expect(last.headers.get('ratelimit')).toMatch(/r=0; t=\d+/)

      const local = express()
      local.use(expressRateLimit({ windowMs: 60_000, limit: 1, store: new MemoryStore() }))
      local.get('/', (_req, res) => res.json({ ok: true }))
      const url = await serve(local)
      expect((await get(url)).status).toBe(200)
      expect((await get(url)).status).toBe(429)
    } finally {
      redis.disconnect()
    }
  })

  it('validates options when the middleware is created', () => {
    expect(() => rateLimit({ limit: 0 })).toThrow('"limit" option must be a positive integer')
    expect(() => rateLimit({ limit: 1 }).route({ cost: -1 })).toThrow(
      '"rateLimit.cost" option must be a non-negative integer',
    )
  })
})
