import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createRateLimiter } from '@palisade/http'
import { withoutFastifyKeys } from './headers.js'
import type {
  RateLimitDecision,
  RateLimitOptions,
  RateLimitRoute,
  RouteRateLimitOptions,
} from '@palisade/http'

/**
 * Per-route rate limiting, in a route's `config.rateLimit`.
 *
 * @example
 * ```ts
 * app.post('/api/bulk', { config: { rateLimit: { cost: 10 } satisfies RouteRateLimit } }, bulkImport)
 * ```
 */
export type RouteRateLimit = false | RouteRateLimitOptions<FastifyRequest>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` skips rate limiting on this route; an object sets its cost or policies. */
    rateLimit?: RouteRateLimit | undefined
  }
}

/**
 * Options of the Palisade Fastify rate-limit plugin: those of `createRateLimiter`; `logger`
 * defaults to `fastify.log`.
 *
 * @example
 * ```ts
 * await app.register(rateLimit, { limit: 600, windowMs: 60_000 } satisfies PalisadeFastifyRateLimitOptions)
 * ```
 */
export type PalisadeFastifyRateLimitOptions = RateLimitOptions<FastifyRequest>

// eslint-disable-next-line @typescript-eslint/require-await -- async so that option errors reject register()
const plugin: FastifyPluginAsync<PalisadeFastifyRateLimitOptions> = async (fastify, options) => {
  // Without a logger of its own, the plugin's warnings go where the application's logs go.
  const limiter = createRateLimiter<FastifyRequest>({
    ...withoutFastifyKeys(options),
    logger: options.logger ?? fastify.log,
  })
  const compiled = new WeakMap<object, RateLimitRoute>()
  const routeOf = (config: RouteRateLimit | undefined): RateLimitRoute | false | undefined => {
    if (config === undefined) return undefined
    if (config === false) return false
    let route = compiled.get(config)
    if (route === undefined) {
      route = limiter.route(config)
      compiled.set(config, route)
    }
    return route
  }

  // Route options are validated when a route is added, never per request.
  fastify.addHook('onRoute', (route) => {
    routeOf((route.config as { rateLimit?: RouteRateLimit } | undefined)?.rateLimit)
  })
  fastify.addHook('onClose', async () => {
    await limiter.shutdown()
  })

  const apply = (reply: FastifyReply, decision: RateLimitDecision, done: () => void): void => {
    reply.headers(decision.headers)
    const { rejection } = decision
    if (rejection === undefined) {
      done()
      return
    }
    // A hook that answers does not call done().
    void reply
      .code(rejection.status)
      .header('Content-Type', rejection.contentType)
      .send(rejection.body)
  }

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    let route: RateLimitRoute | false | undefined
    try {
      route = routeOf((request.routeOptions.config as { rateLimit?: RouteRateLimit }).rateLimit)
    } catch (error) {
      // Only a route added before this plugin can get here (onRoute did not see it): limit it
      // with the plugin's own options rather than answer 500.
      request.log.error(
        { err: error },
        'invalid config.rateLimit on this route; plugin options apply',
      )
      route = undefined
    }
    if (route === false) {
      done()
      return
    }
    // Fastify does not expose its trustProxy setting: the engine infers it from the request.
    const decision = limiter.check(
      {
        request,
        ip: request.ip,
        subject: request.auth?.subject,
        headers: request.headers,
        remoteAddress: request.socket.remoteAddress,
      },
      route,
    )
    // The memory store decides synchronously: no promise unless the store needs one.
    if (decision instanceof Promise) {
      decision
        .then((settled) => {
          apply(reply, settled, done)
        })
        // check() never rejects; this only hands Fastify a failure to write the response.
        .catch((error: unknown) => {
          done(error as Error)
        })
      return
    }
    apply(reply, decision, done)
  })
}

/**
 * The Palisade Fastify rate-limit plugin: rate-limits every route in an `onRequest` hook with
 * the engine of `@palisade/http`, answering exactly like the Express and Koa adapters (headers,
 * 429/503 problem+json). Routes opt out with `config: { rateLimit: false }` and set their own
 * cost or policies with `config: { rateLimit: { cost: 10 } }`. Register it after the Palisade
 * auth plugin to key clients by `request.auth.subject`; others are keyed by `request.ip`
 * (set Fastify's `trustProxy` to your proxies).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { auth, rateLimit } from '@palisade/fastify'
 *
 * const app = Fastify({ trustProxy: 1 })
 * await app.register(auth, { authenticator })
 * await app.register(rateLimit, { limit: 600, windowMs: 60_000 })
 * app.get('/healthz', { config: { auth: false, rateLimit: false } }, async () => ({ status: 'pass' }))
 * app.post('/api/bulk', { config: { rateLimit: { cost: 10 } } }, bulkImport)
 * ```
 */
export const rateLimit = fp(plugin, { fastify: '5.x', name: '@palisade/fastify/rate-limit' })

export { MemoryStore, RedisStore } from '@palisade/http'
export type {
  RateLimitOptions,
  RateLimitPolicyOptions,
  RateLimitStore,
  RedisStoreOptions,
  RouteRateLimitOptions,
  StoreErrorMode,
} from '@palisade/http'
