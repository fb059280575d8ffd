import { describe, expect, it } from 'vitest'
import { JwtError, oncePerRequest } from '../src/index.js'
import type { AuthInfo, Authenticator, RequestLike } from '../src/index.js'

function counting(outcome: (request: RequestLike) => Promise<AuthInfo>) {
  const calls: RequestLike[] = []
  const authenticator: Authenticator = {
    enabled: true,
    realm: 'api',
    authenticate: (request) => {
      calls.push(request)
      return outcome(request)
    },
    ready: () => Promise.resolve(),
  }
  return { authenticator, calls }
}

const info = (subject: string): AuthInfo => ({
  disabled: false,
  subject,
  claims: { sub: subject },
  header: { alg: 'ES256' },
  scopes: [],
  expiresAt: undefined,
})

describe('oncePerRequest()', () => {
  it('verifies one request once, however often it is asked', async () => {
    const { authenticator, calls } = counting((r) =>
      Promise.resolve(info(String(r.headers['authorization']))),
    )
    const shared = oncePerRequest(authenticator)
    const request = { headers: { authorization: 'Bearer a' }, url: '/api/me' }
    const [first, second] = await Promise.all([
      shared.authenticate(request),
      shared.authenticate({ headers: request.headers, url: '/api/me' }),
    ])
    expect(first).toBe(second)
    expect(calls).toHaveLength(1)
    // another request (another headers object) is verified on its own
    await shared.authenticate({ headers: { authorization: 'Bearer b' }, url: '/api/me' })
    expect(calls).toHaveLength(2)
  })

  it('shares a refusal too, and keeps the wrapped authenticator visible', async () => {
    const refusal = new JwtError('PALISADE_JWT_MISSING', 'the request has no bearer token', {
      realm: 'orders',
    })
    const { authenticator, calls } = counting(() => Promise.reject(refusal))
    const shared = oncePerRequest({ ...authenticator, realm: 'orders' })
    const headers = {}
    await expect(shared.authenticate({ headers })).rejects.toBe(refusal)
    await expect(shared.authenticate({ headers })).rejects.toBe(refusal)
    expect(calls).toHaveLength(1)
    expect(shared.realm).toBe('orders')
    expect(shared.enabled).toBe(true)
  })

  it('refuses something that is not an authenticator', () => {
    expect(() => oncePerRequest({} as Authenticator)).toThrow(
      /oncePerRequest\(\) takes an authenticator/,
    )
  })
})
