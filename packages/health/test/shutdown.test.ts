import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Agent, createServer, request } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHealth, gracefulShutdown } from '../src/index.js'
import { memoryLogger, sleep } from './helpers.js'

const fixture = fileURLToPath(new URL('fixtures/server.mjs', import.meta.url))
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

function get(port: number, path: string, agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent: agent ?? false, headers: {} },
      (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (body += chunk))
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body })
        })
        response.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end()
  })
}

interface Service {
  child: ChildProcess
  port: number
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; at: number }>
}

const children: ChildProcess[] = []

async function start(env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => {
    child.on('exit', (code) => {
      resolve({ code, at: performance.now() })
    })
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const match = /listening (\d+)/.exec(stdout)
      if (match) resolve(Number(match[1]))
    })
    void exited.then(({ code }) => {
      reject(new Error(`fixture exited with ${code}: ${stderr}`))
    })
  })
  return { child, port, stdout: () => stdout, stderr: () => stderr, exited }
}

beforeAll(() => {
  if (!existsSync(dist)) {
    throw new Error(
      'packages/health/dist/index.js is missing: run `pnpm build` (or `pnpm --filter @palisade/health build`) before these tests',
    )
  }
})

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})

describe('gracefulShutdown in a child process', () => {
  it('fails readiness at once, serves during the drain, finishes in-flight work, runs hooks in reverse, exits 0', async () => {
    const service = await start({ DRAIN_MS: '600', TIMEOUT_MS: '5000' })
    const { port } = service
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 })
    const other = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      expect((await get(port, '/readyz')).status).toBe(200)
      const first = await get(port, '/', keepAlive)
      expect(first.headers.connection).toBe('keep-alive')
      expect((await get(port, '/', other)).status).toBe(200)

      // In flight on the kept-alive connection across the drain and the close.
      const slow = get(port, '/slow?ms=1000', keepAlive)
      await sleep(50)
      const signalled = performance.now()
      service.child.kill('SIGTERM')
      await sleep(30)

      const ready = await get(port, '/readyz')
      expect(ready.status).toBe(503)
      expect(ready.headers['content-type']).toBe('application/health+json; charset=utf-8')
      expect(JSON.parse(ready.body)).toEqual({ status: 'fail', output: 'shutting down' })

      // Still serving during the drain, on new and on kept-alive connections.
      expect((await get(port, '/')).body).toBe('ok')
      expect((await get(port, '/', other)).status).toBe(200)

      const done = await slow
      expect(done.status).toBe(200)
      expect(done.body).toBe('slow done')
      expect(done.headers.connection).toBe('close')

      const { code, at } = await service.exited
      expect(code).toBe(0)
      expect(at - signalled).toBeGreaterThanOrEqual(950)
      expect(at - signalled).toBeLessThan(3000)
      const hooks = service.stdout().match(/hook:\w+/g)
      expect(hooks).toEqual(['hook:second', 'hook:first'])
    } finally {
      keepAlive.destroy()
      other.destroy()
    }
  })

  it('exits 1 at once on a second signal', async () => {
    const service = await start({ DRAIN_MS: '4000', TIMEOUT_MS: '10000' })
    service.child.kill('SIGTERM')
    await sleep(100)
    expect((await get(service.port, '/readyz')).status).toBe(503)
    const signalled = performance.now()
    service.child.kill('SIGINT')
    const { code, at } = await service.exited
    expect(code).toBe(1)
    expect(at - signalled).toBeLessThan(1000)
    expect(service.stdout()).not.toContain('hook:')
  })

  it('exits 1 at the deadline, cutting a request that is still running', async () => {
    const service = await start({ DRAIN_MS: '100', TIMEOUT_MS: '700' })
    const slow = get(service.port, '/slow?ms=5000').then(
      () => 'answered',
      () => 'cut',
    )
    await sleep(50)
    const signalled = performance.now()
    service.child.kill('SIGTERM')
    const { code, at } = await service.exited
    expect(code).toBe(1)
    expect(at - signalled).toBeGreaterThanOrEqual(650)
    expect(at - signalled).toBeLessThan(2000)
    expect(await slow).toBe('cut')
    expect(service.stderr()).toContain('timeoutMs=700')
  })
})

