import { setTimeout as sleep } from 'node:timers/promises'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createVerifier } from '@palisade/jwt'
import { startApp } from './interop/apps.js'
import type { AdapterName, RunningApp } from './interop/apps.js'
import { signingKey, startOidcProvider } from './interop/oidc-provider.js'
import type { OidcProvider, SigningKey } from './interop/oidc-provider.js'

// Interoperability with an identity provider Palisade did not write: oidc-provider (panva),
// certified OpenID Provider, issuing RFC 9068 JWT access tokens for RFC 8707 resource
// indicators through the client-credentials grant. The verifiers know only the issuer URL and
// find the key set through OpenID discovery, exactly as a service configured with AUTH_ISSUER.

const API = 'https://api.example.test/'
const OTHER_API = 'https://other.example.test/'
const ADAPTERS: readonly AdapterName[] = ['express', 'fastify', 'koa']
// Unknown-kid refetches are allowed once per cooldown; waits below are longer than this.
const COOLDOWN_MS = 50

interface Answer {
  status: number
  wwwAuthenticate: string | null
  body: Record<string, unknown>
}

async function get(url: string, token: string): Promise<Answer> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    body: (await response.json()) as Record<string, unknown>,
  }
}

function invalidToken(description: string): Answer {
  return {
    status: 401,
    wwwAuthenticate: `Bearer realm="api", error="invalid_token", error_description="${description}"`,
    body: { error: 'invalid_token', error_description: description },
  }
}

function kidOf(token: string): string | undefined {
  return decodeProtectedHeader(token).kid
}

/** The same token with its payload changed and its header and signature kept. */
function withPayload(token: string, change: (payload: Record<string, unknown>) => void): string {
  const [header, , signature] = token.split('.')
  const payload: Record<string, unknown> = { ...decodeJwt(token) }
  change(payload)
  return `${header!}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature!}`
}

