import { generateKeyPairSync } from 'node:crypto'
import { CompactSign, exportJWK, generateKeyPair, importJWK } from 'jose'
import type { CryptoKey } from 'jose'
import { describe, expect, it } from 'vitest'
import { KeyMismatchError, verifySignature } from '../src/signature.js'
import { ALL_ALGORITHMS } from './helpers.js'

/** Signs with jose, then imports the public key as the JWKS cache does (`importJWK` per alg). */
async function signed(alg: string, options: { crv?: string; modulusLength?: number } = {}) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...options })
  const jws = await new CompactSign(new TextEncoder().encode('{"sub":"user-1"}'))
    .setProtectedHeader({ alg })
    .sign(privateKey)
  const [head, body, signature] = jws.split('.') as [string, string, string]
  const key = (await importJWK(await exportJWK(publicKey), alg)) as CryptoKey
  return { key, input: `${head}.${body}`, signature }
}

const flip = (signature: string, index: number) => {
  const bytes = Buffer.from(signature, 'base64url')
  bytes[index] = bytes[index]! ^ 0x80
  return bytes.toString('base64url')
}

describe('verifySignature (node:crypto over keys jose imported)', () => {
  it.each(ALL_ALGORITHMS)(
    'verifies a jose %s signature and refuses it bit-flipped or over other bytes',
    async (alg) => {
      const { key, input, signature } = await signed(alg)
      expect(verifySignature(alg, key, input, signature)).toBe(true)
      // Twice: the second call takes the prepared key.
      expect(verifySignature(alg, key, input, signature)).toBe(true)
      expect(verifySignature(alg, key, input, flip(signature, 5))).toBe(false)
      expect(verifySignature(alg, key, `${input}x`, signature)).toBe(false)
      expect(verifySignature(alg, key, input, '')).toBe(false)
    },
  )

  it('refuses an Ed448 key for EdDSA, as jose does', async () => {
    const { input, signature } = await signed('EdDSA')
    const ed448 = generateKeyPairSync('ed448').publicKey
    expect(() => verifySignature('EdDSA', ed448, input, signature)).toThrow(
      /ed448 key cannot verify EdDSA/,
    )
  })

  it('refuses ECDSA signatures of the wrong length, DER-encoded ones and all zeros', async () => {
    const { key, input, signature } = await signed('ES256')
    const raw = Buffer.from(signature, 'base64url')
    expect(verifySignature('ES256', key, input, raw.subarray(0, 63).toString('base64url'))).toBe(
      false,
    )
    expect(
      verifySignature('ES256', key, input, Buffer.concat([raw, raw]).toString('base64url')),
    ).toBe(false)
    expect(verifySignature('ES256', key, input, Buffer.alloc(64).toString('base64url'))).toBe(false)
    const r = raw.subarray(0, 32)
    const s = raw.subarray(32)
    const der = Buffer.concat([
      Buffer.from([0x30, 68, 0x02, 32]),
      r,
      Buffer.from([0x02, 32]),
      s,
    ]).toString('base64url')
    expect(verifySignature('ES256', key, input, der)).toBe(false)
  })

  it('refuses an RSA signature longer than the modulus without throwing', async () => {
    const { key, input } = await signed('RS256')
    expect(verifySignature('RS256', key, input, Buffer.alloc(512, 1).toString('base64url'))).toBe(
      false,
    )
  })

  it('throws KeyMismatchError for a key of another type, curve or size than the alg needs', async () => {
    const ec = await signed('ES256')
    const rsa = await signed('RS256')
    const ed = await signed('EdDSA')
    expect(() => verifySignature('RS256', ec.key, ec.input, ec.signature)).toThrow(KeyMismatchError)
    expect(() => verifySignature('ES384', ec.key, ec.input, ec.signature)).toThrow(
      /prime256v1 cannot verify ES384/,
    )
    expect(() => verifySignature('ES256', rsa.key, rsa.input, rsa.signature)).toThrow(
      /rsa key cannot verify ES256/,
    )
    expect(() => verifySignature('Ed25519', rsa.key, rsa.input, rsa.signature)).toThrow(
      KeyMismatchError,
    )
    expect(() => verifySignature('HS256', ed.key, ed.input, ed.signature)).toThrow(
      /HS256 is not supported/,
    )
    // jose refuses to import an RSA key under 2048 bits; a KeyObject from elsewhere is checked too.
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey
    expect(() => verifySignature('RS256', small, rsa.input, rsa.signature)).toThrow(
      /at least 2048 bits/,
    )
    const secret = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    expect(() => verifySignature('ES256', secret, ec.input, ec.signature)).toThrow(
      /a private key cannot verify/,
    )
  })
})
