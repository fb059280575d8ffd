// Security headers in a real browser: Debian's Chromium (never a downloaded one), driven by
// playwright-core, against a page served by each adapter with the `web` preset over HTTPS.
// HTTPS because Chromium only delivers Reporting API (`report-to`) reports for secure pages and
// ignores `report-uri` when `report-to` is present; it also lets HSTS be checked on real TLS.
// The same file checks, without a browser, that the three adapters send identical headers.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { chromium } from 'playwright-core'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as onExpress from '@palisade/express'
import * as onFastify from '@palisade/fastify'
import * as onKoa from '@palisade/koa'
import { securityHeaderSet } from './support/headers.js'

const CHROMIUM = '/usr/bin/chromium'
const FRAMEWORKS = ['express', 'fastify', 'koa'] as const
type Framework = (typeof FRAMEWORKS)[number]

interface Violation {
  readonly format: string
  readonly documentUrl: string
  readonly blockedUrl: string
  readonly effectiveDirective: string
}

interface Served {
  readonly origin: string
  readonly reports: Violation[]
  close(): Promise<void>
}

interface ServeOptions {
  /** Security-header options, identical for the three frameworks. */
  readonly headers: { readonly preset?: 'api' | 'web'; readonly reportUri?: string }
  readonly tls?: { readonly key: string; readonly cert: string } | undefined
  readonly trustProxy?: boolean | undefined
  /** Origin of the foreign image the page embeds. */
  readonly foreign?: string | undefined
}

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/browser/${name}`, import.meta.url), 'utf8')
const PAGE = fixture('page.html')
const FRAME = fixture('frame.html')

function render(nonce: string | undefined, foreign: string): string {
  if (nonce === undefined) throw new Error('the web preset must hand a nonce to the template')
  return PAGE.replaceAll('{{nonce}}', nonce).replaceAll('{{foreignImage}}', `${foreign}/pixel.png`)
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return String((server.address() as AddressInfo).port)
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}

/** One adapter's app: the report receiver, the headers, `/page` and a JSON route `/api`. */
async function serve(framework: Framework, options: ServeOptions): Promise<Served> {
  const reports: Violation[] = []
  const onReport = (violation: Violation) => void reports.push(violation)
  const foreign = options.foreign ?? 'http://localhost:1'
  const scheme = options.tls === undefined ? 'http' : 'https'
  if (framework === 'fastify') {
    const app = Fastify({
      // Chromium keeps (pre)connected sockets open; close them with the app, as with the others.
      forceCloseConnections: true,
      trustProxy: options.trustProxy === true ? '127.0.0.1' : false,
      ...(options.tls === undefined ? {} : { https: options.tls }),
    })
    await app.register(onFastify.cspReports, { path: '/csp-reports', onReport })
    await app.register(onFastify.securityHeaders, options.headers)
    app.get('/page', (_request, reply) =>
      reply.type('text/html').send(render(reply.cspNonce, foreign)),
    )
    app.get('/api', () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    return { origin: `${scheme}://127.0.0.1:${port}`, reports, close: () => app.close() }
  }
  let handler: (req: IncomingMessage, res: ServerResponse) => unknown
  if (framework === 'express') {
    const app = express()
    if (options.trustProxy === true) app.set('trust proxy', 'loopback')
    app.post('/csp-reports', onExpress.cspReports({ onReport }))
    app.use(onExpress.securityHeaders(options.headers))
    app.get('/page', (_req, res) => res.type('html').send(render(res.locals.cspNonce, foreign)))
    app.get('/api', (_req, res) => res.json({ ok: true }))
    handler = app
  } else {
    const app = new Koa<onKoa.SecurityHeadersState>({ proxy: options.trustProxy === true })
    app.use(onKoa.cspReports({ path: '/csp-reports', onReport }))
    app.use(onKoa.securityHeaders(options.headers))
    app.use((ctx) => {
      if (ctx.path === '/page') {
        ctx.type = 'html'
        ctx.body = render(ctx.state.cspNonce, foreign)
      } else if (ctx.path === '/api') {
        ctx.body = { ok: true }
      }
    })
    handler = app.callback()
  }
  const server =
    options.tls === undefined ? createHttpServer(handler) : createHttpsServer(options.tls, handler)
  const port = await listen(server)
  return { origin: `${scheme}://127.0.0.1:${port}`, reports, close: () => closeServer(server) }
}

