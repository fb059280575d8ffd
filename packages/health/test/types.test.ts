import type { Server } from 'node:http'
import type { Redis } from 'ioredis'
import type pg from 'pg'
import type { createClient } from 'redis'
import { describe, expectTypeOf, it } from 'vitest'
import { createHealth, gracefulShutdown, postgresCheck, redisCheck } from '../src/index.js'
import type { GracefulShutdown, Health, HealthCheck, HealthResponse } from '../src/index.js'

describe('public types', () => {
  it('types the probes and the shutdown controller', () => {
    expectTypeOf(createHealth).returns.toEqualTypeOf<Health>()
    expectTypeOf<Health['liveness']>().returns.toEqualTypeOf<HealthResponse>()
    expectTypeOf<Health['readiness']>().returns.toEqualTypeOf<Promise<HealthResponse>>()
    expectTypeOf(gracefulShutdown).parameter(0).toEqualTypeOf<Server>()
    expectTypeOf(gracefulShutdown).returns.toEqualTypeOf<GracefulShutdown>()
    expectTypeOf<GracefulShutdown['shutdown']>().returns.toEqualTypeOf<Promise<number>>()
  })

  it('accepts the clients applications already have', () => {
    // Types only: nothing connects.
    const usePool = (pool: pg.Pool, client: pg.Client): HealthCheck[] => [
      postgresCheck(pool),
      postgresCheck(client),
    ]
    const useRedis = (
      ioredis: Redis,
      nodeRedis: ReturnType<typeof createClient>,
    ): HealthCheck[] => [redisCheck(ioredis), redisCheck(nodeRedis)]
    expectTypeOf(usePool).returns.toEqualTypeOf<HealthCheck[]>()
    expectTypeOf(useRedis).returns.toEqualTypeOf<HealthCheck[]>()
  })

  it('refuses misuse at compile time', () => {
    const misuse = (): void => {
      // @ts-expect-error -- a check needs run()
      createHealth({ checks: [{ name: 'x' }] })
      // @ts-expect-error -- timeouts are numbers
      postgresCheck({ query: () => Promise.resolve() }, { timeoutMs: '1s' })
      // @ts-expect-error -- readonly
      createHealth().shuttingDown = true
    }
    expectTypeOf(misuse).toBeFunction()
  })
})
