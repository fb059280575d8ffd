import { createServer } from 'node:http'
import type { Server } from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import Router from '@koa/router'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import * as palisadeExpress from '@palisade/express'
import * as palisadeFastify from '@palisade/fastify'
import { createSecurityHeaders } from '@palisade/http'
import type { CspViolation, SecurityHeadersPolicy } from '@palisade/http'
import * as palisadeKoa from '@palisade/koa'
import { securityHeaderSet } from './support/headers.js'
import { listen } from './support/server.js'

// The same three services on each framework, and the same requests with the same expected
// headers: `web` (the web preset with a nonce, a report endpoint, a route override and a route
// without headers), `api` (the default preset) and `proxied` (the api preset behind a trusted
// loopback proxy).
interface Services {
  readonly web: string
  readonly api: string
  readonly proxied: string
  close(): Promise<void>
}

type Start = (policy: SecurityHeadersPolicy, seen: CspViolation[]) => Promise<Services>

const OVERRIDE = { helmet: { xFrameOptions: false } } as const
const REPORTS = { maxBytes: 2048 }
/** The report endpoint behind the proxy: two reports a minute per client. */
const PROXIED_LIMIT = { limit: 2, windowMs: 60_000 }

/** The three services' URLs, and one close for all of them. */
async function serveAll(servers: Server[]): Promise<Services> {
  const [web, api, proxied] = await Promise.all(servers.map(listen))
  return {
    web: web!.url,
    api: api!.url,
    proxied: proxied!.url,
    close: async () => {
      for (const one of [web, api, proxied]) await one!.close()
    },
  }
}

const startExpress: Start = async (policy, seen) => {
  const { cspReports, securityHeaders } = palisadeExpress
  const app = express()
  const headers = securityHeaders(policy)
  app.post('/csp-reports', cspReports({ ...REPORTS, onReport: (v) => void seen.push(v) }))
  app.use(headers)
  app.get('/', (_req, res) => {
    expectTypeOf(res.locals.cspNonce).toEqualTypeOf<string | undefined>()
    res.json({ nonce: res.locals.cspNonce })
  })
  app.get('/embed', headers.route(OVERRIDE), (_req, res) => {
    res.json({ nonce: res.locals.cspNonce })
  })
  app.get('/raw', headers.route(false), (_req, res) => res.json({}))

  const apiApp = express()
  apiApp.use(securityHeaders())
  apiApp.get('/', (_req, res) => res.json({}))
  apiApp.get('/cached', (_req, res) => res.set('Cache-Control', 'public, max-age=60').json({}))

  const proxiedApp = express()
  proxiedApp.set('trust proxy', 'loopback')
  proxiedApp.post('/csp-reports', cspReports({ ...REPORTS, rateLimit: PROXIED_LIMIT }))
  proxiedApp.use(securityHeaders())
  proxiedApp.get('/', (_req, res) => res.json({}))

  return serveAll([app, apiApp, proxiedApp].map((handler) => createServer(handler)))
}

const startFastify: Start = async (policy, seen) => {
  const { cspReports, securityHeaders } = palisadeFastify
  const app = Fastify()
  await app.register(securityHeaders, { policy })
  await app.register(cspReports, { ...REPORTS, onReport: (v) => void seen.push(v) })
  app.get('/', (_request, reply) => {
    expectTypeOf(reply.cspNonce).toEqualTypeOf<string | undefined>()
    return Promise.resolve({ nonce: reply.cspNonce })
  })
  app.get('/embed', { config: { headers: OVERRIDE } }, (_request, reply) =>
    Promise.resolve({ nonce: reply.cspNonce }),
  )
  app.get('/raw', { config: { headers: false } }, () => Promise.resolve({}))

  const apiApp = Fastify()
  await apiApp.register(securityHeaders)
  apiApp.get('/', () => Promise.resolve({}))
  apiApp.get('/cached', (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=60').send({}),
  )

  const proxiedApp = Fastify({ trustProxy: '127.0.0.1' })
  await proxiedApp.register(securityHeaders, {})
  await proxiedApp.register(cspReports, { ...REPORTS, rateLimit: PROXIED_LIMIT })
  proxiedApp.get('/', () => Promise.resolve({}))

  const apps = [app, apiApp, proxiedApp]
  const [web, api, proxied] = await Promise.all(
    apps.map((one) => one.listen({ port: 0, host: '127.0.0.1' })),
  )
  return {
    web: web!,
    api: api!,
    proxied: proxied!,
    close: async () => {
      for (const one of apps) await one.close()
    },
  }
}

type KoaState = palisadeKoa.SecurityHeadersState

const startKoa: Start = async (policy, seen) => {
  const { cspReports, securityHeaders } = palisadeKoa
  const app = new Koa<KoaState>()
  const headers = securityHeaders(policy)
  const pages = new Router<KoaState>()
  pages.get('/', (ctx) => {
    expectTypeOf(ctx.state.cspNonce).toEqualTypeOf<string | undefined>()
    ctx.body = { nonce: ctx.state.cspNonce }
  })
  pages.get('/embed', headers.route(OVERRIDE), (ctx) => {
    ctx.body = { nonce: ctx.state.cspNonce }
  })
  pages.get('/raw', headers.route(false), (ctx) => {
    ctx.body = {}
  })
  app.use(cspReports({ ...REPORTS, onReport: (v) => void seen.push(v) }))
  app.use(headers)
  app.use(pages.routes())

  const apiApp = new Koa<KoaState>()
  const apiRoutes = new Router<KoaState>()
  apiRoutes.get('/', (ctx) => {
    ctx.body = {}
  })
  apiRoutes.get('/cached', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=60')
    ctx.body = {}
  })
  apiApp.use(securityHeaders())
  apiApp.use(apiRoutes.routes())

  const proxiedApp = new Koa<KoaState>({ proxy: true })
  proxiedApp.use(cspReports({ ...REPORTS, rateLimit: PROXIED_LIMIT }))
  proxiedApp.use(securityHeaders())
  proxiedApp.use((ctx) => {
    ctx.body = {}
  })

  return serveAll(
    [app, apiApp, proxiedApp].map((one) => {
      const handle = one.callback()
      return createServer((req, res) => void handle(req, res))
    }),
  )
}

