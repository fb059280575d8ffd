import { createHash } from 'node:crypto'
import type { AuthInfo } from './types.js'

interface Entry {
  readonly auth: AuthInfo
  readonly until: number
}

/**
 * Verified tokens by SHA-256 of the token, least recently used first out. An entry ends at the
 * token's `exp` or when the key set stops being trusted, whichever is first; `clear()` runs
 * whenever the key set changes.
 */
export class TokenCache {
  readonly #max: number
  readonly #entries = new Map<string, Entry>()

  constructor(max: number) {
    this.#max = max
  }

  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url')
  }

  get(key: string, now: number): AuthInfo | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (now >= entry.until) return undefined
    this.#entries.set(key, entry)
    return entry.auth
  }

  set(key: string, auth: AuthInfo, until: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { auth, until })
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
