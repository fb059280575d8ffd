import type { Context, Middleware, Next } from 'koa'
import { createCspReportReceiver, resolveSecurityHeaders } from '@palisade/http'
import type {
  CspReportReceiverOptions,
  SecurityHeadersOptions,
  SecurityHeadersOverrides,
  SecurityHeadersPolicy,
} from '@palisade/http'

/** What `securityHeaders()` puts on `ctx.state`. */
export interface SecurityHeadersState {
  /** The CSP nonce of this response, when the policy has one: put it in `nonce="..."`. */
  cspNonce?: string
}

/** The middleware `securityHeaders()` returns, with its policy and a per-route helper. */
export interface SecurityHeadersMiddleware extends Middleware<SecurityHeadersState> {
  /** The compiled policy this middleware applies. */
  readonly policy: SecurityHeadersPolicy
  /**
   * Middleware for one route that replaces this policy's headers with the policy merged with
   * `overrides`, or removes them all with `false`. Use it after the application-wide one.
   */
  route(overrides: SecurityHeadersOverrides | false): Middleware<SecurityHeadersState>
}

function apply(
  policy: SecurityHeadersPolicy,
  ctx: Context & { state: SecurityHeadersState },
): void {
  // The raw response, as koa-helmet sets headers: a handler's ctx.set() still wins. A route
  // policy keeps the nonce the application-wide policy already gave templates.
  const nonce = policy.applyTo(ctx.res, ctx.secure, ctx.state.cspNonce)
  if (nonce !== undefined) ctx.state.cspNonce = nonce
}

/**
 * Koa middleware that sets Palisade's security headers (helmet's headers computed once at
 * startup, plus `Permissions-Policy`, `Reporting-Endpoints` and `Cache-Control` per preset),
 * HSTS only when `ctx.secure` (which follows `app.proxy`) and, with a nonce, a fresh one in
 * `ctx.state.cspNonce`. The headers are identical to the Express and Fastify adapters'. Koa
 * drops every header set before an error it handles itself, as with koa-helmet: answer errors
 * from your own error middleware placed before this one to keep them.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { securityHeaders } from '@palisade/koa'
 *
 * const app = new Koa()
 * const headers = securityHeaders({ preset: 'web', reportUri: '/csp-reports' })
 * app.use(headers)
 * app.use((ctx) => {
 *   ctx.type = 'html'
 *   ctx.body = `<script nonce="${ctx.state.cspNonce}">boot()</script>`
 * })
 * // with a router: router.get('/widget', headers.route({ helmet: { xFrameOptions: false } }), render)
 * ```
 */
export function securityHeaders(
  options?: SecurityHeadersOptions | SecurityHeadersPolicy,
): SecurityHeadersMiddleware {
  const policy = resolveSecurityHeaders(options)
  const middleware: Middleware<SecurityHeadersState> = (ctx, next: Next) => {
    apply(policy, ctx)
    return next()
  }
  const route = (overrides: SecurityHeadersOverrides | false): Middleware<SecurityHeadersState> => {
    const derived = overrides === false ? undefined : policy.withOverrides(overrides)
    const kept = new Set(derived?.names.map((name) => name.toLowerCase()))
    const drop = policy.names.filter((name) => !kept.has(name.toLowerCase()))
    return (ctx, next: Next) => {
      for (const name of drop) ctx.res.removeHeader(name)
      if (derived !== undefined) apply(derived, ctx)
      return next()
    }
  }
  return Object.assign(middleware, { policy, route })
}

/** Options of the Koa CSP report middleware. */
export interface CspReportsOptions extends CspReportReceiverOptions {
  /**
   * Path it answers on, the policy's `reportUri`; other paths pass through.
   * @default '/csp-reports'
   */
  readonly path?: string | undefined
}

/**
 * Koa middleware that receives CSP violation reports on `path` (`application/csp-report` and
 * `application/reports+json`, up to `maxBytes`), passes each to `onReport` or the logger and
 * answers 204; 405, 413, 415 or 400 otherwise. Other paths go to the next middleware. Use it
 * before any body parser that would consume these media types.
 *
 * @example
 * ```ts
 * app.use(cspReports({ path: '/csp-reports', onReport: (v) => logger.warn(v, 'CSP violation') }))
 * ```
 */
export function cspReports(options: CspReportsOptions = {}): Middleware {
  const { path = '/csp-reports', ...rest } = options
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError('"path" option must be a path starting with "/"')
  }
  const receiver = createCspReportReceiver(rest)
  return async (ctx, next: Next) => {
    if (ctx.path !== path) {
      await next()
      return
    }
    const response = await receiver.handle({
      method: ctx.method,
      contentType: ctx.get('content-type') || undefined,
      contentLength: ctx.get('content-length') || undefined,
      // The client as app.proxy decides, for the receiver's rate limit.
      ip: ctx.ip,
      body: ctx.req,
    })
    ctx.status = response.status
    ctx.set(response.headers)
    ctx.body = response.body ?? null
  }
}