describe('Palisade against a real OpenID provider (oidc-provider, client credentials, RFC 9068 JWT access tokens)', () => {
  let idp: OidcProvider
  let firstKey: SigningKey
  const apps = new Map<AdapterName, RunningApp>()
  const tokens = { read: '', admin: '', otherAudience: '' }

  const app = (adapter: AdapterName): string => apps.get(adapter)!.url

  beforeAll(async () => {
    firstKey = await signingKey('key-1')
    idp = await startOidcProvider({
      keys: [firstKey],
      resources: [API, OTHER_API],
      scopes: ['read', 'admin'],
    })
    for (const adapter of ADAPTERS) {
      // One verifier per app, each configured with the issuer only (no jwksUrl): discovery.
      const verifier = createVerifier({
        issuer: idp.issuer,
        audience: API,
        allowInsecureHttp: true,
        typ: 'at+jwt',
        jwks: { cooldownMs: COOLDOWN_MS },
      })
      apps.set(adapter, await startApp(adapter, verifier))
    }
    tokens.read = await idp.token({ scope: 'read', resource: API })
    tokens.admin = await idp.token({ scope: 'read admin', resource: API })
    tokens.otherAudience = await idp.token({ scope: 'read admin', resource: OTHER_API })
  })

  afterAll(async () => {
    await Promise.all([...apps.values()].map((running) => running.close()))
    await idp.close()
  })

  it('issues JWT access tokens (typ at+jwt) for the requested resource, signed with its published key', async () => {
    expect(decodeProtectedHeader(tokens.admin)).toMatchObject({
      typ: 'at+jwt',
      alg: 'ES256',
      kid: 'key-1',
    })
    expect(decodeJwt(tokens.admin)).toMatchObject({
      iss: idp.issuer,
      aud: API,
      sub: idp.clientId,
      client_id: idp.clientId,
      scope: 'read admin',
    })
    expect(decodeJwt(tokens.read)['scope']).toBe('read')
    expect(decodeJwt(tokens.otherAudience)['aud']).toBe(OTHER_API)
    expect(await idp.publishedKids()).toEqual(['key-1'])
  })

  describe.each(ADAPTERS)('@palisade/%s', (adapter) => {
    it('accepts a token of the provider, its key found through OpenID discovery', async () => {
      expect(await get(`${app(adapter)}/api/me`, tokens.read)).toEqual({
        status: 200,
        wwwAuthenticate: null,
        body: { sub: idp.clientId, client_id: idp.clientId, scopes: ['read'], kid: 'key-1' },
      })
    })

    it("takes scopes from the token's scope claim: admin passes /api/admin, read-only gets 403", async () => {
      expect(await get(`${app(adapter)}/api/admin`, tokens.admin)).toMatchObject({
        status: 200,
        body: { sub: idp.clientId, scopes: ['read', 'admin'] },
      })
      expect(await get(`${app(adapter)}/api/admin`, tokens.read)).toEqual({
        status: 403,
        wwwAuthenticate:
          'Bearer realm="api", error="insufficient_scope", error_description="The access token lacks the required scope", scope="admin"',
        body: {
          error: 'insufficient_scope',
          error_description: 'The access token lacks the required scope',
        },
      })
    })

    it('refuses a token the provider issued for another resource (audience) with 401', async () => {
      const expected = invalidToken('The access token is not intended for this service')
      expect(await get(`${app(adapter)}/api/me`, tokens.otherAudience)).toEqual(expected)
      expect(await get(`${app(adapter)}/api/admin`, tokens.otherAudience)).toEqual(expected)
    })

    it('refuses a tampered token (payload changed, signature kept) with 401', async () => {
      const escalated = withPayload(tokens.read, (payload) => {
        payload['scope'] = 'read admin'
      })
      const retargeted = withPayload(tokens.otherAudience, (payload) => {
        payload['aud'] = API
      })
      const expected = invalidToken('The access token signature is invalid')
      expect(await get(`${app(adapter)}/api/admin`, escalated)).toEqual(expected)
      expect(await get(`${app(adapter)}/api/me`, retargeted)).toEqual(expected)
    })
  })

  describe('signing-key rotation at the provider, without restarting the services', () => {
    it('accepts tokens signed with a new key, then refuses those of the retired key', async () => {
      const oldToken = tokens.read
      // Warm every verifier on the first key set.
      for (const adapter of ADAPTERS) {
        expect((await get(`${app(adapter)}/api/me`, oldToken)).status).toBe(200)
      }

      // Rotation, step 1: the provider restarts signing with key-2, still publishing key-1.
      const secondKey = await signingKey('key-2')
      await idp.restart([secondKey, firstKey])
      expect(await idp.publishedKids()).toEqual(['key-2', 'key-1'])
      await sleep(COOLDOWN_MS + 20)
      const secondToken = await idp.token({ scope: 'read', resource: API })
      expect(kidOf(secondToken)).toBe('key-2')
      for (const adapter of ADAPTERS) {
        // key-2 is not in the cached set: the unknown kid makes the verifier fetch it.
        expect(await get(`${app(adapter)}/api/me`, secondToken)).toMatchObject({
          status: 200,
          body: { sub: idp.clientId, kid: 'key-2' },
        })
        // key-1 is still published, so its tokens stay good.
        expect(await get(`${app(adapter)}/api/me`, oldToken)).toMatchObject({
          status: 200,
          body: { kid: 'key-1' },
        })
      }

      // Step 2: key-3 signs, key-2 stays published, key-1 is retired.
      const thirdKey = await signingKey('key-3')
      await idp.restart([thirdKey, secondKey])
      expect(await idp.publishedKids()).toEqual(['key-3', 'key-2'])
      await sleep(COOLDOWN_MS + 20)
      const thirdToken = await idp.token({ scope: 'read admin', resource: API })
      expect(kidOf(thirdToken)).toBe('key-3')
      for (const adapter of ADAPTERS) {
        expect(await get(`${app(adapter)}/api/admin`, thirdToken)).toMatchObject({
          status: 200,
          body: { kid: 'key-3', scopes: ['read', 'admin'] },
        })
      }
      await sleep(COOLDOWN_MS + 20)
      for (const adapter of ADAPTERS) {
        expect(await get(`${app(adapter)}/api/me`, secondToken)).toMatchObject({ status: 200 })
        // key-1 is in neither the cached set nor a refetched one: PALISADE_JWT_UNKNOWN_KEY.
        expect(await get(`${app(adapter)}/api/me`, oldToken)).toEqual(
          invalidToken('The access token was signed with an unknown key'),
        )
      }
    })
  })
})
