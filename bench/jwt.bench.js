// Bearer-token verification over HTTP: Palisade's Express, Fastify and Koa adapters against the
// middleware users would pick instead and against "floors" (a route calling jose `jwtVerify`
// with a local key), as ratios from one run. Each server runs alone in a child process
// (jwt.server.js); autocannon drives it from this process over loopback, with the same token,
// route, connections and duration for all. Next to req/s it reports the server's CPU time per
// request, which background load on a shared machine disturbs far less than throughput.
// It only prints: noisy machines never fail it.
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { startDevIssuer } from '@palisade/testing'
import {
  cores,
  machineTime,
  markdown,
  median,
  pinLoadGenerator,
  ratio,
  startServer as startProcess,
} from './lib/harness.js'

const WARMUP_SECONDS = 1
const ROUNDS = 5
const ROUND_SECONDS = 1
const CONNECTIONS = 50
const PIPELINING = 1
const ROUTE = '/api/me'

/**
 * @typedef {object} Contender
 * @property {string} id the server in jwt.server.js
 * @property {string} name
 * @property {'node' | 'express' | 'fastify' | 'koa'} framework
 * @property {boolean} [cache]
 * @property {boolean} [floor] a route calling jose jwtVerify with a local key
 * @property {boolean} [baseline] the same route without authentication
 */

/** @type {Contender[]} */
const contenders = [
  { id: 'node-none', name: 'no auth: node:http', framework: 'node', baseline: true },
  {
    id: 'node-jose',
    name: 'floor: node:http + jose jwtVerify, local key',
    framework: 'node',
    floor: true,
  },
  { id: 'express-none', name: 'no auth: express route', framework: 'express', baseline: true },
  {
    id: 'express-jose',
    name: 'floor: express route + jose jwtVerify, local key',
    framework: 'express',
    floor: true,
  },
  { id: 'palisade-express', name: '@palisade/express auth()', framework: 'express' },
  {
    id: 'palisade-express',
    name: '@palisade/express auth(), tokenCache',
    framework: 'express',
    cache: true,
  },
  { id: 'express-jwt', name: 'express-jwt + jwks-rsa', framework: 'express' },
  { id: 'express-oauth2-jwt-bearer', name: 'express-oauth2-jwt-bearer', framework: 'express' },
  { id: 'fastify-none', name: 'no auth: fastify route', framework: 'fastify', baseline: true },
  {
    id: 'fastify-jose',
    name: 'floor: fastify route + jose jwtVerify, local key',
    framework: 'fastify',
    floor: true,
  },
  { id: 'palisade-fastify', name: '@palisade/fastify plugin', framework: 'fastify' },
  {
    id: 'palisade-fastify',
    name: '@palisade/fastify plugin, tokenCache',
    framework: 'fastify',
    cache: true,
  },
  { id: 'fastify-jwt', name: '@fastify/jwt + get-jwks', framework: 'fastify' },
  {
    id: 'fastify-jwt',
    name: '@fastify/jwt + get-jwks, fast-jwt cache',
    framework: 'fastify',
    cache: true,
  },
  {
    id: 'fastify-jwt-local',
    name: '@fastify/jwt, local key (no JWKS), fast-jwt cache',
    framework: 'fastify',
    cache: true,
  },
  { id: 'koa-none', name: 'no auth: koa middleware', framework: 'koa', baseline: true },
  {
    id: 'koa-jose',
    name: 'floor: koa middleware + jose jwtVerify, local key',
    framework: 'koa',
    floor: true,
  },
  { id: 'palisade-koa', name: '@palisade/koa auth()', framework: 'koa' },
  { id: 'palisade-koa', name: '@palisade/koa auth(), tokenCache', framework: 'koa', cache: true },
  { id: 'koa-jwt', name: 'koa-jwt + jwks-rsa', framework: 'koa' },
]

// For a partial run: JWT_BENCH_ONLY=palisade-express,express-jose JWT_BENCH_ALGS=ES256;
// JWT_BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers, and
// JWT_BENCH_PIN=0 leaves CPU placement to the scheduler.
const only = process.env['JWT_BENCH_ONLY']?.split(',').filter(Boolean)
const algs = process.env['JWT_BENCH_ALGS']?.split(',').filter(Boolean) ?? ['RS256', 'ES256']
const serverArgs = process.env['JWT_BENCH_SERVER_ARGS']?.split(' ').filter(Boolean) ?? []
const selected = contenders.filter((c) => only === undefined || only.includes(c.id))

