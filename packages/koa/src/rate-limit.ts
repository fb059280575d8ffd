import type { Context, Middleware, Next } from 'koa'
import { createRateLimiter } from '@palisade/http'
import type {
  RateLimitDecision,
  RateLimitOptions,
  RateLimitRequest,
  RateLimitRoute,
  RateLimiter,
  RouteRateLimitOptions,
} from '@palisade/http'
import type { AuthState } from './index.js'

/**
 * The middleware `rateLimit()` returns, with per-route variants sharing its limiter and store.
 *
 * @example
 * ```ts
 * const limiter: RateLimitMiddleware = rateLimit({ limit: 100 })
 * const bulk = limiter.route({ cost: 10 })
 * ```
 */
export type RateLimitMiddleware = Middleware<AuthState> & {
  /** The framework-agnostic limiter behind this middleware. */
  readonly limiter: RateLimiter<Context>
  /** A middleware for one route with its own cost or policies, counted in the same store. */
  route: (overrides: RouteRateLimitOptions<Context>) => Middleware<AuthState>
}

function trustProxyOf(ctx: Context): RateLimitRequest['trustProxy'] {
  if (!ctx.app.proxy) return 'off'
  // Without maxIpsCount Koa takes the left-most X-Forwarded-For address, which clients choose.
  return ctx.app.maxIpsCount > 0 ? 'some' : 'all'
}

/**
 * Koa middleware that rate-limits with the Palisade engine of `@palisade/http`: the same
 * policies, `RateLimit`/`RateLimit-Policy`/`Retry-After` headers and problem+json bodies as the
 * Express and Fastify adapters. Clients are keyed by `ctx.state.auth.subject` when `auth()` ran
 * before it, else by `ctx.ip` (set `app.proxy` and `app.maxIpsCount` for your proxies). Any
 * express-rate-limit store plugs in as `store`.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { auth, rateLimit } from '@palisade/koa'
 *
 * const app = new Koa({ proxy: true, maxIpsCount: 1 })
 * app.use(async (ctx, next) => (ctx.path === '/healthz' ? (ctx.body = { status: 'pass' }) : next()))
 * app.use(auth(authenticator))
 * app.use(rateLimit({ policies: [{ name: 'burst', limit: 100, windowMs: 60_000, algorithm: 'gcra' }] }))
 * ```
 */
export function rateLimit(options: RateLimitOptions<Context> = {}): RateLimitMiddleware {
  const limiter = createRateLimiter<Context>(options)
  const apply = (
    ctx: Context,
    next: Next,
    decision: RateLimitDecision,
  ): Promise<void> | undefined => {
    ctx.set(decision.headers)
    const { rejection } = decision
    if (rejection === undefined) return next()
    ctx.status = rejection.status
    ctx.set('Content-Type', rejection.contentType)
    ctx.body = rejection.body
    return undefined
  }
  const middleware =
    (route: RateLimitRoute | undefined): Middleware<AuthState> =>
    (ctx, next: Next) => {
      const decision = limiter.check(
        {
          request: ctx,
          ip: ctx.ip,
          subject: ctx.state.auth?.subject,
          headers: ctx.headers,
          remoteAddress: ctx.req.socket.remoteAddress,
          trustProxy: trustProxyOf(ctx),
        },
        route,
      )
      // The memory store decides synchronously: no promise unless the store needs one.
      return decision instanceof Promise
        ? decision.then((settled) => apply(ctx, next, settled))
        : apply(ctx, next, decision)
    }
  return Object.assign(middleware(undefined), {
    limiter,
    route: (overrides: RouteRateLimitOptions<Context>) => middleware(limiter.route(overrides)),
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
