import { randomFillSync } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import helmet from 'helmet'
import type { HelmetOptions } from 'helmet'
import { checkOptionNames, isObject } from '@palisade/errors'
import { OWASP_PERMISSIONS_POLICY, serializePermissionsPolicy } from './permissions-policy.js'

/** The two built-in header sets: `api` for JSON APIs, `web` for pages rendered by the service. */
export type SecurityHeadersPreset = 'api' | 'web'

/** A CSP directive value: one source, several, or `null` to remove the directive. */
export type CspDirectiveValue = string | readonly string[] | null

/** Content-Security-Policy settings, merged per directive over the preset's policy. */
export interface ContentSecurityPolicyOverrides {
  /**
   * Directives by name (`'script-src'` or `scriptSrc`). Each one given replaces the preset's
   * value for that directive; `null` removes it; directives not named keep the preset's value.
   */
  readonly directives?: Readonly<Record<string, CspDirectiveValue>> | undefined
  /**
   * `false`: `directives` is the whole policy, the preset's directives are dropped.
   * @default true
   */
  readonly useDefaults?: boolean | undefined
  /**
   * Send `Content-Security-Policy-Report-Only` instead of enforcing.
   * @default false
   */
  readonly reportOnly?: boolean | undefined
}

/**
 * helmet's options by their canonical names (helmet's legacy aliases such as `hsts` or
 * `frameguard` are refused so that merging stays unambiguous). Each key given replaces the
 * preset's setting for that header: `false` drops the header, `true` restores helmet's default,
 * an object is passed to helmet. `contentSecurityPolicy` objects merge per directive instead.
 */
export interface HelmetOverrides {
  readonly contentSecurityPolicy?: boolean | ContentSecurityPolicyOverrides | undefined
  readonly crossOriginEmbedderPolicy?: HelmetOptions['crossOriginEmbedderPolicy']
  readonly crossOriginOpenerPolicy?: HelmetOptions['crossOriginOpenerPolicy']
  readonly crossOriginResourcePolicy?: HelmetOptions['crossOriginResourcePolicy']
  readonly originAgentCluster?: HelmetOptions['originAgentCluster']
  readonly referrerPolicy?: HelmetOptions['referrerPolicy']
  readonly strictTransportSecurity?: HelmetOptions['strictTransportSecurity']
  readonly xContentTypeOptions?: HelmetOptions['xContentTypeOptions']
  readonly xDnsPrefetchControl?: HelmetOptions['xDnsPrefetchControl']
  readonly xDownloadOptions?: HelmetOptions['xDownloadOptions']
  readonly xFrameOptions?: HelmetOptions['xFrameOptions']
  readonly xPermittedCrossDomainPolicies?: HelmetOptions['xPermittedCrossDomainPolicies']
  readonly xPoweredBy?: HelmetOptions['xPoweredBy']
  readonly xXssProtection?: HelmetOptions['xXssProtection']
}

/**
 * Settings that override a preset, or, on a route, the application's policy. Every key left
 * `undefined` keeps the value it overrides.
 */
