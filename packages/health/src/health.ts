import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { SpanStatusCode } from '@opentelemetry/api'
import type { BatchObservableCallback, ObservableGauge } from '@opentelemetry/api'
import { HealthError, messageOf, outputOf } from './errors.js'
import {
  booleanOption,
  functionOption,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
  stringOption,
} from './options.js'
import { telemetry } from './telemetry.js'
import type { CheckReport, HealthCheck, HealthResponse, HealthStatus, Logger } from './types.js'

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
  /** Stops the event-loop monitor and the status gauge. */
  close: () => void
}

interface Check {
  readonly name: string
  readonly key: string
  readonly run: HealthCheck['run']
  readonly critical: boolean
  readonly timeoutMs: number
  readonly cacheMs: number
  readonly componentType: string
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
  return Object.freeze({
    name,
    key: `${name}:${measurement}`,
    run: value['run'] as HealthCheck['run'],
    critical: booleanOption(value['critical'], `${at}.critical`, true),
    timeoutMs: integerOption(value['timeoutMs'], `${at}.timeoutMs`, 1000, 1),
    cacheMs: integerOption(value['cacheMs'], `${at}.cacheMs`, 0, 0),
    componentType: stringOption(value['componentType'], `${at}.componentType`, 'component'),
  })
}

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

  const { tracer, meter, duration } = telemetry()
  const states: State[] = checks.map((check) => ({
    check,
    cached: undefined,
    inFlight: undefined,
    up: undefined,
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

  function evaluate(state: State): Promise<Result> {
    const { cached, check } = state
    if (
      cached !== undefined &&
      check.cacheMs > 0 &&
      performance.now() - cached.at < check.cacheMs
    ) {
      return Promise.resolve(cached)
    }
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

  async function readiness(readinessOptions: ReadinessOptions = {}): Promise<HealthResponse> {
    if (shuttingDown) return SHUTTING_DOWN
    const results = await Promise.all(states.map(evaluate))
    // The shutdown may have begun while the checks ran.
    if (isShuttingDown()) return SHUTTING_DOWN
    let status: HealthStatus = 'pass'
    const reports: Record<string, CheckReport[]> = {}
    for (const [index, result] of results.entries()) {
      const { check } = states[index]!
      let checkStatus: HealthStatus = 'pass'
      if (!result.passed) {
        checkStatus = check.critical ? 'fail' : 'warn'
        if (check.critical) status = 'fail'
        else if (status === 'pass') status = 'warn'
      }
      const report: CheckReport = {
        componentType: check.componentType,
        status: checkStatus,
        time: result.time,
        observedValue: result.durationMs,
        observedUnit: 'ms',
        ...(result.output !== undefined && { output: result.output }),
      }
      ;(reports[check.key] ??= []).push(report)
    }
    if (readinessOptions.details !== true || states.length === 0) {
      return status === 'pass' ? PASS : respond(status)
    }
    return respond(status, { checks: reports })
  }

  function liveness(): HealthResponse {
    const delayMs = Math.max(previousMaxNs, monitor.max) / 1e6
    return delayMs > thresholdMs ? BLOCKED : PASS
  }

  return Object.freeze({
    liveness,
    readiness,
    startup: (): HealthResponse => (started ? PASS : STARTING),
    markStarted: (): void => {
      started = true
    },
    beginShutdown: (): void => {
      shuttingDown = true
    },
    get shuttingDown(): boolean {
      return shuttingDown
    },
    close: (): void => {
      clearInterval(window)
      monitor.disable()
      meter.removeBatchObservableCallback(observe, [gauge])
    },
  })
}
