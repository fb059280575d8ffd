import { randomBytes } from 'node:crypto'
import {
  booleanOption,
  checkOptionNames,
  functionOption,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
  stringOption,
} from '@palisade/errors'
import { RateLimitError } from './errors.js'
import type { RateLimitWarningCode } from './errors.js'
import {
  QUOTA_EXCEEDED_TITLE,
  QUOTA_EXCEEDED_TYPE,
  partitionKey,
  rateLimitHeaders,
} from './headers.js'
import type { RateLimitPolicy, RateLimitPolicyState, RateLimitHeaderFormat } from './headers.js'
import { digest, ipKey } from './keys.js'
import { MemoryStore } from './memory-store.js'
import type { ConsumeOptions, ConsumeResult, RateLimitAlgorithm, RateLimitStore } from './store.js'
import { telemetry } from './telemetry.js'

/**
 * A pino-compatible logger.
 *
 * @example
 * ```ts
 * createRateLimiter({ limit: 100, logger: pino() })
 * ```
 */
export interface RateLimitLogger {
  debug: (object: Record<string, unknown>, message: string) => void
  info: (object: Record<string, unknown>, message: string) => void
  warn: (object: Record<string, unknown>, message: string) => void
  error: (object: Record<string, unknown>, message: string) => void
}

/**
 * One limit of a limiter. A request passes only when every policy allows it.
 *
 * @example
 * ```ts
 * const burst: RateLimitPolicyOptions = { name: 'burst', limit: 100, windowMs: 60_000, algorithm: 'gcra' }
 * ```
 */
export interface RateLimitPolicyOptions {
  /** Shown in `RateLimit` headers and `violated-policies`: letters, digits, `_ . : -`. */
  readonly name: string
  /** Units (requests, or the cost of requests) allowed per window. */
  readonly limit: number
  /** Window length in milliseconds. */
  readonly windowMs: number
  /**
   * `fixed-window` counts per window; `gcra` refills continuously (token bucket with
   * burst = limit, constant memory per key) and needs a store with `consume`.
   * @default 'fixed-window'
   */
  readonly algorithm?: RateLimitAlgorithm | undefined
}

/**
 * What a limiter does when its store fails, times out or its circuit is open.
 *
 * @example
 * ```ts
 * createRateLimiter({ limit: 100, store, onStoreError: 'closed' satisfies StoreErrorMode })
 * ```
 */
export type StoreErrorMode = 'open' | 'closed' | 'local'

/**
 * How clients are told apart.
 *
 * @example
 * ```ts
 * const byTenant: RateLimitKey<Request> = (req) => req.get('x-tenant') ?? req.ip ?? 'unknown'
 * ```
 */
export type RateLimitKey<Req> =
  'ip' | 'subject-or-ip' | ((request: Req, client: RateLimitClient) => string | Promise<string>)

/**
 * The client facts a key function receives.
 *
 * @example
 * ```ts
 * createRateLimiter({ limit: 100, key: (_request, client) => client.subject ?? client.ipKey ?? 'unknown' })
 * ```
 */
export interface RateLimitClient {
  /** The client address as the framework resolved it (trust-proxy aware). */
  readonly ip: string | undefined
  /** `auth.subject` set by the Palisade auth adapters, when the request was authenticated. */
  readonly subject: string | undefined
  /** The address grouped as the limiter does (IPv6 by its subnet); `undefined` when malformed. */
  readonly ipKey: string | undefined
}

/**
 * Which misconfiguration warnings run; `true`/`false` switches them all.
 *
 * @example
 * ```ts
 * createRateLimiter({ limit: 100, validate: { xForwardedFor: false } })
 * ```
 */
export type RateLimitValidations =
  | boolean
  | {
      readonly trustProxy?: boolean | undefined
      readonly xForwardedFor?: boolean | undefined
      readonly forwardedHeader?: boolean | undefined
      readonly storeReuse?: boolean | undefined
      readonly ip?: boolean | undefined
      readonly cost?: boolean | undefined
      readonly doubleCount?: boolean | undefined
    }

/**
 * Per-route overrides (Fastify `config.rateLimit`, or `limiter.route()` elsewhere).
 *
 * @example
 * ```ts
 * const bulk = limiter.route({ cost: 10 } satisfies RouteRateLimitOptions)
 * ```
 */
export interface RouteRateLimitOptions<Req = unknown> {
  /** This route's cost per request. */
  readonly cost?: number | ((request: Req) => number | Promise<number>) | undefined
  /** This route's policies instead of the limiter's (names must differ from the limiter's to count apart). */
  readonly policies?: readonly RateLimitPolicyOptions[] | undefined
}

/**
 * Options of {@link createRateLimiter}.
 *
 * @example
 * ```ts
 * const options: RateLimitOptions = { limit: 600, windowMs: 60_000, onStoreError: 'local' }
 * ```
 */
