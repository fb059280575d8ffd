import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { request } from 'node:http'
import type { DevIssuer, MintOptions } from './index.js'

/** A running service to check: its base URL and the issuer its tokens come from. */
export interface ConformanceTarget {
  /** e.g. `http://127.0.0.1:3000`, without a trailing slash. */
  readonly baseUrl: string
  /** The issuer the service trusts (`AUTH_ISSUER`). */
  readonly issuer: DevIssuer
  /** The audience the service expects. @default 'api' */
  readonly audience?: string | undefined
  /** A route that requires a token. @default '/api/me' */
  readonly protectedPath?: string | undefined
  /** A route that requires a token with scope `admin`. @default '/api/admin' */
  readonly adminPath?: string | undefined
  /** A route that needs no token. @default '/healthz' */
  readonly openPath?: string | undefined
}

/** One HTTP assertion of the suite. */
export interface ConformanceCase {
  readonly name: string
  readonly run: (target: ConformanceTarget) => Promise<void>
}

/** A response reduced to what the suite compares. */
export interface ProbeResult {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

/**
 * Sends one request and returns status, lower-cased headers and the body (parsed when JSON).
 *
 * @example
 * ```ts
 * const { status } = await probe('http://127.0.0.1:3000/api/me', { authorization: `Bearer ${token}` })
 * ```
 */
export async function probe(
  url: string,
  headers: Record<string, string> = {},
): Promise<ProbeResult> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  const text = await response.text()
  const type = response.headers.get('content-type') ?? ''
  let body: unknown = text
  if (type.includes('json') && text !== '') body = JSON.parse(text) as unknown
  return { status: response.status, headers: Object.fromEntries(response.headers), body }
}

/**
 * Sends one GET with headers in exactly the given order and repetition (`fetch` would join two
 * headers of the same name into one), e.g. `['Authorization', 'Bearer a', 'Authorization', 'Bearer b']`.
 */
function probeRaw(url: string, rawHeaders: readonly string[]): Promise<ProbeResult> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { agent: false, headers: ['Host', target.host, ...rawHeaders], timeout: 10_000 },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.once('end', () => {
          const type = response.headers['content-type'] ?? ''
          const headers: Record<string, string> = {}
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
          }
          resolve({
            status: response.statusCode ?? 0,
            headers,
            body: type.includes('json') && text !== '' ? (JSON.parse(text) as unknown) : text,
          })
        })
        response.once('error', reject)
      },
    )
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)))
    req.once('error', reject)
    req.end()
  })
}

const CHALLENGE = 'Bearer realm="api"'
const invalidToken = (description: string) =>
  `Bearer realm="api", error="invalid_token", error_description="${description}"`

function settings(target: ConformanceTarget) {
  return {
    me: `${target.baseUrl}${target.protectedPath ?? '/api/me'}`,
    admin: `${target.baseUrl}${target.adminPath ?? '/api/admin'}`,
    open: `${target.baseUrl}${target.openPath ?? '/healthz'}`,
    audience: target.audience ?? 'api',
  }
}

async function mint(target: ConformanceTarget, options: MintOptions = {}): Promise<string> {
  return target.issuer.mint({ audience: settings(target).audience, ...options })
}

function expectJson(result: ProbeResult, label: string): void {
  ok(
    (result.headers['content-type'] ?? '').startsWith('application/json'),
    `${label}: expected a JSON response, got content-type ${result.headers['content-type'] ?? '(none)'}`,
  )
  strictEqual(
    result.headers['cache-control'],
    'no-store',
    `${label}: error responses must not be cached`,
  )
}

async function expectInvalidToken(
  target: ConformanceTarget,
  token: string,
  description: string,
  label: string,
) {
  const result = await probe(settings(target).me, { authorization: `Bearer ${token}` })
  strictEqual(result.status, 401, `${label}: status`)
  strictEqual(
    result.headers['www-authenticate'],
    invalidToken(description),
    `${label}: WWW-Authenticate`,
  )
  deepStrictEqual(
    result.body,
    { error: 'invalid_token', error_description: description },
    `${label}: body`,
  )
  expectJson(result, label)
}