export interface SecurityHeadersOverrides {
  /** helmet's options, merged key by key (see {@link HelmetOverrides}). */
  readonly helmet?: HelmetOverrides | undefined
  /**
   * `Permissions-Policy`: `true` for the OWASP Secure Headers Project value
   * ({@link OWASP_PERMISSIONS_POLICY}), `false` for none, a feature map merged per feature over
   * the current value (`{ camera: ['self'] }`), or a complete header value as a string.
   * @default true for `web`, false for `api`
   */
  readonly permissionsPolicy?:
    boolean | string | Readonly<Record<string, readonly string[]>> | undefined
  /**
   * `Cache-Control` set before the handler runs (a handler that sets its own wins), or `false`.
   * @default 'no-store, max-age=0' for `api`, false for `web`
   */
  readonly cacheControl?: string | false | undefined
  /**
   * Where browsers send CSP violation reports: a path (`/csp-reports`) or an absolute http(s)
   * URL. Adds `Reporting-Endpoints`, CSP `report-to` and, for browsers without the Reporting
   * API, `report-uri`. `false` removes reporting (on a route).
   * @default undefined (no reporting)
   */
  readonly reportUri?: string | false | undefined
  /**
   * `false`: report through `report-uri` only, without `Reporting-Endpoints` and `report-to`.
   * Chromium ignores `report-uri` whenever `report-to` is present, and only delivers Reporting
   * API reports for HTTPS pages, so a service reached over plain HTTP (local development) sees
   * Chromium's reports only with `false`.
   * @default true
   */
  readonly reportTo?: boolean | undefined
  /**
   * Endpoint name used in `Reporting-Endpoints` and `report-to`.
   * @default 'csp-endpoint'
   */
  readonly reportGroup?: string | undefined
  /**
   * A fresh random nonce per request in `script-src` and `style-src`, handed to templates.
   * @default true for `web`, false for `api`
   */
  readonly nonce?: boolean | undefined
  /**
   * `'https'`: `Strict-Transport-Security` only on requests the framework considers HTTPS
   * (Express `req.secure`, Fastify `request.protocol`, Koa `ctx.secure`, each honouring its
   * trust-proxy setting); `'always'`: on every response.
   * @default 'https'
   */
  readonly hsts?: 'https' | 'always' | undefined
  /**
   * Response headers removed from every response (names a framework or earlier middleware
   * set). `X-Powered-By` is removed through helmet's `xPoweredBy` setting, on by default.
   * @default ['Server']
   */
  readonly removeHeaders?: readonly string[] | undefined
}

/** Options of {@link createSecurityHeaders}: a preset plus {@link SecurityHeadersOverrides}. */
export interface SecurityHeadersOptions extends SecurityHeadersOverrides {
  /**
   * The base header set.
   * @default 'api'
   */
  readonly preset?: SecurityHeadersPreset | undefined
}

/** A header name and value. */
export type HeaderEntry = readonly [name: string, value: string]

/** The part of Node's `ServerResponse` a policy writes to. */
export interface HeaderTarget {
  setHeader(name: string, value: string): unknown
  removeHeader(name: string): unknown
}

/**
 * A compiled security-header policy: helmet ran once at construction, so applying it to a
 * response only sets precomputed values. `applyTo()` does it for one response (the adapters call
 * it): set every `headers` entry, remove every `remove` name, set `Strict-Transport-Security` to
 * `httpsOnlyHsts` on HTTPS requests, and, when `nonceHeader` is set, set that header to
 * `contentSecurityPolicy(nonce)` with a fresh {@link createNonce} value.
 */
export interface SecurityHeadersPolicy {
  /** The preset this policy starts from. */
  readonly preset: SecurityHeadersPreset
  /** Headers with fixed values, set on every response, in a stable order. */
  readonly headers: readonly HeaderEntry[]
  /** Header names removed from every response. */
  readonly remove: readonly string[]
  /** The `Strict-Transport-Security` value set on HTTPS requests only, if any. */
  readonly httpsOnlyHsts: string | undefined
  /** The CSP header built per request with a nonce, or `undefined` when there is no nonce. */
  readonly nonceHeader:
    'Content-Security-Policy' | 'Content-Security-Policy-Report-Only' | undefined
  /** Every header name this policy can set (used to undo it on a route). */
  readonly names: readonly string[]
  /** The CSP value carrying `nonce`; only meaningful when `nonceHeader` is set. */
  contentSecurityPolicy(nonce: string): string
  /**
   * Sets the policy's headers on a Node `ServerResponse` (the raw response, so a handler's own
   * header still wins): HSTS only when `secure`, and with a nonce policy the CSP for `nonce`, or
   * for a fresh one when `nonce` is undefined. Returns the nonce used, `undefined` without one.
   */
  applyTo(response: HeaderTarget, secure: boolean, nonce?: string): string | undefined
  /** All headers for one request, for tests and for frameworks without an adapter. */
  headersFor(request: {
    readonly secure: boolean
    readonly nonce?: string | undefined
  }): Record<string, string>
  /** A policy with route overrides merged over this one's settings (see README). */
  withOverrides(overrides: SecurityHeadersOverrides): SecurityHeadersPolicy
}

