import { createServer } from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as palisadeExpress from '@palisade/express'
import * as fastifyAdapter from '@palisade/fastify'
import { createHealth } from '@palisade/health'
import type { Health } from '@palisade/health'
import { createVerifier } from '@palisade/jwt'
import type { Authenticator } from '@palisade/jwt'
import * as palisadeKoa from '@palisade/koa'
import type { DevIssuer, HealthConformanceTarget } from '@palisade/testing'
import { healthConformanceCases, startDevIssuer } from '@palisade/testing'
import { listen } from './support/server.js'
import type { Listening } from './support/server.js'

// One service on each framework: health routes first, then authentication and a rate limit in
// front of GET /api/me. The same requests must get byte-for-byte the same answers on all three.
const TOKEN = 'adapter-details-token-0123456789'

const frameworks: Record<
  'Express' | 'Fastify' | 'Koa',
  (health: Health, authenticator: Authenticator) => Promise<Listening>
> = {
  Express(health, authenticator) {
    const { auth, healthRoutes, rateLimit } = palisadeExpress
    const app = express()
    app.use(healthRoutes(health))
    app.use(auth(authenticator))
    app.use(rateLimit({ limit: 5, windowMs: 60_000 }))
    app.get('/api/me', (req, res) => res.json({ subject: req.auth?.subject }))
    return listen(createServer(app))
  },
  async Fastify(health, authenticator) {
    const app = Fastify()
    await app.register(fastifyAdapter.auth, { authenticator })
    await app.register(fastifyAdapter.rateLimit, { limit: 5, windowMs: 60_000 })
    await app.register(fastifyAdapter.healthRoutes, { health })
    app.get('/api/me', (request) => Promise.resolve({ subject: request.auth?.subject }))
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    return { url, close: () => app.close() }
  },
  Koa(health, authenticator) {
    const { auth, healthRoutes, rateLimit } = palisadeKoa
    const app = new Koa<palisadeKoa.AuthState>()
    app.use(healthRoutes(health))
    app.use(auth(authenticator))
    app.use(rateLimit({ limit: 5, windowMs: 60_000 }))
    app.use((ctx) => {
      ctx.body = { subject: ctx.state.auth?.subject }
    })
    const handle = app.callback()
    return listen(createServer((req, res) => void handle(req, res)))
  },
}

let issuer: DevIssuer

beforeAll(async () => {
  issuer = await startDevIssuer()
})

afterAll(async () => {
  await issuer.close()
})

interface Seen {
  status: number
  headers: Record<string, string>
  body: string
}

const HOP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])

const TYPE = 'application/health+json; charset=utf-8'
const headers = (length: number, extra: Record<string, string> = {}) => ({
  'cache-control': 'no-store',
  'content-length': String(length),
  'content-type': TYPE,
  ...extra,
})
const DETAILS =
  '{"status":"warn","checks":{"db:connection":[{"componentType":"datastore","status":"pass","time":"T","observedValue":0,"observedUnit":"ms"}],"cache:connection":[{"componentType":"component","status":"warn","time":"T","observedValue":0,"observedUnit":"ms","output":"unavailable"}]}}'

describe.each(Object.entries(frameworks))('health routes on %s', (_name, start) => {
  let health: Health
  let running: Listening

  beforeAll(async () => {
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
    const authenticator = createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
    })
    running = await start(health, authenticator)
  })

  afterAll(async () => {
    health.close()
    await running.close()
  })

  async function see(path: string, method = 'GET', extra: Record<string, string> = {}) {
    const response = await fetch(`${running.url}${path}`, { method, headers: extra })
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

  it('answers every probe with the same status, headers and bytes', async () => {
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
    const response = await fetch(`${running.url}/api/me`)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('Bearer')
  })

  describe('conformance suite', () => {
    const target = (): HealthConformanceTarget => ({
      baseUrl: running.url,
      detailsToken: TOKEN,
    })
    for (const testCase of healthConformanceCases) {
      it(testCase.name, async () => {
        health.markStarted()
        await testCase.run(target())
      })
    }
  })
})
