import type { Server } from 'node:http'
import { checkOptionNames, integerOption, isObject } from '@palisade/errors'

/** Options of {@link serverTimeouts} and {@link applyServerTimeouts}. */
export interface ServerTimeoutOptions {
  /**
   * How long the server keeps an idle keep-alive connection open. Set it above the idle timeout
   * of the load balancer or proxy in front (60 s on common cloud load balancers), so that the
   * balancer, never the server, closes an idle connection: a server that closes first races
   * the balancer's next request on that connection and the balancer answers 502.
   * @default 65000
   */
  keepAliveTimeoutMs?: number | undefined
  /**
   * How long a client may take to send a request's headers; above `keepAliveTimeoutMs`, so that
   * an idle keep-alive connection is never cut by it.
   * @default keepAliveTimeoutMs + 1000
   */
  headersTimeoutMs?: number | undefined
  /**
   * How long a client may take to send a whole request, body included: bounds slow clients.
   * At least `headersTimeoutMs`.
   * @default 120000 (or headersTimeoutMs, when that is longer)
   */
  requestTimeoutMs?: number | undefined
  /**
   * How often the server looks for requests past `headersTimeoutMs` or `requestTimeoutMs`
   * (Node checks every 30 s by default, so a timeout could fire up to 30 s late).
   * @default 1000
   */
  checkIntervalMs?: number | undefined
}

/** The `http.Server` settings {@link serverTimeouts} computes, under Node's names. */
export interface ServerTimeouts {
  readonly keepAliveTimeout: number
  readonly headersTimeout: number
  readonly requestTimeout: number
  readonly connectionsCheckingInterval: number
}

const OPTIONS = Object.keys({
  keepAliveTimeoutMs: true,
  headersTimeoutMs: true,
  requestTimeoutMs: true,
  checkIntervalMs: true,
} satisfies Record<keyof ServerTimeoutOptions, true>)

/**
 * Computes the server timeouts for a service behind a load balancer: a keep-alive timeout above
 * the balancer's idle timeout, a headers timeout above that, and a request timeout that bounds
 * slow clients. Throws a `TypeError` naming the option at fault.
 *
 * @example
 * ```ts
 * import { serverTimeouts } from '@palisade/health'
 *
 * serverTimeouts({ keepAliveTimeoutMs: 65_000 })
 * // { keepAliveTimeout: 65000, headersTimeout: 66000, requestTimeout: 120000, connectionsCheckingInterval: 1000 }
 * ```
 */
export function serverTimeouts(options: ServerTimeoutOptions = {}): ServerTimeouts {
  if (!isObject(options)) throw new TypeError('"options" must be an object')
  checkOptionNames(options, OPTIONS, 'serverTimeouts()')
  const keepAliveTimeout = integerOption(
    options.keepAliveTimeoutMs,
    'keepAliveTimeoutMs',
    65_000,
    1,
  )
  const headersTimeout = integerOption(
    options.headersTimeoutMs,
    'headersTimeoutMs',
    keepAliveTimeout + 1000,
    1,
  )
  if (headersTimeout <= keepAliveTimeout) {
    throw new TypeError(
      `"headersTimeoutMs" option (${headersTimeout}) must be more than "keepAliveTimeoutMs" (${keepAliveTimeout})`,
    )
  }
  const requestTimeout = integerOption(
    options.requestTimeoutMs,
    'requestTimeoutMs',
    Math.max(120_000, headersTimeout),
    1,
  )
  if (requestTimeout < headersTimeout) {
    throw new TypeError(
      `"requestTimeoutMs" option (${requestTimeout}) must be at least "headersTimeoutMs" (${headersTimeout})`,
    )
  }
  const connectionsCheckingInterval = integerOption(
    options.checkIntervalMs,
    'checkIntervalMs',
    1000,
    1,
  )
  return Object.freeze({
    keepAliveTimeout,
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval,
  })
}

/**
 * Sets the {@link serverTimeouts} on a Node `http.Server` (or the server of a framework, e.g.
 * Fastify's `app.server`). Call it before the server listens: Node reads the checking interval
 * when it starts listening. Returns what it set.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { applyServerTimeouts } from '@palisade/health'
 *
 * const server = createServer(app)
 * applyServerTimeouts(server, { keepAliveTimeoutMs: Number(process.env.SERVER_KEEP_ALIVE_TIMEOUT_MS ?? 65_000) })
 * server.listen(3000)
 * ```
 */
export function applyServerTimeouts(
  server: Server,
  options: ServerTimeoutOptions = {},
): ServerTimeouts {
  if (!isObject(server) || typeof server['listen'] !== 'function') {
    throw new TypeError('"server" argument must be a Node http.Server or https.Server')
  }
  if (server.listening) {
    throw new TypeError(
      '"server" argument is already listening: call applyServerTimeouts() before listen()',
    )
  }
  const timeouts = serverTimeouts(options)
  Object.assign(server, timeouts)
  return timeouts
}
