import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import fp from 'fastify-plugin'
import type { Health } from '@palisade/health'
import { checkOptionNames } from '@palisade/errors'
import { withoutFastifyKeys } from './headers.js'

/** Options of the {@link healthRoutes} plugin. */
export interface HealthRoutesOptions {
  /** What `createHealth()` from `@palisade/health` returns; its `paths` are the routes. */
  readonly health: Health
}

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

// eslint-disable-next-line @typescript-eslint/require-await -- async so that option errors reject register()
const plugin: FastifyPluginAsync<HealthRoutesOptions> = async (fastify, options) => {
  checkOptionNames(withoutFastifyKeys(options), ['health'], 'register(healthRoutes)', {
    replaces: ['@godaddy/terminus', 'lightship'],
  })
  const health = (options as Partial<HealthRoutesOptions> | undefined)?.health
  if (typeof (health as Partial<Health> | undefined)?.handle !== 'function') {
    throw new TypeError('"health" option must be what createHealth() from @palisade/health returns')
  }
  const { handle } = health!
  // Probes skip the Palisade authentication, rate limiting and security headers, as they do on
  // Express and Koa where the health routes are mounted before those.
  const config = { auth: false, rateLimit: false, headers: false } as const
  for (const path of Object.values(health!.paths)) {
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      // The route, not request.url, says which probe: it holds under a prefix too.
      const { status, headers, body } = await handle({
        method: request.method,
        path,
        headers: request.headers,
        remoteAddress: request.socket.remoteAddress,
      })!
      return reply.code(status).headers(headers).send(body)
    }
    fastify.route({ method: METHODS, url: path, config, exposeHeadRoute: false, handler })
    // With the router's ignoreTrailingSlash the route above already answers `${path}/`.
    const slashed = `${path}/`
    if (!fastify.hasRoute({ method: 'GET', url: `${fastify.prefix}${slashed}` })) {
      fastify.route({ method: METHODS, url: slashed, config, exposeHeadRoute: false, handler })
    }
  }
}

/**
 * A Fastify plugin that adds the liveness, readiness and startup routes of a `createHealth()`
 * instance (`/healthz`, `/readyz`, `/startupz` by default, with or without a trailing slash):
 * `GET` and `HEAD` answer the probe, other methods 405. The routes carry
 * `config: { auth: false, rateLimit: false, headers: false }`, so the Palisade authentication,
 * rate-limit and security-header plugins skip them. Readiness details go only to callers presenting the health `detailsToken`
 * or, unless turned off, coming from loopback. The answers are byte-for-byte those of the
 * Express and Koa adapters.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { createHealth, postgresCheck } from '@palisade/health'
 * import { healthRoutes } from '@palisade/fastify'
 *
 * const health = createHealth({ checks: [postgresCheck(pool)], detailsToken: process.env.HEALTH_TOKEN })
 * const app = Fastify()
 * await app.register(healthRoutes, { health })
 * ```
 */
export const healthRoutes = fp(plugin, { fastify: '5.x', name: '@palisade/fastify/health' })
