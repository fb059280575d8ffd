import { createHash, timingSafeEqual } from 'node:crypto'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { SpanStatusCode } from '@opentelemetry/api'
import type { BatchObservableCallback, ObservableGauge } from '@opentelemetry/api'
import { HealthError, messageOf, outputOf } from './errors.js'
import {
  booleanOption,
  checkOptionNames,
  functionOption,
  integerOption,
  isLoopbackAddress,
  isObject,
  loggerOption,
  silentLogger,
  stringOption,
} from '@palisade/errors'
import { telemetry } from './telemetry.js'
import type {
  CheckReport,
  HealthCheck,
  HealthRequest,
  HealthResponse,
  HealthStatus,
  Logger,
} from './types.js'

/** The three probes, as {@link Health.handle} routes them. */
export type ProbeKind = 'liveness' | 'readiness' | 'startup'

/** Where {@link Health.handle} answers each probe. */
export interface HealthPaths {
  /** @default '/healthz' */
  liveness?: string | undefined
  /** @default '/readyz' */
  readiness?: string | undefined
  /** @default '/startupz' */
  startup?: string | undefined
}

/** Options of {@link createHealth}. */
export interface HealthOptions {
  /** The dependency checks readiness runs. @default [] */
  checks?: readonly HealthCheck[] | undefined
  /** Told when a check goes down or comes back (never on every probe). @default silent */
  logger?: Logger | undefined
  /**
   * Liveness fails while the event loop lagged more than this within the last second or two.
   * @default 1000
   */
  eventLoopDelayThresholdMs?: number | undefined
  /** The paths {@link Health.handle} and the adapters answer. @default the values below */
  paths?: HealthPaths | undefined
  /**
   * A caller presenting `Authorization: Bearer <detailsToken>` gets the readiness details
   * (check names, short failure reasons, durations). Compared in constant time; never logged.
   * At least 16 characters.
   * @default undefined (details only for loopback callers, when trusted)
   */
  detailsToken?: string | undefined
  /**
   * Callers whose TCP peer is a loopback address (127.0.0.0/8, ::1) get the details without a
   * token, unless the request carries a header a proxy adds (`Forwarded`, `X-Forwarded-*`,
   * `X-Real-IP`): such a request came through a proxy on the same host. Turn it off when a
   * proxy on the same host forwards outside traffic without adding one.
   * @default true
   */
  trustLoopback?: boolean | undefined
}

/** Options of {@link Health.readiness}. */
export interface ReadinessOptions {
  /**
   * Add `checks` (status, duration, short failure reason per check) to the answer. Give it only
   * to trusted callers (a token, loopback): everyone else should see the status alone.
   * @default false
   */
  details?: boolean | undefined
}

/** The probes of a service; see {@link createHealth}. */
export interface Health {
  /** 200 `{"status":"pass"}`; 503 when the event loop lagged beyond the threshold. No checks. */
  liveness: () => HealthResponse
  /** Runs (or reuses) every check; 503 when a critical one fails or while shutting down. */
  readiness: (options?: ReadinessOptions) => Promise<HealthResponse>
  /** 503 until {@link Health.markStarted} was called, 200 after. */
  startup: () => HealthResponse
  /** Startup work (key loading, migrations) finished: the startup probe passes from now on. */
  markStarted: () => void
  /** Readiness fails from now on, at once, whatever the checks say. */
  beginShutdown: () => void
  /** Whether {@link Health.beginShutdown} was called. */
  readonly shuttingDown: boolean
  /**
   * Answers a probe request for an adapter: the liveness, readiness or startup answer for `GET`
   * and `HEAD` on its path (query string and one trailing slash tolerated), 405 for other
   * methods on those paths, and `undefined` for any other path (pass it on). Readiness details
   * go to callers presenting the `detailsToken` or, when trusted, coming from loopback without
   * a proxy's `Forwarded`, `X-Forwarded-*` or `X-Real-IP` header. A `HEAD`
   * answer has the headers of the `GET` one, `Content-Length` included, and an empty body.
   */
  handle: (request: HealthRequest) => Promise<HealthResponse> | undefined
  /** The paths {@link Health.handle} answers, after defaults. */
  readonly paths: Readonly<Record<ProbeKind, string>>
  /**
   * Stops the background refreshes (`intervalMs`), the event-loop monitor and the status gauge.
   */
  close: () => void
}

