import { EventEmitter } from 'node:events'
import {
  EXIT_CONFIG,
  EXIT_UNAVAILABLE,
  booleanOption,
  checkOptionNames,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
  withStartupProblems,
} from '@palisade/errors'
import type { Counter } from '@opentelemetry/api'
import type { SecretProblem, SecretsErrorCode } from './errors.js'
import { SecretsError, SecretsLoadError, asSecretsError } from './errors.js'
import { productionLike } from './environment.js'
import { checkSecretFilePermissions } from './permissions.js'
import { Secret } from './secret.js'
import type { SecretSource } from './source.js'
import { envOption, requireObject } from './source.js'
import { reloadCounter } from './telemetry.js'

/** A pino-compatible logger: pino, a child of it, or anything with these four methods. */
export interface SecretsLogger {
  debug: (object: Record<string, unknown>, message: string) => void
  info: (object: Record<string, unknown>, message: string) => void
  warn: (object: Record<string, unknown>, message: string) => void
  error: (object: Record<string, unknown>, message: string) => void
}

/** A secret with its sources in precedence order and an optional check of the value. */
export interface SecretDefinition {
  /** One source, or several tried in order: the first that has a value wins. */
  from: SecretSource | readonly SecretSource[]
  /**
   * Refuses a value that cannot be right (a half-written file, a key of the wrong length) by
   * returning `false`. A refused value fails startup, or is ignored on reload.
   */
  validate?: ((value: string) => boolean) | undefined
}

/** What {@link loadSecrets} accepts for each name: a source, a precedence list, or a definition. */
export type SecretSpec = SecretSource | readonly SecretSource[] | SecretDefinition

/** How permission problems of secret files are treated. */
export type PermissionPolicy = 'auto' | 'error' | 'warn' | 'off'

