// The framework-independent half of the example: configuration, authentication, readiness and
// graceful shutdown. The Express, Fastify and Koa examples share this file word for word; only
// src/main.ts (the routes) differs between them.
import type { Server } from 'node:http'
import { writeSync } from 'node:fs'
import { Redis } from 'ioredis'
import pg from 'pg'
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
import { authEnvSchema, authFromConfig } from '@palisade/jwt'
import type { AuthInfo, Authenticator, Logger } from '@palisade/jwt'

function integer(min: number, max: number, unit: string) {
  // Palisade passes defaults through the parser too, as numbers: hence `unknown`.
  return makeValidator<number>((input: unknown) => {
    const text = String(input).trim()
    const value = Number(text)
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new Error(`must be a whole number of ${unit} from ${min} to ${max}`)
    }
    return value
  })
}

const milliseconds = integer(0, 3_600_000, 'milliseconds')
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
    desc: 'Redis connection URL; optional, checked by readiness as a non-critical dependency',
  }),
  RATE_LIMIT_PER_MINUTE: perMinute({
    default: 600,
    desc: 'Requests per minute and client (reserved: not enforced yet)',
  }),
  SHUTDOWN_DRAIN_MS: milliseconds({
    default: 5000,
    desc: 'After SIGTERM: how long readiness fails while requests are still served',
  }),
  SHUTDOWN_TIMEOUT_MS: milliseconds({
    default: 20000,
    desc: 'After the drain: how long in-flight requests may take before the process exits 1',
  }),
}

export type ServiceConfig = Config<typeof schema>

/** A framework-neutral answer: what each framework's glue writes as it is. */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Headers of every JSON answer the routes write (auth errors come from the adapters). */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
})

/** The body of every unknown route. */
export const NOT_FOUND = Object.freeze({ error: 'not_found' })

/** The body of a malformed request, e.g. a URL with invalid percent-encoding. */
export const BAD_REQUEST = Object.freeze({ error: 'bad_request' })

const HEALTH_HEADERS = Object.freeze({
  'Content-Type': 'application/health+json; charset=utf-8',
  'Cache-Control': 'no-store',
})

type Status = 'pass' | 'warn' | 'fail'

interface CheckResult {
  readonly componentType: 'datastore'
  readonly status: Status
  readonly output?: string
}

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

function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not answer within ${ms} ms`))
    }, ms)
  })
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer)
  })
}

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(resolve, ms, 'timeout' as const))
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

export interface ServeOptions {
  /** Starts listening on HOST:PORT. @default server.listen(PORT, HOST) */
  readonly listen?: (() => Promise<void>) | undefined
  /**
   * Stops accepting connections and resolves once every connection is closed.
   * @default server.close()
   */
  readonly close?: (() => Promise<void>) | undefined
}

export interface Service {
  readonly config: ServiceConfig
  readonly auth: Authenticator
  /** `GET /healthz`: 200 while the process can serve, no dependency checks. */
  liveness: () => Answer
  /** `GET /readyz`: PostgreSQL (critical, 1 s) and Redis (non-critical); 503 while stopping. */
  readiness: () => Promise<Answer>
  /** Listens, prints `listening on http://HOST:PORT` and handles SIGTERM/SIGINT. */
  serve: (server: Server, options?: ServeOptions) => Promise<void>
}

/**
 * Reads the configuration (exit 78 naming every problem), builds the authenticator and waits
 * for the identity provider's keys (exit 1 when it cannot be reached), and prepares the
 * PostgreSQL pool and the optional Redis client. Nothing here prints a secret.
 */
