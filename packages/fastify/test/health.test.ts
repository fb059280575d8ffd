import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { createHealth } from '@palisade/health'
import { healthRoutes } from '../src/index.js'

// What the probes answer, byte for byte and identically on Express, Fastify and Koa, is checked
// by the repository's test/adapter-health.test.ts, which runs one service on each framework.
describe('healthRoutes (Fastify)', () => {
  it('refuses anything but a createHealth() instance when registered', async () => {
    const other = Fastify()
    // @ts-expect-error -- not a Health
    await expect(other.register(healthRoutes, { health: {} }).ready()).rejects.toThrow(
      '"health" option',
    )
    await other.close()
  })

  it('works with the router option ignoreTrailingSlash and under a prefix', async () => {
    const other = Fastify({ routerOptions: { ignoreTrailingSlash: true } })
    const own = createHealth({ trustLoopback: false })
    await other.register(
      async (scope) => {
        await scope.register(healthRoutes, { health: own })
      },
      { prefix: '/ops' },
    )
    for (const url of ['/ops/healthz', '/ops/healthz/', '/ops/readyz?x=1']) {
      const response = await other.inject({ method: 'GET', url })
      expect(response.statusCode).toBe(200)
      expect(response.body).toBe('{"status":"pass"}')
    }
    await other.close()
    own.close()
  })

  it('adds each probe with and without a trailing slash, for GET and HEAD', async () => {
    const app = Fastify()
    const own = createHealth({ trustLoopback: false })
    await app.register(healthRoutes, { health: own })
    await app.ready()
    for (const url of ['/healthz', '/healthz/', '/readyz', '/readyz/', '/startupz', '/startupz/']) {
      expect(app.hasRoute({ method: 'GET', url })).toBe(true)
      expect(app.hasRoute({ method: 'HEAD', url })).toBe(true)
    }
    await app.close()
    own.close()
  })
})
