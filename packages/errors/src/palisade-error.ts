/** Options accepted by every {@link PalisadeError} constructor. */
export interface PalisadeErrorOptions {
  /** The underlying error, kept for logs; never shown to HTTP clients. */
  cause?: unknown
}

/**
 * Fields an HTTP-facing error carries so that framework adapters only forward them and never
 * decide status codes or headers themselves.
 */
export interface HttpErrorFields {
  /** HTTP status code to answer with. */
  readonly status: number
  /** Response headers to set, for example `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>
  /** A short, generic message that is safe to show to any client. */
  readonly expose: string
}

const brand = Symbol.for('palisade.error')

/**
 * Base class of every error a Palisade package throws. `code` is a stable string from a closed
 * union per package, so `switch (err.code)` narrows; messages name the variable, header or
 * option at fault and never contain a secret or a raw token.
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

  constructor(code: Code, message: string, options?: PalisadeErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    Object.defineProperty(this, brand, { value: true })
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
