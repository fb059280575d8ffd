import { describe, expect, it } from 'vitest'
import { createVerifier } from '../src/index.js'
import type { VerifierOptions } from '../src/index.js'

// Options are untyped here on purpose: plain JavaScript callers pass names that do not exist.
const loose = (options: Record<string, unknown>): VerifierOptions => ({
  issuer: 'https://id.example.com',
  audience: 'api',
  ...options,
})

describe('unknown option names', () => {
  it('createVerifier() refuses express-oauth2-jwt-bearer names with the Palisade name', () => {
    expect(() =>
      createVerifier({
        issuerBaseURL: 'https://id.example.com',
        audience: 'api',
      } as unknown as VerifierOptions),
    ).toThrow(
      new TypeError(
        `unknown option "issuerBaseURL" in createVerifier(): did you mean "issuer"? (express-oauth2-jwt-bearer's issuerBaseURL is Palisade's issuer)`,
      ),
    )
    expect(() => createVerifier(loose({ tokenSigningAlg: 'RS256' }))).toThrow(
      /did you mean "algorithms"\?/,
    )
    expect(() => createVerifier(loose({ jwksUri: 'https://id.example.com/jwks' }))).toThrow(
      /did you mean "jwksUrl"\?/,
    )
    expect(() => createVerifier(loose({ timeoutDuration: 1000 }))).toThrow(
      /did you mean "jwks.timeoutMs"\?/,
    )
  })

  it('createVerifier() answers @fastify/jwt names with what Palisade does instead', () => {
    expect(() => createVerifier(loose({ secret: 'x'.repeat(32) }))).toThrow(
      /unknown option "secret" in createVerifier\(\) \(from @fastify\/jwt\): .*jwksUrl/,
    )
  })

  it('createVerifier() suggests near misses, including in jwks', () => {
    expect(() => createVerifier(loose({ audiences: ['api'] }))).toThrow(
      /unknown option "audiences" in createVerifier\(\): did you mean "audience"\?/,
    )
    expect(() => createVerifier(loose({ jwks: { timeout: 1000 } }))).toThrow(
      /unknown option "jwks.timeout" in createVerifier\(\): did you mean "jwks.timeoutMs"\?/,
    )
    expect(() => createVerifier(loose({ tokenCache: { size: 10 } }))).toThrow(
      /unknown option "tokenCache.size" in createVerifier\(\)/,
    )
  })

  it('undefined keeps meaning "default"', () => {
    expect(() =>
      createVerifier(loose({ jwksUrl: undefined, jwks: { timeoutMs: undefined } })),
    ).not.toThrow()
  })
})