const HELMET_KEYS = [
  'crossOriginEmbedderPolicy',
  'crossOriginOpenerPolicy',
  'crossOriginResourcePolicy',
  'originAgentCluster',
  'referrerPolicy',
  'strictTransportSecurity',
  'xContentTypeOptions',
  'xDnsPrefetchControl',
  'xDownloadOptions',
  'xFrameOptions',
  'xPermittedCrossDomainPolicies',
  'xPoweredBy',
  'xXssProtection',
] as const
type HelmetKey = (typeof HELMET_KEYS)[number]

const OVERRIDE_KEYS = Object.keys({
  helmet: true,
  permissionsPolicy: true,
  cacheControl: true,
  reportUri: true,
  reportGroup: true,
  reportTo: true,
  nonce: true,
  hsts: true,
  removeHeaders: true,
} satisfies Record<keyof SecurityHeadersOverrides, true>)
const OPTION_KEYS = ['preset', ...OVERRIDE_KEYS]
const HELMET_OPTION_KEYS = ['contentSecurityPolicy', ...HELMET_KEYS]
const CSP_KEYS = Object.keys({
  directives: true,
  useDefaults: true,
  reportOnly: true,
} satisfies Record<keyof ContentSecurityPolicyOverrides, true>)
// helmet's legacy aliases (`hsts`, `frameguard`, ...) are refused with their canonical name, so
// that merging stays unambiguous.
const HELMET: { readonly replaces: readonly ['helmet'] } = { replaces: ['helmet'] }
const ROUTE = "the route's security header overrides"

type Directives = ReadonlyMap<string, readonly string[]>

interface Settings {
  readonly preset: SecurityHeadersPreset
  readonly presetDirectives: Directives
  readonly helmet: Readonly<Partial<Record<HelmetKey, unknown>>>
  readonly csp: false | { readonly directives: Directives; readonly reportOnly: boolean }
  readonly permissionsPolicy: false | string | Readonly<Record<string, readonly string[]>>
  readonly cacheControl: false | string
  readonly reportUri: string | undefined
  readonly reportGroup: string
  readonly reportTo: boolean
  readonly nonce: boolean
  readonly hsts: 'https' | 'always'
  readonly removeHeaders: readonly string[]
}

const API_DIRECTIVES: Directives = new Map([
  ['default-src', ["'none'"]],
  ['frame-ancestors', ["'none'"]],
])

function webDirectives(): Directives {
  const result = new Map<string, readonly string[]>()
  for (const [name, value] of Object.entries(helmet.contentSecurityPolicy.getDefaultDirectives())) {
    result.set(name, Array.from(value as Iterable<string>))
  }
  return result
}

function presetSettings(preset: SecurityHeadersPreset): Settings {
  const common = {
    reportUri: undefined,
    reportGroup: 'csp-endpoint',
    reportTo: true,
    hsts: 'https',
    removeHeaders: ['Server'],
  } as const
  if (preset === 'web') {
    const directives = webDirectives()
    return {
      ...common,
      preset,
      presetDirectives: directives,
      // helmet's defaults, header for header (an unset key is helmet's default).
      helmet: {},
      csp: { directives, reportOnly: false },
      permissionsPolicy: OWASP_PERMISSIONS_POLICY,
      cacheControl: false,
      nonce: true,
    }
  }
  return {
    ...common,
    preset,
    presetDirectives: API_DIRECTIVES,
    // OWASP REST Security Cheat Sheet and Secure Headers Project values; headers that only
    // matter to HTML documents are left out of JSON responses.
    helmet: {
      crossOriginEmbedderPolicy: false,
      crossOriginOpenerPolicy: false,
      crossOriginResourcePolicy: { policy: 'same-origin' },
      originAgentCluster: false,
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: { maxAge: 63_072_000, includeSubDomains: true },
      xContentTypeOptions: true,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xFrameOptions: { action: 'deny' },
      xPermittedCrossDomainPolicies: false,
      xPoweredBy: true,
      xXssProtection: false,
    },
    csp: { directives: API_DIRECTIVES, reportOnly: false },
    permissionsPolicy: false,
    cacheControl: 'no-store, max-age=0',
    nonce: false,
  }
}

