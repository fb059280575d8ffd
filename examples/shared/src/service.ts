// The framework-independent half of the example services: configuration, authentication, security
// headers, rate limiting, health checks and graceful shutdown, each from a Palisade package. Each example bundles this module; only
// its src/main.ts (the routes and the framework) is its own.
import type { Server } from 'node:http'
import { writeSync } from 'node:fs'
import { Redis } from 'ioredis'
import pg from 'pg'
import { createHealth, postgresCheck, redisCheck } from '@palisade/health'
import type {
  GracefulShutdownOptions,
  Health,
  HealthCheck,
  ServerTimeoutOptions,
} from '@palisade/health'
import {
  databaseUrl,
  dsn,
  isProductionLike,
  loadConfig,
  makeValidator,
  port,
  str,
} from '@palisade/config'
import type { Config } from '@palisade/config'
import { MemoryStore, RedisStore } from '@palisade/http'
import type { RateLimitOptions, RateLimitStore, SecurityHeadersOptions } from '@palisade/http'
import { reportStartupFailure } from '@palisade/errors'
import { authEnvSchema, authFromConfig, oncePerRequest } from '@palisade/jwt'
import type { AuthInfo, Authenticator, Logger, RequestLike } from '@palisade/jwt'

function integer(min: number, max: number, unit: string) {
  return makeValidator<number>((input: string) => {
    const text = input.trim()
    const value = Number(text)
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new Error(`must be a whole number of ${unit} from ${min} to ${max}`)
    }
    return value
  })
}

const milliseconds = integer(0, 3_600_000, 'milliseconds')
const keepAliveMilliseconds = integer(1, 3_600_000, 'milliseconds')
const perMinute = integer(1, 1_000_000, 'requests')

/** Every variable the service reads, validated by one `loadConfig()` call. */
const schema = {
  ...authEnvSchema,
  PORT: port({ default: 3000, desc: 'HTTP port' }),
  HOST: str({ default: '0.0.0.0', desc: 'Interface to listen on' }),
  DATABASE_URL: databaseUrl({
    schemes: ['postgres', 'postgresql'],
    default: undefined,
    // Optional in development and test (readiness then skips PostgreSQL), required elsewhere.
    requiredWhen: () => isProductionLike(),
    desc: 'PostgreSQL connection URL; optional in development and test',
  }),
  REDIS_URL: dsn({
    schemes: ['redis', 'rediss'],
    default: undefined,
    desc: 'Redis connection URL; optional: the shared rate-limit store, and a non-critical readiness check',
  }),
  RATE_LIMIT_PER_MINUTE: perMinute({
    default: 600,
    desc: 'Requests per minute and client (token subject, else IP), shared through REDIS_URL',
  }),
  SHUTDOWN_DRAIN_MS: milliseconds({
    default: 5000,
    desc: 'After SIGTERM: how long readiness fails while requests are still served',
  }),
  SHUTDOWN_TIMEOUT_MS: milliseconds({
    default: 20000,
    desc: 'After the drain: how long in-flight requests may take before the process exits 1',
  }),
  SERVER_KEEP_ALIVE_TIMEOUT_MS: keepAliveMilliseconds({
    default: 65000,
    desc: 'How long an idle keep-alive connection stays open: above the load balancer idle timeout (60 s on common cloud load balancers)',
  }),
}

export type ServiceConfig = Config<typeof schema>

/** Headers of every JSON answer the routes write (auth errors come from the adapters). */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
})

/** The security headers of every route but the health routes: the preset for JSON APIs. */
export const SECURITY_HEADERS: SecurityHeadersOptions = Object.freeze({ preset: 'api' })

/** The body of every unknown route. */
export const NOT_FOUND = Object.freeze({ error: 'not_found' })

/** The body of a malformed request, e.g. a URL with invalid percent-encoding. */
export const BAD_REQUEST = Object.freeze({ error: 'bad_request' })

function line(stream: 1 | 2, text: string): void {
  writeSync(stream, `${text.replace(/\s*\n\s*/g, ' ')}\n`)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A pino-compatible logger for the packages: warnings and errors, one line each, on stderr. */
export const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (object, message) => {
    line(2, `warn: ${message}${'code' in object ? ` (${String(object['code'])})` : ''}`)
  },
  error: (object, message) => {
    line(2, `error: ${message}${'code' in object ? ` (${String(object['code'])})` : ''}`)
  },
}

