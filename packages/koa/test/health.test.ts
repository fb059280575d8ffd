import { describe, expect, it } from 'vitest'
import { healthRoutes } from '../src/index.js'

// What the probes answer, byte for byte and identically on Express, Fastify and Koa, is checked
// by the repository's test/adapter-health.test.ts, which runs one service on each framework.
describe('healthRoutes (Koa)', () => {
  it('refuses anything but a createHealth() instance', () => {
    // @ts-expect-error -- not a Health
    expect(() => healthRoutes({})).toThrow(TypeError)
  })
})
