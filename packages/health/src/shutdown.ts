import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { HealthError, messageOf } from './errors.js'
import type { Health } from './health.js'
import {
  checkOptionNames,
  functionOption,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
  stringOption,
} from '@palisade/errors'
import type { Logger } from './types.js'

/** A cleanup step of {@link gracefulShutdown}, e.g. closing a database pool. */
export interface ShutdownHook {
  /** Named in logs. */
  name: string
  /** The cleanup; a throw or rejection makes the exit code 1. */
  run: () => Promise<void> | void
  /** After this long the hook is given up on and the exit code is 1. @default 5000 */
  timeoutMs?: number | undefined
}

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Its readiness starts failing on the first signal (`beginShutdown()`). */
  health?: Health | undefined
  /**
   * How long the server keeps serving, with readiness failing, so that load balancers stop
   * routing to it before it stops accepting connections.
   * @default 5000
   */
  drainMs?: number | undefined
  /**
   * The bound on the whole shutdown, from the signal: past it every connection is closed and
   * the process exits 1. Must be larger than `drainMs`.
   * @default 20000
   */
  timeoutMs?: number | undefined
  /** Cleanup run after the server closed, in reverse order (last registered first). @default [] */
  hooks?: readonly ShutdownHook[] | undefined
  /** The signals that start the shutdown; a second one forces exit 1. @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[] | undefined
  /** Told each step of the shutdown. @default silent */
  logger?: Logger | undefined
  /** Ends the process with a code. @default process.exit */
  exit?: ((code: number) => void) | undefined
  /**
   * Closes the server once the drain is over and resolves when its connections have ended, for
   * frameworks that own the closing of their server: the Fastify adapter's `gracefulShutdown`
   * passes `() => app.close()`, so that Fastify's `preClose` and `onClose` hooks run in its
   * order.
   * @default () => new Promise((resolve) => server.close(() => resolve()))
   */
  close?: (() => PromiseLike<unknown>) | undefined
}

/** What {@link gracefulShutdown} returns. */
export interface GracefulShutdown {
  /**
   * Starts the shutdown as a signal would (or joins the one under way) and resolves to the exit
   * code once `exit` was called.
   */
  shutdown: (reason?: string) => Promise<number>
  /** Removes the signal handlers and the request listener; the shutdown is no longer armed. */
  dispose: () => void
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function within(hook: Required<ShutdownHook>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new HealthError(
          'PALISADE_HEALTH_HOOK_TIMEOUT',
          `shutdown hook "${hook.name}" did not finish within ${hook.timeoutMs} ms`,
          { check: hook.name },
        ),
      )
    }, hook.timeoutMs)
  })
  try {
    // The executor turns a synchronous throw into a rejection.
    const run = new Promise((resolve) => {
      resolve(hook.run())
    })
    await Promise.race([run, timeout])
  } finally {
    clearTimeout(timer)
  }
}

const SHUTDOWN_OPTIONS = Object.keys({
  health: true,
  drainMs: true,
  timeoutMs: true,
  hooks: true,
  signals: true,
  logger: true,
  exit: true,
  close: true,
} satisfies Record<keyof GracefulShutdownOptions, true>)
const HOOK_OPTIONS = Object.keys({
  name: true,
  run: true,
  timeoutMs: true,
} satisfies Record<keyof ShutdownHook, true>)
const REPLACES = ['@godaddy/terminus', 'lightship'] as const

function normalizeHook(value: unknown, index: number): Required<ShutdownHook> {
  const at = `hooks[${index}]`
  if (!isObject(value)) throw new TypeError(`"${at}" option must be a { name, run } object`)
  checkOptionNames(value, HOOK_OPTIONS, 'gracefulShutdown()', { path: at })
  if (value['name'] === undefined) {
    throw new TypeError(`"${at}.name" option must be a non-empty string`)
  }
  functionOption(value['run'], `${at}.run`)
  return {
    name: stringOption(value['name'], `${at}.name`, ''),
    run: value['run'] as ShutdownHook['run'],
    timeoutMs: integerOption(value['timeoutMs'], `${at}.timeoutMs`, 5000, 1),
  }
}

