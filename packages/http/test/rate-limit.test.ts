import { createHmac } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryStore as ErlMemoryStore } from 'express-rate-limit'
import {
  MemoryStore,
  QUOTA_EXCEEDED_TITLE,
  QUOTA_EXCEEDED_TYPE,
  RateLimitError,
  createRateLimiter,
  ipKey,
} from '../src/index.js'
import type {
  ConsumeOptions,
  ConsumeResult,
  RateLimitOptions,
  RateLimitStore,
} from '../src/index.js'
import { memoryLogger, req } from './fixtures/rate-limit/helpers.js'

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
})
afterEach(() => {
  vi.useRealTimers()
})

type Options = RateLimitOptions<{ path: string }>

async function run(options: Options, count: number, ip = '192.0.2.1') {
  const limiter = createRateLimiter(options)
  const decisions = []
  for (let i = 0; i < count; i++) decisions.push(await limiter.check(req(ip)))
  return decisions
}

describe('fixed window', () => {
  it('allows the limit, then answers 429 with draft-10 headers and a problem body', async () => {
    const decisions = await run({ limit: 3, windowMs: 60_000 }, 4)
    expect(decisions.map((d) => d.outcome)).toEqual(['allowed', 'allowed', 'allowed', 'limited'])
    expect(decisions[0]!.headers).toEqual({
      'RateLimit-Policy': '"default";q=3;w=60',
      RateLimit: '"default";r=2;t=60',
    })
    expect(decisions[3]!.headers).toEqual({
      'RateLimit-Policy': '"default";q=3;w=60',
      RateLimit: '"default";r=0;t=60',
      'Retry-After': '60',
      'Cache-Control': 'no-store',
    })
    const rejection = decisions[3]!.rejection!
    expect(rejection.status).toBe(429)
    expect(rejection.contentType).toBe('application/problem+json; charset=utf-8')
    expect(JSON.parse(rejection.body)).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Request cannot be satisfied as assigned quota has been exceeded',
      status: 429,
      'violated-policies': ['default'],
    })
    expect(QUOTA_EXCEEDED_TYPE).toBe(rejection.problem['type'])
    expect(QUOTA_EXCEEDED_TITLE).toBe(rejection.problem['title'])
  })

  it('starts a new window when the old one ends', async () => {
    const limiter = createRateLimiter({ limit: 1, windowMs: 10_000 })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    vi.setSystemTime(T0 + 4_000)
    const limited = await limiter.check(req('192.0.2.1'))
    expect(limited.outcome).toBe('limited')
    expect(limited.headers['Retry-After']).toBe('6')
    vi.setSystemTime(T0 + 10_000)
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
  })

  it('counts clients apart', async () => {
    const limiter = createRateLimiter({ limit: 1 })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.2'))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('limited')
  })
})

describe('gcra', () => {
  it('allows a burst of the limit, then one request per emission interval', async () => {
    const limiter = createRateLimiter({ limit: 10, windowMs: 10_000, algorithm: 'gcra' })
    const first = await limiter.check(req('192.0.2.1'))
    expect(first.headers['RateLimit']).toBe('"default";r=9;t=1')
    for (let i = 0; i < 9; i++)
      expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    const denied = await limiter.check(req('192.0.2.1'))
    expect(denied.outcome).toBe('limited')
    expect(denied.headers).toMatchObject({ RateLimit: '"default";r=0;t=10', 'Retry-After': '1' })
    vi.setSystemTime(T0 + 1_000)
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('limited')
  })

  it('refills smoothly: after half the window, half the burst is back', async () => {
    const limiter = createRateLimiter({ limit: 10, windowMs: 10_000, algorithm: 'gcra' })
    for (let i = 0; i < 10; i++) await limiter.check(req('192.0.2.1'))
    vi.setSystemTime(T0 + 5_000)
    let allowed = 0
    for (let i = 0; i < 10; i++) {
      if ((await limiter.check(req('192.0.2.1'))).outcome === 'allowed') allowed++
    }
    expect(allowed).toBe(5)
  })

  it('refills the whole burst once the window has passed since the last request', () => {
    const store = new MemoryStore()
    const options: ConsumeOptions = { cost: 1, limit: 5, windowMs: 1000, algorithm: 'gcra' }
    const burst = () => Array.from({ length: 6 }, () => store.consume('k', options).allowed)
    expect(burst()).toEqual([true, true, true, true, true, false])
    vi.setSystemTime(T0 + 1000)
    expect(burst()).toEqual([true, true, true, true, true, false])
    store.shutdown()
  })
})