export async function createService(): Promise<Service> {
  const config = loadConfig(schema)
  // While starting, a failure to reach the issuer is told once, below, not also by the verifier.
  let starting = false
  const auth = authFromConfig(config, {
    logger: {
      ...logger,
      warn: (object, message) => {
        if (!starting) logger.warn(object, message)
      },
    },
  })
  try {
    starting = true
    await auth.ready()
    starting = false
  } catch (error) {
    line(
      2,
      `startup failed: the signing keys of AUTH_ISSUER=${config.AUTH_ISSUER ?? ''} could not be loaded: ${messageOf(error)}`,
    )
    process.exit(1)
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
  redis?.connect().catch(() => undefined)

  let stopping = false
  const lastStatus = new Map<string, Status>()

  async function check(
    name: string,
    probe: () => Promise<unknown>,
    whenDown: Status,
  ): Promise<CheckResult> {
    let result: CheckResult
    let detail = ''
    try {
      await within(1000, probe(), name)
      result = { componentType: 'datastore', status: 'pass' }
    } catch (error) {
      detail = messageOf(error)
      // The answer is public: it says what failed, never why (hosts, users, messages).
      result = { componentType: 'datastore', status: whenDown, output: 'unavailable' }
    }
    // Log changes only, so that a probe every few seconds does not flood the log.
    const previous = lastStatus.get(name)
    lastStatus.set(name, result.status)
    if (result.status !== 'pass' && previous !== result.status) {
      logger.warn({ code: 'READINESS' }, `${name} is unavailable: ${detail}`)
    } else if (result.status === 'pass' && previous !== undefined && previous !== 'pass') {
      logger.warn({ code: 'READINESS' }, `${name} is available again`)
    }
    return result
  }

  async function runChecks(): Promise<Answer> {
    const checks: Record<string, CheckResult[]> = {}
    const pending: Promise<void>[] = []
    if (pool !== undefined) {
      pending.push(
        check('postgresql', () => pool.query('SELECT 1'), 'fail').then((result) => {
          checks['postgresql:connection'] = [result]
        }),
      )
    }
    if (redis !== undefined) {
      pending.push(
        check('redis', () => redis.ping(), 'warn').then((result) => {
          checks['redis:connection'] = [result]
        }),
      )
    }
    await Promise.all(pending)
    const results = Object.values(checks).flat()
    const status: Status = results.some((r) => r.status === 'fail')
      ? 'fail'
      : results.some((r) => r.status === 'warn')
        ? 'warn'
        : 'pass'
    if (stopping) return stoppingAnswer()
    return {
      status: status === 'fail' ? 503 : 200,
      headers: HEALTH_HEADERS,
      body: JSON.stringify(results.length === 0 ? { status } : { status, checks }),
    }
  }

  function stoppingAnswer(): Answer {
    return {
      status: 503,
      headers: HEALTH_HEADERS,
      body: JSON.stringify({ status: 'fail', output: 'shutting down' }),
    }
  }

  // Probes that arrive while a check runs share its result instead of piling up queries.
  let inFlight: Promise<Answer> | undefined
  function readiness(): Promise<Answer> {
    if (stopping) return Promise.resolve(stoppingAnswer())
    inFlight ??= runChecks().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }

  function liveness(): Answer {
    return { status: 200, headers: HEALTH_HEADERS, body: JSON.stringify({ status: 'pass' }) }
  }

  async function closeClients(): Promise<void> {
    redis?.disconnect()
    await pool?.end()
  }

  async function serve(server: Server, options: ServeOptions = {}): Promise<void> {
    let closing = false
    // Once the server closes, answers on kept-alive connections end them, so that no client
    // keeps the process alive by reusing its connection.
    server.prependListener('request', (_request, response) => {
      if (closing) response.setHeader('Connection', 'close')
    })

    const close =
      options.close ??
      (() =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => {
            if (error === undefined) resolve()
            else reject(error)
          })
        }))

    async function stop(): Promise<never> {
      closing = true
      const closed = close()
      server.closeIdleConnections()
      const deadline = delay(config.SHUTDOWN_TIMEOUT_MS)
      const outcome = await Promise.race([
        closed.then(closeClients).then(() => 'done' as const),
        deadline,
      ])
      if (outcome === 'timeout') {
        line(
          2,
          `shutdown: requests still in flight after SHUTDOWN_TIMEOUT_MS=${config.SHUTDOWN_TIMEOUT_MS}; closing their connections`,
        )
        server.closeAllConnections()
        process.exit(1)
      }
      line(1, 'shutdown complete')
      process.exit(0)
    }

    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        line(2, `received ${signal} again: exiting now`)
        process.exit(1)
      }
      stopping = true
      line(
        1,
        `received ${signal}: readiness fails now; serving for SHUTDOWN_DRAIN_MS=${config.SHUTDOWN_DRAIN_MS} more`,
      )
      setTimeout(() => {
        stop().catch((error: unknown) => {
          line(2, `shutdown failed: ${messageOf(error)}`)
          process.exit(1)
        })
      }, config.SHUTDOWN_DRAIN_MS)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)

    const shownHost = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST
    try {
      if (options.listen !== undefined) {
        await options.listen()
      } else {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen(config.PORT, config.HOST, () => {
            server.off('error', reject)
            resolve()
          })
        })
      }
    } catch (error) {
      line(2, `startup failed: cannot listen on ${shownHost}:${config.PORT}: ${messageOf(error)}`)
      process.exit(1)
    }
    const address = server.address()
    const boundPort = typeof address === 'object' && address !== null ? address.port : config.PORT
    line(1, `listening on http://${shownHost}:${boundPort}`)
  }

  return Object.freeze({ config, auth, liveness, readiness, serve })
}