const dashify = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
const UNSAFE_VALUE = /[\r\n\0]/
const TOKEN = /^[A-Za-z0-9_-]+$/

function headerValue(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '' || UNSAFE_VALUE.test(value)) {
    throw new TypeError(`"${name}" option must be a non-empty header value`)
  }
  return value
}

function mergeCsp(
  current: Settings['csp'],
  presetDirectives: Directives,
  value: unknown,
  option: string,
  what: string,
): Settings['csp'] {
  if (value === false) return false
  if (value === true) return { directives: presetDirectives, reportOnly: false }
  if (!isObject(value)) {
    throw new TypeError(`"${option}" option must be a boolean or an object`)
  }
  checkOptionNames(value, CSP_KEYS, what, { path: option })
  const { directives, useDefaults, reportOnly } = value
  if (useDefaults !== undefined && typeof useDefaults !== 'boolean') {
    throw new TypeError(`"${option}.useDefaults" option must be a boolean`)
  }
  if (reportOnly !== undefined && typeof reportOnly !== 'boolean') {
    throw new TypeError(`"${option}.reportOnly" option must be a boolean`)
  }
  const base = current === false ? { directives: presetDirectives, reportOnly: false } : current
  const result = new Map(useDefaults === false ? [] : base.directives)
  if (directives !== undefined) {
    if (!isObject(directives)) {
      throw new TypeError(`"${option}.directives" option must be an object`)
    }
    for (const [rawName, rawValue] of Object.entries(directives)) {
      const name = dashify(rawName)
      const where = `${option}.directives.${rawName}`
      if (rawValue === null) {
        result.delete(name)
        continue
      }
      const list: unknown[] = typeof rawValue === 'string' ? [rawValue] : (rawValue as unknown[])
      if (!Array.isArray(list) || !list.every((entry) => typeof entry === 'string')) {
        throw new TypeError(`"${where}" option must be a string, an array of strings or null`)
      }
      result.set(name, list)
    }
  }
  return { directives: result, reportOnly: reportOnly ?? base.reportOnly }
}

function mergePermissions(
  current: Settings['permissionsPolicy'],
  value: unknown,
): Settings['permissionsPolicy'] {
  if (value === false) return false
  if (value === true) return OWASP_PERMISSIONS_POLICY
  if (typeof value === 'string') return headerValue(value, 'permissionsPolicy')
  if (!isObject(value)) {
    throw new TypeError('"permissionsPolicy" option must be a boolean, a string or a feature map')
  }
  const base = typeof current === 'object' ? current : OWASP_PERMISSIONS_POLICY
  const merged = { ...base, ...(value as Record<string, readonly string[]>) }
  serializePermissionsPolicy(merged) // validates names and allowlists now, not per request
  return merged
}

