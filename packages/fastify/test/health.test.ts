import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHealth } from '@palisade/health'
import type { Health } from '@palisade/health'
import { createVerifier } from '@palisade/jwt'
import type { DevIssuer, HealthConformanceTarget } from '@palisade/testing'
import { healthConformanceCases, startDevIssuer } from '@palisade/testing'
import palisade, { palisadeHealth, rateLimit } from '../src/index.js'

// The same service, requests and expected answers as in the Express and Koa adapters' tests.
const TOKEN = 'adapter-details-token-0123456789'
let issuer: DevIssuer
let health: Health
let app: FastifyInstance
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
  app = Fastify()
  await app.register(palisade, {
    authenticator: createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
    }),
  })
  await app.register(rateLimit, { limit: 5, windowMs: 60_000 })
  await app.register(palisadeHealth, { health })
  app.get('/api/me', (request) => ({ subject: request.auth?.subject }))
  base = await app.listen({ port: 0, host: '127.0.0.1' })
})

afterAll(async () => {
  health.close()
  await app.close()
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

describe('healthRoutes (Fastify)', () => {
  it('answers exactly as the Express and Koa adapters do', async () => {
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

  it('refuses anything but a createHealth() instance when registered', async () => {
    const other = Fastify()
    // @ts-expect-error -- not a Health
    await expect(other.register(palisadeHealth, { health: {} }).ready()).rejects.toThrow(
      '"health" option',
    )
    await other.close()
  })

  it('works with the router option ignoreTrailingSlash and under a prefix', async () => {
    const other = Fastify({ routerOptions: { ignoreTrailingSlash: true } })
    const own = createHealth({ trustLoopback: false })
    await other.register(
      async (scope) => {
        await scope.register(palisadeHealth, { health: own })
      },
      { prefix: '/ops' },
    )
    for (const url of ['/ops/healthz', '/ops/healthz/', '/ops/readyz?x=1']) {
      const response = await other.inject({ method: 'GET', url })
      expect(response.statusCode).toBe(200)
      expect(response.body).toBe('{"status":"pass"}')
    }
    await other.close()
    own.close()
  })

  it('adds each probe with and without a trailing slash, for GET and HEAD', () => {
    expect(app.hasRoute({ method: 'GET', url: '/readyz/' })).toBe(true)
    expect(app.hasRoute({ method: 'HEAD', url: '/startupz' })).toBe(true)
  })
})

describe('health conformance (Fastify)', () => {
  const target = (): HealthConformanceTarget => ({ baseUrl: base, detailsToken: TOKEN })
  for (const testCase of healthConformanceCases) {
    it(testCase.name, async () => {
      health.markStarted()
      await testCase.run(target())
    })
  }
})
