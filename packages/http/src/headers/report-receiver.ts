import { metrics } from '@opentelemetry/api'
import {
  functionOption,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
} from '@palisade/errors'
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
}

/** What an adapter hands to the receiver. */
export interface CspReportRequest {
  readonly method: string
  readonly contentType: string | undefined
  readonly contentLength?: string | undefined
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
    body: JSON.stringify({ error: error.expose }),
  }
}

const ACCEPTED: CspReportResponse = Object.freeze({ status: 204, headers: {}, body: undefined })

/**
 * A framework-agnostic receiver for CSP violation reports: accepts `POST` bodies of type
 * `application/csp-report` and `application/reports+json` up to `maxBytes`, passes each
 * violation to `onReport` (or logs it at `warn` level), counts it in the
 * `palisade.http.csp.reports` metric and answers 204. Each adapter mounts it:
 * `cspReports()` in `@palisade/express`, `@palisade/fastify` and `@palisade/koa`.
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
  const maxBytes = integerOption(options.maxBytes, 'maxBytes', 65_536, 1)
  const logger = loggerOption<ReportLogger>(options.logger, 'logger', silentLogger)
  const onReport: CspReportReceiverOptions['onReport'] = (options as CspReportReceiverOptions)
    .onReport
  if (onReport !== undefined) functionOption(onReport, 'onReport')
  const counter = metrics
    .getMeter('@palisade/http')
    .createCounter('palisade.http.csp.reports', { description: 'CSP violation reports received' })

  const deliver = async (violation: CspViolation): Promise<void> => {
    counter.add(1, {
      'palisade.csp.directive': violation.effectiveDirective,
      'palisade.csp.disposition': violation.disposition,
    })
    if (onReport === undefined) {
      logger.warn({ violation }, 'CSP violation reported')
      return
    }
    try {
      await onReport(violation)
    } catch (error) {
      logger.error({ err: error }, 'CSP report callback failed')
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
        const violations = parseCspReports(type, await readBody(request.body, maxBytes))
        for (const violation of violations) await deliver(violation)
        return ACCEPTED
      } catch (error) {
        if (error instanceof CspReportError) {
          logger.debug({ code: error.code }, error.message)
          return cspReportErrorResponse(error)
        }
        // A broken request stream: nothing useful to tell the browser.
        logger.debug({ err: error }, 'CSP report could not be read')
        return cspReportErrorResponse(malformed('CSP report body could not be read', error))
      }
    },
  })
}
