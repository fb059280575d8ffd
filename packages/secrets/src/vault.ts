import {
  checkOptionNames,
  describeNetworkFailure,
  integerOption,
  isLoopbackHostname,
  isObject,
  loggerOption,
  silentLogger,
  stringOption,
} from '@palisade/errors'
import { productionLike } from './environment.js'
import { readSecretFile } from './file.js'
import type { SecretsErrorCode } from './errors.js'
import { SecretsError } from './errors.js'
import type { SecretsLogger } from './load.js'
import { Secret, isSecret } from './secret.js'
import type { SecretSource } from './source.js'
import { envOption, requireObject } from './source.js'

/** How the client logs in to Vault. */
export type VaultAuth =
  | {
      /** A token issued out of band (`VAULT_TOKEN`); renewed before expiry when renewable. */
      method: 'token'
      token: string | Secret
    }
  | {
      /** AppRole: `role_id` and `secret_id`, exchanged for a token at `auth/<mount>/login`. */
      method: 'approle'
      roleId: string
      secretId: string | Secret
      /** @default 'approle' */
      mount?: string | undefined
    }
  | {
      /** Kubernetes: the pod's service-account JWT, exchanged at `auth/<mount>/login`. */
      method: 'kubernetes'
      role: string
      /**
       * Read again at every login, because the kubelet rotates projected tokens.
       * @default '/var/run/secrets/kubernetes.io/serviceaccount/token'
       */
      jwtPath?: string | undefined
      /** @default 'kubernetes' */
      mount?: string | undefined
    }

type AuthOf<M extends VaultAuth['method']> = Extract<VaultAuth, { method: M }>

const AUTH_OPTIONS: Readonly<Record<VaultAuth['method'], readonly string[]>> = {
  token: Object.keys({ method: true, token: true } satisfies Record<keyof AuthOf<'token'>, true>),
  approle: Object.keys({
    method: true,
    roleId: true,
    secretId: true,
    mount: true,
  } satisfies Record<keyof AuthOf<'approle'>, true>),
  kubernetes: Object.keys({
    method: true,
    role: true,
    jwtPath: true,
    mount: true,
  } satisfies Record<keyof AuthOf<'kubernetes'>, true>),
}

/** Options of {@link createVaultClient}. */
export interface VaultClientOptions {
  /**
   * Vault's address, e.g. `https://vault.internal:8200` (`VAULT_ADDR`). `http://` is refused in a
   * production-like environment unless the host is loopback (`localhost`, 127.0.0.0/8, ::1), and
   * a redirect from it is an error: no credential is ever sent to another origin.
   */
  address: string
  /** How to log in. */
  auth: VaultAuth
  /** Sent as `X-Vault-Namespace` (Vault Enterprise and HCP). */
  namespace?: string | undefined
  /**
   * Each request is abandoned after this long, and fails with `PALISADE_SECRET_VAULT_TIMEOUT`.
   * @default 5000
   */
  timeoutMs?: number | undefined
  /**
   * Receives renewal notices and failures; never tokens.
   * @default silent
   */
  logger?: SecretsLogger | undefined
  /**
   * Where `NODE_ENV` and `APP_ENV` are read to tell whether `http://` may be used.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>> | undefined
}

const CLIENT = 'createVaultClient()'
const CLIENT_OPTIONS = Object.keys({
  address: true,
  auth: true,
  namespace: true,
  timeoutMs: true,
  logger: true,
  env: true,
} satisfies Record<keyof VaultClientOptions, true>)

/** One version of a KV v2 secret. */
export interface VaultKvSecret {
  /** The key/value pairs of the version. */
  readonly data: Readonly<Record<string, unknown>>
  /** The version number Vault returned. */
  readonly version: number
}

/**
 * A small Vault client for KV v2 reads: it logs in (token, AppRole or Kubernetes), renews its
 * token before it expires (`auth/token/lookup-self`, `auth/token/renew-self`) and logs in again
 * when renewal is no longer possible. Errors name the path and the address, never a token.
 *
 * @example
 * ```ts
 * const vault = createVaultClient({
 *   address: 'https://vault.internal:8200',
 *   namespace: 'team-a',
 *   auth: { method: 'kubernetes', role: 'orders' },
 * })
 * const { data } = await vault.readKv('secret', 'orders/db')
 * vault.close()
 * ```
 */
export interface VaultClient {
  /** The address without credentials, as shown in errors. */
  readonly address: string
  /** Logs in (or looks the token up) and schedules renewal. Idempotent. */
  init: () => Promise<void>
  /**
   * Reads `GET /v1/<mount>/data/<path>`, the latest version or `version`.
   * @throws {SecretsError} a `PALISADE_SECRET_VAULT_*` code.
   */
  readKv: (
    mount: string,
    path: string,
    options?: { version?: number | undefined; signal?: AbortSignal | undefined },
  ) => Promise<VaultKvSecret>
  /** Stops renewing. Idempotent; the token is not revoked. */
  close: () => void
}

const DEFAULT_JWT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token'

function reveal(value: unknown, name: string): string {
  if (isSecret(value)) value = value.reveal()
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`"${name}" option must be a non-empty string or Secret`)
  }
  return value
}

