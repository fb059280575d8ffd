import { Agent, createServer, request } from 'node:http'
import type { Server } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { applyServerTimeouts, serverTimeouts } from '../src/index.js'
import type { ServerTimeoutOptions } from '../src/index.js'

const servers: Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

async function serve(timeouts?: ServerTimeoutOptions): Promise<number> {
  const server = createServer((_request, response) => response.end('ok'))
  servers.push(server)
  if (timeouts !== undefined) applyServerTimeouts(server, timeouts)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** GET / on a keep-alive agent; resolves to the local port of the connection it used. */
function get(port: number, agent: Agent): Promise<{ localPort: number; keepAlive: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
      const { localPort } = response.socket
      response.resume()
      response.once('end', () => {
        resolve({
          localPort: localPort ?? 0,
          keepAlive: String(response.headers['keep-alive'] ?? ''),
        })
      })
    })
    req.once('error', reject)
    req.end()
  })
}

describe('serverTimeouts', () => {
  it('puts the keep-alive timeout above a load balancer idle timeout, and headers above it', () => {
    expect(serverTimeouts()).toEqual({
      keepAliveTimeout: 65_000,
      headersTimeout: 66_000,
      requestTimeout: 120_000,
      connectionsCheckingInterval: 1000,
    })
    expect(serverTimeouts({ keepAliveTimeoutMs: 350_000 })).toEqual({
      keepAliveTimeout: 350_000,
      headersTimeout: 351_000,
      requestTimeout: 351_000,
      connectionsCheckingInterval: 1000,
    })
  })

  const refused: [unknown, string][] = [
    [{ keepAliveTimeoutMs: 0 }, '"keepAliveTimeoutMs" option must be a positive integer'],
    [{ keepAliveTimeoutMs: '65000' }, '"keepAliveTimeoutMs" option'],
    [
      { keepAliveTimeoutMs: 65_000, headersTimeoutMs: 60_000 },
      '"headersTimeoutMs" option (60000) must be more than',
    ],
    [
      { headersTimeoutMs: 70_000, requestTimeoutMs: 60_000 },
      '"requestTimeoutMs" option (60000) must be at least',
    ],
    [{ checkIntervalMs: -1 }, '"checkIntervalMs" option'],
    [{ keepAliveTimeout: 65_000 }, 'unknown option "keepAliveTimeout" in serverTimeouts()'],
  ]
  it.each(refused)('refuses %j naming the option', (options, message) => {
    expect(() => serverTimeouts(options as ServerTimeoutOptions)).toThrow(TypeError)
    expect(() => serverTimeouts(options as ServerTimeoutOptions)).toThrow(message)
  })

  it('refuses a server that is already listening', async () => {
    await serve()
    expect(() => applyServerTimeouts(servers[0]!)).toThrow(
      'call applyServerTimeouts() before listen()',
    )
  })
})

describe('applyServerTimeouts on a real server', () => {
  it('keeps a connection idle for longer than Node’s default keep-alive timeout open', async () => {
    const defaults = await serve()
    const applied = await serve({ keepAliveTimeoutMs: 65_000 })
    const agents = [new Agent({ keepAlive: true }), new Agent({ keepAlive: true })] as const
    try {
      const first = await get(applied, agents[0])
      expect(first.keepAlive).toBe('timeout=65')
      const control = await get(defaults, agents[1])
      expect(control.keepAlive).toBe('timeout=5')
      // Longer than Node's 5 s default: the server without the helper closes its connection.
      const controlClosed = new Promise<void>((resolve) => {
        const sockets = Object.values(agents[1].freeSockets).flat() as Socket[]
        sockets[0]!.once('close', () => {
          resolve()
        })
      })
      await controlClosed
      const again = await get(applied, agents[0])
      expect(again.localPort).toBe(first.localPort)
    } finally {
      for (const agent of agents) agent.destroy()
    }
  }, 20_000)

  it('cuts a client that sends its headers too slowly with 408 at headersTimeout', async () => {
    const port = await serve({
      keepAliveTimeoutMs: 200,
      headersTimeoutMs: 400,
      requestTimeoutMs: 1000,
      checkIntervalMs: 50,
    })
    const socket = connect(port, '127.0.0.1')
    let received = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk))
    socket.on('error', () => undefined)
    await new Promise((resolve) => socket.once('connect', resolve))
    const started = performance.now()
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    // A header line every 100 ms: the connection is never silent, the headers never end.
    const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 100)
    try {
      await new Promise((resolve) => socket.once('close', resolve))
    } finally {
      clearInterval(drip)
    }
    expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout/)
    expect(performance.now() - started).toBeGreaterThanOrEqual(400)
  })

  it('answers a client that sends its headers in time', async () => {
    const port = await serve({
      keepAliveTimeoutMs: 200,
      headersTimeoutMs: 400,
      checkIntervalMs: 50,
    })
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('ok')
  })
})
