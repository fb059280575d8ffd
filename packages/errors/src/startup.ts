// Startup failures of dependencies (identity provider, secrets backend), told the way the
// configuration report tells a refused configuration: what, where, why in plain words, and the
// fix, one problem per entry, so an operator reads the report instead of a stack of causes.
import { writeSync } from 'node:fs'
import { inspect } from 'node:util'
import { booleanOption, isObject, loggerOption } from './options.js'

/** Exit code of a service whose dependency is unreachable: 69 (EX_UNAVAILABLE, sysexits.h). */
export const EXIT_UNAVAILABLE = 69
/** Exit code of a service whose configuration is refused: 78 (EX_CONFIG, sysexits.h). */
export const EXIT_CONFIG = 78

/** One thing a service could not get at startup. Never holds a secret value or a credential. */
export interface StartupProblem {
  /** What could not be had, e.g. `OpenID discovery document`, `JWKS`, `secret DB_PASSWORD`. */
  readonly what: string
  /** Where it was looked for: a URL, a Vault address and path, a file path; no credentials. */
  readonly source: string
  /** Why, in plain words: `connection refused (ECONNREFUSED)`, `HTTP 404`, ... */
  readonly cause: string
  /** What the operator should do about it. */
  readonly fix: string
}

/** The startup failure an error carries; see {@link withStartupProblems}. */
export interface StartupFailure {
  /** What failed, for the first line of the report, e.g. `the identity provider could not be reached`. */
  readonly summary: string
  readonly problems: readonly StartupProblem[]
  /** 69 (EX_UNAVAILABLE) when a dependency is unreachable, 78 (EX_CONFIG) when only settings are at fault. */
  readonly exitCode: number
}

// A registered symbol, so that an error from another installed copy of a package is read too.
const startup = Symbol.for('palisade.startup')

/**
 * Attaches startup problems to an error, for {@link reportStartupFailure} to report (also when
 * the error ends up as the `cause` of another). Returns the same error.
 *
 * @example
 * ```ts
 * throw withStartupProblems(new Error('JWKS unreachable'), 'the identity provider could not be reached', [
 *   { what: 'JWKS', source: url, cause: 'connection refused (ECONNREFUSED)', fix: 'start the identity provider' },
 * ])
 * ```
 */
export function withStartupProblems<E extends object>(
  error: E,
  summary: string,
  problems: readonly StartupProblem[],
  exitCode: number = EXIT_UNAVAILABLE,
): E {
  const failure: StartupFailure = Object.freeze({
    summary,
    problems: Object.freeze(problems.map((problem) => Object.freeze({ ...problem }))),
    exitCode,
  })
  Object.defineProperty(error, startup, { value: failure, configurable: true })
  return error
}

/**
 * The startup failure attached to an error or to any error in its `cause` chain, if any.
 *
 * @example
 * ```ts
 * startupFailureOf(error)?.problems.map((p) => p.source)
 * ```
 */
