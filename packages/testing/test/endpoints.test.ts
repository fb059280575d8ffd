import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDevIssuer } from '../src/index.js'
import type { DevIssuer } from '../src/index.js'

let issuer: DevIssuer
beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] })
})
afterAll(async () => {
  await issuer.close()
})

describe('URLs', () => {
  it('are derived from the loopback address and the bound port', () => {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(issuer.issuer).not.toMatch(/:0$/)
    expect(issuer.jwksUri).toBe(`${issuer.issuer}/.well-known/jwks.json`)
    expect(issuer.discoveryUrl).toBe(`${issuer.issuer}/.well-known/openid-configuration`)
    expect(issuer.tokenEndpoint).toBe(`${issuer.issuer}/token`)
  })

  it('env() configures a Palisade service for this issuer', () => {
    expect(issuer.env()).toEqual({
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: issuer.jwksUri,
      AUTH_ALLOW_INSECURE_HTTP: 'true',
    })
  })
})

describe('GET /.well-known/openid-configuration', () => {
  it('serves a discovery document whose issuer is exactly the issuer URL', async () => {
    const response = await fetch(issuer.discoveryUrl)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    const document = (await response.json()) as Record<string, unknown>
    expect(document).toEqual({
      issuer: issuer.issuer,
      jwks_uri: issuer.jwksUri,
      token_endpoint: `${issuer.issuer}/token`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'client_id', 'scope'],
    })
  })

  it('ignores a query string', async () => {
    const response = await fetch(`${issuer.discoveryUrl}?x=1`)
    expect(response.status).toBe(200)
  })
})

describe('GET /.well-known/jwks.json', () => {
  it('serves one public signing key per algorithm with a Cache-Control max-age', async () => {
    const response = await fetch(issuer.jwksUri)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(response.headers.get('cache-control')).toBe('public, max-age=300')
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] }
    expect(keys.map((key) => [key.alg, key.kty, key.crv])).toEqual([
      ['RS256', 'RSA', undefined],
      ['PS256', 'RSA', undefined],
      ['ES256', 'EC', 'P-256'],
      ['EdDSA', 'OKP', 'Ed25519'],
    ])
    for (const key of keys) {
      expect(key.use).toBe('sig')
      expect(key.kid).toMatch(/^[\w-]{43}$/)
      // Public halves only: no private RSA, EC or OKP members.
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(member)
    }
    expect(new Set(keys.map((key) => key.kid)).size).toBe(4)
    expect(keys).toEqual(issuer.publicJwks().keys)
  })

  it('publicJwks() returns a copy', () => {
    const copy = issuer.publicJwks()
    copy.keys.pop()
    copy.keys[0]!.kid = 'changed'
    expect(issuer.publicJwks().keys).toHaveLength(4)
    expect(issuer.publicJwks().keys[0]!.kid).not.toBe('changed')
  })

  it('answers HEAD without a body', async () => {
    const response = await fetch(issuer.jwksUri, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('')
  })

  it('refuses other methods with 405 and Allow', async () => {
    const response = await fetch(issuer.jwksUri, { method: 'POST' })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('GET, HEAD')
  })
})

describe('unknown paths', () => {
  it.each(['/', '/.well-known/jwks', '/authorize', '/token/x'])(
    '%s is a JSON 404',
    async (path) => {
      const response = await fetch(`${issuer.issuer}${path}`)
      expect(response.status).toBe(404)
      expect(response.headers.get('content-type')).toBe('application/json')
      expect(await response.json()).toMatchObject({ error: 'not_found' })
    },
  )
})

describe('requests', () => {
  it('counts requests per endpoint, live, until resetCounters()', async () => {
    issuer.resetCounters()
    const { requests } = issuer
    expect({ ...requests }).toEqual({ jwks: 0, discovery: 0, token: 0, total: 0 })
    await fetch(issuer.jwksUri)
    await fetch(issuer.jwksUri)
    await fetch(issuer.discoveryUrl)
    await fetch(`${issuer.issuer}/nope`)
    await fetch(issuer.tokenEndpoint, { method: 'POST' })
    expect([requests.jwks, requests.discovery, requests.token, requests.total]).toEqual([
      2, 1, 1, 5,
    ])
    issuer.resetCounters()
    expect([requests.jwks, requests.discovery, requests.token, requests.total]).toEqual([
      0, 0, 0, 0,
    ])
  })
})