describe('cost', () => {
  it('charges the configured cost and refuses what does not fit without charging it', async () => {
    const limiter = createRateLimiter({ limit: 10, cost: 3 })
    const decisions = []
    for (let i = 0; i < 4; i++) decisions.push(await limiter.check(req('192.0.2.1')))
    expect(decisions.map((d) => d.headers['RateLimit'])).toEqual([
      '"default";r=7;t=60',
      '"default";r=4;t=60',
      '"default";r=1;t=60',
      '"default";r=1;t=60',
    ])
    expect(decisions[3]!.outcome).toBe('limited')
  })

  it('takes the cost from a function of the request, and per route', async () => {
    const limiter = createRateLimiter<{ path: string }>({
      limit: 10,
      cost: (request) => (request.path === '/bulk' ? 5 : 1),
    })
    const bulk = await limiter.check({ ...req('192.0.2.1'), request: { path: '/bulk' } })
    expect(bulk.headers['RateLimit']).toBe('"default";r=5;t=60')
    const route = limiter.route({ cost: 4 })
    expect((await limiter.check(req('192.0.2.1'), route)).headers['RateLimit']).toBe(
      '"default";r=1;t=60',
    )
  })

  it('charges 1 when a cost function returns nonsense, and warns once', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 10, cost: () => -2, logger })
    await limiter.check(req('192.0.2.1'))
    const second = await limiter.check(req('192.0.2.1'))
    expect(second.headers['RateLimit']).toBe('"default";r=8;t=60')
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_INVALID_COST'])
  })

  it('a store without consume() charges every request 1', async () => {
    const limiter = createRateLimiter({ limit: 10, cost: 5, store: new ErlMemoryStore() })
    const decision = await limiter.check(req('192.0.2.1'))
    expect(decision.headers['RateLimit']).toBe('"default";r=9;t=60')
  })
})

describe('several policies', () => {
  const policies = [
    { name: 'burst', limit: 2, windowMs: 60_000 },
    { name: 'daily', limit: 5, windowMs: 86_400_000 },
  ]

  it('allows a request only when every policy allows it and lists each in the headers', async () => {
    const decisions = await run({ policies }, 3)
    expect(decisions[0]!.headers).toEqual({
      'RateLimit-Policy': '"burst";q=2;w=60, "daily";q=5;w=86400',
      RateLimit: '"burst";r=1;t=60, "daily";r=4;t=86400',
    })
    const third = decisions[2]!
    expect(third.outcome).toBe('limited')
    expect(third.headers['RateLimit']).toBe('"burst";r=0;t=60, "daily";r=2;t=86400')
    expect(third.headers['Retry-After']).toBe('60')
    expect(third.rejection!.problem['violated-policies']).toEqual(['burst'])
  })

  it('names every violated policy and waits for the longest', async () => {
    const limiter = createRateLimiter({
      policies: [
        { name: 'a', limit: 1, windowMs: 10_000 },
        { name: 'b', limit: 1, windowMs: 30_000, algorithm: 'gcra' },
      ],
    })
    await limiter.check(req('192.0.2.1'))
    const denied = await limiter.check(req('192.0.2.1'))
    expect(denied.rejection!.problem['violated-policies']).toEqual(['a', 'b'])
    expect(denied.headers['Retry-After']).toBe('30')
  })

  it('a route can bring its own policies', async () => {
    const limiter = createRateLimiter({ policies })
    const route = limiter.route({ policies: [{ name: 'login', limit: 1, windowMs: 900_000 }] })
    expect((await limiter.check(req('192.0.2.1'), route)).headers['RateLimit-Policy']).toBe(
      '"login";q=1;w=900',
    )
    expect((await limiter.check(req('192.0.2.1'), route)).outcome).toBe('limited')
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
  })
})