function nonceOf(csp: string | null): string | undefined {
  return /'nonce-([^']+)'/.exec(csp ?? '')?.[1]
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  )
}

const frameworks: [string, Start][] = [
  ['Express', startExpress],
  ['Fastify', startFastify],
  ['Koa', startKoa],
]

describe.each(frameworks)('security headers on %s', (_name, start) => {
  const webPolicy = createSecurityHeaders({ preset: 'web', reportUri: '/csp-reports' })
  const seen: CspViolation[] = []
  let services: Services

  beforeAll(async () => {
    services = await start(webPolicy, seen)
  })

  afterAll(async () => {
    await services.close()
  })

  it('sets exactly the policy headers, with a fresh nonce handed to the handler', async () => {
    const first = await fetch(`${services.web}/`)
    const body = (await first.json()) as { nonce: string }
    expect(nonceOf(first.headers.get('content-security-policy'))).toBe(body.nonce)
    expect(securityHeaderSet(first.headers)).toEqual(
      lower(webPolicy.headersFor({ secure: false, nonce: body.nonce })),
    )
    expect(first.headers.get('x-powered-by')).toBeNull()
    const second = await fetch(`${services.web}/`)
    expect(nonceOf(second.headers.get('content-security-policy'))).not.toBe(body.nonce)
  })

  it('api preset: no-store by default, a handler that sets Cache-Control wins', async () => {
    const plain = await fetch(`${services.api}/`)
    expect(securityHeaderSet(plain.headers)).toEqual(
      lower(createSecurityHeaders().headersFor({ secure: false })),
    )
    const cached = await fetch(`${services.api}/cached`)
    expect(cached.headers.get('cache-control')).toBe('public, max-age=60')
  })

  it("sends HSTS only to HTTPS requests, following the framework's trust-proxy setting", async () => {
    const https = { 'x-forwarded-proto': 'https' }
    const hsts = async (url: string, headers: Record<string, string> = {}) =>
      (await fetch(url, { headers })).headers.get('strict-transport-security')
    expect(await hsts(`${services.api}/`, https)).toBeNull()
    expect(await hsts(`${services.proxied}/`)).toBeNull()
    expect(await hsts(`${services.proxied}/`, https)).toBe('max-age=63072000; includeSubDomains')
  })

  it('route overrides replace the headers and keep the nonce; false removes them all', async () => {
    const embed = await fetch(`${services.web}/embed`)
    const { nonce } = (await embed.json()) as { nonce: string }
    expect(embed.headers.get('x-frame-options')).toBeNull()
    expect(nonceOf(embed.headers.get('content-security-policy'))).toBe(nonce)
    expect(securityHeaderSet(embed.headers)).toEqual(
      lower(webPolicy.withOverrides(OVERRIDE).headersFor({ secure: false, nonce })),
    )
    const raw = await fetch(`${services.web}/raw`)
    for (const name of webPolicy.names) expect(raw.headers.get(name)).toBeNull()
  })

  describe('CSP report endpoint', () => {
    const report = JSON.stringify({
      'csp-report': {
        'document-uri': 'http://127.0.0.1/page?token=abc',
        'blocked-uri': 'inline',
        'effective-directive': 'script-src-elem',
      },
    })
    const post = (body: string, type: string) =>
      fetch(`${services.web}/csp-reports`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      })

    it('accepts a report and answers 204', async () => {
      seen.length = 0
      const response = await post(report, 'application/csp-report')
      expect(response.status).toBe(204)
      expect(seen).toEqual([
        expect.objectContaining({ documentUrl: 'http://127.0.0.1/page', blockedUrl: 'inline' }),
      ])
    })

    it('limits each client behind a trusted proxy on its own, by the address the proxy names', async () => {
      const from = (ip: string) =>
        fetch(`${services.proxied}/csp-reports`, {
          method: 'POST',
          headers: { 'content-type': 'application/csp-report', 'x-forwarded-for': ip },
          body: report,
        }).then((response) => response.status)
      expect([
        await from('203.0.113.9'),
        await from('203.0.113.9'),
        await from('203.0.113.9'),
      ]).toEqual([204, 204, 429])
      // Another client behind the same proxy still has its own budget.
      expect(await from('198.51.100.7')).toBe(204)
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
  })
})
