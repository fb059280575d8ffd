import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { JwtError } from '../src/index.js'

/** Runs `fn` and returns the JwtError it rejects with; fails when it resolves. */
export async function rejection(fn: () => Promise<unknown>): Promise<JwtError> {
  try {
    await fn()
  } catch (error) {
    if (error instanceof JwtError) return error
    throw error
  }
  throw new Error('expected a JwtError')
}

/** A loopback HTTP server that counts requests and answers with `handler`. */
export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          resolve()
        })
      }),
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A base64url JSON segment. */
export const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Every algorithm the verifier accepts, spelled as tokens carry them. */
export const ALL_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const
