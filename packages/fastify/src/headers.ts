import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createCspReportReceiver, resolveSecurityHeaders } from '@palisade/http'
import type {
  CspReportReceiverOptions,
  SecurityHeadersOptions,
  SecurityHeadersOverrides,
  SecurityHeadersPolicy,
} from '@palisade/http'

declare module 'fastify' {
  interface FastifyReply {
    /** Set by the security-headers plugin when the policy has a nonce: the CSP nonce. */
    cspNonce: string | undefined
  }
  interface FastifyContextConfig {
    /** Overrides merged over the plugin's policy on this route; `false` sets no headers. */
    headers?: SecurityHeadersOverrides | false | undefined
  }
}

/** Options of the security-headers plugin: policy options, or a policy built once elsewhere. */
export type SecurityHeadersPluginOptions =
  SecurityHeadersOptions | { readonly policy: SecurityHeadersPolicy }

// Keys Fastify itself may leave on plugin options.
const FASTIFY_KEYS = new Set(['prefix', 'logLevel', 'logSerializers'])

/** A plugin's own options, without the keys Fastify's register() takes for itself. */
export function withoutFastifyKeys(options: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([key]) => !FASTIFY_KEYS.has(key)))
}

function apply(policy: SecurityHeadersPolicy, request: FastifyRequest, reply: FastifyReply): void {
  // The raw response, as @fastify/helmet sets headers: a handler's reply.header() still wins.
  const nonce = policy.applyTo(reply.raw, request.protocol === 'https')
  if (nonce !== undefined) reply.cspNonce = nonce
}

// eslint-disable-next-line @typescript-eslint/require-await -- async so that option errors reject register()
async function headersPlugin(
  fastify: FastifyInstance,
  options: SecurityHeadersPluginOptions,
): Promise<void> {
  const own = withoutFastifyKeys(options)
  if ('policy' in own && Object.keys(own).length > 1) {
    throw new TypeError('"policy" option cannot be combined with other security header options')
  }
  const policy = resolveSecurityHeaders(
    'policy' in own ? (own['policy'] as SecurityHeadersPolicy) : own,
  )
  if (!fastify.hasReplyDecorator('cspNonce')) fastify.decorateReply('cspNonce', undefined)

  const routePolicies = new WeakMap<object, SecurityHeadersPolicy>()
  const routePolicy = (overrides: SecurityHeadersOverrides): SecurityHeadersPolicy => {
    let derived = routePolicies.get(overrides)
    if (derived === undefined) {
      derived = policy.withOverrides(overrides)
      routePolicies.set(overrides, derived)
    }
    return derived
  }
  // Route overrides are compiled when the route is added, so a bad one fails at startup.
  fastify.addHook('onRoute', (route) => {
    const overrides = (route.config as { headers?: unknown } | undefined)?.headers
    if (overrides === undefined || overrides === false) return
    routePolicy(overrides as SecurityHeadersOverrides)
  })
  fastify.addHook('onRequest', (request, reply, done) => {
    const overrides = (
      request.routeOptions.config as { headers?: SecurityHeadersOverrides | false }
    ).headers
    if (overrides !== false) {
      apply(overrides === undefined ? policy : routePolicy(overrides), request, reply)
    }
    done()
  })
}

/**
 * Fastify plugin that sets Palisade's security headers on every route (helmet's headers
 * computed once at startup, plus `Permissions-Policy`, `Reporting-Endpoints` and
 * `Cache-Control` per preset), HSTS only when `request.protocol === 'https'` (which follows
 * `trustProxy`), and, with a nonce, a fresh one in `reply.cspNonce`. A route's
 * `config.headers` merges overrides over the policy, or `false` skips it. The headers are
 * identical to the Express and Koa adapters'.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { securityHeaders } from '@palisade/fastify'
 *
 * const app = Fastify({ trustProxy: '10.0.0.0/8' })
 * await app.register(securityHeaders, { preset: 'web', reportUri: '/csp-reports' })
 * app.get('/', async (_request, reply) =>
 *   reply.type('text/html').send(`<script nonce="${reply.cspNonce}">boot()</script>`),
 * )
 * app.get('/healthz', { config: { headers: false } }, async () => ({ status: 'pass' }))
 * ```
 */
export const securityHeaders = fp(headersPlugin, {
  fastify: '5.x',
  name: '@palisade/fastify/security-headers',
})

/** Options of the CSP report plugin; `logger` defaults to `fastify.log`. */
export interface CspReportsOptions extends CspReportReceiverOptions {
  /**
   * Path of the `POST` route, the policy's `reportUri`.
   * @default '/csp-reports'
   */
  readonly path?: string | undefined
}

// Not wrapped in fastify-plugin: the raw-body parser below stays inside this plugin's scope.
// eslint-disable-next-line @typescript-eslint/require-await -- async so that option errors reject register()
const reportsPlugin: FastifyPluginAsync<CspReportsOptions> = async (fastify, options) => {
  const { path, ...rest } = withoutFastifyKeys(options) as CspReportsOptions
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new TypeError('"path" option must be a path starting with "/"')
  }
  // Without a logger of its own, reports and failures go where the application's logs go.
  const receiver = createCspReportReceiver({ ...rest, logger: rest.logger ?? fastify.log })
  // The receiver checks the media type and the size itself, as on Express and Koa.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    done(null, payload)
  })
  fastify.post(path ?? '/csp-reports', async (request, reply) => {
    const response = await receiver.handle({
      method: request.method,
      contentType: request.headers['content-type'],
      contentLength: request.headers['content-length'],
      // The client as Fastify's trustProxy option decides, for the receiver's rate limit.
      ip: request.ip,
      body: request.body as AsyncIterable<Uint8Array> | undefined,
    })
    return reply.code(response.status).headers(response.headers).send(response.body)
  })
}

/**
 * Fastify plugin with a `POST` route that receives CSP violation reports
 * (`application/csp-report` and `application/reports+json`, up to `maxBytes`), passes each to
 * `onReport` or the logger and answers 204; 413, 415 or 400 otherwise. Its raw-body parser is
 * scoped to the plugin, so the application's parsers are untouched.
 *
 * @example
 * ```ts
 * await app.register(cspReports, { path: '/csp-reports', onReport: (v) => app.log.warn(v) })
 * ```
 */
export const cspReports: FastifyPluginAsync<CspReportsOptions> = reportsPlugin
