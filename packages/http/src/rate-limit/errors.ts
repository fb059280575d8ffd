import { PalisadeError } from '@palisade/errors'

/**
 * Every `code` a {@link RateLimitError} can carry.
 *
 * @example
 * ```ts
 * if (error instanceof RateLimitError && error.code === 'PALISADE_RATE_LIMIT_STORE_TIMEOUT') retryLater()
 * ```
 */
export type RateLimitErrorCode =
  | 'PALISADE_RATE_LIMIT_STORE_FAILED'
  | 'PALISADE_RATE_LIMIT_STORE_TIMEOUT'
  | 'PALISADE_RATE_LIMIT_STORE_INVALID_RESPONSE'
  | 'PALISADE_RATE_LIMIT_CIRCUIT_OPEN'

/**
 * Coded warnings a limiter logs once through its logger (each can be switched off with the
 * `validate` option), plus the store-failure notices logged once per interval.
 *
 * @example
 * ```ts
 * const code: RateLimitWarningCode = 'PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY'
 * ```
 */
export type RateLimitWarningCode =
  | 'PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY'
  | 'PALISADE_RATE_LIMIT_UNEXPECTED_X_FORWARDED_FOR'
  | 'PALISADE_RATE_LIMIT_FORWARDED_HEADER'
  | 'PALISADE_RATE_LIMIT_STORE_REUSE'
  | 'PALISADE_RATE_LIMIT_INVALID_IP'
  | 'PALISADE_RATE_LIMIT_INVALID_COST'
  | 'PALISADE_RATE_LIMIT_DOUBLE_COUNT'
  | 'PALISADE_RATE_LIMIT_STORE_INIT_FAILED'
  | 'PALISADE_RATE_LIMIT_STORE_UNAVAILABLE'
  | 'PALISADE_RATE_LIMIT_STORE_FULL'

/**
 * A store call that failed, timed out, answered nonsense, or was not attempted because the
 * circuit breaker is open. A limiter never lets it reach the client: it applies its
 * `onStoreError` mode and logs the error (with the store's own error as `cause`).
 *
 * @example
 * ```ts
 * import { RateLimitError } from '@palisade/http'
 *
 * const error = new RateLimitError('PALISADE_RATE_LIMIT_STORE_TIMEOUT', 'store call exceeded "storeTimeoutMs" (250 ms)')
 * console.log(error.code)
 * ```
 */
export class RateLimitError extends PalisadeError<RateLimitErrorCode> {}
