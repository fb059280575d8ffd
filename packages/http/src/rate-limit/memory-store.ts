import {
  checkOptionNames,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
} from '@palisade/errors'
import { consumeFixedWindow, consumeGcra, expiresAt } from './algorithms.js'
import type { KeyState } from './algorithms.js'
import type { RateLimitLogger } from './limiter.js'
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
 * const store = new MemoryStore({ maxKeys: 50_000, sweepIntervalMs: 30_000, logger })
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * How often expired keys are swept, in milliseconds (keys are also expired when touched).
   * @default 60000
   */
  readonly sweepIntervalMs?: number | undefined
  /**
   * Most clients held at once (about 200-260 bytes each, key included). While the store is
   * full, a key it holds keeps its own count until it expires, and every new key shares one
   * overflow count per limit until expired keys make room: flooding the store with new keys
   * never resets another client's count.
   * @default 100000
   */
  readonly maxKeys?: number | undefined
  /**
   * pino-compatible logger for the `PALISADE_RATE_LIMIT_STORE_FULL` warning, logged once when the
   * store first fills up.
   * @default silent
   */
  readonly logger?: RateLimitLogger | undefined
}

const MEMORY_STORE_OPTIONS = Object.keys({
  sweepIntervalMs: true,
  maxKeys: true,
  logger: true,
} satisfies Record<keyof MemoryStoreOptions, true>)

// While full, a new key triggers a sweep for expired keys at most this often, so that a flood
// of new keys costs one pass over the store per second rather than one per request.
const FULL_SWEEP_INTERVAL_MS = 1000

/**
 * An in-process store: fixed window and GCRA through `consume`, and express-rate-limit's
 * `increment` contract with the window given to `init`. Counts are per process
 * (`localKeys: true`), so several instances of a service each enforce their own limit; use
 * {@link RedisStore} to share one limit. It holds at most `maxKeys` clients: when full, new
 * clients are limited together until keys expire (see {@link MemoryStoreOptions.maxKeys}).
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
  /** While full: one shared state per limit, for every key the store could not take in. */
  readonly #overflow = new Map<string, KeyState>()
  readonly #sweepIntervalMs: number
  readonly #maxKeys: number
  readonly #logger: RateLimitLogger
  #windowMs = 60_000
  #timer: NodeJS.Timeout | undefined
  #nextFullSweep = Number.NEGATIVE_INFINITY
  #warnedFull = false

  constructor(options: MemoryStoreOptions = {}) {
    if (!isObject(options)) throw new TypeError('"options" argument must be an object')
    checkOptionNames(options, MEMORY_STORE_OPTIONS, 'new MemoryStore()')
    this.#sweepIntervalMs = integerOption(options.sweepIntervalMs, 'sweepIntervalMs', 60_000, 1)
    this.#maxKeys = integerOption(options.maxKeys, 'maxKeys', 100_000, 1)
    this.#logger = loggerOption<RateLimitLogger>(options.logger, 'logger', silentLogger)
  }

  /** Takes the window used by `increment`. */
  init(options: StoreInitOptions): void {
    this.#windowMs = integerOption(options.windowMs, 'windowMs', 60_000, 1)
  }

  /** Charges `cost` units with the chosen algorithm. */
  consume(key: string, options: ConsumeOptions): ConsumeResult {
    const now = Date.now()
    let map = this.#keys
    let id = key
    let previous = this.#live(map, id, now)
    if (previous === undefined && !this.#hasRoom(now)) {
      // One overflow state per limit: policies with different limits never share a count.
      map = this.#overflow
      id = `${options.algorithm}:${options.limit}:${options.windowMs}`
      previous = this.#live(map, id, now)
    }
    const { state, result } =
      options.algorithm === 'gcra'
        ? consumeGcra(previous, now, options)
        : consumeFixedWindow(previous, now, options)
    if (state !== undefined) map.set(id, state)
    this.#schedule()
    return result
  }

  /** express-rate-limit contract: counts one hit in the window given to `init`. */
  increment(key: string): ClientRateLimitInfo {
    const now = Date.now()
    let map = this.#keys
    let id = key
    let state = this.#live(map, id, now)
    if (state === undefined && !this.#hasRoom(now)) {
      map = this.#overflow
      id = 'increment'
      state = this.#live(map, id, now)
    }
    if (state?.kind !== 'window') {
      state = { kind: 'window', hits: 0, resetAt: now + this.#windowMs }
      map.set(id, state)
    }
    state.hits += 1
    this.#schedule()
    return { totalHits: state.hits, resetTime: new Date(state.resetAt) }
  }

  /** express-rate-limit contract: reads a client's count. */
  get(key: string): ClientRateLimitInfo | undefined {
    const state = this.#live(this.#keys, key, Date.now())
    if (state?.kind !== 'window') return undefined
    return { totalHits: state.hits, resetTime: new Date(state.resetAt) }
  }

  /** express-rate-limit contract: takes one hit back. */
  decrement(key: string): void {
    const state = this.#live(this.#keys, key, Date.now())
    if (state?.kind === 'window' && state.hits > 0) state.hits -= 1
  }

  /** Forgets one client. */
  resetKey(key: string): void {
    this.#keys.delete(key)
  }

  /** Forgets every client. */
  resetAll(): void {
    this.#keys.clear()
    this.#overflow.clear()
  }

  /** Stops the sweep timer and forgets every client. */
  shutdown(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.resetAll()
  }

  /**
   * Whether a key the store does not hold can get an entry of its own. When full, expired keys
   * are swept (at most once per FULL_SWEEP_INTERVAL_MS); if none expired, the key's requests go
   * to the overflow state instead. Keys held are never evicted, so no client can reset another's
   * count by flooding the store with new keys.
   */
  #hasRoom(now: number): boolean {
    if (this.#keys.size < this.#maxKeys) return true
    if (now >= this.#nextFullSweep) {
      this.#nextFullSweep = now + FULL_SWEEP_INTERVAL_MS
      this.#sweep(now)
      if (this.#keys.size < this.#maxKeys) return true
    }
    if (!this.#warnedFull) {
      this.#warnedFull = true
      this.#logger.warn(
        { code: 'PALISADE_RATE_LIMIT_STORE_FULL' },
        `MemoryStore holds "maxKeys" (${this.#maxKeys}) clients: until some expire, new clients share one limit; raise "maxKeys" or use RedisStore`,
      )
    }
    return false
  }

  #live(map: Map<string, KeyState>, key: string, now: number): KeyState | undefined {
    const state = map.get(key)
    if (state !== undefined && expiresAt(state) <= now) {
      map.delete(key)
      return undefined
    }
    return state
  }

  #sweep(now: number): void {
    for (const map of [this.#keys, this.#overflow]) {
      for (const [key, state] of map) if (expiresAt(state) <= now) map.delete(key)
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => {
      this.#sweep(Date.now())
      if (this.#keys.size === 0 && this.#overflow.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer)
        this.#timer = undefined
      }
    }, this.#sweepIntervalMs)
    this.#timer.unref()
  }
}
