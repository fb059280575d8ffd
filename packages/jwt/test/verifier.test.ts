import { createPublicKey } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DevIssuer } from '@palisade/testing'
import { startDevIssuer } from '@palisade/testing'
import type { Verifier } from '../src/index.js'
import { createVerifier } from '../src/index.js'
import { rejection, segment, startServer } from './helpers.js'

let issuer: DevIssuer
let verifier: Verifier

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256', 'ES256', 'EdDSA', 'PS256'] })
  verifier = createVerifier({ issuer: issuer.issuer, audience: 'api', allowInsecureHttp: true })
  await verifier.ready()
})
afterAll(async () => {
  await issuer.close()
})

const bearer = (token: string) => ({
  headers: { authorization: `Bearer ${token}` },
  url: '/api/me',
})
const codeOf = async (token: string) => (await rejection(() => verifier.verify(token))).code

describe('valid tokens', () => {
  it.each(['RS256', 'ES256', 'EdDSA', 'PS256'] as const)(
    'accepts %s and returns the verified claims',
    async (alg) => {
      const token = await issuer.mint({
        alg,
        subject: 'user-42',
        scope: 'read write',
        claims: { tenant: 't1' },
      })
      const auth = await verifier.authenticate(bearer(token))
      expect(auth.disabled).toBe(false)
      expect(auth.subject).toBe('user-42')
      expect(auth.claims['tenant']).toBe('t1')
      expect(auth.scopes).toEqual(['read', 'write'])
      expect(auth.header.alg).toBe(alg)
      expect(auth.expiresAt).toBeGreaterThan(Date.now())
      expect(Object.isFrozen(auth.claims)).toBe(true)
    },
  )

  it('reads scopes from scp arrays too', async () => {
    const token = await issuer.mint({ scope: ['admin', 'read'], scpArray: true })
    expect((await verifier.verify(token)).scopes).toEqual(expect.arrayContaining(['admin', 'read']))
  })

  it('accepts the bearer scheme in any case', async () => {
    const token = await issuer.mint()
    await expect(
      verifier.authenticate({ headers: { authorization: `bEaReR ${token}` } }),
    ).resolves.toBeDefined()
  })
})

