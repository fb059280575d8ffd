import type { HeadersErrorCode } from './headers/errors.js'
import type { RateLimitErrorCode } from './rate-limit/errors.js'

/**
 * Every `code` an error of `@palisade/http` can carry: one closed union, so that
 * `switch (error.code)` narrows across both halves of the package.
 *
 * @example
 * ```ts
 * import { isPalisadeError } from '@palisade/errors'
 * import type { HttpErrorCode } from '@palisade/http'
 *
 * function describe(error: unknown): string {
 *   if (!isPalisadeError(error)) return 'unexpected'
 *   switch (error.code as HttpErrorCode) {
 *     case 'PALISADE_RATE_LIMIT_STORE_TIMEOUT':
 *       return 'rate-limit store too slow'
 *     case 'PALISADE_HTTP_REPORT_TOO_LARGE':
 *       return 'CSP report too large'
 *     default:
 *       return 'other'
 *   }
 * }
 * ```
 */
export type HttpErrorCode = HeadersErrorCode | RateLimitErrorCode