function reportUriOption(value: unknown): string | undefined {
  if (value === false) return undefined
  if (
    typeof value !== 'string' ||
    !/^(?:\/|https?:\/\/)[^\s"',;\\]*$/.test(value) ||
    value.startsWith('//')
  ) {
    throw new TypeError(
      '"reportUri" option must be a path starting with "/" or an absolute http(s) URL without spaces, quotes, commas or semicolons',
    )
  }
  return value
}

function applyOverrides(settings: Settings, overrides: unknown, allowPreset: boolean): Settings {
  if (overrides === undefined) return settings
  if (!isObject(overrides)) throw new TypeError('security header options must be an object')
  const what = allowPreset ? 'createSecurityHeaders()' : ROUTE
  checkOptionNames(overrides, allowPreset ? OPTION_KEYS : OVERRIDE_KEYS, what, HELMET)
  const o = overrides as SecurityHeadersOptions
  let next: Settings = settings
  if (o.helmet !== undefined) {
    if (!isObject(o.helmet)) throw new TypeError('"helmet" option must be an object')
    checkOptionNames(o.helmet, HELMET_OPTION_KEYS, what, { ...HELMET, path: 'helmet' })
    const helmetSettings: Record<string, unknown> = { ...next.helmet }
    let csp = next.csp
    for (const [key, value] of Object.entries(o.helmet)) {
      if (value === undefined) continue
      if (key === 'contentSecurityPolicy') {
        csp = mergeCsp(csp, next.presetDirectives, value, 'helmet.contentSecurityPolicy', what)
      } else {
        if (typeof value !== 'boolean' && !isObject(value)) {
          throw new TypeError(`"helmet.${key}" option must be a boolean or an object`)
        }
        helmetSettings[key] = value
      }
    }
    next = { ...next, helmet: helmetSettings, csp }
  }
  if (o.permissionsPolicy !== undefined) {
    next = {
      ...next,
      permissionsPolicy: mergePermissions(next.permissionsPolicy, o.permissionsPolicy),
    }
  }
  if (o.cacheControl !== undefined) {
    next = {
      ...next,
      cacheControl: o.cacheControl === false ? false : headerValue(o.cacheControl, 'cacheControl'),
    }
  }
  if (o.reportUri !== undefined) next = { ...next, reportUri: reportUriOption(o.reportUri) }
  if (o.reportGroup !== undefined) {
    if (typeof o.reportGroup !== 'string' || !TOKEN.test(o.reportGroup)) {
      throw new TypeError('"reportGroup" option must be a token of letters, digits, "-" and "_"')
    }
    next = { ...next, reportGroup: o.reportGroup }
  }
  if (o.reportTo !== undefined) {
    if (typeof o.reportTo !== 'boolean') throw new TypeError('"reportTo" option must be a boolean')
    next = { ...next, reportTo: o.reportTo }
  }
  if (o.nonce !== undefined) {
    if (typeof o.nonce !== 'boolean') throw new TypeError('"nonce" option must be a boolean')
    next = { ...next, nonce: o.nonce }
  }
  const hsts: unknown = o.hsts
  if (hsts !== undefined) {
    if (hsts !== 'https' && hsts !== 'always') {
      throw new TypeError('"hsts" option must be "https" or "always"')
    }
    next = { ...next, hsts }
  }
  const removeHeaders: unknown = o.removeHeaders
  if (removeHeaders !== undefined) {
    if (
      !Array.isArray(removeHeaders) ||
      !removeHeaders.every(
        (name): name is string =>
          typeof name === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name),
      )
    ) {
      throw new TypeError('"removeHeaders" option must be an array of header names')
    }
    next = { ...next, removeHeaders: [...removeHeaders] }
  }
  return next
}

// Stands in for the nonce while helmet serialises the policy once; replaced per request.
const NONCE_MARK = 'palisadenonceplaceholder'

function directivesFor(settings: Settings): Record<string, string[]> | undefined {
  if (settings.csp === false) return undefined
  const directives = new Map(settings.csp.directives)
  if (settings.nonce) {
    for (const name of ['script-src', 'style-src']) {
      const base = directives.get(name) ?? directives.get('default-src') ?? []
      directives.set(name, [...base.filter((v) => v !== "'none'"), `'nonce-${NONCE_MARK}'`])
    }
  }
  if (settings.reportUri !== undefined) {
    directives.set('report-uri', [settings.reportUri])
    if (settings.reportTo) directives.set('report-to', [settings.reportGroup])
  }
  return Object.fromEntries(Array.from(directives, ([name, value]) => [name, [...value]]))
}