/**
 * @typedef {object} Row
 * @property {Contender} contender
 * @property {string} alg
 * @property {number} [rps] requests per second, the median of the rounds' means
 * @property {number} [low] the slowest round's requests per second
 * @property {number} [high] the fastest round's requests per second
 * @property {number} [p99] p99 latency in milliseconds, the median of the rounds
 * @property {number} [cpu] CPU time of the server process per request received, in µs
 * @property {string} [note] why there is no number, or what went wrong during the run
 */

// The server runs on one core and the load generator on another, so that neither steals the
// other's CPU and every contender gets the same single core (threadpool crypto included).
const pinned = pinLoadGenerator('JWT_BENCH')
const script = fileURLToPath(new URL('./jwt.server.js', import.meta.url))

/**
 * Starts one contender's server in its own process.
 * @param {Contender} contender
 * @param {Record<string, unknown>} config
 */
async function startServer(contender, config) {
  const server = await startProcess(
    script,
    { ...config, id: contender.id, cache: contender.cache === true },
    { pinned, nodeArgs: serverArgs },
  )
  return { ...server, url: `${server.base}${ROUTE}` }
}

/**
 * A contender must accept the token and refuse a tampered one and a missing one before its
 * numbers mean anything (the no-auth baselines only answer). Returns what is wrong, or undefined.
 * @param {string} url
 * @param {string} token
 * @param {boolean} refuses
 */
