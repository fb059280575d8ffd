import { PalisadeError } from '@palisade/errors'
import type { HttpErrorFields } from '@palisade/errors'

/**
 * Codes of the errors raised by the security-header half of `@palisade/http`. The CSP report
 * receiver raises them for requests it refuses; adapters answer with the error's `status`.
 */
export type HeadersErrorCode =
  | 'PALISADE_HTTP_REPORT_METHOD'
  | 'PALISADE_HTTP_REPORT_UNSUPPORTED_TYPE'
  | 'PALISADE_HTTP_REPORT_TOO_LARGE'
  | 'PALISADE_HTTP_REPORT_MALFORMED'

const STATUS: Readonly<Record<HeadersErrorCode, number>> = {
  PALISADE_HTTP_REPORT_METHOD: 405,
  PALISADE_HTTP_REPORT_UNSUPPORTED_TYPE: 415,
  PALISADE_HTTP_REPORT_TOO_LARGE: 413,
  PALISADE_HTTP_REPORT_MALFORMED: 400,
}

// What a client is told, and every CspReportError's `message`; the detail stays in `detail`.
const DESCRIPTION: Readonly<Record<HeadersErrorCode, string>> = {
  PALISADE_HTTP_REPORT_METHOD: 'method not allowed',
  PALISADE_HTTP_REPORT_UNSUPPORTED_TYPE: 'unsupported media type',
  PALISADE_HTTP_REPORT_TOO_LARGE: 'report too large',
  PALISADE_HTTP_REPORT_MALFORMED: 'malformed report',
}

/**
 * A CSP violation report the receiver refused: wrong method, wrong `Content-Type`, a body over
 * the size limit, or a body that is not a report. Carries the HTTP `status` and `headers` the
 * adapters answer with and a public `message` (the text they send, such as "unsupported media
 * type"), so a framework's default error handler that receives it sends nothing private either;
 * what went wrong in full (the header at fault, the parser's error) is in `detail` and `cause`.
 *
 * @example
 * ```ts
 * import { CspReportError, parseCspReports } from '@palisade/http'
 *
 * try {
 *   parseCspReports('text/plain', 'hello')
 * } catch (error) {
 *   if (error instanceof CspReportError) console.log(error.code, error.status) // ..._UNSUPPORTED_TYPE 415
 * }
 * ```
 */
export class CspReportError extends PalisadeError<HeadersErrorCode> implements HttpErrorFields {
  readonly status: number
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>>
  /** Whether `message` may be shown to the client, as http-errors defines it: every refusal is a 4xx. */
  readonly expose: boolean
  declare readonly detail: string

  /**
   * @param detail What went wrong in full, for logs: the header or body at fault. It becomes
   * `detail`; `message` is the code's public description.
   */
  constructor(code: HeadersErrorCode, detail: string, options?: { cause?: unknown }) {
    super(code, DESCRIPTION[code], { cause: options?.cause, detail })
    this.status = STATUS[code]
    this.statusCode = this.status
    this.headers = code === 'PALISADE_HTTP_REPORT_METHOD' ? { Allow: 'POST' } : {}
    this.expose = this.status < 500
  }
}