export function startupFailureOf(error: unknown): StartupFailure | undefined {
  const seen = new Set<unknown>()
  for (let current = error; isObject(current) || current instanceof Error;) {
    if (seen.has(current)) return undefined
    seen.add(current)
    const failure = (current as Record<symbol, unknown>)[startup]
    if (failure !== undefined) return failure as StartupFailure
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** The report of a startup failure and the exit code it calls for. */
export interface StartupReport {
  /** The report, without a trailing newline; no stack. */
  readonly text: string
  /** 69 for an unreachable dependency, 78 for a refused configuration, 1 otherwise. */
  readonly exitCode: number
  /** The problems reported, empty for an error that carries none. */
  readonly problems: readonly StartupProblem[]
}

/**
 * Formats the report {@link reportStartupFailure} prints, without printing it.
 *
 * @example
 * ```ts
 * const { text, exitCode } = formatStartupReport(error)
 * ```
 */
export function formatStartupReport(error: unknown): StartupReport {
  const failure = startupFailureOf(error)
  if (failure !== undefined) {
    const count =
      failure.problems.length === 1 ? '1 problem' : `${failure.problems.length} problems`
    const lines = [`Startup refused: ${failure.summary} (${count}, exit ${failure.exitCode}).`]
    for (const problem of failure.problems) {
      lines.push(`  ${problem.what} at ${problem.source}: ${problem.cause}.`)
      lines.push(`      fix: ${problem.fix}`)
    }
    return { text: lines.join('\n'), exitCode: failure.exitCode, problems: failure.problems }
  }
  const code = codeOf(error)
  const message = error instanceof Error ? error.message : String(error)
  // The configuration report is already in this form; it only needs its exit code.
  if (code === 'PALISADE_CONFIG_INVALID')
    return { text: message, exitCode: EXIT_CONFIG, problems: [] }
  const tag = code === undefined ? '' : ` [${code}]`
  return { text: `Startup failed: ${message}${tag}`, exitCode: 1, problems: [] }
}

/** A pino-compatible logger: pino, a child of it, or anything with these four methods. */
export interface StartupLogger {
  debug: (object: Record<string, unknown>, message: string) => void
  info: (object: Record<string, unknown>, message: string) => void
  warn: (object: Record<string, unknown>, message: string) => void
  error: (object: Record<string, unknown>, message: string) => void
}

/** Options of {@link reportStartupFailure}. */
export interface ReportStartupFailureOptions {
  /** Also receives the report, at `error` level, with `code`, `exitCode` and `problems`. */
  readonly logger?: StartupLogger | undefined
  /**
   * Exit the process with the report's exit code once it is printed.
   * @default true
   */
  readonly exit?: boolean | undefined
  /**
   * Print the error with its stack and causes after the report.
   * @default true when the environment variable PALISADE_DEBUG is `1`
   */
  readonly stack?: boolean | undefined
}

/**
 * Prints one short report of why a service could not start to stderr (what, where, the cause
 * in plain words and the fix; no stack unless `PALISADE_DEBUG=1` or `stack: true`), sends it to
 * `logger` when one is given, and exits: 69 (EX_UNAVAILABLE) when a dependency such as the
 * identity provider or the secrets backend is unreachable, 78 (EX_CONFIG) for a refused
 * configuration, 1 for anything else. Returns the exit code when `exit: false`.
 *
 * @example
 * ```ts
 * import { reportStartupFailure } from '@palisade/errors'
 *
 * try {
 *   await auth.ready()
 * } catch (error) {
 *   reportStartupFailure(error, { logger })
 * }
 * ```
 */
export function reportStartupFailure(
  error: unknown,
  options?: ReportStartupFailureOptions & { readonly exit?: true | undefined },
): never
export function reportStartupFailure(
  error: unknown,
  options: ReportStartupFailureOptions & { readonly exit: false },
): number
export function reportStartupFailure(
  error: unknown,
  options: ReportStartupFailureOptions = {},
): number {
  if (!isObject(options)) throw new TypeError('reportStartupFailure() options must be an object')
  const logger = loggerOption<StartupLogger | undefined>(options.logger, 'logger', undefined)
  const exit = booleanOption(options.exit, 'exit', true)
  const stack = booleanOption(options.stack, 'stack', process.env['PALISADE_DEBUG'] === '1')
  const report = formatStartupReport(error)
  const debug = stack ? `\n${inspect(error, { depth: 8 })}` : ''
  writeSync(2, `${report.text}${debug}\n`)
  logger?.error(
    {
      code: codeOf(error) ?? 'PALISADE_STARTUP_FAILED',
      exitCode: report.exitCode,
      problems: report.problems,
    },
    report.text,
  )
  if (exit) process.exit(report.exitCode)
  return report.exitCode
}

/** How a network request failed, by kind, for choosing a fix. */
export type NetworkFailureKind =
  'refused' | 'timeout' | 'dns' | 'tls' | 'certificate' | 'reset' | 'redirect' | 'other'

const TLS_CODES = /^(ERR_SSL_|ERR_TLS_|EPROTO$)/
const CERTIFICATE_CODES =
  /CERT|^UNABLE_TO_(GET_ISSUER|VERIFY|DECRYPT)|^ERR_TLS_CERT_ALTNAME_INVALID$|SELF_SIGNED/

/**
 * Tells in plain words why a `fetch()` (or any socket) failed, from the error codes in its
 * `cause` chain: `connection refused (ECONNREFUSED)`, `host not found (ENOTFOUND)`, `TLS
 * error: ...`. Never includes a URL's credentials: it reads codes, not the request.
 *
 * @example
 * ```ts
 * describeNetworkFailure(error) // { kind: 'refused', reason: 'connection refused (ECONNREFUSED)' }
 * ```
 */
export function describeNetworkFailure(error: unknown): {
  kind: NetworkFailureKind
  reason: string
} {
  let code: string | undefined
  let message = ''
  const seen = new Set<unknown>()
  for (let current = error; current instanceof Error && !seen.has(current);) {
    seen.add(current)
    const own = codeOf(current)
    // The innermost code is the most precise (undici wraps the socket's error).
    if (own !== undefined) code = own
    if (current.message !== '' && current.message !== 'fetch failed') message = current.message
    const errors = (current as { errors?: unknown }).errors
    current =
      (current as { cause?: unknown }).cause ?? (Array.isArray(errors) ? errors[0] : undefined)
  }
  const tagged = (kind: NetworkFailureKind, words: string) => ({
    kind,
    reason: code === undefined ? words : `${words} (${code})`,
  })
  if (code === 'ECONNREFUSED') return tagged('refused', 'connection refused')
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return tagged('dns', 'host not found')
  if (
    code === 'ETIMEDOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT'
  )
    return tagged('timeout', 'no answer in time')
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return tagged('reset', 'the connection was closed before an answer')
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return tagged('refused', 'host unreachable')
  if (code !== undefined && CERTIFICATE_CODES.test(code)) {
    return tagged('certificate', `TLS error: the server's certificate is not trusted (${message})`)
  }
  if ((code !== undefined && TLS_CODES.test(code)) || /ssl|tls/i.test(message)) {
    // OpenSSL's messages carry a file and line; its reason is the part worth reading.
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || reason === 'wrong version number') {
      return tagged('tls', 'TLS error: the server does not speak TLS, is it plain http?')
    }
    return tagged('tls', `TLS error: ${reason === '' ? 'the handshake failed' : reason}`)
  }
  if (message === 'bad port')
    return tagged('refused', 'fetch refuses this port, reserved for another protocol')
  if (/redirect/i.test(message))
    return tagged('redirect', 'answered with a redirect, which is not followed')
  return tagged('other', message === '' ? 'the request failed' : message)
}