// The nonce is the one value that must differ between responses.
const withoutNonce = (value: string) => value.replace(/'nonce-[A-Za-z0-9+/=]+'/g, "'nonce-*'")

describe('identical security headers on Express, Fastify and Koa', () => {
  const presets = {
    api: {},
    web: { preset: 'web', reportUri: '/csp-reports' },
  } as const
  for (const [name, headers] of Object.entries(presets)) {
    it(`${name} preset: same headers for the same requests`, async () => {
      const served = await Promise.all(
        FRAMEWORKS.map((framework) => serve(framework, { headers, trustProxy: true })),
      )
      try {
        for (const request of [
          // The api preset hands templates no nonce: only the web preset renders the page.
          ...(name === 'web'
            ? [
                { path: '/page', headers: {} },
                { path: '/page', headers: { 'x-forwarded-proto': 'https' } },
              ]
            : []),
          { path: '/api', headers: {} },
          { path: '/api', headers: { 'x-forwarded-proto': 'https' } },
        ]) {
          const sets = await Promise.all(
            served.map(async ({ origin }) => {
              const response = await fetch(`${origin}${request.path}`, { headers: request.headers })
              await response.arrayBuffer()
              return securityHeaderSet(response.headers, withoutNonce)
            }),
          )
          expect(sets[0]).toHaveProperty('content-security-policy')
          expect(sets[0]!['strict-transport-security'] !== undefined).toBe(
            request.headers['x-forwarded-proto'] === 'https',
          )
          expect(sets[1], `fastify ${request.path}`).toEqual(sets[0])
          expect(sets[2], `koa ${request.path}`).toEqual(sets[0])
        }
      } finally {
        await Promise.all(served.map((s) => s.close()))
      }
    })
  }
})

describe('identical CSP report answers on Express, Fastify and Koa', () => {
  it('same status and body for valid, mistyped, untyped, oversized and malformed reports', async () => {
    const served = await Promise.all(
      FRAMEWORKS.map((framework) => serve(framework, { headers: { preset: 'web' } })),
    )
    const valid = JSON.stringify({
      'csp-report': {
        'document-uri': 'https://app.example.com/?session=1',
        'blocked-uri': 'inline',
        'effective-directive': 'script-src-elem',
      },
    })
    const cases: { type?: string; body: string; status: number }[] = [
      { type: 'application/csp-report', body: valid, status: 204 },
      { type: 'text/plain', body: valid, status: 415 },
      { body: valid, status: 415 },
      { type: 'application/reports+json', body: `[${'{},'.repeat(30_000)}{}]`, status: 413 },
      { type: 'application/reports+json', body: '[{"type":', status: 400 },
    ]
    try {
      for (const { type, body, status } of cases) {
        const answers = await Promise.all(
          served.map(async ({ origin }) => {
            const response = await fetch(`${origin}/csp-reports`, {
              method: 'POST',
              // A Blob without a type makes fetch send no Content-Type at all.
              body: type === undefined ? new Blob([body]) : body,
              headers: type === undefined ? {} : { 'content-type': type },
            })
            return { status: response.status, body: await response.text() }
          }),
        )
        expect(answers[0]!.status, type ?? 'no type').toBe(status)
        expect(answers[1]).toEqual(answers[0])
        expect(answers[2]).toEqual(answers[0])
      }
      for (const { reports } of served) {
        expect(reports).toEqual([
          expect.objectContaining({
            documentUrl: 'https://app.example.com/',
            blockedUrl: 'inline',
          }),
        ])
      }
    } finally {
      await Promise.all(served.map((s) => s.close()))
    }
  })
})

const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) {
  console.warn(`browser tests skipped: ${CHROMIUM} is absent (apt-get install -y chromium)`)
}