/** Shutdown progress on stdout, problems on stderr, naming the variable to change. */
const shutdownLogger: Logger = {
  ...logger,
  info: (_object, message) => {
    line(1, message)
  },
  error: (object, message) => {
    const hint =
      object['code'] === 'PALISADE_HEALTH_SHUTDOWN_TIMEOUT'
        ? ' (requests were still in flight after SHUTDOWN_TIMEOUT_MS; raise it if they are legitimate)'
        : ''
    logger.error(object, `${message}${hint}`)
  },
}

/**
 * The answer to an error a route or the framework threw: its own 4xx status for a malformed
 * request, else 500. The body is generic; the detail of a 500 goes to the log only.
 */
export function failure(error: unknown): { status: number; body: Record<string, string> } {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown
    statusCode?: unknown
  }
  const status = fields.statusCode ?? fields.status
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: BAD_REQUEST }
  }
  logger.error({ code: 'UNEXPECTED' }, messageOf(error))
  return { status: 500, body: { error: 'server_error' } }
}

/**
 * Whether the path of a request target has invalid percent-encoding. Fastify refuses such a URL
 * with 400 before routing; the Express and Koa examples ask this to answer the same.
 */
export function malformedUrl(url: string): boolean {
  try {
    decodeURI(url.split('?', 1)[0] ?? '')
    return false
  } catch {
    return true
  }
}

/** `{ subject, scopes, claims }` of the caller, for `GET /api/me`. */
export function me(auth: AuthInfo | undefined): Record<string, unknown> {
  if (auth === undefined) throw new Error('GET /api/me ran without authentication')
  return { subject: auth.subject ?? null, scopes: auth.scopes, claims: auth.claims }
}

/** `{ ok: true, subject }`, for `GET /api/admin`. */
export function admin(auth: AuthInfo | undefined): Record<string, unknown> {
  if (auth === undefined) throw new Error('GET /api/admin ran without authentication')
  return { ok: true, subject: auth.subject ?? null }
}

export interface Service {
  readonly config: ServiceConfig
  /** Verifies each request once, shared by the rate limiter's key and `auth()`. */
  readonly auth: Authenticator
  /**
   * The rate limit of every route but the health routes: `RATE_LIMIT_PER_MINUTE` per client,
   * keyed by token subject when the request carries a valid token, else by IP; counted in Redis
   * when `REDIS_URL` is set (so instances share one limit), else in memory; while Redis is down
   * each instance limits on its own. `requestOf` gives the framework request's headers and URL.
   */
  rateLimit: <Req>(requestOf: (request: Req) => RequestLike) => RateLimitOptions<Req>
  /**
   * The probes, for the adapters' health routes: `/healthz` (liveness, no dependency checks),
   * `/readyz` (PostgreSQL critical, Redis non-critical, 1 s timeout, results kept 1 s; 503 while
   * stopping) and `/startupz` (200 once listening). Check details go to loopback callers only
   * (operators on the host, the kubelet's sidecars).
   */
  readonly health: Health
  /**
   * The server timeouts, for `applyServerTimeouts()` (`serverOptions()` on Fastify): the
   * keep-alive timeout `SERVER_KEEP_ALIVE_TIMEOUT_MS`, above the load balancer's idle timeout.
   */
  readonly timeouts: ServerTimeoutOptions
  /**
   * The options of `gracefulShutdown()`: readiness fails on SIGTERM/SIGINT, requests are served
   * for `SHUTDOWN_DRAIN_MS` with `Connection: close`, in-flight ones get `SHUTDOWN_TIMEOUT_MS`
   * more, then the PostgreSQL pool and the Redis client close.
   */
  readonly shutdown: GracefulShutdownOptions
  /** Listens on `HOST:PORT`, prints `listening on http://HOST:PORT` and marks the service started. */
  listen: (server: Server) => Promise<void>
}

/**
 * Reads the configuration (exit 78 naming every problem), builds the authenticator and waits
 * for the identity provider's keys (a short report and exit 69 when it cannot be reached), and prepares the
 * PostgreSQL pool, the optional Redis client and their health checks. Nothing here prints a
 * secret.
 */
