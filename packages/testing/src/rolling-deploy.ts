// A rolling deploy as the traffic sees it: keep-alive clients behind a router that, some time
// after the instance was told to stop, opens new connections to another backend only, while the
// connections it already holds to the instance keep carrying requests until the instance closes
// them. This is what kube-proxy and ingress controllers do once an endpoint is removed.
import { ok, strictEqual } from 'node:assert/strict'
import { Agent, createServer, request } from 'node:http'
import type { OutgoingHttpHeaders, Server } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { integerOption, isLoopbackHostname } from '@palisade/errors'
import { definedOptions } from './options.js'

/** The instance a rolling deploy stops, and how to stop it. */
export interface RollingDeployTarget {
  /** Where the instance listens, e.g. `http://127.0.0.1:3000` (loopback, plain HTTP). */
  readonly baseUrl: string
  /**
   * Tells the instance to stop, as the orchestrator does (e.g. `child.kill('SIGTERM')`, or the
   * `shutdown()` of `gracefulShutdown()` in process). When it returns a promise, the promise
   * resolves once the instance has taken the signal (e.g. once it printed that it is draining):
   * every readiness probe sent after that must fail.
   */
  readonly shutdown: () => Promise<void> | void
  /** Resolves with the instance's exit code once it has stopped. */
  readonly exited: Promise<number | null>
  /** The route the clients call. @default '/api/me' */
  readonly path?: string | undefined
  /** Headers of every client request, e.g. `{ authorization: 'Bearer ...' }`. @default {} */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The status the route answers. @default 200 */
  readonly expectedStatus?: number | undefined
  /** The liveness and readiness routes the orchestrator probes. */
  readonly paths?: { readonly liveness?: string; readonly readiness?: string } | undefined
}

/** How the router and the clients behave. */
export interface RollingDeployOptions {
  /** Keep-alive clients sending requests back to back, each on its own connection. @default 16 */
  readonly clients?: number | undefined
  /**
   * How long after `shutdown()` is called the router stops opening connections to the
   * instance; later connections go to the second backend. Established connections are never
   * moved. Must be shorter than the instance's drain. @default 1000
   */
  readonly cutoverMs?: number | undefined
  /** Requests each client completes before the instance is told to stop. @default 5 */
  readonly warmupRequests?: number | undefined
  /** A request that has no answer after this long fails. @default 10000 */
  readonly requestTimeoutMs?: number | undefined
}

/** What a rolling deploy observed. */
export interface RollingDeployReport {
  /** The instance's exit code. */
  readonly exitCode: number | null
  /** Every request that failed: an error on the connection or an unexpected status. */
  readonly failures: readonly string[]
  /** Requests the instance answered before it was told to stop. */
  readonly servedBefore: number
  /** Requests the instance answered after it was told to stop, on connections opened before. */
  readonly servedOnKeptConnections: number
  /** Requests the instance answered after it was told to stop, on connections opened after. */
  readonly servedOnNewConnections: number
  /** Requests the second backend answered. */
  readonly servedByStandby: number
  /** Connections the router opened to the instance and to the second backend. */
  readonly connections: { readonly instance: number; readonly standby: number }
  /** Readiness statuses of the probes sent once the instance had taken the signal. */
  readonly readinessAfterSignal: readonly number[]
  /** Liveness statuses of every probe answered, before and after the signal. */
  readonly liveness: readonly number[]
  /** From `shutdown()` to the first readiness answer 503, in ms (informational). */
  readonly firstFailedReadinessMs: number | undefined
}

interface Answer {
  readonly status: number
  readonly socket: Socket
}

function send(
  url: URL,
  headers: OutgoingHttpHeaders,
  agent: Agent | false,
  timeoutMs: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (response) => {
      // Read now: a finished response no longer holds its socket.
      const { socket } = response
      response.resume()
      response.once('end', () => {
        resolve({ status: response.statusCode ?? 0, socket })
      })
      response.once('error', reject)
    })
    req.setTimeout(timeoutMs, () => {
      req.destroy(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' }))
    })
    req.once('error', reject)
    req.end()
  })
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : String(error)
}

