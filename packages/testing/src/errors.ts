import { PalisadeError } from '@palisade/errors'

/**
 * Every code a {@link DevIssuerError} can carry.
 *
 * @example
 * ```ts
 * function explain(code: DevIssuerErrorCode): string {
 *   return code === 'PALISADE_TESTING_UNKNOWN_KEY' ? 'no such kid' : code
 * }
 * ```
 */
export type DevIssuerErrorCode =
  | 'PALISADE_TESTING_LISTEN_FAILED'
  | 'PALISADE_TESTING_UNKNOWN_KEY'
  | 'PALISADE_TESTING_NO_SIGNING_KEY'

/**
 * Thrown by the dev issuer when it cannot do what was asked: the port is taken, `retire()` names
 * a key that is not published, or `mint()` asks for an algorithm that has no key. Invalid options
 * are a `TypeError` instead, thrown when the function is called.
 *
 * @example
 * ```ts
 * try {
 *   issuer.retire('no-such-kid')
 * } catch (error) {
 *   if (error instanceof DevIssuerError && error.code === 'PALISADE_TESTING_UNKNOWN_KEY') {
 *     console.error(error.kid) // 'no-such-kid'
 *   }
 * }
 * ```
 */
export class DevIssuerError extends PalisadeError<DevIssuerErrorCode> {
  /** The key id at fault, for `PALISADE_TESTING_UNKNOWN_KEY`. */
  readonly kid: string | undefined
  /** The algorithm at fault, for `PALISADE_TESTING_NO_SIGNING_KEY`. */
  readonly alg: string | undefined

  constructor(
    code: DevIssuerErrorCode,
    message: string,
    details: { kid?: string | undefined; alg?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, { cause: details.cause })
    this.kid = details.kid
    this.alg = details.alg
  }
}
