// A Palisade error thrown at request time may reach a framework's DEFAULT error handler: a route
// calling verifier.authenticate() itself, a scope check from @palisade/jwt, parseCspReports().
// Express (finalhandler), Fastify and Koa then answer from the error's own fields: `status`,
// `headers`, `expose` and, in Fastify and Koa, `message`. Whatever they send must be public.
import { createServer } from 'node:http'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseCspReports } from '@palisade/http'
import { checkScopes, createVerifier } from '@palisade/jwt'
import type { Authenticator, RequestLike } from '@palisade/jwt'
import { startDevIssuer } from '@palisade/testing'
import type { DevIssuer } from '@palisade/testing'
import { listen } from './support/server.js'
import type { Listening } from './support/server.js'

const AUDIENCE = 'https://orders.internal.example/private-audience'
const OTHER_AUDIENCE = 'https://other.internal.example/private-audience'
const OTHER_ISSUER = 'https://rogue-issuer.internal.example/'
const UNKNOWN_KID = 'kid-private-4711'
const TENANT = 'tenant-private-acme'
const NETWORK_FAILURE = 'connect ECONNREFUSED idp-private.internal.example:8443'

interface Case {
  readonly name: string
  readonly status: number
  /** Values that must never reach a client. */
  readonly secrets: () => string[]
  /** Headers of the request. */
  readonly headers: () => Promise<Record<string, string>>
  /** What the route does; it throws. */
  readonly run: (request: RequestLike) => Promise<unknown>
}

let issuer: DevIssuer
let down: DevIssuer
let verifier: Authenticator
let downVerifier: Authenticator
let unreachable: Authenticator
let validKid = ''
/** The error each case threw last, to compare its private detail with what was sent. */
const thrown = new Map<string, unknown>()

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const bytes = Buffer.from(signature, 'base64url')
  bytes[0] = bytes[0]! ^ 0xff
  return `${header}.${payload}.${bytes.toString('base64url')}`
}

const cases: readonly Case[] = [
  {
    name: 'no token',
    status: 401,
    secrets: () => [],
    headers: () => Promise.resolve({}),
    run: (request) => verifier.authenticate(request),
  },
  {
    name: 'expired token',
    status: 401,
    secrets: () => ['"exp" claim timestamp check failed'],
    headers: async () => bearer(await issuer.mint({ expiresIn: -600 })),
    run: (request) => verifier.authenticate(request),
  },
  {
    name: 'token for another audience',
    status: 401,
    secrets: () => [AUDIENCE, OTHER_AUDIENCE, 'unexpected "aud" claim value'],
    headers: async () => bearer(await issuer.mint({ audience: OTHER_AUDIENCE })),
    run: (request) => verifier.authenticate(request),
  },
  {
    name: 'token from another issuer',
    status: 401,
    secrets: () => [OTHER_ISSUER],
    headers: async () => bearer(await issuer.mint({ claims: { iss: OTHER_ISSUER } })),
    run: (request) => verifier.authenticate(request),
  },
  {
    name: 'bad signature',
    status: 401,
    secrets: () => [validKid],
    headers: async () => bearer(tamper(await issuer.mint())),
    run: (request) => verifier.authenticate(request),
  },
  {
    name: 'unknown kid',
    status: 401,
    secrets: () => [UNKNOWN_KID],
    headers: async () => bearer(await issuer.mint({ kid: UNKNOWN_KID })),
    run: (request) => verifier.authenticate(request),
  },
  {
    name: 'claim refused by checkClaims',
    status: 401,
    secrets: () => [TENANT],
    headers: async () => bearer(await issuer.mint({ claims: { tenant: TENANT } })),
    run: (request) => verifier.authenticate(request),
  },
  {
    name: 'JWKS endpoint answering 500',
    status: 503,
    secrets: () => [down.jwksUri, down.issuer, 'HTTP 500'],
    headers: async () => bearer(await down.mint()),
    run: (request) => downVerifier.authenticate(request),
  },
  {
    name: 'JWKS endpoint unreachable',
    status: 503,
    secrets: () => [NETWORK_FAILURE, 'idp-private.internal.example', 'JWKS request failed'],
    headers: async () => bearer(await issuer.mint()),
    run: (request) => unreachable.authenticate(request),
  },
  {
    name: 'missing scope (checkScopes)',
    status: 403,
    secrets: () => ['token lacks the scopes'],
    headers: async () => bearer(await issuer.mint({ scope: 'read' })),
    run: async (request) => {
      checkScopes('admin')(await verifier.authenticate(request))
    },
  },
  {
    name: 'scope check without authentication (checkScopes)',
    status: 401,
    secrets: () => ['mount auth() first'],
    headers: () => Promise.resolve({}),
    run: () => {
      checkScopes('admin')(undefined)
      return Promise.resolve()
    },
  },
  {
    name: 'CSP report of another media type (parseCspReports)',
    status: 415,
    secrets: () => ['Content-Type header must be'],
    headers: () => Promise.resolve({}),
    run: () => Promise.resolve(parseCspReports('text/plain', 'hello')),
  },
  {
    name: 'CSP report that is not JSON (parseCspReports)',
    status: 400,
    secrets: () => ['private-report-body', 'not valid JSON'],
    headers: () => Promise.resolve({}),
    run: () => Promise.resolve(parseCspReports('application/csp-report', '{private-report-body')),
  },
]

