import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis'
import { RedisStore, createRateLimiter } from '../src/index.js'
import type { RedisStoreOptions } from '../src/index.js'
import { prefix, req } from './fixtures/rate-limit/helpers.js'

const URL = 'redis://127.0.0.1:6379'
const io = new Redis(URL, { lazyConnect: true })
const node = createClient({ url: URL })
const prefixes: string[] = []

function fresh(): string {
  const value = prefix()
  prefixes.push(value)
  return value
}

beforeAll(async () => {
  await io.connect()
  await node.connect()
})

afterAll(async () => {
  for (const value of prefixes) {
    const keys = await io.keys(`${value}*`)
    if (keys.length > 0) await io.del(...keys)
  }
  io.disconnect()
  await node.quit()
})

const clients: [string, () => RedisStoreOptions['client']][] = [
  ['ioredis', () => io],
  ['node-redis', () => node],
]

describe.each(clients)('RedisStore with %s', (_name, client) => {
  it('counts a fixed window with cost, with prefixed keys that expire', async () => {
    const keyPrefix = fresh()
    const limiter = createRateLimiter({
      limit: 10,
      cost: 4,
      store: new RedisStore({ client: client(), prefix: keyPrefix }),
      validate: { storeReuse: false },
    })
    const headers = []
    for (let i = 0; i < 3; i++)
      headers.push((await limiter.check(req('192.0.2.1'))).headers['RateLimit'])
    expect(headers).toEqual(['"default";r=6;t=60', '"default";r=2;t=60', '"default";r=2;t=60'])
    const keys = await io.keys(`${keyPrefix}*`)
    expect(keys).toEqual([`${keyPrefix}default:ip:192.0.2.1`])
    expect(await io.get(keys[0]!)).toBe('8')
    const ttl = await io.pttl(keys[0]!)
    expect(ttl).toBeGreaterThan(50_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('runs GCRA on the Redis clock: a burst of the limit, then Retry-After', async () => {
    const keyPrefix = fresh()
    const limiter = createRateLimiter({
      limit: 5,
      windowMs: 60_000,
      algorithm: 'gcra',
      store: new RedisStore({ client: client(), prefix: keyPrefix }),
    })
    const outcomes = []
    for (let i = 0; i < 6; i++) outcomes.push(await limiter.check(req('192.0.2.1')))
    expect(outcomes.map((d) => d.outcome)).toEqual([
      'allowed',
      'allowed',
      'allowed',
      'allowed',
      'allowed',
      'limited',
    ])
    expect(outcomes[0]!.headers['RateLimit']).toBe('"default";r=4;t=12')
    const denied = outcomes[5]!
    expect(denied.headers['RateLimit']).toMatch(/^"default";r=0;t=(59|60)$/)
    expect(Number(denied.headers['Retry-After'])).toBeGreaterThanOrEqual(11)
    expect(Number(denied.headers['Retry-After'])).toBeLessThanOrEqual(12)
    const ttl = await io.pttl(`${keyPrefix}default:ip:192.0.2.1`)
    expect(ttl).toBeGreaterThan(50_000)
  })

  it('shares counts between store instances (processes) on one Redis', async () => {
    const keyPrefix = fresh()
    const make = () =>
      createRateLimiter({
        limit: 3,
        store: new RedisStore({ client: client(), prefix: keyPrefix }),
      })
    const [a, b] = [make(), make()]
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => (i % 2 === 0 ? a : b).check(req('192.0.2.1'))),
    )
    expect(outcomes.filter((d) => d.outcome === 'allowed')).toHaveLength(3)
  })

  it('reloads its script after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const keyPrefix = fresh()
    const limiter = createRateLimiter({
      limit: 3,
      store: new RedisStore({ client: client(), prefix: keyPrefix }),
    })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    await io.script('FLUSH')
    const after = await limiter.check(req('192.0.2.1'))
    expect(after.outcome).toBe('allowed')
    expect(after.headers['RateLimit']).toBe('"default";r=1;t=60')
  })

  it('implements the express-rate-limit contract (increment, get, decrement, resetKey)', async () => {
    const store = new RedisStore({ client: client(), prefix: fresh() })
    store.init({ windowMs: 30_000 })
    expect(await store.get('k')).toBeUndefined()
    expect((await store.increment('k')).totalHits).toBe(1)
    const second = await store.increment('k')
    expect(second.totalHits).toBe(2)
    expect(second.resetTime!.getTime()).toBeGreaterThan(Date.now() + 20_000)
    await store.decrement('k')
    expect((await store.get('k'))?.totalHits).toBe(1)
    await store.resetKey('k')
    expect(await store.get('k')).toBeUndefined()
    await store.decrement('k')
    expect(await store.get('k')).toBeUndefined()
  })
})

describe('RedisStore options', () => {
  it('takes a sendCommand function like rate-limit-redis', async () => {
    const keyPrefix = fresh()
    const store = new RedisStore({
      sendCommand: (...args) => io.call(args[0]!, ...args.slice(1)),
      prefix: keyPrefix,
    })
    const result = await store.consume('k', {
      cost: 2,
      limit: 5,
      windowMs: 10_000,
      algorithm: 'fixed-window',
    })
    expect(result).toMatchObject({ allowed: true, remaining: 3, retryAfterMs: 0 })
  })

  it('refuses missing or conflicting clients with a TypeError naming the option', () => {
    expect(() => new RedisStore({})).toThrow(
      '"client" option must be an ioredis or node-redis client',
    )
    expect(() => new RedisStore({ client: {} as never })).toThrow('"client" option must be')
    expect(() => new RedisStore({ client: io, sendCommand: () => Promise.resolve(null) })).toThrow(
      '"client" and "sendCommand" options are exclusive',
    )
    expect(() => new RedisStore({ client: io, prefix: '' })).toThrow(
      '"prefix" option must be a non-empty string',
    )
  })

  it('reports an unexpected reply as an invalid response', async () => {
    const store = new RedisStore({ sendCommand: () => Promise.resolve('OK') })
    await expect(
      store.consume('k', { cost: 1, limit: 1, windowMs: 1000, algorithm: 'gcra' }),
    ).rejects.toMatchObject({ code: 'PALISADE_RATE_LIMIT_STORE_INVALID_RESPONSE' })
  })
})

describe("rate-limit-redis's RedisStore", () => {
  it('plugs into the limiter unchanged (cost 1, fixed window)', async () => {
    const keyPrefix = fresh()
    const store = new RateLimitRedisStore({
      sendCommand: (...args: string[]) => io.call(args[0]!, ...args.slice(1)) as never,
      prefix: keyPrefix,
    })
    const limiter = createRateLimiter({ limit: 2, windowMs: 30_000, store, storeTimeoutMs: 5000 })
    const decisions = []
    for (let i = 0; i < 3; i++) decisions.push(await limiter.check(req('192.0.2.1')))
    expect(decisions.map((d) => d.outcome)).toEqual(['allowed', 'allowed', 'limited'])
    expect(decisions[0]!.headers['RateLimit']).toBe('"default";r=1;t=30')
    expect(decisions[2]!.headers['Retry-After']).toMatch(/^(29|30)$/)
    expect(await io.get(`${keyPrefix}default:ip:192.0.2.1`)).toBe('3')
  })
})
