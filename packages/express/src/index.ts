import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { checkScopes, errorResponse } from '@palisade/jwt'
import type { AuthInfo, Authenticator, CheckScopesOptions } from '@palisade/jwt'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types its request through this global namespace
  namespace Express {
    interface Request {
      /** Set by `auth()`: the verified token's subject, claims and scopes. */
      auth?: AuthInfo
    }
  }
}

function send(res: Response, error: unknown): void {
  const { status, headers, body } = errorResponse(error)
  res.status(status).set(headers).json(body)
}

/**
 * Express middleware that authenticates every request it sees with a bearer token and sets
 * `req.auth`, or answers 401/400/503 per RFC 6750 itself, identically to the Fastify and Koa
 * adapters. Mount it on the routes to protect; health routes go before it.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createVerifier } from '@palisade/jwt'
 * import { auth, requireScopes } from '@palisade/express'
 *
 * const app = express()
 * app.use('/api', auth(createVerifier({ issuer: 'https://id.example.com', audience: 'orders' })))
 * app.get('/api/me', (req, res) => res.json(req.auth?.claims))
 * app.get('/api/admin', requireScopes('admin'), (req, res) => res.json({ ok: true }))
 * ```
 */
export function auth(authenticator: Authenticator): RequestHandler {
  if (typeof (authenticator as Partial<Authenticator> | undefined)?.authenticate !== 'function') {
    throw new TypeError('auth() takes an authenticator from createVerifier() or authFromConfig()')
  }
  return (req: Request, res: Response, next: NextFunction) => {
    authenticator
      .authenticate({ headers: req.headers, rawHeaders: req.rawHeaders, url: req.originalUrl })
      .then(
        (info) => {
          req.auth = info
          next()
        },
        (error: unknown) => {
          send(res, error)
        },
      )
  }
}

/**
 * Express middleware that answers 403 `insufficient_scope` unless `req.auth` grants the scopes
 * (`mode: 'all'` by default, or `'any'`); 401 when the route has no `auth()` before it.
 *
 * @example
 * ```ts
 * app.delete('/api/orders/:id', requireScopes('orders:write'), deleteOrder)
 * app.get('/api/reports', requireScopes(['reports', 'admin'], { mode: 'any' }), listReports)
 * ```
 */
export function requireScopes(
  scopes: string | readonly string[],
  options: CheckScopesOptions = {},
): RequestHandler {
  const check = checkScopes(scopes, options)
  return (req: Request, res: Response, next: NextFunction) => {
    try {
      check(req.auth)
      next()
    } catch (error) {
      send(res, error)
    }
  }
}

export type { AuthInfo, Authenticator } from '@palisade/jwt'
export { MemoryStore, RedisStore, rateLimit } from './rate-limit.js'
export type {
  RateLimitMiddleware,
  RateLimitOptions,
  RateLimitPolicyOptions,
  RateLimitStore,
  RedisStoreOptions,
  RouteRateLimitOptions,
  StoreErrorMode,
} from './rate-limit.js'
export { cspReports, securityHeaders } from './headers.js'
export type { SecurityHeadersMiddleware } from './headers.js'
export { healthRoutes } from './health.js'
