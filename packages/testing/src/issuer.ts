import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIPv6 } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { DevIssuerError } from './errors.js'
import { KeyRing } from './keys.js'
import type { PublicJwk } from './keys.js'
import { mintToken } from './mint.js'
import type { MintContext, MintOptions } from './mint.js'
import {
  checkAlgorithm,
  checkEnvironment,
  checkInteger,
  definedOptions,
  resolveIssuerOptions,
} from './options.js'
import type { DevIssuerAlgorithm, DevIssuerOptions } from './options.js'

/**
 * How the discovery and JWKS endpoints misbehave, set with {@link DevIssuer.fail}:
 * `'error'` answers 500, `'hang'` never answers (the socket stays open until `close()`),
 * `'slow'` answers normally after a delay, `'garbage'` answers 200 with a body that is not JSON,
 * and `'none'` restores normal answers.
 *
 * @example
 * ```ts
 * const mode: FailureMode = 'hang'
 * issuer.fail(mode, { paths: ['jwks'] })
 * ```
 */
export type FailureMode = 'none' | 'error' | 'hang' | 'slow' | 'garbage'

/**
 * An endpoint that {@link DevIssuer.fail} can break.
 *
 * @example
 * ```ts
 * const paths: FailurePath[] = ['discovery']
 * issuer.fail('error', { paths })
 * ```
 */
export type FailurePath = 'jwks' | 'discovery'

/**
 * Options of {@link DevIssuer.fail}.
 *
 * @example
 * ```ts
 * const options: FailOptions = { delayMs: 500, paths: ['jwks'] }
 * issuer.fail('slow', options)
 * ```
 */
export interface FailOptions {
  /**
   * Delay of `'slow'` answers in milliseconds.
   * @default 2000
   */
  delayMs?: number | undefined
  /**
   * The endpoints to change; the others keep their current mode.
   * @default ['jwks', 'discovery']
   */
  paths?: readonly FailurePath[] | undefined
}

/**
 * Live request counters of a {@link DevIssuer}: each read returns the current count. A request
 * counts when it arrives, also when a failure mode answers it (or never does).
 *
 * @example
 * ```ts
 * const { requests } = issuer
 * await fetch(issuer.jwksUri)
 * console.log(requests.jwks, requests.total) // 1 1
 * ```
 */
export interface RequestCounters {
  /** Requests to `/.well-known/jwks.json`. */
  readonly jwks: number
  /** Requests to `/.well-known/openid-configuration`. */
  readonly discovery: number
  /** Requests to `/token`. */
  readonly token: number
  /** Every request, including unknown paths. */
  readonly total: number
}

/**
 * A running dev issuer, from {@link startDevIssuer}.
 *
 * @example
 * ```ts
 * const issuer = await startDevIssuer()
 * const token = await issuer.mint({ scope: 'read' })
 * await issuer.close()
 * ```
 */
export interface DevIssuer {
  /** The issuer URL, `iss` of every token, without a trailing slash: `http://127.0.0.1:41234`. */
  readonly issuer: string
  /** `${issuer}/.well-known/jwks.json` */
  readonly jwksUri: string
  /** `${issuer}/.well-known/openid-configuration` */
  readonly discoveryUrl: string
  /** `${issuer}/token`, the client-credentials token endpoint. */
  readonly tokenEndpoint: string
  /** The default audience (`aud`) of minted tokens. */
  readonly audience: string
  /**
   * Signs a token; see {@link MintOptions} for the defaults.
   * @throws {TypeError} for an invalid option (the promise rejects).
   * @throws {DevIssuerError} `PALISADE_TESTING_NO_SIGNING_KEY` when `alg` has no published key.
   */
  mint(options?: MintOptions): Promise<string>
  /**
   * Creates a new key for `alg` (default: the first algorithm; any supported algorithm, also one
   * without a key yet), publishes it and makes it the signing key of `alg`. Older keys stay
   * published until `retire(kid)`. Resolves to the new kid.
   */
  rotate(alg?: DevIssuerAlgorithm): Promise<string>
  /**
   * Stops publishing a key. When it signed for its algorithm, the newest remaining key of that
   * algorithm signs from now on; when none remains, `mint()` with that algorithm fails.
   * @throws {DevIssuerError} `PALISADE_TESTING_UNKNOWN_KEY` when `kid` is not published.
   */
  retire(kid: string): void
  /** Makes the discovery and/or JWKS endpoints misbehave; see {@link FailureMode}. */
  fail(mode: FailureMode, options?: FailOptions): void
  /** Live request counters. */
  readonly requests: RequestCounters
  /** Sets every counter to zero. */
  resetCounters(): void
  /** What the JWKS endpoint serves now (a copy). */
  publicJwks(): { keys: PublicJwk[] }
  /**
   * The environment a Palisade service needs to trust this issuer: `AUTH_ISSUER`,
   * `AUTH_AUDIENCE`, `AUTH_JWKS_URL` and `AUTH_ALLOW_INSECURE_HTTP=true` (the issuer is plain HTTP
   * on loopback).
   */
  env(): Record<string, string>
  /**
   * Stops listening and destroys every connection, also hanging and slow ones. Safe to call more
   * than once.
   */
  close(): Promise<void>
}