// helmet as a header recorder: its middleware only calls setHeader/removeHeader.
function runHelmet(options: HelmetOptions): { recorded: Map<string, string>; removed: string[] } {
  const recorded = new Map<string, string>()
  const removed: string[] = []
  const response = {
    setHeader(name: string, value: string) {
      recorded.set(name, value)
    },
    removeHeader(name: string) {
      removed.push(name)
    },
  }
  let failure: unknown
  try {
    helmet(options)(
      {} as unknown as IncomingMessage,
      response as unknown as ServerResponse,
      (error) => {
        failure = error
      },
    )
  } catch (error) {
    failure = error
  }
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : 'helmet refused the options'
    throw new TypeError(`"helmet" option is invalid: ${message}`, { cause: failure })
  }
  return { recorded, removed }
}

const brand = Symbol.for('palisade.http.security-headers-policy')

function compile(settings: Settings): SecurityHeadersPolicy {
  const directives = directivesFor(settings)
  const options = {
    ...settings.helmet,
    contentSecurityPolicy:
      directives === undefined
        ? false
        : {
            useDefaults: false,
            directives,
            reportOnly: settings.csp !== false && settings.csp.reportOnly,
          },
  } as HelmetOptions
  const { recorded, removed } = runHelmet(options)

  let hsts: string | undefined
  const hstsValue = recorded.get('Strict-Transport-Security')
  if (hstsValue !== undefined && settings.hsts === 'https') {
    hsts = hstsValue
    recorded.delete('Strict-Transport-Security')
  }
  let nonceHeader: SecurityHeadersPolicy['nonceHeader']
  let cspParts: readonly string[] = []
  for (const name of ['Content-Security-Policy', 'Content-Security-Policy-Report-Only'] as const) {
    const value = recorded.get(name)
    if (value?.includes(NONCE_MARK) === true) {
      nonceHeader = name
      cspParts = value.split(NONCE_MARK)
      recorded.delete(name)
    }
  }
  if (settings.permissionsPolicy !== false) {
    recorded.set(
      'Permissions-Policy',
      typeof settings.permissionsPolicy === 'string'
        ? settings.permissionsPolicy
        : serializePermissionsPolicy(settings.permissionsPolicy),
    )
  }
  if (settings.reportUri !== undefined && settings.reportTo && settings.csp !== false) {
    recorded.set('Reporting-Endpoints', `${settings.reportGroup}="${settings.reportUri}"`)
  }
  if (settings.cacheControl !== false) recorded.set('Cache-Control', settings.cacheControl)

  const headers: readonly HeaderEntry[] = Object.freeze(
    Array.from(recorded, ([name, value]) => Object.freeze([name, value] as const)),
  )
  // A header this policy sets is never also removed.
  const setNames = new Set(headers.map(([name]) => name.toLowerCase()))
  const remove = Object.freeze(
    Array.from(new Set([...removed, ...settings.removeHeaders])).filter(
      (name) => !setNames.has(name.toLowerCase()),
    ),
  )
  const names = Object.freeze([
    ...headers.map(([name]) => name),
    ...(hsts === undefined ? [] : ['Strict-Transport-Security']),
    ...(nonceHeader === undefined ? [] : [nonceHeader]),
  ])

  const contentSecurityPolicy = (nonce: string): string => cspParts.join(nonce)
  const applyTo = (response: HeaderTarget, secure: boolean, nonce?: string): string | undefined => {
    // eslint-disable-next-line @typescript-eslint/prefer-for-of -- hot path: no iterator, no destructuring
    for (let i = 0; i < headers.length; i++) response.setHeader(headers[i]![0], headers[i]![1])
    for (const name of remove) response.removeHeader(name)
    if (hsts !== undefined && secure) response.setHeader('Strict-Transport-Security', hsts)
    if (nonceHeader === undefined) return undefined
    const used = nonce ?? createNonce()
    response.setHeader(nonceHeader, contentSecurityPolicy(used))
    return used
  }
  const policy: SecurityHeadersPolicy = {
    preset: settings.preset,
    headers,
    remove,
    httpsOnlyHsts: hsts,
    nonceHeader,
    names,
    contentSecurityPolicy,
    applyTo,
    headersFor(request) {
      // What applyTo() sets on a response that has no headers yet (so nothing to remove).
      const result: Record<string, string> = {}
      applyTo(
        {
          setHeader: (name, value) => (result[name] = value),
          removeHeader: () => undefined,
        },
        request.secure,
        request.nonce,
      )
      return result
    },
    withOverrides(overrides) {
      return compile(applyOverrides(settings, overrides, false))
    },
  }
  Object.defineProperty(policy, brand, { value: true })
  return Object.freeze(policy)
}

