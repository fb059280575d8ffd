import type { Middleware, Next } from 'koa'
import type { Health } from '@palisade/health'

/**
 * Koa middleware that answers the liveness, readiness and startup probes of a `createHealth()`
 * instance on its paths (`/healthz`, `/readyz`, `/startupz` by default), for `GET` and `HEAD`,
 * with a query string or a trailing slash, and calls `next()` for every other request. Use it
 * before authentication and rate limiting so that probes skip both. Readiness details go only
 * to callers presenting the health `detailsToken` or, unless turned off, coming from loopback.
 * The answers are byte-for-byte those of the Express and Fastify adapters.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { createHealth, postgresCheck } from '@palisade/health'
 * import { auth, healthRoutes } from '@palisade/koa'
 *
 * const health = createHealth({ checks: [postgresCheck(pool)], detailsToken: process.env.HEALTH_TOKEN })
 * const app = new Koa()
 * app.use(healthRoutes(health)) // before auth and rate limiting
 * app.use(auth(authenticator))
 * ```
 */
export function healthRoutes(health: Health): Middleware {
  if (typeof (health as Partial<Health> | undefined)?.handle !== 'function') {
    throw new TypeError('healthRoutes() takes what createHealth() from @palisade/health returns')
  }
  return async (ctx, next: Next) => {
    const answer = health.handle({
      method: ctx.method,
      path: ctx.url,
      headers: ctx.headers,
      remoteAddress: ctx.req.socket.remoteAddress,
    })
    if (answer === undefined) {
      await next()
      return
    }
    const { status, headers, body } = await answer
    ctx.status = status
    ctx.body = body
    // After the body, so that Koa's own Content-Type and Content-Length give way to these.
    ctx.set(headers)
  }
}