/** The second backend: answers every request with 200 and closes nothing on its own. */
async function startStandby(): Promise<Server> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json')
    response.end('{"backend":"standby"}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/**
 * An agent whose new connections go where the router says at the time they are opened; `opened`
 * keeps the port each one went to.
 */
class RoutedAgent extends Agent {
  readonly #route: () => { host: string; port: number }
  readonly #opened: Map<Socket, number>

  constructor(route: () => { host: string; port: number }, opened: Map<Socket, number>) {
    super({ keepAlive: true, maxSockets: 1 })
    this.#route = route
    this.#opened = opened
  }

  override createConnection(): Socket {
    const { host, port } = this.#route()
    const socket = connect({ host, port })
    this.#opened.set(socket, port)
    return socket
  }
}

/** The host of a URL as `connect()` takes it: an IPv6 address without its brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1')
}

const OPTIONS = ['clients', 'cutoverMs', 'warmupRequests', 'requestTimeoutMs']
const TARGET = ['baseUrl', 'shutdown', 'exited', 'path', 'headers', 'expectedStatus', 'paths']

function checkTarget(target: RollingDeployTarget): URL {
  definedOptions(target, 'the rolling-deploy target', TARGET)
  let base: URL
  try {
    base = new URL(target.baseUrl)
  } catch {
    throw new TypeError(
      '"baseUrl" of the rolling-deploy target must be a URL such as http://127.0.0.1:3000',
    )
  }
  if (base.protocol !== 'http:' || base.port === '' || !isLoopbackHostname(base.hostname)) {
    throw new TypeError(
      '"baseUrl" of the rolling-deploy target must be http:// on a loopback host with a port, such as http://127.0.0.1:3000',
    )
  }
  if (typeof target.shutdown !== 'function') {
    throw new TypeError('"shutdown" of the rolling-deploy target must be a function')
  }
  if (typeof (target.exited as Partial<Promise<unknown>> | undefined)?.then !== 'function') {
    throw new TypeError('"exited" of the rolling-deploy target must be a promise of the exit code')
  }
  return base
}

/**
 * Runs a rolling deploy against one instance and reports what every request met, without
 * asserting: `clients` keep-alive clients send `GET path` back to back through a router; after
 * `warmupRequests` each, the instance is told to stop; `cutoverMs` later the router opens new
 * connections to a second backend only; the clients go on until the instance has exited. The
 * orchestrator probes liveness and readiness directly throughout, each probe on a new
 * connection.
 *
 * @example
 * ```ts
 * const report = await runRollingDeploy({ baseUrl, shutdown: () => void child.kill('SIGTERM'), exited })
 * console.log(report.failures)
 * ```
 */
export async function runRollingDeploy(
  target: RollingDeployTarget,
  options: RollingDeployOptions = {},
): Promise<RollingDeployReport> {
  const base = checkTarget(target)
  const given = definedOptions(options, 'the rolling-deploy options', OPTIONS)
  const clients = integerOption(given['clients'], 'clients', 16, 1)
  const cutoverMs = integerOption(given['cutoverMs'], 'cutoverMs', 1000, 0)
  const warmupRequests = integerOption(given['warmupRequests'], 'warmupRequests', 5, 1)
  const timeoutMs = integerOption(given['requestTimeoutMs'], 'requestTimeoutMs', 10_000, 1)
  const instancePort = Number(base.port)
  const route = new URL(target.path ?? '/api/me', base)
  const headers = { ...target.headers }
  const expectedStatus = target.expectedStatus ?? 200
  const liveness = new URL(target.paths?.liveness ?? '/healthz', base)
  const readiness = new URL(target.paths?.readiness ?? '/readyz', base)

  const standbyServer = await startStandby()
  const standbyPort = (standbyServer.address() as AddressInfo).port
  const instance = { host: hostOf(base), port: instancePort }
  const standby = { host: '127.0.0.1', port: standbyPort }
  let cutover = false
  let signalledAt: number | undefined
  let takenAt: number | undefined
  let stopped = false
  const failures: string[] = []
  let servedBefore = 0
  let servedOnKeptConnections = 0
  let servedOnNewConnections = 0
  let servedByStandby = 0
  const readinessAfterSignal: number[] = []
  const livenessAnswers: number[] = []
  let firstFailedReadinessMs: number | undefined
  /** Connections to the instance opened before the signal. */
  const kept = new WeakSet<Socket>()
  /** Every connection the router opened, with the port it went to. */
  const opened = new Map<Socket, number>()
  const agents: RoutedAgent[] = []
  let exitCode: number | null = null

  const warmedUp: Promise<void>[] = []
  async function client(warm: () => void): Promise<void> {
    const agent = new RoutedAgent(() => (cutover ? standby : instance), opened)
    agents.push(agent)
    let done = 0
    while (!stopped) {
      const sentAfterSignal = signalledAt !== undefined
      try {
        const answer = await send(route, headers, agent, timeoutMs)
        const fromInstance = opened.get(answer.socket) === instancePort
        if (!fromInstance) servedByStandby++
        else if (answer.status !== expectedStatus) {
          failures.push(`status ${answer.status} from the instance`)
        } else if (!sentAfterSignal) servedBefore++
        else if (kept.has(answer.socket)) servedOnKeptConnections++
        else servedOnNewConnections++
      } catch (error) {
        failures.push(`${sentAfterSignal ? 'after' : 'before'} the signal: ${codeOf(error)}`)
      }
      if (++done === warmupRequests) warm()
    }
  }

  async function probe(url: URL, onStatus: (status: number, sentAt: number) => void) {
    while (!stopped) {
      const sentAt = performance.now()
      try {
        onStatus((await send(url, {}, false, timeoutMs)).status, sentAt)
      } catch {
        // Refused once the instance stopped listening: the orchestrator expects that.
        if (signalledAt !== undefined) return
      }
      // A probe period, as the kubelet has one; short, so that the first failure is seen soon.
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  const running: Promise<void>[] = []
  for (let index = 0; index < clients; index++) {
    warmedUp.push(new Promise<void>((resolve) => running.push(client(resolve))))
  }
  running.push(
    probe(liveness, (status) => livenessAnswers.push(status)),
    probe(readiness, (status, sentAt) => {
      if (signalledAt === undefined) return
      if (status === 503) firstFailedReadinessMs ??= performance.now() - signalledAt
      if (takenAt !== undefined && sentAt >= takenAt) readinessAfterSignal.push(status)
    }),
  )
  try {
    await Promise.all(warmedUp)
    for (const socket of opened.keys()) kept.add(socket)
    signalledAt = performance.now()
    const timer = setTimeout(() => (cutover = true), cutoverMs)
    await target.shutdown()
    takenAt = performance.now()
    exitCode = await target.exited
    clearTimeout(timer)
    cutover = true
  } finally {
    stopped = true
    await Promise.all(running)
    for (const agent of agents) agent.destroy()
    standbyServer.closeAllConnections()
    await new Promise((resolve) => standbyServer.close(resolve))
  }
  return {
    exitCode,
    failures,
    servedBefore,
    servedOnKeptConnections,
    servedOnNewConnections,
    servedByStandby,
    connections: {
      instance: [...opened.values()].filter((port) => port === instancePort).length,
      standby: [...opened.values()].filter((port) => port === standbyPort).length,
    },
    readinessAfterSignal,
    liveness: livenessAnswers,
    firstFailedReadinessMs,
  }
}

/**
 * The rolling-deploy conformance case: {@link runRollingDeploy}, then asserts that no request
 * failed (each got its answer, or was never sent on a connection the instance had closed),
 * that the instance kept serving its established keep-alive connections after the signal and
 * the router moved to the second backend, that every readiness probe sent once the instance
 * had taken the signal failed with 503, that liveness answered 200 until the server closed,
 * and that the instance exited 0. Resolves to the report.
 *
 * @example
 * ```ts
 * import { rollingDeploy } from '@palisade/testing'
 *
 * it('loses no request on a rolling deploy', () =>
 *   rollingDeploy({
 *     baseUrl: service.url,
 *     headers: { authorization: `Bearer ${token}` },
 *     shutdown: () => void service.child.kill('SIGTERM'),
 *     exited: service.exited,
 *   }))
 * ```
 */
export async function rollingDeploy(
  target: RollingDeployTarget,
  options: RollingDeployOptions = {},
): Promise<RollingDeployReport> {
  const report = await runRollingDeploy(target, options)
  const tally = (statuses: readonly number[]) =>
    statuses.reduce<Record<number, number>>((counts, status) => {
      counts[status] = (counts[status] ?? 0) + 1
      return counts
    }, {})
  const summary = JSON.stringify({
    ...report,
    failures: report.failures.slice(0, 20),
    readinessAfterSignal: tally(report.readinessAfterSignal),
    liveness: tally(report.liveness),
  })
  strictEqual(report.failures.length, 0, `requests failed during the rolling deploy: ${summary}`)
  strictEqual(report.exitCode, 0, `the instance exited ${String(report.exitCode)}: ${summary}`)
  ok(
    report.servedOnKeptConnections > 0,
    `no established keep-alive connection carried a request after the signal: ${summary}`,
  )
  ok(report.servedByStandby > 0, `the router never moved to the second backend: ${summary}`)
  ok(
    report.readinessAfterSignal.length > 0 &&
      report.readinessAfterSignal.every((status) => status === 503),
    `readiness did not fail on every probe once the signal was taken: ${summary}`,
  )
  ok(
    report.liveness.length > 0 && report.liveness.every((status) => status === 200),
    `liveness did not answer 200 until the server closed: ${summary}`,
  )
  return report
}
