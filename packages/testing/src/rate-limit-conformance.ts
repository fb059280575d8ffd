import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'

/**
 * One policy of a conformance case (the same shape as `@palisade/http` policies).
 *
 * @example
 * ```ts
 * const policy: RateLimitConformancePolicy = { name: 'burst', limit: 3, windowMs: 60_000 }
 * ```
 */
export interface RateLimitConformancePolicy {
  readonly name: string
  readonly limit: number
  readonly windowMs: number
  readonly algorithm?: 'fixed-window' | 'gcra'
}

/**
 * Limiter options of a case, as plain data: every adapter under test is started with exactly
 * these (plus the store the test chooses).
 *
 * @example
 * ```ts
 * const app = await startApp('koa', rateLimitConformanceCases[0]!.options)
 * ```
 */
export interface RateLimitConformanceOptions {
  readonly policies: readonly RateLimitConformancePolicy[]
  readonly headers?: 'draft-10' | 'draft-8' | 'draft-7' | 'draft-6'
  readonly legacyHeaders?: boolean
}

/**
 * One request of a case and what must come back.
 *
 * @example
 * ```ts
 * const step: RateLimitConformanceStep = { path: '/rl/default', status: 429, expectHeaders: { 'retry-after': '60' } }
 * ```
 */
export interface RateLimitConformanceStep {
  /** `/rl/default`, `/rl/bulk` (cost 5) or `/healthz` (not limited). */
  readonly path: string
  /** Request headers, e.g. `x-test-subject` (the app sets `auth.subject` from it). */
  readonly headers?: Readonly<Record<string, string>>
  readonly status: number
  /** Exact header values (numbers of seconds may differ by 2 on a slow machine). */
  readonly expectHeaders?: Readonly<Record<string, string | null>>
}

/**
 * A request sequence every adapter must answer identically.
 *
 * @example
 * ```ts
 * for (const testCase of rateLimitConformanceCases) console.log(testCase.name, testCase.steps.length)
 * ```
 */
export interface RateLimitConformanceCase {
  readonly name: string
  readonly options: RateLimitConformanceOptions
  readonly steps: readonly RateLimitConformanceStep[]
}

/**
 * What is compared across adapters for one response.
 *
 * @example
 * ```ts
 * const [first] = await runRateLimitCase(baseUrl, testCase)
 * console.log(first?.status, first?.headers['ratelimit'])
 * ```
 */
export interface RateLimitObservation {
  readonly path: string
  readonly status: number
  /** Lower-cased rate-limit headers, `retry-after`, and `content-type` of rejections. */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed body of a rejection; `undefined` for allowed requests. */
  readonly body: unknown
}

const COMPARED = [
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
]

const QUOTA = {
  type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
  title: 'Request cannot be satisfied as assigned quota has been exceeded',
  status: 429,
}

const burst = { name: 'burst', limit: 3, windowMs: 60_000 }

/**
 * The rate-limit conformance cases. An app under test serves `GET /rl/default` behind the
 * limiter, `GET /rl/bulk` with a per-route cost of 5, `GET /healthz` outside the limiter, sets
 * `auth.subject` from an `x-test-subject` header, and does not trust proxies.
 *
 * @example
 * ```ts
 * import { rateLimitConformanceCases, runRateLimitCase } from '@palisade/testing'
 *
 * for (const testCase of rateLimitConformanceCases) {
 *   const observed = await runRateLimitCase('http://127.0.0.1:3000', testCase)
 * }
 * ```
 */