export async function createService(): Promise<Service> {
  const config = loadConfig(schema)
  // While starting, a failure to reach the issuer is told once, below, not also by the verifier.
  let starting = false
  const auth = oncePerRequest(
    authFromConfig(config, {
      logger: {
        ...logger,
        warn: (object, message) => {
          if (!starting) logger.warn(object, message)
        },
      },
    }),
  )
  try {
    starting = true
    await auth.ready()
    starting = false
  } catch (error) {
    // What was fetched, the URL, the cause and the fix; exit 69 (EX_UNAVAILABLE), or 78 when the
    // identity provider answers but not as configured.
    reportStartupFailure(error)
  }

  const pool =
    config.DATABASE_URL === undefined
      ? undefined
      : new pg.Pool({
          connectionString: config.DATABASE_URL.reveal(),
          max: 10,
          connectionTimeoutMillis: 1000,
          idleTimeoutMillis: 10_000,
        })
  // An idle client that loses its connection emits 'error'; unhandled, it would end the process.
  pool?.on('error', (error) => {
    logger.warn(
      { code: 'POSTGRES_CLIENT_ERROR' },
      `idle PostgreSQL client failed: ${error.message}`,
    )
  })

  const redis =
    config.REDIS_URL === undefined
      ? undefined
      : new Redis(config.REDIS_URL.reveal(), {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 1000,
          retryStrategy: (times) => Math.min(times * 200, 2000),
        })
  // Redis is not critical: connection errors show in readiness, not as crashes.
  redis?.on('error', () => undefined)
  // Connected before the service listens (at most connectTimeout), so that the first requests
  // are already counted in the shared store; when Redis is down each instance limits on its own.
  await redis?.connect().catch(() => undefined)

  const store: RateLimitStore =
    redis === undefined
      ? new MemoryStore()
      : new RedisStore({ client: redis, prefix: 'palisade-example:rate-limit:' })
  function rateLimit<Req>(requestOf: (request: Req) => RequestLike): RateLimitOptions<Req> {
    return {
      name: 'per-client',
      limit: config.RATE_LIMIT_PER_MINUTE,
      windowMs: 60_000,
      store,
      // The limiter runs before auth(): the subject of a valid token comes from the same
      // verification auth() uses next (oncePerRequest); without one, the client's IP.
      key: 'subject-or-ip',
      subject: (request) =>
        auth.authenticate(requestOf(request)).then(
          (info) => info.subject,
          () => undefined,
        ),
      onStoreError: 'local',
      logger,
    }
  }

  const checks: HealthCheck[] = []
  if (pool !== undefined)
    checks.push(postgresCheck(pool, { name: 'postgresql', timeoutMs: 1000, cacheMs: 1000 }))
  if (redis !== undefined) {
    checks.push(
      redisCheck(redis, { name: 'redis', critical: false, timeoutMs: 1000, cacheMs: 1000 }),
    )
  }
  const health = createHealth({ checks, logger })

  const shutdown: GracefulShutdownOptions = {
    health,
    drainMs: config.SHUTDOWN_DRAIN_MS,
    // SHUTDOWN_TIMEOUT_MS counts after the drain; the package's deadline counts from the signal.
    timeoutMs: config.SHUTDOWN_DRAIN_MS + config.SHUTDOWN_TIMEOUT_MS,
    hooks: [
      ...(pool === undefined ? [] : [{ name: 'postgresql pool', run: () => pool.end() }]),
      ...(redis === undefined
        ? []
        : [
            {
              name: 'redis client',
              run: () => {
                redis.disconnect()
              },
            },
          ]),
    ],
    logger: shutdownLogger,
  }

  async function listen(server: Server): Promise<void> {
    const shownHost = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.PORT, config.HOST, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      line(2, `startup failed: cannot listen on ${shownHost}:${config.PORT}: ${messageOf(error)}`)
      process.exit(1)
    }
    health.markStarted()
    const address = server.address()
    const boundPort = typeof address === 'object' && address !== null ? address.port : config.PORT
    line(1, `listening on http://${shownHost}:${boundPort}`)
  }

  return Object.freeze({
    config,
    auth,
    rateLimit,
    health,
    timeouts: Object.freeze({ keepAliveTimeoutMs: config.SERVER_KEEP_ALIVE_TIMEOUT_MS }),
    shutdown: Object.freeze(shutdown),
    listen,
  })
}
