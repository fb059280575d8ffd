import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createVerifier } from '@palisade/jwt'
import type { AuthInfo } from '@palisade/jwt'
import type { ConformanceTarget, DevIssuer } from '@palisade/testing'
import { conformanceCases, probe, startDevIssuer } from '@palisade/testing'
import defaultPlugin, { auth, requireScopes } from '../src/index.js'

let issuer: DevIssuer
let app: FastifyInstance
let target: ConformanceTarget

beforeAll(async () => {
  issuer = await startDevIssuer()
  app = Fastify()
  await app.register(auth, {
    authenticator: createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
    }),
  })
  app.get('/healthz', { config: { auth: false } }, () => ({ status: 'pass' }))
  app.get('/api/me', (request) => {
    expectTypeOf(request.auth).toEqualTypeOf<AuthInfo | undefined>()
    return { subject: request.auth?.subject, scopes: request.auth?.scopes }
  })
  app.get('/api/admin', { config: { auth: { scopes: 'admin' } } }, (request) => ({
    ok: true,
    subject: request.auth?.subject,
  }))
  app.get('/api/hooked-admin', { preHandler: requireScopes('admin') }, () => ({ ok: true }))
  app.get(
    '/unprotected-admin',
    { config: { auth: false }, preHandler: requireScopes('admin') },
    () => ({ ok: true }),
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  target = { baseUrl: `http://127.0.0.1:${address.port}`, issuer }
})
afterAll(async () => {
  await app.close()
  await issuer.close()
})

describe('conformance', () => {
  for (const testCase of conformanceCases) it(testCase.name, () => testCase.run(target))
})

describe('@palisade/fastify', () => {
  it('exports the auth plugin by name and as the default export', () => {
    expect(defaultPlugin).toBe(auth)
  })

  it('requires scopes through a preHandler too', async () => {
    const read = await issuer.mint({ scope: 'read' })
    const admin = await issuer.mint({ scope: 'admin' })
    expect(
      (await probe(`${target.baseUrl}/api/hooked-admin`, { authorization: `Bearer ${read}` }))
        .status,
    ).toBe(403)
    expect(
      (await probe(`${target.baseUrl}/api/hooked-admin`, { authorization: `Bearer ${admin}` }))
        .status,
    ).toBe(200)
  })

  it('fails closed when a scope check runs on a route without auth', async () => {
    expect((await probe(`${target.baseUrl}/unprotected-admin`)).status).toBe(401)
  })

  it('protects only routes that ask for it when protectByDefault is false', async () => {
    const optIn = Fastify()
    await optIn.register(auth, {
      authenticator: createVerifier({
        issuer: issuer.issuer,
        audience: 'api',
        allowInsecureHttp: true,
      }),
      protectByDefault: false,
    })
    optIn.get('/open', () => ({ ok: true }))
    optIn.get('/closed', { config: { auth: true } }, () => ({ ok: true }))
    expect((await optIn.inject({ url: '/open' })).statusCode).toBe(200)
    expect((await optIn.inject({ url: '/closed' })).statusCode).toBe(401)
    await optIn.close()
  })

  it('refuses bad scope options when a route is added, not per request', async () => {
    const bad = Fastify()
    await bad.register(auth, {
      authenticator: createVerifier({
        issuer: issuer.issuer,
        audience: 'api',
        allowInsecureHttp: true,
      }),
    })
    expect(() => bad.get('/x', { config: { auth: { scopes: '' } } }, () => ({}))).toThrow(
      '"scopes" must name at least one scope',
    )
    await bad.close()
  })

  it('validates its options when registered', async () => {
    // @ts-expect-error -- not an authenticator
    await expect(Fastify().register(auth, { authenticator: {} }).ready()).rejects.toThrow(
      '"authenticator" option',
    )
  })
})
