import { KeyObject, constants, verify } from 'node:crypto'
import type { CryptoKey } from 'jose'

/**
 * How each accepted `alg` is checked with node:crypto: the digest, the key types and curve it
 * needs, and the signature encoding. The keys themselves come from jose's JWKS selection and
 * `importJWK` (which already bound each key to the token's `alg`); this table checks it again
 * before a key is used, so a key of the wrong kind never verifies anything.
 */
interface Scheme {
  readonly hash: string | null
  readonly keyTypes: readonly string[]
  readonly curve?: string
  /** What node:crypto's `verify` needs besides the key (padding, signature encoding). */
  readonly verifyOptions?: {
    readonly padding?: number
    readonly saltLength?: number
    readonly dsaEncoding?: 'ieee-p1363'
  }
  /** JOSE ECDSA signatures are r || s of fixed size (RFC 7518 §3.4), not DER. */
  readonly signatureBytes?: number
}

const pkcs1 = (hash: string): Scheme => ({
  hash,
  keyTypes: ['rsa'],
  verifyOptions: { padding: constants.RSA_PKCS1_PADDING },
})
const pss = (hash: string): Scheme => ({
  hash,
  keyTypes: ['rsa', 'rsa-pss'],
  verifyOptions: {
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  },
})
const ecdsa = (hash: string, curve: string, signatureBytes: number): Scheme => ({
  hash,
  keyTypes: ['ec'],
  curve,
  verifyOptions: { dsaEncoding: 'ieee-p1363' },
  signatureBytes,
})

const SCHEMES: ReadonlyMap<string, Scheme> = new Map([
  ['RS256', pkcs1('sha256')],
  ['RS384', pkcs1('sha384')],
  ['RS512', pkcs1('sha512')],
  ['PS256', pss('sha256')],
  ['PS384', pss('sha384')],
  ['PS512', pss('sha512')],
  ['ES256', ecdsa('sha256', 'prime256v1', 64)],
  ['ES384', ecdsa('sha384', 'secp384r1', 96)],
  ['ES512', ecdsa('sha512', 'secp521r1', 132)],
  // jose imports EdDSA keys on Ed25519 only; an Ed448 key is refused like any other mismatch.
  ['EdDSA', { hash: null, keyTypes: ['ed25519'] }],
  ['Ed25519', { hash: null, keyTypes: ['ed25519'] }],
])

/** Whether `alg` is one this module can verify: the allowlist accepts no other. */
export function isSupportedAlgorithm(alg: string): boolean {
  return SCHEMES.has(alg)
}

/** RSA keys shorter than this are refused, as jose and RFC 7518 §3.3 require. */
const MIN_RSA_BITS = 2048

/** A key of the wrong type, curve or size for the token's `alg`. */
export class KeyMismatchError extends Error {
  override name = 'KeyMismatchError'
}

interface Prepared {
  readonly scheme: Scheme
  readonly options: Parameters<typeof verify>[2]
}

/** Per key and alg: the KeyObject and the verify options, worked out once. */
const prepared = new WeakMap<CryptoKey | KeyObject, Map<string, Prepared>>()

function prepare(key: CryptoKey | KeyObject, alg: string): Prepared {
  let byAlg = prepared.get(key)
  const known = byAlg?.get(alg)
  if (known !== undefined) return known
  const scheme = SCHEMES.get(alg)
  if (scheme === undefined) throw new KeyMismatchError(`the algorithm ${alg} is not supported`)
  const object = key instanceof KeyObject ? key : KeyObject.from(key)
  if (object.type !== 'public') throw new KeyMismatchError(`a ${object.type} key cannot verify`)
  const type = object.asymmetricKeyType ?? ''
  if (!scheme.keyTypes.includes(type))
    throw new KeyMismatchError(`a ${type} key cannot verify ${alg} signatures`)
  const details = object.asymmetricKeyDetails ?? {}
  if (scheme.curve !== undefined && details.namedCurve !== scheme.curve)
    throw new KeyMismatchError(`a key on ${details.namedCurve ?? 'no curve'} cannot verify ${alg}`)
  if (scheme.keyTypes.includes('rsa') && (details.modulusLength ?? 0) < MIN_RSA_BITS)
    throw new KeyMismatchError(`RSA keys must be at least ${MIN_RSA_BITS} bits for ${alg}`)
  const options =
    scheme.verifyOptions === undefined ? object : { key: object, ...scheme.verifyOptions }
  const result = { scheme, options }
  if (byAlg === undefined) {
    byAlg = new Map()
    prepared.set(key, byAlg)
  }
  byAlg.set(alg, result)
  return result
}

/**
 * Checks a JWS signature over `signingInput` (`header.payload`, ASCII) with node:crypto's
 * synchronous verify, which on Node 20-24 costs a fraction of WebCrypto's promise and thread-pool
 * round trip for the same OpenSSL operation. Returns false for any signature that does not
 * verify, including one of the wrong length; throws `KeyMismatchError` when the key cannot be
 * used for `alg` at all.
 */
export function verifySignature(
  alg: string,
  key: CryptoKey | KeyObject,
  signingInput: string,
  signature: string,
): boolean {
  const { scheme, options } = prepare(key, alg)
  const bytes = Buffer.from(signature, 'base64url')
  if (scheme.signatureBytes !== undefined && bytes.length !== scheme.signatureBytes) return false
  try {
    return verify(scheme.hash, Buffer.from(signingInput, 'latin1'), options, bytes)
  } catch {
    // OpenSSL refuses some malformed signatures (e.g. longer than the modulus) by throwing.
    return false
  }
}