describe('header forms', () => {
  const twice = async (options: Options) => (await run({ limit: 3, ...options }, 1))[0]!.headers

  it('draft-8', async () => {
    expect(await twice({ headers: 'draft-8' })).toEqual({
      'RateLimit-Policy': '"default"; q=3; w=60',
      RateLimit: '"default"; r=2; t=60',
    })
  })

  it('draft-7', async () => {
    expect(await twice({ headers: 'draft-7' })).toEqual({
      'RateLimit-Policy': '3;w=60',
      RateLimit: 'limit=3, remaining=2, reset=60',
    })
  })

  it('draft-6', async () => {
    expect(await twice({ headers: 'draft-6' })).toEqual({
      'RateLimit-Policy': '3;w=60',
      'RateLimit-Limit': '3',
      'RateLimit-Remaining': '2',
      'RateLimit-Reset': '60',
    })
  })

  it('legacy X-RateLimit-* alone', async () => {
    expect(await twice({ headers: false, legacyHeaders: true })).toEqual({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '2',
      'X-RateLimit-Reset': String(T0 / 1000 + 60),
    })
  })

  it('draft-7 with several policies reports the binding one', async () => {
    const limiter = createRateLimiter({
      headers: 'draft-7',
      policies: [
        { name: 'burst', limit: 2, windowMs: 60_000 },
        { name: 'daily', limit: 100, windowMs: 86_400_000 },
      ],
    })
    const decision = await limiter.check(req('192.0.2.1'))
    expect(decision.headers['RateLimit']).toBe('limit=2, remaining=1, reset=60')
  })

  it('pk is a keyed hash of the client key, never the address', async () => {
    const headers = await twice({ partitionKey: true, partitionKeySecret: 'shared-secret' })
    const pk = createHmac('sha256', 'shared-secret')
      .update('ip:192.0.2.1')
      .digest()
      .subarray(0, 12)
      .toString('base64')
    expect(headers['RateLimit-Policy']).toBe(`"default";q=3;w=60;pk=:${pk}:`)
    expect(headers['RateLimit']).toBe(`"default";r=2;t=60;pk=:${pk}:`)
    expect(headers['RateLimit-Policy']).not.toContain('192.0.2.1')
    const draft8 = await twice({ headers: 'draft-8', partitionKey: true, partitionKeySecret: 's' })
    expect(draft8['RateLimit-Policy']).toMatch(/^"default"; q=3; w=60; pk=:[A-Za-z0-9+/]{16}:$/)
  })
})