export const rateLimitConformanceCases: readonly RateLimitConformanceCase[] = [
  {
    name: 'fixed window: the limit passes, then 429 problem+json with Retry-After',
    options: { policies: [burst] },
    steps: [
      {
        path: '/rl/default',
        status: 200,
        expectHeaders: {
          'ratelimit-policy': '"burst";q=3;w=60',
          ratelimit: '"burst";r=2;t=60',
          'retry-after': null,
        },
      },
      { path: '/rl/default', status: 200 },
      { path: '/rl/default', status: 200, expectHeaders: { ratelimit: '"burst";r=0;t=60' } },
      {
        path: '/rl/default',
        status: 429,
        expectHeaders: {
          ratelimit: '"burst";r=0;t=60',
          'retry-after': '60',
          'content-type': 'application/problem+json; charset=utf-8',
        },
      },
    ],
  },
  {
    name: 'several policies: every one must allow, each is reported',
    options: {
      policies: [
        { name: 'burst', limit: 2, windowMs: 60_000 },
        { name: 'daily', limit: 5, windowMs: 86_400_000 },
      ],
    },
    steps: [
      {
        path: '/rl/default',
        status: 200,
        expectHeaders: {
          'ratelimit-policy': '"burst";q=2;w=60, "daily";q=5;w=86400',
          ratelimit: '"burst";r=1;t=60, "daily";r=4;t=86400',
        },
      },
      { path: '/rl/default', status: 200 },
      {
        path: '/rl/default',
        status: 429,
        // A policy that allows is charged even when another refuses.
        expectHeaders: { ratelimit: '"burst";r=0;t=60, "daily";r=2;t=86400', 'retry-after': '60' },
      },
    ],
  },
  {
    name: 'gcra: a burst of the limit, then one request per interval',
    options: { policies: [{ name: 'hourly', limit: 3, windowMs: 3_600_000, algorithm: 'gcra' }] },
    steps: [
      { path: '/rl/default', status: 200, expectHeaders: { ratelimit: '"hourly";r=2;t=1200' } },
      { path: '/rl/default', status: 200 },
      { path: '/rl/default', status: 200, expectHeaders: { ratelimit: '"hourly";r=0;t=3600' } },
      { path: '/rl/default', status: 429, expectHeaders: { 'retry-after': '1200' } },
    ],
  },
  {
    name: 'per-route cost: a bulk route costs 5',
    options: { policies: [{ name: 'units', limit: 10, windowMs: 60_000 }] },
    steps: [
      { path: '/rl/bulk', status: 200, expectHeaders: { ratelimit: '"units";r=5;t=60' } },
      { path: '/rl/bulk', status: 200, expectHeaders: { ratelimit: '"units";r=0;t=60' } },
      { path: '/rl/default', status: 429 },
      { path: '/rl/bulk', status: 429 },
    ],
  },
  {
    name: 'health routes are not limited and carry no rate-limit headers',
    options: { policies: [{ name: 'burst', limit: 1, windowMs: 60_000 }] },
    steps: [
      { path: '/healthz', status: 200, expectHeaders: { ratelimit: null } },
      { path: '/healthz', status: 200 },
      { path: '/rl/default', status: 200 },
      { path: '/healthz', status: 200, expectHeaders: { ratelimit: null } },
      { path: '/rl/default', status: 429 },
    ],
  },
  {
    name: 'authenticated clients are keyed by subject, others by IP',
    options: { policies: [{ name: 'burst', limit: 1, windowMs: 60_000 }] },
    steps: [
      { path: '/rl/default', headers: { 'x-test-subject': 'alice' }, status: 200 },
      { path: '/rl/default', headers: { 'x-test-subject': 'alice' }, status: 429 },
      { path: '/rl/default', headers: { 'x-test-subject': 'bob' }, status: 200 },
      { path: '/rl/default', status: 200 },
      { path: '/rl/default', status: 429 },
    ],
  },
  {
    name: 'a spoofed X-Forwarded-For does not change the key without trust proxy',
    options: { policies: [{ name: 'burst', limit: 1, windowMs: 60_000 }] },
    steps: [
      { path: '/rl/default', headers: { 'x-forwarded-for': '198.51.100.1' }, status: 200 },
      { path: '/rl/default', headers: { 'x-forwarded-for': '198.51.100.2' }, status: 429 },
      { path: '/rl/default', headers: { 'x-forwarded-for': 'x'.repeat(4000) }, status: 429 },
    ],
  },
  {
    name: 'draft-7 and legacy X-RateLimit-* headers by option',
    options: { policies: [burst], headers: 'draft-7', legacyHeaders: true },
    steps: [
      {
        path: '/rl/default',
        status: 200,
        expectHeaders: {
          'ratelimit-policy': '3;w=60',
          ratelimit: 'limit=3, remaining=2, reset=60',
          'x-ratelimit-limit': '3',
          'x-ratelimit-remaining': '2',
        },
      },
      { path: '/rl/default', status: 200 },
      { path: '/rl/default', status: 200 },
      { path: '/rl/default', status: 429, expectHeaders: { 'retry-after': '60' } },
    ],
  },
  {
    name: 'draft-6 headers by option',
    options: { policies: [burst], headers: 'draft-6' },
    steps: [
      {
        path: '/rl/default',
        status: 200,
        expectHeaders: {
          'ratelimit-policy': '3;w=60',
          'ratelimit-limit': '3',
          'ratelimit-remaining': '2',
          'ratelimit-reset': '60',
          ratelimit: null,
        },
      },
    ],
  },
]

