import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Health } from '@palisade/health'

/**
 * Express middleware that answers the liveness, readiness and startup probes of a
 * `createHealth()` instance on its paths (`/healthz`, `/readyz`, `/startupz` by default), for
 * `GET` and `HEAD`, with a query string or a trailing slash, and passes every other request on.
 * Mount it before authentication and rate limiting so that probes skip both. Readiness details
 * go only to callers presenting the health `detailsToken` or, unless turned off, coming from
 * loopback. The answers are byte-for-byte those of the Fastify and Koa adapters.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createHealth, postgresCheck } from '@palisade/health'
 * import { auth, healthRoutes } from '@palisade/express'
 *
 * const health = createHealth({ checks: [postgresCheck(pool)], detailsToken: process.env.HEALTH_TOKEN })
 * const app = express()
 * app.use(healthRoutes(health)) // before auth and rate limiting
 * app.use('/api', auth(authenticator))
 * ```
 */
export function healthRoutes(health: Health): RequestHandler {
  if (typeof (health as Partial<Health> | undefined)?.handle !== 'function') {
    throw new TypeError('healthRoutes() takes what createHealth() from @palisade/health returns')
  }
  return (req: Request, res: Response, next: NextFunction) => {
    const answer = health.handle({
      method: req.method,
      path: req.url,
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
    })
    if (answer === undefined) {
      next()
      return
    }
    answer.then(({ status, headers, body }) => {
      // Express adds it to every answer; the other adapters send no such header.
      res.removeHeader('X-Powered-By')
      res.writeHead(status, headers).end(body)
    }, next)
  }
}