type Route = 'jwks' | 'discovery' | 'token'

interface Failure {
  mode: FailureMode
  delayMs: number
}

const failureModes: readonly FailureMode[] = ['none', 'error', 'hang', 'slow', 'garbage']
const failurePaths: readonly FailurePath[] = ['jwks', 'discovery']
const maxTokenRequestBytes = 64 * 1024
const garbage = '<!doctype html><title>502 Bad Gateway</title><h1>upstream unavailable</h1>\n'

/**
 * Starts an OpenID issuer for development and tests on a loopback port: discovery, a JWKS with
 * one key per algorithm, token minting, key rotation, failure injection, request counters and a
 * client-credentials `POST /token`. Keys live in memory only and are new on every start.
 *
 * It refuses to start in a production-like environment (unless `APP_ENV`, which wins, or
 * `NODE_ENV` says `development`, `dev`, `local` or `test`) without `allowProductionLike: true`,
 * because anyone who reaches it gets a token for any subject and scope.
 *
 * @throws {TypeError} for an invalid option (the promise rejects), naming the option, and in a
 * production-like environment without `allowProductionLike: true`.
 * @throws {DevIssuerError} `PALISADE_TESTING_LISTEN_FAILED` when the port cannot be bound.
 * @example
 * ```ts
 * import { createRemoteJWKSet, jwtVerify } from 'jose'
 * import { startDevIssuer } from '@palisade/testing'
 *
 * const issuer = await startDevIssuer({ audience: 'orders-api' })
 * const token = await issuer.mint({ subject: 'alice', scope: 'orders:read' })
 * const jwks = createRemoteJWKSet(new URL(issuer.jwksUri))
 * const { payload } = await jwtVerify(token, jwks, { issuer: issuer.issuer, audience: 'orders-api' })
 * await issuer.close()
 * ```
 */