/** Options of {@link loadSecrets}. */
export interface LoadSecretsOptions {
  /**
   * Receives warnings (permissions, failed reloads nobody listens to) and rotation notices.
   * @default silent
   */
  logger?: SecretsLogger | undefined
  /**
   * Whether sources are watched (files, directories) or polled (Vault, AWS) for rotation.
   * Watchers and timers never keep the process alive.
   * @default true
   */
  watch?: boolean | undefined
  /**
   * How long to wait after a file event before reloading, so that a kubelet swap or an editor's
   * save is read once, complete; further events within the delay join the same reload.
   * @default 200
   */
  debounceMs?: number | undefined
  /**
   * Secret files readable by group/others or under a world-writable directory: `error` fails
   * startup, `warn` logs `PALISADE_SECRET_FILE_PERMISSIONS`, `off` skips the check, `auto` is
   * `error` in a production-like environment and `warn` otherwise.
   * @default 'auto'
   */
  permissions?: PermissionPolicy | undefined
  /**
   * Accept secret files readable by their group, as Kubernetes mounts them when the pod sets
   * `fsGroup` (`0440` whatever `defaultMode` says). Group write and any access by others are
   * still problems.
   * @default false
   */
  allowGroupRead?: boolean | undefined
  /**
   * Where `NODE_ENV` and `APP_ENV` are read for `permissions: 'auto'`.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>> | undefined
}

/** Sent with the `change` event: which secret changed and where it now comes from. */
export interface SecretChange {
  /** The secret's name; never its value. */
  readonly name: string
  /** The location of the source that supplied the new value. */
  readonly source: string
}

/** The events of {@link Secrets}. */
export interface SecretsEvents {
  /** A reload found a new value; `get()` returns it from now on. */
  change: [SecretChange]
  /**
   * A reload failed or found an empty or invalid value; the last good value is still served.
   * Without a listener the error goes to the logger instead of crashing the process.
   */
  error: [SecretsError]
}

/** A check with the shape `@palisade/health` runs: `{ name, critical, run(signal) }`. */
export interface SecretsHealthCheck {
  readonly name: string
  readonly critical: boolean
  readonly componentType: string
  readonly measurement: string
  /** Throws a `PALISADE_SECRET_STALE` error naming every secret whose last reload failed. */
  run: (signal: AbortSignal) => void
}

/** Options of {@link Secrets.healthCheck}. */
export interface SecretsHealthCheckOptions {
  /**
   * The check's name in the readiness report.
   * @default 'secrets'
   */
  name?: string | undefined
  /**
   * Whether a stale secret fails readiness. Off by default because the last good value is still
   * served: readiness reports `warn`.
   * @default false
   */
  critical?: boolean | undefined
}

const POLICIES = ['auto', 'error', 'warn', 'off'] as const
const LOAD_OPTIONS = Object.keys({
  logger: true,
  watch: true,
  debounceMs: true,
  permissions: true,
  allowGroupRead: true,
  env: true,
} satisfies Record<keyof LoadSecretsOptions, true>)
const DEFINITION_FIELDS = Object.keys({
  from: true,
  validate: true,
} satisfies Record<keyof SecretDefinition, true>)
const HEALTH_CHECK_OPTIONS = Object.keys({
  name: true,
  critical: true,
} satisfies Record<keyof SecretsHealthCheckOptions, true>)

interface Entry {
  readonly name: string
  readonly sources: readonly SecretSource[]
  readonly validate: ((value: string) => boolean) | undefined
  current: Secret
  source: SecretSource
  failure: SecretsError | undefined
  timer: NodeJS.Timeout | undefined
  reloading: Promise<void> | undefined
  again: boolean
}

interface Definition {
  readonly list: readonly SecretSource[]
  readonly validate: ((value: string) => boolean) | undefined
}

function definitionOf(name: string, spec: unknown): Definition {
  const isSource = (value: unknown): value is SecretSource =>
    isObject(value) &&
    typeof value['read'] === 'function' &&
    typeof value['location'] === 'string' &&
    typeof value['kind'] === 'string'
  const check = (from: unknown): SecretSource[] => {
    const list = Array.isArray(from) ? (from as unknown[]) : [from]
    if (list.length === 0 || !list.every(isSource)) {
      throw new TypeError(
        `"${name}" must be a secret source, a non-empty array of sources or { from, validate }`,
      )
    }
    return list
  }
  if (isObject(spec) && 'from' in spec) {
    checkOptionNames(spec, DEFINITION_FIELDS, 'loadSecrets()', { path: name })
    const validate = spec['validate']
    if (validate !== undefined && typeof validate !== 'function') {
      throw new TypeError(`"${name}.validate" option must be a function`)
    }
    return { list: check(spec['from']), validate: validate as Definition['validate'] }
  }
  return { list: check(spec), validate: undefined }
}

// Errors of the file helpers name the path and variable but not the source; add it for reports.
function withSource(error: SecretsError, source: SecretSource, name: string): SecretsError {
  if (error.source !== undefined && error.secret !== undefined) return error
  return new SecretsError(error.code, error.message, {
    variable: error.variable,
    path: error.path,
    secret: error.secret ?? name,
    source: error.source ?? source.location,
    cause: error,
  })
}

async function readChain(
  name: string,
  sources: readonly SecretSource[],
  validate: ((value: string) => boolean) | undefined,
  signal: AbortSignal,
  failedInit?: ReadonlyMap<SecretSource, SecretsError>,
): Promise<{ value: string; source: SecretSource }> {
  for (const source of sources) {
    let value: string | undefined
    try {
      // A source that could not start fails where it stands in the order: an earlier source
      // with a value still wins, a later one is never reached.
      const initError = failedInit?.get(source)
      if (initError !== undefined) throw initError
      value = await source.read(signal)
    } catch (error) {
      throw withSource(asSecretsError(error, source.location, name), source, name)
    }
    if (value === undefined) continue
    if (typeof value !== 'string') {
      throw new SecretsError(
        'PALISADE_SECRET_INVALID',
        `${source.location} returned a ${typeof value} for ${name}, not a string`,
        { secret: name, source: source.location },
      )
    }
    if (value.trim() === '') {
      throw new SecretsError('PALISADE_SECRET_EMPTY', `${source.location} has an empty value`, {
        secret: name,
        source: source.location,
      })
    }
    let valid: boolean
    try {
      valid = validate === undefined || validate(value)
    } catch {
      valid = false
    }
    if (!valid) {
      throw new SecretsError(
        'PALISADE_SECRET_INVALID',
        `${source.location} has a value that the validate function of ${name} refused`,
        { secret: name, source: source.location },
      )
    }
    return { value, source }
  }
  const tried = sources.map((source) => source.location).join('; ')
  throw new SecretsError(
    'PALISADE_SECRET_MISSING',
    `missing: none of its sources has it (${tried})`,
    {
      secret: name,
      source: tried,
    },
  )
}

/**
 * Secrets loaded by {@link loadSecrets}: the current value of each, kept up to date as sources
 * rotate. Emits `change` (with the name, never the value) when a reload finds a new value and
 * `error` when a reload fails, in which case the last good value keeps being served.
 *
 * @example
 * ```ts
 * const secrets = await loadSecrets({ API_KEY: directorySource('/run/secrets', 'api_key') })
 * secrets.on('change', ({ name }) => logger.info({ name }, 'secret rotated'))
 * secrets.on('error', (error) => logger.warn({ code: error.code }, error.message))
 * const key = secrets.get('API_KEY') // a Secret: reveal() it where it is used
 * ```
 */
export interface Secrets<Name extends string = string> extends EventEmitter<SecretsEvents> {
  /** The names of the loaded secrets. */
  readonly names: Name[]
  /**
   * The current value of a secret, as a {@link Secret}. Call it where the value is used rather
   * than keeping the result, so that a rotated value is picked up.
   *
   * @throws {TypeError} for a name that was not loaded.
   */
  get(name: Name): Secret
  /** The location of the source that supplied the current value of a secret. */
  sourceOf(name: Name): string
  /** The error of the last failed reload of each secret that is stale (serving an older value). */
  stale(): ReadonlyMap<Name, SecretsError>
  /**
   * Reads a secret (or every secret) from its sources again now, as a rotation signal would.
   * Resolves when done; a failure is reported through `error`, never thrown.
   */
  reload(name?: Name): Promise<void>
  /**
   * A health check for `@palisade/health`: it fails while any secret's last reload failed,
   * naming those secrets (never values).
   *
   * @example
   * ```ts
   * const health = createHealth({ checks: [secrets.healthCheck()] })
   * ```
   */
  healthCheck(options?: SecretsHealthCheckOptions): SecretsHealthCheck
  /** Stops watching and polling and closes every source. Idempotent. */
  close(): Promise<void>
}

// The implementation stays private, so the only way to get one is loadSecrets().
class LoadedSecrets<Name extends string>
  extends EventEmitter<SecretsEvents>
  implements Secrets<Name>
{
  readonly #entries: ReadonlyMap<Name, Entry>
  readonly #sources: readonly SecretSource[]
  readonly #logger: SecretsLogger
  readonly #counter: Counter
  readonly #debounceMs: number
  readonly #stops: (() => void)[] = []
  #closed = false

  constructor(
    entries: ReadonlyMap<Name, Entry>,
    sources: readonly SecretSource[],
    options: { logger: SecretsLogger; debounceMs: number; watch: boolean },
  ) {
    super()
    this.#entries = entries
    this.#sources = sources
    this.#logger = options.logger
    this.#debounceMs = options.debounceMs
    this.#counter = reloadCounter()
    if (options.watch) this.#startWatching()
  }

  /** The names of the loaded secrets. */
  get names(): Name[] {
    return [...this.#entries.keys()]
  }

  /**
   * The current value of a secret, as a {@link Secret}. Call it where the value is used rather
   * than keeping the result, so that a rotated value is picked up.
   *
   * @throws {TypeError} for a name that was not loaded.
   */
  get(name: Name): Secret {
    return this.#entry(name).current
  }

  /** The location of the source that supplied the current value of a secret. */
  sourceOf(name: Name): string {
    return this.#entry(name).source.location
  }

  /** The error of the last failed reload of each secret that is stale (serving an older value). */
  stale(): ReadonlyMap<Name, SecretsError> {
    const out = new Map<Name, SecretsError>()
    for (const [name, entry] of this.#entries) {
      if (entry.failure !== undefined) out.set(name, entry.failure)
    }
    return out
  }

  /**
   * Reads a secret (or every secret) from its sources again now, as a rotation signal would.
   * Resolves when done; a failure is reported through `error`, never thrown.
   */
  async reload(name?: Name): Promise<void> {
    const names = name === undefined ? this.names : [name]
    await Promise.all(names.map((n) => this.#reload(this.#entry(n))))
  }

  /**
   * A health check for `@palisade/health`: it fails while any secret's last reload failed,
   * naming those secrets (never values).
   *
   * @example
   * ```ts
   * const health = createHealth({ checks: [secrets.healthCheck()] })
   * ```
   */
  healthCheck(options: SecretsHealthCheckOptions = {}): SecretsHealthCheck {
    if (!isObject(options)) throw new TypeError('healthCheck() options must be an object')
    checkOptionNames(options, HEALTH_CHECK_OPTIONS, 'healthCheck()')
    const name = options.name ?? 'secrets'
    if (typeof name !== 'string' || name.trim() === '') {
      throw new TypeError('"name" option must be a non-empty string')
    }
    const critical = options.critical ?? false
    if (typeof critical !== 'boolean') throw new TypeError('"critical" option must be a boolean')
    return {
      name,
      critical,
      componentType: 'component',
      measurement: 'rotation',
      run: (_signal) => {
        const stale = this.stale()
        if (stale.size === 0) return
        const list = [...stale.entries()].map(([n, e]) => `${n} (${e.source ?? 'unknown'})`)
        throw new SecretsError(
          'PALISADE_SECRET_STALE',
          `serving the last good value of ${list.join(', ')}: the last reload failed`,
          { secret: [...stale.keys()].join(',') },
        )
      },
    }
  }

  /** Stops watching and polling and closes every source. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const stop of this.#stops.splice(0)) stop()
    for (const entry of this.#entries.values()) clearTimeout(entry.timer)
    await closeAll(this.#sources)
  }

  #entry(name: Name): Entry {
    const entry = this.#entries.get(name)
    if (entry === undefined) throw new TypeError(`"${name}" is not a loaded secret`)
    return entry
  }

  #startWatching(): void {
    for (const entry of this.#entries.values()) {
      for (const source of entry.sources) {
        if (source.watch === undefined) continue
        try {
          this.#stops.push(
            source.watch(() => {
              this.#schedule(entry)
            }),
          )
        } catch (error) {
          this.#report(entry, asSecretsError(error, source.location, entry.name))
        }
      }
    }
  }

  #schedule(entry: Entry): void {
    // Events within the delay are coalesced into one reload; the timer is not pushed back, so a
    // steady stream of events (a chatty directory, a short poll interval) cannot starve it.
    if (this.#closed || entry.timer !== undefined) return
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      void this.#reload(entry)
    }, this.#debounceMs)
    entry.timer.unref()
  }

  async #reload(entry: Entry): Promise<void> {
    // One reload at a time per secret; a signal during a reload runs one more afterwards.
    if (entry.reloading !== undefined) {
      entry.again = true
      return entry.reloading
    }
    entry.reloading = (async () => {
      do {
        entry.again = false
        await this.#reloadOnce(entry)
      } while (this.#again(entry))
    })()
    try {
      await entry.reloading
    } finally {
      entry.reloading = undefined
    }
  }

  #again(entry: Entry): boolean {
    return entry.again && !this.#closed
  }

  async #reloadOnce(entry: Entry): Promise<void> {
    let found: { value: string; source: SecretSource }
    try {
      found = await readChain(
        entry.name,
        entry.sources,
        entry.validate,
        new AbortController().signal,
      )
    } catch (error) {
      const cause = asSecretsError(error, entry.source.location, entry.name)
      this.#count(entry, entry.source, 'failed')
      this.#report(
        entry,
        new SecretsError(
          'PALISADE_SECRET_RELOAD_FAILED',
          `reloading ${entry.name} failed (${cause.code}: ${cause.message}); still serving the last good value`,
          { secret: entry.name, source: cause.source ?? entry.source.location, cause },
        ),
      )
      return
    }
    if (this.#closed) return
    const recovered = entry.failure !== undefined
    entry.failure = undefined
    if (recovered) {
      this.#logger.info({ secret: entry.name }, 'secret reloads again after a failure')
    }
    if (entry.current.equals(found.value) && entry.source === found.source) {
      this.#count(entry, found.source, 'unchanged')
      return
    }
    entry.current = new Secret(found.value, { name: entry.name })
    entry.source = found.source
    this.#count(entry, found.source, 'changed')
    this.#logger.info(
      {
        secret: entry.name,
        source: found.source.location,
        fingerprint: entry.current.fingerprint(),
      },
      'secret rotated',
    )
    this.emit('change', { name: entry.name, source: found.source.location })
  }

  #count(entry: Entry, source: SecretSource, outcome: 'changed' | 'unchanged' | 'failed'): void {
    this.#counter.add(1, {
      'palisade.secret.name': entry.name,
      'palisade.secret.source': source.kind,
      outcome,
    })
  }

  #report(entry: Entry, error: SecretsError): void {
    entry.failure = error
    if (this.listenerCount('error') > 0) {
      this.emit('error', error)
    } else {
      this.#logger.warn(
        { code: error.code, secret: entry.name, source: error.source },
        error.message,
      )
    }
  }
}

// The fix of each problem loadSecrets() reports, by code. Codes that reach it only on reload
// (RELOAD_FAILED, STALE) or as the whole report (LOAD_FAILED) fall back to checking the source.
const FIXES: Partial<Record<SecretsErrorCode, string>> = {
  PALISADE_SECRET_CONFLICT: 'set either the variable or its _FILE variant, not both',
  PALISADE_SECRET_FILE_NOT_FOUND:
    'mount the secret at this path, or point the source at the file that holds it',
  PALISADE_SECRET_FILE_IS_DIRECTORY:
    'point the source at the file that holds the value, not its directory',
  PALISADE_SECRET_FILE_NOT_REGULAR:
    'point the source at a regular file that holds the value (not a FIFO, device or /proc file)',
  PALISADE_SECRET_FILE_UNREADABLE: "make the file readable by the service's user",
  PALISADE_SECRET_FILE_TOO_LARGE: 'point the source at a file that holds only the value',
  PALISADE_SECRET_FILE_PERMISSIONS:
    'chmod 0400 the file (0440 with allowGroupRead) and keep its directories not world-writable',
  PALISADE_SECRET_EMPTY: 'write the value into the source',
  PALISADE_SECRET_INVALID: 'replace the value with one the validate function accepts',
  PALISADE_SECRET_SOURCE_FAILED:
    'check that the source is reachable; the error in the log holds the detail',
  PALISADE_SECRET_VAULT_SEALED:
    'unseal Vault (vault operator unseal), or point VAULT_ADDR at an unsealed node',
  PALISADE_SECRET_VAULT_FORBIDDEN:
    'give the token a policy that allows read on this path, or use a token that is valid (VAULT_TOKEN)',
  PALISADE_SECRET_VAULT_AUTH_FAILED:
    "check the Vault login: its role, credentials and auth mount, and the auth method's configuration in Vault",
  PALISADE_SECRET_VAULT_NOT_FOUND:
    'write the secret at this path in Vault, or correct the mount and path options',
  PALISADE_SECRET_VAULT_KEY_NOT_FOUND:
    'add the key to the secret in Vault, or correct the key option',
  PALISADE_SECRET_VAULT_TIMEOUT:
    'check that Vault is up and reachable from this host (firewall, proxy), or raise the timeoutMs option',
  PALISADE_SECRET_VAULT_UNREACHABLE: 'start Vault, or correct the address option (VAULT_ADDR)',
  PALISADE_SECRET_VAULT_ERROR: "check Vault's health and logs",
  PALISADE_SECRET_AWS_NOT_FOUND: 'create the secret in AWS Secrets Manager, or correct its id',
  PALISADE_SECRET_AWS_ERROR: "check the AWS credentials, region and this host's network access",
}

// A backend that may answer after a restart: the orchestrator should retry (69), not page for
// a settings change (78).
const UNAVAILABLE = new Set<SecretsErrorCode>([
  'PALISADE_SECRET_SOURCE_FAILED',
  'PALISADE_SECRET_VAULT_SEALED',
  'PALISADE_SECRET_VAULT_TIMEOUT',
  'PALISADE_SECRET_VAULT_UNREACHABLE',
  'PALISADE_SECRET_VAULT_ERROR',
  'PALISADE_SECRET_AWS_ERROR',
])

/** Attaches the startup report of a failed load: one entry per secret, never a value. */
function withReport(error: SecretsLoadError): SecretsLoadError {
  const problems = error.problems.map((p) => ({
    what: `secret ${p.secret}`,
    source: p.source,
    cause: `${p.message} [${p.code}]`,
    fix:
      p.code === 'PALISADE_SECRET_MISSING'
        ? `provide ${p.secret} in one of its sources: set its variable, or mount or write its file`
        : (FIXES[p.code] ?? 'check the source'),
  }))
  const unavailable = error.problems.some((p) => UNAVAILABLE.has(p.code))
  const count = problems.length === 1 ? '1 secret' : `${problems.length} secrets`
  return withStartupProblems(
    error,
    `${count} could not be loaded`,
    problems,
    unavailable ? EXIT_UNAVAILABLE : EXIT_CONFIG,
  )
}

async function closeAll(sources: readonly SecretSource[]): Promise<void> {
  await Promise.allSettled(sources.map(async (source) => source.close?.()))
}

/**
 * Loads every secret at startup and fails fast: when any is missing or unreadable, it throws one
 * {@link SecretsLoadError} naming each such secret and its source (a path, or a URL without
 * credentials), never a value. Each name takes a source, or an array of sources in precedence
 * order (the first with a value wins), or `{ from, validate }`. The result keeps every value up
 * to date as files, mounted directories and Vault rotate.
 *
 * @throws {SecretsLoadError} `PALISADE_SECRET_LOAD_FAILED`, listing every problem.
 * @example
 * ```ts
 * import { directorySource, envSource, loadSecrets } from '@palisade/secrets'
 *
 * const secrets = await loadSecrets({
 *   // DB_PASSWORD or DB_PASSWORD_FILE, else the mounted Docker/Kubernetes secret
 *   DB_PASSWORD: [envSource('DB_PASSWORD'), directorySource('/run/secrets', 'db_password')],
 *   SESSION_KEY: { from: envSource('SESSION_KEY'), validate: (v) => v.length >= 32 },
 * })
 * const password = secrets.get('DB_PASSWORD').reveal()
 * ```
 */
export async function loadSecrets<const Spec extends Record<string, SecretSpec>>(
  spec: Spec,
  options: LoadSecretsOptions = {},
): Promise<Secrets<keyof Spec & string>> {
  type Name = keyof Spec & string
  requireObject(spec, 'loadSecrets() takes an object of secret sources')
  requireObject(options, 'loadSecrets() options must be an object')
  checkOptionNames(options as object as Record<string, unknown>, LOAD_OPTIONS, 'loadSecrets()')
  const logger = loggerOption<SecretsLogger>(options.logger, 'logger', silentLogger)
  const watch = options.watch ?? true
  if (typeof watch !== 'boolean') throw new TypeError('"watch" option must be a boolean')
  const debounceMs = integerOption(options.debounceMs, 'debounceMs', 200, 0)
  const permissions = options.permissions ?? 'auto'
  if (!(POLICIES as readonly unknown[]).includes(permissions)) {
    throw new TypeError('"permissions" option must be one of auto, error, warn, off')
  }
  envOption(options.env)
  const env = options.env ?? process.env
  const allowGroupRead = booleanOption(options.allowGroupRead, 'allowGroupRead', false)
  const policy = permissions === 'auto' ? (productionLike(env) ? 'error' : 'warn') : permissions

  const definitions = Object.entries(spec).map(
    ([name, value]) => [name as Name, definitionOf(name, value)] as const,
  )
  if (definitions.length === 0) throw new TypeError('loadSecrets() needs at least one secret')
  const sources = [...new Set(definitions.flatMap(([, d]) => d.list))]

  const problems: SecretProblem[] = []
  const failedInit = new Map<SecretSource, SecretsError>()
  await Promise.all(
    sources.map(async (source) => {
      try {
        await source.init?.()
      } catch (error) {
        failedInit.set(source, asSecretsError(error, source.location))
      }
    }),
  )

  const signal = new AbortController().signal
  const loaded = await Promise.all(
    definitions.map(async ([name, definition]) => {
      const list = definition.list
      try {
        const found = await readChain(name, list, definition.validate, signal, failedInit)
        return { name, list, definition, found }
      } catch (error) {
        return { name, list, definition, error: asSecretsError(error, list[0]!.location, name) }
      }
    }),
  )

  const entries = new Map<Name, Entry>()
  for (const item of loaded) {
    if (item.error !== undefined) {
      problems.push({
        secret: item.name,
        source: item.error.source ?? item.list.map((s) => s.location).join('; '),
        code: item.error.code,
        message: item.error.message,
      })
      continue
    }
    if (policy !== 'off') {
      for (const path of item.found.source.files?.() ?? []) {
        for (const finding of checkSecretFilePermissions(path, { allowGroupRead })) {
          const message = `${finding.path} ${finding.problem}`
          if (policy === 'error') {
            problems.push({
              secret: item.name,
              source: item.found.source.location,
              code: 'PALISADE_SECRET_FILE_PERMISSIONS',
              message,
            })
          } else {
            logger.warn(
              { code: 'PALISADE_SECRET_FILE_PERMISSIONS', secret: item.name, path: finding.path },
              message,
            )
          }
        }
      }
    }
    entries.set(item.name, {
      name: item.name,
      sources: item.list,
      validate: item.definition.validate,
      current: new Secret(item.found.value, { name: item.name }),
      source: item.found.source,
      failure: undefined,
      timer: undefined,
      reloading: undefined,
      again: false,
    })
  }
  if (problems.length > 0) {
    await closeAll(sources)
    throw withReport(new SecretsLoadError(problems))
  }
  for (const entry of entries.values()) {
    logger.debug({ secret: entry.name, source: entry.source.location }, 'secret loaded')
  }
  return new LoadedSecrets<Name>(entries, sources, { logger, debounceMs, watch })
}
