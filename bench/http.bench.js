// HTTP hardening over HTTP: Palisade's security headers and rate limiter through each adapter
// against helmet / @fastify/helmet / koa-helmet and express-rate-limit (+ rate-limit-redis) /
// @fastify/rate-limit / koa-ratelimit, on the same route, load and machine, as ratios from one
// run. Each server runs alone in a child process (http.server.js). Rate limits are set high
// enough that every request is allowed: what is measured is the cost of counting it. It only
// prints: noisy machines never fail it.
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import {
  cores,
  markdown,
  measureRounds,
  pinLoadGenerator,
  ratio,
  startServer,
} from './lib/harness.js'

const WARMUP_SECONDS = 1
// HTTP_BENCH_ROUNDS=10 halves the round-to-round noise of the medians at twice the run time.
const ROUNDS = Number(process.env['HTTP_BENCH_ROUNDS'] ?? 5)
const ROUND_SECONDS = 1
const CONNECTIONS = 50
const ROUTE = '/api/hello'
const LIMIT = 1_000_000_000

/**
 * @typedef {object} Contender
 * @property {string} id the server in http.server.js
 * @property {string} name
 * @property {'express' | 'fastify' | 'koa'} framework
 * @property {'none' | 'headers' | 'memory' | 'redis'} kind
 * @property {boolean} [palisade]
 */

/** @type {Contender[]} */
const contenders = []
for (const framework of /** @type {const} */ (['express', 'fastify', 'koa'])) {
  const helmet = { express: 'helmet', fastify: '@fastify/helmet', koa: 'koa-helmet' }[framework]
  const limiter = {
    express: 'express-rate-limit',
    fastify: '@fastify/rate-limit',
    koa: 'koa-ratelimit',
  }[framework]
  const limiterId = {
    express: 'express-rate-limit',
    fastify: 'fastify-rate-limit',
    koa: 'koa-ratelimit',
  }[framework]
  const redisName = framework === 'express' ? `${limiter} + rate-limit-redis` : `${limiter}, Redis`
  contenders.push(
    { id: `${framework}-none`, name: `${framework} route alone`, framework, kind: 'none' },
    { id: `${framework}-helmet`, name: `${helmet}()`, framework, kind: 'headers' },
    {
      id: `palisade-${framework}-web`,
      name: `@palisade/${framework} securityHeaders, web preset (nonce)`,
      framework,
      kind: 'headers',
      palisade: true,
    },
    {
      id: `palisade-${framework}-api`,
      name: `@palisade/${framework} securityHeaders, api preset`,
      framework,
      kind: 'headers',
      palisade: true,
    },
    { id: limiterId, name: `${limiter}, memory`, framework, kind: 'memory' },
    {
      id: `palisade-${framework}-memory`,
      name: `@palisade/${framework} rateLimit, memory, fixed window`,
      framework,
      kind: 'memory',
      palisade: true,
    },
    {
      id: `palisade-${framework}-memory-gcra`,
      name: `@palisade/${framework} rateLimit, memory, GCRA`,
      framework,
      kind: 'memory',
      palisade: true,
    },
    { id: `${limiterId}-redis`, name: redisName, framework, kind: 'redis' },
    {
      id: `palisade-${framework}-redis`,
      name: `@palisade/${framework} rateLimit, RedisStore`,
      framework,
      kind: 'redis',
      palisade: true,
    },
  )
}

// For a partial run: HTTP_BENCH_ONLY=palisade-koa-memory,koa-ratelimit; HTTP_BENCH_PIN=0 leaves
// CPU placement to the scheduler; REDIS_URL points at another Redis;
// HTTP_BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers.
const serverArgs = process.env['HTTP_BENCH_SERVER_ARGS']?.split(' ').filter(Boolean) ?? []
const only = process.env['HTTP_BENCH_ONLY']?.split(',').filter(Boolean)
const selected = contenders.filter((c) => only === undefined || only.includes(c.id))
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const pinned = pinLoadGenerator('HTTP_BENCH')
const script = fileURLToPath(new URL('./http.server.js', import.meta.url))

/**
 * A contender must answer the route, and set the headers it is here for, before its numbers
 * mean anything. Returns what is wrong, or undefined.
 * @param {Contender} contender
 * @param {string} url
 */
async function sanityCheck(contender, url) {
  const response = await fetch(url)
  const body = await response.text()
  if (response.status !== 200 || body !== '{"hello":"world"}')
    return `answered ${String(response.status)} ${body.slice(0, 80)}`
  const has = (/** @type {string} */ name) => response.headers.has(name)
  if (contender.kind === 'headers' && response.headers.get('x-content-type-options') !== 'nosniff')
    return 'no security headers'
  if (
    (contender.kind === 'memory' || contender.kind === 'redis') &&
    !['ratelimit', 'ratelimit-policy', 'x-ratelimit-limit', 'ratelimit-limit'].some(has)
  )
    return 'no rate-limit headers'
  return undefined
}