describe('forged and malformed tokens', () => {
  it('refuses alg none', async () => {
    const token = `${segment({ alg: 'none', typ: 'JWT' })}.${segment({ iss: issuer.issuer, aud: 'api', sub: 'admin', exp: 9999999999 })}.`
    expect(await codeOf(token)).toBe('PALISADE_JWT_ALG_NOT_ALLOWED')
  })

  it('refuses HS256 signed with the RSA public key as the secret', async () => {
    const jwks = issuer.publicJwks()
    const rsa = jwks.keys.find((k) => k.kty === 'RSA')!
    const pem = createPublicKey({ key: rsa as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    })
    const token = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setIssuer(issuer.issuer)
      .setAudience('api')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(pem.toString()))
    expect(await codeOf(token)).toBe('PALISADE_JWT_ALG_NOT_ALLOWED')
  })

  async function attackerToken(header: Record<string, unknown>): Promise<string> {
    const { privateKey } = await generateKeyPair('RS256')
    return new SignJWT({ sub: 'admin', scope: 'admin' })
      .setProtectedHeader({ alg: 'RS256', ...header })
      .setIssuer(issuer.issuer)
      .setAudience('api')
      .setExpirationTime('5m')
      .sign(privateKey)
  }

  it('ignores an embedded jwk', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
    const jwk = await exportJWK(publicKey)
    const token = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'RS256', jwk })
      .setIssuer(issuer.issuer)
      .setAudience('api')
      .setExpirationTime('5m')
      .sign(privateKey)
    expect(['PALISADE_JWT_BAD_SIGNATURE', 'PALISADE_JWT_UNKNOWN_KEY']).toContain(
      await codeOf(token),
    )
  })

  it('never fetches jku or x5u locations from the token', async () => {
    const trap = await startServer((_req, res) => res.end('{"keys":[]}'))
    try {
      for (const header of [
        { jku: `${trap.url}/jwks.json`, kid: 'evil' },
        { x5u: `${trap.url}/cert.pem`, kid: 'evil' },
        { x5c: ['AAAA'] },
      ]) {
        const code = await codeOf(await attackerToken(header))
        expect(['PALISADE_JWT_UNKNOWN_KEY', 'PALISADE_JWT_BAD_SIGNATURE']).toContain(code)
      }
      expect(trap.hits()).toBe(0)
    } finally {
      await trap.close()
    }
  })

  it.each(['../../../../etc/passwd', "' OR '1'='1' --", '%00', 'a'.repeat(2000)])(
    'treats kid %j only as a lookup key',
    async (kid) => {
      const error = await rejection(async () => verifier.verify(await attackerToken({ kid })))
      expect(error.code).toBe('PALISADE_JWT_UNKNOWN_KEY')
      expect(error.headers['WWW-Authenticate']).not.toContain(kid.slice(0, 10))
    },
  )

  it('refuses a valid token from another key that claims a real kid', async () => {
    const kid = issuer.publicJwks().keys.find((k) => k.kty === 'RSA')!.kid
    expect(await codeOf(await attackerToken({ kid }))).toBe('PALISADE_JWT_BAD_SIGNATURE')
  })

  it('refuses stripped, truncated and bit-flipped signatures', async () => {
    const token = await issuer.mint()
    const [h, p, s] = token.split('.') as [string, string, string]
    const flipped = Buffer.from(s, 'base64url')
    flipped[10] = flipped[10]! ^ 0x01
    expect(await codeOf(`${h}.${p}.`)).toBe('PALISADE_JWT_BAD_SIGNATURE')
    expect(await codeOf(`${h}.${p}.${s.slice(0, s.length - 10)}`)).toBe(
      'PALISADE_JWT_BAD_SIGNATURE',
    )
    expect(await codeOf(`${h}.${p}.${flipped.toString('base64url')}`)).toBe(
      'PALISADE_JWT_BAD_SIGNATURE',
    )
  })

  it('refuses an ECDSA signature of zeros (CVE-2022-21449 class)', async () => {
    const token = await issuer.mint({ alg: 'ES256' })
    const [h, p] = token.split('.') as [string, string]
    expect(await codeOf(`${h}.${p}.${Buffer.alloc(64).toString('base64url')}`)).toBe(
      'PALISADE_JWT_BAD_SIGNATURE',
    )
  })

  it('refuses a changed payload under a valid signature', async () => {
    const token = await issuer.mint({ scope: 'read' })
    const [h, , s] = token.split('.') as [string, string, string]
    const forged = segment({
      iss: issuer.issuer,
      aud: 'api',
      sub: 'user-1',
      scope: 'admin',
      exp: Math.floor(Date.now() / 1000) + 300,
    })
    expect(await codeOf(`${h}.${forged}.${s}`)).toBe('PALISADE_JWT_BAD_SIGNATURE')
  })

  it.each([
    [
      'an unknown crit header',
      { header: { crit: ['x-palisade-never'], 'x-palisade-never': 1 } },
      'PALISADE_JWT_CRIT_UNSUPPORTED',
    ],
    ['an expired token', { expiresIn: -60 }, 'PALISADE_JWT_EXPIRED'],
    ['a token not valid yet', { notBefore: 600 }, 'PALISADE_JWT_NOT_YET_VALID'],
    ['another audience', { audience: 'billing' }, 'PALISADE_JWT_AUDIENCE_INVALID'],
    ['no exp', { omit: ['exp'] }, 'PALISADE_JWT_CLAIM_MISSING'],
    ['no aud', { omit: ['aud'] }, 'PALISADE_JWT_CLAIM_MISSING'],
    ['no iss', { omit: ['iss'] }, 'PALISADE_JWT_ISSUER_INVALID'],
  ] as const)('refuses %s', async (_label, mint, code) => {
    expect(await codeOf(await issuer.mint(mint as never))).toBe(code)
  })

  it('tolerates clock skew within clockTolerance', async () => {
    expect(await verifier.verify(await issuer.mint({ expiresIn: -3 }))).toBeDefined()
  })

  it('refuses another issuer before fetching any key', async () => {
    const other = await startDevIssuer()
    try {
      const fresh = createVerifier({
        issuer: issuer.issuer,
        audience: 'api',
        allowInsecureHttp: true,
      })
      issuer.resetCounters()
      const error = await rejection(async () => fresh.verify(await other.mint()))
      expect(error.code).toBe('PALISADE_JWT_ISSUER_INVALID')
      expect(issuer.requests.total).toBe(0)
      expect(other.requests.total).toBe(0)
    } finally {
      await other.close()
    }
  })

  it.each([
    ['a JWE-shaped five-part token', 'eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'],
    ['non-base64 garbage', 'not.a.jwt!'],
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.e30'],
    ['a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.sig`],
    ['a header that is an array', `${segment([1])}.${segment({})}.sig`],
  ])('refuses %s as malformed', async (_label, token) => {
    expect(await codeOf(token)).toBe('PALISADE_JWT_MALFORMED')
  })

  it('refuses a 100 KB token before any parsing', async () => {
    const error = await rejection(() => verifier.authenticate(bearer('a'.repeat(100 * 1024))))
    expect(error.code).toBe('PALISADE_JWT_TOO_LARGE')
    expect(error.status).toBe(401)
  })
})