/**
 * Makes a Node `http.Server` shut down without dropping requests, also behind a router that
 * stops opening connections to it part-way through the drain while the connections it holds
 * keep carrying requests. On the first signal: readiness fails at once
 * (`health.beginShutdown()`), and for `drainMs` the server keeps serving, new connections
 * included, while every response carries `Connection: close`: each keep-alive connection ends
 * right after its next response, when its client is reading, never while the client may be
 * writing a request on it. Then the server stops accepting connections, closes those whose
 * client sent nothing during the whole drain, lets a connection finish the request it has
 * started, waits for in-flight requests, runs the hooks in reverse order and exits 0 (1 when a
 * hook failed or timed out). The whole sequence is bounded by `timeoutMs`: past it, every
 * connection is closed and the process exits 1. A second signal exits 1 at once.
 *
 * Call it when the server is created, before requests arrive: it adds a `request` listener.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createHealth, gracefulShutdown, postgresCheck } from '@palisade/health'
 *
 * const health = createHealth({ checks: [postgresCheck(pool)] })
 * const server = createServer(app).listen(3000)
 * gracefulShutdown(server, {
 *   health,
 *   drainMs: 5000,
 *   hooks: [{ name: 'postgresql', run: () => pool.end() }],
 * })
 * ```
 */