interface Check {
  readonly name: string
  readonly key: string
  readonly run: HealthCheck['run']
  readonly critical: boolean
  readonly timeoutMs: number
  readonly cacheMs: number
  readonly intervalMs: number
  readonly componentType: string
  readonly close: (() => void) | undefined
}

interface Result {
  readonly passed: boolean
  readonly output: string | undefined
  readonly time: string
  readonly durationMs: number
  /** `performance.now()` when the run ended, for the cache. */
  readonly at: number
}

interface State {
  readonly check: Check
  cached: Result | undefined
  inFlight: Promise<Result> | undefined
  /** Whether the last run passed; undefined before the first. */
  up: boolean | undefined
  /** The next background refresh, for checks with an `intervalMs`. */
  timer: NodeJS.Timeout | undefined
}

const HEADERS: Readonly<Record<string, string>> = Object.freeze({
  // The charset is explicit so that every framework sends the same header (Express and Fastify
  // add it to string bodies, Koa does not).
  'Content-Type': 'application/health+json; charset=utf-8',
  'Cache-Control': 'no-store',
})

function respond(status: HealthStatus, extra?: Record<string, unknown>): HealthResponse {
  return Object.freeze({
    status: status === 'fail' ? 503 : 200,
    headers: HEADERS,
    body: JSON.stringify({ status, ...extra }),
  })
}

const SHUTTING_DOWN = respond('fail', { output: 'shutting down' })
const STARTING = respond('fail', { output: 'starting' })
const PASS = respond('pass')
const BLOCKED = respond('fail', { output: 'event loop blocked' })
const ANSWERS: Readonly<Record<HealthStatus, HealthResponse>> = {
  pass: PASS,
  warn: respond('warn'),
  fail: respond('fail'),
}

/** Event-loop delay samples are kept for one to two of these windows. */
const LOOP_WINDOW_MS = 1000

function normalizeCheck(value: unknown, index: number): Check {
  const at = `checks[${index}]`
  if (!isObject(value)) throw new TypeError(`"${at}" option must be a health check object`)
  if (value['name'] === undefined) {
    throw new TypeError(`"${at}.name" option must be a non-empty string`)
  }
  const name = stringOption(value['name'], `${at}.name`, '')
  functionOption(value['run'], `${at}.run`)
  const measurement = stringOption(value['measurement'], `${at}.measurement`, 'connection')
  const cacheMs = integerOption(value['cacheMs'], `${at}.cacheMs`, 0, 0)
  const intervalMs = integerOption(value['intervalMs'], `${at}.intervalMs`, 0, 0)
  if (cacheMs > 0 && intervalMs > 0) {
    throw new TypeError(`"${at}.intervalMs" option cannot be combined with "${at}.cacheMs"`)
  }
  return Object.freeze({
    name,
    key: `${name}:${measurement}`,
    run: value['run'] as HealthCheck['run'],
    critical: booleanOption(value['critical'], `${at}.critical`, true),
    timeoutMs: integerOption(value['timeoutMs'], `${at}.timeoutMs`, 1000, 1),
    cacheMs,
    intervalMs,
    close: closeOf(value['close'], at),
    componentType: stringOption(value['componentType'], `${at}.componentType`, 'component'),
  })
}

function closeOf(value: unknown, at: string): (() => void) | undefined {
  if (value === undefined) return undefined
  functionOption(value, `${at}.close`)
  return value as () => void
}

const DEFAULT_PATHS: Readonly<Record<ProbeKind, string>> = {
  liveness: '/healthz',
  readiness: '/readyz',
  startup: '/startupz',
}

const HEALTH_OPTIONS = Object.keys({
  checks: true,
  logger: true,
  eventLoopDelayThresholdMs: true,
  paths: true,
  detailsToken: true,
  trustLoopback: true,
} satisfies Record<keyof HealthOptions, true>)
const REPLACES = ['@godaddy/terminus', 'lightship'] as const

