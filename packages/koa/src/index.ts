import type { Context, Middleware, Next } from 'koa'
import { checkScopes, errorResponse } from '@palisade/jwt'
import type { AuthInfo, Authenticator, CheckScopesOptions } from '@palisade/jwt'

/** What `auth()` puts on `ctx.state`. */
export interface AuthState {
  /** The verified token's subject, claims and scopes. */
  auth?: AuthInfo
}

function send(ctx: Context, error: unknown): void {
  const { status, headers, body } = errorResponse(error)
  ctx.status = status
  ctx.set(headers)
  ctx.body = body
}

/**
 * Koa middleware that authenticates the request with a bearer token and sets
 * `ctx.state.auth`, or answers 401/400/503 per RFC 6750 itself, identically to the Express and
 * Fastify adapters. Mount it where protected routes begin; health routes go before it.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { createVerifier } from '@palisade/jwt'
 * import { auth, requireScopes } from '@palisade/koa'
 *
 * const app = new Koa()
 * app.use(auth(createVerifier({ issuer: 'https://id.example.com', audience: 'orders' })))
 * app.use(async (ctx) => {
 *   ctx.body = ctx.state.auth?.claims
 * })
 * ```
 */
export function auth(authenticator: Authenticator): Middleware<AuthState> {
  if (typeof (authenticator as Partial<Authenticator> | undefined)?.authenticate !== 'function') {
    throw new TypeError('auth() takes an authenticator from createVerifier() or authFromConfig()')
  }
  return async (ctx, next: Next) => {
    let info: AuthInfo
    try {
      info = await authenticator.authenticate({
        headers: ctx.headers,
        rawHeaders: ctx.req.rawHeaders,
        url: ctx.originalUrl,
      })
    } catch (error) {
      send(ctx, error)
      return
    }
    ctx.state.auth = info
    await next()
  }
}

/**
 * Koa middleware that answers 403 `insufficient_scope` unless `ctx.state.auth` grants the
 * scopes (`mode: 'all'` by default, or `'any'`); 401 when no `auth()` ran before it.
 *
 * @example
 * ```ts
 * router.get('/api/admin', requireScopes('admin'), (ctx) => { ctx.body = { ok: true } })
 * ```
 */
export function requireScopes(
  scopes: string | readonly string[],
  options: CheckScopesOptions = {},
): Middleware<AuthState> {
  const check = checkScopes(scopes, options)
  return async (ctx, next: Next) => {
    try {
      check(ctx.state.auth)
    } catch (error) {
      send(ctx, error)
      return
    }
    await next()
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
export type {
  CspReportsOptions,
  SecurityHeadersMiddleware,
  SecurityHeadersState,
} from './headers.js'
export { healthRoutes } from './health.js'
