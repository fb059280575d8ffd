import { statfs } from 'node:fs/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { common } from './checks.js'
import type { CheckOptions } from './checks.js'
import { HealthError } from './errors.js'
import { integerOption, isObject, stringOption } from '@palisade/errors'
import type { HealthCheck } from './types.js'

/** Options of {@link eventLoopDelayCheck}. */
export interface EventLoopDelayCheckOptions extends CheckOptions {
  /** The check fails when the event loop lagged more than this since its last run. @default 500 */
  maxDelayMs?: number | undefined
}

/** Options of {@link heapCheck}. */
export interface HeapCheckOptions extends CheckOptions {
  /** The check fails above this share of the heap limit (`--max-old-space-size`). @default 90 */
  maxPercent?: number | undefined
  /** The check also fails above this many bytes of used heap. @default undefined (no limit) */
  maxBytes?: number | undefined
}

/** Options of {@link diskCheck}. */
export interface DiskCheckOptions extends CheckOptions {
  /** A path on the file system to watch. @default '.' */
  path?: string | undefined
  /** The check fails below this many bytes available to the process. @default 104857600 (100 MiB) */
  minFreeBytes?: number | undefined
  /** The check also fails below this share of the file system available. @default 0 */
  minFreePercent?: number | undefined
}

function optionsOf(options: unknown): Record<string, unknown> {
  if (options === undefined) return {}
  if (!isObject(options)) throw new TypeError('"options" must be an object')
  return options
}

function failed(check: string, message: string, output: string): HealthError {
  return new HealthError('PALISADE_HEALTH_CHECK_FAILED', message, { check, output })
}

function percentOption(value: unknown, name: string, fallback: number): number {
  const percent = integerOption(value, name, fallback, 0)
  if (percent > 100) throw new TypeError(`"${name}" option must be an integer from 0 to 100`)
  return percent
}

/**
 * Fails readiness while the event loop lags: it samples the event-loop delay and fails when the
 * worst delay since its previous run exceeds `maxDelayMs`, so that a saturated instance is taken
 * out of rotation (liveness fails only at `eventLoopDelayThresholdMs`, for a stuck process).
 * Give it `intervalMs` or run it on probes. Reported as `eventloop:delay`, `system`.
 *
 * @example
 * ```ts
 * import { createHealth, eventLoopDelayCheck } from '@palisade/health'
 *
 * const health = createHealth({ checks: [eventLoopDelayCheck({ maxDelayMs: 200, critical: false })] })
 * ```
 */
export function eventLoopDelayCheck(options?: EventLoopDelayCheckOptions): HealthCheck {
  const base = common(options, 'eventloop')
  const maxDelayMs = integerOption(optionsOf(options)['maxDelayMs'], 'maxDelayMs', 500, 1)
  const monitor = monitorEventLoopDelay({ resolution: 10 })
  monitor.enable()
  return {
    ...base,
    componentType: 'system',
    measurement: 'delay',
    run: () => {
      const delayMs = Math.round(monitor.max / 1e6)
      monitor.reset()
      if (delayMs > maxDelayMs) {
        throw failed(
          base.name,
          `the event loop lagged ${delayMs} ms (more than maxDelayMs=${maxDelayMs})`,
          `delay ${delayMs} ms above ${maxDelayMs} ms`,
        )
      }
    },
    close: () => {
      monitor.disable()
    },
  }
}

/**
 * Fails when the V8 heap is nearly full (`maxPercent` of the heap limit) or above `maxBytes`,
 * so that an instance about to run out of memory stops taking traffic. Reported as
 * `heap:utilization`, `system`.
 *
 * @example
 * ```ts
 * import { createHealth, heapCheck } from '@palisade/health'
 *
 * const health = createHealth({ checks: [heapCheck({ maxPercent: 85, critical: false })] })
 * ```
 */
export function heapCheck(options?: HeapCheckOptions): HealthCheck {
  const base = common(options, 'heap')
  const raw = optionsOf(options)
  const maxPercent = percentOption(raw['maxPercent'], 'maxPercent', 90)
  const maxBytes =
    raw['maxBytes'] === undefined ? undefined : integerOption(raw['maxBytes'], 'maxBytes', 0, 1)
  return {
    ...base,
    componentType: 'system',
    measurement: 'utilization',
    run: () => {
      const { used_heap_size: used, heap_size_limit: limit } = getHeapStatistics()
      const share = (used / limit) * 100
      const percent = Math.ceil(share)
      if (share > maxPercent) {
        throw failed(
          base.name,
          `the heap is ${percent}% full (more than maxPercent=${maxPercent})`,
          `heap ${percent}% used, above ${maxPercent}%`,
        )
      }
      if (maxBytes !== undefined && used > maxBytes) {
        throw failed(
          base.name,
          `the heap holds ${used} bytes (more than maxBytes=${maxBytes})`,
          `heap ${used} bytes used, above ${maxBytes}`,
        )
      }
    },
  }
}

/**
 * Fails when the file system holding `path` has less than `minFreeBytes` (or `minFreePercent`)
 * available to the process, with `fs.statfs`. Reported as `disk:utilization`, `system`; the
 * failure reason gives the free bytes, never the path.
 *
 * @example
 * ```ts
 * import { createHealth, diskCheck } from '@palisade/health'
 *
 * const health = createHealth({
 *   checks: [diskCheck({ path: '/var/lib/app', minFreeBytes: 1024 ** 3, intervalMs: 10_000 })],
 * })
 * ```
 */
export function diskCheck(options?: DiskCheckOptions): HealthCheck {
  const base = common(options, 'disk')
  const raw = optionsOf(options)
  const path = stringOption(raw['path'], 'path', '.')
  const minFreeBytes = integerOption(raw['minFreeBytes'], 'minFreeBytes', 100 * 1024 * 1024, 0)
  const minFreePercent = percentOption(raw['minFreePercent'], 'minFreePercent', 0)
  return {
    ...base,
    componentType: 'system',
    measurement: 'utilization',
    run: async () => {
      const stats = await statfs(path)
      const free = stats.bavail * stats.bsize
      const percent = stats.blocks === 0 ? 100 : (stats.bavail / stats.blocks) * 100
      if (free < minFreeBytes || percent < minFreePercent) {
        throw failed(
          base.name,
          `the file system of "${base.name}" has ${free} bytes (${percent.toFixed(1)}%) free, below minFreeBytes=${minFreeBytes} or minFreePercent=${minFreePercent}`,
          `${free} bytes free`,
        )
      }
    },
  }
}
