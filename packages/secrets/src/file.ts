import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { checkOptionNames, isObject } from '@palisade/errors'
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
const READ_OPTIONS = Object.keys({
  variable: true,
  maxBytes: true,
} satisfies Record<keyof ReadSecretFileOptions, true>)

// O_NONBLOCK: opening a FIFO without a writer would otherwise wait for one forever.
// O_NOCTTY: a terminal device must never become the process's controlling terminal.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  if (stats.isSocket()) return 'a socket'
  return 'a special file'
}

/**
 * Reads a secret from a file (a Docker secret, a Kubernetes secret volume, a `VAR_FILE` target)
 * synchronously and trims surrounding whitespace, so the trailing newline that editors and
 * `echo` add never becomes part of a key. Errors name the path and the variable, never content.
 *
 * The path is opened once (symlinks are followed, as Kubernetes' `..data` links need) and
 * everything else is decided on that descriptor: only a regular file is read (a FIFO, a device
 * or a socket is refused without waiting on it), at most `maxBytes` + 1 bytes of it, so a file
 * that grew past `maxBytes` is refused too, and so is a `/proc` file (it reports 0 bytes).
 *
 * @throws {SecretsError} `PALISADE_SECRET_FILE_NOT_FOUND`, `..._IS_DIRECTORY`, `..._NOT_REGULAR`,
 *   `..._UNREADABLE`, `..._TOO_LARGE` or `PALISADE_SECRET_EMPTY`.
 * @example
 * ```ts
 * const password = readSecretFile('/run/secrets/db_password', { variable: 'DB_PASSWORD' })
 * ```
 */
export function readSecretFile(path: string, options: ReadSecretFileOptions = {}): string {
  if (isObject(options)) checkOptionNames(options, READ_OPTIONS, 'readSecretFile()')
  const maxBytes = options.maxBytes ?? defaults.maxBytes
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
    throw new TypeError('"maxBytes" option must be a positive integer')
  }
  const variable = options.variable
  const what = variable === undefined ? 'secret file' : `${variable}_FILE`
  let fd: number
  try {
    fd = openSync(path, OPEN_FLAGS)
  } catch (error) {
    throw fileError(error, what, path, variable)
  }
  let content: Buffer
  let size: number
  try {
    const stats = fstatSync(fd)
    if (stats.isDirectory()) {
      throw new SecretsError(
        'PALISADE_SECRET_FILE_IS_DIRECTORY',
        `${what} points to a directory (${path}); point it to the file that holds the value`,
        { variable, path },
      )
    }
    if (!stats.isFile()) {
      throw refusal(
        'PALISADE_SECRET_FILE_NOT_REGULAR',
        `is ${kindOf(stats)}, not a regular file`,
        what,
        path,
        variable,
      )
    }
    size = stats.size
    if (size > maxBytes)
      throw refusal(
        'PALISADE_SECRET_FILE_TOO_LARGE',
        `is ${size} bytes, more than the ${maxBytes} allowed`,
        what,
        path,
        variable,
      )
    // Read one byte more than allowed, so that a file that grew since fstat is noticed.
    const buffer = Buffer.alloc(maxBytes + 1)
    let length = 0
    for (let read = -1; read !== 0 && length < buffer.length; length += read) {
      read = readSync(fd, buffer, length, buffer.length - length, null)
    }
    content = buffer.subarray(0, length)
  } catch (error) {
    if (error instanceof SecretsError) throw error
    throw fileError(error, what, path, variable)
  } finally {
    closeSync(fd)
  }
  if (content.length > maxBytes) {
    throw refusal(
      'PALISADE_SECRET_FILE_TOO_LARGE',
      `grew past the ${maxBytes} bytes allowed while read`,
      what,
      path,
      variable,
    )
  }
  if (size === 0 && content.length > 0) {
    // procfs makes up its files' content when read and reports them as empty regular files.
    throw refusal(
      'PALISADE_SECRET_FILE_NOT_REGULAR',
      'holds more than the 0 bytes it reports, like a /proc file',
      what,
      path,
      variable,
    )
  }
  const value = content.toString('utf8').trim()
  if (value === '') {
    throw new SecretsError('PALISADE_SECRET_EMPTY', `${what} (${path}) is empty`, {
      variable,
      path,
    })
  }
  return value
}

// What follows the problem in each refusal's message.
const FIX = {
  PALISADE_SECRET_FILE_TOO_LARGE: ' for a secret',
  PALISADE_SECRET_FILE_NOT_REGULAR: '; point it to the file that holds the value',
} as const

/** A refusal of what the path holds, naming the path and the variable, never the content. */
function refusal(
  code: keyof typeof FIX,
  problem: string,
  what: string,
  path: string,
  variable: string | undefined,
): SecretsError {
  return new SecretsError(code, `${what} (${path}) ${problem}${FIX[code]}`, {
    variable,
    path,
  })
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
  if (code === 'ENXIO') {
    // What open() says of a socket, or of a device whose driver is missing.
    return refusal(
      'PALISADE_SECRET_FILE_NOT_REGULAR',
      'is a socket or a device, not a regular file',
      what,
      path,
      variable,
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
  if (isObject(options)) checkOptionNames(options, ['maxBytes'], 'resolveFileVariable()')
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