async function sanityCheck(url, token, refuses) {
  const good = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  const body = /** @type {unknown} */ (await good.json().catch(() => undefined))
  if (good.status !== 200 || /** @type {{ sub?: unknown }} */ (body)?.sub !== 'user-1')
    return `valid token answered ${String(good.status)} ${JSON.stringify(body)}`
  if (!refuses) return undefined
  const at = token.length - 20
  const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`
  const bad = await fetch(url, { headers: { authorization: `Bearer ${tampered}` } })
  await bad.arrayBuffer()
  if (bad.status !== 401) return `tampered signature answered ${String(bad.status)}`
  const none = await fetch(url)
  await none.arrayBuffer()
  if (none.status !== 401) return `no token answered ${String(none.status)}`
  return undefined
}

/**
 * @param {string} url
 * @param {string} token
 * @param {number} duration
 */
function load(url, token, duration) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: PIPELINING,
    duration,
    headers: { authorization: `Bearer ${token}` },
  })
}

/** Share of the machine's CPU used by other processes while each algorithm was measured. */
/** @type {Map<string, number>} */
const background = new Map()

/**
 * Measures every contender for one algorithm. All servers are started first; after a warm-up
 * each gets ROUNDS slices of load, the order rotating every round, so that a burst of
 * background load on the machine spreads over all contenders instead of sinking one.
 * @param {string} alg
 * @param {string} token
 * @param {Record<string, unknown>} config
 * @returns {Promise<Row[]>}
 */
async function measureAll(alg, token, config) {
  /**
   * @type {{
   *   row: Row, url?: string, stop?: () => Promise<unknown>,
   *   usage?: () => Promise<{ cpu: number, requests: number } | undefined>,
   *   rps: number[], p99: number[], failures: number
   * }[]}
   */
  const entries = []
  try {
    for (const contender of selected) {
      /** @type {(typeof entries)[number]} */
      const entry = { row: { contender, alg }, rps: [], p99: [], failures: 0 }
      entries.push(entry)
      try {
        const server = await startServer(contender, config)
        entry.stop = server.stop
        entry.usage = server.usage
        const problem = await sanityCheck(server.url, token, contender.baseline !== true)
        if (problem === undefined) entry.url = server.url
        else entry.row.note = `not measured: ${problem}`
      } catch (error) {
        entry.row.note = `not measured: ${String(error)}`
      }
    }
    const running = entries.filter((entry) => entry.url !== undefined)
    for (const entry of running) await load(entry.url ?? '', token, WARMUP_SECONDS)
    const settle = () => new Promise((resolve) => setTimeout(resolve, 500))
    await settle()
    const before = await Promise.all(running.map((entry) => entry.usage?.()))
    const machineBefore = machineTime()
    const selfBefore = process.cpuUsage()
    for (let round = 0; round < ROUNDS; round++) {
      const shift = Math.round((round * running.length) / ROUNDS)
      for (const entry of [...running.slice(shift), ...running.slice(0, shift)]) {
        const result = await load(entry.url ?? '', token, ROUND_SECONDS)
        entry.rps.push(result.requests.mean)
        entry.p99.push(result.latency.p99)
        entry.failures += result.non2xx + result.errors + result.timeouts
      }
    }
    // Idle servers finish the requests still in flight when a round ends before we read.
    await settle()
    const after = await Promise.all(running.map((entry) => entry.usage?.()))
    const self = process.cpuUsage(selfBefore)
    const machine = machineTime()
    let ours = self.user + self.system
    for (const [i, entry] of running.entries()) {
      const start = before[i]
      const end = after[i]
      if (start !== undefined && end !== undefined) ours += end.cpu - start.cpu
      if (start !== undefined && end !== undefined && end.requests > start.requests)
        entry.row.cpu = (end.cpu - start.cpu) / (end.requests - start.requests)
      entry.row.rps = median(entry.rps)
      entry.row.low = Math.min(...entry.rps)
      entry.row.high = Math.max(...entry.rps)
      entry.row.p99 = median(entry.p99)
      if (entry.failures > 0)
        entry.row.note = `${String(entry.failures)} non-2xx, errors or timeouts`
    }
    const elapsed = machine.total - machineBefore.total
    if (elapsed > 0)
      background.set(alg, Math.max(0, (machine.busy - machineBefore.busy - ours) / elapsed))
  } finally {
    await Promise.all(entries.map((entry) => entry.stop?.()))
  }
  return entries.map((entry) => entry.row)
}

// The servers under test run with NODE_ENV=production on purpose, and this harness usually runs
// with no environment set: the issuer only signs this benchmark's tokens, on loopback.
const issuer = await startDevIssuer({ algorithms: ['RS256', 'ES256'], allowProductionLike: true })
/** @type {Row[]} */
const rows = []
const started = Date.now()
try {
  for (const alg of algs) {
    // Valid for the whole run; the same token for every contender of this algorithm.
    const token = await issuer.mint({
      alg: /** @type {'RS256' | 'ES256'} */ (alg),
      expiresIn: 3600,
    })
    const jwk = issuer.publicJwks().keys.find((key) => key.alg === alg)
    const config = {
      alg,
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
      jwk,
    }
    for (const row of await measureAll(alg, token, config)) {
      rows.push(row)
      console.error(
        `${alg} ${row.contender.name}: ${row.rps === undefined ? '-' : Math.round(row.rps).toLocaleString('en')} req/s${row.note === undefined ? '' : ` (${row.note})`}`,
      )
    }
  }
} finally {
  await issuer.close()
}

const find = (/** @type {string} */ alg, /** @type {(c: Contender) => boolean} */ test) =>
  rows.find((r) => r.alg === alg && test(r.contender))
const floorOf = (/** @type {string} */ alg, /** @type {string} */ framework) =>
  find(alg, (c) => c.floor === true && c.framework === framework)
/**
 * What authentication adds to a request: the server's CPU per request minus that of the same
 * framework's route without authentication. Comparable across frameworks.
 * @param {Row | undefined} row
 */
function authCost(row) {
  if (row === undefined || row.contender.baseline === true) return undefined
  const none = find(row.alg, (c) => c.baseline === true && c.framework === row.contender.framework)
  return row.cpu === undefined || none?.cpu === undefined ? undefined : row.cpu - none.cpu
}
const micros = (/** @type {number | undefined} */ value) =>
  value === undefined ? '—' : Math.round(value).toLocaleString('en')

console.log(
  `\nBearer-token verification, GET ${ROUTE}: autocannon, ${String(CONNECTIONS)} connections, pipelining ${String(PIPELINING)}, ` +
    `${String(WARMUP_SECONDS)} s warm-up, then ${String(ROUNDS)} rounds of ${String(ROUND_SECONDS)} s per row (median shown, slowest-fastest round in brackets), ` +
    `interleaved across contenders; ${pinned ? 'server and load generator pinned to one core each' : 'no CPU pinning'}; Node ${process.version}, ${String(cores)} cores. ` +
    `Other processes on this OS used ${[...background].map(([alg, share]) => `${(share * 100).toFixed(0)}% (${alg})`).join(', ')} of the machine's CPU meanwhile.\n`,
)
console.log(
  markdown([
    [
      'contender',
      'alg',
      'req/s',
      'rounds',
      'p99 (ms)',
      'CPU µs/req',
      'auth µs/req',
      'vs node:http floor',
      'vs framework floor',
      'note',
    ],
    ...rows.map((r) => [
      r.contender.name,
      r.alg,
      r.rps === undefined ? '—' : Math.round(r.rps).toLocaleString('en'),
      r.low === undefined || r.high === undefined
        ? '—'
        : `${Math.round(r.low).toLocaleString('en')}-${Math.round(r.high).toLocaleString('en')}`,
      r.p99 === undefined ? '—' : String(r.p99),
      micros(r.cpu),
      micros(authCost(r)),
      ratio(r.rps, floorOf(r.alg, 'node')?.rps),
      ratio(r.rps, floorOf(r.alg, r.contender.framework)?.rps),
      r.note ?? '',
    ]),
  ]),
)

