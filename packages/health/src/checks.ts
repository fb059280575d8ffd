import { HealthError, messageOf } from './errors.js'
import {
  booleanOption,
  checkOptionNames,
  integerOption,
  isObject,
  stringOption,
} from '@palisade/errors'
import type { HealthCheck } from './types.js'

/** Options every built-in check takes. */
export interface CheckOptions {
  /** The name in the report key `${name}:connection`. Defaults per check. */
  name?: string | undefined
  /** Whether a failure fails readiness (else: `warn` with 200). @default true */
  critical?: boolean | undefined
  /** After this long the run fails with `timeout`. @default 1000 */
  timeoutMs?: number | undefined
  /** How long a result (a failure too) is reused. @default 0 */
  cacheMs?: number | undefined
  /**
   * Refresh in the background every this many milliseconds, so that probes never wait on the
   * dependency; not with `cacheMs`. @default 0 (run on probes)
   */
  intervalMs?: number | undefined
}

/** Options of {@link httpCheck}. */
export interface HttpCheckOptions extends CheckOptions {
  /** The fetch to use, e.g. one with a dispatcher. @default globalThis.fetch */
  fetch?: typeof fetch | undefined
}

/** What {@link postgresCheck} needs: a `pg` Pool (or Client), or anything with `query()`. */
export interface PostgresQueryable {
  query: (text: string) => Promise<unknown>
}

/** What {@link redisCheck} needs: an ioredis or node-redis (v4+) client, or anything with `ping()`. */
export interface RedisPingable {
  ping: () => Promise<unknown>
}

/** The validated options every built-in check shares. */
export interface CommonOptions {
  name: string
  critical: boolean
  timeoutMs: number
  cacheMs: number
  intervalMs: number
}

const COMMON_OPTIONS = Object.keys({
  name: true,
  critical: true,
  timeoutMs: true,
  cacheMs: true,
  intervalMs: true,
} satisfies Record<keyof CheckOptions, true>)

// Each built-in check by its default name: the factory named in errors and its own options.
const CHECK_FACTORIES: Readonly<Record<string, readonly [string, readonly string[]]>> = {
  postgresql: ['postgresCheck()', []],
  redis: ['redisCheck()', []],
  http: ['httpCheck()', ['fetch']],
  mysql: ['mysqlCheck()', []],
  rabbitmq: ['amqpCheck()', ['exchange']],
  nats: ['natsCheck()', []],
  mqtt: ['mqttCheck()', ['topic']],
  eventloop: ['eventLoopDelayCheck()', ['maxDelayMs']],
  heap: ['heapCheck()', ['maxPercent', 'maxBytes']],
  disk: ['diskCheck()', ['path', 'minFreeBytes', 'minFreePercent']],
}

/** Validates the options every built-in check takes; `createHealth()` checks the combination. */
export function common(options: unknown, name: string): CommonOptions {
  if (options === undefined) options = {}
  if (!isObject(options)) throw new TypeError('"options" must be an object')
  const [factory, own] = CHECK_FACTORIES[name] ?? [`the ${name} check`, []]
  checkOptionNames(options, [...COMMON_OPTIONS, ...own], factory)
  return {
    name: stringOption(options['name'], 'name', name),
    critical: booleanOption(options['critical'], 'critical', true),
    timeoutMs: integerOption(options['timeoutMs'], 'timeoutMs', 1000, 1),
    cacheMs: integerOption(options['cacheMs'], 'cacheMs', 0, 0),
    intervalMs: integerOption(options['intervalMs'], 'intervalMs', 0, 0),
  }
}

/** A failure to reach a dependency, with the driver's error as `cause` (for logs only). */
export function unavailable(check: string, what: string, error: unknown): HealthError {
  return new HealthError('PALISADE_HEALTH_UNAVAILABLE', `${what} failed: ${messageOf(error)}`, {
    check,
    cause: error,
  })
}

