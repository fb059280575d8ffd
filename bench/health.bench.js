// Health probes over HTTP: @palisade/health (through @palisade/express) against
// @godaddy/terminus and lightship on the same Express app, and what each adds to the app's other
// routes. Each server runs alone in a child process (health.server.js); autocannon drives it
// from this process over loopback with the same connections and duration for all, in
// interleaved rounds. Readiness is backed by five checks of 2 ms each. It only prints: noisy
// machines never fail it.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { cores, markdown, median, pinLoadGenerator } from './lib/harness.js'

const WARMUP_SECONDS = 1
const ROUNDS = 5
const ROUND_SECONDS = 2
const CONNECTIONS = 50

/**
 * @typedef {object} Contender
 * @property {string} id the server in health.server.js
 * @property {string} name
 * @property {'ready' | 'hello'} route what is loaded: the readiness probe or GET /api/hello
 */

/** @type {Contender[]} */
const contenders = [
  { id: 'palisade-uncached', name: '@palisade/health, no cache (single-flight)', route: 'ready' },
  { id: 'palisade-cached', name: '@palisade/health, cacheMs: 1000', route: 'ready' },
  { id: 'palisade-interval', name: '@palisade/health, intervalMs: 1000', route: 'ready' },
  {
    id: 'palisade-node',
    name: '@palisade/health, cacheMs: 1000, handle() before express',
    route: 'ready',
  },
  { id: 'terminus', name: '@godaddy/terminus healthChecks', route: 'ready' },
  { id: 'lightship', name: 'lightship /ready (checks in a 1 s loop)', route: 'ready' },
  { id: 'plain', name: 'express alone', route: 'hello' },
  { id: 'palisade-routes-only', name: 'express + healthRoutes', route: 'hello' },
  { id: 'palisade-cached', name: 'express + healthRoutes + gracefulShutdown', route: 'hello' },
  { id: 'terminus', name: 'express + terminus', route: 'hello' },
]

// For a partial run: HEALTH_BENCH_ONLY=palisade-cached,terminus.
const only = process.env['HEALTH_BENCH_ONLY']?.split(',').filter(Boolean)
const selected = contenders.filter((c) => only === undefined || only.includes(c.id))

const pinned = pinLoadGenerator('HEALTH_BENCH')

/** @param {Contender} contender */
async function startServer(contender) {
  const script = fileURLToPath(new URL('./health.server.js', import.meta.url))
  /** @type {import('node:child_process').SpawnOptions} */
  const options = {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  }
  const child = pinned
    ? spawn('taskset', ['-c', '1', process.execPath, script], options)
    : spawn(process.execPath, [script], options)
  const urls = await new Promise((resolve, reject) => {
    child.once('message', (message) => {
      resolve(/** @type {{ ready: string, base: string }} */ (message))
    })
    child.once('exit', (code) => {
      reject(new Error(`the server exited with code ${String(code)} before listening`))
    })
    child.send({ id: contender.id })
  })
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve(undefined)
        return
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve(undefined)
      })
      child.disconnect()
    })
  /** @returns {Promise<{ cpu: number, requests: number, checkRuns: number } | undefined>} */
  const usage = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve(undefined)
        return
      }
      const onMessage = (/** @type {unknown} */ message) => {
        child.off('exit', onExit)
        resolve(/** @type {{ cpu: number, requests: number, checkRuns: number }} */ (message))
      }
      const onExit = () => {
        child.off('message', onMessage)
        resolve(undefined)
      }
      child.once('message', onMessage)
      child.once('exit', onExit)
      child.send('usage')
    })
  const url = contender.route === 'ready' ? urls.ready : `${urls.base}/api/hello`
  return { url, stop, usage }
}

/** Every contender must answer 200 before its numbers mean anything. */
async function sanityCheck(/** @type {string} */ url) {
  const response = await fetch(url)
  const text = await response.text()
  return response.status === 200 ? undefined : `answered ${String(response.status)} ${text}`
}

/** @param {string} url @param {number} duration */
function load(url, duration) {
  return autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration })
}

/**
 * @typedef {object} Row
 * @property {Contender} contender
 * @property {number} [rps]
 * @property {number} [p50]
 * @property {number} [p99]
 * @property {number} [cpu] server CPU µs per request
 * @property {number} [runs] check runs per request
 * @property {string} [note]
 */

