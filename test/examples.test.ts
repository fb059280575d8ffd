// Starts each built example (examples/<name>/dist/main.js) as a real process against a dev
// issuer and the local PostgreSQL and Redis, and checks the example-service contract of
// DESIGN.md over HTTP: the same assertions for Express, Fastify and Koa.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  conformanceCases,
  healthConformanceCases,
  rollingDeploy,
  startDevIssuer,
} from '@palisade/testing'
import type { DevIssuer } from '@palisade/testing'

const EXAMPLES = ['express', 'fastify', 'koa'] as const
/** The entry point of the example under test, set by each example's block. */
let MAIN = ''
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = 'redis://127.0.0.1:6379'
const CLOSED_PORT_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/test'
const CLOSED_PORT_REDIS_URL = 'redis://127.0.0.1:1'

interface Running {
  readonly url: string
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

const children = new Set<ChildProcess>()
/** Processes that live for a whole `describe` block; the others end with their test. */
const shared = new Set<ChildProcess>()
let issuer: DevIssuer

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => {
        resolve(port)
      })
    })
  })
}

function baseEnv(): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: 'api',
    AUTH_ALLOW_INSECURE_HTTP: 'true',
    DATABASE_URL,
    // High enough that only the rate-limit tests, which set their own, ever meet the limit.
    RATE_LIMIT_PER_MINUTE: '100000',
  }
}

function launch(env: Record<string, string>): Omit<Running, 'url'> {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child)
      resolve(code)
    })
  })
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Starts the example and resolves once it prints its `listening on` line. */
async function start(overrides: Record<string, string | undefined> = {}): Promise<Running> {
  const port = await freePort()
  const env: Record<string, string> = { ...baseEnv(), PORT: String(port) }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) Reflect.deleteProperty(env, name)
    else env[name] = value
  }
  const running = launch(env)
  const url = `http://127.0.0.1:${port}`
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no "listening on" line within 10 s; stderr: ${running.stderr()}`))
    }, 10_000)
    const onData = () => {
      if (running.stdout().includes(`listening on ${url}\n`)) {
        clearTimeout(timer)
        resolve()
      }
    }
    running.child.stdout.on('data', onData)
    void running.exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${String(code)} before listening; stderr: ${running.stderr()}`))
    })
  })
  return { ...running, url }
}

/** The fields of the JSON bodies under test. */
interface Body {
  readonly status?: string
  readonly checks?: Record<string, { readonly status: string }[] | undefined>
  readonly error?: string
  readonly subject?: string | null
  readonly scopes?: string[]
  readonly claims?: Record<string, unknown>
  readonly ok?: boolean
}

async function get(
  url: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Body }> {
  const response = await fetch(url, {
    headers: token === undefined ? headers : { ...headers, authorization: `Bearer ${token}` },
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Body }
}

beforeAll(async () => {
  issuer = await startDevIssuer()
})

afterEach(() => {
  for (const child of children) if (!shared.has(child)) child.kill('SIGKILL')
})

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await issuer.close()
})