export async function startDevIssuer(options?: DevIssuerOptions): Promise<DevIssuer> {
  const resolved = resolveIssuerOptions(options)
  checkEnvironment(resolved.allowProductionLike)
  const keys = new KeyRing()
  await keys.addAll(resolved.algorithms)

  const counters = { jwks: 0, discovery: 0, token: 0, total: 0 }
  const failures: Record<FailurePath, Failure> = {
    jwks: { mode: 'none', delayMs: 2000 },
    discovery: { mode: 'none', delayMs: 2000 },
  }
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let base = ''
  const context: MintContext = {
    get issuer() {
      return base
    },
    options: resolved,
    keys,
  }

  const documents = {
    jwks: (): string => JSON.stringify(keys.publicJwks()),
    discovery: (): string =>
      JSON.stringify({
        issuer: base,
        jwks_uri: `${base}/.well-known/jwks.json`,
        token_endpoint: `${base}/token`,
        grant_types_supported: ['client_credentials'],
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: keys.algorithms(),
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'none',
        ],
        claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'client_id', 'scope'],
      }),
  }

  function serveDocument(route: FailurePath, res: ServerResponse): void {
    const headers: Record<string, string> = { 'access-control-allow-origin': '*' }
    if (route === 'jwks') {
      headers['cache-control'] = `public, max-age=${resolved.jwksMaxAgeSeconds}`
      send(res, 200, documents.jwks(), 'application/json', headers)
    } else {
      send(res, 200, documents.discovery(), 'application/json', headers)
    }
  }

  function answerDocument(route: FailurePath, req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' })
      return
    }
    const failure = failures[route]
    switch (failure.mode) {
      case 'none':
        serveDocument(route, res)
        return
      case 'error':
        sendJson(res, 500, { error: 'server_error', error_description: 'injected failure' })
        return
      case 'garbage':
        send(res, 200, garbage, 'application/json')
        return
      case 'hang':
        // Never answered; close() destroys the socket.
        return
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!res.destroyed) serveDocument(route, res)
        }, failure.delayMs)
        timers.add(timer)
        return
      }
    }
  }

  async function answerToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' })
      return
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/x-www-form-urlencoded') {
      tokenError(res, 400, 'invalid_request', 'the body must be application/x-www-form-urlencoded')
      return
    }
    const body = await readBody(req)
    if (body === undefined) {
      tokenError(res, 413, 'invalid_request', 'the body is too large')
      return
    }
    const form = new URLSearchParams(body)
    const grantType = form.get('grant_type')
    if (grantType === null || grantType === '') {
      tokenError(res, 400, 'invalid_request', 'grant_type is missing')
      return
    }
    if (grantType !== 'client_credentials') {
      tokenError(res, 400, 'unsupported_grant_type', 'only client_credentials is supported')
      return
    }
    const clientId = form.get('client_id') ?? basicClientId(req) ?? 'dev-client'
    const audiences = [...form.getAll('audience'), ...form.getAll('resource')].filter(Boolean)
    const scope = form.get('scope') ?? ''
    const token = await mintToken(context, {
      subject: clientId,
      audience:
        audiences.length === 0 ? undefined : audiences.length === 1 ? audiences[0] : audiences,
      scope: scope === '' ? undefined : scope,
      claims: { client_id: clientId },
    })
    const answer: Record<string, unknown> = {
      access_token: token,
      token_type: 'Bearer',
      expires_in: resolved.defaultTtlSeconds,
    }
    if (scope !== '') answer.scope = scope
    sendJson(res, 200, answer, { 'cache-control': 'no-store', pragma: 'no-cache' })
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.total++
    const path = (req.url ?? '/').split('?')[0]
    const route = routeOf(path)
    if (route === undefined) {
      sendJson(res, 404, { error: 'not_found', error_description: `no route for ${String(path)}` })
      return
    }
    counters[route]++
    if (route === 'token') await answerToken(req, res)
    else answerDocument(route, req, res)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy()
      else sendJson(res, 500, { error: 'server_error', error_description: describeError(error) })
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: resolved.host, port: resolved.port }, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error'
    throw new DevIssuerError(
      'PALISADE_TESTING_LISTEN_FAILED',
      `dev issuer cannot listen on ${resolved.host} port ${resolved.port} ("host" and "port" options): ${code}`,
      { cause: error },
    )
  }
  const { port } = server.address() as AddressInfo
  const hostname = new URL(`http://${isIPv6(resolved.host) ? `[${resolved.host}]` : resolved.host}`)
    .hostname
  base = `http://${hostname}:${port}`

  const requests: RequestCounters = Object.freeze({
    get jwks() {
      return counters.jwks
    },
    get discovery() {
      return counters.discovery
    },
    get token() {
      return counters.token
    },
    get total() {
      return counters.total
    },
  })
  let closing: Promise<void> | undefined

  return {
    issuer: base,
    jwksUri: `${base}/.well-known/jwks.json`,
    discoveryUrl: `${base}/.well-known/openid-configuration`,
    tokenEndpoint: `${base}/token`,
    audience: resolved.audience,
    requests,
    mint: (mintOptions?: MintOptions) => mintToken(context, mintOptions),
    async rotate(alg?: DevIssuerAlgorithm): Promise<string> {
      const chosen = alg ?? resolved.algorithms[0]!
      checkAlgorithm(chosen, '"alg" argument of rotate()')
      return keys.add(chosen)
    },
    retire(kid: string): void {
      if (typeof kid !== 'string')
        throw new TypeError('"kid" argument of retire() must be a string')
      keys.retire(kid)
    },
    fail(mode: FailureMode, failOptions?: FailOptions): void {
      if (!failureModes.includes(mode)) {
        throw new TypeError(`"mode" argument of fail() must be one of ${failureModes.join(', ')}`)
      }
      const given = definedOptions(failOptions, 'fail() options', [
        'delayMs',
        'paths',
      ]) as FailOptions
      const { delayMs = 2000, paths = failurePaths } = given
      checkInteger(delayMs, 'delayMs', 0, 2_147_483_647)
      if (!isFailurePaths(paths)) {
        throw new TypeError(
          `"paths" option must be a non-empty array of ${failurePaths.join(', ')}`,
        )
      }
      for (const path of paths) failures[path] = { mode, delayMs }
    },
    resetCounters(): void {
      counters.jwks = counters.discovery = counters.token = counters.total = 0
    },
    publicJwks: () => keys.publicJwks(),
    env: () => ({
      AUTH_ISSUER: base,
      AUTH_AUDIENCE: resolved.audience,
      AUTH_JWKS_URL: `${base}/.well-known/jwks.json`,
      AUTH_ALLOW_INSECURE_HTTP: 'true',
    }),
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        server.close(() => {
          resolve()
        })
        // Idle keep-alive, hanging and slow connections would otherwise hold close() open.
        for (const socket of sockets) socket.destroy()
      })
      return closing
    },
  }
}

function isFailurePaths(value: unknown): value is readonly FailurePath[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((path) => failurePaths.includes(path as FailurePath))
  )
}

function routeOf(path: string | undefined): Route | undefined {
  switch (path) {
    case '/.well-known/jwks.json':
      return 'jwks'
    case '/.well-known/openid-configuration':
      return 'discovery'
    case '/token':
      return 'token'
    default:
      return undefined
  }
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxTokenRequestBytes) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The client id of an RFC 6749 `Authorization: Basic` header (form-encoded id and secret). */
function basicClientId(req: IncomingMessage): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')
  if (match === null) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const id = decoded.slice(0, decoded.includes(':') ? decoded.indexOf(':') : undefined)
  try {
    return decodeURIComponent(id.replaceAll('+', ' ')) || undefined
  } catch {
    return id || undefined
  }
}

function tokenError(res: ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description }, { 'cache-control': 'no-store' })
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, JSON.stringify(body), 'application/json', headers)
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    ...headers,
  })
  res.end(body)
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unexpected error'
}