function normalizePaths(value: unknown): Readonly<Record<ProbeKind, string>> {
  if (value === undefined) return DEFAULT_PATHS
  if (!isObject(value)) throw new TypeError('"paths" option must be an object')
  checkOptionNames(value, Object.keys(DEFAULT_PATHS), 'createHealth()', { path: 'paths' })
  const paths = { ...DEFAULT_PATHS }
  for (const kind of Object.keys(DEFAULT_PATHS) as ProbeKind[]) {
    const path = stringOption(value[kind], `paths.${kind}`, DEFAULT_PATHS[kind])
    if (!/^\/[^?#\s]*[^/?#\s]$/.test(path)) {
      throw new TypeError(
        `"paths.${kind}" option must be a path such as "${DEFAULT_PATHS[kind]}" (a leading slash, no trailing slash, query or spaces)`,
      )
    }
    paths[kind] = path
  }
  if (new Set(Object.values(paths)).size !== 3) {
    throw new TypeError('"paths" option must give each probe its own path')
  }
  return Object.freeze(paths)
}

/** The path of a request target without its query string and one trailing slash. */
function routeOf(target: string): string {
  const query = target.search(/[?#]/)
  const path = query === -1 ? target : target.slice(0, query)
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

const BEARER = /^Bearer +(\S+) *$/i

// Headers a proxy adds: a loopback peer that sends one is a proxy on the same host (a sidecar,
// a local nginx) speaking for a caller who may be anywhere.
const PROXY_HEADERS = /^(?:forwarded|x-forwarded-[a-z-]+|x-real-ip)$/i

function proxied(request: HealthRequest): boolean {
  return Object.keys(request.headers).some(
    (name) => PROXY_HEADERS.test(name) && request.headers[name] !== undefined,
  )
}

// Each answer with its Content-Length, made once per answer (most answers are constants).
const sized = new WeakMap<HealthResponse, { get: HealthResponse; head: HealthResponse }>()

function withLength(response: HealthResponse, head: boolean): HealthResponse {
  let pair = sized.get(response)
  if (pair === undefined) {
    const headers = Object.freeze({
      ...response.headers,
      'Content-Length': String(Buffer.byteLength(response.body)),
    })
    pair = {
      get: Object.freeze({ status: response.status, headers, body: response.body }),
      head: Object.freeze({ status: response.status, headers, body: '' }),
    }
    sized.set(response, pair)
  }
  return head ? pair.head : pair.get
}

const METHOD_NOT_ALLOWED: HealthResponse = Object.freeze({
  status: 405,
  headers: Object.freeze({ ...HEADERS, Allow: 'GET, HEAD' }),
  body: JSON.stringify({ status: 'fail', output: 'method not allowed' }),
})

/**
 * Creates the liveness, readiness and startup probes of a service, answering in the
 * `application/health+json` format (draft-inadarei-api-health-check).
 *
 * Readiness runs the checks concurrently. Each run gets an `AbortSignal` and is failed (and the
 * signal aborted) when its `timeoutMs` passes; probes that arrive while a check runs share that
 * run (single-flight); results, failures included, are reused for `cacheMs`. A critical failure
 * answers 503 `fail`; a non-critical one 200 `warn`. Details are off unless asked for, and even
 * then a failure is a short reason (`timeout`, `unavailable`, `error`), never a message.
 *
 * @example
 * ```ts
 * import { createHealth, postgresCheck, redisCheck } from '@palisade/health'
 *
 * const health = createHealth({
 *   checks: [postgresCheck(pool), redisCheck(redis, { critical: false, cacheMs: 2000 })],
 *   logger,
 * })
 * const { status, headers, body } = await health.readiness()
 * res.writeHead(status, headers).end(body) // 200 {"status":"pass"}
 * ```
 */
export function createHealth(options: HealthOptions = {}): Health {
  if (!isObject(options)) throw new TypeError('"options" must be an object')
  checkOptionNames(options, HEALTH_OPTIONS, 'createHealth()', { replaces: REPLACES })
  const checksOption: unknown = options.checks ?? []
  if (!Array.isArray(checksOption)) throw new TypeError('"checks" option must be an array')
  const checks = checksOption.map((value, index) => normalizeCheck(value, index))
  const logger = loggerOption<Logger>(options.logger, 'logger', silentLogger)
  const thresholdMs = integerOption(
    options.eventLoopDelayThresholdMs,
    'eventLoopDelayThresholdMs',
    1000,
    1,
  )

  const paths = normalizePaths(options.paths)
  const routes = new Map<string, ProbeKind>(
    (Object.entries(paths) as [ProbeKind, string][]).map(([kind, path]) => [path, kind]),
  )
  const tokenOption: unknown = options.detailsToken
  if (tokenOption !== undefined && (typeof tokenOption !== 'string' || tokenOption.length < 16)) {
    throw new TypeError('"detailsToken" option must be a string of at least 16 characters')
  }
  const tokenDigest = tokenOption === undefined ? undefined : digest(tokenOption)
  const trustLoopback = booleanOption(options.trustLoopback, 'trustLoopback', true)

  const { tracer, meter, duration } = telemetry()
  const states: State[] = checks.map((check) => ({
    check,
    cached: undefined,
    inFlight: undefined,
    up: undefined,
    timer: undefined,
  }))

  const gauge: ObservableGauge = meter.createObservableGauge('palisade.health.check.status', {
    description: 'Last result of each health check: 1 passed, 0 failed',
  })
  const observe: BatchObservableCallback = (result) => {
    for (const state of states) {
      if (state.up === undefined) continue
      result.observe(gauge, state.up ? 1 : 0, { 'palisade.health.check.name': state.check.name })
    }
  }
  meter.addBatchObservableCallback(observe, [gauge])

  const monitor = monitorEventLoopDelay({ resolution: 20 })
  monitor.enable()
  let previousMaxNs = 0
  const window = setInterval(() => {
    previousMaxNs = monitor.max
    monitor.reset()
  }, LOOP_WINDOW_MS)
  window.unref()

  let started = false
  let shuttingDown = false
  const isShuttingDown = (): boolean => shuttingDown

  async function execute(check: Check): Promise<{ result: Result; error: unknown }> {
    const span = tracer.startSpan('palisade.health.check', {
      attributes: {
        'palisade.health.check.name': check.name,
        'palisade.health.check.critical': check.critical,
      },
    })
    const controller = new AbortController()
    const time = new Date().toISOString()
    const begin = performance.now()
    let timer: NodeJS.Timeout | undefined
    let failure: { error: unknown } | undefined
    try {
      // The executor turns a synchronous throw into a rejection: a failed check, not a 500.
      const run = new Promise((resolve) => {
        resolve(check.run(controller.signal))
      })
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          const error = new HealthError(
            'PALISADE_HEALTH_CHECK_TIMEOUT',
            `health check "${check.name}" did not finish within ${check.timeoutMs} ms`,
            { check: check.name },
          )
          // Abort first, so that the hung work is cancelled; it is never awaited after this.
          controller.abort(error)
          reject(error)
        }, check.timeoutMs)
        timer.unref()
      })
      await Promise.race([run, timeout])
    } catch (error) {
      failure = { error }
    } finally {
      clearTimeout(timer)
    }
    const end = performance.now()
    const durationMs = Math.round((end - begin) * 1000) / 1000
    const passed = failure === undefined
    const output = failure === undefined ? undefined : outputOf(failure.error)
    duration.record(durationMs, {
      'palisade.health.check.name': check.name,
      'palisade.health.check.status': passed ? 'pass' : 'fail',
    })
    span.setAttribute('palisade.health.check.status', passed ? 'pass' : 'fail')
    if (output !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: output })
    span.end()
    return { result: { passed, output, time, durationMs, at: end }, error: failure?.error }
  }

  function record(state: State, result: Result, error: unknown): void {
    const { check } = state
    if (!result.passed && state.up !== false) {
      logger.warn(
        {
          code: 'PALISADE_HEALTH_CHECK_DOWN',
          check: check.key,
          critical: check.critical,
          output: result.output,
        },
        `health check "${check.name}" failed: ${messageOf(error)}`,
      )
    } else if (result.passed && state.up === false) {
      logger.info(
        { code: 'PALISADE_HEALTH_CHECK_UP', check: check.key, critical: check.critical },
        `health check "${check.name}" passes again`,
      )
    }
    state.up = result.passed
  }

  /** The result a probe may use without running the check, if there is one. */
  function usable(state: State): Result | undefined {
    const { cached, check } = state
    if (cached === undefined) return undefined
    // A background-refreshed check answers with its latest result, however old.
    if (check.intervalMs > 0) return cached
    if (check.cacheMs > 0 && performance.now() - cached.at < check.cacheMs) return cached
    return undefined
  }

  function runOnce(state: State): Promise<Result> {
    const { check } = state
    state.inFlight ??= execute(check).then(({ result, error }) => {
      state.cached = result
      state.inFlight = undefined
      try {
        record(state, result, error)
      } catch {
        // A throwing logger must not turn a probe into a 500.
      }
      return result
    })
    return state.inFlight
  }

  // Background refreshes: one run at a time, the next scheduled when the last ended, so a slow
  // dependency never piles up runs.
  let refreshing = true
  function refresh(state: State): void {
    void runOnce(state).then(() => {
      if (!refreshing) return
      state.timer = setTimeout(() => {
        state.timer = undefined
        refresh(state)
      }, state.check.intervalMs)
      state.timer.unref()
    })
  }
  function stopRefreshing(): void {
    refreshing = false
    for (const state of states) {
      clearTimeout(state.timer)
      state.timer = undefined
    }
  }
  for (const state of states) if (state.check.intervalMs > 0) refresh(state)

  async function readiness(readinessOptions: ReadinessOptions = {}): Promise<HealthResponse> {
    if (shuttingDown) return SHUTTING_DOWN
    // Cached and background-refreshed results are read synchronously; only the checks that
    // must run are awaited (together).
    const results: (Result | undefined)[] = states.map(usable)
    if (results.includes(undefined)) {
      const ran = await Promise.all(
        states.map((state, index) => {
          const result = results[index]
          return result === undefined ? runOnce(state) : Promise.resolve(result)
        }),
      )
      results.splice(0, ran.length, ...ran)
      // The shutdown may have begun while the checks ran.
      if (isShuttingDown()) return SHUTTING_DOWN
    }
    let status: HealthStatus = 'pass'
    for (const [index, result] of results.entries()) {
      if (result!.passed) continue
      if (states[index]!.check.critical) {
        status = 'fail'
        break
      }
      status = 'warn'
    }
    if (readinessOptions.details !== true || states.length === 0) return ANSWERS[status]
    const reports: Record<string, CheckReport[]> = {}
    for (const [index, result] of results.entries()) {
      const { check } = states[index]!
      const checkStatus: HealthStatus = result!.passed ? 'pass' : check.critical ? 'fail' : 'warn'
      const report: CheckReport = {
        componentType: check.componentType,
        status: checkStatus,
        time: result!.time,
        observedValue: result!.durationMs,
        observedUnit: 'ms',
        ...(result!.output !== undefined && { output: result!.output }),
      }
      ;(reports[check.key] ??= []).push(report)
    }
    return respond(status, { checks: reports })
  }

  function liveness(): HealthResponse {
    const delayMs = Math.max(previousMaxNs, monitor.max) / 1e6
    return delayMs > thresholdMs ? BLOCKED : PASS
  }

  const startup = (): HealthResponse => (started ? PASS : STARTING)

  function trusted(request: HealthRequest): boolean {
    if (trustLoopback && isLoopbackAddress(request.remoteAddress) && !proxied(request)) return true
    if (tokenDigest === undefined) return false
    const header = request.headers['authorization']
    if (typeof header !== 'string') return false
    const match = BEARER.exec(header)
    return match !== null && timingSafeEqual(digest(match[1]!), tokenDigest)
  }

  function handle(request: HealthRequest): Promise<HealthResponse> | undefined {
    const kind = routes.get(routeOf(request.path))
    if (kind === undefined) return undefined
    const method = request.method.toUpperCase()
    if (method !== 'GET' && method !== 'HEAD') {
      return Promise.resolve(withLength(METHOD_NOT_ALLOWED, false))
    }
    const head = method === 'HEAD'
    if (kind === 'liveness') return Promise.resolve(withLength(liveness(), head))
    if (kind === 'startup') return Promise.resolve(withLength(startup(), head))
    return readiness({ details: trusted(request) }).then((response) => withLength(response, head))
  }

  return Object.freeze({
    liveness,
    readiness,
    startup,
    markStarted: (): void => {
      started = true
    },
    beginShutdown: (): void => {
      shuttingDown = true
      stopRefreshing()
    },
    get shuttingDown(): boolean {
      return shuttingDown
    },
    handle,
    paths,
    close: (): void => {
      stopRefreshing()
      for (const { check } of states) {
        try {
          check.close?.()
        } catch {
          // Closing is best effort: one check must not keep the others open.
        }
      }
      clearInterval(window)
      monitor.disable()
      meter.removeBatchObservableCallback(observe, [gauge])
    },
  })
}