describe.each(EXAMPLES)('the %s example', (name) => {
  beforeAll(() => {
    MAIN = fileURLToPath(new URL(`../examples/${name}/dist/main.js`, import.meta.url))
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: build the examples first (pnpm build)`)
    }
  })

  describe('a running service', () => {
    let service: Running

    beforeAll(async () => {
      service = await start({ REDIS_URL })
      shared.add(service.child)
    })

    it('answers /healthz with 200 application/health+json, no token needed', async () => {
      const { status, headers, body } = await get(`${service.url}/healthz`)
      expect(status).toBe(200)
      expect(headers.get('content-type')).toBe('application/health+json; charset=utf-8')
      expect(headers.get('cache-control')).toBe('no-store')
      expect(body).toEqual({ status: 'pass' })
    })

    it('answers /readyz with 200 when PostgreSQL and Redis answer', async () => {
      // Redis connects in the background after startup; a probe may come first, as a load
      // balancer's would, so poll briefly as one does.
      let probe = await get(`${service.url}/readyz`)
      for (let i = 0; i < 20 && probe.body.status !== 'pass'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        probe = await get(`${service.url}/readyz`)
      }
      const { status, headers, body } = probe
      expect(status).toBe(200)
      expect(headers.get('content-type')).toBe('application/health+json; charset=utf-8')
      expect(body.status).toBe('pass')
      expect(body.checks?.['postgresql:connection']?.[0]?.status).toBe('pass')
      expect(body.checks?.['redis:connection']?.[0]?.status).toBe('pass')
    })

    it('answers /startupz once listening, HEAD, and probe-style URLs on the health routes', async () => {
      const startup = await get(`${service.url}/startupz`)
      expect(startup.status).toBe(200)
      expect(startup.headers.get('content-type')).toBe('application/health+json; charset=utf-8')
      const head = await fetch(`${service.url}/healthz`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(await head.text()).toBe('')
      expect((await get(`${service.url}/readyz/?probe=kubelet`)).status).toBe(200)
      expect((await get(`${service.url}/healthz?verbose`)).status).toBe(200)
    })

    it('keeps idle connections open for SERVER_KEEP_ALIVE_TIMEOUT_MS, 65 s by default', async () => {
      const { headers } = await get(`${service.url}/healthz`)
      expect(headers.get('connection')).toBe('keep-alive')
      expect(headers.get('keep-alive')).toBe('timeout=65')
    })

    it('refuses /api/me without a token with an RFC 6750 challenge', async () => {
      const { status, headers, body } = await get(`${service.url}/api/me`)
      expect(status).toBe(401)
      expect(headers.get('www-authenticate')).toBe('Bearer realm="api"')
      expect(headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(body.error).toBe('unauthorized')
    })

    it('answers /api/me with the verified claims', async () => {
      const token = await issuer.mint({ subject: 'alice', scope: ['read', 'write'] })
      const { status, headers, body } = await get(`${service.url}/api/me`, token)
      expect(status).toBe(200)
      expect(headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(headers.get('cache-control')).toBe('no-store')
      expect(body.subject).toBe('alice')
      expect(body.scopes).toEqual(['read', 'write'])
      expect(body.claims).toMatchObject({ sub: 'alice', iss: issuer.issuer, aud: 'api' })
    })

    it('refuses /api/admin with 403 insufficient_scope without the admin scope', async () => {
      const token = await issuer.mint({ subject: 'bob', scope: 'read' })
      const { status, headers, body } = await get(`${service.url}/api/admin`, token)
      expect(status).toBe(403)
      expect(headers.get('www-authenticate')).toContain('error="insufficient_scope"')
      expect(headers.get('www-authenticate')).toContain('scope="admin"')
      expect(body.error).toBe('insufficient_scope')
    })

    it('answers /api/admin with the admin scope, from `scope` or `scp`', async () => {
      const token = await issuer.mint({ subject: 'carol', scope: ['read', 'admin'] })
      expect(await get(`${service.url}/api/admin`, token)).toMatchObject({
        status: 200,
        body: { ok: true, subject: 'carol' },
      })
      const scp = await issuer.mint({ subject: 'dave', scope: 'admin', scpArray: true })
      expect((await get(`${service.url}/api/admin`, scp)).status).toBe(200)
    })

    it('refuses an expired token with 401 invalid_token', async () => {
      const token = await issuer.mint({ expiresIn: -60 })
      const { status, headers, body } = await get(`${service.url}/api/me`, token)
      expect(status).toBe(401)
      expect(headers.get('www-authenticate')).toContain('error="invalid_token"')
      expect(body.error).toBe('invalid_token')
    })

    it('answers unknown routes with 404 not_found, after authentication', async () => {
      const token = await issuer.mint()
      const found = await get(`${service.url}/api/nothing-here`, token)
      expect(found.status).toBe(404)
      expect(found.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(found.body).toEqual({ error: 'not_found' })
      expect((await get(`${service.url}/HEALTHZ`, token)).status).toBe(404)
      expect((await get(`${service.url}/nothing-here`)).status).toBe(401)
    })
  })

  describe('the cross-framework conformance suite of @palisade/testing', () => {
    let service: Running

    beforeAll(async () => {
      service = await start()
      shared.add(service.child)
    })

    for (const conformance of conformanceCases) {
      it(conformance.name, () => conformance.run({ baseUrl: service.url, issuer }))
    }
    // The health routes' suite: the examples trust loopback callers with readiness details.
    for (const conformance of healthConformanceCases) {
      it(`health: ${conformance.name}`, () =>
        conformance.run({ baseUrl: service.url, loopbackTrusted: true }))
    }
  })

  describe('security headers and rate limiting', () => {
    it('sends the API security headers on every route but the health routes', async () => {
      const service = await start()
      const token = await issuer.mint({ audience: 'api' })
      for (const [path, auth, status] of [
        ['/api/me', token, 200],
        ['/api/me', undefined, 401],
        ['/nowhere', token, 404],
      ] as const) {
        const { status: got, headers } = await get(`${service.url}${path}`, auth)
        expect(got).toBe(status)
        expect(headers.get('content-security-policy')).toBe(
          "default-src 'none';frame-ancestors 'none'",
        )
        expect(headers.get('x-content-type-options')).toBe('nosniff')
        expect(headers.get('x-frame-options')).toBe('DENY')
        expect(headers.get('referrer-policy')).toBe('no-referrer')
        expect(headers.get('x-powered-by')).toBeNull()
        // HSTS only over HTTPS; these requests are plain HTTP
        expect(headers.get('strict-transport-security')).toBeNull()
        expect(headers.get('ratelimit-policy')).toBe('"per-client";q=100000;w=60')
        expect(headers.get('ratelimit')).toMatch(/^"per-client";r=\d+;t=\d+$/)
      }
      for (const path of ['/healthz', '/readyz']) {
        const { headers } = await get(`${service.url}${path}`)
        expect(headers.get('content-security-policy')).toBeNull()
        expect(headers.get('ratelimit')).toBeNull()
      }
    })

    it('limits each client per minute, by token subject or else by IP, with 429 and Retry-After', async () => {
      const service = await start({ RATE_LIMIT_PER_MINUTE: '3' })
      const alice = await issuer.mint({ audience: 'api', subject: 'alice' })
      const bob = await issuer.mint({ audience: 'api', subject: 'bob' })
      // Unauthenticated requests are counted by IP, refused tokens included.
      const anonymous = []
      for (let i = 0; i < 4; i++) anonymous.push(await get(`${service.url}/api/me`))
      expect(anonymous.map((r) => r.status)).toEqual([401, 401, 401, 429])
      const limited = anonymous[3]
      expect(limited?.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(limited?.body).toMatchObject({ status: 429, 'violated-policies': ['per-client'] })
      // The same address with a valid token is another client: its subject.
      const statuses = []
      for (let i = 0; i < 4; i++) statuses.push((await get(`${service.url}/api/me`, alice)).status)
      expect(statuses).toEqual([200, 200, 200, 429])
      expect((await get(`${service.url}/api/me`, bob)).status).toBe(200)
      // Health routes are never limited.
      expect((await get(`${service.url}/healthz`)).status).toBe(200)
      expect((await get(`${service.url}/readyz`)).status).toBe(200)
    })

    it('enforces one limit across instances that share REDIS_URL', async () => {
      const env = { REDIS_URL, RATE_LIMIT_PER_MINUTE: '4' }
      const [first, second] = await Promise.all([start(env), start(env)])
      // A subject of its own, so that earlier runs within the minute do not count.
      const token = await issuer.mint({ audience: 'api', subject: `shared-${randomUUID()}` })
      const statuses = []
      for (let i = 0; i < 6; i++) {
        const service = i % 2 === 0 ? first : second
        statuses.push((await get(`${service.url}/api/me`, token)).status)
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429])
    })
  })

  describe('startup', () => {
    it('refuses to start in production naming every problem, without printing a secret', async () => {
      const password = 'Zq8vN3xR7tLw2KpY'
      const { exited, stderr } = launch({
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'production',
        ENABLE_AUTH_MIDDLEWARE: 'false',
        AUTH_AUDIENCE: 'api',
        DATABASE_URL: `postgres://app:${password}@127.0.0.1:5432/test`,
      })
      expect(await exited).toBe(78)
      expect(stderr()).toContain('ENABLE_AUTH_MIDDLEWARE')
      expect(stderr()).toContain('AUTH_ISSUER')
      expect(stderr()).not.toContain(password)
    })

    it('takes its keep-alive timeout from SERVER_KEEP_ALIVE_TIMEOUT_MS and refuses a bad one', async () => {
      const service = await start({ SERVER_KEEP_ALIVE_TIMEOUT_MS: '7000' })
      expect((await get(`${service.url}/healthz`)).headers.get('keep-alive')).toBe('timeout=7')
      const { exited, stderr } = launch({ ...baseEnv(), SERVER_KEEP_ALIVE_TIMEOUT_MS: '0' })
      expect(await exited).toBe(78)
      expect(stderr()).toContain('SERVER_KEEP_ALIVE_TIMEOUT_MS')
    })

    it('exits 69 with a short report on stderr when the issuer cannot be reached', async () => {
      const port = await freePort()
      const issuerUrl = `http://127.0.0.1:${await freePort()}`
      const { exited, stderr, stdout } = launch({
        ...baseEnv(),
        PORT: String(port),
        AUTH_ISSUER: issuerUrl,
      })
      expect(await exited).toBe(69)
      const lines = stderr().trim().split('\n')
      expect(lines.length).toBeLessThanOrEqual(4)
      expect(lines[0]).toMatch(/^Startup refused: the identity provider could not be reached/)
      expect(stderr()).toContain(`${issuerUrl}/.well-known/openid-configuration`)
      expect(stderr()).toContain('connection refused (ECONNREFUSED)')
      expect(stderr()).toMatch(/fix: .*AUTH_ISSUER/)
      expect(stderr()).not.toMatch(/^\s+at /m)
      expect(stdout()).not.toContain('listening on')
    })
  })

  describe('readiness', () => {
    it('fails with 503 while PostgreSQL cannot be reached; liveness still passes', async () => {
      const service = await start({ DATABASE_URL: CLOSED_PORT_DATABASE_URL })
      const ready = await get(`${service.url}/readyz`)
      expect(ready.status).toBe(503)
      expect(ready.headers.get('content-type')).toBe('application/health+json; charset=utf-8')
      expect(ready.body.status).toBe('fail')
      expect(JSON.stringify(ready.body)).not.toContain('127.0.0.1')
      expect((await get(`${service.url}/healthz`)).status).toBe(200)
    })

    it('warns with 200 when only Redis cannot be reached', async () => {
      const service = await start({ REDIS_URL: CLOSED_PORT_REDIS_URL })
      const ready = await get(`${service.url}/readyz`)
      expect(ready.status).toBe(200)
      expect(ready.body.status).toBe('warn')
    })
  })

  describe('shutdown', () => {
    it('fails readiness at once on SIGTERM, serves during the drain, then exits 0', async () => {
      const service = await start({ SHUTDOWN_DRAIN_MS: '500' })
      expect((await get(`${service.url}/readyz`)).status).toBe(200)
      const signalled = Date.now()
      service.child.kill('SIGTERM')
      let ready = await get(`${service.url}/readyz`)
      // The signal reaches the process asynchronously; allow it a moment, below the drain.
      while (ready.status === 200 && Date.now() - signalled < 400) {
        ready = await get(`${service.url}/readyz`)
      }
      expect(ready.status).toBe(503)
      expect(ready.body.status).toBe('fail')
      const live = await get(`${service.url}/healthz`)
      expect(live.status).toBe(200)
      expect(Date.now() - signalled).toBeLessThan(500)
      expect(await service.exited).toBe(0)
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(500)
    })

    it('loses no request on a rolling deploy: the rolling-deploy case of @palisade/testing', async () => {
      const service = await start({ SHUTDOWN_DRAIN_MS: '1500', SHUTDOWN_TIMEOUT_MS: '5000' })
      const token = await issuer.mint({ subject: 'alice', expiresIn: 3600 })
      await rollingDeploy({
        baseUrl: service.url,
        headers: { authorization: `Bearer ${token}` },
        shutdown: async () => {
          service.child.kill('SIGTERM')
          // The service says on stdout when the drain starts, after readiness has started failing.
          await new Promise<void>((resolve) => {
            const taken = () => {
              if (service.stdout().includes('readiness fails now')) {
                service.child.stdout.off('data', taken)
                resolve()
              }
            }
            service.child.stdout.on('data', taken)
            taken()
          })
        },
        exited: service.exited,
      })
    })

    it('exits 1 when a request is still in flight after SHUTDOWN_TIMEOUT_MS', async () => {
      const service = await start({ SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: '300' })
      const socket = connect(Number(new URL(service.url).port), '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      // Half a request: the server is busy with it until the client finishes or goes away.
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      socket.on('error', () => undefined)
      service.child.kill('SIGTERM')
      expect(await service.exited).toBe(1)
      expect(service.stderr()).toContain('SHUTDOWN_TIMEOUT_MS')
      socket.destroy()
    })

    it('exits 1 at once on a second signal', async () => {
      const service = await start({ SHUTDOWN_DRAIN_MS: '10000' })
      service.child.kill('SIGTERM')
      await new Promise((resolve) => setTimeout(resolve, 100))
      service.child.kill('SIGINT')
      expect(await service.exited).toBe(1)
    })
  })
})
