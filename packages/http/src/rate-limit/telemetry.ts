import { metrics } from '@opentelemetry/api'
import type { Counter, Histogram } from '@opentelemetry/api'

export interface RateLimitTelemetry {
  readonly decisions: Counter
  readonly storeDuration: Histogram
}

// Created per limiter (at factory time), so that an SDK registered at startup receives them.
export function telemetry(): RateLimitTelemetry {
  const meter = metrics.getMeter('@palisade/http')
  return {
    decisions: meter.createCounter('palisade.http.rate_limit.decisions', {
      description: 'Rate-limit decisions by outcome; never carries keys or addresses',
    }),
    storeDuration: meter.createHistogram('palisade.http.rate_limit.store.duration', {
      description: 'Duration of rate-limit store calls',
      unit: 'ms',
    }),
  }
}
