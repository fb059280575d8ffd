import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DevIssuerError, startDevIssuer } from '../src/index.js'
import type { DevIssuer } from '../src/index.js'

let issuer: DevIssuer
beforeEach(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256', 'EdDSA'] })
})
afterEach(async () => {
  await issuer.close()
})

async function servedKids(): Promise<string[]> {
  const response = await fetch(issuer.jwksUri)
  const { keys } = (await response.json()) as { keys: { kid: string }[] }
  return keys.map((key) => key.kid)
}

function kidOf(token: string): string | undefined {
  return decodeProtectedHeader(token).kid
}

/** A fresh remote JWKS per call, so no cache hides what the endpoint serves. */
function verifyRemote(token: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), { issuer: issuer.issuer })
}

describe('rotate()', () => {
  it('publishes a new key for the first algorithm next to the old one and signs with it', async () => {
    const oldToken = await issuer.mint()
    const oldKid = kidOf(oldToken)!
    const newKid = await issuer.rotate()
    expect(newKid).not.toBe(oldKid)
    expect(await servedKids()).toEqual([oldKid, expect.any(String), newKid])
    const keys = issuer.publicJwks().keys
    expect(keys.find((key) => key.kid === newKid)?.alg).toBe('ES256')

    const newToken = await issuer.mint()
    expect(kidOf(newToken)).toBe(newKid)
    await expect(verifyRemote(oldToken)).resolves.toBeDefined()
    await expect(verifyRemote(newToken)).resolves.toBeDefined()
  })

  it('rotates the named algorithm only', async () => {
    const esKid = kidOf(await issuer.mint({ alg: 'ES256' }))
    const edKid = await issuer.rotate('EdDSA')
    expect(kidOf(await issuer.mint({ alg: 'EdDSA' }))).toBe(edKid)
    expect(kidOf(await issuer.mint({ alg: 'ES256' }))).toBe(esKid)
  })

  it('adds a key for an algorithm that had none, and lists it in discovery', async () => {
    await expect(issuer.mint({ alg: 'PS256' })).rejects.toThrow(DevIssuerError)
    const kid = await issuer.rotate('PS256')
    const token = await issuer.mint({ alg: 'PS256' })
    expect(kidOf(token)).toBe(kid)
    await expect(verifyRemote(token)).resolves.toBeDefined()
    const response = await fetch(issuer.discoveryUrl)
    const discovery = (await response.json()) as { id_token_signing_alg_values_supported: string[] }
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['ES256', 'EdDSA', 'PS256'])
  })

  it('refuses an unsupported algorithm with a TypeError', async () => {
    // @ts-expect-error -- invalid on purpose
    await expect(issuer.rotate('HS256')).rejects.toThrow(
      '"alg" argument of rotate() must be one of RS256, PS256, ES256, EdDSA',
    )
  })
})

describe('retire()', () => {
  it('stops publishing the key, so tokens signed with it no longer verify', async () => {
    const oldToken = await issuer.mint()
    const oldKid = kidOf(oldToken)!
    const newKid = await issuer.rotate()
    issuer.retire(oldKid)
    const kids = await servedKids()
    expect(kids).not.toContain(oldKid)
    expect(kids).toContain(newKid)
    await expect(verifyRemote(oldToken)).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    })
    await expect(verifyRemote(await issuer.mint())).resolves.toBeDefined()
  })

  it('falls back to the previous key when the signing key is retired', async () => {
    const first = kidOf(await issuer.mint())!
    const second = await issuer.rotate()
    issuer.retire(second)
    const token = await issuer.mint()
    expect(kidOf(token)).toBe(first)
    await expect(
      jwtVerify(token, createLocalJWKSet(issuer.publicJwks()), { issuer: issuer.issuer }),
    ).resolves.toBeDefined()
  })

  it('leaves an algorithm without a signing key when its last key is retired', async () => {
    const edKid = kidOf(await issuer.mint({ alg: 'EdDSA' }))!
    issuer.retire(edKid)
    await expect(issuer.mint({ alg: 'EdDSA' })).rejects.toMatchObject({
      code: 'PALISADE_TESTING_NO_SIGNING_KEY',
    })
    expect(issuer.publicJwks().keys.map((key) => key.alg)).toEqual(['ES256'])
  })

  it.each([
    ['an unknown kid', () => 'no-such-kid'],
    ['a kid retired before', () => ''],
  ])('refuses %s with PALISADE_TESTING_UNKNOWN_KEY', async (_label, pick) => {
    let kid = pick()
    if (kid === '') {
      kid = kidOf(await issuer.mint())!
      issuer.retire(kid)
    }
    let caught: unknown
    try {
      issuer.retire(kid)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(DevIssuerError)
    expect((caught as DevIssuerError).code).toBe('PALISADE_TESTING_UNKNOWN_KEY')
    expect((caught as DevIssuerError).kid).toBe(kid)
    expect((caught as DevIssuerError).message).toContain(kid)
  })
})