export function gracefulShutdown(
  server: Server,
  options: GracefulShutdownOptions = {},
): GracefulShutdown {
  if (
    !isObject(server) ||
    typeof server['close'] !== 'function' ||
    typeof server['closeIdleConnections'] !== 'function' ||
    typeof server['closeAllConnections'] !== 'function' ||
    typeof server['prependListener'] !== 'function'
  ) {
    throw new TypeError('"server" argument must be a Node http.Server or https.Server')
  }
  if (!isObject(options)) throw new TypeError('"options" must be an object')
  checkOptionNames(options, SHUTDOWN_OPTIONS, 'gracefulShutdown()', { replaces: REPLACES })
  const healthOption: unknown = options.health
  if (
    healthOption !== undefined &&
    (!isObject(healthOption) || typeof healthOption['beginShutdown'] !== 'function')
  ) {
    throw new TypeError('"health" option must be what createHealth() returns')
  }
  const health = healthOption as Health | undefined
  const drainMs = integerOption(options.drainMs, 'drainMs', 5000, 0)
  const timeoutMs = integerOption(options.timeoutMs, 'timeoutMs', 20_000, 1)
  if (drainMs >= timeoutMs) {
    throw new TypeError('"drainMs" option must be less than the "timeoutMs" option')
  }
  const hooksOption: unknown = options.hooks ?? []
  if (!Array.isArray(hooksOption)) throw new TypeError('"hooks" option must be an array')
  const hooks = hooksOption.map((hook, index) => normalizeHook(hook, index))
  const signalsOption: unknown = options.signals ?? ['SIGTERM', 'SIGINT']
  if (
    !Array.isArray(signalsOption) ||
    signalsOption.some((signal) => typeof signal !== 'string' || !signal.startsWith('SIG'))
  ) {
    throw new TypeError('"signals" option must be an array of signal names such as "SIGTERM"')
  }
  const signals = [...new Set(signalsOption as NodeJS.Signals[])]
  const logger = loggerOption<Logger>(options.logger, 'logger', silentLogger)
  const exitOption: unknown = options.exit
  if (exitOption !== undefined) functionOption(exitOption, 'exit')
  const exit =
    (exitOption as ((code: number) => void) | undefined) ??
    ((code) => {
      process.exit(code)
    })

  const closeOption: unknown = options.close
  if (closeOption !== undefined) functionOption(closeOption, 'close')
  const close =
    (closeOption as (() => PromiseLike<unknown>) | undefined) ??
    (() =>
      // The callback also runs (with ERR_SERVER_NOT_RUNNING) when the server was not listening.
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve()
        })
      }))

  // Responses whose headers are not sent yet: when the drain starts, they get
  // `Connection: close` so that their keep-alive connection ends with them.
  const pending = new Set<ServerResponse>()
  let draining = false
  const onRequest = (_request: IncomingMessage, response: ServerResponse): void => {
    if (draining) {
      response.setHeader('Connection', 'close')
      return
    }
    pending.add(response)
    response.once('close', () => pending.delete(response))
  }
  server.prependListener('request', onRequest)

  function startDrain(): void {
    draining = true
    for (const response of pending) {
      if (!response.headersSent) {
        response.setHeader('Connection', 'close')
        continue
      }
      // Already answering with keep-alive (a stream): its connection ends once it is written.
      const { socket } = response
      response.once('finish', () => socket?.end())
    }
    pending.clear()
  }

  let running: Promise<void> | undefined
  let finished = false
  // A function, so that checks after an await are not narrowed away.
  const isFinished = (): boolean => finished
  let deadline: NodeJS.Timeout | undefined
  let resolveDone: (code: number) => void = () => undefined
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve
  })

  function dispose(): void {
    for (const signal of signals) process.off(signal, onSignal)
    server.off('request', onRequest)
  }

  function finish(code: number): void {
    if (isFinished()) return
    finished = true
    clearTimeout(deadline)
    dispose()
    logger.info({ code: 'PALISADE_HEALTH_SHUTDOWN_EXIT', exitCode: code }, `shutdown: exit ${code}`)
    resolveDone(code)
    exit(code)
  }

  async function run(reason: string): Promise<void> {
    deadline = setTimeout(() => {
      logger.error(
        { code: 'PALISADE_HEALTH_SHUTDOWN_TIMEOUT', timeoutMs },
        `shutdown: not done within timeoutMs=${timeoutMs}; closing every connection`,
      )
      server.closeAllConnections()
      finish(1)
    }, timeoutMs)
    health?.beginShutdown()
    startDrain()
    logger.info(
      { code: 'PALISADE_HEALTH_SHUTDOWN', reason, drainMs },
      `${reason}: readiness fails now; serving for drainMs=${drainMs} more, closing each connection after its next response`,
    )
    await delay(drainMs)
    if (isFinished()) return

    // Node's server.close() (and Fastify's app.close()) now closes the idle connections: those
    // whose client sent nothing during the whole drain, since every response of the drain closed
    // its connection. A connection that has not sent a complete request yet is not idle to Node:
    // it is left to finish it, within the server's headersTimeout and this function's timeoutMs.
    logger.info({ code: 'PALISADE_HEALTH_SHUTDOWN_CLOSING' }, 'shutdown: waiting for requests')
    await close()
    if (isFinished()) return

    let code = 0
    for (const hook of [...hooks].reverse()) {
      try {
        await within(hook)
        if (isFinished()) return
        logger.debug(
          { code: 'PALISADE_HEALTH_SHUTDOWN_HOOK', hook: hook.name },
          `shutdown: ${hook.name} done`,
        )
      } catch (error) {
        if (isFinished()) return
        code = 1
        logger.error(
          { code: 'PALISADE_HEALTH_SHUTDOWN_HOOK_FAILED', hook: hook.name },
          `shutdown hook "${hook.name}" failed: ${messageOf(error)}`,
        )
      }
    }
    finish(code)
  }

  function shutdown(reason = 'shutdown requested'): Promise<number> {
    running ??= run(reason).catch((error: unknown) => {
      logger.error(
        { code: 'PALISADE_HEALTH_SHUTDOWN_FAILED' },
        `shutdown failed: ${messageOf(error)}`,
      )
      finish(1)
    })
    return done
  }

  function onSignal(signal: NodeJS.Signals): void {
    if (running !== undefined) {
      logger.error(
        { code: 'PALISADE_HEALTH_SHUTDOWN_FORCED', signal },
        `received ${signal} again: exiting now`,
      )
      server.closeAllConnections()
      finish(1)
      return
    }
    void shutdown(`received ${signal}`)
  }
  for (const signal of signals) process.on(signal, onSignal)

  return Object.freeze({ shutdown, dispose })
}
