import { checkOptionNames, isLoopbackHostname } from '@palisade/errors'

/**
 * A signing algorithm the dev issuer can create keys for.
 *
 * @example
 * ```ts
 * const algorithms: DevIssuerAlgorithm[] = ['ES256', 'RS256']
 * const issuer = await startDevIssuer({ algorithms })
 * ```
 */
export type DevIssuerAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA'

export const supportedAlgorithms: readonly DevIssuerAlgorithm[] = [
  'RS256',
  'PS256',
  'ES256',
  'EdDSA',
]

/**
 * Options of {@link startDevIssuer}. Every option is checked when `startDevIssuer` is called; a
 * bad value is a `TypeError` naming the option.
 *
 * @example
 * ```ts
 * const options: DevIssuerOptions = { port: 0, algorithms: ['ES256'], audience: 'orders-api' }
 * const issuer = await startDevIssuer(options)
 * ```
 */
export interface DevIssuerOptions {
  /**
   * Interface to listen on. Only loopback hosts are accepted (`127.x.x.x`, `::1`, `localhost`):
   * the issuer serves plain HTTP and its keys are for tests.
   * @default '127.0.0.1'
   */
  host?: string | undefined
  /**
   * Port to listen on; `0` picks a free port, read it back from `issuer`.
   * @default 0
   */
  port?: number | undefined
  /**
   * One key is created per algorithm, in this order; the first is the default signing algorithm
   * of `mint()`, `rotate()` and `POST /token`.
   * @default ['RS256', 'ES256', 'EdDSA']
   */
  algorithms?: readonly DevIssuerAlgorithm[] | undefined
  /**
   * `aud` of minted tokens unless `mint()` or `POST /token` asks for another.
   * @default 'api'
   */
  audience?: string | undefined
  /**
   * Lifetime of minted tokens in seconds unless `mint()` says otherwise.
   * @default 300
   */
  defaultTtlSeconds?: number | undefined
  /**
   * `max-age` of the `Cache-Control` header on the JWKS response, in seconds.
   * @default 300
   */
  jwksMaxAgeSeconds?: number | undefined
  /**
   * Start even in a production-like environment. The issuer hands out tokens for any subject
   * and scope to anyone who asks, so by default it refuses to start unless `APP_ENV` (which
   * wins) or `NODE_ENV` says `development`, `dev`, `local` or `test`; an unset environment is
   * production-like. Set this only where a production-like environment is known to be a test
   * bed, e.g. a benchmark harness on loopback.
   * @default false
   */
  allowProductionLike?: boolean | undefined
}

export interface ResolvedIssuerOptions {
  host: string
  port: number
  algorithms: readonly DevIssuerAlgorithm[]
  audience: string
  defaultTtlSeconds: number
  jwksMaxAgeSeconds: number
  allowProductionLike: boolean
}

const issuerDefaults: ResolvedIssuerOptions = {
  host: '127.0.0.1',
  port: 0,
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  audience: 'api',
  defaultTtlSeconds: 300,
  jwksMaxAgeSeconds: 300,
  allowProductionLike: false,
}

/** Drops `undefined` values (so they mean "default") and refuses option names that do not exist. */
export function definedOptions(
  value: unknown,
  what: string,
  known: readonly string[],
): Record<string, unknown> {
  if (value === undefined) return {}
  if (!isPlainObject(value)) throw new TypeError(`${what} must be an object`)
  checkOptionNames(value, known, what)
  const result: Record<string, unknown> = {}
  for (const [key, option] of Object.entries(value)) {
    if (option !== undefined) result[key] = option
  }
  return result
}