/** A connection check that runs `probe` and reports its failure as unavailable. */
export function datastoreCheck(
  options: unknown,
  name: string,
  what: string,
  probe: (signal: AbortSignal, timeoutMs: number) => Promise<unknown>,
  componentType = 'datastore',
): HealthCheck {
  const base = common(options, name)
  return {
    ...base,
    componentType,
    measurement: 'connection',
    run: async (signal) => {
      try {
        await probe(signal, base.timeoutMs)
      } catch (error) {
        if (error instanceof HealthError) throw error
        throw unavailable(base.name, what, error)
      }
    },
  }
}

/**
 * Checks PostgreSQL with `SELECT 1` through the pool the application already has: no connection
 * is opened per probe. Give the pool a `connectionTimeoutMillis` so that a hung server does not
 * hold pool slots past the check's timeout. Reported as `postgresql:connection`, `datastore`.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createHealth, postgresCheck } from '@palisade/health'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 1000 })
 * const health = createHealth({ checks: [postgresCheck(pool, { timeoutMs: 1000 })] })
 * ```
 */
export function postgresCheck(pool: PostgresQueryable, options?: CheckOptions): HealthCheck {
  if (!isObject(pool) || typeof pool['query'] !== 'function') {
    throw new TypeError('"pool" argument must be a pg Pool or Client (an object with query())')
  }
  return datastoreCheck(options, 'postgresql', 'PostgreSQL query', () => pool.query('SELECT 1'))
}

/**
 * Checks Redis with `PING` through the client the application already has (ioredis, or
 * node-redis v4 and later). Create an ioredis client with `enableOfflineQueue: false` so that a
 * disconnected client fails at once instead of queueing. Reported as `redis:connection`,
 * `datastore`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { redisCheck } from '@palisade/health'
 *
 * const redis = new Redis(process.env.REDIS_URL, { enableOfflineQueue: false })
 * const check = redisCheck(redis, { critical: false, cacheMs: 2000 })
 * ```
 */
export function redisCheck(client: RedisPingable, options?: CheckOptions): HealthCheck {
  if (!isObject(client) || typeof client['ping'] !== 'function') {
    throw new TypeError('"client" argument must be an ioredis or node-redis client (with ping())')
  }
  return datastoreCheck(options, 'redis', 'Redis PING', () => client.ping())
}

/**
 * Checks an HTTP dependency with a GET that is cancelled when the check times out. A 2xx or 3xx
 * answer passes (redirects are not followed); anything else fails with
 * `unexpected status <code>`. Reported as `http:connection` unless named.
 *
 * @example
 * ```ts
 * import { httpCheck } from '@palisade/health'
 *
 * const check = httpCheck('https://payments.internal/healthz', { name: 'payments', timeoutMs: 500 })
 * ```
 */
export function httpCheck(url: string | URL, options?: HttpCheckOptions): HealthCheck {
  let target: URL
  try {
    target = new URL(url)
  } catch {
    throw new TypeError('"url" argument must be an absolute http: or https: URL')
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError('"url" argument must be an absolute http: or https: URL')
  }
  const base = common(options, 'http')
  const fetchOption = options?.fetch
  if (fetchOption !== undefined && typeof fetchOption !== 'function') {
    throw new TypeError('"fetch" option must be a function')
  }
  const href = target.href
  return {
    ...base,
    componentType: 'component',
    measurement: 'connection',
    run: async (signal) => {
      let response: Response
      try {
        response = await (fetchOption ?? fetch)(href, { signal, redirect: 'manual' })
      } catch (error) {
        throw unavailable(base.name, 'HTTP request', error)
      }
      // The body is not needed: release the connection.
      await response.body?.cancel().catch(() => undefined)
      if (response.status >= 400) {
        throw new HealthError(
          'PALISADE_HEALTH_CHECK_FAILED',
          `HTTP dependency "${base.name}" answered ${response.status}`,
          { check: base.name, output: `unexpected status ${response.status}` },
        )
      }
    },
  }
}
