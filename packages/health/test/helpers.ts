import { connect, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from '../src/index.js'

export interface LogLine {
  level: keyof Logger
  object: Record<string, unknown>
  message: string
}

/** A logger that keeps every line, for assertions. */
export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const at =
    (level: keyof Logger) =>
    (object: Record<string, unknown>, message: string): void => {
      lines.push({ level, object, message })
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A port nobody listens on: bound once, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A listener that accepts connections and never answers. */
export interface HungListener {
  readonly port: number
  close: () => Promise<void>
}

export async function hungListener(): Promise<HungListener> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * A TCP proxy to a real server, to make an established client connection go silent
 * (`blackhole()`: bytes are dropped both ways, sockets stay open) or go away (`close()`).
 * `connections` counts the client connections it accepted.
 */
export interface TcpProxy {
  readonly port: number
  readonly connections: number
  blackhole: () => void
  close: () => Promise<void>
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let silent = false
  let connections = 0
  const server = createServer((client) => {
    connections++
    const upstream = connect(targetPort, '127.0.0.1')
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from)
      from.on('error', () => undefined)
      from.on('data', (chunk: Buffer) => {
        if (!silent) to.write(chunk)
      })
      from.on('close', () => {
        if (!silent) to.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections
    },
    blackhole: () => {
      silent = true
    },
    close: async () => {
      silent = false
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