/** @type {{ row: Row, url?: string, stop?: () => Promise<unknown>, usage?: () => Promise<{ cpu: number, requests: number, checkRuns: number } | undefined>, rps: number[], p50: number[], p99: number[], failures: number }[]} */
const entries = []
const started = Date.now()
try {
  for (const contender of selected) {
    /** @type {(typeof entries)[number]} */
    const entry = { row: { contender }, rps: [], p50: [], p99: [], failures: 0 }
    entries.push(entry)
    try {
      const server = await startServer(contender)
      entry.stop = server.stop
      entry.usage = server.usage
      const problem = await sanityCheck(server.url)
      if (problem === undefined) entry.url = server.url
      else entry.row.note = `not measured: ${problem}`
    } catch (error) {
      entry.row.note = `not measured: ${String(error)}`
    }
  }
  const running = entries.filter((entry) => entry.url !== undefined)
  for (const entry of running) await load(entry.url ?? '', WARMUP_SECONDS)
  const settle = () => new Promise((resolve) => setTimeout(resolve, 500))
  await settle()
  // Several rows share a server: usage is read around each row's own rounds.
  /** @type {Map<(typeof entries)[number], { cpu: number, requests: number, checkRuns: number }>} */
  const totals = new Map()
  for (let round = 0; round < ROUNDS; round++) {
    const shift = Math.round((round * running.length) / ROUNDS)
    for (const entry of [...running.slice(shift), ...running.slice(0, shift)]) {
      const before = await entry.usage?.()
      const result = await load(entry.url ?? '', ROUND_SECONDS)
      await settle()
      const after = await entry.usage?.()
      entry.rps.push(result.requests.mean)
      entry.p50.push(result.latency.p50)
      entry.p99.push(result.latency.p99)
      entry.failures += result.non2xx + result.errors + result.timeouts
      if (before !== undefined && after !== undefined) {
        const total = totals.get(entry) ?? { cpu: 0, requests: 0, checkRuns: 0 }
        total.cpu += after.cpu - before.cpu
        total.requests += after.requests - before.requests
        total.checkRuns += after.checkRuns - before.checkRuns
        totals.set(entry, total)
      }
    }
  }
  for (const entry of running) {
    entry.row.rps = median(entry.rps)
    entry.row.p50 = median(entry.p50)
    entry.row.p99 = median(entry.p99)
    const total = totals.get(entry)
    if (total !== undefined && total.requests > 0) {
      entry.row.cpu = total.cpu / total.requests
      entry.row.runs = total.checkRuns / total.requests
    }
    if (entry.failures > 0) entry.row.note = `${String(entry.failures)} non-2xx, errors or timeouts`
  }
} finally {
  await Promise.all(entries.map((entry) => entry.stop?.()))
}

const fixed = (/** @type {number | undefined} */ value, digits = 0) =>
  value === undefined
    ? '—'
    : value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const rows = entries.map((entry) => entry.row)
const plain = rows.find((row) => row.contender.id === 'plain')

for (const route of /** @type {const} */ (['ready', 'hello'])) {
  const group = rows.filter((row) => row.contender.route === route)
  if (group.length === 0) continue
  console.log(
    route === 'ready'
      ? `\nReadiness probe, five 2 ms checks: autocannon, ${String(CONNECTIONS)} connections, ${String(WARMUP_SECONDS)} s warm-up, ${String(ROUNDS)} rounds of ${String(ROUND_SECONDS)} s per row (median), interleaved; ${pinned ? 'server and load generator pinned to one core each' : 'no CPU pinning'}; Node ${process.version}, ${String(cores)} cores.\n`
      : `\nGET /api/hello on the same apps (what the health package costs every other route):\n`,
  )
  console.log(
    markdown([
      route === 'ready'
        ? ['contender', 'req/s', 'p50 (ms)', 'p99 (ms)', 'CPU µs/req', 'check runs/req', 'note']
        : ['contender', 'req/s', 'p50 (ms)', 'p99 (ms)', 'CPU µs/req', 'vs express alone', 'note'],
      ...group.map((row) => [
        row.contender.name,
        fixed(row.rps),
        fixed(row.p50, 2),
        fixed(row.p99, 2),
        fixed(row.cpu),
        route === 'ready'
          ? fixed(row.runs, 3)
          : row.cpu === undefined || plain?.cpu === undefined
            ? '—'
            : `${row.cpu - plain.cpu >= 0 ? '+' : ''}${fixed(row.cpu - plain.cpu)} µs`,
        row.note ?? '',
      ]),
    ]),
  )
}
console.log(`\n${((Date.now() - started) / 1000).toFixed(0)} s`)
