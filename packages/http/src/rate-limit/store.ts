// The Store contract is express-rate-limit's `Store` type, declared structurally so that this
// package has no runtime dependency on express-rate-limit while its stores (and every store
// written for it) plug in unchanged. `consume` is Palisade's optional extension.

/**
 * A client's hit count and the end of its window, as express-rate-limit stores return it.
 *
 * @example
 * ```ts
 * const info: ClientRateLimitInfo = await store.increment('default:ip:192.0.2.7')
 * ```
 */
export interface ClientRateLimitInfo {
  /** Hits counted in the current window, this one included. */
  totalHits: number
  /** When the window ends; `undefined` when the store does not know. */
  resetTime: Date | undefined
}

/**
 * What `init` receives: the limiter's window (the only field stores are known to read).
 *
 * @example
 * ```ts
 * store.init?.({ windowMs: 60_000 } satisfies StoreInitOptions)
 * ```
 */
export interface StoreInitOptions {
  /** Window length in milliseconds. */
  readonly windowMs: number
}

/**
 * Algorithms of the `consume` extension.
 *
 * @example
 * ```ts
 * const algorithm: RateLimitAlgorithm = 'gcra'
 * ```
 */
export type RateLimitAlgorithm = 'fixed-window' | 'gcra'

/**
 * Arguments of the `consume` extension.
 *
 * @example
 * ```ts
 * await store.consume?.('burst:ip:192.0.2.7', { cost: 1, limit: 100, windowMs: 60_000, algorithm: 'gcra' })
 * ```
 */
export interface ConsumeOptions {
  /** Units this request costs (0 only reads the state). */
  readonly cost: number
  /** Units allowed per window. */
  readonly limit: number
  /** Window length in milliseconds. */
  readonly windowMs: number
  /** `fixed-window` counts per window; `gcra` refills continuously (burst = limit). */
  readonly algorithm: RateLimitAlgorithm
}

/**
 * Result of the `consume` extension. A denied request is not charged.
 *
 * @example
 * ```ts
 * const { allowed, remaining, retryAfterMs } = await new MemoryStore().consume('k', { cost: 1, limit: 5, windowMs: 1000, algorithm: 'fixed-window' })
 * ```
 */
export interface ConsumeResult {
  /** Whether the request fits in the quota. */
  readonly allowed: boolean
  /** Units left after this request. */
  readonly remaining: number
  /** Milliseconds until the quota is fully available again. */
  readonly resetMs: number
  /** When denied: milliseconds until a request of this cost would be allowed; otherwise 0. */
  readonly retryAfterMs: number
}

/**
 * The rate-limit store contract: express-rate-limit's `Store` interface, plus the optional
 * `consume` extension for request costs and the GCRA algorithm. Any express-rate-limit store
 * (rate-limit-redis, rate-limit-postgresql, ...) is a `RateLimitStore`; a store without
 * `consume` is driven through `increment`, and then every request costs 1.
 *
 * @example
 * ```ts
 * import type { RateLimitStore } from '@palisade/http'
 *
 * const hits = new Map<string, number>()
 * const store: RateLimitStore = {
 *   localKeys: true,
 *   increment: (key) => {
 *     const totalHits = (hits.get(key) ?? 0) + 1
 *     hits.set(key, totalHits)
 *     return { totalHits, resetTime: undefined }
 *   },
 *   decrement: (key) => void hits.set(key, Math.max(0, (hits.get(key) ?? 0) - 1)),
 *   resetKey: (key) => void hits.delete(key),
 * }
 * ```
 */
export interface RateLimitStore {
  /** Called once by the limiter with its window; a rejection is logged, never thrown. */
  init?(options: StoreInitOptions): void | Promise<void>
  /** Reads a client's hit count. */
  get?: (key: string) => Promise<ClientRateLimitInfo | undefined> | ClientRateLimitInfo | undefined
  /** Counts one hit for a client. */
  increment: (key: string) => Promise<ClientRateLimitInfo> | ClientRateLimitInfo
  /** Takes one hit back. */
  decrement: (key: string) => Promise<void> | void
  /** Forgets a client. */
  resetKey: (key: string) => Promise<void> | void
  /** Forgets every client. */
  resetAll?: () => Promise<void> | void
  /** Stops timers and releases resources. */
  shutdown?: () => Promise<void> | void
  /** `true` when counts live in this process only (memory stores). */
  localKeys?: boolean
  /** Text the store puts before every key. */
  prefix?: string
  /**
   * Palisade extension: charges `cost` units against `limit` per `windowMs` with the given
   * algorithm, atomically, and answers whether the request is allowed.
   */
  consume?: (key: string, options: ConsumeOptions) => Promise<ConsumeResult> | ConsumeResult
}
