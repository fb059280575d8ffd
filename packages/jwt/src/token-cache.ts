import { createHash } from 'node:crypto'

interface Entry<V> {
  readonly value: V
  readonly until: number
}

/**
 * Verified tokens by SHA-256 of the token, least recently used first out. An entry ends at the
 * token's `exp` or when the key set stops being trusted, whichever is first; `clear()` runs
 * whenever the key set changes. What a hit may skip is the verifier's decision, not this map's.
 */
export class TokenCache<V> {
  readonly #max: number
  readonly #entries = new Map<string, Entry<V>>()

  constructor(max: number) {
    this.#max = max
  }

  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url')
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (now >= entry.until) return undefined
    this.#entries.set(key, entry)
    return entry.value
  }

  set(key: string, value: V, until: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { value, until })
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
  }

  clear(): void {
    this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }
}
