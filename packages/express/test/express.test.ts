import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createVerifier } from '@palisade/jwt'
import type { AuthInfo } from '@palisade/jwt'
import type { ConformanceTarget, DevIssuer } from '@palisade/testing'
import { conformanceCases, probe, startDevIssuer } from '@palisade/testing'
import { auth, requireScopes } from '../src/index.js'

let issuer: DevIssuer
let server: Server
let target: ConformanceTarget

beforeAll(async () => {
  issuer = await startDevIssuer()
  const app = express()
  app.get('/healthz', (_req, res) => res.json({ status: 'pass' }))
  app.use(
    '/api',
    auth(createVerifier({ issuer: issuer.issuer, audience: 'api', allowInsecureHttp: true })),
  )
  app.get('/api/me', (req, res) => {
    expectTypeOf(req.auth).toEqualTypeOf<AuthInfo | undefined>()
    res.json({ subject: req.auth?.subject, scopes: req.auth?.scopes })
  })
  app.get('/api/admin', requireScopes('admin'), (req, res) =>
    res.json({ ok: true, subject: req.auth?.subject }),
  )
  app.get('/unprotected-admin', requireScopes('admin'), (_req, res) => res.json({ ok: true }))
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

describe('@palisade/express', () => {
  it('fails closed when requireScopes runs without auth before it', async () => {
    const result = await probe(`${target.baseUrl}/unprotected-admin`)
    expect(result.status).toBe(401)
  })

  it('validates its arguments when the middleware is created', () => {
    // @ts-expect-error -- not an authenticator
    expect(() => auth({})).toThrow('auth() takes an authenticator')
    expect(() => requireScopes('')).toThrow('"scopes" must name at least one scope')
    expect(() => requireScopes('a"b')).toThrow('"scopes" has an invalid scope')
  })
})
