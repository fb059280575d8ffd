import { readFileSync, statSync } from 'node:fs'
import { SecretsError } from './errors.js'

/** Options for {@link readSecretFile}. */
export interface ReadSecretFileOptions {
  /** The variable the file stands for, named in errors. */
  variable?: string | undefined
  /**
   * Largest file accepted, in bytes; a larger file is refused rather than read into memory.
   * @default 65536
   */
  maxBytes?: number | undefined
}

const defaults = { maxBytes: 64 * 1024 }

/**
 * Reads a secret from a file (a Docker secret, a Kubernetes secret volume, a `VAR_FILE` target)
 * synchronously and trims surrounding whitespace, so the trailing newline that editors and
 * `echo` add never becomes part of a key. Errors name the path and the variable, never content.
 *
 * @throws {SecretsError} `PALISADE_SECRET_FILE_NOT_FOUND`, `..._IS_DIRECTORY`, `..._UNREADABLE`,
 *   `..._TOO_LARGE` or `PALISADE_SECRET_EMPTY`.
 * @example
 * ```ts
 * const password = readSecretFile('/run/secrets/db_password', { variable: 'DB_PASSWORD' })
 * ```
 */
export function readSecretFile(path: string, options: ReadSecretFileOptions = {}): string {
  const maxBytes = options.maxBytes ?? defaults.maxBytes
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
    throw new TypeError('"maxBytes" option must be a positive integer')
  }
  const variable = options.variable
  const what = variable === undefined ? 'secret file' : `${variable}_FILE`
  let size: number
  try {
    const stats = statSync(path)
    if (stats.isDirectory()) {
      throw new SecretsError(
        'PALISADE_SECRET_FILE_IS_DIRECTORY',
        `${what} points to a directory (${path}); point it to the file that holds the value`,
        { variable, path },
      )
    }
    size = stats.size
  } catch (error) {
    if (error instanceof SecretsError) throw error
    throw fileError(error, what, path, variable)
  }
  if (size > maxBytes) {
    throw new SecretsError(
      'PALISADE_SECRET_FILE_TOO_LARGE',
      `${what} (${path}) is ${size} bytes, more than the ${maxBytes} allowed for a secret`,
      { variable, path },
    )
  }
  let content: string
  try {
    content = readFileSync(path, 'utf8')
  } catch (error) {
    throw fileError(error, what, path, variable)
  }
  const value = content.trim()
  if (value === '') {
    throw new SecretsError('PALISADE_SECRET_EMPTY', `${what} (${path}) is empty`, {
      variable,
      path,
    })
  }
  return value
}

function fileError(
  error: unknown,
  what: string,
  path: string,
  variable: string | undefined,
): SecretsError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SecretsError(
      'PALISADE_SECRET_FILE_NOT_FOUND',
      `${what} points to ${path}, which does not exist`,
      { variable, path, cause: error },
    )
  }
  if (code === 'EISDIR') {
    return new SecretsError(
      'PALISADE_SECRET_FILE_IS_DIRECTORY',
      `${what} points to a directory (${path}); point it to the file that holds the value`,
      { variable, path, cause: error },
    )
  }
  return new SecretsError(
    'PALISADE_SECRET_FILE_UNREADABLE',
    `${what} (${path}) cannot be read${code === undefined ? '' : ` (${code})`}; check its permissions`,
    { variable, path, cause: error },
  )
}

/** Where a variable's value came from. */
export type ValueSource = { kind: 'env' } | { kind: 'file'; path: string }

/** A value found by {@link resolveFileVariable}, with its source. */
export interface ResolvedVariable {
  value: string
  source: ValueSource
}

/**
 * Looks a secret variable up the way Docker and Kubernetes deployments expect: `NAME` from the
 * environment, or `NAME_FILE` naming a file that holds it. Both set is an error, because which
 * one wins would be a guess. Returns `undefined` when neither is set.
 *
 * @throws {SecretsError} `PALISADE_SECRET_CONFLICT`, or any error of {@link readSecretFile}.
 * @example
 * ```ts
 * const found = resolveFileVariable(process.env, 'DB_PASSWORD')
 * // { value: '...', source: { kind: 'file', path: '/run/secrets/db_password' } }
 * ```
 */
export function resolveFileVariable(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  options: Omit<ReadSecretFileOptions, 'variable'> = {},
): ResolvedVariable | undefined {
  const direct = env[name]
  const file = env[`${name}_FILE`]
  if (direct !== undefined && file !== undefined) {
    throw new SecretsError(
      'PALISADE_SECRET_CONFLICT',
      `${name} and ${name}_FILE are both set; set only one of them`,
      { variable: name },
    )
  }
  if (file !== undefined) {
    if (file.trim() === '') {
      throw new SecretsError('PALISADE_SECRET_EMPTY', `${name}_FILE is set but empty`, {
        variable: name,
      })
    }
    return {
      value: readSecretFile(file, { ...options, variable: name }),
      source: { kind: 'file', path: file },
    }
  }
  if (direct !== undefined) return { value: direct, source: { kind: 'env' } }
  return undefined
}
