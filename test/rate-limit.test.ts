// Rate limiting across the three adapters, on their built packages: the same request sequences
// answered identically with the memory store and with the local Redis; two service processes
// sharing one Redis enforce one exact limit; and a Redis that dies mid-test (a second
// redis-server started and killed here) is handled by each failure mode, then recovered from.
import { spawn } from 'node:child_process'
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '@palisade/express'
import type { StoreErrorMode } from '@palisade/express'
import {
  assertSameRateLimitObservations,
  rateLimitConformanceCases,
  runRateLimitCase,
} from '@palisade/testing'
import type { RateLimitObservation } from '@palisade/testing'
import { FRAMEWORKS, startApp } from './fixtures/rate-limit/apps.js'
import type { AppOptions, Framework, RunningApp } from './fixtures/rate-limit/apps.js'

const SERVER = fileURLToPath(new URL('./fixtures/rate-limit/server.mjs', import.meta.url))
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true })
const prefixes: string[] = []
const children = new Set<ChildProcess>()
const apps = new Set<RunningApp>()

function prefix(): string {
  const value = `palisade-test:${Math.random().toString(36).slice(2)}:`
  prefixes.push(value)
  return value
}

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function start(framework: Framework, options: AppOptions): Promise<RunningApp> {
  const app = await startApp(framework, options)
  apps.add(app)
  return app
}

beforeAll(async () => {
  await redis.connect()
})

afterEach(async () => {
  await Promise.all([...apps].map((app) => app.close()))
  apps.clear()
})

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  for (const value of prefixes) {
    const keys = await redis.keys(`${value}*`)
    if (keys.length > 0) await redis.del(...keys)
  }
  redis.disconnect()
})

describe.each(['memory', 'redis'] as const)('conformance with the %s store', (store) => {
  for (const testCase of rateLimitConformanceCases) {
    it(testCase.name, async () => {
      const results = new Map<Framework, RateLimitObservation[]>()
      for (const framework of FRAMEWORKS) {
        const app = await start(framework, {
          ...testCase.options,
          ...(store === 'redis'
            ? { store: new RedisStore({ client: redis, prefix: prefix() }) }
            : {}),
        })
        results.set(framework, await runRateLimitCase(app.baseUrl, testCase))
      }
      const express = results.get('express')!
      assertSameRateLimitObservations(results.get('fastify')!, express, 'fastify vs express')
      assertSameRateLimitObservations(results.get('koa')!, express, 'koa vs express')
    })
  }
})

interface Service {
  readonly url: string
  readonly child: ChildProcessByStdio<null, Readable, Readable>
}

async function service(framework: Framework, env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env['PATH'] ?? '', FRAMEWORK: framework, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const line = stdout.split('\n').find((text) => text.startsWith('{'))
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port)
    })
    child.once('exit', (code) => {
      reject(new Error(`${framework} service exited with ${String(code)}: ${stderr}`))
    })
  })
  return { url: `http://127.0.0.1:${port}/`, child }
}

describe('several processes sharing Redis', () => {
  it('2 x 500 concurrent requests against a limit of 100 allow exactly 100', async () => {
    const env = { PREFIX: prefix(), LIMIT: '100', REDIS_URL: 'redis://127.0.0.1:6379' }
    const services = await Promise.all([service('express', env), service('fastify', env)])
    const statuses = await Promise.all(
      services.flatMap(({ url }) =>
        Array.from({ length: 500 }, async () => {
          const response = await fetch(url, { signal: AbortSignal.timeout(60_000) })
          await response.arrayBuffer()
          return response.status
        }),
      ),
    )
    const count = (status: number) => statuses.filter((value) => value === status).length
    expect({
      allowed: count(200),
      limited: count(429),
      other: statuses.length - count(200) - count(429),
    }).toEqual({
      allowed: 100,
      limited: 900,
      other: 0,
    })
    for (const { child } of services) {
      child.kill('SIGTERM')
      children.delete(child)
    }
  })
})

