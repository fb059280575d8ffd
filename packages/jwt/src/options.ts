import { checkOptionNames, isLoopbackHostname, isObject } from '@palisade/errors'
import type { JwksOptions } from './jwks.js'
import { jwksDefaults } from './jwks.js'
import { isSupportedAlgorithm } from './signature.js'
import type { Claims, Logger } from './types.js'

/** The algorithms accepted unless told otherwise: asymmetric only. */
export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'PS256',
  'ES256',
  'EdDSA',
])

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /** The expected `iss`, exactly; also the base of OIDC discovery when `jwksUrl` is not given. */
  readonly issuer: string
  /** The expected `aud`; a token must name at least one of them. */
  readonly audience: string | readonly string[]
  /** The JWKS endpoint. @default discovered from `${issuer}/.well-known/openid-configuration` */
  readonly jwksUrl?: string | undefined
  /** Accepted `alg` values. `none` and HMAC algorithms are refused. @default ['RS256','PS256','ES256','EdDSA'] */
  readonly algorithms?: readonly string[] | undefined
  /** Accept `http://` issuer and JWKS URLs on loopback hosts (local tests only). @default false */
  readonly allowInsecureHttp?: boolean | undefined
  /** Seconds of clock skew tolerated for `exp`, `nbf` and `iat`. @default 5 */
  readonly clockTolerance?: number | undefined
  /** Largest accepted age of a token (from `iat`), in seconds. @default no limit */
  readonly maxTokenAge?: number | undefined
  /** Claims a token must carry besides `exp`, `iss` and `aud` (always required). @default [] */
  readonly requiredClaims?: readonly string[] | undefined
  /**
   * Accepted `typ` header values, compared without the `application/` prefix; e.g. `['at+jwt']`
   * for RFC 9068 access tokens. @default any
   */
  readonly typ?: string | readonly string[] | undefined
  /** More checks on the verified claims; return a string naming what is wrong to refuse. */
  readonly checkClaims?: ((claims: Claims) => string | undefined) | undefined
  /** Largest token accepted, in bytes, refused before any cryptography. @default 8192 */
  readonly maxTokenBytes?: number | undefined
  /** Read tokens from this cookie too (browser apps). @default off */
  readonly cookie?: string | undefined
  /** The `realm` of `WWW-Authenticate` challenges. @default 'api' */
  readonly realm?: string | undefined
  /** JWKS cache tuning. */
  readonly jwks?: JwksOptions | undefined
  /**
   * Cache verified tokens (a bounded LRU keyed by the token's hash; entries end at `exp` and
   * whenever the key set changes). @default off
   */
  readonly tokenCache?: { readonly max?: number | undefined } | false | undefined
  /** A pino-compatible logger. @default silent */
  readonly logger?: Logger | undefined
  /** The fetch implementation, e.g. one with a proxy agent. @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch | undefined
}

export interface ResolvedOptions {
  readonly issuer: string
  readonly audience: readonly string[]
  readonly jwksUrl: string | undefined
  readonly algorithms: readonly string[]
  readonly allowInsecureHttp: boolean
  readonly clockTolerance: number
  readonly maxTokenAge: number | undefined
  readonly requiredClaims: readonly string[]
  readonly typ: readonly string[] | undefined
  readonly checkClaims: ((claims: Claims) => string | undefined) | undefined
  readonly maxTokenBytes: number
  readonly cookie: string | undefined
  readonly realm: string
  readonly jwks: typeof jwksDefaults
  readonly tokenCache: number
  readonly logger: Logger | undefined
  readonly fetch: typeof globalThis.fetch
}

/** Every option name of {@link createVerifier}. */
export const VERIFIER_OPTIONS = Object.keys({
  issuer: true,
  audience: true,
  jwksUrl: true,
  algorithms: true,
  allowInsecureHttp: true,
  clockTolerance: true,
  maxTokenAge: true,
  requiredClaims: true,
  typ: true,
  checkClaims: true,
  maxTokenBytes: true,
  cookie: true,
  realm: true,
  jwks: true,
  tokenCache: true,
  logger: true,
  fetch: true,
} satisfies Record<keyof VerifierOptions, true>)
const VERIFIER = 'createVerifier()'
const REPLACES = ['express-oauth2-jwt-bearer', '@fastify/jwt'] as const

function fail(message: string): never {
  throw new TypeError(message)
}

/** Checks an issuer or JWKS URL: https, or http on loopback when insecure HTTP is allowed. */
export function checkEndpoint(name: string, value: unknown, allowInsecureHttp: boolean): string {
  if (typeof value !== 'string' || value === '') fail(`"${name}" option must be a URL string`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(`"${name}" option must be an absolute URL`)
  }
  if (url.username !== '' || url.password !== '')
    fail(`"${name}" option must not contain credentials`)
  if (url.protocol === 'https:') return value
  if (url.protocol === 'http:') {
    if (!isLoopbackHostname(url.hostname))
      fail(`"${name}" option must use https:// (http:// is only allowed on loopback hosts)`)
    if (!allowInsecureHttp)
      fail(
        `"${name}" option uses http://; set "allowInsecureHttp" (AUTH_ALLOW_INSECURE_HTTP=true) for local tests`,
      )
    return value
  }
  return fail(`"${name}" option must use https://`)
}

