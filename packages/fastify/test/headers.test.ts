import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { createSecurityHeaders } from '@palisade/http'
import type { CspViolation } from '@palisade/http'
import { cspReports, securityHeaders } from '../src/index.js'

// The headers each preset sends, nonces, HSTS behind trustProxy, route overrides and the report
// endpoint are checked identically on Express, Fastify and Koa by the repository's
// test/adapter-headers.test.ts; here, what only the Fastify plugins do.
describe('securityHeaders (fastify)', () => {
  it('validates options at register time and route overrides when the route is added', async () => {
    const webPolicy = createSecurityHeaders({ preset: 'web', reportUri: '/csp-reports' })
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
  it("parses reports with its own parser and leaves the application's body parsers alone", async () => {
    const seen: CspViolation[] = []
    const app = Fastify()
    await app.register(cspReports, { onReport: (v) => void seen.push(v) })
    app.post('/echo', (request) => request.body)
    const echo = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } })
    expect(echo.json()).toEqual({ a: 1 })
    const report = await app.inject({
      method: 'POST',
      url: '/csp-reports',
      headers: { 'content-type': 'application/csp-report' },
      payload: JSON.stringify({
        'csp-report': {
          'document-uri': 'http://127.0.0.1/page',
          'blocked-uri': 'inline',
          'effective-directive': 'script-src-elem',
        },
      }),
    })
    expect(report.statusCode).toBe(204)
    expect(seen).toEqual([expect.objectContaining({ blockedUrl: 'inline' })])
    await app.close()
  })
})
