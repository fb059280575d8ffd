import { createServer } from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import type { Middleware } from 'koa'
import { auth as expressAuth, requireScopes as expressScopes } from '@palisade/express'
import { auth as fastifyAuth } from '@palisade/fastify'
import { auth as koaAuth, requireScopes as koaScopes } from '@palisade/koa'
import type { AuthState } from '@palisade/koa'
import type { AuthInfo, Authenticator } from '@palisade/jwt'
import { listen } from '../support/server.js'
import type { Listening } from '../support/server.js'

/** A tiny API (GET /api/me, GET /api/admin needing scope `admin`) listening on loopback. */
export type RunningApp = Listening

export type AdapterName = 'express' | 'fastify' | 'koa'

/** What GET /api/me and GET /api/admin answer: who the token is for and what it grants. */
export function whoAmI(info: AuthInfo | undefined): Record<string, unknown> {
  return {
    sub: info?.subject,
    client_id: info?.claims['client_id'],
    scopes: info?.scopes,
    kid: info?.header.kid,
  }
}

async function startExpress(authenticator: Authenticator): Promise<RunningApp> {
  const app = express()
  app.use('/api', expressAuth(authenticator))
  app.get('/api/me', (req, res) => {
    res.json(whoAmI(req.auth))
  })
  app.get('/api/admin', expressScopes('admin'), (req, res) => {
    res.json(whoAmI(req.auth))
  })
  return listen(createServer(app))
}

async function startFastify(authenticator: Authenticator): Promise<RunningApp> {
  const app = Fastify()
  await app.register(fastifyAuth, { authenticator })
  app.get('/api/me', (request) => Promise.resolve(whoAmI(request.auth)))
  app.get('/api/admin', { config: { auth: { scopes: 'admin' } } }, (request) =>
    Promise.resolve(whoAmI(request.auth)),
  )
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url: address, close: () => app.close() }
}

async function startKoa(authenticator: Authenticator): Promise<RunningApp> {
  const app = new Koa<AuthState>()
  const admin = koaScopes('admin')
  const routes: Middleware<AuthState> = async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/api/me') {
      ctx.body = whoAmI(ctx.state.auth)
    } else if (ctx.method === 'GET' && ctx.path === '/api/admin') {
      await admin(ctx, () => {
        ctx.body = whoAmI(ctx.state.auth)
        return Promise.resolve()
      })
    } else {
      await next()
    }
  }
  app.use(koaAuth(authenticator))
  app.use(routes)
  const handle = app.callback()
  return listen(
    createServer((req, res) => {
      // Koa's handler answers its own errors; nothing is left to catch here.
      void handle(req, res)
    }),
  )
}

/** Mounts the adapter on a tiny app with its own verifier and starts it on a free port. */
export function startApp(adapter: AdapterName, authenticator: Authenticator): Promise<RunningApp> {
  switch (adapter) {
    case 'express':
      return startExpress(authenticator)
    case 'fastify':
      return startFastify(authenticator)
    case 'koa':
      return startKoa(authenticator)
  }
}
