// The Fastify glue: routes, security headers, rate limiting and authentication with
// @palisade/fastify, and the server. Everything
// else (configuration, readiness, shutdown) is in ./service.ts, shared with the other examples.
import Fastify from 'fastify'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  auth,
  gracefulShutdown,
  healthRoutes,
  rateLimit,
  securityHeaders,
  serverOptions,
} from '@palisade/fastify'
import {
  API_HEADERS,
  BAD_REQUEST,
  NOT_FOUND,
  SECURITY_HEADERS,
  admin,
  createService,
  failure,
  me,
} from '@palisade/example-shared'

const service = await createService()

const app = Fastify({
  logger: false,
  // Keep-alive above the load balancer's idle timeout, and `return503OnClosing: false`: while
  // shutting down, requests on open connections are served, as in the Express and Koa examples.
  ...serverOptions(service.timeouts),
  // A malformed URL is refused before routing; answer it like the other examples.
  frameworkErrors: (_error, _request, reply: FastifyReply) => {
    void reply.code(400).headers(API_HEADERS).send(BAD_REQUEST)
  },
})
// No route takes a body: ignore bodies, as Express and Koa do without a body parser, instead of
// parsing (and refusing) them on routes that do not exist.
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (_request, _payload, done) => {
  done(null)
})

// Every route, unknown ones included, gets the security headers, is rate-limited (before
// authentication, so that refused tokens count too) and needs a valid bearer token, unless it
// says otherwise: the health routes (/healthz, /readyz, /startupz) opt out of all three.
await app.register(securityHeaders, SECURITY_HEADERS)
await app.register(
  rateLimit,
  service.rateLimit((request: FastifyRequest) => ({ headers: request.headers, url: request.url })),
)
await app.register(auth, { authenticator: service.auth, protectByDefault: true })
await app.register(healthRoutes, { health: service.health })

app.get('/api/me', (request, reply) => reply.headers(API_HEADERS).send(me(request.auth)))
app.get('/api/admin', { config: { auth: { scopes: 'admin' } } }, (request, reply) =>
  reply.headers(API_HEADERS).send(admin(request.auth)),
)

app.setNotFoundHandler((_request, reply) => reply.code(404).headers(API_HEADERS).send(NOT_FOUND))
app.setErrorHandler((error, _request, reply) => {
  const { status, body } = failure(error)
  return reply.code(status).headers(API_HEADERS).send(body)
})

await app.ready()
// On SIGTERM drain, then close through app.close() so that Fastify's onClose hooks run.
gracefulShutdown(app, service.shutdown)
await service.listen(app.server)
