import { PalisadeError } from '@palisade/errors'

/** Every code a {@link SecretsError} can carry. */
export type SecretsErrorCode =
  | 'PALISADE_SECRET_CONFLICT'
  | 'PALISADE_SECRET_FILE_NOT_FOUND'
  | 'PALISADE_SECRET_FILE_IS_DIRECTORY'
  | 'PALISADE_SECRET_FILE_UNREADABLE'
  | 'PALISADE_SECRET_FILE_TOO_LARGE'
  | 'PALISADE_SECRET_EMPTY'

/**
 * Thrown when a secret cannot be read. `variable` and `path` name the source; the message never
 * contains the secret's value.
 */
export class SecretsError extends PalisadeError<SecretsErrorCode> {
  /** The environment variable the secret was requested for, when there is one. */
  readonly variable: string | undefined
  /** The file the secret was read from, when there is one. */
  readonly path: string | undefined

  constructor(
    code: SecretsErrorCode,
    message: string,
    details: { variable?: string | undefined; path?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, { cause: details.cause })
    this.variable = details.variable
    this.path = details.path
  }
}