/**
 * The cross-framework conformance suite: the same requests must get the same status codes,
 * headers and bodies from every Palisade adapter and every service built on one. Run each case
 * with your test runner, e.g. `for (const c of conformanceCases) it(c.name, () => c.run(target))`.
 */
export const conformanceCases: readonly ConformanceCase[] = Object.freeze([
  {
    name: 'a request without a token gets 401 and a bare Bearer challenge',
    async run(target) {
      const result = await probe(settings(target).me)
      strictEqual(result.status, 401)
      strictEqual(result.headers['www-authenticate'], CHALLENGE)
      deepStrictEqual(result.body, {
        error: 'unauthorized',
        error_description: 'A bearer token is required',
      })
      expectJson(result, 'no token')
    },
  },
  {
    name: 'a Basic authorization header gets the same bare Bearer challenge',
    async run(target) {
      const result = await probe(settings(target).me, { authorization: 'Basic dXNlcjpwYXNz' })
      strictEqual(result.status, 401)
      strictEqual(result.headers['www-authenticate'], CHALLENGE)
    },
  },
  {
    name: 'a valid token gets 200 and the verified subject',
    async run(target) {
      const token = await mint(target, { subject: 'conformance-user', scope: 'read' })
      const result = await probe(settings(target).me, { authorization: `Bearer ${token}` })
      strictEqual(result.status, 200)
      ok(
        JSON.stringify(result.body).includes('conformance-user'),
        'the body names the verified subject',
      )
    },
  },
  {
    name: 'an expired token gets 401 invalid_token',
    async run(target) {
      await expectInvalidToken(
        target,
        await mint(target, { expiresIn: -120 }),
        'The access token expired',
        'expired',
      )
    },
  },
  {
    name: 'a token for another audience gets 401 invalid_token',
    async run(target) {
      const token = await target.issuer.mint({ audience: 'someone-else' })
      await expectInvalidToken(
        target,
        token,
        'The access token is not intended for this service',
        'audience',
      )
    },
  },
  {
    name: 'an unsigned token (alg none) gets 401 invalid_token',
    async run(target) {
      const [, payload] = (await mint(target)).split('.')
      const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')
      await expectInvalidToken(
        target,
        `${header}.${payload ?? ''}.`,
        'The access token uses an algorithm that is not accepted',
        'alg none',
      )
    },
  },
  {
    name: 'a bit-flipped signature gets 401 invalid_token',
    async run(target) {
      const [h, p, s] = (await mint(target)).split('.') as [string, string, string]
      const signature = Buffer.from(s, 'base64url')
      signature[0] = (signature[0] ?? 0) ^ 0xff
      await expectInvalidToken(
        target,
        `${h}.${p}.${signature.toString('base64url')}`,
        'The access token signature is invalid',
        'signature',
      )
    },
  },
  {
    name: 'garbage gets 401 invalid_token',
    async run(target) {
      await expectInvalidToken(
        target,
        'garbage.garbage.garbage',
        'The access token is malformed',
        'garbage',
      )
    },
  },
  {
    name: 'a token in the query string gets 400 invalid_request',
    async run(target) {
      const token = await mint(target)
      for (const headers of [{}, { authorization: `Bearer ${token}` }]) {
        const result = await probe(`${settings(target).me}?access_token=${token}`, headers)
        strictEqual(result.status, 400)
        strictEqual(
          result.headers['www-authenticate'],
          'Bearer realm="api", error="invalid_request", error_description="The request is malformed"',
        )
        deepStrictEqual(result.body, {
          error: 'invalid_request',
          error_description: 'The request is malformed',
        })
      }
    },
  },
  {
    name: 'two Authorization headers get 400 invalid_request, whichever one is valid',
    async run(target) {
      const valid = await mint(target, { subject: 'alice' })
      const other = await mint(target, { subject: 'mallory' })
      for (const [first, second] of [
        [valid, 'not-a-token'],
        ['not-a-token', valid],
        [valid, other],
      ] as const) {
        const result = await probeRaw(settings(target).me, [
          'Authorization',
          `Bearer ${first}`,
          'Authorization',
          `Bearer ${second}`,
        ])
        strictEqual(result.status, 400, 'two Authorization headers: status')
        strictEqual(
          result.headers['www-authenticate'],
          'Bearer realm="api", error="invalid_request", error_description="The request is malformed"',
          'two Authorization headers: WWW-Authenticate',
        )
        deepStrictEqual(
          result.body,
          { error: 'invalid_request', error_description: 'The request is malformed' },
          'two Authorization headers: body',
        )
      }
    },
  },
  {
    name: 'a valid token without the admin scope gets 403 insufficient_scope',
    async run(target) {
      const token = await mint(target, { scope: 'read write' })
      const result = await probe(settings(target).admin, { authorization: `Bearer ${token}` })
      strictEqual(result.status, 403)
      strictEqual(
        result.headers['www-authenticate'],
        'Bearer realm="api", error="insufficient_scope", error_description="The access token lacks the required scope", scope="admin"',
      )
      deepStrictEqual(result.body, {
        error: 'insufficient_scope',
        error_description: 'The access token lacks the required scope',
      })
      expectJson(result, 'insufficient scope')
    },
  },
  {
    name: 'the admin scope is read from the scope string and from the scp array',
    async run(target) {
      for (const options of [
        { scope: 'read admin' },
        { scope: ['admin'], scpArray: true },
      ] as const) {
        const token = await mint(target, options)
        const result = await probe(settings(target).admin, { authorization: `Bearer ${token}` })
        strictEqual(result.status, 200, `admin with ${JSON.stringify(options)}`)
      }
    },
  },
  {
    name: 'the admin route without a token gets 401, not 403',
    async run(target) {
      const result = await probe(settings(target).admin)
      strictEqual(result.status, 401)
      strictEqual(result.headers['www-authenticate'], CHALLENGE)
    },
  },
  {
    name: 'the open route needs no token',
    async run(target) {
      const result = await probe(settings(target).open)
      strictEqual(result.status, 200)
      strictEqual(result.headers['www-authenticate'], undefined)
    },
  },
  {
    name: 'a 100 KB token is refused and the service keeps answering',
    async run(target) {
      const result = await probe(settings(target).me, {
        authorization: `Bearer ${'a'.repeat(100 * 1024)}`,
      })
      ok(
        result.status === 431 || result.status === 401,
        `expected 431 or 401, got ${result.status}`,
      )
      strictEqual((await probe(settings(target).open)).status, 200)
    },
  },
  {
    name: 'after 500 requests mixing valid, forged and malformed tokens the service still answers',
    async run(target) {
      const { me } = settings(target)
      const valid = await mint(target)
      const [h, p] = valid.split('.') as [string, string]
      const forged = [
        valid,
        `${h}.${p}.`,
        'garbage.garbage.garbage',
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`,
        await mint(target, { expiresIn: -120 }),
      ]
      const expected = [200, 401, 401, 401, 401]
      // Bounded: 500 requests, 25 at a time, on loopback only.
      for (let round = 0; round < 20; round++) {
        const batch = Array.from({ length: 25 }, (_, i) => (round * 25 + i) % forged.length)
        const statuses = await Promise.all(
          batch.map(
            async (index) =>
              (await probe(me, { authorization: `Bearer ${forged[index] ?? ''}` })).status,
          ),
        )
        statuses.forEach((status, i) => {
          strictEqual(status, expected[batch[i] ?? 0], `request ${round * 25 + i}`)
        })
      }
      strictEqual((await probe(me, { authorization: `Bearer ${valid}` })).status, 200)
      strictEqual((await probe(settings(target).open)).status, 200)
    },
  },
])