describe('keys', () => {
  it('groups IPv6 by /56, maps IPv4-mapped addresses, and refuses malformed ones', () => {
    expect(ipKey('2001:db8:1234:5678::1')).toBe('2001:db8:1234:5600:0:0:0:0/56')
    expect(ipKey('2001:0db8:1234:56ff:ffff::9')).toBe('2001:db8:1234:5600:0:0:0:0/56')
    expect(ipKey('2001:db8:1234:5678::1', 48)).toBe('2001:db8:1234:0:0:0:0:0/48')
    expect(ipKey('2001:db8::1', false)).toBe('2001:db8:0:0:0:0:0:1')
    expect(ipKey('fe80::1%eth0', 64)).toBe('fe80:0:0:0:0:0:0:0/64')
    expect(ipKey('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(ipKey('::FFFF:192.0.2.7')).toBe('192.0.2.7')
    expect(ipKey('::ffff:c000:207')).toBe('192.0.2.7')
    expect(ipKey('192.0.2.7')).toBe('192.0.2.7')
    for (const bad of [
      '',
      'localhost',
      '1.2.3',
      '2001:db8::1::2',
      '12345::1',
      '::ffff:1.2.3.999',
    ]) {
      expect(ipKey(bad)).toBeUndefined()
    }
    expect(ipKey(undefined)).toBeUndefined()
    expect(ipKey('1:'.repeat(5000))).toBeUndefined()
  })

  it('one /56 shares a limit, another /56 does not', async () => {
    const limiter = createRateLimiter({ limit: 1 })
    expect((await limiter.check(req('2001:db8:aa:bb01::1'))).outcome).toBe('allowed')
    expect((await limiter.check(req('2001:db8:aa:bbff::42'))).outcome).toBe('limited')
    expect((await limiter.check(req('2001:db8:aa:cc00::1'))).outcome).toBe('allowed')
  })

  it('puts requests without a valid address under one key and warns once', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 1, logger })
    expect((await limiter.check(req(undefined))).outcome).toBe('allowed')
    expect((await limiter.check(req('not-an-ip'))).outcome).toBe('limited')
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_INVALID_IP'])
  })

  it('keys by subject when there is one, and a subject never collides with an address', async () => {
    const limiter = createRateLimiter({ limit: 1 })
    expect((await limiter.check(req('192.0.2.1', { subject: 'alice' }))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.99', { subject: 'alice' }))).outcome).toBe('limited')
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.7', { subject: '192.0.2.8' }))).outcome).toBe(
      'allowed',
    )
    expect((await limiter.check(req('192.0.2.8'))).outcome).toBe('allowed')
  })

  it('asks the subject option when the adapter has none (a limiter before authentication)', async () => {
    const seen: string[] = []
    const limiter = createRateLimiter<{ path: string; user?: string }>({
      limit: 1,
      subject: (request) => {
        seen.push(request.path)
        return Promise.resolve(request.user)
      },
    })
    const as = (ip: string, user?: string) => ({
      ...req(ip),
      request: { path: '/api', ...(user === undefined ? {} : { user }) },
    })
    expect((await limiter.check(as('192.0.2.1', 'alice'))).outcome).toBe('allowed')
    expect((await limiter.check(as('192.0.2.2', 'alice'))).outcome).toBe('limited')
    // no subject: the address
    expect((await limiter.check(as('192.0.2.1'))).outcome).toBe('allowed')
    expect((await limiter.check(as('192.0.2.1'))).outcome).toBe('limited')
    // the adapter's auth.subject wins without asking
    expect((await limiter.check({ ...as('192.0.2.3'), subject: 'bob' })).outcome).toBe('allowed')
    expect(seen).toHaveLength(4)
    expect(() => createRateLimiter({ limit: 1, subject: 'alice' as never })).toThrow(
      '"subject" option must be a function',
    )
  })

  it("'ip' ignores the subject; a key function sees the client", async () => {
    const byIp = createRateLimiter({ limit: 1, key: 'ip' })
    await byIp.check(req('192.0.2.1', { subject: 'alice' }))
    expect((await byIp.check(req('192.0.2.1', { subject: 'bob' }))).outcome).toBe('limited')
    const seen: unknown[] = []
    const custom = createRateLimiter<{ path: string }>({
      limit: 1,
      key: (request, client) => {
        seen.push(client)
        return request.path
      },
    })
    await custom.check(req('2001:db8::1'))
    expect(seen).toEqual([
      { ip: '2001:db8::1', subject: undefined, ipKey: '2001:db8:0:0:0:0:0:0/56' },
    ])
  })

  it('copes with very long header values and subjects', async () => {
    const limiter = createRateLimiter({ limit: 2, partitionKey: true })
    const long = 'x'.repeat(200_000)
    const decision = await limiter.check(
      req('192.0.2.1', {
        subject: long,
        headers: { 'x-forwarded-for': `${'10.0.0.1, '.repeat(20_000)}10.0.0.2`, forwarded: long },
      }),
    )
    expect(decision.outcome).toBe('allowed')
    for (const value of Object.values(decision.headers)) expect(value.length).toBeLessThan(200)
  })

  it('falls back to the IP when the key function throws, and logs it', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({
      limit: 1,
      logger,
      key: () => {
        throw new Error('boom')
      },
    })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('limited')
    expect(logger.lines.some((line) => line.level === 'error')).toBe(true)
  })

  it('skip() lets requests through without headers', async () => {
    const limiter = createRateLimiter<{ path: string }>({
      limit: 1,
      skip: (request) => request.path === '/api',
    })
    for (let i = 0; i < 3; i++) {
      expect(await limiter.check(req('192.0.2.1'))).toEqual({
        outcome: 'skipped',
        headers: {},
        rejection: undefined,
      })
    }
  })
})

