import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDevIssuer } from '../src/index.js'
import type { DevIssuer } from '../src/index.js'

let issuer: DevIssuer
beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['EdDSA', 'RS256'], defaultTtlSeconds: 120 })
})
afterAll(async () => {
  await issuer.close()
})

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  })
}

describe('POST /token', () => {
  it('issues a verifiable client_credentials token', async () => {
    const response = await post(
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'billing',
        client_secret: 'anything',
        scope: 'read write',
        audience: 'orders',
      }).toString(),
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const answer = (await response.json()) as Record<string, unknown>
    expect(answer).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 120,
      scope: 'read write',
    })
    const { payload, protectedHeader } = await jwtVerify(
      answer.access_token as string,
      createRemoteJWKSet(new URL(issuer.jwksUri)),
      { issuer: issuer.issuer, audience: 'orders', typ: 'at+jwt' },
    )
    expect(protectedHeader.alg).toBe('EdDSA')
    expect(payload).toMatchObject({ sub: 'billing', client_id: 'billing', scope: 'read write' })
    expect(payload.exp! - payload.iat!).toBe(120)
    expect(issuer.requests.token).toBeGreaterThan(0)
  })

  it('defaults the audience and leaves out scope when none is asked for', async () => {
    const response = await post('grant_type=client_credentials')
    const answer = (await response.json()) as Record<string, unknown>
    expect(answer).not.toHaveProperty('scope')
    const payload = decodeJwt(answer.access_token as string)
    expect(payload).toMatchObject({ aud: 'api', sub: 'dev-client' })
    expect(payload).not.toHaveProperty('scope')
  })

  it('takes the client id from HTTP Basic and audiences from resource parameters', async () => {
    const credentials = Buffer.from('svc%3Aa:secret').toString('base64')
    const response = await post(
      'grant_type=client_credentials&resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example',
      { authorization: `Basic ${credentials}` },
    )
    const answer = (await response.json()) as { access_token: string }
    expect(decodeJwt(answer.access_token)).toMatchObject({
      sub: 'svc:a',
      aud: ['https://a.example', 'https://b.example'],
    })
  })

  it.each([
    ['a missing grant_type', 'scope=read', 'invalid_request'],
    ['another grant type', 'grant_type=password&username=a&password=b', 'unsupported_grant_type'],
  ])('answers 400 to %s', async (_label, body, error) => {
    const response = await post(body)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error })
  })

  it('answers 400 to a JSON body', async () => {
    const response = await post(JSON.stringify({ grant_type: 'client_credentials' }), {
      'content-type': 'application/json',
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_request' })
  })

  it('answers 413 to a body over 64 KiB', async () => {
    const response = await post(`grant_type=client_credentials&scope=${'a'.repeat(70_000)}`)
    expect(response.status).toBe(413)
  })

  it('answers 405 to GET', async () => {
    const response = await fetch(issuer.tokenEndpoint)
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('POST')
  })

  it('is not affected by fail()', async () => {
    issuer.fail('error')
    try {
      expect((await post('grant_type=client_credentials')).status).toBe(200)
    } finally {
      issuer.fail('none')
    }
  })
})
