// What every HTTP benchmark here shares: one server per contender in its own child process,
// pinned to one core while the load generator runs on the other, CPU accounting over IPC, and
// the Markdown tables. The server scripts answer the protocol in ./server.js.
import { spawn, spawnSync } from 'node:child_process'
import { availableParallelism, cpus } from 'node:os'

export const cores = availableParallelism()

/**
 * Pins this process (the load generator) to core 0 so that servers can have core 1 alone.
 * `<PREFIX>_PIN=0` leaves CPU placement to the scheduler.
 * @param {string} prefix e.g. 'JWT_BENCH'
 */
export function pinLoadGenerator(prefix) {
  return (
    process.env[`${prefix}_PIN`] !== '0' &&
    cores >= 2 &&
    spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' }).status === 0
  )
}

/**
 * Starts a server script in its own process (on core 1 when pinned) and sends it `config`;
 * resolves once it listens.
 * @param {string} script absolute path of a script using ./server.js
 * @param {Record<string, unknown>} config
 * @param {{ pinned: boolean, nodeArgs?: string[], env?: Record<string, string> }} options
 */
export async function startServer(script, config, options) {
  /** @type {import('node:child_process').SpawnOptions} */
  const spawnOptions = {
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  }
  const args = [...(options.nodeArgs ?? []), script]
  const child = options.pinned
    ? spawn('taskset', ['-c', '1', process.execPath, ...args], spawnOptions)
    : spawn(process.execPath, args, spawnOptions)
  const port = await new Promise((resolve, reject) => {
    child.once('message', (message) => {
      resolve(/** @type {{ port: number }} */ (message).port)
    })
    child.once('exit', (code) => {
      reject(new Error(`the server exited with code ${String(code)} before listening`))
    })
    child.send(config)
  })
  const gone = () => child.exitCode !== null || child.signalCode !== null
  const stop = () =>
    new Promise((resolve) => {
      if (gone()) {
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
  /** @returns {Promise<{ cpu: number, requests: number } | undefined>} */
  const usage = () =>
    new Promise((resolve) => {
      if (gone()) {
        resolve(undefined)
        return
      }
      child.once('message', (message) => {
        resolve(/** @type {{ cpu: number, requests: number }} */ (message))
      })
      child.once('exit', () => {
        resolve(undefined)
      })
      child.send('usage')
    })
  return { base: `http://127.0.0.1:${String(port)}`, stop, usage }
}

/** Busy and total CPU time of the whole machine so far, in µs. */
export function machineTime() {
  let busy = 0
  let total = 0
  for (const { times } of cpus()) {
    const used = times.user + times.nice + times.sys + times.irq
    busy += used * 1000
    total += (used + times.idle) * 1000
  }
  return { busy, total }
}

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

/** @param {number | undefined} a @param {number | undefined} b */
export const ratio = (a, b) => (a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}x`)

/** @param {string[][]} rows the first is the header; numeric columns are right-aligned */
export function markdown(rows) {
  const widths = rows[0]?.map((_, i) => Math.max(3, ...rows.map((r) => (r[i] ?? '').length)))
  if (widths === undefined) return ''
  const numeric = rows[0]?.map((_, i) =>
    rows.slice(1).every((r) => /^[\d.,x—-]+$/.test(r[i] ?? '')),
  )
  const line = (/** @type {string[]} */ r) =>
    `| ${r.map((cell, i) => (numeric?.[i] === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (numeric?.[i] === true ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`
  return [line(rows[0] ?? []), rule, ...rows.slice(1).map(line)].join('\n')
}

/**
 * @typedef {object} Measured
 * @property {number} [rps] requests per second, the median of the rounds' means
 * @property {number} [low] the slowest round's requests per second
 * @property {number} [high] the fastest round's requests per second
 * @property {number} [p99] p99 latency in milliseconds, the median of the rounds
 * @property {number} [cpu] CPU time of the server process per request received, in µs: the
 *   median of the rounds, each measured on its own, so that a burst of background load in one
 *   round does not move it
 * @property {number} failures non-2xx answers, errors and timeouts over all rounds
 */

/**
 * Loads every running server: a warm-up each, then `rounds` slices of load with the order
 * rotating every round, so that a burst of background load on the machine spreads over all
 * contenders instead of sinking one. Reads each server's CPU time per request and how much of
 * the machine other processes used meanwhile.
 * @param {{ usage: () => Promise<{ cpu: number, requests: number } | undefined> }[]} servers
 * @param {(index: number, seconds: number) => Promise<import('autocannon').Result>} load
 * @param {{ warmupSeconds: number, rounds: number, roundSeconds: number }} plan
 * @returns {Promise<{ measured: Measured[], background: number | undefined }>}
 */
export async function measureRounds(servers, load, plan) {
  for (let i = 0; i < servers.length; i++) await load(i, plan.warmupSeconds)
  const settle = () => new Promise((resolve) => setTimeout(resolve, 500))
  await settle()
  const before = await Promise.all(servers.map((server) => server.usage()))
  const machineBefore = machineTime()
  const selfBefore = process.cpuUsage()
  const samples = servers.map(() => ({
    rps: /** @type {number[]} */ ([]),
    p99: /** @type {number[]} */ ([]),
    cpu: /** @type {number[]} */ ([]),
    failures: 0,
  }))
  const order = servers.map((_, i) => i)
  for (let round = 0; round < plan.rounds; round++) {
    const shift = Math.round((round * order.length) / plan.rounds)
    for (const i of [...order.slice(shift), ...order.slice(0, shift)]) {
      const roundStart = await servers[i]?.usage()
      const result = await load(i, plan.roundSeconds)
      const roundEnd = await servers[i]?.usage()
      const sample = samples[i]
      if (sample === undefined) continue
      if (
        roundStart !== undefined &&
        roundEnd !== undefined &&
        roundEnd.requests > roundStart.requests
      ) {
        sample.cpu.push((roundEnd.cpu - roundStart.cpu) / (roundEnd.requests - roundStart.requests))
      }
      sample.rps.push(result.requests.mean)
      sample.p99.push(result.latency.p99)
      sample.failures += result.non2xx + result.errors + result.timeouts
    }
  }
  // Idle servers finish the requests still in flight when a round ends before we read.
  await settle()
  const after = await Promise.all(servers.map((server) => server.usage()))
  const self = process.cpuUsage(selfBefore)
  const machine = machineTime()
  let ours = self.user + self.system
  const measured = samples.map((sample, i) => {
    const start = before[i]
    const end = after[i]
    if (start !== undefined && end !== undefined) ours += end.cpu - start.cpu
    /** @type {Measured} */
    const row = {
      rps: median(sample.rps),
      low: Math.min(...sample.rps),
      high: Math.max(...sample.rps),
      p99: median(sample.p99),
      failures: sample.failures,
    }
    if (sample.cpu.length > 0) row.cpu = median(sample.cpu)
    return row
  })
  const elapsed = machine.total - machineBefore.total
  const background =
    elapsed > 0 ? Math.max(0, (machine.busy - machineBefore.busy - ours) / elapsed) : undefined
  return { measured, background }
}