describe('misconfiguration warnings', () => {
  it('warns once when trust proxy trusts every hop', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 100, logger })
    await limiter.check(req('192.0.2.1', { trustProxy: 'all' }))
    await limiter.check(req('192.0.2.1', { trustProxy: 'all' }))
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY'])
    expect(logger.lines[0]!.level).toBe('warn')
  })

  it('infers a permissive trust proxy when the adapter cannot tell', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 100, logger })
    await limiter.check(
      req('203.0.113.9', {
        trustProxy: undefined,
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' },
      }),
    )
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_PERMISSIVE_TRUST_PROXY'])
  })

  it('warns when X-Forwarded-For arrives while trust proxy is off', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 100, logger })
    await limiter.check(req('127.0.0.1', { headers: { 'x-forwarded-for': '203.0.113.9' } }))
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_UNEXPECTED_X_FORWARDED_FOR'])
  })

  it('warns about an ignored Forwarded header', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 100, logger })
    await limiter.check(req('127.0.0.1', { headers: { forwarded: 'for=203.0.113.9' } }))
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_FORWARDED_HEADER'])
  })

  it('warns when one request is counted twice by the same limiter', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 100, logger })
    const input = req('192.0.2.1')
    await limiter.check(input)
    await limiter.check(req('192.0.2.1'))
    expect(logger.codes()).toEqual([])
    await limiter.check(input, limiter.route({ cost: 2 }))
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_DOUBLE_COUNT'])
  })

  it('looks at the first 1000 requests for request-shape mistakes, then no more', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({ limit: 1_000_000, logger })
    for (let i = 0; i < 1000; i++) await limiter.check(req('127.0.0.1'))
    await limiter.check(req('127.0.0.1', { headers: { 'x-forwarded-for': '203.0.113.9' } }))
    expect(logger.codes()).toEqual([])

    const early = createRateLimiter({ limit: 1_000_000, logger })
    for (let i = 0; i < 999; i++) await early.check(req('127.0.0.1'))
    await early.check(req('127.0.0.1', { headers: { 'x-forwarded-for': '203.0.113.9' } }))
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_UNEXPECTED_X_FORWARDED_FOR'])
  })

  it('warns when two limiters share one store instance', () => {
    const logger = memoryLogger()
    const store = new MemoryStore()
    createRateLimiter({ limit: 1, store, logger })
    expect(logger.codes()).toEqual([])
    createRateLimiter({ limit: 1, store, logger })
    expect(logger.codes()).toEqual(['PALISADE_RATE_LIMIT_STORE_REUSE'])
  })

  it('each warning can be switched off, or all of them', async () => {
    const logger = memoryLogger()
    const store = new MemoryStore()
    createRateLimiter({ limit: 1, store, logger })
    const limiter = createRateLimiter({
      limit: 100,
      store,
      logger,
      validate: { storeReuse: false, trustProxy: false },
    })
    await limiter.check(req('192.0.2.1', { trustProxy: 'all' }))
    const silent = createRateLimiter({ limit: 100, logger, validate: false })
    await silent.check(
      req('127.0.0.1', { headers: { 'x-forwarded-for': '1.2.3.4', forwarded: 'x' } }),
    )
    await silent.check(req(undefined))
    expect(logger.codes()).toEqual([])
  })
})