interface LoadResult {
  /** Requests started before the load stopped, by outcome. */
  ok: number
  failures: string[]
  /** Readiness answers to requests started after the signal, in order. */
  readiness: number[]
}

/**
 * Keeps `keepAlive` workers on pooled keep-alive connections and `fresh` workers on a new
 * connection per request busy until `until()`; one more worker polls readiness once `signalled`.
 */
async function load(
  port: number,
  options: { keepAlive: number; fresh: number; until: () => boolean; signalled: () => boolean },
): Promise<LoadResult> {
  const pool = new Agent({ keepAlive: true, maxSockets: options.keepAlive })
  const result: LoadResult = { ok: 0, failures: [], readiness: [] }
  const worker = async (agent: Agent | undefined) => {
    while (!options.until()) {
      try {
        const reply = await get(port, '/', agent)
        if (reply.status === 200 && reply.body === 'ok') result.ok++
        else result.failures.push(`status ${reply.status}`)
      } catch (error) {
        result.failures.push((error as NodeJS.ErrnoException).code ?? String(error))
      }
    }
  }
  const poller = async () => {
    while (!options.until()) {
      if (!options.signalled()) {
        await sleep(5)
        continue
      }
      try {
        result.readiness.push((await get(port, '/readyz', pool)).status)
      } catch (error) {
        result.failures.push(`readiness ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
      }
    }
  }
  try {
    await Promise.all([
      ...Array.from({ length: options.keepAlive }, () => worker(pool)),
      ...Array.from({ length: options.fresh }, () => worker(undefined)),
      poller(),
    ])
  } finally {
    pool.destroy()
  }
  return result
}

describe('gracefulShutdown under load, in a child process', () => {
  const DRAIN = 1500

  it('drops no request until the drain ends, fails readiness within one request, exits 0', async () => {
    const service = await start({ DRAIN_MS: String(DRAIN), TIMEOUT_MS: '10000' })
    let signalledAt = 0
    // Requests stop being started a margin before the drain ends: after it the server stops
    // accepting, as it should.
    const running = load(service.port, {
      keepAlive: 8,
      fresh: 4,
      signalled: () => signalledAt > 0,
      until: () => signalledAt > 0 && performance.now() > signalledAt + DRAIN - 300,
    })
    await sleep(400)
    signalledAt = performance.now()
    service.child.kill('SIGTERM')
    const result = await running

    expect(result.failures).toEqual([])
    expect(result.ok).toBeGreaterThan(100)
    // The first readiness request after the signal may still pass (the signal is delivered
    // asynchronously); every later one fails.
    expect(result.readiness.length).toBeGreaterThan(2)
    expect(result.readiness.slice(1).every((status) => status === 503)).toBe(true)

    const { code, at } = await service.exited
    expect(code).toBe(0)
    expect(at - signalledAt).toBeGreaterThanOrEqual(DRAIN - 50)
    expect(at - signalledAt).toBeLessThan(10_000)
  }, 30_000)

  it('serves the load through the drain but cuts a hung request at the deadline and exits 1', async () => {
    const service = await start({ DRAIN_MS: String(DRAIN), TIMEOUT_MS: '2500' })
    let signalledAt = 0
    const hung = get(service.port, '/slow?ms=60000').then(
      () => 'answered',
      () => 'cut',
    )
    const running = load(service.port, {
      keepAlive: 4,
      fresh: 2,
      signalled: () => signalledAt > 0,
      until: () => signalledAt > 0 && performance.now() > signalledAt + DRAIN - 300,
    })
    await sleep(300)
    signalledAt = performance.now()
    service.child.kill('SIGTERM')
    const result = await running
    expect(result.failures).toEqual([])
    expect(result.ok).toBeGreaterThan(50)

    const { code, at } = await service.exited
    expect(code).toBe(1)
    expect(at - signalledAt).toBeGreaterThanOrEqual(2400)
    expect(at - signalledAt).toBeLessThan(10_000)
    expect(await hung).toBe('cut')
    expect(service.stderr()).toContain('timeoutMs=2500')
  }, 30_000)
})

describe('gracefulShutdown in process', () => {
  const servers: Server[] = []
  afterEach(() => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections()
      server.close()
    }
  })

  async function listening(): Promise<Server> {
    const server = createServer((_request, response) => response.end('ok'))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }

  it('exits 1 when a hook fails or times out, still running the others in reverse order', async () => {
    const server = await listening()
    const health = createHealth()
    const order: string[] = []
    const codes: number[] = []
    const logger = memoryLogger()
    const controller = gracefulShutdown(server, {
      health,
      drainMs: 0,
      timeoutMs: 2000,
      signals: [],
      logger,
      exit: (code) => codes.push(code),
      hooks: [
        { name: 'a', run: () => void order.push('a') },
        {
          name: 'b',
          run: () => {
            order.push('b')
            throw new Error('close failed for postgres://app:hunter2@db/app')
          },
        },
        { name: 'c', timeoutMs: 50, run: () => new Promise<void>(() => order.push('c')) },
      ],
    })
    const port = (server.address() as AddressInfo).port
    const code = await controller.shutdown('test')
    expect(code).toBe(1)
    expect(codes).toEqual([1])
    expect(order).toEqual(['c', 'b', 'a'])
    expect(health.shuttingDown).toBe(true)
    expect(server.listening).toBe(false)
    await expect(get(port, '/')).rejects.toThrow()
    const failures = logger.lines.filter((line) => line.level === 'error')
    expect(failures.map((line) => line.object['hook'])).toEqual(['c', 'b'])
    expect(JSON.stringify(logger.lines)).not.toContain('hunter2')
    // A second call joins the first.
    expect(await controller.shutdown()).toBe(1)
    expect(codes).toEqual([1])
  })

  it('exits 0 when everything closed and the hooks passed', async () => {
    const server = await listening()
    const codes: number[] = []
    const controller = gracefulShutdown(server, {
      drainMs: 10,
      signals: [],
      exit: (code) => codes.push(code),
      hooks: [{ name: 'pool', run: () => sleep(5) }],
    })
    expect(await controller.shutdown()).toBe(0)
    expect(codes).toEqual([0])
  })

  it('removes its signal handlers on dispose()', async () => {
    const server = await listening()
    const before = process.listenerCount('SIGTERM')
    const controller = gracefulShutdown(server, { exit: () => undefined })
    expect(process.listenerCount('SIGTERM')).toBe(before + 1)
    controller.dispose()
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  /** A raw client connection, to see exactly what the server does with it. */
  interface RawClient {
    readonly socket: Socket
    /** Everything the server sent. */
    readonly received: () => string
    /** Resolves once the server has closed the connection (or reset it). */
    readonly closed: Promise<void>
  }

  async function rawClient(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1')
    let received = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk))
    socket.on('error', () => undefined)
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        resolve()
      }),
    )
    await new Promise((resolve) => socket.once('connect', resolve))
    return { socket, received: () => received, closed }
  }

  /** A logger that resolves `reached(code)` once a line with that code was logged. */
  function steps() {
    const logger = memoryLogger()
    const waiting = new Map<string, () => void>()
    const at = logger.info
    logger.info = (object, message) => {
      at(object, message)
      waiting.get(String(object['code']))?.()
    }
    const reached = (code: string) =>
      logger.lines.some((line) => line.object['code'] === code)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.set(code, resolve))
    return { logger, reached }
  }

  const REQUEST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'

  it('answers with Connection: close from the start of the drain and closes the connection after the response', async () => {
    const server = await listening()
    const { port } = server.address() as AddressInfo
    const { logger, reached } = steps()
    const controller = gracefulShutdown(server, {
      drainMs: 60_000,
      timeoutMs: 120_000,
      signals: [],
      logger,
      exit: () => undefined,
    })
    const client = await rawClient(port)
    client.socket.write(REQUEST)
    await new Promise((resolve) => client.socket.once('data', resolve))
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: keep-alive/)
    void controller.shutdown('test')
    await reached('PALISADE_HEALTH_SHUTDOWN')
    // The same kept-alive connection: served once more, then closed by the server.
    client.socket.write(REQUEST)
    await client.closed
    const second = client.received().slice(client.received().lastIndexOf('HTTP/1.1'))
    expect(second).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*ok$/)
    expect(server.listening).toBe(true)
    controller.dispose()
  })

  it('ends a keep-alive response already under way when the drain starts once it is written', async () => {
    let finish: () => void = () => undefined
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.write('part one;')
      finish = () => response.end('part two')
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { logger, reached } = steps()
    const controller = gracefulShutdown(server, {
      drainMs: 60_000,
      timeoutMs: 120_000,
      signals: [],
      logger,
      exit: () => undefined,
    })
    const client = await rawClient((server.address() as AddressInfo).port)
    client.socket.write(REQUEST)
    await new Promise((resolve) => client.socket.once('data', resolve))
    expect(client.received()).toContain('Connection: keep-alive')
    void controller.shutdown('test')
    await reached('PALISADE_HEALTH_SHUTDOWN')
    finish()
    // Closed long before the drain (a minute) is over.
    await client.closed
    expect(client.received()).toMatch(/part one;[\s\S]*part two/)
    controller.dispose()
  })

  it('closes a connection silent for the whole drain at its end, and lets one accepted late send its request', async () => {
    const server = await listening()
    const { port } = server.address() as AddressInfo
    const { logger, reached } = steps()
    const codes: number[] = []
    const controller = gracefulShutdown(server, {
      drainMs: 300,
      timeoutMs: 30_000,
      signals: [],
      logger,
      exit: (code) => codes.push(code),
    })
    // Served before the drain, then silent: closed when the drain ends.
    const idle = await rawClient(port)
    idle.socket.write(REQUEST)
    await new Promise((resolve) => idle.socket.once('data', resolve))
    const done = controller.shutdown('test')
    await reached('PALISADE_HEALTH_SHUTDOWN')
    // Accepted during the drain; its request is written only after the drain ended.
    const late = await rawClient(port)
    await reached('PALISADE_HEALTH_SHUTDOWN_CLOSING')
    await idle.closed
    expect(server.listening).toBe(false)
    late.socket.write(REQUEST)
    await late.closed
    expect(late.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*ok$/)
    expect(await done).toBe(0)
    expect(codes).toEqual([0])
  })

  it('closes through the "close" option instead of server.close()', async () => {
    const server = await listening()
    const calls: string[] = []
    const controller = gracefulShutdown(server, {
      drainMs: 0,
      signals: [],
      exit: () => undefined,
      close: async () => {
        calls.push('close')
        await new Promise<void>((resolve) =>
          server.close(() => {
            resolve()
          }),
        )
      },
      hooks: [{ name: 'after', run: () => void calls.push('hook') }],
    })
    expect(await controller.shutdown()).toBe(0)
    expect(calls).toEqual(['close', 'hook'])
    expect(server.listening).toBe(false)
  })

  const cases: [unknown, string][] = [
    [{ drainMs: -1 }, '"drainMs" option'],
    [{ timeoutMs: 0 }, '"timeoutMs" option'],
    [{ drainMs: 5000, timeoutMs: 5000 }, '"drainMs" option must be less than'],
    [{ hooks: [{ run: () => undefined }] }, '"hooks[0].name" option'],
    [{ hooks: [{ name: 'x', run: () => undefined, timeoutMs: 'soon' }] }, '"hooks[0].timeoutMs"'],
    [{ signals: ['TERM'] }, '"signals" option'],
    [{ health: {} }, '"health" option'],
    [{ exit: 1 }, '"exit" option'],
    [{ close: 'server' }, '"close" option'],
  ]
  it.each(cases)('refuses %j at call time', async (options, message) => {
    const server = await listening()
    expect(() => gracefulShutdown(server, options as never)).toThrow(TypeError)
    expect(() => gracefulShutdown(server, options as never)).toThrow(message)
    expect(() => gracefulShutdown({} as never)).toThrow('"server" argument')
  })
})
