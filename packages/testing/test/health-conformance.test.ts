import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { healthConformanceCases } from '../src/index.js'
import type { HealthConformanceTarget } from '../src/index.js'

// The adapters run the suite against real Express, Fastify and Koa services (their
// test/health.test.ts). Here it runs against a minimal service written to the contract, and
// against broken variants of it, to show that each case can fail.

const TOKEN = 'conformance-token-0123456789'
type Fault =
  | 'none'
  | 'details-for-all'
  | 'no-head'
  | 'strict-slash'
  | 'cacheable'
  | 'auth'
  | 'rate-limit'
  | 'post-allowed'

let fault: Fault = 'none'

function answer(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost')
  let path = url.pathname
  if (path.length > 1 && path.endsWith('/') && fault !== 'strict-slash') path = path.slice(0, -1)
  if (!['/healthz', '/readyz', '/startupz'].includes(path)) {
    res.writeHead(404).end()
    return
  }
  if (fault === 'auth' && req.headers.authorization === 'Bearer not.a.jwt') {
    res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end()
    return
  }
  let status = 200
  let body: unknown = { status: 'pass' }
  if (req.method !== 'GET' && req.method !== 'HEAD' && fault !== 'post-allowed') {
    status = 405
    body = { status: 'fail', output: 'method not allowed' }
  } else if (path === '/readyz') {
    const trusted = fault === 'details-for-all' || req.headers.authorization === `Bearer ${TOKEN}`
    if (trusted) {
      body = {
        status: 'pass',
        checks: {
          'db:connection': [
            {
              componentType: 'datastore',
              status: 'pass',
              time: new Date().toISOString(),
              observedValue: 1.5,
              observedUnit: 'ms',
            },
          ],
        },
      }
    }
  }
  const text = JSON.stringify(body)
  const headers: Record<string, string> = {
    'Content-Type': 'application/health+json; charset=utf-8',
    'Cache-Control': fault === 'cacheable' ? 'max-age=5' : 'no-store',
    'Content-Length': String(Buffer.byteLength(text)),
  }
  if (status === 405) headers['Allow'] = 'GET, HEAD'
  if (fault === 'rate-limit') headers['RateLimit'] = 'limit=600, remaining=599, reset=60'
  if (req.method === 'HEAD' && fault === 'no-head') {
    res.writeHead(405, headers).end()
    return
  }
  res.writeHead(status, headers).end(text)
}

let server: Server
let target: HealthConformanceTarget

beforeAll(async () => {
  server = createServer(answer)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  target = {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    detailsToken: TOKEN,
  }
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('health conformance against a service that keeps the contract', () => {
  for (const testCase of healthConformanceCases) {
    it(testCase.name, async () => {
      fault = 'none'
      await testCase.run(target)
    })
  }
})

describe('health conformance catches a broken service', () => {
  const expectations: [Fault, string][] = [
    ['details-for-all', 'readiness details go to the token holder only'],
    ['no-head', 'HEAD gets the status and headers of GET'],
    ['strict-slash', 'a query string and a trailing slash'],
    ['cacheable', 'liveness answers 200'],
    ['auth', 'probes skip authentication'],
    ['rate-limit', 'probes skip rate limiting'],
    ['post-allowed', 'other methods get 405'],
  ]
  it.each(expectations)('%s fails "%s"', async (broken, caseName) => {
    const testCase = healthConformanceCases.find((c) => c.name.startsWith(caseName))
    expect(testCase).toBeDefined()
    fault = broken
    try {
      await expect(testCase!.run(target)).rejects.toThrow()
    } finally {
      fault = 'none'
    }
  })

  it('treats loopback trust as details for every caller', async () => {
    const testCase = healthConformanceCases.find((c) => c.name.startsWith('readiness details'))!
    // The service above gives no details to loopback callers: claiming it does must fail.
    await expect(testCase.run({ ...target, loopbackTrusted: true })).rejects.toThrow(
      'a trusted caller gets "checks"',
    )
  })
})