async function runCase(name: string, request: RequestLike): Promise<void> {
  const found = cases.find((c) => c.name === name)!
  try {
    await found.run(request)
  } catch (error) {
    thrown.set(name, error)
    throw error
  }
}

type Start = () => Promise<Listening>

const frameworks: Record<string, Start> = {
  'Express 5 finalhandler (production)': () => startExpress('production'),
  'Express 5 finalhandler (development)': () => startExpress('development'),
  'Fastify 5 default error handler': async () => {
    const app = Fastify()
    app.get<{ Params: { name: string } }>('/:name', async (request) => {
      await runCase(decodeURIComponent(request.params.name), {
        headers: request.headers,
        url: request.url,
      })
      return { ok: true }
    })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    return { url, close: () => app.close() }
  },
  'Koa 3 default ctx.onerror': () => {
    const app = new Koa()
    app.silent = true
    app.use(async (ctx) => {
      await runCase(decodeURIComponent(ctx.path.slice(1)), {
        headers: ctx.headers,
        url: ctx.originalUrl,
      })
      ctx.body = { ok: true }
    })
    const handle = app.callback()
    return listen(
      createServer((req, res) => {
        void handle(req, res)
      }),
    )
  },
}

function startExpress(env: string): Promise<Listening> {
  const app = express()
  app.set('env', env)
  app.get('/:name', (req: Request, res: Response, next: NextFunction) => {
    runCase(req.params['name'] as string, { headers: req.headers, url: req.originalUrl }).then(
      () => res.json({ ok: true }),
      next,
    )
  })
  return listen(createServer(app))
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/** Every private text an error carries: its detail (or, lacking one, its message) and causes. */
function privateTexts(error: unknown): string[] {
  const texts: string[] = []
  const { detail, message } = error as { detail?: unknown; message?: unknown }
  texts.push(String(typeof detail === 'string' ? detail : message))
  for (let cause = (error as { cause?: unknown }).cause; cause instanceof Error;) {
    texts.push(cause.message)
    cause = cause.cause
  }
  return texts
}

beforeAll(async () => {
  // Express logs every error it handles outside the test environment: not this test's subject.
  vi.spyOn(console, 'error').mockImplementation(() => undefined)
  issuer = await startDevIssuer({ audience: AUDIENCE })
  down = await startDevIssuer({ audience: AUDIENCE })
  down.fail('error', { paths: ['jwks'] })
  validKid = (issuer.publicJwks().keys[0] as { kid: string }).kid
  const base = { issuer: issuer.issuer, audience: AUDIENCE, allowInsecureHttp: true }
  verifier = createVerifier({
    ...base,
    jwksUrl: issuer.jwksUri,
    checkClaims: (claims) =>
      typeof claims['tenant'] === 'string' ? `tenant ${claims['tenant']} is suspended` : undefined,
  })
  downVerifier = createVerifier({
    issuer: down.issuer,
    audience: AUDIENCE,
    allowInsecureHttp: true,
    jwksUrl: down.jwksUri,
  })
  unreachable = createVerifier({
    ...base,
    jwksUrl: issuer.jwksUri,
    fetch: () => Promise.reject(new TypeError(NETWORK_FAILURE)),
  })
})

afterAll(async () => {
  vi.restoreAllMocks()
  await Promise.all([issuer.close(), down.close()])
})

describe.each(Object.entries(frameworks))('%s', (_name, start) => {
  let app: Listening

  beforeAll(async () => {
    app = await start()
  })

  afterAll(async () => {
    await app.close()
  })

  it.each(cases.map((c) => [c.name, c] as const))(
    'answers "%s" with its status and nothing private',
    async (name, { status, secrets, headers }) => {
      thrown.delete(name)
      const response = await fetch(`${app.url}/${encodeURIComponent(name)}`, {
        headers: await headers(),
      })
      const body = await response.text()
      const sentHeaders = [...response.headers].map(([key, value]) => `${key}: ${value}`).join('\n')
      const error = thrown.get(name) as { status?: unknown } | undefined
      expect(error, 'the route threw').toBeDefined()
      expect(response.status).toBe(status)
      expect(error!.status).toBe(status)
      const forbidden = [...privateTexts(error), ...secrets(), issuer.issuer, issuer.jwksUri]
      for (const text of forbidden.filter((t) => t !== '')) {
        for (const sent of [text, escapeHtml(text)]) {
          expect(body, `body leaks ${JSON.stringify(text)}`).not.toContain(sent)
          expect(sentHeaders, `headers leak ${JSON.stringify(text)}`).not.toContain(sent)
        }
      }
    },
  )
})
