import { watch } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { checkOptionNames, integerOption, isObject } from '@palisade/errors'
import { SecretsError } from './errors.js'
import { readSecretFile, resolveFileVariable } from './file.js'

/**
 * Where a secret's value comes from. Like a rate-limit `Store`, a source has one required
 * method, {@link SecretSource.read}, and optional lifecycle hooks; {@link loadSecrets} calls
 * `init` once before the first read and `close` from {@link Secrets.close}.
 *
 * @example
 * ```ts
 * // A source of your own: a value handed over by a parent process on a pipe.
 * const fromParent: SecretSource = {
 *   kind: 'custom',
 *   location: 'parent process',
 *   read: () => handedOver.get('API_KEY'),
 * }
 * ```
 */
export interface SecretSource {
  /** A short word for telemetry attributes: `env`, `file`, `directory`, `vault`, `aws`, ... */
  readonly kind: string
  /** Where the value lives, shown in errors and logs: a path or a URL, never a credential. */
  readonly location: string
  /**
   * Returns the value, or `undefined` when this source does not have one (an unset variable, a
   * file that is not mounted), so that the next source in precedence order is tried. Throws a
   * {@link SecretsError} when the source exists but cannot be read: that stops the search.
   * Anything else thrown is reported by its name only and kept as `cause`, so never put a
   * value in an error message.
   */
  read: (signal: AbortSignal) => Promise<string | undefined> | string | undefined
  /** Connects or authenticates; called once before the first read. */
  init?: (() => Promise<void> | void) | undefined
  /** Releases what `init` or `watch` acquired. */
  close?: (() => Promise<void> | void) | undefined
  /**
   * Starts watching for rotation and calls `onChange` when the value may have changed (a file
   * event, a poll tick). Returns a function that stops watching.
   */
  watch?: ((onChange: () => void) => () => void) | undefined
  /** The files the value is read from right now, for permission checks. */
  files?: (() => readonly string[]) | undefined
}

/** Options of the file-based sources. */
export interface FileSourceOptions {
  /**
   * Largest file accepted, in bytes.
   * @default 65536
   */
  maxBytes?: number | undefined
}

/** Options of {@link envSource}. */
export interface EnvSourceOptions extends FileSourceOptions {
  /**
   * The variables to read.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * Whether `NAME_FILE` is honoured (both `NAME` and `NAME_FILE` set is an error).
   * @default true
   */
  files?: boolean | undefined
}

const DEFAULT_MAX_BYTES = 64 * 1024
const FILE_SOURCE_OPTIONS = Object.keys({
  maxBytes: true,
} satisfies Record<keyof FileSourceOptions, true>)
const ENV_SOURCE_OPTIONS = Object.keys({
  maxBytes: true,
  env: true,
  files: true,
} satisfies Record<keyof EnvSourceOptions, true>)

function fileOptions(
  options: unknown,
  factory: string,
  known = FILE_SOURCE_OPTIONS,
): { maxBytes: number } {
  if (options === undefined) return { maxBytes: DEFAULT_MAX_BYTES }
  if (!isObject(options)) throw new TypeError(`${factory}() options must be an object`)
  checkOptionNames(options, known, `${factory}()`)
  return { maxBytes: integerOption(options['maxBytes'], 'maxBytes', DEFAULT_MAX_BYTES, 1) }
}

/** Throws without narrowing the caller's variable (isObject would turn its fields into unknown). */
export function requireObject(value: unknown, message: string): void {
  if (!isObject(value)) throw new TypeError(message)
}

/** Throws unless `value` is undefined or an object of variables; never narrows the caller's type. */
export function envOption(value: unknown): void {
  if (value !== undefined && !isObject(value)) throw new TypeError('"env" option must be an object')
}

function nameOption(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`"${name}" option must be a non-empty string`)
  }
  return value
}

/**
 * Watches the directory that holds `path` rather than the file itself: editors and `mv` replace
 * a file by renaming another over it, which would orphan a watch on the old inode, and the
 * kubelet never touches the file at all, only the `..data` symlink next to it. Events for other
 * entries of the directory are ignored. The watcher never keeps the process alive.
 *
 * @example
 * ```ts
 * // the watch of a source of your own that reads /etc/app/license.key
 * const source: SecretSource = {
 *   kind: 'license',
 *   location: 'file /etc/app/license.key',
 *   read: () => decodeLicense(readFileSync('/etc/app/license.key')),
 *   watch: (onChange) => watchFile('/etc/app/license.key', onChange),
 * }
 * ```
 */
