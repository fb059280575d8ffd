import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import type { Context } from 'koa'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createVerifier } from '@palisade/jwt'
import { startDevIssuer } from '@palisade/testing'
import type { DevIssuer } from '@palisade/testing'
import { auth, rateLimit } from '../src/index.js'
import type { AuthState, RateLimitOptions } from '../src/index.js'

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

function logger() {
  const codes: unknown[] = []
  const log = (object: Record<string, unknown>) => codes.push(object['code'])
  return { codes, debug: log, info: log, warn: log, error: log }
}

async function serve(app: Koa<AuthState>): Promise<string> {
  app.use((ctx) => {
    ctx.body = { ok: true, subject: ctx.state.auth?.subject }
  })
  const server = app.listen(0, '127.0.0.1')
  servers.add(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function limited(
  options: RateLimitOptions<Context>,
  koa: { proxy?: boolean; maxIpsCount?: number } = {},
): Promise<string> {
  const app = new Koa<AuthState>(koa)
  app.use(rateLimit(options))
  return serve(app)
}

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, signal: AbortSignal.timeout(10_000) })

// Headers, 429 problem+json, costs, several policies and the Redis store are checked identically
// on all three frameworks by the repository's test/rate-limit.test.ts (the @palisade/testing
// conformance cases); here, what depends on this framework's own API and trust-proxy settings.
describe('rateLimit() for Koa', () => {
  it('keys authenticated requests by token subject', async () => {
    const app = new Koa<AuthState>()
    app.use(
      auth(createVerifier({ issuer: issuer.issuer, audience: 'api', allowInsecureHttp: true })),
    )
    app.use(rateLimit({ limit: 1 }))
    const url = await serve(app)
    const token = async (subject: string) => ({
      authorization: `Bearer ${await issuer.mint({ audience: 'api', subject })}`,
    })
    expect((await get(url, await token('alice'))).status).toBe(200)
    expect((await get(url, await token('alice'))).status).toBe(429)
    expect((await get(url, await token('bob'))).status).toBe(200)
  })

  it('per-route cost shares the limiter', async () => {
    const app = new Koa<AuthState>()
    const limiter = rateLimit({ limit: 10 })
    const bulk = limiter.route({ cost: 10 })
    app.use(async (ctx, next) => {
      await (ctx.path === '/bulk' ? bulk(ctx, next) : limiter(ctx, next))
    })
    const url = await serve(app)
    expect((await get(`${url}/bulk`)).headers.get('ratelimit')).toBe('"default";r=0;t=60')
    expect((await get(url)).status).toBe(429)
  })

  it('a spoofed X-Forwarded-For changes nothing without app.proxy, and the key with it', async () => {
    const plain = await limited({ limit: 1, validate: false })
    expect((await get(plain, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200)
    expect((await get(plain, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(429)
    const proxied = await limited({ limit: 1 }, { proxy: true, maxIpsCount: 1 })
    expect((await get(proxied, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200)
    expect((await get(proxied, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429)
    expect((await get(proxied, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200)
  })

  it('warns about app.proxy without maxIpsCount and about X-Forwarded-For without app.proxy', async () => {
    const permissive = logger()
    const open = await limited({ limit: 100, logger: permissive }, { proxy: true })
    await get(open)
    expect(permissive.codes).toEqual(['PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY'])
    const unset = logger()
    const closed = await limited({ limit: 100, logger: unset })
    await get(closed, { 'x-forwarded-for': '203.0.113.9' })
    expect(unset.codes).toEqual(['PALISADE_RATE_LIMIT_UNEXPECTED_X_FORWARDED_FOR'])
  })

  it('validates options when the middleware is created', () => {
    expect(() => rateLimit({ limit: 0 })).toThrow('"limit" option must be a positive integer')
    expect(() => rateLimit({ limit: 1, onStoreError: 'never' as never })).toThrow(
      `"onStoreError" option must be one of 'open', 'closed', 'local'`,
    )
  })
})
