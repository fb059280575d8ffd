import { metrics } from '@opentelemetry/api'
import type { Counter } from '@opentelemetry/api'

const SCOPE = '@palisade/secrets'

/** Looks the meter up when secrets are loaded, after the application registered its SDK. */
export function reloadCounter(): Counter {
  return metrics.getMeter(SCOPE).createCounter('palisade.secrets.reloads', {
    description: 'Secret reloads after a rotation signal, by secret, source kind and outcome',
  })
}