export function watchFile(path: string, onChange: () => void): () => void {
  const name = basename(path)
  let watcher: ReturnType<typeof watch>
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename === null || filename === name || filename.startsWith('..')) onChange()
    })
  } catch {
    // The directory is gone or unwatchable: the next reload reports the file itself.
    return () => undefined
  }
  watcher.on('error', () => {
    onChange()
  })
  return () => {
    watcher.close()
  }
}

function readOptional(path: string, maxBytes: number, variable?: string): string | undefined {
  try {
    return readSecretFile(path, { maxBytes, variable })
  } catch (error) {
    if (error instanceof SecretsError && error.code === 'PALISADE_SECRET_FILE_NOT_FOUND') {
      return undefined
    }
    throw error
  }
}

/**
 * The secret from an environment variable `NAME`, or from the file named by `NAME_FILE`
 * (the same implementation `@palisade/config` uses). A `NAME_FILE` target is watched for
 * rotation; a missing `NAME_FILE` target is an error, not a fall-through, because it was asked
 * for explicitly.
 *
 * @example
 * ```ts
 * const secrets = await loadSecrets({ DB_PASSWORD: envSource('DB_PASSWORD') })
 * ```
 */
export function envSource(name: string, options: EnvSourceOptions = {}): SecretSource {
  nameOption(name, 'name')
  const { maxBytes } = fileOptions(options, 'envSource', ENV_SOURCE_OPTIONS)
  envOption(options.env)
  const env = options.env ?? process.env
  const files = options.files ?? true
  if (typeof files !== 'boolean') throw new TypeError('"files" option must be a boolean')
  const target = (): string | undefined => (files ? env[`${name}_FILE`] : undefined)
  return {
    kind: 'env',
    location: files ? `env ${name} or ${name}_FILE` : `env ${name}`,
    read: () => {
      if (!files) return env[name]
      return resolveFileVariable(env, name, { maxBytes })?.value
    },
    files: () => {
      const path = target()
      return path === undefined ? [] : [path]
    },
    watch: (onChange) => {
      const path = target()
      return path === undefined ? () => undefined : watchFile(path, onChange)
    },
  }
}

/**
 * The secret in one file, trimmed of surrounding whitespace. A file that does not exist yields
 * no value, so the next source is tried; any other problem (unreadable, empty, too large) is an
 * error. Watched for rotation, including rename-over writes.
 *
 * @example
 * ```ts
 * const secrets = await loadSecrets({ TLS_KEY: fileSource('/etc/app/tls.key') })
 * ```
 */
export function fileSource(path: string, options: FileSourceOptions = {}): SecretSource {
  nameOption(path, 'path')
  const { maxBytes } = fileOptions(options, 'fileSource')
  return {
    kind: 'file',
    location: `file ${path}`,
    read: () => readOptional(path, maxBytes),
    files: () => [path],
    watch: (onChange) => watchFile(path, onChange),
  }
}

/**
 * The secret `key` in a mounted secrets directory: Docker's `/run/secrets` or a Kubernetes
 * secret volume, whose files are symlinks through `..data` that the kubelet swaps atomically on
 * rotation. A key that is not mounted yields no value, so the next source is tried.
 *
 * @example
 * ```ts
 * const secrets = await loadSecrets({
 *   DB_PASSWORD: [envSource('DB_PASSWORD'), directorySource('/run/secrets', 'db_password')],
 * })
 * ```
 */
export function directorySource(
  directory: string,
  key: string,
  options: FileSourceOptions = {},
): SecretSource {
  nameOption(directory, 'directory')
  nameOption(key, 'key')
  if (key.includes('/') || key.includes('\\') || key.startsWith('..') || key === '.') {
    throw new TypeError('"key" option must be a file name inside the directory')
  }
  const { maxBytes } = fileOptions(options, 'directorySource')
  const path = join(directory, key)
  return {
    kind: 'directory',
    location: `directory ${directory} (key ${key})`,
    read: () => readOptional(path, maxBytes),
    files: () => [path],
    watch: (onChange) => watchFile(path, onChange),
  }
}