export interface RateLimitOptions<Req = unknown> {
  /** The policies; or give `limit` and `windowMs` for a single policy. */
  readonly policies?: readonly RateLimitPolicyOptions[] | undefined
  /** Shorthand for one policy: its limit. */
  readonly limit?: number | undefined
  /** Shorthand for one policy: its window. @default 60000 */
  readonly windowMs?: number | undefined
  /** Shorthand for one policy: its algorithm. @default 'fixed-window' */
  readonly algorithm?: RateLimitAlgorithm | undefined
  /** Shorthand for one policy: its name. @default 'default' */
  readonly name?: string | undefined
  /**
   * Where counts live. A store without `consume` (any express-rate-limit store) charges
   * every request 1, supports `fixed-window` only, and all policies must share one window.
   * @default new MemoryStore()
   */
  readonly store?: RateLimitStore | undefined
  /** How clients are told apart. @default 'subject-or-ip' */
  readonly key?: RateLimitKey<Req> | undefined
  /**
   * For `key: 'subject-or-ip'` when the limiter runs before authentication: resolves the
   * verified subject of a request (`undefined` when it has none), e.g. through `oncePerRequest()`
   * of `@palisade/jwt` so that auth() later reuses the same verification. Ignored when the
   * adapter already passes `auth.subject`.
   */
  readonly subject?:
    ((request: Req) => string | undefined | Promise<string | undefined>) | undefined
  /** IPv6 addresses are grouped by this prefix length (32 to 64), or `false` for none. @default 56 */
  readonly ipv6Subnet?: number | false | undefined
  /** Units a request costs: a non-negative integer, or a function of the request. @default 1 */
  readonly cost?: number | ((request: Req) => number | Promise<number>) | undefined
  /** Requests for which this returns `true` are not limited (and get no headers). */
  readonly skip?: ((request: Req) => boolean | Promise<boolean>) | undefined
  /** Header form, or `false` for none. @default 'draft-10' */
  readonly headers?: RateLimitHeaderFormat | false | undefined
  /** Also send `X-RateLimit-Limit/Remaining/Reset`. @default false */
  readonly legacyHeaders?: boolean | undefined
  /**
   * Add `pk` (a keyed hash of the client key) to `RateLimit-Policy` and `RateLimit` items
   * (draft-8/10).
   * @default false
   */
  readonly partitionKey?: boolean | undefined
  /**
   * Key of the `pk` hash; give the same value to every instance for a stable `pk`.
   * @default random per process
   */
  readonly partitionKeySecret?: string | undefined
  /** What to do when the store fails. @default 'local' */
  readonly onStoreError?: StoreErrorMode | undefined
  /** Longest wait for one store call, in milliseconds. @default 250 */
  readonly storeTimeoutMs?: number | undefined
  /** Consecutive store failures that open the circuit. @default 5 */
  readonly circuitBreakerThreshold?: number | undefined
  /** How long the circuit stays open before one probe call, in milliseconds. @default 5000 */
  readonly circuitBreakerCooldownMs?: number | undefined
  /** A failing store is logged at most once per this many milliseconds. @default 60000 */
  readonly storeErrorLogIntervalMs?: number | undefined
  /** Misconfiguration warnings. @default true */
  readonly validate?: RateLimitValidations | undefined
  /** A pino-compatible logger. @default silent */
  readonly logger?: RateLimitLogger | undefined
}

/**
 * What adapters pass for each request.
 *
 * @example
 * ```ts
 * await limiter.check({ request: req, ip: req.ip, subject: req.auth?.subject, headers: req.headers, trustProxy: 'some' })
 * ```
 */
export interface RateLimitRequest<Req = unknown> {
  /** The framework request, given to `key`, `cost` and `skip` functions. */
  readonly request: Req
  /** `req.ip` / `request.ip` / `ctx.ip`: honours the framework's trust-proxy setting. */
  readonly ip: string | undefined
  /** `auth.subject` from the Palisade auth adapters. */
  readonly subject?: string | undefined
  /** Request headers, lower-cased. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The socket's peer address. */
  readonly remoteAddress?: string | undefined
  /**
   * The framework's trust-proxy setting: `off`, `all` (any client can pick its address), or
   * `some` (a hop count, list or function); `undefined` when the adapter cannot tell.
   */
  readonly trustProxy?: 'off' | 'all' | 'some' | undefined
}

/**
 * A rejection the adapter sends as is.
 *
 * @example
 * ```ts
 * if (decision.rejection) res.writeHead(decision.rejection.status, { 'Content-Type': decision.rejection.contentType }).end(decision.rejection.body)
 * ```
 */
export interface RateLimitRejection {
  /** 429, or 503 when the store is down and `onStoreError` is `closed`. */
  readonly status: number
  /** `application/problem+json; charset=utf-8`. */
  readonly contentType: string
  /** The serialized problem details. */
  readonly body: string
  /** The problem details. */
  readonly problem: Readonly<Record<string, unknown>>
}

/**
 * How a request was decided.
 *
 * @example
 * ```ts
 * if (decision.outcome === 'failed_open') console.warn('rate limiting is off while the store is down')
 * ```
 */
export type RateLimitOutcome =
  | 'allowed'
  | 'limited'
  | 'skipped'
  | 'failed_open'
  | 'failed_closed'
  | 'local_allowed'
  | 'local_limited'

/**
 * A limiter's answer for one request.
 *
 * @example
 * ```ts
 * const decision = await limiter.check({ request: undefined, ip: '192.0.2.7', headers: {} })
 * for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value)
 * ```
 */
export interface RateLimitDecision {
  readonly outcome: RateLimitOutcome
  /** Headers to set on the response, whatever it is (includes `Retry-After` when rejected). */
  readonly headers: Readonly<Record<string, string>>
  /** Set when the request must be answered with an error instead of reaching the route. */
  readonly rejection: RateLimitRejection | undefined
}

