import { webcrypto } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import { DevIssuerError } from './errors.js'
import type { DevIssuerAlgorithm } from './options.js'

/**
 * A public signing key as the JWKS endpoint serves it.
 *
 * @example
 * ```ts
 * const [first] = issuer.publicJwks().keys
 * console.log(first?.kid, first?.alg, first?.kty) // '3q2x...', 'RS256', 'RSA'
 * ```
 */
export interface PublicJwk {
  /** `RSA` for RS256 and PS256, `EC` for ES256, `OKP` for EdDSA (Ed25519). */
  kty: string
  /** The RFC 7638 thumbprint of the key. */
  kid: string
  use: 'sig'
  alg: DevIssuerAlgorithm
  /** RSA modulus. */
  n?: string
  /** RSA exponent. */
  e?: string
  /** `P-256` or `Ed25519`. */
  crv?: string
  x?: string
  y?: string
}

interface KeyEntry {
  readonly kid: string
  readonly alg: DevIssuerAlgorithm
  readonly privateKey: webcrypto.CryptoKey
  readonly jwk: PublicJwk
}

// WebCrypto parameters that produce JWS signatures: ECDSA yields r || s, as JWS wants.
const signParams: Record<DevIssuerAlgorithm, webcrypto.AlgorithmIdentifier | object> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  PS256: { name: 'RSA-PSS', saltLength: 32 },
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  EdDSA: { name: 'Ed25519' },
}

/** The published keys, in the order they were created, and the signing key of each algorithm. */
export class KeyRing {
  readonly #keys: KeyEntry[] = []
  readonly #signing = new Map<DevIssuerAlgorithm, KeyEntry>()

  /** Creates a key for `alg`, publishes it and makes it the signing key of `alg`. */
  async add(alg: DevIssuerAlgorithm): Promise<string> {
    return this.#publish(await createKey(alg))
  }

  /** Like `add()` for each algorithm, creating the keys in parallel but publishing them in order. */
  async addAll(algorithms: readonly DevIssuerAlgorithm[]): Promise<void> {
    for (const entry of await Promise.all(algorithms.map(createKey))) this.#publish(entry)
  }

  #publish(entry: KeyEntry): string {
    this.#keys.push(entry)
    this.#signing.set(entry.alg, entry)
    return entry.kid
  }

  retire(kid: string): void {
    const index = this.#keys.findIndex((key) => key.kid === kid)
    const entry = this.#keys[index]
    if (entry === undefined) {
      throw new DevIssuerError(
        'PALISADE_TESTING_UNKNOWN_KEY',
        `retire() was given kid "${kid}", which is not published (already retired or never created)`,
        { kid },
      )
    }
    this.#keys.splice(index, 1)
    if (this.#signing.get(entry.alg) === entry) {
      // Fall back to the newest key of the same algorithm that is still published, if any.
      const previous = this.#keys.findLast((key) => key.alg === entry.alg)
      if (previous === undefined) this.#signing.delete(entry.alg)
      else this.#signing.set(entry.alg, previous)
    }
  }

  /** Signs a compact JWS with the signing key of `alg`; `header` is merged over alg, kid and typ. */
  async sign(
    alg: DevIssuerAlgorithm,
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
  ): Promise<string> {
    const key = this.#signing.get(alg)
    if (key === undefined) {
      throw new DevIssuerError(
        'PALISADE_TESTING_NO_SIGNING_KEY',
        `no published key for "${alg}": list it in the "algorithms" option or call rotate('${alg}')`,
        { alg },
      )
    }
    const input = `${base64url({ alg, kid: key.kid, ...header })}.${base64url(payload)}`
    const signature = await webcrypto.subtle.sign(
      signParams[alg] as webcrypto.AlgorithmIdentifier,
      key.privateKey,
      Buffer.from(input),
    )
    return `${input}.${Buffer.from(signature).toString('base64url')}`
  }

  /** Copies, so that callers cannot change what the endpoint serves. */
  publicJwks(): { keys: PublicJwk[] } {
    return { keys: this.#keys.map((key) => ({ ...key.jwk })) }
  }

  /** Algorithms that have a published key, in the order their first key was created. */
  algorithms(): DevIssuerAlgorithm[] {
    return [...new Set(this.#keys.map((key) => key.alg))]
  }
}

async function createKey(alg: DevIssuerAlgorithm): Promise<KeyEntry> {
  const { privateKey, publicKey } = await generateKeyPair(alg)
  const exported = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(exported)
  const { kty, n, e, crv, x, y } = exported
  const jwk: PublicJwk = { kty: kty ?? '', kid, use: 'sig', alg }
  for (const [name, value] of Object.entries({ n, e, crv, x, y })) {
    if (value !== undefined) Object.assign(jwk, { [name]: value })
  }
  return { kid, alg, privateKey, jwk }
}

function base64url(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
