import { describe, expect, it } from 'vitest'
import { cspReports, securityHeaders } from '../src/index.js'

// The headers each preset sends, nonces, HSTS behind trust proxy, route overrides and the report
// endpoint are checked identically on Express, Fastify and Koa by the repository's
// test/adapter-headers.test.ts.
describe('securityHeaders (express)', () => {
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