describe('options', () => {
  it.each<[unknown, string]>([
    ['nope', '"options" argument must be an object'],
    [{}, '"limit" option is required'],
    [{ limit: 0 }, '"limit" option must be a positive integer'],
    [{ limit: 1.5 }, '"limit" option must be a positive integer'],
    [{ limit: 1, windowMs: -1 }, '"windowMs" option must be a positive integer'],
    [{ limit: 1, algorithm: 'sliding' }, `"algorithm" option must be 'fixed-window' or 'gcra'`],
    [{ limit: 1, name: 'has space' }, '"name" option must be 1 to 64 letters'],
    [{ policies: [] }, '"policies" option must be a non-empty array of policies'],
    [
      { policies: [{ name: 'a', limit: 1, windowMs: 1 }], limit: 2 },
      '"limit" option cannot be combined with "policies"',
    ],
    [
      {
        policies: [
          { name: 'a', limit: 1, windowMs: 1 },
          { name: 'a', limit: 2, windowMs: 2 },
        ],
      },
      '"policies[1].name" option repeats the policy name "a"',
    ],
    [{ policies: [{ name: 'a"b', limit: 1, windowMs: 1 }] }, '"policies[0].name" option must be'],
    [{ limit: 1, store: {} }, '"store" option must implement increment, decrement and resetKey'],
    [{ limit: 1, key: 'header' }, `"key" option must be 'ip', 'subject-or-ip' or a function`],
    [
      { limit: 1, ipv6Subnet: 16 },
      '"ipv6Subnet" option must be an integer from 32 to 64, or false',
    ],
    [{ limit: 1, cost: -1 }, '"cost" option must be a non-negative integer'],
    [{ limit: 1, skip: true }, '"skip" option must be a function'],
    [
      { limit: 1, headers: 'draft-9' },
      `"headers" option must be one of 'draft-10', 'draft-8', 'draft-7', 'draft-6'`,
    ],
    [{ limit: 1, legacyHeaders: 'yes' }, '"legacyHeaders" option must be a boolean'],
    [{ limit: 1, partitionKey: 1 }, '"partitionKey" option must be a boolean'],
    [
      { limit: 1, partitionKeySecret: '' },
      '"partitionKeySecret" option must be a non-empty string',
    ],
    [
      { limit: 1, onStoreError: 'ignore' },
      `"onStoreError" option must be one of 'open', 'closed', 'local'`,
    ],
    [{ limit: 1, storeTimeoutMs: 0 }, '"storeTimeoutMs" option must be a positive integer'],
    [
      { limit: 1, circuitBreakerThreshold: 0 },
      '"circuitBreakerThreshold" option must be a positive integer',
    ],
    [
      { limit: 1, circuitBreakerCooldownMs: 'x' },
      '"circuitBreakerCooldownMs" option must be a positive integer',
    ],
    [
      { limit: 1, storeErrorLogIntervalMs: -1 },
      '"storeErrorLogIntervalMs" option must be a non-negative integer',
    ],
    [{ limit: 1, validate: 'no' }, '"validate" option must be a boolean or an object'],
    [
      { limit: 1, validate: { nope: true } },
      'unknown option "validate.nope" in createRateLimiter(); known: trustProxy',
    ],
    [{ limit: 1, validate: { ip: 1 } }, '"validate.ip" option must be a boolean'],
    [{ limit: 1, logger: console.log }, '"logger" option must be a pino-compatible logger'],
    [
      { limit: 1, algorithm: 'gcra', store: new ErlMemoryStore() },
      `"policies" option: policy "default" uses 'gcra', which needs a store with consume()`,
    ],
    [
      {
        store: new ErlMemoryStore(),
        policies: [
          { name: 'a', limit: 1, windowMs: 1000 },
          { name: 'b', limit: 1, windowMs: 2000 },
        ],
      },
      '"policies" option: policies with different windows need a store with consume()',
    ],
  ])('%j throws a TypeError naming the option', (options, message) => {
    expect(() => createRateLimiter(options as Options)).toThrow(TypeError)
    expect(() => createRateLimiter(options as Options)).toThrow(message)
  })

  it('validates route overrides once, when the route is compiled', () => {
    const limiter = createRateLimiter({ limit: 1 })
    expect(() => limiter.route({ cost: 1.5 })).toThrow(
      '"rateLimit.cost" option must be a non-negative integer',
    )
    expect(() => limiter.route({ policies: [] })).toThrow(
      '"rateLimit.policies" option must be a non-empty array',
    )
    expect(() => limiter.route(null as never)).toThrow(
      '"rateLimit" route option must be an object or false',
    )
  })

  it('undefined means the default', async () => {
    const decision = (
      await run({ limit: 2, windowMs: undefined, headers: undefined, cost: undefined }, 1)
    )[0]!
    expect(decision.headers['RateLimit-Policy']).toBe('"default";q=2;w=60')
  })
})

/** A store whose backend is down: calls fail, or hang like a client queueing while offline. */
class DownStore implements RateLimitStore {
  calls = 0
  healthy = false
  readonly backing = new MemoryStore()
  constructor(private readonly hang = false) {}
  consume(key: string, options: ConsumeOptions): Promise<ConsumeResult> | ConsumeResult {
    this.calls++
    if (this.healthy) return this.backing.consume(key, options)
    if (this.hang) return new Promise<ConsumeResult>(() => undefined)
    return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6390'))
  }
  increment = () => ({ totalHits: 1, resetTime: undefined })
  decrement = () => undefined
  resetKey = () => undefined
}

