import { createHash, timingSafeEqual } from 'node:crypto'
import { checkOptionNames, isObject } from '@palisade/errors'

const REDACTED = '[redacted]'
const inspectCustom = Symbol.for('nodejs.util.inspect.custom')
const brand = Symbol.for('palisade.secret')

/** Options for {@link Secret}. */
export interface SecretOptions {
  /** A name shown in `util.inspect` output, e.g. the variable it came from. Never the value. */
  name?: string | undefined
}

/**
 * A value that never prints itself. `toString`, `toJSON`, template literals, `util.inspect`,
 * `console.log` and structured loggers all see `[redacted]`; the value is reached only through
 * {@link Secret.reveal} or {@link Secret.use}, which makes every use easy to find in review.
 *
 * @example
 * ```ts
 * import { Secret } from '@palisade/secrets'
 *
 * const key = new Secret(process.env.SESSION_KEY ?? '', { name: 'SESSION_KEY' })
 * console.log(`key: ${key}`) // key: [redacted]
 * const hmac = key.use((value) => createHmac('sha256', value))
 * ```
 */
export class Secret<T = string> {
  readonly #value: T
  /** Name given at construction, for diagnostics. */
  readonly name: string | undefined

  constructor(value: T, options: SecretOptions = {}) {
    if (isObject(options)) checkOptionNames(options, ['name'], 'new Secret()')
    this.#value = value
    this.name = options.name
    Object.defineProperty(this, brand, { value: true })
    Object.freeze(this)
  }

  /** Returns the value. Keep the result out of logs, errors and responses. */
  reveal(): T {
    return this.#value
  }

  /** Calls `fn` with the value and returns its result, so the value need not be held. */
  use<R>(fn: (value: T) => R): R {
    return fn(this.#value)
  }

  /**
   * A short, stable fingerprint (the first 12 hex digits of the value's SHA-256) to tell two
   * values apart in logs, e.g. after a rotation, without showing either.
   */
  fingerprint(): string {
    return createHash('sha256').update(serialise(this.#value)).digest('hex').slice(0, 12)
  }

  /**
   * Compares in constant time with another secret or a plain value. Both sides are hashed first,
   * so neither the content nor the length leaks through timing.
   */
  equals(other: Secret<T> | T): boolean {
    const theirs = other instanceof Secret ? other.reveal() : other
    const a = createHash('sha256').update(serialise(this.#value)).digest()
    const b = createHash('sha256').update(serialise(theirs)).digest()
    return timingSafeEqual(a, b)
  }

  toString(): string {
    return REDACTED
  }

  toJSON(): string {
    return REDACTED
  }

  [Symbol.toPrimitive](): string {
    return REDACTED
  }

  [inspectCustom](): string {
    return this.name === undefined ? `Secret(${REDACTED})` : `Secret<${this.name}>(${REDACTED})`
  }
}

function serialise(value: unknown): string | Uint8Array {
  if (typeof value === 'string' || value instanceof Uint8Array) return value
  return JSON.stringify(value)
}

/**
 * True for a {@link Secret}, also one created by another copy of this package.
 *
 * @example
 * ```ts
 * if (isSecret(value)) value.use(sign)
 * ```
 */
export function isSecret(value: unknown): value is Secret<unknown> {
  return (
    value instanceof Secret ||
    (typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true &&
      typeof (value as { reveal?: unknown }).reveal === 'function')
  )
}