// Random bytes are drawn from the CSPRNG in batches, as crypto.randomUUID() does: one
// randomBytes() call per request costs far more than the rest of the headers together.
const NONCE_BYTES = 16
const pool = Buffer.allocUnsafe(NONCE_BYTES * 256)
let poolOffset = pool.length

/**
 * A fresh CSP nonce: 16 bytes (128 bits, as the CSP specification asks at least) from the
 * operating system's CSPRNG, base64-encoded. Bytes come from a batch filled by
 * `crypto.randomFillSync()` and are never used twice.
 *
 * @example
 * ```ts
 * import { createNonce } from '@palisade/http'
 *
 * const nonce = createNonce() // e.g. 'q5rZ0m9sV2S0n0cF0GdlOw=='
 * ```
 */
export function createNonce(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const start = poolOffset
  poolOffset += NONCE_BYTES
  return pool.toString('base64', start, poolOffset)
}

/**
 * Builds a security-header policy on helmet. helmet runs once, here, against a header
 * recorder; the returned policy holds the resulting header values so that adapters only set
 * precomputed headers per request. Only the nonce-carrying CSP is assembled per request, by
 * joining helmet's serialised policy around the nonce. Options are validated now: a TypeError
 * names the option at fault.
 *
 * Merge order: the preset, then `options` (each key replaces the preset's value; helmet's
 * `contentSecurityPolicy.directives` and `permissionsPolicy` feature maps merge entry by
 * entry), then, per route, {@link SecurityHeadersPolicy.withOverrides} with the same rules.
 *
 * @example
 * ```ts
 * import { createSecurityHeaders } from '@palisade/http'
 *
 * const api = createSecurityHeaders() // preset 'api'
 * const web = createSecurityHeaders({
 *   preset: 'web',
 *   reportUri: '/csp-reports',
 *   helmet: { contentSecurityPolicy: { directives: { 'img-src': ["'self'", 'https://cdn.example.com'] } } },
 * })
 * console.log(web.headersFor({ secure: true }))
 * ```
 */
export function createSecurityHeaders(options: SecurityHeadersOptions = {}): SecurityHeadersPolicy {
  if (!isObject(options)) throw new TypeError('security header options must be an object')
  const preset = options.preset ?? 'api'
  if (preset !== 'api' && preset !== 'web') {
    throw new TypeError('"preset" option must be "api" or "web"')
  }
  return compile(applyOverrides(presetSettings(preset), options, true))
}

/**
 * True for a policy returned by {@link createSecurityHeaders}; adapters accept either options
 * or a policy, so one policy can serve several frameworks or apps.
 *
 * @example
 * ```ts
 * import { createSecurityHeaders, isSecurityHeadersPolicy } from '@palisade/http'
 *
 * isSecurityHeadersPolicy(createSecurityHeaders()) // true
 * ```
 */
export function isSecurityHeadersPolicy(value: unknown): value is SecurityHeadersPolicy {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  )
}

/**
 * The policy an adapter applies: `input` itself when it is already a policy, else
 * {@link createSecurityHeaders}(input).
 *
 * @example
 * ```ts
 * import { resolveSecurityHeaders } from '@palisade/http'
 *
 * const policy = resolveSecurityHeaders({ preset: 'web' })
 * ```
 */
export function resolveSecurityHeaders(
  input: SecurityHeadersOptions | SecurityHeadersPolicy | undefined,
): SecurityHeadersPolicy {
  return isSecurityHeadersPolicy(input) ? input : createSecurityHeaders(input)
}