describe('store failure', () => {
  it("'open' lets requests through, without headers, and logs once per interval", async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({
      limit: 1,
      store: new DownStore(),
      onStoreError: 'open',
      logger,
    })
    for (let i = 0; i < 3; i++) {
      expect(await limiter.check(req('192.0.2.1'))).toEqual({
        outcome: 'failed_open',
        headers: {},
        rejection: undefined,
      })
    }
    const errors = logger.lines.filter((line) => line.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]!.object['code']).toBe('PALISADE_RATE_LIMIT_STORE_UNAVAILABLE')
    expect(errors[0]!.object['err']).toBeInstanceOf(RateLimitError)
    expect(JSON.stringify(errors[0])).not.toContain('192.0.2.1')
    vi.setSystemTime(T0 + 60_000)
    await limiter.check(req('192.0.2.1'))
    expect(logger.lines.filter((line) => line.level === 'error')).toHaveLength(2)
  })

  it("'closed' answers 503 problem+json with Retry-After", async () => {
    const limiter = createRateLimiter({ limit: 1, store: new DownStore(), onStoreError: 'closed' })
    const decision = await limiter.check(req('192.0.2.1'))
    expect(decision.outcome).toBe('failed_closed')
    expect(decision.headers).toEqual({ 'Retry-After': '5', 'Cache-Control': 'no-store' })
    expect(decision.rejection!.status).toBe(503)
    expect(JSON.parse(decision.rejection!.body)).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
    })
  })

  it("'local' (the default) limits per instance in memory", async () => {
    const limiter = createRateLimiter({ limit: 2, store: new DownStore() })
    const outcomes = []
    for (let i = 0; i < 3; i++) outcomes.push((await limiter.check(req('192.0.2.1'))).outcome)
    expect(outcomes).toEqual(['local_allowed', 'local_allowed', 'local_limited'])
  })

  it('times out a store call that never answers', async () => {
    vi.useRealTimers()
    const logger = memoryLogger()
    const limiter = createRateLimiter({
      limit: 1,
      store: new DownStore(true),
      storeTimeoutMs: 30,
      onStoreError: 'open',
      logger,
    })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('failed_open')
    const error = logger.lines.find((line) => line.level === 'error')!.object[
      'err'
    ] as RateLimitError
    expect(error.code).toBe('PALISADE_RATE_LIMIT_STORE_TIMEOUT')
  })

  it('opens the circuit after consecutive failures, then probes once per cooldown and recovers', async () => {
    const store = new DownStore()
    const limiter = createRateLimiter({
      limit: 5,
      store,
      onStoreError: 'open',
      circuitBreakerThreshold: 2,
      circuitBreakerCooldownMs: 10_000,
    })
    for (let i = 0; i < 5; i++) await limiter.check(req('192.0.2.1'))
    expect(store.calls).toBe(2)
    vi.setSystemTime(T0 + 10_000)
    await limiter.check(req('192.0.2.1'))
    await limiter.check(req('192.0.2.1'))
    expect(store.calls).toBe(3)
    store.healthy = true
    vi.setSystemTime(T0 + 20_000)
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect(store.calls).toBe(5)
  })

  it('treats a store that answers nonsense as failing', async () => {
    const logger = memoryLogger()
    const store: RateLimitStore = {
      increment: () => ({ totalHits: 0, resetTime: undefined }),
      decrement: () => undefined,
      resetKey: () => undefined,
    }
    const limiter = createRateLimiter({ limit: 1, store, onStoreError: 'open', logger })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('failed_open')
    expect((logger.lines[0]!.object['err'] as RateLimitError).code).toBe(
      'PALISADE_RATE_LIMIT_STORE_INVALID_RESPONSE',
    )
  })

  it('a store whose init() fails is logged, not thrown', async () => {
    const logger = memoryLogger()
    const backing = new MemoryStore()
    const broken: RateLimitStore = {
      init: () => Promise.reject(new Error('no scripts')),
      consume: (key, options) => backing.consume(key, options),
      increment: (key) => backing.increment(key),
      decrement: () => undefined,
      resetKey: () => undefined,
    }
    const limiter = createRateLimiter({ limit: 1, store: broken, logger })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect(logger.codes()).toContain('PALISADE_RATE_LIMIT_STORE_INIT_FAILED')
  })
})

describe('express-rate-limit stores', () => {
  it("drive express-rate-limit's own MemoryStore through increment()", async () => {
    const store = new ErlMemoryStore()
    const limiter = createRateLimiter({ limit: 2, windowMs: 30_000, store })
    const outcomes = []
    for (let i = 0; i < 3; i++) outcomes.push(await limiter.check(req('192.0.2.1')))
    expect(outcomes.map((d) => d.outcome)).toEqual(['allowed', 'allowed', 'limited'])
    expect(outcomes[2]!.headers['RateLimit']).toBe('"default";r=0;t=30')
    expect(await store.get('default:ip:192.0.2.1')).toMatchObject({ totalHits: 3 })
    await limiter.shutdown()
  })
})

