// Option checks shared by every package's factories: each throws a TypeError naming the option,
// at factory time, so that a misconfiguration never surfaces per request or per probe.

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function integerOption(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const what = min > 0 ? 'a positive integer' : 'a non-negative integer'
    throw new TypeError(`"${name}" option must be ${what}`)
  }
  return value
}

export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`"${name}" option must be a boolean`)
  return value
}

export function stringOption(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`"${name}" option must be a non-empty string`)
  }
  return value
}

export function functionOption(value: unknown, name: string): void {
  if (typeof value !== 'function') throw new TypeError(`"${name}" option must be a function`)
}

const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const

export function loggerOption<T>(value: unknown, name: string, fallback: T): T {
  if (value === undefined) return fallback
  if (!isObject(value) || LOGGER_METHODS.some((method) => typeof value[method] !== 'function')) {
    throw new TypeError(
      `"${name}" option must be a pino-compatible logger with debug, info, warn and error`,
    )
  }
  return value as T
}

export const silentLogger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
})