describe.skipIf(!hasChromium)('security headers in Chromium (web preset, HTTPS)', () => {
  let browser: Browser | undefined
  let context: BrowserContext | undefined
  let certDir: string | undefined
  let tls: { key: string; cert: string } | undefined
  let foreignServer: Server | undefined
  let foreign = ''

  beforeAll(async () => {
    // A throwaway self-signed certificate for 127.0.0.1, made for this run only.
    certDir = mkdtempSync(join(tmpdir(), 'palisade-browser-'))
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(certDir, 'key.pem'),
        '-out',
        join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    tls = {
      key: readFileSync(join(certDir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(certDir, 'cert.pem'), 'utf8'),
    }
    // Another origin (http://localhost:<port>): serves the framing page and the foreign image.
    foreignServer = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      if (url.pathname === '/frame') {
        res.setHeader('Content-Type', 'text/html; charset=utf-8')
        res.end(FRAME.replace('{{target}}', url.searchParams.get('target') ?? ''))
      } else if (url.pathname === '/hello') {
        res.setHeader('Content-Type', 'text/html; charset=utf-8')
        res.end('<!doctype html><p id="hello">hello</p>')
      } else {
        res.setHeader('Content-Type', 'image/gif')
        res.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'))
      }
    })
    foreign = `http://localhost:${await listen(foreignServer)}`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The self-signed certificate above, for pages and for report uploads alike.
        '--ignore-certificate-errors',
        // Deliver Reporting API reports within a second instead of batching them for a minute.
        '--short-reporting-delay',
      ],
    })
    context = await browser.newContext({ ignoreHTTPSErrors: true })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    if (foreignServer !== undefined) await closeServer(foreignServer)
    if (certDir !== undefined) rmSync(certDir, { recursive: true, force: true })
  })

  async function reported(
    served: Served,
    predicate: (violation: Violation) => boolean,
    what: string,
  ): Promise<Violation> {
    const deadline = Date.now() + 20_000
    for (;;) {
      const found = served.reports.find(predicate)
      if (found !== undefined) return found
      if (Date.now() > deadline) {
        throw new Error(`no ${what} report arrived; got ${JSON.stringify(served.reports)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  for (const framework of FRAMEWORKS) {
    it.concurrent(
      `${framework}: nonce scripts run, others are blocked and reported, framing is refused`,
      async () => {
        const served = await serve(framework, {
          headers: { preset: 'web', reportUri: '/csp-reports' },
          tls,
          foreign,
        })
        const page = await context!.newPage()
        try {
          const response = await page.goto(`${served.origin}/page`)
          const headers = await response!.allHeaders()
          expect(headers['content-security-policy']).toMatch(
            /script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/,
          )
          expect(headers['reporting-endpoints']).toBe('csp-endpoint="/csp-reports"')
          // req.secure / request.protocol / ctx.secure saw real TLS.
          expect(headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
          expect(await page.textContent('#nonced')).toBe('ran')
          expect(await page.textContent('#plain')).toBe('blocked')

          const inline = await reported(
            served,
            (v) => v.effectiveDirective === 'script-src-elem' && v.blockedUrl === 'inline',
            'inline-script',
          )
          expect(inline).toMatchObject({
            format: 'report-to',
            documentUrl: `${served.origin}/page`,
          })
          const image = await reported(
            served,
            (v) => v.effectiveDirective === 'img-src',
            'blocked-image',
          )
          expect(image.blockedUrl).toBe(`${foreign}/pixel.png`)

          const framing = await context!.newPage()
          try {
            await framing.goto(
              `${foreign}/frame?target=${encodeURIComponent(`${served.origin}/page`)}`,
            )
            const control = await (await framing.$('#control'))!.contentFrame()
            expect(await control!.textContent('#hello')).toBe('hello')
            const target = await (await framing.$('#target'))!.contentFrame()
            expect(target).not.toBeNull()
            // Chromium shows its error page in place of the refused document.
            expect(await target!.$('#nonced')).toBeNull()
          } finally {
            await framing.close()
          }
        } finally {
          await page.close()
          await served.close()
        }
      },
    )
  }
})