// Seconds in headers may tick between two requests on a loaded machine: only those numbers
// (t=, reset=, Retry-After, *-Reset) get a tolerance; limits and remaining counts must be exact.
const TOLERANCE = 2
const SECONDS = /(?<=\b(?:t|reset)=)\d+/g
const SECONDS_HEADERS = new Set(['retry-after', 'ratelimit-reset', 'x-ratelimit-reset'])

function close(name: string, actual: string | undefined, expected: string | undefined): boolean {
  if (actual === undefined || expected === undefined) return actual === expected
  const near = (a: string, b: string) => Math.abs(Number(a) - Number(b)) <= TOLERANCE
  if (SECONDS_HEADERS.has(name)) return /^\d+$/.test(actual) && near(actual, expected)
  if (actual.replace(SECONDS, '#') !== expected.replace(SECONDS, '#')) return false
  const b = expected.match(SECONDS) ?? []
  return (actual.match(SECONDS) ?? []).every((value, index) => near(value, b[index] ?? ''))
}

/**
 * Sends a case's requests in order to one app, checks each status and expected header, and
 * returns the observations for {@link assertSameRateLimitObservations}.
 *
 * @example
 * ```ts
 * const observed = await runRateLimitCase(baseUrl, rateLimitConformanceCases[0]!)
 * ```
 */
export async function runRateLimitCase(
  baseUrl: string,
  testCase: RateLimitConformanceCase,
): Promise<RateLimitObservation[]> {
  const observations: RateLimitObservation[] = []
  for (const [index, step] of testCase.steps.entries()) {
    const label = `${testCase.name}, request ${index + 1} (${step.path})`
    const response = await fetch(`${baseUrl}${step.path}`, {
      headers: step.headers ?? {},
      signal: AbortSignal.timeout(10_000),
    })
    const text = await response.text()
    const headers: Record<string, string> = {}
    for (const name of COMPARED) {
      const value = response.headers.get(name)
      if (value !== null) headers[name] = value
    }
    let body: unknown
    if (response.status >= 400) {
      headers['content-type'] = response.headers.get('content-type') ?? ''
      body = JSON.parse(text) as unknown
    }
    strictEqual(response.status, step.status, `${label}: status`)
    for (const [name, expected] of Object.entries(step.expectHeaders ?? {})) {
      ok(
        close(name, headers[name], expected ?? undefined),
        `${label}: ${name} was ${headers[name] ?? '(absent)'}, expected ${expected ?? '(absent)'}`,
      )
    }
    if (response.status === 429) {
      deepStrictEqual(
        { ...(body as object), 'violated-policies': undefined },
        { ...QUOTA, 'violated-policies': undefined },
        `${label}: problem body`,
      )
      ok(
        Array.isArray((body as Record<string, unknown>)['violated-policies']),
        `${label}: violated-policies`,
      )
      ok(headers['retry-after'] !== undefined, `${label}: Retry-After on 429`)
    }
    observations.push({ path: step.path, status: response.status, headers, body })
  }
  return observations
}

/**
 * Asserts that two adapters answered a case identically: same statuses, same rate-limit
 * headers (seconds within 2), same rejection bodies.
 *
 * @example
 * ```ts
 * assertSameRateLimitObservations(expressResult, fastifyResult, 'express vs fastify')
 * ```
 */
export function assertSameRateLimitObservations(
  actual: readonly RateLimitObservation[],
  expected: readonly RateLimitObservation[],
  label: string,
): void {
  strictEqual(actual.length, expected.length, `${label}: number of responses`)
  for (const [index, observation] of actual.entries()) {
    const other = expected[index]!
    const where = `${label}, request ${index + 1} (${observation.path})`
    strictEqual(observation.status, other.status, `${where}: status`)
    deepStrictEqual(
      Object.keys(observation.headers).sort(),
      Object.keys(other.headers).sort(),
      `${where}: header names`,
    )
    for (const [name, value] of Object.entries(observation.headers)) {
      ok(
        close(name, value, other.headers[name]),
        `${where}: ${name} ${value} vs ${other.headers[name] ?? '(absent)'}`,
      )
    }
    deepStrictEqual(observation.body, other.body, `${where}: body`)
  }
}
