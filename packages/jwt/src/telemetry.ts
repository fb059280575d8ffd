import { metrics, trace } from '@opentelemetry/api'
import type { Counter, Tracer } from '@opentelemetry/api'

const SCOPE = '@palisade/jwt'

/** Spans and counters of the package; no-ops unless the application registers an SDK. */
export interface Telemetry {
  readonly tracer: Tracer
  readonly verifications: Counter
  readonly jwksFetches: Counter
}

/** Looks the tracer and meter up when a verifier is created, after the SDK is registered. */
export function telemetry(): Telemetry {
  const meter = metrics.getMeter(SCOPE)
  return {
    tracer: trace.getTracer(SCOPE),
    verifications: meter.createCounter('palisade.jwt.verifications', {
      description: 'Bearer-token verifications, by outcome (ok or an error code)',
    }),
    jwksFetches: meter.createCounter('palisade.jwt.jwks.fetches', {
      description: 'Discovery and JWKS fetches, by kind and outcome',
    }),
  }
}
