// The Koa glue: routes, security headers, rate limiting and authentication with @palisade/koa,
// and the server. Everything else
// (configuration, readiness, shutdown) is in ./service.ts, shared with the other examples.
import { createServer } from 'node:http'
import Koa from 'koa'
import type { Context } from 'koa'
import Router from '@koa/router'
import { auth, healthRoutes, rateLimit, requireScopes, securityHeaders } from '@palisade/koa'
import { applyServerTimeouts, gracefulShutdown } from '@palisade/health'
import type { AuthState } from '@palisade/koa'
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

const app = new Koa<AuthState>()

app.use(async (ctx, next) => {
  try {
    if (malformedUrl(ctx.url)) {
      ctx.status = 400
      ctx.set(API_HEADERS)
      ctx.body = BAD_REQUEST
      return
    }
    await next()
  } catch (error) {
    const { status, body } = failure(error)
    ctx.status = status
    ctx.set(API_HEADERS)
    ctx.body = body
  }
})

// Exact paths, as in Express and Fastify: `/API/ME` and `/api/me/` are unknown routes (the health
// routes alone tolerate a trailing slash and a query string, as probes send them).
const routing = { sensitive: true, strict: true }

const api = new Router<AuthState>(routing)
api.get('/api/me', (ctx) => {
  ctx.set(API_HEADERS)
  ctx.body = me(ctx.state.auth)
})
api.get('/api/admin', requireScopes('admin'), (ctx) => {
  ctx.set(API_HEADERS)
  ctx.body = admin(ctx.state.auth)
})

// Health routes (/healthz, /readyz, /startupz) come before everything else.
app.use(healthRoutes(service.health))
// Every other route, unknown ones included, gets the security headers, is rate-limited (before
// authentication, so that refused tokens count too) and needs a valid bearer token.
app.use(securityHeaders(SECURITY_HEADERS))
app.use(
  rateLimit(service.rateLimit((ctx: Context) => ({ headers: ctx.headers, url: ctx.originalUrl }))),
)
app.use(auth(service.auth))
app.use(api.routes())
app.use((ctx) => {
  ctx.status = 404
  ctx.set(API_HEADERS)
  ctx.body = NOT_FOUND
})

const handle = app.callback()
// Keep-alive above the load balancer's idle timeout; on SIGTERM drain, then close (service.ts).
const server = createServer((req, res) => {
  void handle(req, res)
})
applyServerTimeouts(server, service.timeouts)
gracefulShutdown(server, service.shutdown)
await service.listen(server)
