import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createSecurityHeaders } from '@palisade/http'
import type { CspViolation } from '@palisade/http'
import { cspReports, securityHeaders } from '../src/index.js'

const webPolicy = createSecurityHeaders({ preset: 'web', reportUri: '/csp-reports' })
const seen: CspViolation[] = []
const apps: FastifyInstance[] = []

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

function nonceOf(csp: string | null): string | undefined {
  return /'nonce-([^']+)'/.exec(csp ?? '')?.[1]
}

/** The response's headers, without those every HTTP response has. */
function securityHeaderSet(response: Response): Record<string, string> {
  const ignored = new Set([
    'date',
    'connection',
    'keep-alive',
    'content-length',
    'content-type',
    'etag',
    'transfer-encoding',
  ])
  return Object.fromEntries([...response.headers].filter(([name]) => !ignored.has(name)))
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  )
}

let web: string
let api: string
let proxied: string

beforeAll(async () => {
  const app = Fastify()
  await app.register(securityHeaders, { policy: webPolicy })
  await app.register(cspReports, { maxBytes: 2048, onReport: (v) => void seen.push(v) })
  app.get('/', (_request, reply) => {
    expectTypeOf(reply.cspNonce).toEqualTypeOf<string | undefined>()
    return { nonce: reply.cspNonce }
  })
  app.get(
    '/embed',
    { config: { headers: { helmet: { xFrameOptions: false } } } },
    (_request, reply) => ({
      nonce: reply.cspNonce,
    }),
  )
  app.get('/raw', { config: { headers: false } }, () => ({}))
  // The application's own JSON parser is untouched by the report plugin's raw parser.
  app.post('/echo', (request) => request.body)
  web = await listen(app)

  const apiApp = Fastify()
  await apiApp.register(securityHeaders)
  apiApp.get('/', () => ({}))
  apiApp.get('/cached', (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=60').send({}),
  )
  api = await listen(apiApp)

  const proxiedApp = Fastify({ trustProxy: '127.0.0.1' })
  await proxiedApp.register(securityHeaders, {})
  proxiedApp.get('/', () => ({}))
  proxied = await listen(proxiedApp)
})

afterAll(async () => {
  for (const app of apps) await app.close()
})

describe('securityHeaders (fastify)', () => {
  it('sets exactly the policy headers, with a fresh nonce on reply.cspNonce', async () => {
    const first = await fetch(`${web}/`)
    const body = (await first.json()) as { nonce: string }
    expect(nonceOf(first.headers.get('content-security-policy'))).toBe(body.nonce)
    expect(securityHeaderSet(first)).toEqual(
      lower(webPolicy.headersFor({ secure: false, nonce: body.nonce })),
    )
    const second = await fetch(`${web}/`)
    expect(nonceOf(second.headers.get('content-security-policy'))).not.toBe(body.nonce)
  })

  it('api preset: no-store by default, a handler that sets Cache-Control wins', async () => {
    const plain = await fetch(`${api}/`)
    expect(securityHeaderSet(plain)).toEqual(
      lower(createSecurityHeaders().headersFor({ secure: false })),
    )
    const cached = await fetch(`${api}/cached`)
    expect(cached.headers.get('cache-control')).toBe('public, max-age=60')
  })

  it('sends HSTS only when request.protocol is https, following trustProxy', async () => {
    const https = { 'x-forwarded-proto': 'https' }
    expect(
      (await fetch(`${api}/`, { headers: https })).headers.get('strict-transport-security'),
    ).toBeNull()
    expect((await fetch(`${proxied}/`)).headers.get('strict-transport-security')).toBeNull()
    expect(
      (await fetch(`${proxied}/`, { headers: https })).headers.get('strict-transport-security'),
    ).toBe('max-age=63072000; includeSubDomains')
  })

  it('route config.headers merges overrides; false sets none', async () => {
    const embed = await fetch(`${web}/embed`)
    const { nonce } = (await embed.json()) as { nonce: string }
    expect(embed.headers.get('x-frame-options')).toBeNull()
    expect(securityHeaderSet(embed)).toEqual(
      lower(
        webPolicy
          .withOverrides({ helmet: { xFrameOptions: false } })
          .headersFor({ secure: false, nonce }),
      ),
    )
    const raw = await fetch(`${web}/raw`)
    for (const name of webPolicy.names) expect(raw.headers.get(name)).toBeNull()
  })

  it('validates options at register time and route overrides when the route is added', async () => {
    await expect(
      Fastify()
        .register(securityHeaders, { preset: 'page' as never })
        .ready(),
    ).rejects.toThrow(new TypeError('"preset" option must be "api" or "web"'))
    await expect(
      Fastify()
        .register(securityHeaders, { policy: webPolicy, nonce: false } as never)
        .ready(),
    ).rejects.toThrow(/"policy" option cannot be combined/)
    const app = Fastify()
    await app.register(securityHeaders)
    expect(() =>
      app.get('/x', { config: { headers: { hsts: 'never' as never } } }, () => ({})),
    ).toThrow(new TypeError('"hsts" option must be "https" or "always"'))
    await app.close()
    await expect(Fastify().register(cspReports, { path: 'reports' }).ready()).rejects.toThrow(
      new TypeError('"path" option must be a path starting with "/"'),
    )
  })
})

describe('cspReports (fastify)', () => {
  const report = JSON.stringify({
    'csp-report': {
      'document-uri': 'http://127.0.0.1/page?token=abc',
      'blocked-uri': 'inline',
      'effective-directive': 'script-src-elem',
    },
  })
  const post = (body: string, type: string) =>
    fetch(`${web}/csp-reports`, { method: 'POST', headers: { 'content-type': type }, body })

  it('accepts a report and answers 204', async () => {
    seen.length = 0
    const response = await post(report, 'application/csp-report')
    expect(response.status).toBe(204)
    expect(seen).toEqual([
      expect.objectContaining({ documentUrl: 'http://127.0.0.1/page', blockedUrl: 'inline' }),
    ])
  })

  it('refuses oversized, mistyped and malformed bodies', async () => {
    seen.length = 0
    const big = await post(
      JSON.stringify({ 'csp-report': { pad: 'x'.repeat(5000) } }),
      'application/csp-report',
    )
    expect(big.status).toBe(413)
    expect(await big.json()).toEqual({ error: 'report too large' })
    expect((await post(report, 'application/json')).status).toBe(415)
    expect((await post('{', 'application/reports+json')).status).toBe(400)
    expect(seen).toEqual([])
  })

  it("leaves the application's body parsers alone", async () => {
    const echo = await fetch(`${web}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    expect(await echo.json()).toEqual({ a: 1 })
  })
})
