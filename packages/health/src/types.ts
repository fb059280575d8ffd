/**
 * A pino-compatible logger: pino, a child of it, or anything with these four methods.
 * Palisade never passes it tokens, secrets or connection strings.
 */
export interface Logger {
  debug: (object: Record<string, unknown>, message: string) => void
  info: (object: Record<string, unknown>, message: string) => void
  warn: (object: Record<string, unknown>, message: string) => void
  error: (object: Record<string, unknown>, message: string) => void
}

/** The status values of draft-inadarei-api-health-check. */
export type HealthStatus = 'pass' | 'warn' | 'fail'

/**
 * One dependency check. Only `name` and `run` are required; the built-ins
 * ({@link postgresCheck}, {@link redisCheck}, {@link httpCheck}) return one.
 *
 * @example
 * ```ts
 * const queue: HealthCheck = {
 *   name: 'queue',
 *   critical: false,
 *   timeoutMs: 500,
 *   run: async (signal) => {
 *     await fetch('http://127.0.0.1:15672/api/healthchecks/node', { signal })
 *   },
 * }
 * ```
 */
export interface HealthCheck {
  /** Reported as `${name}:${measurement}`, e.g. `postgresql:connection`. */
  name: string
  /**
   * Resolves (with anything) when the dependency is fine; throws or rejects when it is not.
   * A synchronous throw is a failure too, never a 500. `signal` is aborted when the check
   * times out: pass it on to whatever supports it.
   */
  // The union documents that both sync and async checks are accepted.
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  run: (signal: AbortSignal) => Promise<unknown> | unknown
  /**
   * Whether readiness fails with this check. A failing non-critical check makes readiness
   * `warn` with HTTP 200.
   * @default true
   */
  critical?: boolean | undefined
  /**
   * After this long the run is failed with `timeout` and its signal aborted; it is never
   * awaited past it.
   * @default 1000
   */
  timeoutMs?: number | undefined
  /**
   * How long a result (a failure too) is reused before the check runs again.
   * @default 0
   */
  cacheMs?: number | undefined
  /**
   * Run the check in the background every this many milliseconds instead of on probes: a probe
   * answers with the latest result at once and never waits on the dependency (except for the
   * very first result, which is started when `createHealth()` runs). Failures are refreshed on
   * the same schedule. The timers do not keep the process alive and stop at
   * `health.beginShutdown()` and `health.close()`. `0` runs the check on probes. Cannot be
   * combined with `cacheMs`.
   * @default 0
   */
  intervalMs?: number | undefined
  /**
   * The `componentType` of the report, e.g. `datastore`.
   * @default 'component'
   */
  componentType?: string | undefined
  /**
   * The measurement part of the report key.
   * @default 'connection'
   */
  measurement?: string | undefined
  /** Releases what the check holds (a monitor, a timer); called by `health.close()`. */
  close?: (() => void) | undefined
}

/**
 * A framework-neutral answer to a probe: adapters write `status`, `headers` and `body` as they
 * are. `body` is JSON text in the `application/health+json` format.
 */
export interface HealthResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * What {@link Health.handle} needs of an HTTP request; every framework has these four.
 *
 * @example
 * ```ts
 * const request: HealthRequest = {
 *   method: req.method,
 *   path: req.url, // query string and one trailing slash are tolerated
 *   headers: req.headers,
 *   remoteAddress: req.socket.remoteAddress,
 * }
 * ```
 */
export interface HealthRequest {
  /** `GET` and `HEAD` are answered; other methods get 405. */
  readonly method: string
  /** The request target, e.g. `/readyz?verbose`; compared without the query string. */
  readonly path: string
  /** Lower-cased request headers, as Node gives them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The peer of the TCP connection (never a forwarded header). */
  readonly remoteAddress?: string | undefined
}

/** One entry of the `checks` object of a detailed readiness answer. */
export interface CheckReport {
  readonly componentType: string
  readonly status: HealthStatus
  /** When the result was produced (ISO 8601); older than now when it came from the cache. */
  readonly time: string
  /** How long the run took, in milliseconds. */
  readonly observedValue: number
  readonly observedUnit: 'ms'
  /** A short failure reason (`timeout`, `unavailable`, `error`, ...); never hosts or stacks. */
  readonly output?: string
}
