/** Options accepted by every {@link PalisadeError} constructor. */
export interface PalisadeErrorOptions {
  /** The underlying error, kept for logs; never shown to HTTP clients. */
  cause?: unknown
  /**
   * What went wrong in full, for logs, when `message` is the public text of an error that can
   * reach an HTTP response. Kept as `detail`, never shown to HTTP clients.
   */
  detail?: string | undefined
}

/**
 * Fields of an error that can reach an HTTP response, so that framework adapters only forward
 * them and never decide status codes or headers themselves, and so that a framework's own
 * default error handler (Express's finalhandler, Fastify's, Koa's `ctx.onerror`) sends nothing
 * private either: such an error's `message` is the short public text the adapters send (for
 * example "The access token expired"), and its private detail lives in `detail` and `cause`.
 */
export interface HttpErrorFields {
  /** HTTP status code to answer with. */
  readonly status: number
  /** The same as `status`, for frameworks that read `statusCode` (http-errors has both). */
  readonly statusCode: number
  /** Response headers to set, for example `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>
  /**
   * As http-errors defines it: `true` for a 4xx status, so `message` may be shown to the
   * client; `false` for a 5xx status.
   */
  readonly expose: boolean
  /** The short public text, safe to show to any client. */
  readonly message: string
  /** What went wrong in full (which claim, header or URL), for logs only; never sent. */
  readonly detail: string
}

const brand = Symbol.for('palisade.error')

/**
 * Base class of every error a Palisade package throws. `code` is a stable string from a closed
 * union per package, so `switch (err.code)` narrows; messages never contain a secret or a raw
 * token. A startup error's message names the variable or option at fault; an error that can reach
 * an HTTP response has a public message and its detail in `detail` (see {@link HttpErrorFields}).
 *
 * @example
 * ```ts
 * import { PalisadeError } from '@palisade/errors'
 *
 * type MyCode = 'PALISADE_EXAMPLE_BROKEN'
 * class ExampleError extends PalisadeError<MyCode> {}
 * throw new ExampleError('PALISADE_EXAMPLE_BROKEN', '"timeoutMs" option must be positive')
 * ```
 */
export class PalisadeError<Code extends string = string> extends Error {
  /** Stable machine-readable code, prefixed `PALISADE_`. */
  readonly code: Code
  /**
   * The private detail of an error whose `message` is public text (see {@link HttpErrorFields}),
   * for logs: loggers and `util.inspect` show it, {@link PalisadeError.toJSON} leaves it out.
   */
  declare readonly detail?: string

  constructor(code: Code, message: string, options?: PalisadeErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    Object.defineProperty(this, brand, { value: true })
    if (options?.detail !== undefined) this.detail = options.detail
  }

  /**
   * The error's fields without `detail`, so that a response body set to the error itself
   * (`res.json(error)`, `ctx.body = error`) never carries the private detail.
   */
  toJSON(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this).filter(([key]) => key !== 'detail'))
  }
}

/**
 * True for any Palisade error, including one thrown by another copy of a Palisade package
 * (for example two versions installed side by side), where `instanceof` would be false.
 *
 * @example
 * ```ts
 * if (isPalisadeError(err)) console.error(err.code)
 * ```
 */
export function isPalisadeError(value: unknown): value is PalisadeError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  )
}
