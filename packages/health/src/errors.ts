import { PalisadeError, redactCredentials } from '@palisade/errors'

/** Every code a {@link HealthError} can carry. */
export type HealthErrorCode =
  | 'PALISADE_HEALTH_CHECK_TIMEOUT'
  | 'PALISADE_HEALTH_UNAVAILABLE'
  | 'PALISADE_HEALTH_CHECK_FAILED'
  | 'PALISADE_HEALTH_HOOK_TIMEOUT'

/** Details a {@link HealthError} may carry. */
export interface HealthErrorDetails {
  /** The check or shutdown hook at fault. */
  readonly check?: string | undefined
  /** A short reason that is safe in a health answer, e.g. `unexpected status 503`. */
  readonly output?: string | undefined
  /** The underlying error, kept for logs; never put in a health answer. */
  readonly cause?: unknown
}

const OUTPUTS: Readonly<Record<HealthErrorCode, string>> = {
  PALISADE_HEALTH_CHECK_TIMEOUT: 'timeout',
  PALISADE_HEALTH_UNAVAILABLE: 'unavailable',
  PALISADE_HEALTH_CHECK_FAILED: 'error',
  PALISADE_HEALTH_HOOK_TIMEOUT: 'timeout',
}

/**
 * Why a check or a shutdown hook failed. A check's `run` may throw one to choose the short
 * `output` of its report; any other error is reported as `unavailable` (network errors) or
 * `error`.
 *
 * @example
 * ```ts
 * import { HealthError } from '@palisade/health'
 *
 * const check = {
 *   name: 'disk',
 *   run: async () => {
 *     if ((await freeBytes()) < 1e9) {
 *       throw new HealthError('PALISADE_HEALTH_CHECK_FAILED', 'less than 1 GB free', {
 *         output: 'low disk space',
 *       })
 *     }
 *   },
 * }
 * ```
 */
export class HealthError extends PalisadeError<HealthErrorCode> {
  /** The check or hook at fault, when known. */
  readonly check: string | undefined
  /** The short reason reported in a detailed health answer. */
  readonly output: string

  constructor(code: HealthErrorCode, message: string, details: HealthErrorDetails = {}) {
    super(code, message, { cause: details.cause })
    this.check = details.check
    this.output = details.output ?? OUTPUTS[code]
  }
}

// Error codes of Node sockets and DNS that mean "could not reach it", not "it answered wrongly".
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
])

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined
}

/** The short, public reason for a failed check: never a message, host, stack or credential. */
export function outputOf(error: unknown): string {
  if (error instanceof HealthError) return redactCredentials(error.output)
  let current: unknown = error
  for (let depth = 0; depth < 4 && current !== undefined; depth++) {
    const code = codeOf(current)
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'unavailable'
    if (
      current instanceof AggregateError &&
      current.errors.some((e) => outputOf(e) === 'unavailable')
    ) {
      return 'unavailable'
    }
    current = current instanceof Error ? current.cause : undefined
  }
  return 'error'
}

/**
 * The message of an error for a log line, with credentials removed (`redactCredentials` of
 * `@palisade/errors`), so that a driver that quotes its connection string or parameters
 * does not leak a password.
 */
export function messageOf(error: unknown): string {
  return redactCredentials(error instanceof Error ? error.message : String(error))
}
