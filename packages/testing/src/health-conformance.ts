import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'

/** A running service whose health routes to check. */
export interface HealthConformanceTarget {
  /** e.g. `http://127.0.0.1:3000`, without a trailing slash. */
  readonly baseUrl: string
  /**
   * The service's health `detailsToken`; leave it out when it has none, and the suite checks
   * that no caller (but a trusted loopback one) gets details.
   */
  readonly detailsToken?: string | undefined
  /**
   * Whether the service gives details to loopback callers (`trustLoopback`). The suite runs on
   * loopback, so with `true` every caller of the suite is a trusted one.
   * @default false
   */
  readonly loopbackTrusted?: boolean | undefined
  /** The probe paths, when not the defaults. */
  readonly paths?:
    | {
        readonly liveness?: string | undefined
        readonly readiness?: string | undefined
        readonly startup?: string | undefined
      }
    | undefined
}

/** One HTTP assertion of the health-route suite. */
export interface HealthConformanceCase {
  readonly name: string
  readonly run: (target: HealthConformanceTarget) => Promise<void>
}

/** A health answer reduced to what the suite compares. */
interface HealthReply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

const CONTENT_TYPE = 'application/health+json; charset=utf-8'

async function send(
  url: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<HealthReply> {
  const response = await fetch(url, { method, headers, signal: AbortSignal.timeout(10_000) })
  const text = await response.text()
  return { status: response.status, headers: Object.fromEntries(response.headers), text }
}

function urls(target: HealthConformanceTarget) {
  const paths = target.paths ?? {}
  return {
    liveness: `${target.baseUrl}${paths.liveness ?? '/healthz'}`,
    readiness: `${target.baseUrl}${paths.readiness ?? '/readyz'}`,
    startup: `${target.baseUrl}${paths.startup ?? '/startupz'}`,
  }
}

function json(reply: HealthReply, label: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(reply.text)
  } catch {
    throw new Error(`${label}: the body is not JSON: ${reply.text.slice(0, 80)}`)
  }
  ok(typeof parsed === 'object' && parsed !== null, `${label}: the body is a JSON object`)
  return parsed as Record<string, unknown>
}

/** Checks the headers and the status/body agreement every probe answer must have. */
function expectHealth(reply: HealthReply, label: string): Record<string, unknown> {
  strictEqual(reply.headers['content-type'], CONTENT_TYPE, `${label}: content-type`)
  strictEqual(reply.headers['cache-control'], 'no-store', `${label}: cache-control`)
  strictEqual(
    reply.headers['content-length'],
    String(Buffer.byteLength(reply.text)),
    `${label}: content-length`,
  )
  const body = json(reply, label)
  const expected = reply.status === 503 ? ['fail'] : reply.status === 200 ? ['pass', 'warn'] : []
  ok(
    expected.includes(body['status'] as string),
    `${label}: HTTP ${reply.status} with status ${JSON.stringify(body['status'])}`,
  )
  return body
}

function expectNoDetails(reply: HealthReply, label: string): void {
  const body = expectHealth(reply, label)
  ok(!('checks' in body), `${label}: details were given to an untrusted caller: ${reply.text}`)
}

function expectDetails(reply: HealthReply, label: string): void {
  const body = expectHealth(reply, label)
  const checks = body['checks']
  ok(typeof checks === 'object' && checks !== null, `${label}: a trusted caller gets "checks"`)
  for (const [key, reports] of Object.entries(checks as Record<string, unknown>)) {
    ok(/^[^:\s]+:[^:\s]+$/.test(key), `${label}: "${key}" is a component:measurement key`)
    ok(Array.isArray(reports) && reports.length > 0, `${label}: "${key}" holds a list`)
    for (const report of reports as Record<string, unknown>[]) {
      ok(['pass', 'warn', 'fail'].includes(report['status'] as string), `${label}: status`)
      strictEqual(typeof report['time'], 'string', `${label}: "${key}" time`)
      strictEqual(typeof report['observedValue'], 'number', `${label}: "${key}" observedValue`)
      strictEqual(report['observedUnit'], 'ms', `${label}: "${key}" observedUnit`)
      const output = report['output']
      ok(
        output === undefined || (typeof output === 'string' && !/\n|\bat \S+:\d+/.test(output)),
        `${label}: "${key}" output is a short reason, never a stack`,
      )
    }
  }
}

const RATE_LIMIT_HEADERS = [
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'retry-after',
]

