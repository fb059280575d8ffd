import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHealth } from '@palisade/health'
import type { Health } from '@palisade/health'
import { createVerifier } from '@palisade/jwt'
import type { DevIssuer, HealthConformanceTarget } from '@palisade/testing'
import { healthConformanceCases, startDevIssuer } from '@palisade/testing'
import { auth, healthRoutes, rateLimit } from '../src/index.js'

// The same service, requests and expected answers as in the Express and Fastify adapters' tests.
const TOKEN = 'adapter-details-token-0123456789'
let issuer: DevIssuer
let health: Health
let server: Server
let base = ''

beforeAll(async () => {
  issuer = await startDevIssuer()
  health = createHealth({
    checks: [
      { name: 'db', componentType: 'datastore', run: () => undefined },
      {
        name: 'cache',
        critical: false,
        run: () => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNREFUSED' })),
      },
    ],
    detailsToken: TOKEN,
    trustLoopback: false,
  })
  const app = new Koa()
  app.use(healthRoutes(health))
  app.use(auth(createVerifier({ issuer: issuer.issuer, audience: 'api', allowInsecureHttp: true })))
  app.use(rateLimit({ limit: 5, windowMs: 60_000 }))
  app.use((ctx) => {
    ctx.body = { subject: ctx.state.auth?.subject }
  })
  server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  health.close()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await issuer.close()
})

interface Seen {
  status: number
  headers: Record<string, string>
  body: string
}

const HOP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])

async function see(path: string, method = 'GET', headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method, headers })
  const seen: Seen = {
    status: response.status,
    headers: Object.fromEntries([...response.headers].filter(([name]) => !HOP_HEADERS.has(name))),
    // Times and durations vary from run to run.
    body: (await response.text())
      .replace(/"time":"[^"]+"/g, '"time":"T"')
      .replace(/"observedValue":[\d.]+/g, '"observedValue":0'),
  }
  return seen
}

const TYPE = 'application/health+json; charset=utf-8'
const headers = (length: number, extra: Record<string, string> = {}) => ({
  'cache-control': 'no-store',
  'content-length': String(length),
  'content-type': TYPE,
  ...extra,
})
const DETAILS =
  '{"status":"warn","checks":{"db:connection":[{"componentType":"datastore","status":"pass","time":"T","observedValue":0,"observedUnit":"ms"}],"cache:connection":[{"componentType":"component","status":"warn","time":"T","observedValue":0,"observedUnit":"ms","output":"unavailable"}]}}'

describe('healthRoutes (Koa)', () => {
  it('answers exactly as the Express and Fastify adapters do', async () => {
    expect(await see('/startupz')).toEqual({
      status: 503,
      headers: headers(37),
      body: '{"status":"fail","output":"starting"}',
    })
    health.markStarted()
    expect(await see('/healthz')).toEqual({
      status: 200,
      headers: headers(17),
      body: '{"status":"pass"}',
    })
    expect(await see('/startupz/?x=1')).toEqual({
      status: 200,
      headers: headers(17),
      body: '{"status":"pass"}',
    })
    expect(await see('/readyz')).toEqual({
      status: 200,
      headers: headers(17),
      body: '{"status":"warn"}',
    })
    expect(await see('/readyz', 'HEAD')).toEqual({ status: 200, headers: headers(17), body: '' })
    const details = await see('/readyz/', 'GET', { authorization: `Bearer ${TOKEN}` })
    expect(details.body).toBe(DETAILS)
    expect(details.status).toBe(200)
    expect(await see('/healthz', 'POST')).toEqual({
      status: 405,
      headers: headers(47, { allow: 'GET, HEAD' }),
      body: '{"status":"fail","output":"method not allowed"}',
    })
  })

  it('passes other requests on to authentication and rate limiting', async () => {
    const response = await fetch(`${base}/api/me`)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('Bearer')
  })

  it('refuses anything but a createHealth() instance', () => {
    // @ts-expect-error -- not a Health
    expect(() => healthRoutes({})).toThrow(TypeError)
  })
})

describe('health conformance (Koa)', () => {
  const target = (): HealthConformanceTarget => ({ baseUrl: base, detailsToken: TOKEN })
  for (const testCase of healthConformanceCases) {
    it(testCase.name, async () => {
      health.markStarted()
      await testCase.run(target())
    })
  }
})
