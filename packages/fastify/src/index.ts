import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { checkOptionNames } from '@palisade/errors'
import { checkScopes, errorResponse } from '@palisade/jwt'
import type { AuthInfo, Authenticator, CheckScopesOptions } from '@palisade/jwt'
import { withoutFastifyKeys } from './headers.js'

/** Per-route authentication, in a route's `config.auth`. */
export type RouteAuth =
  | boolean
  | { readonly scopes: string | readonly string[]; readonly mode?: 'all' | 'any' | undefined }

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the Palisade plugin: the verified token's subject, claims and scopes. */
    auth?: AuthInfo | undefined
  }
  interface FastifyContextConfig {
    /** `false` skips authentication on this route; `{ scopes }` also requires scopes. */
    auth?: RouteAuth | undefined
  }
}

/** Options of the Palisade Fastify plugin. */
export interface PalisadeFastifyOptions {
  /** The authenticator from `createVerifier()` or `authFromConfig()`. */
  readonly authenticator: Authenticator
  /**
   * `true`: every route is authenticated unless its `config.auth` is `false`; `false`: only
   * routes whose `config.auth` is set are.
   * @default true
   */
  readonly protectByDefault?: boolean | undefined
}

const PLUGIN_OPTIONS = Object.keys({
  authenticator: true,
  protectByDefault: true,
} satisfies Record<keyof PalisadeFastifyOptions, true>)

function send(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, headers, body } = errorResponse(error)
  return reply.code(status).headers(headers).send(body)
}

const checks = new WeakMap<object, (auth: AuthInfo | undefined) => void>()

function scopeCheckFor(
  route: RouteAuth,
  realm: string,
): ((auth: AuthInfo | undefined) => void) | undefined {
  if (typeof route !== 'object') return undefined
  let check = checks.get(route)
  if (check === undefined) {
    const options: CheckScopesOptions = {
      realm,
      ...(route.mode === undefined ? {} : { mode: route.mode }),
    }
    check = checkScopes(route.scopes, options)
    checks.set(route, check)
  }
  return check
}

// eslint-disable-next-line @typescript-eslint/require-await -- async so that option errors reject register()
const plugin: FastifyPluginAsync<PalisadeFastifyOptions> = async (fastify, options) => {
  checkOptionNames(withoutFastifyKeys(options), PLUGIN_OPTIONS, 'register(auth)', {
    replaces: ['@fastify/jwt', 'express-oauth2-jwt-bearer'],
  })
  const { authenticator } = options
  if (typeof (authenticator as Partial<Authenticator> | undefined)?.authenticate !== 'function') {
    throw new TypeError(
      '"authenticator" option must come from createVerifier() or authFromConfig()',
    )
  }
  const protectByDefault = options.protectByDefault ?? true
  if (typeof protectByDefault !== 'boolean')
    throw new TypeError('"protectByDefault" option must be a boolean')
  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', undefined)

  // Scope options are validated when a route is added, never per request.
  fastify.addHook('onRoute', (route) => {
    const config = route.config as { auth?: RouteAuth } | undefined
    if (config?.auth !== undefined) scopeCheckFor(config.auth, authenticator.realm)
  })

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = (request.routeOptions.config as { auth?: RouteAuth }).auth ?? protectByDefault
    if (route === false) return
    try {
      request.auth = await authenticator.authenticate({
        headers: request.headers,
        rawHeaders: request.raw.rawHeaders,
        url: request.url,
      })
      scopeCheckFor(route, authenticator.realm)?.(request.auth)
    } catch (error) {
      return send(reply, error)
    }
  })
}

/**
 * The Palisade Fastify plugin: authenticates requests with a bearer token in an `onRequest`
 * hook, sets `request.auth`, and answers 401/400/403/503 per RFC 6750 itself, identically to
 * the Express and Koa adapters. Routes opt out with `config: { auth: false }` and require
 * scopes with `config: { auth: { scopes: 'admin' } }`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { createVerifier } from '@palisade/jwt'
 * import { auth } from '@palisade/fastify'
 *
 * const app = Fastify()
 * await app.register(auth, { authenticator: createVerifier({ issuer: 'https://id.example.com', audience: 'orders' }) })
 * app.get('/healthz', { config: { auth: false } }, async () => ({ status: 'pass' }))
 * app.get('/api/me', async (request) => request.auth?.claims)
 * app.get('/api/admin', { config: { auth: { scopes: 'admin' } } }, async () => ({ ok: true }))
 * ```
 */
const auth = fp(plugin, { fastify: '5.x', name: '@palisade/fastify/auth' })
export default auth
export { auth }

/**
 * A `preHandler` that requires scopes, for routes that prefer hooks to `config.auth`.
 *
 * @example
 * ```ts
 * app.get('/api/admin', { preHandler: requireScopes('admin') }, handler)
 * ```
 */
export function requireScopes(
  scopes: string | readonly string[],
  options: CheckScopesOptions = {},
): (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void {
  const check = checkScopes(scopes, options)
  return (request, reply, done) => {
    try {
      check(request.auth)
    } catch (error) {
      // Answering without calling done() ends the request here.
      send(reply, error)
      return
    }
    done()
  }
}

export type { AuthInfo, Authenticator } from '@palisade/jwt'
export { MemoryStore, RedisStore, rateLimit } from './rate-limit.js'
export type {
  PalisadeFastifyRateLimitOptions,
  RouteRateLimit,
  RateLimitOptions,
  RateLimitPolicyOptions,
  RateLimitStore,
  RedisStoreOptions,
  RouteRateLimitOptions,
  StoreErrorMode,
} from './rate-limit.js'
export { cspReports, securityHeaders } from './headers.js'
export type { CspReportsOptions, SecurityHeadersPluginOptions } from './headers.js'
export { healthRoutes } from './health.js'
export type { HealthRoutesOptions } from './health.js'
export { gracefulShutdown, serverOptions } from './shutdown.js'
export type { PalisadeServerOptions } from './shutdown.js'