interface RedisServer {
  readonly child: ChildProcess
  stop: () => Promise<void>
}

async function redisServer(port: number): Promise<RedisServer> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.add(child)
  await new Promise<void>((resolve, reject) => {
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    })
    child.once('exit', (code) => {
      reject(new Error(`redis-server exited with ${String(code)}: ${output}`))
    })
  })
  return {
    child,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
      children.delete(child)
    },
  }
}

describe('Redis outage', () => {
  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => rejections.push(reason)
  beforeAll(() => process.on('unhandledRejection', onRejection))
  afterAll(() => process.off('unhandledRejection', onRejection))

  it('each failure mode behaves as configured, the services stay up, and recover', async () => {
    const port = await freePort()
    let server = await redisServer(port)
    const client = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 100 })
    client.on('error', () => undefined)
    const modes: StoreErrorMode[] = ['open', 'closed', 'local']
    const running: { framework: Framework; mode: StoreErrorMode; app: RunningApp }[] = []
    for (const framework of FRAMEWORKS) {
      for (const mode of modes) {
        const app = await start(framework, {
          policies: [{ name: 'default', limit: 3, windowMs: 60_000 }],
          store: new RedisStore({ client, prefix: prefix() }),
          onStoreError: mode,
          // Long enough for a loaded machine, short enough to show that an outage never hangs.
          storeTimeoutMs: 1000,
          circuitBreakerThreshold: 2,
          circuitBreakerCooldownMs: 300,
        })
        running.push({ framework, mode, app })
      }
    }
    const get = async (app: RunningApp, path = '/rl/default') => {
      const response = await fetch(`${app.baseUrl}${path}`, { signal: AbortSignal.timeout(10_000) })
      const text = await response.text()
      return { status: response.status, headers: response.headers, text }
    }

    for (const { app } of running) {
      const before = await get(app)
      expect(before.status).toBe(200)
      expect(before.headers.get('ratelimit')).toBe('"default";r=2;t=60')
    }

    await server.stop()

    for (const { framework, mode, app } of running) {
      const label = `${framework} ${mode}`
      const answers = []
      for (let i = 0; i < 4; i++) answers.push(await get(app))
      if (mode === 'open') {
        expect(
          answers.map((a) => a.status),
          label,
        ).toEqual([200, 200, 200, 200])
        expect(
          answers.map((a) => a.headers.get('ratelimit')),
          label,
        ).toEqual([null, null, null, null])
      } else if (mode === 'closed') {
        expect(
          answers.map((a) => a.status),
          label,
        ).toEqual([503, 503, 503, 503])
        expect(answers[0]!.headers.get('content-type'), label).toBe(
          'application/problem+json; charset=utf-8',
        )
        expect(Number(answers[0]!.headers.get('retry-after')), label).toBeGreaterThanOrEqual(1)
        expect(JSON.parse(answers[0]!.text), label).toEqual({
          type: 'about:blank',
          title: 'Service Unavailable',
          status: 503,
        })
      } else {
        expect(
          answers.map((a) => a.status),
          label,
        ).toEqual([200, 200, 200, 429])
        expect(answers[0]!.headers.get('ratelimit'), label).toBe('"default";r=2;t=60')
      }
      expect((await get(app, '/healthz')).status, `${label} stays up`).toBe(200)
    }

    server = await redisServer(port)
    for (const { framework, mode, app } of running) {
      let recovered = false
      for (let attempt = 0; attempt < 100 && !recovered; attempt++) {
        const answer = await get(app)
        // Commands the client queued while offline may run late and count: any Redis answer
        // (a 200 with headers: 'open' sends none and 'local' is exhausted) shows recovery.
        recovered =
          answer.status === 200 &&
          /^"default";r=\d;t=\d+$/.test(answer.headers.get('ratelimit') ?? '')
        if (!recovered) await sleep(200)
      }
      expect(recovered, `${framework} ${mode} recovers`).toBe(true)
    }
    expect(rejections).toEqual([])
    client.disconnect()
    await server.stop()
  }, 120_000)
})
