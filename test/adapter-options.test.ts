import express from 'express'
import Fastify from 'fastify'
import type { FastifyPluginAsync } from 'fastify'
import { describe, expect, it } from 'vitest'
import * as palisadeExpress from '@palisade/express'
import * as fastifyAdapter from '@palisade/fastify'
import { createHealth } from '@palisade/health'
import { createVerifier } from '@palisade/jwt'
import * as palisadeKoa from '@palisade/koa'

// Every adapter refuses option names that do not exist, when the middleware or plugin is
// created, with the shared wording; options are untyped here as plain JavaScript passes them.
const loose = (options: Record<string, unknown>): never => options as never
const keyGenerator = (): string => 'everyone'
const KEY_GENERATOR =
  /unknown option "keyGenerator" in createRateLimiter\(\): did you mean "key"\? \(express-rate-limit's keyGenerator is Palisade's key\)/

describe.each([
  ['express', palisadeExpress],
  ['koa', palisadeKoa],
] as const)('%s adapter options', (_name, adapter) => {
  it('rateLimit() refuses express-rate-limit names', () => {
    expect(() => adapter.rateLimit(loose({ windowMs: 60_000, limit: 10, keyGenerator }))).toThrow(
      KEY_GENERATOR,
    )
    expect(() => adapter.rateLimit(loose({ limit: 10, standardHeaders: 'draft-8' }))).toThrow(
      /did you mean "headers"\?/,
    )
    expect(() => adapter.rateLimit({ limit: 10, windowMs: undefined })).not.toThrow()
  })

  it('securityHeaders() refuses helmet names at the top level', () => {
    expect(() => adapter.securityHeaders(loose({ contentSecurityPolicy: false }))).toThrow(
      /unknown option "contentSecurityPolicy" in createSecurityHeaders\(\): did you mean "helmet.contentSecurityPolicy"\?/,
    )
  })

  it('cspReports() refuses unknown names', () => {
    expect(() => adapter.cspReports(loose({ maxBytez: 1024 }))).toThrow(
      /unknown option "maxBytez" in createCspReportReceiver\(\): did you mean "maxBytes"\?/,
    )
  })
})

describe('koa adapter options', () => {
  it('cspReports() takes its own path option beside the receiver options', () => {
    expect(() => palisadeKoa.cspReports({ path: '/reports', maxBytes: 1024 })).not.toThrow()
  })
})

describe('express adapter options', () => {
  it('mounts with known options', () => {
    const app = express()
    app.use(palisadeExpress.rateLimit({ limit: 10 }))
    expect(app).toBeDefined()
  })
})

describe('fastify adapter options', () => {
  const authenticator = createVerifier({ issuer: 'https://id.example.com', audience: 'api' })
  const health = createHealth()

  async function register(plugin: FastifyPluginAsync<never>, options: object): Promise<void> {
    const app = Fastify()
    try {
      await app.register(plugin, options as never)
      await app.ready()
    } finally {
      await app.close()
    }
  }

  it('accepts the keys Fastify itself passes to plugins', async () => {
    const fastifyKeys = { prefix: '/api', logLevel: 'warn', logSerializers: {} }
    await register(fastifyAdapter.rateLimit, { limit: 10, ...fastifyKeys })
    await register(fastifyAdapter.auth, { authenticator, ...fastifyKeys })
    await register(fastifyAdapter.healthRoutes, { health, ...fastifyKeys })
    await register(fastifyAdapter.securityHeaders, { preset: 'api', ...fastifyKeys })
    await register(fastifyAdapter.cspReports, { path: '/csp', ...fastifyKeys })
  })

  it('rateLimit refuses express-rate-limit names', async () => {
    await expect(
      register(fastifyAdapter.rateLimit as never, { limit: 10, keyGenerator }),
    ).rejects.toThrow(KEY_GENERATOR)
  })

  it('the auth plugin refuses @fastify/jwt names with what Palisade does instead', async () => {
    await expect(
      register(fastifyAdapter.auth as never, { authenticator, secret: 'x'.repeat(32) }),
    ).rejects.toThrow(/unknown option "secret" in register\(auth\) \(from @fastify\/jwt\): /)
    await expect(
      register(fastifyAdapter.auth as never, { authenticator, protectByDefualt: false }),
    ).rejects.toThrow(
      /unknown option "protectByDefualt" in register\(auth\): did you mean "protectByDefault"\?/,
    )
  })

  it('healthRoutes refuses terminus names', async () => {
    await expect(
      register(fastifyAdapter.healthRoutes as never, { health, healthChecks: {} }),
    ).rejects.toThrow(
      /unknown option "healthChecks" in register\(healthRoutes\) \(from @godaddy\/terminus\)/,
    )
  })

  it('securityHeaders and cspReports refuse unknown names', async () => {
    await expect(
      register(fastifyAdapter.securityHeaders as never, { frameguard: false }),
    ).rejects.toThrow(
      /unknown option "frameguard" in createSecurityHeaders\(\): did you mean "helmet.xFrameOptions"\?/,
    )
    await expect(
      register(fastifyAdapter.cspReports as never, { path: '/csp', onReports: () => undefined }),
    ).rejects.toThrow(
      /unknown option "onReports" in createCspReportReceiver\(\): did you mean "onReport"\?/,
    )
  })

  it('gracefulShutdown refuses terminus names', async () => {
    const app = Fastify(fastifyAdapter.serverOptions())
    try {
      expect(() =>
        fastifyAdapter.gracefulShutdown(app, loose({ onSignal: () => undefined })),
      ).toThrow(/unknown option "onSignal" in gracefulShutdown\(\): did you mean "hooks"\?/)
    } finally {
      await app.close()
    }
  })
})
