import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { createRateLimiter } from '@palisade/http'
import type {
  RateLimitDecision,
  RateLimitOptions,
  RateLimitRequest,
  RateLimitRoute,
  RateLimiter,
  RouteRateLimitOptions,
} from '@palisade/http'

/**
 * The middleware `rateLimit()` returns, with per-route variants sharing its limiter and store.
 *
 * @example
 * ```ts
 * const limiter: RateLimitMiddleware = rateLimit({ limit: 100 })
 * app.post('/api/bulk', limiter.route({ cost: 10 }), bulkImport)
 * ```
 */
export type RateLimitMiddleware = RequestHandler & {
  /** The framework-agnostic limiter behind this middleware. */
  readonly limiter: RateLimiter<Request>
  /** A middleware for one route with its own cost or policies, counted in the same store. */
  route: (overrides: RouteRateLimitOptions<Request>) => RequestHandler
}

function trustProxyOf(req: Request): RateLimitRequest['trustProxy'] {
  const setting: unknown = req.app.get('trust proxy')
  if (setting === true) return 'all'
  if (setting === false || setting === undefined || setting === 0) return 'off'
  return 'some'
}

function apply(res: Response, next: NextFunction, decision: RateLimitDecision): void {
  res.set(decision.headers)
  const { rejection } = decision
  if (rejection === undefined) {
    next()
    return
  }
  res.status(rejection.status).set('Content-Type', rejection.contentType).send(rejection.body)
}

/**
 * Express middleware that rate-limits with the Palisade engine of `@palisade/http`: the same
 * policies, `RateLimit`/`RateLimit-Policy`/`Retry-After` headers and problem+json bodies as the
 * Fastify and Koa adapters. Clients are keyed by `req.auth.subject` when `auth()` ran before it,
 * else by `req.ip` (set Express's `trust proxy` to your proxies). Any express-rate-limit store
 * plugs in as `store`.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { Redis } from 'ioredis'
 * import { RedisStore } from '@palisade/http'
 * import { auth, rateLimit } from '@palisade/express'
 *
 * const app = express()
 * app.set('trust proxy', 1)
 * app.get('/healthz', (req, res) => res.json({ status: 'pass' }))
 * const limiter = rateLimit({ limit: 600, windowMs: 60_000, store: new RedisStore({ client: new Redis() }) })
 * // A route with its own cost goes before the shared limiter, which would count it again.
 * app.post('/api/bulk', auth(authenticator), limiter.route({ cost: 10 }), bulkImport)
 * app.use('/api', auth(authenticator), limiter)
 * ```
 */
export function rateLimit(options: RateLimitOptions<Request> = {}): RateLimitMiddleware {
  const limiter = createRateLimiter<Request>(options)
  const handler =
    (route: RateLimitRoute | undefined): RequestHandler =>
    (req: Request, res: Response, next: NextFunction) => {
      const decision = limiter.check(
        {
          request: req,
          ip: req.ip,
          subject: req.auth?.subject,
          headers: req.headers,
          remoteAddress: req.socket.remoteAddress,
          trustProxy: trustProxyOf(req),
        },
        route,
      )
      // The memory store decides synchronously: no promise unless the store needs one.
      if (!(decision instanceof Promise)) {
        apply(res, next, decision)
        return
      }
      decision
        .then((settled) => {
          apply(res, next, settled)
        })
        // check() never rejects; this only forwards a failure to write the response.
        .catch(next)
    }
  return Object.assign(handler(undefined), {
    limiter,
    route: (overrides: RouteRateLimitOptions<Request>) => handler(limiter.route(overrides)),
  })
}

export { MemoryStore, RedisStore } from '@palisade/http'
export type {
  RateLimitOptions,
  RateLimitPolicyOptions,
  RateLimitStore,
  RedisStoreOptions,
  RouteRateLimitOptions,
  StoreErrorMode,
} from '@palisade/http'
