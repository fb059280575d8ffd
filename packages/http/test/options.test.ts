import { describe, expect, it } from 'vitest'
import {
  MemoryStore,
  RedisStore,
  createCspReportReceiver,
  createRateLimiter,
  createSecurityHeaders,
} from '../src/index.js'

// Options are untyped here on purpose: plain JavaScript callers pass names that do not exist.
const loose = (options: Record<string, unknown>): never => options as never

describe('unknown option names', () => {
  it('createRateLimiter() refuses express-rate-limit names with the Palisade name', () => {
    const keyGenerator = () => 'k'
    expect(() => createRateLimiter(loose({ windowMs: 60_000, limit: 10, keyGenerator }))).toThrow(
      new TypeError(
        `unknown option "keyGenerator" in createRateLimiter(): did you mean "key"? (express-rate-limit's keyGenerator is Palisade's key)`,
      ),
    )
    expect(() => createRateLimiter(loose({ limit: 10, standardHeaders: 'draft-8' }))).toThrow(
      /"standardHeaders" in createRateLimiter\(\): did you mean "headers"\?/,
    )
    expect(() => createRateLimiter(loose({ max: 10 }))).toThrow(/did you mean "limit"\?/)
    expect(() => createRateLimiter(loose({ limit: 10, handler: () => undefined }))).toThrow(
      /"handler" in createRateLimiter\(\) \(from express-rate-limit\): .*problem\+json/,
    )
  })

  it('createRateLimiter() suggests near misses and lists the names otherwise', () => {
    expect(() => createRateLimiter(loose({ limit: 10, windowMS: 1000 }))).toThrow(
      /unknown option "windowMS" in createRateLimiter\(\): did you mean "windowMs"\?/,
    )
    expect(() => createRateLimiter(loose({ limit: 10, storeTimeout: 10 }))).toThrow(
      /did you mean "storeTimeoutMs"\?/,
    )
    expect(() => createRateLimiter(loose({ limit: 10, zzz: 1 }))).toThrow(
      /unknown option "zzz" in createRateLimiter\(\); known: policies, limit, windowMs/,
    )
  })

  it('undefined keeps meaning "default" for known names', () => {
    expect(() =>
      createRateLimiter({ limit: 10, windowMs: undefined, key: undefined }),
    ).not.toThrow()
  })

  it('route overrides and nested policies are checked with their path', () => {
    const limiter = createRateLimiter({ limit: 10 })
    expect(() => limiter.route(loose({ costs: 2 }))).toThrow(
      /unknown option "rateLimit.costs" in the route's rate-limit options: did you mean "rateLimit.cost"\?/,
    )
    expect(() =>
      createRateLimiter(loose({ policies: [{ name: 'a', limit: 1, windowMs: 1000, max: 2 }] })),
    ).toThrow(
      /unknown option "policies\[0\].max" in createRateLimiter\(\): did you mean "policies\[0\].limit"\?/,
    )
  })

  it('MemoryStore and RedisStore refuse unknown names', () => {
    expect(() => new MemoryStore(loose({ maxKey: 10 }))).toThrow(
      /unknown option "maxKey" in new MemoryStore\(\): did you mean "maxKeys"\?/,
    )
    const client = { call: () => Promise.resolve(0) }
    expect(() => new RedisStore(loose({ sendCommand: () => 0, prefixx: 'a' }))).toThrow(
      /unknown option "prefixx" in new RedisStore\(\): did you mean "prefix"\?/,
    )
    expect(client).toBeDefined()
  })

  it('createCspReportReceiver() refuses unknown names, nested rateLimit with its path', () => {
    expect(() => createCspReportReceiver(loose({ maxBytez: 10 }))).toThrow(
      /unknown option "maxBytez" in createCspReportReceiver\(\): did you mean "maxBytes"\?/,
    )
    expect(() => createCspReportReceiver(loose({ rateLimit: { max: 5 } }))).toThrow(
      /unknown option "rateLimit.max" in createCspReportReceiver\(\): did you mean "rateLimit.limit"\?/,
    )
  })

  it('createSecurityHeaders() refuses unknown names with the shared wording', () => {
    expect(() => createSecurityHeaders(loose({ contentSecurityPolicy: false }))).toThrow(
      /unknown option "contentSecurityPolicy" in createSecurityHeaders\(\): did you mean "helmet.contentSecurityPolicy"\?/,
    )
    expect(() => createSecurityHeaders(loose({ helmet: { hsts: false } }))).toThrow(
      /unknown option "helmet.hsts" in createSecurityHeaders\(\): did you mean "helmet.strictTransportSecurity"\?/,
    )
    expect(() => createSecurityHeaders(loose({ helmet: { xFrameOption: false } }))).toThrow(
      /unknown option "helmet.xFrameOption" in createSecurityHeaders\(\): did you mean "helmet.xFrameOptions"\?/,
    )
    expect(() =>
      createSecurityHeaders(loose({ helmet: { contentSecurityPolicy: { directive: {} } } })),
    ).toThrow(
      /unknown option "helmet.contentSecurityPolicy.directive" in createSecurityHeaders\(\): did you mean "helmet.contentSecurityPolicy.directives"\?/,
    )
    expect(() => createSecurityHeaders().withOverrides(loose({ preset: 'web' }))).toThrow(
      /unknown option "preset" in the route's security header overrides/,
    )
  })
})
