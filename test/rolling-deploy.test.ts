// The rolling-deploy case of @palisade/testing (keep-alive clients behind a router that moves new
// connections to another backend part-way through the drain) against the core on a plain
// http.Server in its own process and against the three adapters. The example services run the
// same case in examples.test.ts.
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as palisadeExpress from '@palisade/express'
import * as fastifyAdapter from '@palisade/fastify'
import { createHealth, gracefulShutdown } from '@palisade/health'
import type { GracefulShutdownOptions, Health } from '@palisade/health'
import { createVerifier } from '@palisade/jwt'
import type { Authenticator } from '@palisade/jwt'
import * as palisadeKoa from '@palisade/koa'
import type { DevIssuer } from '@palisade/testing'
import { rollingDeploy, startDevIssuer } from '@palisade/testing'

const DRAIN_MS = 1500
const TIMEOUT_MS = 5000

let issuer: DevIssuer
let token: string

beforeAll(async () => {
  issuer = await startDevIssuer()
  token = await issuer.mint({ subject: 'alice', expiresIn: 3600 })
})

afterAll(() => issuer.close())

describe('the core gracefulShutdown() on a plain http.Server, in its own process', () => {
  it('loses no request when the router stops opening connections part-way through the drain', async () => {
    const fixture = fileURLToPath(
      new URL('../packages/health/test/fixtures/server.mjs', import.meta.url),
    )
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, DRAIN_MS: String(DRAIN_MS), TIMEOUT_MS: String(TIMEOUT_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', () => {
          const match = /listening (\d+)/.exec(stdout)
          if (match) resolve(Number(match[1]))
        })
        void exited.then((code) => {
          reject(new Error(`the fixture exited with ${String(code)}: ${stderr}`))
        })
      })
      const report = await rollingDeploy({
        baseUrl: `http://127.0.0.1:${port}`,
        path: '/',
        shutdown: async () => {
          child.kill('SIGTERM')
          // The fixture logs the start of the drain on stderr once readiness fails.
          await new Promise<void>((resolve) => {
            const taken = () => {
              if (stderr.includes('readiness fails now')) {
                child.stderr.off('data', taken)
                resolve()
              }
            }
            child.stderr.on('data', taken)
            taken()
          })
        },
        exited,
      })
      expect(report.servedOnKeptConnections).toBeGreaterThan(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }, 30_000)
})

/** An adapter's app with health routes first and authentication in front of GET /api/me. */
interface InProcess {
  readonly server: Server
  /** Arms the adapter's documented shutdown for this app. */
  readonly shutdown: (options: GracefulShutdownOptions) => { shutdown: () => Promise<number> }
}

const frameworks: Record<
  'Express' | 'Fastify' | 'Koa',
  (health: Health, authenticator: Authenticator) => Promise<InProcess>
> = {
  Express(health, authenticator) {
    const { auth, healthRoutes } = palisadeExpress
    const app = express()
    app.use(healthRoutes(health))
    app.use(auth(authenticator))
    app.get('/api/me', (req, res) => res.json({ subject: req.auth?.subject }))
    const server = createServer(app)
    return Promise.resolve({ server, shutdown: (options) => gracefulShutdown(server, options) })
  },
  async Fastify(health, authenticator) {
    const app = Fastify(fastifyAdapter.serverOptions())
    await app.register(fastifyAdapter.auth, { authenticator })
    await app.register(fastifyAdapter.healthRoutes, { health })
    app.get('/api/me', (request) => Promise.resolve({ subject: request.auth?.subject }))
    await app.ready()
    return {
      server: app.server,
      shutdown: (options) => fastifyAdapter.gracefulShutdown(app, options),
    }
  },
  Koa(health, authenticator) {
    const { auth, healthRoutes } = palisadeKoa
    const app = new Koa<palisadeKoa.AuthState>()
    app.use(healthRoutes(health))
    app.use(auth(authenticator))
    app.use((ctx) => {
      ctx.body = { subject: ctx.state.auth?.subject }
    })
    const handle = app.callback()
    const server = createServer((req, res) => void handle(req, res))
    return Promise.resolve({ server, shutdown: (options) => gracefulShutdown(server, options) })
  },
}

describe.each(Object.keys(frameworks) as (keyof typeof frameworks)[])('the %s adapter', (name) => {
  it('loses no request when the router stops opening connections part-way through the drain', async () => {
    const health = createHealth()
    const authenticator = createVerifier({
      issuer: issuer.issuer,
      audience: 'api',
      allowInsecureHttp: true,
    })
    await authenticator.ready()
    const app = await frameworks[name](health, authenticator)
    let exit!: (code: number) => void
    const exited = new Promise<number>((resolve) => (exit = resolve))
    const controller = app.shutdown({
      health,
      drainMs: DRAIN_MS,
      timeoutMs: TIMEOUT_MS,
      signals: [],
      exit,
    })
    await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve))
    const { port } = app.server.address() as AddressInfo
    try {
      await rollingDeploy({
        baseUrl: `http://127.0.0.1:${port}`,
        headers: { authorization: `Bearer ${token}` },
        shutdown: () => {
          void controller.shutdown()
        },
        exited,
      })
      expect(app.server.listening).toBe(false)
    } finally {
      app.server.closeAllConnections()
      app.server.close()
    }
  }, 30_000)
})