export function resolveIssuerOptions(options: unknown): ResolvedIssuerOptions {
  const given = definedOptions(options, 'startDevIssuer() options', Object.keys(issuerDefaults))
  const resolved = { ...issuerDefaults, ...given } as Record<keyof ResolvedIssuerOptions, unknown>
  const {
    host,
    port,
    algorithms,
    audience,
    defaultTtlSeconds,
    jwksMaxAgeSeconds,
    allowProductionLike,
  } = resolved
  if (typeof host !== 'string' || !isLoopbackHostname(host)) {
    throw new TypeError(
      `"host" option must be a loopback host (127.x.x.x, ::1 or localhost), got ${describe(host)}`,
    )
  }
  checkInteger(port, 'port', 0, 65535)
  checkAlgorithms(algorithms)
  if (typeof audience !== 'string' || audience === '') {
    throw new TypeError('"audience" option must be a non-empty string')
  }
  checkInteger(defaultTtlSeconds, 'defaultTtlSeconds', 1)
  checkInteger(jwksMaxAgeSeconds, 'jwksMaxAgeSeconds', 0)
  if (typeof allowProductionLike !== 'boolean') {
    throw new TypeError('"allowProductionLike" option must be a boolean')
  }
  return {
    host,
    port,
    algorithms: [...algorithms],
    audience,
    defaultTtlSeconds,
    jwksMaxAgeSeconds,
    allowProductionLike,
  }
}

const NON_PRODUCTION = new Set(['development', 'dev', 'local', 'test'])

/**
 * Refuses a production-like environment unless `allowProductionLike` is set: the issuer signs
 * tokens for any subject and scope without authenticating the client.
 */
export function checkEnvironment(
  allowProductionLike: boolean,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  if (allowProductionLike) return
  // The rule of every Palisade package, as @palisade/config's resolveEnvironment() applies it:
  // APP_ENV wins over NODE_ENV, only development/dev/local/test relax a check, unset is
  // production-like. Repeated here because @palisade/testing depends on @palisade/errors only.
  const appEnv = env['APP_ENV']?.trim()
  const nodeEnv = env['NODE_ENV']?.trim()
  const [variable, name] =
    appEnv !== undefined && appEnv !== ''
      ? ['APP_ENV', appEnv]
      : nodeEnv !== undefined && nodeEnv !== ''
        ? ['NODE_ENV', nodeEnv]
        : [undefined, undefined]
  if (name !== undefined && NON_PRODUCTION.has(name.toLowerCase())) return
  const reason =
    variable === undefined
      ? 'NODE_ENV and APP_ENV are unset'
      : `${variable} is ${JSON.stringify(name)}`
  throw new TypeError(
    `startDevIssuer() refuses to start in a production-like environment (${reason}): it signs tokens for any subject and scope without authenticating the client. Set APP_ENV or NODE_ENV to development, dev, local or test, or pass "allowProductionLike: true" to start it anyway.`,
  )
}

function checkAlgorithms(value: unknown): asserts value is readonly DevIssuerAlgorithm[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((alg) => supportedAlgorithms.includes(alg as DevIssuerAlgorithm))
  ) {
    throw new TypeError(
      `"algorithms" option must be a non-empty array of ${supportedAlgorithms.join(', ')}`,
    )
  }
  const repeated = value.find((alg, index) => value.indexOf(alg) !== index) as string | undefined
  if (repeated !== undefined) {
    throw new TypeError(`"algorithms" option lists "${repeated}" more than once`)
  }
}

/** `label` names the culprit, e.g. `'"alg" option'` or `'"alg" argument of rotate()'`. */
export function checkAlgorithm(value: unknown, label: string): asserts value is DevIssuerAlgorithm {
  if (!supportedAlgorithms.includes(value as DevIssuerAlgorithm)) {
    throw new TypeError(`${label} must be one of ${supportedAlgorithms.join(', ')}`)
  }
}

export function checkInteger(
  value: unknown,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) {
    return
  }
  let range = 'an integer'
  if (min === 0 && max === Number.MAX_SAFE_INTEGER) range = 'a non-negative integer'
  else if (min === 1 && max === Number.MAX_SAFE_INTEGER) range = 'a positive integer'
  else if (max !== Number.MAX_SAFE_INTEGER) range = `an integer from ${min} to ${max}`
  throw new TypeError(`"${name}" option must be ${range}`)
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

export function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value
}
