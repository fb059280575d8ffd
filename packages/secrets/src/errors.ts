import { PalisadeError } from '@palisade/errors'

/** Every code a {@link SecretsError} can carry. */
export type SecretsErrorCode =
  | 'PALISADE_SECRET_CONFLICT'
  | 'PALISADE_SECRET_FILE_NOT_FOUND'
  | 'PALISADE_SECRET_FILE_IS_DIRECTORY'
  | 'PALISADE_SECRET_FILE_NOT_REGULAR'
  | 'PALISADE_SECRET_FILE_UNREADABLE'
  | 'PALISADE_SECRET_FILE_TOO_LARGE'
  | 'PALISADE_SECRET_FILE_PERMISSIONS'
  | 'PALISADE_SECRET_EMPTY'
  | 'PALISADE_SECRET_MISSING'
  | 'PALISADE_SECRET_INVALID'
  | 'PALISADE_SECRET_SOURCE_FAILED'
  | 'PALISADE_SECRET_LOAD_FAILED'
  | 'PALISADE_SECRET_RELOAD_FAILED'
  | 'PALISADE_SECRET_STALE'
  | 'PALISADE_SECRET_VAULT_SEALED'
  | 'PALISADE_SECRET_VAULT_FORBIDDEN'
  | 'PALISADE_SECRET_VAULT_AUTH_FAILED'
  | 'PALISADE_SECRET_VAULT_NOT_FOUND'
  | 'PALISADE_SECRET_VAULT_KEY_NOT_FOUND'
  | 'PALISADE_SECRET_VAULT_TIMEOUT'
  | 'PALISADE_SECRET_VAULT_UNREACHABLE'
  | 'PALISADE_SECRET_VAULT_ERROR'
  | 'PALISADE_SECRET_AWS_NOT_FOUND'
  | 'PALISADE_SECRET_AWS_ERROR'

/** Structured fields of a {@link SecretsError}; all optional. */
export interface SecretsErrorDetails {
  /** The environment variable the secret was requested for. */
  variable?: string | undefined
  /** The file the secret was read from. */
  path?: string | undefined
  /** The secret's name in {@link loadSecrets}. */
  secret?: string | undefined
  /** Where the secret comes from, as a source describes itself: never a credential. */
  source?: string | undefined
  /** The underlying error, for logs. */
  cause?: unknown
}

/**
 * Thrown when a secret cannot be read. `variable`, `path`, `secret` and `source` name what
 * failed; the message never contains the secret's value, a Vault token or any other credential.
 *
 * @example
 * ```ts
 * try {
 *   readSecretFile('/run/secrets/db_password')
 * } catch (error) {
 *   if (error instanceof SecretsError && error.code === 'PALISADE_SECRET_FILE_NOT_FOUND') {
 *     console.error(`mount the secret at ${error.path}`)
 *   }
 * }
 * ```
 */
export class SecretsError extends PalisadeError<SecretsErrorCode> {
  /** The environment variable the secret was requested for, when there is one. */
  readonly variable: string | undefined
  /** The file the secret was read from, when there is one. */
  readonly path: string | undefined
  /** The secret's name given to {@link loadSecrets}, when there is one. */
  readonly secret: string | undefined
  /** The source's location (a path, or a URL without credentials), when there is one. */
  readonly source: string | undefined

  constructor(code: SecretsErrorCode, message: string, details: SecretsErrorDetails = {}) {
    super(code, message, { cause: details.cause })
    this.variable = details.variable
    this.path = details.path
    this.secret = details.secret
    this.source = details.source
  }
}

/** One secret that {@link loadSecrets} could not load, as listed in its report. */
export interface SecretProblem {
  /** The secret's name. */
  readonly secret: string
  /** The source at fault, or every source tried when none had a value. */
  readonly source: string
  /** The code of the underlying error. */
  readonly code: SecretsErrorCode
  /** What went wrong; never the value. */
  readonly message: string
}

/**
 * Thrown by {@link loadSecrets} when one or more secrets cannot be loaded. The message lists
 * every problem at once, one line per secret, and `problems` holds the same as data.
 *
 * @example
 * ```ts
 * try {
 *   await loadSecrets({ DB_PASSWORD: envSource('DB_PASSWORD') })
 * } catch (error) {
 *   if (error instanceof SecretsLoadError) for (const p of error.problems) console.error(p.secret)
 * }
 * ```
 */
export class SecretsLoadError extends SecretsError {
  /** Every secret that could not be loaded, in declaration order. */
  readonly problems: readonly SecretProblem[]

  constructor(problems: readonly SecretProblem[]) {
    const lines = problems.map((p) => `  - ${p.secret}: ${p.message} [${p.code}]`)
    const count = problems.length === 1 ? '1 secret' : `${problems.length} secrets`
    super('PALISADE_SECRET_LOAD_FAILED', `${count} could not be loaded:\n${lines.join('\n')}`)
    this.problems = Object.freeze([...problems])
  }
}

/** Wraps anything a source threw into a {@link SecretsError}, keeping coded errors as they are. */
export function asSecretsError(error: unknown, source: string, secret?: string): SecretsError {
  if (error instanceof SecretsError) return error
  const reason = error instanceof Error ? error.name : typeof error
  return new SecretsError(
    'PALISADE_SECRET_SOURCE_FAILED',
    `${source} failed to read${secret === undefined ? '' : ` ${secret}`} (${reason})`,
    { source, secret, cause: error },
  )
}