function segment(value: unknown, name: string): string {
  const text = stringOption(value, name, '')
  return text.replace(/^\/+|\/+$/g, '')
}

interface Token {
  value: Secret
  renewable: boolean
}

/**
 * Creates a {@link VaultClient}. Nothing is sent until `init()` or the first read.
 *
 * @example
 * ```ts
 * const vault = createVaultClient({
 *   address: process.env.VAULT_ADDR ?? 'https://vault.internal:8200',
 *   auth: { method: 'approle', roleId: 'orders', secretId: new Secret(process.env.SECRET_ID ?? '') },
 * })
 * ```
 */
export function createVaultClient(options: VaultClientOptions): VaultClient {
  requireObject(options, 'createVaultClient() takes options')
  checkOptionNames(options as object as Record<string, unknown>, CLIENT_OPTIONS, CLIENT)
  const rawAddress = stringOption(options.address, 'address', '')
  let url: URL
  try {
    url = new URL(rawAddress)
  } catch {
    throw new TypeError('"address" option must be an http or https URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('"address" option must be an http or https URL')
  }
  url.username = ''
  url.password = ''
  const base = url.href.replace(/\/+$/, '')
  envOption(options.env)
  if (
    url.protocol === 'http:' &&
    !isLoopbackHostname(url.hostname) &&
    productionLike(options.env ?? process.env)
  ) {
    throw new TypeError(
      `"address" option (VAULT_ADDR) must be an https URL in a production-like environment unless its host is loopback: ${base} would send credentials in clear text`,
    )
  }
  const namespace =
    options.namespace === undefined ? undefined : stringOption(options.namespace, 'namespace', '')
  const timeoutMs = integerOption(options.timeoutMs, 'timeoutMs', 5000, 1)
  const logger = loggerOption<SecretsLogger>(options.logger, 'logger', silentLogger)
  const auth = options.auth as unknown
  if (!isObject(auth)) throw new TypeError('"auth" option must be an object')
  let login: (() => Promise<Token>) | undefined
  let staticToken: Secret | undefined
  const method = auth['method']
  if (typeof method === 'string' && Object.hasOwn(AUTH_OPTIONS, method)) {
    checkOptionNames(auth, AUTH_OPTIONS[method as VaultAuth['method']], CLIENT, { path: 'auth' })
  }
  switch (method) {
    case 'token':
      staticToken = new Secret(reveal(auth['token'], 'auth.token'), { name: 'VAULT_TOKEN' })
      break
    case 'approle': {
      const roleId = reveal(auth['roleId'], 'auth.roleId')
      const secretId = new Secret(reveal(auth['secretId'], 'auth.secretId'))
      const mount = segment(auth['mount'] ?? 'approle', 'auth.mount')
      login = () => loginAt(mount, { role_id: roleId, secret_id: secretId.reveal() }, 'AppRole')
      break
    }
    case 'kubernetes': {
      const role = reveal(auth['role'], 'auth.role')
      const jwtPath = stringOption(auth['jwtPath'], 'auth.jwtPath', DEFAULT_JWT_PATH)
      const mount = segment(auth['mount'] ?? 'kubernetes', 'auth.mount')
      login = async () => {
        let jwt: string
        try {
          jwt = readSecretFile(jwtPath)
        } catch (error) {
          // readSecretFile's messages name the path and the problem, never the content.
          const reason = error instanceof SecretsError ? error.message : jwtPath
          throw new SecretsError(
            'PALISADE_SECRET_VAULT_AUTH_FAILED',
            `Vault Kubernetes login at ${base} cannot read the service-account token: ${reason}`,
            { path: jwtPath, source: base, cause: error },
          )
        }
        return loginAt(mount, { role, jwt }, 'Kubernetes')
      }
      break
    }
    default:
      throw new TypeError('"auth.method" option must be one of token, approle, kubernetes')
  }

  let token: Token | undefined
  let pending: Promise<Token> | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false

  async function request(
    method: 'GET' | 'POST',
    path: string,
    what: string,
    init: { body?: unknown; token?: Secret | undefined; signal?: AbortSignal | undefined },
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (init.token !== undefined) headers['x-vault-token'] = init.token.reveal()
    if (namespace !== undefined) headers['x-vault-namespace'] = namespace
    if (init.body !== undefined) headers['content-type'] = 'application/json'
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout])
    let response: Response
    let text: string
    try {
      // fetch would repeat the token and the login body to wherever a redirect points.
      response = await fetch(`${base}/v1/${path}`, {
        method,
        headers,
        signal,
        redirect: 'manual',
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      })
      text = await response.text()
    } catch (error) {
      if (timeout.aborted) {
        throw new SecretsError(
          'PALISADE_SECRET_VAULT_TIMEOUT',
          `Vault at ${base} did not answer ${what} within ${timeoutMs} ms`,
          { source: `${base}/v1/${path}`, cause: error },
        )
      }
      throw new SecretsError(
        'PALISADE_SECRET_VAULT_UNREACHABLE',
        `Vault at ${base} is unreachable for ${what}: ${describeNetworkFailure(error).reason}`,
        { source: `${base}/v1/${path}`, cause: error },
      )
    }
    let body: Record<string, unknown> = {}
    if (text !== '') {
      try {
        const parsed: unknown = JSON.parse(text)
        if (isObject(parsed)) body = parsed
      } catch {
        // A proxy's HTML error page: the status says enough.
      }
    }
    if (response.status >= 300 && response.status < 400) {
      throw redirectError(response, what, `${base}/v1/${path}`)
    }
    return { status: response.status, body }
  }

  function redirectError(response: Response, what: string, source: string): SecretsError {
    const location = response.headers.get('location')
    let target = 'no Location'
    if (location !== null) {
      try {
        target = new URL(location, source).origin
      } catch {
        target = 'an invalid Location'
      }
    }
    return new SecretsError(
      'PALISADE_SECRET_VAULT_ERROR',
      `Vault at ${base} answered ${what} with a redirect (${response.status}) to ${target}, which is not followed so that no credential leaves ${base}: set the "address" option (VAULT_ADDR) to the address that answers itself (the active node or its load balancer)`,
      { source },
    )
  }

  function statusError(
    status: number,
    body: Record<string, unknown>,
    what: string,
    source: string,
    atLogin: boolean,
  ): SecretsError {
    // Vault's `errors` strings never contain the token; they are kept for the operator.
    const errors = Array.isArray(body['errors'])
      ? body['errors']
          .filter((e): e is string => typeof e === 'string')
          .join('; ')
          .slice(0, 200)
      : ''
    const detail = errors === '' ? '' : `: ${errors}`
    let code: SecretsErrorCode
    let message: string
    if (status === 503) {
      code = 'PALISADE_SECRET_VAULT_SEALED'
      message = `Vault at ${base} is sealed or unavailable (503) for ${what}`
    } else if (atLogin && (status === 400 || status === 401 || status === 403)) {
      code = 'PALISADE_SECRET_VAULT_AUTH_FAILED'
      message = `Vault at ${base} refused ${what} (${status})${detail}`
    } else if (status === 403) {
      code = 'PALISADE_SECRET_VAULT_FORBIDDEN'
      message = `Vault at ${base} denied ${what} (403): the token expired, was revoked or lacks a policy for it`
    } else if (status === 404) {
      code = 'PALISADE_SECRET_VAULT_NOT_FOUND'
      message = `Vault at ${base} has no ${what} (404)`
    } else {
      code = 'PALISADE_SECRET_VAULT_ERROR'
      message = `Vault at ${base} answered ${status} to ${what}${detail}`
    }
    return new SecretsError(code, message, { source })
  }

  async function loginAt(mount: string, body: object, kind: string): Promise<Token> {
    const path = `auth/${mount}/login`
    const what = `the ${kind} login at ${path}`
    const response = await request('POST', path, what, { body })
    if (response.status !== 200) {
      throw statusError(response.status, response.body, what, `${base}/v1/${path}`, true)
    }
    const authBody = response.body['auth']
    if (!isObject(authBody) || typeof authBody['client_token'] !== 'string') {
      throw new SecretsError(
        'PALISADE_SECRET_VAULT_ERROR',
        `Vault at ${base} answered ${what} without auth.client_token`,
        { source: `${base}/v1/${path}` },
      )
    }
    const found: Token = {
      value: new Secret(authBody['client_token'], { name: 'VAULT_TOKEN' }),
      renewable: authBody['renewable'] === true,
    }
    schedule(found, numberField(authBody['lease_duration']))
    logger.debug({ source: `${base}/v1/${path}` }, 'logged in to Vault')
    return found
  }

  async function lookupSelf(value: Secret): Promise<Token> {
    const path = 'auth/token/lookup-self'
    const what = 'the token lookup (auth/token/lookup-self)'
    const response = await request('GET', path, what, { token: value })
    if (response.status !== 200) {
      throw statusError(response.status, response.body, what, `${base}/v1/${path}`, false)
    }
    const data = response.body['data']
    const found: Token = { value, renewable: isObject(data) && data['renewable'] === true }
    schedule(found, isObject(data) ? numberField(data['ttl']) : 0)
    return found
  }

  function numberField(value: unknown): number {
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0
  }

  // Renew at two thirds of the lease, like Vault Agent; a ttl of 0 never expires (root tokens).
  function schedule(current: Token, ttlSeconds: number): void {
    clearTimeout(timer)
    timer = undefined
    if (closed || ttlSeconds <= 0) return
    if (!current.renewable && login === undefined) {
      logger.warn(
        { code: 'PALISADE_SECRET_VAULT_FORBIDDEN', source: base, ttlSeconds },
        'the Vault token is not renewable and will expire; reads fail after that',
      )
      return
    }
    timer = setTimeout(
      () => {
        void refresh(current, ttlSeconds)
      },
      Math.max(1000, Math.floor((ttlSeconds * 1000 * 2) / 3)),
    )
    timer.unref()
  }

  async function refresh(current: Token, previousTtl: number): Promise<void> {
    if (closed || token !== current) return
    if (current.renewable) {
      const path = 'auth/token/renew-self'
      const what = 'the token renewal (auth/token/renew-self)'
      try {
        const response = await request('POST', path, what, { token: current.value, body: {} })
        if (response.status !== 200) {
          throw statusError(response.status, response.body, what, `${base}/v1/${path}`, false)
        }
        const authBody = response.body['auth']
        const ttl = isObject(authBody) ? numberField(authBody['lease_duration']) : 0
        current.renewable = isObject(authBody) && authBody['renewable'] === true
        // A lease that stopped growing has reached its max TTL: log in again before it ends.
        if (login !== undefined && ttl < previousTtl / 2) {
          await relogin(current)
          return
        }
        logger.debug({ source: base, ttlSeconds: ttl }, 'renewed the Vault token')
        schedule(current, ttl)
        return
      } catch (error) {
        logger.warn(
          {
            code: error instanceof SecretsError ? error.code : 'PALISADE_SECRET_VAULT_ERROR',
            source: base,
          },
          'renewing the Vault token failed',
        )
        if (login === undefined) {
          // Try again in a while: a sealed or unreachable Vault may come back before expiry.
          schedule(current, Math.max(3, previousTtl / 3))
          return
        }
      }
    }
    await relogin(current)
  }

  async function relogin(current: Token): Promise<void> {
    if (login === undefined || closed || token !== current) return
    try {
      token = await login()
    } catch (error) {
      logger.warn(
        {
          code: error instanceof SecretsError ? error.code : 'PALISADE_SECRET_VAULT_AUTH_FAILED',
          source: base,
        },
        'logging in to Vault again failed; the next read tries again',
      )
      token = undefined
    }
  }

  async function ensureToken(): Promise<Token> {
    if (token !== undefined) return token
    pending ??= (async () => {
      try {
        const found = login !== undefined ? await login() : await lookupSelf(staticToken!)
        if (!closed) token = found
        return found
      } finally {
        pending = undefined
      }
    })()
    return pending
  }

  async function readKv(
    mount: string,
    path: string,
    readOptions: { version?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<VaultKvSecret> {
    const cleanMount = segment(mount, 'mount')
    const cleanPath = segment(path, 'path')
    const version = readOptions.version
    const query = version === undefined ? '' : `?version=${String(version)}`
    const apiPath = `${cleanMount}/data/${cleanPath}${query}`
    const what = `the secret ${cleanMount}/data/${cleanPath}${version === undefined ? '' : ` version ${String(version)}`}`
    const source = `${base}/v1/${apiPath}`
    for (let attempt = 0; ; attempt++) {
      const current = await ensureToken()
      const response = await request('GET', apiPath, what, {
        token: current.value,
        signal: readOptions.signal,
      })
      if (response.status === 403 && login !== undefined && attempt === 0) {
        // The token expired or was revoked under us: log in once more and retry.
        if (token === current) token = undefined
        continue
      }
      if (response.status !== 200) {
        const data = response.body['data']
        if (response.status === 404 && isObject(data) && isObject(data['metadata'])) {
          // KV v2 answers a soft-deleted or destroyed version with 404 and its metadata.
          const gone = data['metadata']['destroyed'] === true ? 'destroyed' : 'deleted'
          throw new SecretsError(
            'PALISADE_SECRET_VAULT_NOT_FOUND',
            `Vault at ${base}: ${what} was ${gone} (404)`,
            { source },
          )
        }
        throw statusError(response.status, response.body, what, source, false)
      }
      const data = response.body['data']
      if (!isObject(data) || !isObject(data['data'])) {
        throw new SecretsError(
          'PALISADE_SECRET_VAULT_ERROR',
          `Vault at ${base} answered ${what} without data.data: is ${cleanMount} a KV version 2 mount?`,
          { source },
        )
      }
      const metadata = data['metadata']
      return {
        data: data['data'],
        version: isObject(metadata) ? numberField(metadata['version']) : 0,
      }
    }
  }

  return {
    address: base,
    init: async () => {
      await ensureToken()
    },
    readKv,
    close: () => {
      closed = true
      clearTimeout(timer)
      timer = undefined
    },
  }
}

/** Options of {@link vaultSource}. */
export interface VaultSourceOptions {
  /**
   * The KV v2 mount.
   * @default 'secret'
   */
  mount?: string | undefined
  /** The secret's path under the mount, e.g. `orders/db`. */
  path: string
  /** The key inside the secret's data, e.g. `password`. */
  key: string
  /** A specific version; the latest when unset. A pinned version is not polled. */
  version?: number | undefined
  /**
   * How often the secret is read again to notice rotation.
   * @default 300000 (5 minutes)
   */
  pollIntervalMs?: number | undefined
  /**
   * Each interval is varied by up to this fraction either way, so that many instances do not
   * read Vault in lockstep.
   * @default 0.1
   */
  jitter?: number | undefined
}

const SOURCE_OPTIONS = Object.keys({
  mount: true,
  path: true,
  key: true,
  version: true,
  pollIntervalMs: true,
  jitter: true,
} satisfies Record<keyof VaultSourceOptions, true>)

/**
 * Polls `run` every `intervalMs` ± `jitter`, never keeping the process alive. Returns a stop
 * function.
 */
export function poll(intervalMs: number, jitter: number, run: () => void): () => void {
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const next = (): void => {
    if (stopped) return
    const delay = Math.max(1, Math.round(intervalMs * (1 + jitter * (2 * Math.random() - 1))))
    timer = setTimeout(() => {
      run()
      next()
    }, delay)
    timer.unref()
  }
  next()
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

/** Validates the polling options shared by the Vault and AWS sources. */
export function pollOptions(options: Record<string, unknown>): {
  pollIntervalMs: number
  jitter: number
} {
  const pollIntervalMs = integerOption(options['pollIntervalMs'], 'pollIntervalMs', 300_000, 1)
  const jitter = options['jitter'] ?? 0.1
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) {
    throw new TypeError('"jitter" option must be a number from 0 up to (not including) 1')
  }
  return { pollIntervalMs, jitter }
}

/**
 * A key of a HashiCorp Vault KV v2 secret. The client logs in at `init`; the value is read
 * again every `pollIntervalMs` (with jitter) and a new one is announced as a `change`. A
 * missing path, a missing key, a sealed Vault or a refused token is an error naming the path.
 *
 * @example
 * ```ts
 * const vault = createVaultClient({ address: 'https://vault.internal:8200', auth })
 * const secrets = await loadSecrets({
 *   DB_PASSWORD: vaultSource(vault, { path: 'orders/db', key: 'password' }),
 * })
 * ```
 */
export function vaultSource(client: VaultClient, options: VaultSourceOptions): SecretSource {
  requireObject(client, '"client" option must be a client from createVaultClient()')
  if (typeof (client as Partial<VaultClient>).readKv !== 'function') {
    throw new TypeError('"client" option must be a client from createVaultClient()')
  }
  requireObject(options, 'vaultSource() takes options')
  checkOptionNames(options as object as Record<string, unknown>, SOURCE_OPTIONS, 'vaultSource()')
  const mount = segment(options.mount ?? 'secret', 'mount')
  const path = segment(options.path, 'path')
  const key = stringOption(options.key, 'key', '')
  const version =
    options.version === undefined ? undefined : integerOption(options.version, 'version', 1, 1)
  const { pollIntervalMs, jitter } = pollOptions(options as unknown as Record<string, unknown>)
  const location = `vault ${client.address}/v1/${mount}/data/${path}${version === undefined ? '' : `?version=${String(version)}`} (key ${key})`
  return {
    kind: 'vault',
    location,
    init: () => client.init(),
    read: async (signal) => {
      const secret = await client.readKv(mount, path, { version, signal })
      const value = secret.data[key]
      if (value === undefined || value === null) {
        throw new SecretsError(
          'PALISADE_SECRET_VAULT_KEY_NOT_FOUND',
          `${location}: the secret has no key ${key}`,
          { source: location },
        )
      }
      if (typeof value !== 'string') {
        throw new SecretsError(
          'PALISADE_SECRET_INVALID',
          `${location}: key ${key} holds a ${typeof value}, not a string`,
          { source: location },
        )
      }
      return value
    },
    watch: version === undefined ? (onChange) => poll(pollIntervalMs, jitter, onChange) : undefined,
  }
}
