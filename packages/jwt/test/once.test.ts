import { describe, expect, it } from 'vitest'
import { JwtError, createVerifier, oncePerRequest } from '../src/index.js'
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

  it('refuses a repeated Authorization header on a later call that passes rawHeaders', async () => {
    const { authenticator, calls } = counting(() => Promise.resolve(info('alice')))
    const shared = oncePerRequest(authenticator)
    // What Node gives for `Authorization: Bearer a` then `Authorization: Bearer b`.
    const headers = { authorization: 'Bearer a' }
    const rawHeaders = ['Authorization', 'Bearer a', 'authorization', 'Bearer b']
    // A rate limiter's key function that passed the headers alone was answered...
    await expect(shared.authenticate({ headers })).resolves.toMatchObject({ subject: 'alice' })
    // ...but the authentication that passes rawHeaders is refused, not served from it.
    const refusal = await shared.authenticate({ headers, rawHeaders }).catch((e: unknown) => e)
    expect(refusal).toBeInstanceOf(JwtError)
    expect((refusal as JwtError).code).toBe('PALISADE_JWT_INVALID_REQUEST')
    expect((refusal as JwtError).status).toBe(400)
    expect(calls).toHaveLength(1)
  })

  it('refuses something that is not an authenticator', () => {
    expect(() => oncePerRequest({} as Authenticator)).toThrow(
      /oncePerRequest\(\) takes an authenticator/,
    )
  })
})

describe('a verifier given rawHeaders', () => {
  it('refuses an Authorization header sent twice, whichever copy Node kept', async () => {
    const verifier = createVerifier({
      issuer: 'https://id.example.com',
      audience: 'api',
      jwksUrl: 'https://id.example.com/jwks',
    })
    for (const rawHeaders of [
      ['Authorization', 'Bearer a.b.c', 'Authorization', 'Bearer d.e.f'],
      ['AUTHORIZATION', 'Bearer a.b.c', 'Host', 'x', 'authorization', 'Basic dXNlcg=='],
    ]) {
      const refusal = await verifier
        .authenticate({ headers: { authorization: rawHeaders[1] }, rawHeaders })
        .catch((e: unknown) => e)
      expect((refusal as JwtError).code).toBe('PALISADE_JWT_INVALID_REQUEST')
      expect((refusal as JwtError).detail).toBe('the Authorization header is sent more than once')
    }
    // One header in rawHeaders is not a repeat.
    const single = await verifier
      .authenticate({ headers: {}, rawHeaders: ['Host', 'x', 'Accept', '*/*'] })
      .catch((e: unknown) => e)
    expect((single as JwtError).code).toBe('PALISADE_JWT_MISSING')
  })
})
