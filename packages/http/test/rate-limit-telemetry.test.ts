import { metrics } from '@opentelemetry/api'
import type { Attributes, Meter, MeterProvider } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRateLimiter } from '../src/index.js'
import type { RateLimitStore } from '../src/index.js'
import { req } from './fixtures/rate-limit/helpers.js'

// Records what an SDK would receive: the package only talks to @opentelemetry/api.
const recorded: { name: string; value: number; attributes: Attributes | undefined }[] = []
const instrument = (name: string) => {
  const push = (value: number, attributes?: Attributes) => {
    recorded.push({ name, value, attributes })
  }
  return { add: push, record: push }
}
const provider: MeterProvider = {
  getMeter: () =>
    new Proxy({} as Meter, {
      get: (_target, method) =>
        method === 'createCounter' || method === 'createHistogram' ? instrument : () => undefined,
    }),
}
beforeAll(() => {
  metrics.setGlobalMeterProvider(provider)
})
afterAll(() => {
  metrics.disable()
})

describe('telemetry', () => {
  it('counts decisions by outcome and times store calls, without keys or addresses', async () => {
    const limiter = createRateLimiter({ limit: 1 })
    await limiter.check(req('192.0.2.1', { subject: 'alice' }))
    await limiter.check(req('192.0.2.1', { subject: 'alice' }))
    const broken: RateLimitStore = {
      consume: () => Promise.reject(new Error('down')),
      increment: () => ({ totalHits: 1, resetTime: undefined }),
      decrement: () => undefined,
      resetKey: () => undefined,
    }
    await createRateLimiter({ limit: 1, store: broken, onStoreError: 'open' }).check(
      req('192.0.2.1'),
    )
    const decisions = recorded.filter((r) => r.name === 'palisade.http.rate_limit.decisions')
    expect(decisions.map((r) => r.attributes?.['outcome'])).toEqual([
      'allowed',
      'limited',
      'failed_open',
    ])
    expect(decisions[0]!.attributes).toEqual({ outcome: 'allowed', store: 'MemoryStore' })
    const durations = recorded.filter((r) => r.name === 'palisade.http.rate_limit.store.duration')
    expect(durations.map((r) => r.attributes?.['result'])).toEqual(['ok', 'ok', 'error'])
    const text = JSON.stringify(recorded)
    expect(text).not.toContain('192.0.2.1')
    expect(text).not.toContain('alice')
  })
})
