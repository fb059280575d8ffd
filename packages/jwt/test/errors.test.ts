import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { JwtError, checkScopes, errorResponse } from '../src/index.js'
import type { AuthInfo, JwtErrorCode } from '../src/index.js'

// Every code, with the status and public description a client sees; the Record type makes the
// list complete.
const PUBLIC: Readonly<Record<JwtErrorCode, readonly [number, string]>> = {
  PALISADE_JWT_MISSING: [401, 'A bearer token is required'],
  PALISADE_JWT_INVALID_REQUEST: [400, 'The request is malformed'],
  PALISADE_JWT_MALFORMED: [401, 'The access token is malformed'],
  PALISADE_JWT_TOO_LARGE: [401, 'The access token is too large'],
  PALISADE_JWT_ALG_NOT_ALLOWED: [401, 'The access token uses an algorithm that is not accepted'],
  PALISADE_JWT_TYP_INVALID: [401, 'The access token has the wrong type'],
  PALISADE_JWT_CRIT_UNSUPPORTED: [401, 'The access token requires an unsupported extension'],
  PALISADE_JWT_BAD_SIGNATURE: [401, 'The access token signature is invalid'],
  PALISADE_JWT_EXPIRED: [401, 'The access token expired'],
  PALISADE_JWT_NOT_YET_VALID: [401, 'The access token is not valid yet'],
  PALISADE_JWT_TOO_OLD: [401, 'The access token is too old'],
  PALISADE_JWT_ISSUER_INVALID: [
    401,
    'The access token was issued by an issuer that is not trusted',
  ],
  PALISADE_JWT_AUDIENCE_INVALID: [401, 'The access token is not intended for this service'],
  PALISADE_JWT_CLAIM_MISSING: [401, 'The access token lacks a required claim'],
  PALISADE_JWT_CLAIM_INVALID: [401, 'The access token has an invalid claim'],
  PALISADE_JWT_UNKNOWN_KEY: [401, 'The access token was signed with an unknown key'],
  PALISADE_JWT_KEY_UNAVAILABLE: [401, 'The access token was signed with an unknown key'],
  PALISADE_JWT_JWKS_UNAVAILABLE: [503, 'Token verification is temporarily unavailable'],
  PALISADE_JWT_INSUFFICIENT_SCOPE: [403, 'The access token lacks the required scope'],
}

const DETAIL = 'kid "k-private" is not in https://idp.internal.example/jwks (aud "orders")'

describe('JwtError', () => {
  it.each(Object.entries(PUBLIC) as [JwtErrorCode, readonly [number, string]][])(
    '%s has a public message, a boolean expose and its detail apart',
    (code, [status, description]) => {
      const cause = new Error('jose: unexpected "aud" claim value')
      const error = new JwtError(code, DETAIL, { realm: 'api', cause })
      expect(error.message).toBe(description)
      expect(error.toResponse().body.error_description).toBe(description)
      expect(error.detail).toBe(DETAIL)
      expect(error.cause).toBe(cause)
      expect(error.status).toBe(status)
      expect(error.statusCode).toBe(status)
      expect(typeof error.expose).toBe('boolean')
      expect(error.expose).toBe(status < 500)
      expect(error.stack?.split('\n')[0]).toBe(`JwtError: ${description}`)
      expect(JSON.stringify(error)).not.toContain('k-private')
      expect(JSON.stringify(error.headers)).not.toContain('k-private')
      expect(inspect(error)).toContain(DETAIL)
    },
  )

  it('answers exactly as before: status, challenge, Cache-Control and body', () => {
    const expired = new JwtError('PALISADE_JWT_EXPIRED', 'the token expired (exp)', {
      realm: 'api',
      claim: 'exp',
    })
    expect(errorResponse(expired)).toEqual({
      status: 401,
      headers: {
        'WWW-Authenticate':
          'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
        'Cache-Control': 'no-store',
      },
      body: { error: 'invalid_token', error_description: 'The access token expired' },
    })
    const down = new JwtError('PALISADE_JWT_JWKS_UNAVAILABLE', 'no key set is available', {
      realm: 'api',
      retryAfter: 7,
    })
    expect(errorResponse(down)).toEqual({
      status: 503,
      headers: { 'Retry-After': '7', 'Cache-Control': 'no-store' },
      body: {
        error: 'temporarily_unavailable',
        error_description: 'Token verification is temporarily unavailable',
      },
    })
  })
})

describe('checkScopes errors', () => {
  const auth = { disabled: false, scopes: ['read'] } as unknown as AuthInfo

  it('refuses a missing scope with the public text, the scopes named in detail', () => {
    let caught: unknown
    try {
      checkScopes(['admin', 'audit'])(auth)
    } catch (error) {
      caught = error
    }
    const error = caught as JwtError
    expect(error).toBeInstanceOf(JwtError)
    expect(error.status).toBe(403)
    expect(error.expose).toBe(true)
    expect(error.message).toBe('The access token lacks the required scope')
    expect(error.detail).toBe('token lacks the scopes "admin audit"')
    expect(error.headers['WWW-Authenticate']).toContain('scope="admin audit"')
  })

  it('refuses a check with no authentication before it with the public text', () => {
    let caught: unknown
    try {
      checkScopes('admin')(undefined)
    } catch (error) {
      caught = error
    }
    const error = caught as JwtError
    expect(error.status).toBe(401)
    expect(error.message).toBe('A bearer token is required')
    expect(error.detail).toContain('mount auth() first')
  })
})