/**
 * The cross-framework suite of the health routes (`healthRoutes()` on Express and Koa, the
 * `healthRoutes` plugin on Fastify): the same probe requests must get the same status codes,
 * headers and bodies from every adapter. The service under test mounts the routes of a started
 * `createHealth()` before its authentication and rate limiting. Run each case with your test
 * runner.
 *
 * @example
 * ```ts
 * import { healthConformanceCases } from '@palisade/testing'
 *
 * const target = { baseUrl: 'http://127.0.0.1:3000', detailsToken: process.env.HEALTH_TOKEN }
 * for (const c of healthConformanceCases) it(c.name, () => c.run(target))
 * ```
 */
export const healthConformanceCases: readonly HealthConformanceCase[] = Object.freeze([
  {
    name: 'liveness answers 200 {"status":"pass"} in application/health+json, not cacheable',
    async run(target) {
      const reply = await send(urls(target).liveness)
      strictEqual(reply.status, 200, 'liveness status')
      expectHealth(reply, 'liveness')
      strictEqual(reply.text, '{"status":"pass"}', 'liveness body')
    },
  },
  {
    name: 'readiness and startup answer 200 or 503 with a matching health status',
    async run(target) {
      const { readiness, startup } = urls(target)
      expectHealth(await send(readiness), 'readiness')
      expectHealth(await send(startup), 'startup')
    },
  },
  {
    name: 'HEAD gets the status and headers of GET and no body',
    async run(target) {
      for (const [probe, url] of Object.entries(urls(target))) {
        const get = await send(url)
        const head = await send(url, 'HEAD')
        strictEqual(head.status, get.status, `${probe}: HEAD status`)
        strictEqual(head.text, '', `${probe}: HEAD body`)
        for (const name of ['content-type', 'cache-control', 'content-length']) {
          strictEqual(head.headers[name], get.headers[name], `${probe}: HEAD ${name}`)
        }
      }
    },
  },
  {
    name: 'a query string and a trailing slash reach the same probe',
    async run(target) {
      for (const [probe, url] of Object.entries(urls(target))) {
        const plain = await send(url)
        for (const variant of [`${url}?verbose=1`, `${url}/`, `${url}/?a=b`]) {
          const reply = await send(variant)
          strictEqual(
            reply.status,
            plain.status,
            `${probe}: ${variant.slice(target.baseUrl.length)}`,
          )
          deepStrictEqual(json(reply, variant), json(plain, url), `${probe}: same body`)
        }
      }
    },
  },
  {
    name: 'other methods get 405 with Allow: GET, HEAD',
    async run(target) {
      for (const method of ['POST', 'DELETE']) {
        const reply = await send(urls(target).readiness, method)
        strictEqual(reply.status, 405, `${method}: status`)
        strictEqual(reply.headers['allow'], 'GET, HEAD', `${method}: Allow`)
        strictEqual(reply.headers['content-type'], CONTENT_TYPE, `${method}: content-type`)
        deepStrictEqual(json(reply, method), { status: 'fail', output: 'method not allowed' })
      }
    },
  },
  {
    name: 'readiness details go to the token holder only (or to a trusted loopback caller)',
    async run(target) {
      const { readiness } = urls(target)
      const anonymous = await send(readiness)
      const wrong = await send(readiness, 'GET', {
        authorization: `Bearer ${target.detailsToken ?? ''}not-the-token`,
      })
      if (target.loopbackTrusted === true) {
        expectDetails(anonymous, 'loopback caller')
        expectDetails(wrong, 'loopback caller with a wrong token')
      } else {
        expectNoDetails(anonymous, 'caller without a token')
        expectNoDetails(wrong, 'caller with a wrong token')
      }
      if (target.detailsToken !== undefined) {
        const holder = await send(readiness, 'GET', {
          authorization: `Bearer ${target.detailsToken}`,
        })
        expectDetails(holder, 'token holder')
        strictEqual(holder.status, anonymous.status, 'details do not change the status')
      }
    },
  },
  {
    name: 'probes skip authentication: a bad bearer token still gets the probe answer',
    async run(target) {
      for (const [probe, url] of Object.entries(urls(target))) {
        const reply = await send(url, 'GET', { authorization: 'Bearer not.a.jwt' })
        ok(reply.status !== 401 && reply.status !== 403, `${probe}: not authenticated`)
        ok(!('www-authenticate' in reply.headers), `${probe}: no WWW-Authenticate`)
        expectHealth(reply, probe)
      }
    },
  },
  {
    name: 'probes skip rate limiting: 50 quick probes, no rate-limit headers, no 429',
    async run(target) {
      const { liveness } = urls(target)
      const replies = await Promise.all(Array.from({ length: 50 }, () => send(liveness)))
      for (const reply of replies) {
        strictEqual(reply.status, 200, 'liveness under a burst')
        for (const name of RATE_LIMIT_HEADERS) {
          ok(!(name in reply.headers), `no ${name} header on a probe`)
        }
      }
    },
  },
])
