import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { createCspReportReceiver, resolveSecurityHeaders } from '@palisade/http'
import type {
  CspReportReceiverOptions,
  SecurityHeadersOptions,
  SecurityHeadersOverrides,
  SecurityHeadersPolicy,
} from '@palisade/http'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types res.locals through this global namespace
  namespace Express {
    interface Locals {
      /** Set by `securityHeaders()` when the policy has a nonce: put it in `nonce="..."`. */
      cspNonce?: string
    }
  }
}

/** The middleware `securityHeaders()` returns, with its policy and a per-route helper. */
export interface SecurityHeadersMiddleware extends RequestHandler {
  /** The compiled policy this middleware applies. */
  readonly policy: SecurityHeadersPolicy
  /**
   * Middleware for one route that replaces this policy's headers with the policy merged with
   * `overrides`, or removes them all with `false`. Mount it after the application-wide one.
   */
  route(overrides: SecurityHeadersOverrides | false): RequestHandler
}

function apply(policy: SecurityHeadersPolicy, req: Request, res: Response): void {
  // A route policy keeps the nonce the application-wide policy already gave templates.
  const nonce = policy.applyTo(res, req.secure, res.locals.cspNonce)
  if (nonce !== undefined) res.locals.cspNonce = nonce
}

/**
 * Express middleware that sets Palisade's security headers (helmet's headers computed once at
 * startup, plus `Permissions-Policy`, `Reporting-Endpoints` and `Cache-Control` per preset),
 * removes `X-Powered-By`, sets HSTS only when `req.secure` (which follows the `trust proxy`
 * setting) and, with a nonce, puts a fresh one in `res.locals.cspNonce` for templates. The
 * headers are identical to the Fastify and Koa adapters'. Also call
 * `app.disable('x-powered-by')` so Express stops adding the header in the first place.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { securityHeaders } from '@palisade/express'
 *
 * const app = express()
 * app.disable('x-powered-by')
 * const headers = securityHeaders({ preset: 'web', reportUri: '/csp-reports' })
 * app.use(headers)
 * app.get('/', (req, res) => res.send(`<script nonce="${res.locals.cspNonce}">boot()</script>`))
 * app.get('/widget', headers.route({ helmet: { xFrameOptions: false } }), renderWidget)
 * ```
 */
export function securityHeaders(
  options?: SecurityHeadersOptions | SecurityHeadersPolicy,
): SecurityHeadersMiddleware {
  const policy = resolveSecurityHeaders(options)
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    apply(policy, req, res)
    next()
  }
  const route = (overrides: SecurityHeadersOverrides | false): RequestHandler => {
    const derived = overrides === false ? undefined : policy.withOverrides(overrides)
    const kept = new Set(derived?.names.map((name) => name.toLowerCase()))
    const drop = policy.names.filter((name) => !kept.has(name.toLowerCase()))
    return (req: Request, res: Response, next: NextFunction) => {
      for (const name of drop) res.removeHeader(name)
      if (derived !== undefined) apply(derived, req, res)
      next()
    }
  }
  return Object.assign(middleware, { policy, route })
}

/**
 * Express handler that receives CSP violation reports (`application/csp-report` and
 * `application/reports+json`, up to `maxBytes`), passes each to `onReport` or the logger and
 * answers 204; 405, 413, 415 or 400 otherwise. Mount it at the policy's `reportUri`, before
 * any body parser that would consume these media types.
 *
 * @example
 * ```ts
 * app.post('/csp-reports', cspReports({ onReport: (v) => logger.warn(v, 'CSP violation') }))
 * ```
 */
export function cspReports(options: CspReportReceiverOptions = {}): RequestHandler {
  const receiver = createCspReportReceiver(options)
  return (req: Request, res: Response, next: NextFunction) => {
    receiver
      .handle({
        method: req.method,
        contentType: req.headers['content-type'],
        contentLength: req.headers['content-length'],
        // The client as the app's trust proxy setting decides, for the receiver's rate limit.
        ip: req.ip,
        body: req,
      })
      .then((response) => {
        res.status(response.status).set(response.headers)
        res.end(response.body)
      }, next)
  }
}
