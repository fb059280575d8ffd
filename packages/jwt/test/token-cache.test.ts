import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { DevIssuer } from '@palisade/testing'
import { startDevIssuer } from '@palisade/testing'
import type { VerifierOptions } from '../src/index.js'
import { createVerifier } from '../src/index.js'
import { rejection } from './helpers.js'

// A cached token skips its signature verification and nothing else: every check that depends
// on time, on checkClaims or on the key set being current runs on every hit. Time is moved with
// a fake Date (timers stay real, so HTTP to the dev issuer works as usual).

const open: DevIssuer[] = []
let now = Date.parse('2030-01-01T00:00:00Z')
const epoch = () => Math.floor(now / 1000)
const advance = (seconds: number) => {
  now += seconds * 1000
  vi.setSystemTime(now)
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(now)
})
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(open.splice(0).map((issuer) => issuer.close()))
})

async function setup(options: Partial<VerifierOptions> = {}, jwksMaxAgeSeconds = 300) {
  const issuer = await startDevIssuer({ jwksMaxAgeSeconds })
  open.push(issuer)
  const verifier = createVerifier({
    issuer: issuer.issuer,
    audience: 'api',
    allowInsecureHttp: true,
    tokenCache: { max: 100 },
    ...options,
  })
  return { issuer, verifier }
}

describe('a token cache hit', () => {
  it('is the same verified result while every check still passes', async () => {
    const { issuer, verifier } = await setup()
    const token = await issuer.mint()
    const first = await verifier.verify(token)
    advance(30)
    expect(await verifier.verify(token)).toBe(first)
  })

  it('is refused once the token is older than maxTokenAge', async () => {
    const { issuer, verifier } = await setup({ maxTokenAge: 60 })
    const token = await issuer.mint({ issuedAt: epoch() - 50, expiresIn: 600 })
    expect((await verifier.verify(token)).subject).toBe('user-1')
    advance(30)
    expect((await rejection(() => verifier.verify(token))).code).toBe('PALISADE_JWT_TOO_OLD')
  })

  it('is refused once checkClaims refuses the token (a revocation list)', async () => {
    const revoked = new Set<unknown>()
    const { issuer, verifier } = await setup({
      checkClaims: (claims) => (revoked.has(claims.jti) ? 'the token was revoked' : undefined),
    })
    const token = await issuer.mint()
    const { claims } = await verifier.verify(token)
    revoked.add(claims.jti)
    const error = await rejection(() => verifier.verify(token))
    expect(error.code).toBe('PALISADE_JWT_CLAIM_INVALID')
    expect(error.detail).toContain('the token was revoked')
  })

  it('is refused when the clock is before nbf, beyond the clock tolerance', async () => {
    const { issuer, verifier } = await setup({ clockTolerance: 5 })
    const token = await issuer.mint({ notBefore: 0 })
    await verifier.verify(token)
    advance(-3)
    expect(await verifier.verify(token)).toBeDefined()
    advance(-10)
    expect((await rejection(() => verifier.verify(token))).code).toBe('PALISADE_JWT_NOT_YET_VALID')
  })

  it('honours exp with the clock tolerance, as a full verification does', async () => {
    const { issuer, verifier } = await setup({ clockTolerance: 5 })
    const token = await issuer.mint({ expiresIn: 60 })
    await verifier.verify(token)
    advance(62)
    expect(await verifier.verify(token)).toBeDefined()
    advance(5)
    expect((await rejection(() => verifier.verify(token))).code).toBe('PALISADE_JWT_EXPIRED')
  })

  it('starts the JWKS refresh that is due, and is refused once the refresh shows its key is gone', async () => {
    const { issuer, verifier } = await setup({}, 60)
    const token = await issuer.mint({ expiresIn: 3600 })
    const kid = (await verifier.verify(token)).header.kid!
    await issuer.rotate()
    issuer.retire(kid)
    issuer.resetCounters()
    // Past the key set's freshness, within its stale limit: a key lookup now would still answer
    // from the cached set and refresh it in the background. A cache hit does the same.
    advance(61)
    expect((await verifier.verify(token)).subject).toBe('user-1')
    await vi.waitFor(
      () => {
        expect(issuer.requests.jwks).toBe(1)
      },
      { timeout: 3000 },
    )
    await verifier.ready()
    expect((await rejection(() => verifier.verify(token))).code).toBe('PALISADE_JWT_UNKNOWN_KEY')
    // a token from the new key is unaffected
    expect(await verifier.verify(await issuer.mint())).toBeDefined()
  })

  it('is refused after a refresh that another token started drops its key', async () => {
    const { issuer, verifier } = await setup({ jwks: { cooldownMs: 1000 } })
    const token = await issuer.mint({ expiresIn: 3600 })
    const kid = (await verifier.verify(token)).header.kid!
    await issuer.rotate()
    issuer.retire(kid)
    advance(2)
    // an unknown kid refetches the key set
    expect(await verifier.verify(await issuer.mint())).toBeDefined()
    expect((await rejection(() => verifier.verify(token))).code).toBe('PALISADE_JWT_UNKNOWN_KEY')
  })
})