const prefix = `bench:${randomUUID().slice(0, 8)}:`
const started = Date.now()
/** @type {{ contender: Contender, url?: string, note?: string, server?: Awaited<ReturnType<typeof startServer>> }[]} */
const entries = []
/** @type {Awaited<ReturnType<typeof measureRounds>> | undefined} */
let result
try {
  for (const contender of selected) {
    /** @type {(typeof entries)[number]} */
    const entry = { contender }
    entries.push(entry)
    try {
      entry.server = await startServer(
        script,
        { id: contender.id, redisUrl, prefix, limit: LIMIT },
        { pinned, nodeArgs: serverArgs },
      )
      const url = `${entry.server.base}${ROUTE}`
      const problem = await sanityCheck(contender, url)
      if (problem === undefined) entry.url = url
      else entry.note = `not measured: ${problem}`
    } catch (error) {
      entry.note = `not measured: ${String(error)}`
    }
  }
  const running = entries.filter((entry) => entry.url !== undefined && entry.server !== undefined)
  result = await measureRounds(
    running.map((entry) => /** @type {NonNullable<typeof entry.server>} */ (entry.server)),
    (index, seconds) =>
      autocannon({ url: running[index]?.url ?? '', connections: CONNECTIONS, duration: seconds }),
    { warmupSeconds: WARMUP_SECONDS, rounds: ROUNDS, roundSeconds: ROUND_SECONDS },
  )
  for (const [i, entry] of running.entries()) Object.assign(entry, { measured: result.measured[i] })
} finally {
  await Promise.all(entries.map((entry) => entry.server?.stop()))
}

/** @param {(typeof entries)[number]} entry */
const measuredOf = (entry) =>
  /** @type {import('./lib/harness.js').Measured | undefined} */ (
    /** @type {{ measured?: unknown }} */ (entry).measured
  )
const bare = (/** @type {string} */ framework) =>
  entries.find((e) => e.contender.framework === framework && e.contender.kind === 'none')
const count = (/** @type {number | undefined} */ value) =>
  value === undefined ? '—' : Math.round(value).toLocaleString('en')

console.log(
  `\nHTTP hardening, GET ${ROUTE}: autocannon, ${String(CONNECTIONS)} connections, ${String(WARMUP_SECONDS)} s warm-up, then ` +
    `${String(ROUNDS)} rounds of ${String(ROUND_SECONDS)} s per row (median shown, slowest-fastest round in brackets), interleaved; ` +
    `${pinned ? 'server and load generator pinned to one core each' : 'no CPU pinning'}; Node ${process.version}, ${String(cores)} cores; ` +
    `Redis at ${new URL(redisUrl).host}. Other processes on this OS used ${result?.background === undefined ? '?' : `${(result.background * 100).toFixed(0)}%`} of the machine's CPU meanwhile.\n`,
)
console.log(
  markdown([
    [
      'contender',
      'req/s',
      'rounds',
      'p99 (ms)',
      'CPU µs/req',
      'added µs/req',
      'vs route alone',
      'note',
    ],
    ...entries.map((entry) => {
      const m = measuredOf(entry)
      const none = bare(entry.contender.framework)
      const noneCpu = none === undefined ? undefined : measuredOf(none)?.cpu
      const failures =
        m !== undefined && m.failures > 0 ? `${String(m.failures)} non-2xx, errors or timeouts` : ''
      return [
        entry.contender.name,
        count(m?.rps),
        m?.low === undefined || m.high === undefined ? '—' : `${count(m.low)}-${count(m.high)}`,
        m?.p99 === undefined ? '—' : String(m.p99),
        count(m?.cpu),
        entry.contender.kind === 'none' || m?.cpu === undefined || noneCpu === undefined
          ? '—'
          : count(m.cpu - noneCpu),
        ratio(m?.rps, none === undefined ? undefined : measuredOf(none)?.rps),
        entry.note ?? failures,
      ]
    }),
  ]),
)

// Target: no slower than the fastest anchor of the same kind on the same framework.
/** @type {string[][]} */
const targets = [
  [
    'framework',
    'what',
    'Palisade',
    'fastest anchor',
    'by req/s',
    'by CPU/req',
    'reading (req/s; CPU)',
  ],
]
const reading = (/** @type {number | undefined} */ r) =>
  r === undefined || Number.isNaN(r)
    ? '—'
    : r >= 1
      ? 'met'
      : `missed by ${((1 - r) * 100).toFixed(0)}%`
for (const entry of entries.filter((e) => e.contender.palisade === true)) {
  const anchors = entries.filter(
    (e) =>
      e.contender.palisade !== true &&
      e.contender.framework === entry.contender.framework &&
      e.contender.kind === entry.contender.kind &&
      measuredOf(e)?.rps !== undefined,
  )
  const fastest = anchors.sort((a, b) => (measuredOf(b)?.rps ?? 0) - (measuredOf(a)?.rps ?? 0))[0]
  const ours = measuredOf(entry)
  const theirs = fastest === undefined ? undefined : measuredOf(fastest)
  const byRps =
    ours?.rps === undefined || theirs?.rps === undefined ? undefined : ours.rps / theirs.rps
  const byCpu =
    ours?.cpu === undefined || theirs?.cpu === undefined ? undefined : theirs.cpu / ours.cpu
  targets.push([
    entry.contender.framework,
    entry.contender.kind === 'headers' ? 'security headers' : `rate limit, ${entry.contender.kind}`,
    entry.contender.name,
    fastest?.contender.name ?? '—',
    byRps === undefined ? '—' : `${byRps.toFixed(2)}x`,
    byCpu === undefined ? '—' : `${byCpu.toFixed(2)}x`,
    `${reading(byRps)}; ${reading(byCpu)}`,
  ])
}
console.log(
  `\nTargets: Palisade against the fastest anchor of the same kind on the same framework, by req/s and by server CPU per request (the anchor's µs / Palisade's µs). Above 1.00x is faster:\n\n${markdown(targets)}`,
)
console.error(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`)