describe('store calls', () => {
  it('calls a synchronous store directly, without arming a timeout timer per request', async () => {
    const limiter = createRateLimiter({ limit: 10, key: 'ip' })
    await limiter.check(req('192.0.2.7'))
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout')
    try {
      const decision = await limiter.check(req('192.0.2.7'))
      expect(decision.outcome).toBe('allowed')
      expect(setTimeoutSpy).not.toHaveBeenCalled()
    } finally {
      setTimeoutSpy.mockRestore()
    }
  })

  it('answers without a promise when the store answers synchronously, with one otherwise', async () => {
    const limiter = createRateLimiter({ limit: 2, key: 'ip' })
    // The first call waits for the store's init(); from then on the memory store is synchronous.
    const first = limiter.check(req('192.0.2.9'))
    expect(first).toBeInstanceOf(Promise)
    expect((await first).outcome).toBe('allowed')
    const second = limiter.check(req('192.0.2.9'))
    expect(second).not.toBeInstanceOf(Promise)
    expect(second).toMatchObject({ outcome: 'allowed' })
    expect(limiter.check(req('192.0.2.9'))).toMatchObject({ outcome: 'limited' })

    const asyncStore: RateLimitStore = {
      increment: () => Promise.resolve({ totalHits: 1, resetTime: undefined }),
      decrement: () => undefined,
      resetKey: () => undefined,
    }
    const remote = createRateLimiter({ limit: 2, key: 'ip', store: asyncStore })
    await remote.check(req('192.0.2.9'))
    const pending = remote.check(req('192.0.2.9'))
    expect(pending).toBeInstanceOf(Promise)
    expect((await pending).outcome).toBe('allowed')

    // An asynchronous key, cost or skip function makes the answer a promise, synchronous store or not.
    const keyed = createRateLimiter({ limit: 2, key: () => Promise.resolve('tenant-1') })
    const byKey = keyed.check(req('192.0.2.9'))
    expect(byKey).toBeInstanceOf(Promise)
    expect((await byKey).outcome).toBe('allowed')
  })

  it('falls back to the IP when a synchronous skip or cost function throws', async () => {
    const logger = memoryLogger()
    const limiter = createRateLimiter({
      limit: 1,
      logger,
      key: 'ip',
      skip: () => {
        throw new Error('boom')
      },
    })
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect((await limiter.check(req('192.0.2.1'))).outcome).toBe('limited')
    const costly = createRateLimiter({
      limit: 1,
      logger,
      key: 'ip',
      cost: () => Promise.reject(new Error('boom')),
    })
    expect((await costly.check(req('192.0.2.1'))).outcome).toBe('allowed')
    expect((await costly.check(req('192.0.2.1'))).outcome).toBe('limited')
    expect(logger.lines.filter((line) => line.level === 'error')).toHaveLength(4)
  })

  it('keeps each policy list its own RateLimit-Policy field, and none is shared with pk', async () => {
    const limiter = createRateLimiter({ limit: 5, windowMs: 60_000, key: 'ip' })
    const burst = limiter.route({
      policies: [{ name: 'burst', limit: 2, windowMs: 1_000 }],
    })
    for (let i = 0; i < 2; i++) {
      expect((await limiter.check(req('192.0.2.1'))).headers['RateLimit-Policy']).toBe(
        '"default";q=5;w=60',
      )
      expect((await limiter.check(req('192.0.2.1'), burst)).headers['RateLimit-Policy']).toBe(
        '"burst";q=2;w=1',
      )
    }
    const keyed = createRateLimiter({
      limit: 5,
      key: 'ip',
      partitionKey: true,
      partitionKeySecret: 's'.repeat(32),
    })
    const a = (await keyed.check(req('192.0.2.1'))).headers['RateLimit-Policy']
    const b = (await keyed.check(req('192.0.2.2'))).headers['RateLimit-Policy']
    expect(a).not.toBe(b)
  })

  it('still times out a store whose promise never settles', async () => {
    const hanging: RateLimitStore = {
      increment: () => new Promise(() => undefined),
      decrement: () => undefined,
      resetKey: () => undefined,
    }
    const limiter = createRateLimiter({
      limit: 10,
      key: 'ip',
      store: hanging,
      storeTimeoutMs: 20,
      onStoreError: 'closed',
    })
    await limiter.check(req('192.0.2.8'))
    const decision = await limiter.check(req('192.0.2.8'))
    expect(decision.rejection?.status).toBe(503)
  })
})
