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
