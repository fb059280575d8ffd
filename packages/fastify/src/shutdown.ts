import type { Server } from 'node:http'
import type { FastifyHttpOptions, FastifyInstance } from 'fastify'
import { gracefulShutdown as coreShutdown, serverTimeouts } from '@palisade/health'
import type {
  GracefulShutdown,
  GracefulShutdownOptions,
  ServerTimeoutOptions,
} from '@palisade/health'

/** The Fastify factory options that {@link serverOptions} sets. */
export type PalisadeServerOptions = Required<
  Pick<FastifyHttpOptions<Server>, 'return503OnClosing' | 'keepAliveTimeout' | 'requestTimeout'>
> & {
  readonly http: { readonly headersTimeout: number; readonly connectionsCheckingInterval: number }
}

/**
 * The Fastify factory options that Palisade's shutdown and server timeouts need, to spread
 * into `Fastify({...})`: `return503OnClosing: false` (requests that reach an open connection
 * while the server closes are served, not refused with 503), and the timeouts of
 * `serverTimeouts()` from `@palisade/health` (a keep-alive timeout above the load balancer's
 * idle timeout, a headers timeout above it, a request timeout that bounds slow clients). For
 * an HTTPS server, whose options Fastify takes from `https`, call `applyServerTimeouts(app.server)`
 * before listening instead.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { serverOptions } from '@palisade/fastify'
 *
 * const app = Fastify({ logger: true, ...serverOptions({ keepAliveTimeoutMs: 65_000 }) })
 * ```
 */
export function serverOptions(options: ServerTimeoutOptions = {}): PalisadeServerOptions {
  const timeouts = serverTimeouts(options)
  return {
    return503OnClosing: false,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    http: {
      headersTimeout: timeouts.headersTimeout,
      connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
    },
  }
}

/** The options a Fastify instance was created with (Fastify keeps them under a private symbol). */
function factoryOptions(app: FastifyInstance): Record<string, unknown> | undefined {
  const key = Object.getOwnPropertySymbols(app).find(
    (symbol) => symbol.description === 'fastify.options',
  )
  const value: unknown =
    key === undefined ? undefined : (app as unknown as Record<symbol, unknown>)[key]
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined
}

/**
 * `gracefulShutdown()` of `@palisade/health` for a Fastify app: on the first signal readiness
 * fails at once and the app keeps serving for `drainMs` with `Connection: close` on every
 * response; then it closes through `app.close()`, so that Fastify runs its `preClose` hooks,
 * closes the server (idle connections by the core's rules, in-flight requests finished) and
 * runs the `onClose` hooks in its own order; then the `hooks` option runs and the process
 * exits. Fastify must be created with `return503OnClosing: false` and without
 * `forceCloseConnections: true` ({@link serverOptions} sets the first; the second would cut
 * in-flight requests): both are checked here.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { gracefulShutdown, serverOptions } from '@palisade/fastify'
 *
 * const app = Fastify(serverOptions())
 * app.addHook('onClose', () => pool.end()) // runs after the last request
 * gracefulShutdown(app, { health, drainMs: 5000 })
 * await app.listen({ port: 3000, host: '0.0.0.0' })
 * ```
 */
export function gracefulShutdown(
  app: FastifyInstance,
  options: Omit<GracefulShutdownOptions, 'close'> = {},
): GracefulShutdown {
  const candidate = app as Partial<FastifyInstance> | undefined
  if (typeof candidate?.close !== 'function' || typeof candidate.server !== 'object') {
    throw new TypeError('"app" argument must be a Fastify instance')
  }
  if ((options as GracefulShutdownOptions).close !== undefined) {
    throw new TypeError(
      '"close" option is set by the Fastify adapter: it closes through app.close()',
    )
  }
  const factory = factoryOptions(app)
  if (factory !== undefined) {
    if (factory['return503OnClosing'] !== false) {
      throw new TypeError(
        'Fastify option "return503OnClosing" must be false for gracefulShutdown(): otherwise requests that reach an open connection while the server closes get 503 (spread serverOptions() into Fastify())',
      )
    }
    if (factory['forceCloseConnections'] === true) {
      throw new TypeError(
        'Fastify option "forceCloseConnections" must not be true for gracefulShutdown(): it cuts in-flight requests when the server closes',
      )
    }
  }
  return coreShutdown(app.server, {
    ...options,
    close: () => app.close(),
  })
}
