import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose'
import type { JWTVerifyOptions } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DevIssuerError, startDevIssuer } from '../src/index.js'
import type { DevIssuer, DevIssuerAlgorithm } from '../src/index.js'

let issuer: DevIssuer
let jwks: ReturnType<typeof createRemoteJWKSet>
beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] })
  jwks = createRemoteJWKSet(new URL(issuer.jwksUri))
})
afterAll(async () => {
  await issuer.close()
})

function verify(token: string, options: JWTVerifyOptions = {}) {
  return jwtVerify(token, jwks, {
    issuer: issuer.issuer,
    audience: 'api',
    typ: 'at+jwt',
    ...options,
  })
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

const now = (): number => Math.floor(Date.now() / 1000)

describe('mint() with each algorithm', () => {
  it.each<DevIssuerAlgorithm>(['RS256', 'PS256', 'ES256', 'EdDSA'])(
    '%s verifies with jwtVerify and createRemoteJWKSet',
    async (alg) => {
      const token = await issuer.mint({ alg })
      const { payload, protectedHeader } = await verify(token, { algorithms: [alg] })
      const key = issuer.publicJwks().keys.find((candidate) => candidate.alg === alg)
      expect(protectedHeader).toEqual({ alg, kid: key?.kid, typ: 'at+jwt' })
      expect(payload.iss).toBe(issuer.issuer)
    },
  )

  it('signs with the first algorithm by default', async () => {
    const token = await issuer.mint()
    expect(decodeProtectedHeader(token).alg).toBe('RS256')
  })

  it('writes the default claims', async () => {
    const before = now()
    const token = await issuer.mint()
    const { payload } = await verify(token)
    expect(Object.keys(payload).sort()).toEqual(
      ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'sub'].sort(),
    )
    expect(payload).toMatchObject({ sub: 'user-1', aud: 'api', client_id: 'dev-client' })
    expect(payload.iat).toBeGreaterThanOrEqual(before)
    expect(payload.exp! - payload.iat!).toBe(300)
    expect(decodeJwt(await issuer.mint()).jti).not.toBe(payload.jti)
  })
})

describe('mint() claim options', () => {
  it('writes a scope string as given and no scp', async () => {
    const { payload } = await verify(await issuer.mint({ scope: 'read write' }))
    expect(payload.scope).toBe('read write')
    expect(payload).not.toHaveProperty('scp')
  })

  it('joins a scope array and writes scp with scpArray', async () => {
    const { payload } = await verify(
      await issuer.mint({ scope: ['read', 'admin'], scpArray: true }),
    )
    expect(payload.scope).toBe('read admin')
    expect(payload.scp).toEqual(['read', 'admin'])
    const fromString = decodeJwt(await issuer.mint({ scope: 'a  b', scpArray: true }))
    expect(fromString.scp).toEqual(['a', 'b'])
  })

  it('sets subject and audience, also several audiences', async () => {
    const token = await issuer.mint({ subject: 'alice', audience: ['orders', 'billing'] })
    const { payload } = await verify(token, { audience: 'billing' })
    expect(payload.sub).toBe('alice')
    expect(payload.aud).toEqual(['orders', 'billing'])
    const other = await rejection(verify(token))
    expect(other).toBeInstanceOf(errors.JWTClaimValidationFailed)
  })

  it('leaves out omitted claims, also ones set through claims', async () => {
    const token = await issuer.mint({ omit: ['exp', 'aud', 'sub'], claims: { exp: 1 } })
    const payload = decodeJwt(token)
    expect(payload).not.toHaveProperty('exp')
    expect(payload).not.toHaveProperty('aud')
    expect(payload).not.toHaveProperty('sub')
    expect(payload).toHaveProperty('iss')
    const error = await rejection(verify(token))
    expect(error).toBeInstanceOf(errors.JWTClaimValidationFailed)
    expect(error).toMatchObject({ claim: 'aud' })
  })

  it('mints an expired token with a negative expiresIn', async () => {
    const token = await issuer.mint({ expiresIn: -120 })
    expect(decodeJwt(token).exp).toBeLessThanOrEqual(now() - 119)
    const error = await rejection(verify(token))
    expect(error.code).toBe('ERR_JWT_EXPIRED')
  })

  it('mints a token that is not valid yet with notBefore', async () => {
    const token = await issuer.mint({ notBefore: 600 })
    expect(decodeJwt(token).nbf).toBeGreaterThanOrEqual(now() + 599)
    const error = await rejection(verify(token))
    expect(error).toBeInstanceOf(errors.JWTClaimValidationFailed)
    expect(error).toMatchObject({ claim: 'nbf' })
  })

  it('writes issuedAt as iat, and exp relative to now', async () => {
    const token = await issuer.mint({ issuedAt: 1_000_000, expiresIn: 60 })
    const payload = decodeJwt(token)
    expect(payload.iat).toBe(1_000_000)
    expect(payload.exp).toBeGreaterThanOrEqual(now() + 59)
  })

  it('merges extra claims over the standard ones', async () => {
    const token = await issuer.mint({ claims: { iss: 'https://evil.example', tenant: 't1' } })
    const payload = decodeJwt(token)
    expect(payload.iss).toBe('https://evil.example')
    expect(payload.tenant).toBe('t1')
    const error = await rejection(verify(token))
    expect(error).toMatchObject({ claim: 'iss' })
  })
})

