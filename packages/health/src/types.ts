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
   * The `componentType` of the report, e.g. `datastore`.
   * @default 'component'
   */
  componentType?: string | undefined
  /**
   * The measurement part of the report key.
   * @default 'connection'
   */
  measurement?: string | undefined
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
