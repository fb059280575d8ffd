import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import type { Middleware } from 'koa'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createVerifier } from '@palisade/jwt'
import type { AuthInfo } from '@palisade/jwt'
import type { ConformanceTarget, DevIssuer } from '@palisade/testing'
import { conformanceCases, probe, startDevIssuer } from '@palisade/testing'
import type { AuthState } from '../src/index.js'
import { auth, requireScopes } from '../src/index.js'

let issuer: DevIssuer
let server: Server
let target: ConformanceTarget

function route(
  method: string,
  path: string,
  ...handlers: Middleware<AuthState>[]
): Middleware<AuthState> {
  return async (ctx, next) => {
    if (ctx.method !== method || ctx.path !== path) {
      await next()
      return
    }
    let index = 0
    const step = async (): Promise<void> => {
      const handler = handlers[index++]
      if (handler !== undefined) await handler(ctx, step)
    }
    await step()
  }
}

beforeAll(async () => {
  issuer = await startDevIssuer()
  const app = new Koa<AuthState>()
  const guard = auth(
    createVerifier({ issuer: issuer.issuer, audience: 'api', allowInsecureHttp: true }),
  )
  app.use(
    route('GET', '/healthz', (ctx) => {
      ctx.body = { status: 'pass' }
    }),
  )
  app.use(
    route('GET', '/unprotected-admin', requireScopes('admin'), (ctx) => {
      ctx.body = { ok: true }
    }),
  )
  app.use(
    route('GET', '/api/me', guard, (ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthInfo | undefined>()
      ctx.body = { subject: ctx.state.auth?.subject, scopes: ctx.state.auth?.scopes }
    }),
  )
  app.use(
    route('GET', '/api/admin', guard, requireScopes('admin'), (ctx) => {
      ctx.body = { ok: true, subject: ctx.state.auth?.subject }
    }),
  )
  server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  target = { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, issuer }
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await issuer.close()
})

describe('conformance', () => {
  for (const testCase of conformanceCases) it(testCase.name, () => testCase.run(target))
})

describe('@palisade/koa', () => {
  it('fails closed when requireScopes runs without auth before it', async () => {
    expect((await probe(`${target.baseUrl}/unprotected-admin`)).status).toBe(401)
  })

  it('validates its arguments when the middleware is created', () => {
    // @ts-expect-error -- not an authenticator
    expect(() => auth(undefined)).toThrow('auth() takes an authenticator')
    expect(() => requireScopes([])).toThrow('"scopes" must name at least one scope')
  })
})
