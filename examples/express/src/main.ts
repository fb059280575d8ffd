// The Express glue: routes, security headers, rate limiting and authentication with
// @palisade/express, and the server. Everything
// else (configuration, readiness, shutdown) is in ./service.ts, shared with the other examples.
import { createServer } from 'node:http'
import express from 'express'
import type { ErrorRequestHandler, Request } from 'express'
import { auth, healthRoutes, rateLimit, requireScopes, securityHeaders } from '@palisade/express'
import { applyServerTimeouts, gracefulShutdown } from '@palisade/health'
import {
  API_HEADERS,
  BAD_REQUEST,
  NOT_FOUND,
  SECURITY_HEADERS,
  admin,
  createService,
  failure,
  malformedUrl,
  me,
} from '@palisade/example-shared'

const service = await createService()

const app = express()
app.disable('x-powered-by')
app.set('etag', false)
// Exact paths, as in Fastify and Koa: `/API/ME` and `/api/me/` are unknown routes (the health
// routes alone tolerate a trailing slash and a query string, as probes send them).
app.set('case sensitive routing', true)
app.set('strict routing', true)

app.use((req, res, next) => {
  if (malformedUrl(req.url)) res.status(400).set(API_HEADERS).json(BAD_REQUEST)
  else next()
})

// Health routes (/healthz, /readyz, /startupz) come before everything else.
app.use(healthRoutes(service.health))

// Every other route, unknown ones included, gets the security headers, is rate-limited (before
// authentication, so that refused tokens count too) and needs a valid bearer token.
app.use(securityHeaders(SECURITY_HEADERS))
app.use(
  rateLimit(service.rateLimit((req: Request) => ({ headers: req.headers, url: req.originalUrl }))),
)
app.use(auth(service.auth))
app.get('/api/me', (req, res) => {
  res.set(API_HEADERS).json(me(req.auth))
})
app.get('/api/admin', requireScopes('admin'), (req, res) => {
  res.set(API_HEADERS).json(admin(req.auth))
})

app.use((_req, res) => {
  res.status(404).set(API_HEADERS).json(NOT_FOUND)
})
const onError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(error)
    return
  }
  const { status, body } = failure(error)
  res.status(status).set(API_HEADERS).json(body)
}
app.use(onError)

// Keep-alive above the load balancer's idle timeout; on SIGTERM drain, then close (service.ts).
const server = createServer(app)
applyServerTimeouts(server, service.timeouts)
gracefulShutdown(server, service.shutdown)
await service.listen(server)
