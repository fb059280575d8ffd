import type { Logger } from '../src/index.js'

export interface LogLine {
  level: keyof Logger
  object: Record<string, unknown>
  message: string
}

/** A logger that keeps every line, for assertions. */
export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const at =
    (level: keyof Logger) =>
    (object: Record<string, unknown>, message: string): void => {
      lines.push({ level, object, message })
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
