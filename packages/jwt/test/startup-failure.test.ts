import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { formatStartupReport } from '@palisade/errors'
import { startDevIssuer } from '@palisade/testing'
import type { DevIssuer } from '@palisade/testing'
import { createVerifier } from '../src/index.js'
import type { JwtError } from '../src/index.js'
import { rejection, startServer } from './helpers.js'

// What an operator reads when `await verifier.ready()` fails at startup names what was fetched,
// the URL, the cause in plain words and the fix, in two lines at most, with the original error
// as `cause`. A JwtError whose message is public text keeps that in `detail`.

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function readyFailure(options: {
  issuer: string
  jwksUrl?: string
  timeoutMs?: number
}): Promise<JwtError> {
  const verifier = createVerifier({
    issuer: options.issuer,
    audience: 'api',
    allowInsecureHttp: true,
    ...(options.jwksUrl === undefined ? {} : { jwksUrl: options.jwksUrl }),
    ...(options.timeoutMs === undefined ? {} : { jwks: { timeoutMs: options.timeoutMs } }),
  })
  return rejection(() => verifier.ready())
}

/** The text of the rejection an operator reads: the detail of a public message, or the message. */
function told(error: JwtError): string {
  return (error as { detail?: string }).detail ?? error.message
}

function expectShort(error: JwtError): void {
  expect(error.code).toBe('PALISADE_JWT_JWKS_UNAVAILABLE')
  expect(told(error).split('\n').length).toBeLessThanOrEqual(2)
  expect(told(error)).toMatch(/fix: /)
  expect(error.cause).toBeInstanceOf(Error)
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

describe('ready() against an identity provider that cannot be used', () => {
  it('names the discovery URL and "connection refused" for a closed port', async () => {
    const issuer = `http://127.0.0.1:${await freePort()}`
    const error = await readyFailure({ issuer })
    expectShort(error)
    expect(told(error)).toContain('OpenID discovery')
    expect(told(error)).toContain(`${issuer}/.well-known/openid-configuration`)
    expect(told(error)).toContain('connection refused (ECONNREFUSED)')
    expect(told(error)).toMatch(/fix: start the identity provider/)
    const report = formatStartupReport(error)
    expect(report.exitCode).toBe(69)
    expect(report.problems).toEqual([
      expect.objectContaining({
        what: 'OpenID discovery document',
        source: `${issuer}/.well-known/openid-configuration`,
        cause: 'connection refused (ECONNREFUSED)',
      }),
    ])
  })

  it('names the timeout for a server that never answers', async () => {
    const sockets = new Set<Socket>()
    const silent: Server = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    closers.push(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    })
    const issuer = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
    const error = await readyFailure({ issuer, timeoutMs: 300 })
    expectShort(error)
    expect(told(error)).toContain(`${issuer}/.well-known/openid-configuration`)
    expect(told(error)).toContain('no answer within 300 ms')
    expect(told(error)).toContain('jwks.timeoutMs')
  })

  it('names a TLS error for an https URL to a plain-http server', async () => {
    const server = await startServer((_req, res) => res.end('{}'))
    closers.push(server.close)
    const issuer = server.url.replace('http://', 'https://')
    const error = await readyFailure({ issuer })
    expectShort(error)
    expect(told(error)).toContain(`${issuer}/.well-known/openid-configuration`)
    expect(told(error)).toContain('TLS error: the server does not speak TLS')
    expect(told(error)).toMatch(/fix: .*http:\/\//)
  })

  it('names HTTP 404 and says where the discovery document must be', async () => {
    const server = await startServer((_req, res) => res.writeHead(404).end('not here'))
    closers.push(server.close)
    const error = await readyFailure({ issuer: server.url })
    expectShort(error)
    expect(told(error)).toContain(`${server.url}/.well-known/openid-configuration`)
    expect(told(error)).toContain('HTTP 404')
    expect(told(error)).toMatch(/fix: .*AUTH_ISSUER/)
  })

  it('names an HTML answer as not JSON', async () => {
    const server = await startServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>Sign in</p>'),
    )
    closers.push(server.close)
    const error = await readyFailure({ issuer: server.url })
    expectShort(error)
    expect(told(error)).toContain('not JSON (text/html)')
  })

  it('reports a discovery document that names another issuer as a configuration problem', async () => {
    const server = await startServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer: 'https://other.example/',
          jwks_uri: 'https://other.example/keys',
        }),
      ),
    )
    closers.push(server.close)
    const error = await readyFailure({ issuer: server.url })
    expect(told(error)).toContain(`${server.url}/.well-known/openid-configuration`)
    expect(told(error)).toContain(
      `discovery says issuer "https://other.example/", expected "${server.url}"`,
    )
    const report = formatStartupReport(error)
    expect(report.exitCode).toBe(78)
    expect(report.text).toMatch(/fix: set the issuer option \(AUTH_ISSUER\) to exactly the issuer/)
  })

  it('names the JWKS URL when the JWKS endpoint fails', async () => {
    const server = await startServer((_req, res) => res.writeHead(404).end())
    closers.push(server.close)
    const jwksUrl = `${server.url}/keys`
    const error = await readyFailure({ issuer: server.url, jwksUrl })
    expectShort(error)
    expect(told(error)).toContain(`JWKS at ${jwksUrl}`)
    expect(told(error)).toContain('HTTP 404')
    expect(told(error)).toMatch(/fix: .*AUTH_JWKS_URL/)
  })
})

describe("ready() against the dev issuer's failure modes", () => {
  let issuer: DevIssuer
  beforeAll(async () => {
    issuer = await startDevIssuer()
  })
  afterAll(async () => {
    await issuer.close()
  })
  afterEach(() => {
    issuer.fail('none')
  })

  it('error: names HTTP 500 on the discovery document', async () => {
    issuer.fail('error', { paths: ['discovery'] })
    const error = await readyFailure({ issuer: issuer.issuer })
    expectShort(error)
    expect(told(error)).toContain(issuer.discoveryUrl)
    expect(told(error)).toContain('HTTP 500')
  })

  it('garbage: names a JWKS answer that is not JSON', async () => {
    issuer.fail('garbage', { paths: ['jwks'] })
    const error = await readyFailure({ issuer: issuer.issuer })
    expectShort(error)
    expect(told(error)).toContain(`JWKS at ${issuer.jwksUri}`)
    expect(told(error)).toContain('not JSON')
  })

  it('hang: names the timeout of the JWKS request', async () => {
    issuer.fail('hang', { paths: ['jwks'] })
    const error = await readyFailure({
      issuer: issuer.issuer,
      jwksUrl: issuer.jwksUri,
      timeoutMs: 200,
    })
    expectShort(error)
    expect(told(error)).toContain(issuer.jwksUri)
    expect(told(error)).toContain('no answer within 200 ms')
  })
})