/**
 * Compiled, validated per-route overrides.
 *
 * @example
 * ```ts
 * const route: RateLimitRoute = limiter.route({ cost: 5 })
 * await limiter.check(input, route)
 * ```
 */
export interface RateLimitRoute {
  readonly policies: readonly RateLimitPolicy[] | undefined
  readonly cost: number | ((request: never) => number | Promise<number>) | undefined
}

/**
 * A framework-agnostic limiter; adapters call `check` once per request.
 *
 * @example
 * ```ts
 * const limiter: RateLimiter = createRateLimiter({ limit: 100 })
 * await limiter.shutdown()
 * ```
 */
export interface RateLimiter<Req = unknown> {
  /** The limiter's policies. */
  readonly policies: readonly RateLimitPolicy[]
  /**
   * Decides one request; `await` it. Synchronous when the store answered synchronously (the
   * memory store), a promise otherwise. Never throws or rejects.
   */
  check: (
    input: RateLimitRequest<Req>,
    route?: RateLimitRoute,
  ) => RateLimitDecision | Promise<RateLimitDecision>
  /** Validates per-route overrides once (throws a TypeError naming the option). */
  route: (overrides: RouteRateLimitOptions<Req>) => RateLimitRoute
  /** Shuts the store down (when it has `shutdown`) and the local fallback. */
  shutdown: () => Promise<void>
}

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8'
// Every option name, checked against the interface by the compiler so that none is missed.
const RATE_LIMIT_OPTIONS = Object.keys({
  policies: true,
  limit: true,
  windowMs: true,
  algorithm: true,
  name: true,
  store: true,
  key: true,
  subject: true,
  ipv6Subnet: true,
  cost: true,
  skip: true,
  headers: true,
  legacyHeaders: true,
  partitionKey: true,
  partitionKeySecret: true,
  onStoreError: true,
  storeTimeoutMs: true,
  circuitBreakerThreshold: true,
  circuitBreakerCooldownMs: true,
  storeErrorLogIntervalMs: true,
  validate: true,
  logger: true,
} satisfies Record<keyof RateLimitOptions, true>)
const POLICY_OPTIONS = Object.keys({
  name: true,
  limit: true,
  windowMs: true,
  algorithm: true,
} satisfies Record<keyof RateLimitPolicyOptions, true>)
const ROUTE_OPTIONS = Object.keys({
  cost: true,
  policies: true,
} satisfies Record<keyof RouteRateLimitOptions, true>)
const ERL = ['express-rate-limit'] as const
const ROUTE = "the route's rate-limit options"
const NAME = /^[A-Za-z0-9_.:-]{1,64}$/
const usedStores = new WeakSet<object>()

function policiesOption(value: unknown, name: string, what: string): RateLimitPolicy[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`"${name}" option must be a non-empty array of policies`)
  }
  const seen = new Set<string>()
  return value.map((item: unknown, index) => {
    if (!isObject(item)) throw new TypeError(`"${name}[${index}]" option must be an object`)
    checkOptionNames(item, POLICY_OPTIONS, what, { path: `${name}[${index}]`, replaces: ERL })
    const policyName = item['name']
    if (typeof policyName !== 'string' || !NAME.test(policyName)) {
      throw new TypeError(
        `"${name}[${index}].name" option must be 1 to 64 letters, digits, "_", ".", ":" or "-"`,
      )
    }
    if (seen.has(policyName)) {
      throw new TypeError(`"${name}[${index}].name" option repeats the policy name "${policyName}"`)
    }
    seen.add(policyName)
    return {
      name: policyName,
      limit: integerOption(item['limit'], `${name}[${index}].limit`, Number.NaN, 1),
      windowMs: integerOption(item['windowMs'], `${name}[${index}].windowMs`, Number.NaN, 1),
      algorithm: algorithmOption(item['algorithm'], `${name}[${index}].algorithm`),
    }
  })
}

function algorithmOption(value: unknown, name: string): RateLimitAlgorithm {
  if (value === undefined) return 'fixed-window'
  if (value !== 'fixed-window' && value !== 'gcra') {
    throw new TypeError(`"${name}" option must be 'fixed-window' or 'gcra'`)
  }
  return value
}

function required(value: number, name: string): number {
  if (Number.isNaN(value)) throw new TypeError(`"${name}" option is required`)
  return value
}

function costOption(value: unknown, name: string): RateLimitRoute['cost'] {
  if (value === undefined) return undefined
  if (typeof value === 'function') return value as RateLimitRoute['cost']
  return integerOption(value, name, 0, 0)
}

