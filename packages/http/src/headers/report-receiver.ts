import { metrics } from '@opentelemetry/api'
import {
  checkOptionNames,
  functionOption,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
} from '@palisade/errors'
import { ipKey } from '../rate-limit/keys.js'
import { MemoryStore } from '../rate-limit/memory-store.js'
import type { ConsumeOptions } from '../rate-limit/store.js'
import { CspReportError } from './errors.js'

/** A pino-compatible logger. */
export interface ReportLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/**
 * One CSP violation, normalised from either report format. URLs lose their query string and
 * fragment, which may carry tokens.
 */
export interface CspViolation {
  /** `report-uri` (`application/csp-report`) or `report-to` (`application/reports+json`). */
  readonly format: 'report-uri' | 'report-to'
  /** The page whose policy was violated. */
  readonly documentUrl: string
  /** What was blocked: a URL, or `inline`, `eval`, `wasm-eval`... */
  readonly blockedUrl: string
  /** The directive that blocked it, for example `script-src-elem` or `img-src`. */
  readonly effectiveDirective: string
  /** `enforce`, or `report` for a report-only policy. */
  readonly disposition: 'enforce' | 'report'
  readonly originalPolicy?: string
  readonly sourceFile?: string
  readonly lineNumber?: number
  readonly columnNumber?: number
  readonly statusCode?: number
  /** The first characters of the blocked inline code, when the policy has `'report-sample'`. */
  readonly sample?: string
  readonly referrer?: string
  /** From `application/reports+json` only. */
  readonly userAgent?: string
}

/** Options of {@link createCspReportReceiver}. */
export interface CspReportReceiverOptions {
  /**
   * Called with each violation. Errors it throws or rejects with are logged, never answered.
   * @default undefined (each violation is logged at `warn` level instead)
   */
  readonly onReport?: ((violation: CspViolation) => void | Promise<void>) | undefined
  /**
   * pino-compatible logger.
   * @default silent
   */
  readonly logger?: ReportLogger | undefined
  /**
   * Largest accepted body in bytes; larger bodies get 413 without being read further.
   * @default 65536
   */
  readonly maxBytes?: number | undefined
  /**
   * Most log lines for the violations of one request (logged violations and callback failures
   * together); the rest are counted in one summary line. One body may hold hundreds of reports.
   * @default 10
   */
  readonly maxLoggedReports?: number | undefined
  /**
   * Requests accepted per client (its IP address, IPv6 grouped by /56) and window, in memory;
   * over it the answer is 429 with `Retry-After`, before the body is read. `false` switches it
   * off, e.g. when the application's own rate limiter covers the route.
   * @default { limit: 100, windowMs: 60000 }
   */
  readonly rateLimit?:
    | { readonly limit?: number | undefined; readonly windowMs?: number | undefined }
    | false
    | undefined
}

/** What an adapter hands to the receiver. */
export interface CspReportRequest {
  readonly method: string
  readonly contentType: string | undefined
  readonly contentLength?: string | undefined
  /**
   * The client address for the rate limit, as the framework resolved it (trust-proxy aware).
   * When absent, the peer address of the body's socket is used when the body is a Node request.
   */
  readonly ip?: string | undefined
  /** The raw request body. */
  readonly body: AsyncIterable<Uint8Array> | Uint8Array | string | undefined
}

/** What an adapter answers with: 204 when accepted, else the refusal's status. */
export interface CspReportResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** A JSON body for refusals, `undefined` for 204. */
  readonly body: string | undefined
}

/** A framework-agnostic CSP report endpoint. */
export interface CspReportReceiver {
  /** The configured size limit, in bytes. */
  readonly maxBytes: number
  /** Reads, parses and delivers the reports of one request; never rejects. */
  handle(request: CspReportRequest): Promise<CspReportResponse>
}

const TYPE_URI = 'application/csp-report'
const TYPE_TO = 'application/reports+json'

// Metric attributes take only these values (and `other`): the directive comes from the client,
// and every distinct value would be a new time series.
const DIRECTIVES = new Set([
  'base-uri',
  'block-all-mixed-content',
  'child-src',
  'connect-src',
  'default-src',
  'fenced-frame-src',
  'font-src',
  'form-action',
  'frame-ancestors',
  'frame-src',
  'img-src',
  'manifest-src',
  'media-src',
  'navigate-to',
  'object-src',
  'plugin-types',
  'prefetch-src',
  'report-to',
  'report-uri',
  'require-trusted-types-for',
  'sandbox',
  'script-src',
  'script-src-attr',
  'script-src-elem',
  'style-src',
  'style-src-attr',
  'style-src-elem',
  'trusted-types',
  'upgrade-insecure-requests',
  'webrtc',
  'worker-src',
])

function stripUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const cut = value.search(/[?#]/)
  return cut === -1 ? value : value.slice(0, cut)
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function integer(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined
}

function compact(violation: Record<string, unknown>): CspViolation {
  return Object.fromEntries(
    Object.entries(violation).filter(([, value]) => value !== undefined),
  ) as unknown as CspViolation
}

function malformed(message: string, cause?: unknown): CspReportError {
  return new CspReportError('PALISADE_HTTP_REPORT_MALFORMED', message, { cause })
}

function fromReportUri(body: unknown): CspViolation[] {
  const report = isObject(body) ? body['csp-report'] : undefined
  if (!isObject(report)) throw malformed('CSP report body has no "csp-report" object')
  const directive = text(report['effective-directive']) ?? text(report['violated-directive'])
  const documentUrl = stripUrl(report['document-uri'])
  if (directive === undefined || documentUrl === undefined) {
    throw malformed('CSP report lacks "document-uri" or "effective-directive"')
  }
  return [
    compact({
      format: 'report-uri',
      documentUrl,
      blockedUrl: stripUrl(report['blocked-uri']) ?? '',
      effectiveDirective: directive.split(' ')[0],
      disposition: report['disposition'] === 'report' ? 'report' : 'enforce',
      originalPolicy: text(report['original-policy']),
      sourceFile: stripUrl(report['source-file']),
      lineNumber: integer(report['line-number']),
      columnNumber: integer(report['column-number']),
      statusCode: integer(report['status-code']),
      sample: text(report['script-sample']),
      referrer: stripUrl(report['referrer']),
    }),
  ]
}

function fromReportTo(body: unknown): CspViolation[] {
  if (!Array.isArray(body)) throw malformed('Reporting API body is not an array of reports')
  const result: CspViolation[] = []
  for (const entry of body as unknown[]) {
    if (!isObject(entry) || typeof entry['type'] !== 'string') {
      throw malformed('Reporting API body holds an entry without a "type"')
    }
    // Other report types (deprecation, intervention...) can share the endpoint; skip them.
    if (entry['type'] !== 'csp-violation') continue
    const report = entry['body']
    if (!isObject(report)) throw malformed('csp-violation report has no "body" object')
    const directive = text(report['effectiveDirective'])
    const documentUrl = stripUrl(report['documentURL']) ?? stripUrl(entry['url'])
    if (directive === undefined || documentUrl === undefined) {
      throw malformed('csp-violation report lacks "documentURL" or "effectiveDirective"')
    }
    result.push(
      compact({
        format: 'report-to',
        documentUrl,
        blockedUrl: stripUrl(report['blockedURL']) ?? '',
        effectiveDirective: directive,
        disposition: report['disposition'] === 'report' ? 'report' : 'enforce',
        originalPolicy: text(report['originalPolicy']),
        sourceFile: stripUrl(report['sourceFile']),
        lineNumber: integer(report['lineNumber']),
        columnNumber: integer(report['columnNumber']),
        statusCode: integer(report['statusCode']),
        sample: text(report['sample']),
        referrer: stripUrl(report['referrer']),
        userAgent: text(entry['user_agent']),
      }),
    )
  }
  return result
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

/**
 * Parses a CSP report body in either format (`application/csp-report` from `report-uri`,
 * `application/reports+json` from the Reporting API) into normalised violations. Throws a
 * {@link CspReportError} (415 for another media type, 400 for a malformed body).
 *
 * @example
 * ```ts
 * import { parseCspReports } from '@palisade/http'
 *
 * const [violation] = parseCspReports(
 *   'application/csp-report',
 *   '{"csp-report":{"document-uri":"https://app.example.com/","blocked-uri":"inline","effective-directive":"script-src-elem"}}',
 * )
 * ```
 */
export function parseCspReports(contentType: string | undefined, body: string): CspViolation[] {
  const type = mediaType(contentType)
  if (type !== TYPE_URI && type !== TYPE_TO) {
    throw new CspReportError(
      'PALISADE_HTTP_REPORT_UNSUPPORTED_TYPE',
      `Content-Type header must be ${TYPE_URI} or ${TYPE_TO}`,
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (error) {
    throw malformed('CSP report body is not valid JSON', error)
  }
  return type === TYPE_URI ? fromReportUri(parsed) : fromReportTo(parsed)
}

async function readBody(body: CspReportRequest['body'], maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new CspReportError(
      'PALISADE_HTTP_REPORT_TOO_LARGE',
      `CSP report body exceeds the ${maxBytes}-byte limit`,
    )
  if (body === undefined) return ''
  if (typeof body === 'string') {
    if (Buffer.byteLength(body) > maxBytes) throw tooLarge()
    return body
  }
  if (body instanceof Uint8Array) {
    if (body.byteLength > maxBytes) throw tooLarge()
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.byteLength
    if (size > maxBytes) throw tooLarge()
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Turns a refusal into the response every adapter sends, so the three frameworks answer alike.
 *
 * @example
 * ```ts
 * import { CspReportError, cspReportErrorResponse } from '@palisade/http'
 *
 * cspReportErrorResponse(new CspReportError('PALISADE_HTTP_REPORT_TOO_LARGE', 'too big')).status // 413
 * ```
 */
export function cspReportErrorResponse(error: CspReportError): CspReportResponse {
  return {
    status: error.status,
    headers: { ...error.headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ error: error.message }),
  }
}

const ACCEPTED: CspReportResponse = Object.freeze({ status: 204, headers: {}, body: undefined })

const RECEIVER = 'createCspReportReceiver()'
const RECEIVER_OPTIONS = Object.keys({
  onReport: true,
  logger: true,
  maxBytes: true,
  maxLoggedReports: true,
  rateLimit: true,
} satisfies Record<keyof CspReportReceiverOptions, true>)

function rateLimitOption(value: unknown): { limit: number; windowMs: number } | false {
  if (value === false) return false
  if (value !== undefined && !isObject(value)) {
    throw new TypeError('"rateLimit" option must be false or an object')
  }
  const given = value ?? {}
  checkOptionNames(given, ['limit', 'windowMs'], RECEIVER, {
    path: 'rateLimit',
    replaces: ['express-rate-limit'],
  })
  return {
    limit: integerOption(given['limit'], 'rateLimit.limit', 100, 1),
    windowMs: integerOption(given['windowMs'], 'rateLimit.windowMs', 60_000, 1),
  }
}

/** The peer address of a Node request stream, for adapters that give no `ip`. */
function peerAddress(body: CspReportRequest['body']): string | undefined {
  if (typeof body !== 'object' || body instanceof Uint8Array) return undefined
  const socket = (body as { socket?: { remoteAddress?: unknown } }).socket
  return typeof socket?.remoteAddress === 'string' ? socket.remoteAddress : undefined
}

function tooManyReports(retryAfterMs: number): CspReportResponse {
  return {
    status: 429,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
    },
    body: JSON.stringify({ error: 'too many reports' }),
  }
}

/**
 * A framework-agnostic receiver for CSP violation reports: accepts `POST` bodies of type
 * `application/csp-report` and `application/reports+json` up to `maxBytes`, passes each
 * violation to `onReport` (or logs it at `warn` level), counts it in the
 * `palisade.http.csp.reports` metric and answers 204. One request writes at most
 * `maxLoggedReports` log lines plus one summary, the metric's directive attribute is a known CSP
 * directive name or `other`, and each client gets `rateLimit` requests per window (100 per
 * minute by default; 429 with `Retry-After` beyond, before the body is read). Each adapter
 * mounts it: `cspReports()` in `@palisade/express`, `@palisade/fastify` and `@palisade/koa`.
 *
 * @example
 * ```ts
 * import { createCspReportReceiver } from '@palisade/http'
 *
 * const receiver = createCspReportReceiver({
 *   onReport: (violation) => console.warn('CSP', violation.effectiveDirective, violation.blockedUrl),
 * })
 * const response = await receiver.handle({ method: 'POST', contentType: 'application/csp-report', body: rawBody })
 * ```
 */
export function createCspReportReceiver(options: CspReportReceiverOptions = {}): CspReportReceiver {
  if (!isObject(options)) throw new TypeError('CSP report receiver options must be an object')
  checkOptionNames(options, RECEIVER_OPTIONS, RECEIVER)
  const maxBytes = integerOption(options.maxBytes, 'maxBytes', 65_536, 1)
  const maxLogged = integerOption(options.maxLoggedReports, 'maxLoggedReports', 10, 0)
  const logger = loggerOption<ReportLogger>(options.logger, 'logger', silentLogger)
  const onReport: CspReportReceiverOptions['onReport'] = (options as CspReportReceiverOptions)
    .onReport
  if (onReport !== undefined) functionOption(onReport, 'onReport')
  const rateLimit = rateLimitOption(options.rateLimit)
  const limiter =
    rateLimit === false
      ? undefined
      : {
          // A report endpoint needs far fewer clients than an API: at most about 2.6 MB.
          store: new MemoryStore({ maxKeys: 10_000, logger }),
          options: { cost: 1, ...rateLimit, algorithm: 'fixed-window' } satisfies ConsumeOptions,
        }
  const counter = metrics
    .getMeter('@palisade/http')
    .createCounter('palisade.http.csp.reports', { description: 'CSP violation reports received' })

  // Attribute objects are built once per directive and disposition, not per report.
  const attributeSets = new Map<string, Readonly<Record<string, string>>>()
  const attributesOf = (violation: CspViolation): Readonly<Record<string, string>> => {
    const name = violation.effectiveDirective.toLowerCase()
    const directive = DIRECTIVES.has(name) ? name : 'other'
    const id = `${directive} ${violation.disposition}`
    let attributes = attributeSets.get(id)
    if (attributes === undefined) {
      attributes = Object.freeze({
        'palisade.csp.directive': directive,
        'palisade.csp.disposition': violation.disposition,
      })
      attributeSets.set(id, attributes)
    }
    return attributes
  }

  const deliver = async (violations: readonly CspViolation[]): Promise<void> => {
    let logged = 0
    let notLogged = 0
    for (const violation of violations) {
      counter.add(1, attributesOf(violation))
      let failure: unknown
      if (onReport !== undefined) {
        try {
          await onReport(violation)
          continue
        } catch (error) {
          failure = error
        }
      }
      // One body can hold hundreds of reports: past the cap they are only counted.
      if (logged >= maxLogged) {
        notLogged++
        continue
      }
      logged++
      if (onReport === undefined) logger.warn({ violation }, 'CSP violation reported')
      else logger.error({ err: failure }, 'CSP report callback failed')
    }
    if (notLogged > 0) {
      logger.warn(
        { code: 'PALISADE_HTTP_REPORTS_NOT_LOGGED', reports: violations.length, notLogged },
        `${notLogged} more log lines for the CSP reports of this request were left out ("maxLoggedReports" is ${maxLogged})`,
      )
    }
  }

  return Object.freeze({
    maxBytes,
    async handle(request: CspReportRequest): Promise<CspReportResponse> {
      try {
        if (request.method.toUpperCase() !== 'POST') {
          throw new CspReportError(
            'PALISADE_HTTP_REPORT_METHOD',
            'CSP reports must be sent with POST',
          )
        }
        if (limiter !== undefined) {
          const client = ipKey(request.ip ?? peerAddress(request.body)) ?? 'unknown'
          const { allowed, retryAfterMs } = limiter.store.consume(client, limiter.options)
          if (!allowed) return tooManyReports(retryAfterMs)
        }
        const type = mediaType(request.contentType)
        if (type !== TYPE_URI && type !== TYPE_TO) {
          throw new CspReportError(
            'PALISADE_HTTP_REPORT_UNSUPPORTED_TYPE',
            `Content-Type header must be ${TYPE_URI} or ${TYPE_TO}`,
          )
        }
        const declared = Number(request.contentLength)
        if (request.contentLength !== undefined && declared > maxBytes) {
          throw new CspReportError(
            'PALISADE_HTTP_REPORT_TOO_LARGE',
            `Content-Length header exceeds the ${maxBytes}-byte limit`,
          )
        }
        await deliver(parseCspReports(type, await readBody(request.body, maxBytes)))
        return ACCEPTED
      } catch (error) {
        if (error instanceof CspReportError) {
          logger.debug({ code: error.code }, error.detail)
          return cspReportErrorResponse(error)
        }
        // A broken request stream: nothing useful to tell the browser.
        logger.debug({ err: error }, 'CSP report could not be read')
        return cspReportErrorResponse(malformed('CSP report body could not be read', error))
      }
    },
  })
}