/** Checks an algorithm allowlist: not empty, no `none`, no HMAC with a key set. */
export function checkAlgorithms(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0)
    fail('"algorithms" option must list at least one algorithm')
  for (const alg of value as unknown[]) {
    if (typeof alg !== 'string') fail('"algorithms" option must be an array of strings')
    if (alg.toLowerCase() === 'none') fail('"algorithms" option must not include "none"')
    if (/^HS\d+$/i.test(alg))
      fail(`"algorithms" option must not include ${alg}: symmetric keys cannot come from a JWKS`)
    if (!isSupportedAlgorithm(alg))
      fail(`"algorithms" option has the unsupported algorithm "${alg}"`)
  }
  return Object.freeze([...new Set(value as string[])])
}

function positive(name: string, value: unknown, integer = true): void {
  if (value === undefined) return
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    fail(`"${name}" option must be a positive ${integer ? 'integer' : 'number'}`)
  }
}

/** Validates every option once, when the verifier is created, and fills in the defaults. */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof (options as unknown) !== 'object' || (options as unknown) === null)
    fail('options must be an object')
  checkOptionNames(options as object as Record<string, unknown>, VERIFIER_OPTIONS, VERIFIER, {
    replaces: REPLACES,
  })
  const allowInsecureHttp = options.allowInsecureHttp ?? false
  if (typeof allowInsecureHttp !== 'boolean') fail('"allowInsecureHttp" option must be a boolean')
  const issuer = checkEndpoint('issuer', options.issuer, allowInsecureHttp)
  const jwksUrl =
    options.jwksUrl === undefined
      ? undefined
      : checkEndpoint('jwksUrl', options.jwksUrl, allowInsecureHttp)
  const audienceList: unknown[] =
    typeof options.audience === 'string'
      ? [options.audience]
      : Array.isArray(options.audience)
        ? [...(options.audience as unknown[])]
        : []
  if (audienceList.length === 0 || audienceList.some((a) => typeof a !== 'string' || a === '')) {
    fail('"audience" option must be a non-empty string or array of strings')
  }
  const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS)
  const clockTolerance = options.clockTolerance ?? 5
  if (
    typeof clockTolerance !== 'number' ||
    !Number.isFinite(clockTolerance) ||
    clockTolerance < 0 ||
    clockTolerance > 300
  ) {
    fail('"clockTolerance" option must be a number of seconds from 0 to 300')
  }
  positive('maxTokenAge', options.maxTokenAge, false)
  positive('maxTokenBytes', options.maxTokenBytes)
  const requiredClaims = options.requiredClaims ?? []
  if (
    !Array.isArray(requiredClaims) ||
    requiredClaims.some((c) => typeof c !== 'string' || c === '')
  ) {
    fail('"requiredClaims" option must be an array of claim names')
  }
  let typ: readonly string[] | undefined
  if (options.typ !== undefined) {
    const list: unknown[] =
      typeof options.typ === 'string'
        ? [options.typ]
        : Array.isArray(options.typ)
          ? [...(options.typ as unknown[])]
          : []
    if (list.length === 0 || list.some((t) => typeof t !== 'string' || t === ''))
      fail('"typ" option must be a non-empty string or array of strings')
    typ = (list as string[]).map(normaliseTyp)
  }
  if (options.checkClaims !== undefined && typeof options.checkClaims !== 'function')
    fail('"checkClaims" option must be a function')
  if (
    options.cookie !== undefined &&
    (typeof options.cookie !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(options.cookie))
  ) {
    fail('"cookie" option must be a cookie name')
  }
  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || realm === '' || /["\\\r\n]/.test(realm))
    fail('"realm" option must be a non-empty string without quotes')
  const jwks = { ...jwksDefaults }
  if (options.jwks !== undefined && !isObject(options.jwks)) fail('"jwks" option must be an object')
  checkOptionNames(options.jwks ?? {}, Object.keys(jwksDefaults), VERIFIER, {
    path: 'jwks',
    replaces: REPLACES,
  })
  for (const [key, value] of Object.entries(options.jwks ?? {})) {
    if (value === undefined) continue
    if (key === 'refreshAhead') {
      if (typeof value !== 'number' || value <= 0 || value > 1)
        fail('"jwks.refreshAhead" option must be a number above 0 and at most 1')
    } else if (key === 'staleIfErrorMs') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
        fail('"jwks.staleIfErrorMs" option must be a non-negative integer')
    } else {
      positive(`jwks.${key}`, value)
    }
    ;(jwks as Record<string, number>)[key] = value as number
  }
  if (jwks.minCacheMaxAgeMs > jwks.maxCacheMaxAgeMs)
    fail('"jwks.minCacheMaxAgeMs" option must not exceed "jwks.maxCacheMaxAgeMs"')
  let tokenCache = 0
  if (options.tokenCache !== undefined && options.tokenCache !== false) {
    if (typeof (options.tokenCache as unknown) !== 'object')
      fail('"tokenCache" option must be false or { max }')
    checkOptionNames(options.tokenCache, ['max'], VERIFIER, { path: 'tokenCache' })
    tokenCache = options.tokenCache.max ?? 10_000
    positive('tokenCache.max', tokenCache)
  }
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') fail('"fetch" option must be a function')
  return {
    issuer,
    audience: Object.freeze(audienceList as string[]),
    jwksUrl,
    algorithms,
    allowInsecureHttp,
    clockTolerance,
    maxTokenAge: options.maxTokenAge,
    requiredClaims: Object.freeze([...(requiredClaims as readonly string[])]),
    typ,
    checkClaims: options.checkClaims,
    maxTokenBytes: options.maxTokenBytes ?? 8192,
    cookie: options.cookie,
    realm,
    jwks,
    tokenCache,
    logger: options.logger,
    fetch: fetchImpl,
  }
}

/** `application/at+jwt` and `at+jwt` are the same type (RFC 7515 §4.1.9). */
export function normaliseTyp(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}
