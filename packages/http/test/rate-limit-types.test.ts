import { describe, expect, expectTypeOf, it } from 'vitest'
import type { MemoryStore as ErlMemoryStore, Store as ErlStore } from 'express-rate-limit'
import type { RedisStore as RateLimitRedisStore } from 'rate-limit-redis'
import { createRateLimiter } from '../src/index.js'
import type {
  MemoryStore,
  RedisStore,
  RateLimitDecision,
  RateLimitOptions,
  RateLimitStore,
  RateLimiter,
} from '../src/index.js'

describe('the Store contract is express-rate-limit Store', () => {
  it('is assignable both ways', () => {
    expectTypeOf<ErlStore>().toExtend<RateLimitStore>()
    expectTypeOf<RateLimitStore>().toExtend<ErlStore>()
  })

  it('accepts existing express-rate-limit stores', () => {
    expectTypeOf<ErlMemoryStore>().toExtend<RateLimitStore>()
    expectTypeOf<RateLimitRedisStore>().toExtend<RateLimitStore>()
  })

  it('our stores work with express-rate-limit too', () => {
    expectTypeOf<MemoryStore>().toExtend<ErlStore>()
    expectTypeOf<RedisStore>().toExtend<ErlStore>()
  })
})

describe('limiter API', () => {
  it('types options and decisions', () => {
    const limiter = createRateLimiter<{ path: string }>({
      limit: 10,
      cost: (request) => (request.path === '/bulk' ? 10 : 1),
      key: (request, client) => client.subject ?? request.path,
    })
    expectTypeOf(limiter).toEqualTypeOf<RateLimiter<{ path: string }>>()
    expectTypeOf(limiter.check).returns.resolves.toEqualTypeOf<RateLimitDecision>()
    expect(() =>
      // @ts-expect-error -- unknown algorithm
      createRateLimiter({ limit: 1, algorithm: 'sliding-log' }),
    ).toThrow(TypeError)
    expectTypeOf<'ignore'>().not.toExtend<RateLimitOptions['onStoreError']>()
    expectTypeOf<'local'>().toExtend<RateLimitOptions['onStoreError']>()
  })
})