describe('mint() header options', () => {
  it('writes a kid override, which the JWKS cannot match', async () => {
    const token = await issuer.mint({ kid: 'unknown-kid' })
    expect(decodeProtectedHeader(token).kid).toBe('unknown-kid')
    const error = await rejection(verify(token))
    expect(error.code).toBe('ERR_JWKS_NO_MATCHING_KEY')
  })

  it('sets or leaves out typ', async () => {
    expect(decodeProtectedHeader(await issuer.mint({ typ: 'JWT' })).typ).toBe('JWT')
    const untyped = await issuer.mint({ typ: null })
    expect(decodeProtectedHeader(untyped)).not.toHaveProperty('typ')
    const error = await rejection(verify(untyped))
    expect(error).toMatchObject({ claim: 'typ' })
  })

  it('signs extra header fields as given, crit included', async () => {
    const token = await issuer.mint({
      header: { jku: 'https://evil.example/jwks.json', crit: ['x-palisade'], 'x-palisade': 1 },
    })
    const header = decodeProtectedHeader(token)
    expect(header.jku).toBe('https://evil.example/jwks.json')
    expect(header.crit).toEqual(['x-palisade'])
    // The signature covers the extra fields: a verifier that understands the extension accepts.
    await expect(verify(token, { crit: { 'x-palisade': true } })).resolves.toBeDefined()
    const error = await rejection(verify(token))
    expect(error.code).toBe('ERR_JOSE_NOT_SUPPORTED')
  })

  it('can write malformed headers for attack tests', async () => {
    const token = await issuer.mint({ header: { crit: [], jwk: { kty: 'oct', k: 'AAAA' } } })
    expect(decodeProtectedHeader(token)).toMatchObject({ crit: [], jwk: { kty: 'oct' } })
    const error = await rejection(verify(token))
    expect(error.code).toBe('ERR_JWS_INVALID')
  })
})

describe('mint() refusals', () => {
  it.each([
    [{ alg: 'HS256' }, '"alg" option must be one of RS256, PS256, ES256, EdDSA'],
    [{ alg: 'none' }, '"alg" option'],
    [{ kid: 1 }, '"kid" option must be a string'],
    [{ typ: 1 }, '"typ" option must be a string or null'],
    [{ subject: null }, '"subject" option must be a string'],
    [{ audience: [] }, '"audience" option'],
    [{ scope: ['a b'] }, '"scope" option'],
    [{ scpArray: 'yes' }, '"scpArray" option must be a boolean'],
    [{ expiresIn: 1.5 }, '"expiresIn" option must be an integer'],
    [{ notBefore: '60' }, '"notBefore" option must be an integer'],
    [{ issuedAt: -1 }, '"issuedAt" option must be a non-negative integer'],
    [{ omit: ['nbf'] }, '"omit" option must be an array of'],
    [{ claims: 'x' }, '"claims" option must be a plain object'],
    [{ header: { alg: 'none' } }, '"header" option cannot set "alg"'],
    [{ expiresin: 60 }, 'unknown option "expiresin"'],
  ])('refuses %j with a TypeError naming the option', async (options, message) => {
    // @ts-expect-error -- invalid on purpose
    const error = await rejection(issuer.mint(options))
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toContain(message)
  })

  it('refuses an algorithm that has no key with a DevIssuerError', async () => {
    const only = await startDevIssuer({ algorithms: ['ES256'] })
    try {
      const error = await rejection(only.mint({ alg: 'RS256' }))
      expect(error).toBeInstanceOf(DevIssuerError)
      expect(error.code).toBe('PALISADE_TESTING_NO_SIGNING_KEY')
      expect(error).toMatchObject({ alg: 'RS256' })
      expect(error.message).toContain("rotate('RS256')")
    } finally {
      await only.close()
    }
  })
})
