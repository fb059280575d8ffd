import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createVerifier } from '@palisade/jwt'
import { startDevIssuer } from '@palisade/testing'
import type { DevIssuer } from '@palisade/testing'
import { auth, rateLimit } from '../src/index.js'
import type { RateLimitOptions } from '../src/index.js'
import type { FastifyRequest } from 'fastify'

let issuer: DevIssuer
const apps = new Set<FastifyInstance>()

beforeAll(async () => {
  issuer = await startDevIssuer()
})
afterEach(async () => {
  await Promise.all([...apps].map((app) => app.close()))
  apps.clear()
})
afterAll(async () => {
  await issuer.close()
})

function logger() {
  const codes: unknown[] = []
  const log = (object: Record<string, unknown>) => codes.push(object['code'])
  return { codes, debug: log, info: log, warn: log, error: log }
}

async function serve(
  options: RateLimitOptions<FastifyRequest>,
  server: FastifyServerOptions = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify(server)
  apps.add(app)
  await app.register(rateLimit, options)
  app.get('/', () => ({ ok: true }))
  app.get('/healthz', { config: { rateLimit: false } }, () => ({ status: 'pass' }))
  app.post('/bulk', { config: { rateLimit: { cost: 10 } } }, () => ({ ok: true }))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url }
}

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, signal: AbortSignal.timeout(10_000) })

// Headers, 429 problem+json, costs, several policies and the Redis store are checked identically
// on all three frameworks by the repository's test/rate-limit.test.ts (the @palisade/testing
// conformance cases); here, what depends on this framework's own API and trust-proxy settings.
describe('rateLimit plugin for Fastify', () => {
  it('skips routes with config.rateLimit false and charges config.rateLimit.cost', async () => {
    const { url } = await serve({ limit: 10 })
    for (let i = 0; i < 3; i++) {
      const health = await get(`${url}/healthz`)
      expect(health.status).toBe(200)
      expect(health.headers.get('ratelimit')).toBeNull()
    }
    const bulk = await fetch(`${url}/bulk`, { method: 'POST' })
    expect(bulk.headers.get('ratelimit')).toBe('"default";r=0;t=60')
    expect((await get(url)).status).toBe(429)
  })

  it('keys authenticated requests by token subject when registered after the auth plugin', async () => {
    const app = Fastify()
    apps.add(app)
    await app.register(auth, {
      authenticator: createVerifier({
        issuer: issuer.issuer,
        audience: 'api',
        allowInsecureHttp: true,
      }),
    })
    await app.register(rateLimit, { limit: 1 })
    app.get('/', (request) => ({ subject: request.auth?.subject }))
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    const token = async (subject: string) => ({
      authorization: `Bearer ${await issuer.mint({ audience: 'api', subject })}`,
    })
    expect((await get(url, await token('alice'))).status).toBe(200)
    expect((await get(url, await token('alice'))).status).toBe(429)
    expect((await get(url, await token('bob'))).status).toBe(200)
  })

  it('a spoofed X-Forwarded-For changes nothing without trustProxy, and the key with it', async () => {
    const plain = await serve({ limit: 1, validate: false })
    expect((await get(plain.url, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200)
    expect((await get(plain.url, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(429)
    const proxied = await serve({ limit: 1 }, { trustProxy: '127.0.0.1' })
    expect((await get(proxied.url, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200)
    expect((await get(proxied.url, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429)
    expect((await get(proxied.url, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200)
  })

  it('warns about a permissive trustProxy and about X-Forwarded-For without it', async () => {
    const permissive = logger()
    const open = await serve({ limit: 100, logger: permissive }, { trustProxy: true })
    await get(open.url, { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' })
    expect(permissive.codes).toEqual(['PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY'])
    const unset = logger()
    const closed = await serve({ limit: 100, logger: unset })
    await get(closed.url, { 'x-forwarded-for': '203.0.113.9' })
    expect(unset.codes).toEqual(['PALISADE_RATE_LIMIT_UNEXPECTED_X_FORWARDED_FOR'])
  })

  it('rejects bad options at register() and bad route options when the route is added', async () => {
    const app = Fastify()
    apps.add(app)
    await expect(app.register(rateLimit, { limit: 0 })).rejects.toThrow(
      '"limit" option must be a positive integer',
    )
    const other = Fastify()
    apps.add(other)
    await other.register(rateLimit, { limit: 1 })
    expect(() =>
      other.get('/x', { config: { rateLimit: { cost: -1 } } }, () => ({ ok: true })),
    ).toThrow('"rateLimit.cost" option must be a non-negative integer')
  })

  it('a route added before the plugin with bad options is limited with the plugin options', async () => {
    const app = Fastify()
    apps.add(app)
    app.get('/early', { config: { rateLimit: { cost: -1 } } }, () => ({ ok: true }))
    await app.register(rateLimit, { limit: 1 })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    const first = await get(`${url}/early`)
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit')).toBe('"default";r=0;t=60')
    expect((await get(`${url}/early`)).status).toBe(429)
  })
})
