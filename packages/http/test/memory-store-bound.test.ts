import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryStore, createRateLimiter } from '../src/index.js'
import type { ConsumeOptions } from '../src/index.js'
import { memoryLogger, req } from './fixtures/rate-limit/helpers.js'

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)
const WINDOW = { cost: 1, limit: 5, windowMs: 60_000, algorithm: 'fixed-window' } as const

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
})
afterEach(() => {
  vi.useRealTimers()
})

/** Fills the store with `count` keys `fill:0`, `fill:1`, ..., one hit each. */
function fill(store: MemoryStore, count: number, options: ConsumeOptions = WINDOW): void {
  for (let i = 0; i < count; i++) expect(store.consume(`fill:${i}`, options).allowed).toBe(true)
}

describe('MemoryStore maxKeys', () => {
  it('validates "maxKeys" and "logger"', () => {
    for (const maxKeys of [0, -1, 1.5, '10', Number.NaN]) {
      expect(() => new MemoryStore({ maxKeys: maxKeys as number })).toThrow(
        new TypeError('"maxKeys" option must be a positive integer'),
      )
    }
    expect(() => new MemoryStore({ logger: console.log as never })).toThrow(/"logger" option/)
    new MemoryStore({ maxKeys: 1 }).shutdown()
  })

  it('never resets the count of a key it holds when other keys flood it', () => {
    const logger = memoryLogger()
    const store = new MemoryStore({ maxKeys: 10, logger })
    for (let i = 0; i < 5; i++) expect(store.consume('victim', WINDOW).allowed).toBe(true)
    expect(store.consume('victim', WINDOW).allowed).toBe(false)
    // The attacker rotates through fresh keys, far more than the store can hold: 9 of them get
    // a key of their own, the rest share the overflow bucket's 5.
    let passed = 0
    for (let i = 0; i < 1000; i++) if (store.consume(`attacker:${i}`, WINDOW).allowed) passed++
    expect(passed).toBe(9 + WINDOW.limit)
    expect(store.consume('victim', WINDOW)).toMatchObject({ allowed: false, remaining: 0 })
    store.shutdown()
  })

  it('limits new keys together in one overflow bucket while full, and warns once', () => {
    const logger = memoryLogger()
    const store = new MemoryStore({ maxKeys: 10, logger })
    fill(store, 10)
    expect(logger.lines).toEqual([])
    const allowed = Array.from(
      { length: 20 },
      (_, i) => store.consume(`new:${i}`, WINDOW).allowed,
    ).filter(Boolean)
    expect(allowed).toHaveLength(WINDOW.limit)
    // The keys already held keep their own counters: one hit each so far.
    expect(store.consume('fill:3', WINDOW)).toMatchObject({ allowed: true, remaining: 3 })
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_STORE_FULL'])
    expect(logger.lines[0]!.level).toBe('warn')
    expect(logger.lines[0]!.message).toContain('"maxKeys" (10)')
    store.shutdown()
  })

  it('keeps one overflow bucket per limit, so policies do not share a count', () => {
    const store = new MemoryStore({ maxKeys: 2 })
    fill(store, 2)
    const gcra = { cost: 1, limit: 3, windowMs: 60_000, algorithm: 'gcra' } as const
    const burst = (options: ConsumeOptions) =>
      Array.from({ length: 8 }, (_, i) => store.consume(`x:${i}`, options).allowed).filter(Boolean)
    expect(burst(WINDOW)).toHaveLength(5)
    expect(burst(gcra)).toHaveLength(3)
    store.shutdown()
  })

  it('gives new keys their own counters again once held keys expire', () => {
    const store = new MemoryStore({ maxKeys: 10 })
    fill(store, 10)
    for (let i = 0; i < 5; i++) store.consume(`early:${i}`, WINDOW)
    expect(store.consume('late', WINDOW).allowed).toBe(false)
    vi.setSystemTime(T0 + WINDOW.windowMs)
    for (let i = 0; i < 5; i++) expect(store.consume('late', WINDOW).allowed).toBe(true)
    expect(store.consume('late', WINDOW).allowed).toBe(false)
    expect(store.consume('other', WINDOW)).toMatchObject({ allowed: true, remaining: 4 })
    store.shutdown()
  })

  it('applies the same rule to the express-rate-limit increment() contract', () => {
    const store = new MemoryStore({ maxKeys: 3 })
    store.init({ windowMs: 60_000 })
    for (let i = 0; i < 4; i++) store.increment('victim')
    store.increment('a')
    store.increment('b')
    for (let i = 0; i < 100; i++) store.increment(`flood:${i}`)
    expect(store.get('victim')?.totalHits).toBe(4)
    expect(store.increment('victim').totalHits).toBe(5)
    // Every new key counted together.
    expect(store.increment('one-more').totalHits).toBe(101)
    vi.setSystemTime(T0 + 60_000)
    expect(store.increment('fresh').totalHits).toBe(1)
    store.shutdown()
  })

  it('keeps a limiter from being reset by a flood of new clients', async () => {
    const store = new MemoryStore({ maxKeys: 100 })
    const limiter = createRateLimiter({ limit: 3, store, validate: false })
    for (let i = 0; i < 3; i++)
      expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    let passed = 0
    for (let i = 0; i < 500; i++) {
      if ((await limiter.check(req(`198.51.${i >> 8}.${i & 255}`))).outcome === 'allowed') passed++
    }
    expect(passed).toBe(99 + 3)
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('limited')
    await limiter.shutdown()
  })
})
