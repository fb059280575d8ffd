import { integerOption, isObject } from '@palisade/errors'
import { consumeFixedWindow, consumeGcra, expiresAt } from './algorithms.js'
import type { KeyState } from './algorithms.js'
import type {
  ClientRateLimitInfo,
  ConsumeOptions,
  ConsumeResult,
  RateLimitStore,
  StoreInitOptions,
} from './store.js'

/**
 * Options of {@link MemoryStore}.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ sweepIntervalMs: 30_000 })
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * How often expired keys are swept, in milliseconds (keys are also expired when touched).
   * @default 60000
   */
  readonly sweepIntervalMs?: number | undefined
}

/**
 * An in-process store: fixed window and GCRA through `consume`, and express-rate-limit's
 * `increment` contract with the window given to `init`. Counts are per process
 * (`localKeys: true`), so several instances of a service each enforce their own limit; use
 * {@link RedisStore} to share one limit.
 *
 * @example
 * ```ts
 * import { MemoryStore, createRateLimiter } from '@palisade/http'
 *
 * const limiter = createRateLimiter({ limit: 100, windowMs: 60_000, store: new MemoryStore() })
 * ```
 */
export class MemoryStore implements RateLimitStore {
  /** Counts are local to this process. */
  readonly localKeys = true
  readonly #keys = new Map<string, KeyState>()
  readonly #sweepIntervalMs: number
  #windowMs = 60_000
  #timer: NodeJS.Timeout | undefined

  constructor(options: MemoryStoreOptions = {}) {
    if (!isObject(options)) throw new TypeError('"options" argument must be an object')
    this.#sweepIntervalMs = integerOption(options.sweepIntervalMs, 'sweepIntervalMs', 60_000, 1)
  }

  /** Takes the window used by `increment`. */
  init(options: StoreInitOptions): void {
    this.#windowMs = integerOption(options.windowMs, 'windowMs', 60_000, 1)
  }

  /** Charges `cost` units with the chosen algorithm. */
  consume(key: string, options: ConsumeOptions): ConsumeResult {
    const now = Date.now()
    const previous = this.#live(key, now)
    const { state, result } =
      options.algorithm === 'gcra'
        ? consumeGcra(previous, now, options)
        : consumeFixedWindow(previous, now, options)
    if (state !== undefined) this.#keys.set(key, state)
    this.#schedule()
    return result
  }

  /** express-rate-limit contract: counts one hit in the window given to `init`. */
  increment(key: string): ClientRateLimitInfo {
    const now = Date.now()
    let state = this.#live(key, now)
    if (state?.kind !== 'window') {
      state = { kind: 'window', hits: 0, resetAt: now + this.#windowMs }
      this.#keys.set(key, state)
    }
    state.hits += 1
    this.#schedule()
    return { totalHits: state.hits, resetTime: new Date(state.resetAt) }
  }

  /** express-rate-limit contract: reads a client's count. */
  get(key: string): ClientRateLimitInfo | undefined {
    const state = this.#live(key, Date.now())
    if (state?.kind !== 'window') return undefined
    return { totalHits: state.hits, resetTime: new Date(state.resetAt) }
  }

  /** express-rate-limit contract: takes one hit back. */
  decrement(key: string): void {
    const state = this.#live(key, Date.now())
    if (state?.kind === 'window' && state.hits > 0) state.hits -= 1
  }

  /** Forgets one client. */
  resetKey(key: string): void {
    this.#keys.delete(key)
  }

  /** Forgets every client. */
  resetAll(): void {
    this.#keys.clear()
  }

  /** Stops the sweep timer and forgets every client. */
  shutdown(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.#keys.clear()
  }

  #live(key: string, now: number): KeyState | undefined {
    const state = this.#keys.get(key)
    if (state !== undefined && expiresAt(state) <= now) {
      this.#keys.delete(key)
      return undefined
    }
    return state
  }

  #schedule(): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => {
      const now = Date.now()
      for (const [key, state] of this.#keys) if (expiresAt(state) <= now) this.#keys.delete(key)
      if (this.#keys.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer)
        this.#timer = undefined
      }
    }, this.#sweepIntervalMs)
    this.#timer.unref()
  }
}