describe('requests', () => {
  it('answers a request without a token with a bare Bearer challenge', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const error = await rejection(() => verifier.authenticate({ headers }))
      expect(error.code).toBe('PALISADE_JWT_MISSING')
      expect(error.status).toBe(401)
      expect(error.headers['WWW-Authenticate']).toBe('Bearer realm="api"')
      expect(error.toResponse().body).toEqual({
        error: 'unauthorized',
        error_description: 'A bearer token is required',
      })
    }
  })

  it.each([
    ['a token in the query string', { headers: {}, url: '/api/me?access_token=abc' }],
    [
      'a token in the header and the query string',
      { headers: { authorization: 'Bearer abc' }, url: '/api/me?x=1&access_token=abc' },
    ],
    ['Bearer with no token', { headers: { authorization: 'Bearer ' } }],
    ['two values after Bearer', { headers: { authorization: 'Bearer a b' } }],
    ['the header twice', { headers: { authorization: ['Bearer a', 'Bearer b'] } }],
  ])('answers %s with 400 invalid_request', async (_label, request) => {
    const error = await rejection(() => verifier.authenticate(request))
    expect(error.code).toBe('PALISADE_JWT_INVALID_REQUEST')
    expect(error.status).toBe(400)
    expect(error.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="invalid_request", error_description="The request is malformed"',
    )
  })

  it('describes invalid tokens generically, per RFC 6750', async () => {
    const error = await rejection(async () =>
      verifier.authenticate(bearer(await issuer.mint({ expiresIn: -60 }))),
    )
    expect(error.toResponse()).toEqual({
      status: 401,
      headers: {
        'WWW-Authenticate':
          'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
        'Cache-Control': 'no-store',
      },
      body: { error: 'invalid_token', error_description: 'The access token expired' },
    })
    expect(error.message).not.toContain('eyJ')
  })

  it('reads a token from a cookie only when asked', async () => {
    const token = await issuer.mint()
    const cookie = { headers: { cookie: `theme=dark; session=${token}` } }
    expect((await rejection(() => verifier.authenticate(cookie))).code).toBe('PALISADE_JWT_MISSING')
    const browser = createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
      cookie: 'session',
    })
    expect((await browser.authenticate(cookie)).subject).toBe('user-1')
    const both = { headers: { cookie: `session=${token}`, authorization: `Bearer ${token}` } }
    expect((await rejection(() => browser.authenticate(both))).code).toBe(
      'PALISADE_JWT_INVALID_REQUEST',
    )
  })
})

