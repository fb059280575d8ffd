import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import { cspReports, securityHeaders } from '../src/index.js'

// The headers each preset sends, nonces, HSTS behind app.proxy, route overrides and the report
// endpoint are checked identically on Express, Fastify and Koa by the repository's
// test/adapter-headers.test.ts; here, what only the Koa middleware does.
describe('securityHeaders (koa)', () => {
  it('validates options when the middleware is created', () => {
    expect(() => securityHeaders({ preset: 'page' as never })).toThrow(
      new TypeError('"preset" option must be "api" or "web"'),
    )
    expect(() => cspReports({ path: 'reports' })).toThrow(
      new TypeError('"path" option must be a path starting with "/"'),
    )
    expect(() => cspReports({ maxBytes: 1.5 })).toThrow(TypeError)
  })
})

describe('cspReports (koa)', () => {
  it('answers other methods on its path 405 with Allow: POST, and passes other paths on', async () => {
    const app = new Koa()
    app.use(cspReports())
    app.use((ctx) => {
      ctx.body = { passed: ctx.path }
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as { port: number }
    try {
      const get = await fetch(`http://127.0.0.1:${port}/csp-reports`)
      expect(get.status).toBe(405)
      expect(get.headers.get('allow')).toBe('POST')
      const other = await fetch(`http://127.0.0.1:${port}/other`)
      expect(await other.json()).toEqual({ passed: '/other' })
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
