import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createSecurityHeaders } from '@palisade/http'
import type { CspViolation } from '@palisade/http'
import { cspReports, securityHeaders } from '../src/index.js'

const webPolicy = createSecurityHeaders({ preset: 'web', reportUri: '/csp-reports' })
const seen: CspViolation[] = []
const servers: Server[] = []

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
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
  const app = express()
  const headers = securityHeaders(webPolicy)
  app.post('/csp-reports', cspReports({ maxBytes: 2048, onReport: (v) => void seen.push(v) }))
  app.use(express.json())
  app.use(headers)
  app.get('/', (_req, res) => {
    expectTypeOf(res.locals.cspNonce).toEqualTypeOf<string | undefined>()
    res.json({ nonce: res.locals.cspNonce })
  })
  app.get('/embed', headers.route({ helmet: { xFrameOptions: false } }), (_req, res) => {
    res.json({ nonce: res.locals.cspNonce })
  })
  app.get('/raw', headers.route(false), (_req, res) => res.json({}))
  app.get('/cached', (_req, res) => res.set('Cache-Control', 'public, max-age=60').json({}))
  web = await listen(app)

  const apiApp = express()
  apiApp.use(securityHeaders())
  apiApp.get('/', (_req, res) => res.json({}))
  apiApp.get('/cached', (_req, res) => res.set('Cache-Control', 'public, max-age=60').json({}))
  api = await listen(apiApp)

  const proxiedApp = express()
  proxiedApp.set('trust proxy', 'loopback')
  proxiedApp.use(securityHeaders())
  proxiedApp.get('/', (_req, res) => res.json({}))
  proxied = await listen(proxiedApp)
})

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

describe('securityHeaders (express)', () => {
  it('sets exactly the policy headers, with a fresh nonce handed to res.locals', async () => {
    const first = await fetch(`${web}/`)
    const body = (await first.json()) as { nonce: string }
    const csp = first.headers.get('content-security-policy')
    expect(nonceOf(csp)).toBe(body.nonce)
    expect(securityHeaderSet(first)).toEqual(
      lower(webPolicy.headersFor({ secure: false, nonce: body.nonce })),
    )
    expect(first.headers.get('x-powered-by')).toBeNull()
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

  it('sends HSTS only when req.secure, following trust proxy', async () => {
    const https = { 'x-forwarded-proto': 'https' }
    expect(
      (await fetch(`${api}/`, { headers: https })).headers.get('strict-transport-security'),
    ).toBeNull()
    expect((await fetch(`${proxied}/`)).headers.get('strict-transport-security')).toBeNull()
    expect(
      (await fetch(`${proxied}/`, { headers: https })).headers.get('strict-transport-security'),
    ).toBe('max-age=63072000; includeSubDomains')
  })

  it('route overrides replace the headers and keep the nonce; false removes them all', async () => {
    const embed = await fetch(`${web}/embed`)
    const { nonce } = (await embed.json()) as { nonce: string }
    expect(embed.headers.get('x-frame-options')).toBeNull()
    expect(nonceOf(embed.headers.get('content-security-policy'))).toBe(nonce)
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

  it('validates options when the middleware is created', () => {
    expect(() => securityHeaders({ preset: 'page' as never })).toThrow(
      new TypeError('"preset" option must be "api" or "web"'),
    )
    expect(() => securityHeaders().route({ nonce: 1 as never })).toThrow(
      new TypeError('"nonce" option must be a boolean'),
    )
    expect(() => cspReports({ maxBytes: -1 })).toThrow(TypeError)
  })
})

describe('cspReports (express)', () => {
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
    const get = await fetch(`${web}/csp-reports`)
    expect(get.status).not.toBe(204)
    expect(seen).toEqual([])
  })
})