function oneOf<T extends string>(
  value: unknown,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `"${name}" option must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
    )
  }
  return value as T
}

function validationsOption(value: unknown): Record<string, boolean> {
  const keys = [
    'trustProxy',
    'xForwardedFor',
    'forwardedHeader',
    'storeReuse',
    'ip',
    'cost',
    'doubleCount',
  ]
  if (value === undefined || typeof value === 'boolean') {
    return Object.fromEntries(keys.map((key) => [key, value ?? true]))
  }
  if (!isObject(value)) throw new TypeError('"validate" option must be a boolean or an object')
  checkOptionNames(value, keys, 'createRateLimiter()', { path: 'validate' })
  return Object.fromEntries(
    keys.map((key) => [key, booleanOption(value[key], `validate.${key}`, true)]),
  )
}

function header(headers: RateLimitRequest['headers'], name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value.join(',')
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/** Applies `next` to a value, or to what a promise resolves to: synchronous values stay synchronous. */
function then<T, R>(value: T | PromiseLike<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value)
}

/** What a store's `consume()` is asked for one policy. */
function consumeOptions(policy: RateLimitPolicy, cost: number): ConsumeOptions {
  return { cost, limit: policy.limit, windowMs: policy.windowMs, algorithm: policy.algorithm }
}

/** How many requests per limiter the request-shape misconfiguration checks look at. */
const VALIDATION_SAMPLE = 1000

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new RateLimitError(
          'PALISADE_RATE_LIMIT_STORE_TIMEOUT',
          `rate-limit store call exceeded "storeTimeoutMs" (${ms} ms)`,
        ),
      )
    }, ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}

/** Consecutive failures open the circuit; after the cooldown one call probes it. */
class CircuitBreaker {
  #failures = 0
  #openUntil: number | undefined
  #probing = false
  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
  ) {}

  allow(now: number): boolean {
    if (this.#openUntil === undefined) return true
    if (now >= this.#openUntil && !this.#probing) {
      this.#probing = true
      return true
    }
    return false
  }

  retryAfterMs(now: number): number {
    return this.#openUntil === undefined ? this.cooldownMs : Math.max(0, this.#openUntil - now)
  }

  success(): void {
    this.#failures = 0
    this.#openUntil = undefined
    this.#probing = false
  }

  failure(now: number): void {
    this.#failures += 1
    if (this.#probing || this.#failures >= this.threshold) this.#openUntil = now + this.cooldownMs
    this.#probing = false
  }
}

/**
 * Creates the framework-agnostic rate limiter that the Express, Fastify and Koa adapters
 * drive, so that all three answer identically. Every option is validated here; `check` never
 * rejects: a failing store is handled by `onStoreError`, with a per-call timeout and a circuit
 * breaker.
 *
 * @example
 * ```ts
 * import { createRateLimiter } from '@palisade/http'
 *
 * const limiter = createRateLimiter({
 *   policies: [
 *     { name: 'burst', limit: 100, windowMs: 60_000, algorithm: 'gcra' },
 *     { name: 'daily', limit: 10_000, windowMs: 86_400_000 },
 *   ],
 * })
 * const decision = await limiter.check({ request: undefined, ip: '192.0.2.7', headers: {} })
 * if (decision.rejection) console.log(decision.rejection.status, decision.headers['Retry-After'])
 * ```
 */
export function createRateLimiter<Req = unknown>(
  options: RateLimitOptions<Req> = {},
): RateLimiter<Req> {
  if (!isObject(options)) throw new TypeError('"options" argument must be an object')
  checkOptionNames(options, RATE_LIMIT_OPTIONS, 'createRateLimiter()', { replaces: ERL })
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Record<string, unknown>
  const shorthand = ['limit', 'windowMs', 'algorithm', 'name'].filter((key) => key in defined)
  let policies: RateLimitPolicy[]
  if (defined['policies'] !== undefined) {
    if (shorthand.length > 0) {
      throw new TypeError(`"${shorthand[0]!}" option cannot be combined with "policies"`)
    }
    policies = policiesOption(defined['policies'], 'policies', 'createRateLimiter()')
  } else {
    // Shorthand options are checked under their own names.
    const name = stringOption(defined['name'], 'name', 'default')
    if (!NAME.test(name)) {
      throw new TypeError('"name" option must be 1 to 64 letters, digits, "_", ".", ":" or "-"')
    }
    policies = [
      {
        name,
        limit: required(integerOption(defined['limit'], 'limit', Number.NaN, 1), 'limit'),
        windowMs: integerOption(defined['windowMs'], 'windowMs', 60_000, 1),
        algorithm: algorithmOption(defined['algorithm'], 'algorithm'),
      },
    ]
  }
  const logger = loggerOption<RateLimitLogger>(defined['logger'], 'logger', silentLogger)
  const store = (defined['store'] ?? new MemoryStore()) as RateLimitStore
  if (
    !isObject(store) ||
    typeof store.increment !== 'function' ||
    typeof store.decrement !== 'function' ||
    typeof store.resetKey !== 'function'
  ) {
    throw new TypeError('"store" option must implement increment, decrement and resetKey')
  }
  const consumes = typeof store.consume === 'function'
  const key = defined['key'] ?? 'subject-or-ip'
  if (key !== 'ip' && key !== 'subject-or-ip' && typeof key !== 'function') {
    throw new TypeError(`"key" option must be 'ip', 'subject-or-ip' or a function`)
  }
  const subnetValue = defined['ipv6Subnet'] ?? 56
  if (
    subnetValue !== false &&
    (typeof subnetValue !== 'number' ||
      !Number.isInteger(subnetValue) ||
      subnetValue < 32 ||
      subnetValue > 64)
  ) {
    throw new TypeError('"ipv6Subnet" option must be an integer from 32 to 64, or false')
  }
  const ipv6Subnet = subnetValue
  const defaultCost = costOption(defined['cost'], 'cost') ?? 1
  const skip = defined['skip']
  if (skip !== undefined) functionOption(skip, 'skip')
  const subjectOf = defined['subject'] as RateLimitOptions<Req>['subject']
  if (subjectOf !== undefined) functionOption(subjectOf, 'subject')
  const format =
    defined['headers'] === false
      ? false
      : oneOf(
          defined['headers'],
          'headers',
          ['draft-10', 'draft-8', 'draft-7', 'draft-6'] as const,
          'draft-10',
        )
  const legacy = booleanOption(defined['legacyHeaders'], 'legacyHeaders', false)
  const withPk = booleanOption(defined['partitionKey'], 'partitionKey', false)
  const pkSecret = stringOption(
    defined['partitionKeySecret'],
    'partitionKeySecret',
    randomBytes(32).toString('hex'),
  )
  const mode = oneOf(
    defined['onStoreError'],
    'onStoreError',
    ['open', 'closed', 'local'] as const,
    'local',
  )
  const timeoutMs = integerOption(defined['storeTimeoutMs'], 'storeTimeoutMs', 250, 1)
  const breaker = new CircuitBreaker(
    integerOption(defined['circuitBreakerThreshold'], 'circuitBreakerThreshold', 5, 1),
    integerOption(defined['circuitBreakerCooldownMs'], 'circuitBreakerCooldownMs', 5000, 1),
  )
  const logIntervalMs = integerOption(
    defined['storeErrorLogIntervalMs'],
    'storeErrorLogIntervalMs',
    60_000,
    0,
  )
  const validations = validationsOption(defined['validate'])

  const checkPolicies = (list: readonly RateLimitPolicy[], name: string): void => {
    if (consumes) return
    const gcra = list.find((policy) => policy.algorithm === 'gcra')
    if (gcra !== undefined) {
      throw new TypeError(
        `"${name}" option: policy "${gcra.name}" uses 'gcra', which needs a store with consume() (MemoryStore or RedisStore)`,
      )
    }
    if (list.some((policy) => policy.windowMs !== policies[0]!.windowMs)) {
      throw new TypeError(
        `"${name}" option: policies with different windows need a store with consume() (MemoryStore or RedisStore)`,
      )
    }
  }
  checkPolicies(policies, 'policies')

  const warned = new Set<RateLimitWarningCode>()
  const warn = (code: RateLimitWarningCode, message: string): void => {
    if (warned.has(code)) return
    warned.add(code)
    logger.warn({ code }, message)
  }
  if (usedStores.has(store) && validations['storeReuse'] === true) {
    warn(
      'PALISADE_RATE_LIMIT_STORE_REUSE',
      `one ${store.constructor.name} instance is shared by two rate limiters, so their counts mix: create one store per limiter${store.localKeys === true ? '' : ' (with its own prefix)'}`,
    )
  }
  usedStores.add(store)

  const instruments = telemetry()
  const storeName = store.constructor.name || 'store'
  const local = new MemoryStore()
  const ready: Promise<void> = Promise.resolve()
    .then(() =>
      store.init?.({ windowMs: policies[0]!.windowMs, limit: policies[0]!.limit } as {
        windowMs: number
      }),
    )
    .then(
      () => undefined,
      (error: unknown) => {
        logger.warn(
          { code: 'PALISADE_RATE_LIMIT_STORE_INIT_FAILED', err: error },
          'rate-limit store init() failed; its calls will be retried per request',
        )
      },
    )
  let lastStoreLog = Number.NEGATIVE_INFINITY

  // Attribute objects are built once per outcome and result, not per request.
  const outcomeAttributes = new Map<RateLimitOutcome, Readonly<Record<string, string>>>()
  const record = (outcome: RateLimitOutcome): void => {
    let attributes = outcomeAttributes.get(outcome)
    if (attributes === undefined) {
      attributes = Object.freeze({ outcome, store: storeName })
      outcomeAttributes.set(outcome, attributes)
    }
    instruments.decisions.add(1, attributes)
  }

  const validateRequest = (input: RateLimitRequest<Req>): void => {
    if (validations['trustProxy'] === true && input.trustProxy === 'all') {
      warn(
        'PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY',
        'trust proxy is set to trust every hop, so any client can choose its address with X-Forwarded-For and escape IP rate limits: trust only your proxies (a hop count or their addresses)',
      )
    }
    const forwardedFor = header(input.headers, 'x-forwarded-for')
    const untrusted =
      input.trustProxy === 'off' ||
      (input.trustProxy === undefined &&
        input.remoteAddress !== undefined &&
        input.ip === input.remoteAddress)
    if (validations['xForwardedFor'] === true && forwardedFor !== undefined && untrusted) {
      warn(
        'PALISADE_RATE_LIMIT_UNEXPECTED_X_FORWARDED_FOR',
        'requests carry X-Forwarded-For but trust proxy is off, so every client behind the proxy shares one rate-limit key: set the framework trust-proxy setting to your proxies',
      )
    }
    if (
      input.trustProxy === undefined &&
      validations['trustProxy'] === true &&
      forwardedFor !== undefined &&
      input.ip !== input.remoteAddress
    ) {
      const hops = forwardedFor.split(',').map((hop) => hop.trim())
      if (hops.length > 1 && input.ip === hops[0]) {
        warn(
          'PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY',
          'trust proxy takes the left-most X-Forwarded-For address, which any client can choose, so IP rate limits can be escaped: trust only your proxies (a hop count or their addresses)',
        )
      }
    }
    if (
      validations['forwardedHeader'] === true &&
      header(input.headers, 'forwarded') !== undefined &&
      input.ip === input.remoteAddress
    ) {
      warn(
        'PALISADE_RATE_LIMIT_FORWARDED_HEADER',
        'requests carry a Forwarded header, which the framework ignores: clients are keyed by the proxy address unless X-Forwarded-For is set and trusted, or a key function is given',
      )
    }
  }

  // The same request object seen twice by one limiter is counted twice: the middleware is
  // mounted on two levels (app and router), or a route variant runs after the shared one.
  const seenRequests = new WeakSet<object>()
  const countOnce = (request: Req): void => {
    if (validations['doubleCount'] !== true || typeof request !== 'object' || request === null)
      return
    if (seenRequests.has(request)) {
      warn(
        'PALISADE_RATE_LIMIT_DOUBLE_COUNT',
        'one request went through the same rate limiter twice and was counted twice: mount it once per route (use route() for a route of its own)',
      )
    }
    seenRequests.add(request)
  }

  const ipOf = (input: RateLimitRequest<Req>): string => {
    const grouped = ipKey(input.ip, ipv6Subnet)
    if (grouped !== undefined) return `ip:${grouped}`
    if (validations['ip'] === true) {
      warn(
        'PALISADE_RATE_LIMIT_INVALID_IP',
        'a request had no valid client IP address (connection closed, or a custom server): such requests share one rate-limit key',
      )
    }
    return 'ip:unknown'
  }

  const subjectKey = (input: RateLimitRequest<Req>, subject: unknown): string =>
    typeof subject === 'string' && subject !== '' ? `sub:${digest(subject)}` : ipOf(input)

  const keyOf = (input: RateLimitRequest<Req>): string | Promise<string> => {
    if (typeof key === 'function') {
      const client: RateLimitClient = {
        ip: input.ip,
        subject: input.subject,
        ipKey: ipKey(input.ip, ipv6Subnet),
      }
      return then(
        (key as Exclude<RateLimitKey<Req>, string>)(input.request, client) as unknown,
        (value) => {
          if (typeof value !== 'string' || value === '') {
            throw new TypeError('"key" function must return a non-empty string')
          }
          return `key:${digest(value)}`
        },
      )
    }
    if (key === 'subject-or-ip') {
      if (input.subject !== undefined || subjectOf === undefined)
        return subjectKey(input, input.subject)
      return then(subjectOf(input.request) as unknown, (subject) => subjectKey(input, subject))
    }
    return ipOf(input)
  }

  const costOf = (
    input: RateLimitRequest<Req>,
    route: RateLimitRoute | undefined,
  ): number | Promise<number> => {
    const cost = route?.cost ?? defaultCost
    if (typeof cost === 'number') return cost
    return then(
      (cost as (request: Req) => number | Promise<number>)(input.request) as unknown,
      (value) => {
        if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value
        if (validations['cost'] === true) {
          warn(
            'PALISADE_RATE_LIMIT_INVALID_COST',
            '"cost" function returned something other than a non-negative integer: the request costs 1',
          )
        }
        return 1
      },
    )
  }

  // Once init() has settled, a store that answers synchronously (the memory store) is called
  // directly and its answer used without a promise: a call that cannot hang needs no timer.
  // Promises still get the timeout.
  let initialised = false
  void ready.then(() => {
    initialised = true
  })
  const durationAttributes = {
    ok: Object.freeze({ store: storeName, result: 'ok' }),
    error: Object.freeze({ store: storeName, result: 'error' }),
    timeout: Object.freeze({ store: storeName, result: 'timeout' }),
  }
  const recordDuration = (started: number, result: 'ok' | 'error' | 'timeout'): void => {
    instruments.storeDuration.record(performance.now() - started, durationAttributes[result])
  }
  const storeFailure = (started: number, error: unknown): never => {
    recordDuration(
      started,
      error instanceof RateLimitError && error.code === 'PALISADE_RATE_LIMIT_STORE_TIMEOUT'
        ? 'timeout'
        : 'error',
    )
    throw error instanceof Error ? error : new Error(String(error))
  }
  /** One store call: `consume()` when the store has it, else `increment()`. */
  const callStore = (storeKey: string, options: ConsumeOptions): unknown =>
    consumes ? store.consume!(storeKey, options) : store.increment(storeKey)
  /**
   * One store call, timed, with `settle` applied to its answer. A synchronous answer stays
   * synchronous; a promise gets the `storeTimeoutMs` deadline.
   */
  const timed = <R>(
    storeKey: string,
    options: ConsumeOptions,
    settle: (answer: unknown) => R,
  ): R | Promise<R> => {
    const started = performance.now()
    let value: unknown
    try {
      value = initialised
        ? callStore(storeKey, options)
        : ready.then(() => callStore(storeKey, options))
    } catch (error) {
      return storeFailure(started, error)
    }
    if (!isThenable(value)) {
      recordDuration(started, 'ok')
      return settle(value)
    }
    return withTimeout(Promise.resolve(value), timeoutMs).then(
      (answer) => {
        recordDuration(started, 'ok')
        return settle(answer)
      },
      (error: unknown) => storeFailure(started, error),
    )
  }

  const consumed = (policy: RateLimitPolicy, result: unknown): RateLimitPolicyState => {
    if (
      !isObject(result) ||
      typeof result['allowed'] !== 'boolean' ||
      typeof result['remaining'] !== 'number'
    ) {
      throw new RateLimitError(
        'PALISADE_RATE_LIMIT_STORE_INVALID_RESPONSE',
        `${storeName}.consume() returned an invalid result`,
      )
    }
    const answer = result as unknown as ConsumeResult
    return {
      policy,
      allowed: answer.allowed,
      remaining: answer.remaining,
      resetMs: answer.resetMs,
      retryAfterMs: answer.retryAfterMs,
    }
  }

  const incremented = (
    policy: RateLimitPolicy,
    info: unknown,
    calledAt: number,
  ): RateLimitPolicyState => {
    const hits: unknown = isObject(info) ? info['totalHits'] : undefined
    if (typeof hits !== 'number' || !Number.isSafeInteger(hits) || hits < 1) {
      throw new RateLimitError(
        'PALISADE_RATE_LIMIT_STORE_INVALID_RESPONSE',
        `${storeName}.increment() must return a positive integer totalHits`,
      )
    }
    const resetTime: unknown = (info as { resetTime?: unknown }).resetTime
    const resetMs =
      // Stores compute resetTime from their own clock after the call: never beyond a window.
      resetTime instanceof Date
        ? Math.min(policy.windowMs, Math.max(0, resetTime.getTime() - calledAt))
        : policy.windowMs
    const allowed = hits <= policy.limit
    return {
      policy,
      allowed,
      remaining: Math.max(0, policy.limit - hits),
      resetMs,
      retryAfterMs: allowed ? 0 : resetMs,
    }
  }

  const fromStore = (
    policy: RateLimitPolicy,
    clientKey: string,
    cost: number,
  ): RateLimitPolicyState | Promise<RateLimitPolicyState> => {
    const calledAt = consumes ? 0 : Date.now()
    return timed(`${policy.name}:${clientKey}`, consumeOptions(policy, cost), (answer) =>
      consumes ? consumed(policy, answer) : incremented(policy, answer, calledAt),
    )
  }

  /** Every policy's state; synchronous when the store answered synchronously. */
  const ask = (
    target: 'store' | 'local',
    list: readonly RateLimitPolicy[],
    clientKey: string,
    cost: number,
  ): RateLimitPolicyState[] | Promise<RateLimitPolicyState[]> => {
    const states: (RateLimitPolicyState | Promise<RateLimitPolicyState>)[] = []
    let pending = false
    for (const policy of list) {
      const state: RateLimitPolicyState | Promise<RateLimitPolicyState> =
        target === 'local'
          ? {
              policy,
              ...local.consume(`${policy.name}:${clientKey}`, consumeOptions(policy, cost)),
            }
          : fromStore(policy, clientKey, cost)
      if (isThenable(state)) pending = true
      states.push(state)
    }
    if (!pending) return states as RateLimitPolicyState[]
    if (states.length === 1)
      return (states[0] as Promise<RateLimitPolicyState>).then((one) => [one])
    return Promise.all(states.map(async (state) => state))
  }

  // In the draft-8 and draft-10 forms the RateLimit-Policy field only changes with the policy
  // list and the partition key: built once per list when there is no partition key.
  const policyFields = new WeakMap<readonly RateLimitPolicy[], string>()

  const decide = (
    states: RateLimitPolicyState[],
    list: readonly RateLimitPolicy[],
    clientKey: string,
    isLocal: boolean,
  ): RateLimitDecision => {
    const now = Date.now()
    const pk = withPk ? partitionKey(pkSecret, clientKey) : undefined
    const cacheable = pk === undefined && (format === 'draft-10' || format === 'draft-8')
    const policyField = cacheable ? policyFields.get(list) : undefined
    const headers = rateLimitHeaders(format, legacy, states, pk, now, policyField)
    if (cacheable && policyField === undefined) {
      policyFields.set(list, headers['RateLimit-Policy']!)
    }
    let violated: string[] | undefined
    for (const state of states) {
      if (!state.allowed) (violated ??= []).push(state.policy.name)
    }
    if (violated === undefined) {
      const outcome = isLocal ? 'local_allowed' : 'allowed'
      record(outcome)
      return { outcome, headers, rejection: undefined }
    }
    const outcome = isLocal ? 'local_limited' : 'limited'
    record(outcome)
    const problem = {
      type: QUOTA_EXCEEDED_TYPE,
      title: QUOTA_EXCEEDED_TITLE,
      status: 429,
      'violated-policies': violated,
    }
    return {
      outcome,
      headers: { ...headers, 'Cache-Control': 'no-store' },
      rejection: { status: 429, contentType: PROBLEM_TYPE, body: JSON.stringify(problem), problem },
    }
  }

  const failed = async (
    error: unknown,
    list: readonly RateLimitPolicy[],
    clientKey: string,
    cost: number,
  ): Promise<RateLimitDecision> => {
    const now = Date.now()
    if (now - lastStoreLog >= logIntervalMs) {
      lastStoreLog = now
      logger.error(
        { code: 'PALISADE_RATE_LIMIT_STORE_UNAVAILABLE', mode, err: error },
        `rate-limit store ${storeName} is failing; requests are ${mode === 'open' ? 'allowed without limit' : mode === 'closed' ? 'refused with 503' : 'limited per instance'} until it recovers`,
      )
    }
    if (mode === 'local')
      return decide(await ask('local', list, clientKey, cost), list, clientKey, true)
    if (mode === 'open') {
      record('failed_open')
      return { outcome: 'failed_open', headers: {}, rejection: undefined }
    }
    record('failed_closed')
    const problem = { type: 'about:blank', title: 'Service Unavailable', status: 503 }
    return {
      outcome: 'failed_closed',
      headers: {
        'Retry-After': String(Math.max(1, Math.ceil(breaker.retryAfterMs(now) / 1000))),
        'Cache-Control': 'no-store',
      },
      rejection: { status: 503, contentType: PROBLEM_TYPE, body: JSON.stringify(problem), problem },
    }
  }

  const route = (overrides: RouteRateLimitOptions<Req>): RateLimitRoute => {
    if (!isObject(overrides))
      throw new TypeError('"rateLimit" route option must be an object or false')
    checkOptionNames(overrides, ROUTE_OPTIONS, ROUTE, { path: 'rateLimit', replaces: ERL })
    const list =
      overrides.policies === undefined
        ? undefined
        : policiesOption(overrides.policies, 'rateLimit.policies', ROUTE)
    if (list !== undefined) checkPolicies(list, 'rateLimit.policies')
    return { policies: list, cost: costOption(overrides.cost, 'rateLimit.cost') }
  }

  const SKIPPED = Symbol('skipped')
  interface Client {
    readonly clientKey: string
    readonly cost: number
  }

  const withCost = (
    input: RateLimitRequest<Req>,
    routeOptions: RateLimitRoute | undefined,
    clientKey: string,
  ): Client | Promise<Client> => {
    if (!consumes) return { clientKey, cost: 1 }
    return then(costOf(input, routeOptions), (cost): Client => ({ clientKey, cost }))
  }

  const keyAndCost = (
    input: RateLimitRequest<Req>,
    routeOptions: RateLimitRoute | undefined,
  ): Client | Promise<Client> => {
    return then(keyOf(input), (clientKey) => withCost(input, routeOptions, clientKey))
  }

  /** Runs the application's skip, key and cost functions; any of them may return a promise. */
  const clientOf = (
    input: RateLimitRequest<Req>,
    routeOptions: RateLimitRoute | undefined,
  ): Client | typeof SKIPPED | Promise<Client | typeof SKIPPED> => {
    if (skip === undefined) return keyAndCost(input, routeOptions)
    return then(
      (skip as (request: Req) => boolean | Promise<boolean>)(input.request) as unknown,
      (skipped) => (skipped ? SKIPPED : keyAndCost(input, routeOptions)),
    )
  }

  const storeFailed = (
    error: unknown,
    list: readonly RateLimitPolicy[],
    client: Client,
  ): Promise<RateLimitDecision> => {
    breaker.failure(Date.now())
    const wrapped =
      error instanceof RateLimitError
        ? error
        : new RateLimitError(
            'PALISADE_RATE_LIMIT_STORE_FAILED',
            `rate-limit store ${storeName} call failed`,
            { cause: error },
          )
    return failed(wrapped, list, client.clientKey, client.cost)
  }

  /** Counts the request in the store and decides; synchronous when the store is. */
  const count = (
    list: readonly RateLimitPolicy[],
    client: Client,
  ): RateLimitDecision | Promise<RateLimitDecision> => {
    const { clientKey, cost } = client
    if (!breaker.allow(Date.now())) {
      return failed(
        new RateLimitError(
          'PALISADE_RATE_LIMIT_CIRCUIT_OPEN',
          `rate-limit store ${storeName} circuit is open`,
        ),
        list,
        clientKey,
        cost,
      )
    }
    let states: RateLimitPolicyState[] | Promise<RateLimitPolicyState[]>
    try {
      states = ask('store', list, clientKey, cost)
    } catch (error) {
      return storeFailed(error, list, client)
    }
    if (isThenable(states)) {
      return states.then(
        (settled) => {
          breaker.success()
          return decide(settled, list, clientKey, false)
        },
        (error: unknown) => storeFailed(error, list, client),
      )
    }
    breaker.success()
    return decide(states, list, clientKey, false)
  }

  /** A throwing key, cost or skip function is the application's bug: limit by IP and log it. */
  const byIp = (input: RateLimitRequest<Req>, error: unknown): Client => {
    logger.error(
      { err: error },
      'rate-limit key, cost or skip function failed; the request is limited by IP with cost 1',
    )
    return { clientKey: ipOf(input), cost: 1 }
  }

  const settled = (
    list: readonly RateLimitPolicy[],
    client: Client | typeof SKIPPED,
  ): RateLimitDecision | Promise<RateLimitDecision> => {
    if (client !== SKIPPED) return count(list, client)
    record('skipped')
    return { outcome: 'skipped', headers: {}, rejection: undefined }
  }

  // The request-shape checks (trust proxy, X-Forwarded-For, Forwarded, double counting) look at
  // the first requests only: a misconfiguration shows on the first traffic, and later requests
  // then pay nothing for them (express-rate-limit checks the first request only).
  let sampled = 0

  const check = (
    input: RateLimitRequest<Req>,
    routeOptions?: RateLimitRoute,
  ): RateLimitDecision | Promise<RateLimitDecision> => {
    const list = routeOptions?.policies ?? policies
    let client: Client | typeof SKIPPED | Promise<Client | typeof SKIPPED>
    try {
      if (sampled < VALIDATION_SAMPLE) {
        sampled++
        validateRequest(input)
        countOnce(input.request)
      }
      client = clientOf(input, routeOptions)
    } catch (error) {
      client = byIp(input, error)
    }
    if (!isThenable(client)) return settled(list, client)
    return Promise.resolve(client).then(
      (resolved) => settled(list, resolved),
      (error: unknown) => settled(list, byIp(input, error)),
    )
  }

  return {
    policies,
    check,
    route,
    shutdown: async () => {
      local.shutdown()
      await store.shutdown?.()
    },
  }
}