describe('verifier options', () => {
  it('checks typ when asked, with or without the application/ prefix', async () => {
    const strict = createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
      typ: 'application/at+jwt',
    })
    expect(await strict.verify(await issuer.mint({ typ: 'at+jwt' }))).toBeDefined()
    expect(
      (await rejection(async () => strict.verify(await issuer.mint({ typ: 'JWT' })))).code,
    ).toBe('PALISADE_JWT_TYP_INVALID')
    expect(
      (await rejection(async () => strict.verify(await issuer.mint({ typ: null })))).code,
    ).toBe('PALISADE_JWT_TYP_INVALID')
  })

  it('enforces maxTokenAge, requiredClaims and checkClaims', async () => {
    const strict = createVerifier({
      issuer: issuer.issuer,
      audience: ['other', 'api'],
      allowInsecureHttp: true,
      maxTokenAge: 60,
      requiredClaims: ['tenant'],
      checkClaims: (claims) => (claims['tenant'] === 'blocked' ? 'tenant is blocked' : undefined),
    })
    expect(await strict.verify(await issuer.mint({ claims: { tenant: 't1' } }))).toBeDefined()
    const old = await issuer.mint({
      claims: { tenant: 't1' },
      issuedAt: Math.floor(Date.now() / 1000) - 600,
    })
    expect((await rejection(() => strict.verify(old))).code).toBe('PALISADE_JWT_TOO_OLD')
    expect((await rejection(async () => strict.verify(await issuer.mint()))).claim).toBe('tenant')
    expect(
      (
        await rejection(async () =>
          strict.verify(await issuer.mint({ claims: { tenant: 'blocked' } })),
        )
      ).code,
    ).toBe('PALISADE_JWT_CLAIM_INVALID')
  })

  it.each([
    [{ algorithms: ['none'] }, '"algorithms" option must not include "none"'],
    [{ algorithms: ['HS256'] }, '"algorithms" option must not include HS256'],
    [{ algorithms: [] }, '"algorithms" option must list at least one algorithm'],
    [{ algorithms: ['RS1'] }, '"algorithms" option has the unsupported algorithm "RS1"'],
    [{ issuer: 'http://id.example.com' }, '"issuer" option must use https://'],
    [{ issuer: 'http://127.0.0.1:9', allowInsecureHttp: false }, '"issuer" option uses http://'],
    [{ issuer: 'ftp://id.example.com' }, '"issuer" option must use https://'],
    // A *.localhost name is resolved through DNS on many systems: not loopback.
    [
      { issuer: 'http://id.localhost:4000', allowInsecureHttp: true },
      '"issuer" option must use https:// (http:// is only allowed on loopback hosts)',
    ],
    [
      { jwksUrl: 'http://keys.localhost/jwks', allowInsecureHttp: true },
      '"jwksUrl" option must use https:// (http:// is only allowed on loopback hosts)',
    ],
    [{ issuer: 'https://user:pw@id.example.com' }, '"issuer" option must not contain credentials'],
    [{ issuer: 'not a url' }, '"issuer" option must be an absolute URL'],
    [{ jwksUrl: 'http://keys.example.com/jwks' }, '"jwksUrl" option must use https://'],
    [{ audience: '' }, '"audience" option must be a non-empty string'],
    [{ clockTolerance: -1 }, '"clockTolerance" option must be a number of seconds'],
    [{ maxTokenBytes: 0 }, '"maxTokenBytes" option must be a positive integer'],
    [{ realm: 'a"b' }, '"realm" option must be a non-empty string without quotes'],
    [{ jwks: { cooldownMs: -5 } }, '"jwks.cooldownMs" option must be a positive integer'],
    [
      { jwks: { refreshAhead: 2 } },
      '"jwks.refreshAhead" option must be a number above 0 and at most 1',
    ],
    [{ jwks: { nope: 1 } }, 'unknown option "jwks.nope" in createVerifier()'],
    [{ tokenCache: { max: 0 } }, '"tokenCache.max" option must be a positive integer'],
  ])('refuses %j when created', (override, message) => {
    expect(() =>
      createVerifier({ issuer: 'https://id.example.com', audience: 'api', ...override } as never),
    ).toThrow(message)
  })

  it('caches verified tokens only when asked', async () => {
    const token = await issuer.mint()
    expect(await verifier.verify(token)).not.toBe(await verifier.verify(token))
    const cached = createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
      tokenCache: { max: 2 },
    })
    const first = await cached.verify(token)
    expect(await cached.verify(token)).toBe(first)
    const expired = await issuer.mint({ expiresIn: -60 })
    expect((await rejection(() => cached.verify(expired))).code).toBe('PALISADE_JWT_EXPIRED')
  })
})