/**
 * How much faster `a` is than `b`: by req/s, and by server CPU per request (b's µs / a's µs),
 * or across frameworks by auth CPU per request only.
 * @param {Row | undefined} a
 * @param {Row | undefined} b
 */
function compare(a, b) {
  if (a === undefined || b === undefined) return { rps: undefined, cpu: undefined }
  if (a.contender.framework !== b.contender.framework) {
    const ca = authCost(a)
    const cb = authCost(b)
    return { rps: undefined, cpu: ca === undefined || cb === undefined ? undefined : cb / ca }
  }
  return {
    rps: a.rps === undefined || b.rps === undefined ? undefined : a.rps / b.rps,
    cpu: a.cpu === undefined || b.cpu === undefined ? undefined : b.cpu / a.cpu,
  }
}

/** @type {string[][]} */
const cacheRows = [['adapter', ...algs.map((alg) => `${alg} cache on / off`)]]
/** @type {string[][]} */
const targetRows = [
  ['target', 'alg', 'Palisade', 'reference', 'by req/s', 'by CPU/req', 'reading (req/s; CPU)'],
]
/** @param {number | undefined} r @param {number} needed */
const reading = (r, needed) =>
  r === undefined || Number.isNaN(r)
    ? '—'
    : r >= needed
      ? 'met'
      : `missed by ${(1 - r / needed) * 100 < 0.5 ? '<1' : ((1 - r / needed) * 100).toFixed(0)}%`
const times = (/** @type {number | undefined} */ r) =>
  r === undefined || Number.isNaN(r) ? '—' : `${r.toFixed(2)}x`
/**
 * @param {string} target
 * @param {Row} palisade
 * @param {Row} reference
 * @param {number} needed the smallest ratio that meets the target
 */
function addTarget(target, palisade, reference, needed) {
  const r = compare(palisade, reference)
  targetRows.push([
    target,
    palisade.alg,
    palisade.contender.name,
    reference.contender.name,
    times(r.rps),
    times(r.cpu),
    `${reading(r.rps, needed)}; ${reading(r.cpu, needed)}`,
  ])
}
for (const framework of /** @type {const} */ (['express', 'fastify', 'koa'])) {
  const palisade = `palisade-${framework}`
  cacheRows.push([
    `@palisade/${framework}`,
    ...algs.map((alg) =>
      ratio(
        find(alg, (c) => c.id === palisade && c.cache === true)?.rps,
        find(alg, (c) => c.id === palisade && c.cache !== true)?.rps,
      ),
    ),
  ])
  for (const alg of algs) {
    const plain = find(alg, (c) => c.id === palisade && c.cache !== true)
    const cached = find(alg, (c) => c.id === palisade && c.cache === true)
    const floor = floorOf(alg, framework)
    if (plain !== undefined && floor !== undefined)
      addTarget('without cache, within 10% of the bare route', plain, floor, 0.9)
    const others = rows.filter(
      (r) =>
        r.alg === alg &&
        r.contender.framework === framework &&
        r.contender.floor !== true &&
        r.contender.baseline !== true &&
        !r.contender.id.startsWith('palisade-') &&
        r.contender.cache !== true,
    )
    for (const other of plain === undefined ? [] : others)
      addTarget('without cache, ahead of the middleware', plain, other, 1)
    const fastJwt = rows.filter(
      (r) =>
        r.alg === alg && r.contender.id.startsWith('fastify-jwt') && r.contender.cache === true,
    )
    for (const reference of cached === undefined ? [] : fastJwt)
      addTarget(
        framework === 'fastify'
          ? "with cache, as fast as fast-jwt's cache"
          : "with cache, as fast as fast-jwt's cache (auth µs/req, across frameworks)",
        cached,
        reference,
        1,
      )
  }
}

console.log(`\nPalisade token cache, on / off (req/s):\n\n${markdown(cacheRows)}`)
console.log(
  `\nTargets: Palisade against the reference on the same framework by req/s and by server CPU ` +
    `per request (the reference's µs / Palisade's µs); across frameworks by auth CPU per request ` +
    `(CPU µs/req minus the framework's no-auth route). Above 1.00x is faster:\n\n${markdown(targetRows)}`,
)
console.error(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`)
