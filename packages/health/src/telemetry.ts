import { metrics, trace } from '@opentelemetry/api'
import type { Histogram, Meter, Tracer } from '@opentelemetry/api'

const SCOPE = '@palisade/health'

/** The tracer and instruments of the package; no-ops unless the application registers an SDK. */
export interface Telemetry {
  readonly tracer: Tracer
  readonly meter: Meter
  readonly duration: Histogram
}

/** Looks the tracer and meter up when `createHealth()` runs, after the SDK is registered. */
export function telemetry(): Telemetry {
  const meter = metrics.getMeter(SCOPE)
  return {
    tracer: trace.getTracer(SCOPE),
    meter,
    duration: meter.createHistogram('palisade.health.check.duration', {
      description: 'Duration of one health-check run, by check and status',
      unit: 'ms',
    }),
  }
}
