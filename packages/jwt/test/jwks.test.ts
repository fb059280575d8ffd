import { afterEach, describe, expect, it } from 'vitest'
import type { DevIssuer } from '@palisade/testing'
import { startDevIssuer } from '@palisade/testing'
import type { Logger, VerifierOptions } from '../src/index.js'
import { createVerifier } from '../src/index.js'
import { rejection, sleep, startServer } from './helpers.js'

const open: { close: () => Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()))
})

/** A verifier trusting `issuer` for audience `api` over loopback HTTP, with `options` on top. */
function verifierFor(issuer: DevIssuer, options: Partial<VerifierOptions> = {}) {
  return createVerifier({
    issuer: issuer.issuer,
    audience: 'api',
    allowInsecureHttp: true,
    ...options,
  })
}

async function issuerFor(options: Parameters<typeof startDevIssuer>[0] = {}): Promise<DevIssuer> {
  const issuer = await startDevIssuer(options)
  open.push(issuer)
  return issuer
}

function recordingLogger() {
  const lines: { level: string; object: Record<string, unknown>; message: string }[] = []
  const at = (level: string) => (object: Record<string, unknown>, message: string) =>
    lines.push({ level, object, message })
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  }
  return { logger, lines }
}

describe('JWKS cache', () => {
  it('fetches discovery and the key set once for many concurrent first requests', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer)
    const tokens = await Promise.all(Array.from({ length: 50 }, () => issuer.mint()))
    await Promise.all(tokens.map((t) => verifier.verify(t)))
    expect(issuer.requests.discovery).toBe(1)
    expect(issuer.requests.jwks).toBe(1)
  })

  it('lets 50 concurrent unknown-kid tokens cause at most one refetch', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, {
      jwks: { cooldownMs: 50 },
    })
    await verifier.ready()
    await sleep(60)
    issuer.resetCounters()
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => issuer.mint({ kid: `unknown-${i}` })),
    )
    const results = await Promise.allSettled(tokens.map((t) => verifier.verify(t)))
    expect(
      results.every(
        (r) =>
          r.status === 'rejected' &&
          (r.reason as { code: string }).code === 'PALISADE_JWT_UNKNOWN_KEY',
      ),
    ).toBe(true)
    expect(issuer.requests.jwks).toBeLessThanOrEqual(2)
    expect(issuer.requests.jwks).toBeGreaterThanOrEqual(1)
    // within the cooldown another unknown kid asks the issuer nothing
    await rejection(async () => verifier.verify(await issuer.mint({ kid: 'unknown-again' })))
    expect(issuer.requests.jwks).toBeLessThanOrEqual(2)
  })

  it('never lets a token from another issuer cause a refetch, warm or cold', async () => {
    const issuer = await issuerFor()
    const other = await issuerFor()
    const verifier = verifierFor(issuer, {
      jwks: { cooldownMs: 1 },
    })
    await verifier.ready()
    await sleep(5)
    issuer.resetCounters()
    const foreign = await other.mint({ kid: 'not-in-our-set' })
    expect((await rejection(() => verifier.verify(foreign))).code).toBe(
      'PALISADE_JWT_ISSUER_INVALID',
    )
    expect(issuer.requests.total).toBe(0)
    expect(other.requests.total).toBe(0)
  })

  it('picks up a key rotation without a restart', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, {
      jwks: { cooldownMs: 20 },
    })
    const before = await issuer.mint()
    await verifier.verify(before)
    await sleep(30)
    const kid = await issuer.rotate()
    const after = await issuer.mint()
    const auth = await verifier.verify(after)
    expect(auth.header.kid).toBe(kid)
    expect(await verifier.verify(before)).toBeDefined()
  })

  it('answers 503 when the key set was never available, and names no internals', async () => {
    const issuer = await issuerFor()
    issuer.fail('error')
    const { logger, lines } = recordingLogger()
    const verifier = verifierFor(issuer, {
      logger,
    })
    const error = await rejection(async () => verifier.verify(await issuer.mint()))
    expect(error.code).toBe('PALISADE_JWT_JWKS_UNAVAILABLE')
    expect(error.status).toBe(503)
    expect(error.headers).toEqual({ 'Retry-After': '5' })
    expect(error.toResponse().body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'Token verification is temporarily unavailable',
    })
    expect(
      lines.some((l) => l.level === 'warn' && l.object['code'] === 'PALISADE_JWT_JWKS_UNAVAILABLE'),
    ).toBe(true)
    await expect(verifier.ready()).rejects.toMatchObject({ code: 'PALISADE_JWT_JWKS_UNAVAILABLE' })
    issuer.fail('none')
    await sleep(1100)
    expect(await verifier.verify(await issuer.mint())).toBeDefined()
  })

  it('keeps serving with the last good key set while the endpoint fails, for a bounded time', async () => {
    const issuer = await issuerFor({ jwksMaxAgeSeconds: 0 })
    const { logger, lines } = recordingLogger()
    const verifier = verifierFor(issuer, {
      logger,
      jwks: { minCacheMaxAgeMs: 1, cooldownMs: 1, staleIfErrorMs: 1500 },
    })
    // Generous: a loaded machine must not outlive the stale window before the rotated kid is tried.
    const token = await issuer.mint()
    await verifier.verify(token)
    issuer.fail('error')
    for (let i = 0; i < 5; i++) {
      expect((await verifier.verify(token)).subject).toBe('user-1')
      await sleep(20)
    }
    // a new kid cannot be checked during the outage: an outage, not a bad token, and not a 503
    const rotatedKid = await issuer.rotate()
    const unknown = await rejection(async () =>
      verifier.verify(await issuer.mint({ kid: rotatedKid })),
    )
    expect(unknown.code).toBe('PALISADE_JWT_KEY_UNAVAILABLE')
    expect(unknown.status).toBe(401)
    expect(
      lines.filter(
        (l) => l.level === 'warn' && l.object['code'] === 'PALISADE_JWT_JWKS_UNAVAILABLE',
      ),
    ).toHaveLength(1)
    await sleep(1600)
    expect((await rejection(() => verifier.verify(token))).code).toBe(
      'PALISADE_JWT_JWKS_UNAVAILABLE',
    )
  })

  it('refreshes in the background before expiry, so requests do not wait', async () => {
    const issuer = await issuerFor({ jwksMaxAgeSeconds: 1 })
    const verifier = verifierFor(issuer, {
      jwks: { minCacheMaxAgeMs: 1, refreshAhead: 0.5 },
    })
    const token = await issuer.mint()
    await verifier.verify(token)
    issuer.resetCounters()
    await sleep(600)
    issuer.fail('slow', { delayMs: 1500 })
    const started = Date.now()
    await verifier.verify(token)
    expect(Date.now() - started).toBeLessThan(500)
    await sleep(50)
    expect(issuer.requests.jwks).toBe(1)
  })

  it('honours Cache-Control max-age within the configured bounds', async () => {
    const issuer = await issuerFor({ jwksMaxAgeSeconds: 3600 })
    const verifier = verifierFor(issuer, {
      jwks: { cacheMaxAgeMs: 1, minCacheMaxAgeMs: 1 },
    })
    for (let i = 0; i < 5; i++) {
      await verifier.verify(await issuer.mint())
      await sleep(5)
    }
    expect(issuer.requests.jwks).toBe(1)
  })

  it('fails a hanging endpoint within the timeout', async () => {
    const issuer = await issuerFor()
    issuer.fail('hang')
    const verifier = verifierFor(issuer, {
      jwks: { timeoutMs: 200 },
    })
    const started = Date.now()
    const error = await rejection(async () => verifier.verify(await issuer.mint()))
    expect(error.code).toBe('PALISADE_JWT_JWKS_UNAVAILABLE')
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it.each([
    [
      'garbage instead of JSON',
      (issuer: DevIssuer) => {
        issuer.fail('garbage')
      },
    ],
  ])('treats %s as an outage', async (_label, breakIt) => {
    const issuer = await issuerFor()
    breakIt(issuer)
    const verifier = verifierFor(issuer)
    expect((await rejection(async () => verifier.verify(await issuer.mint()))).code).toBe(
      'PALISADE_JWT_JWKS_UNAVAILABLE',
    )
  })

  it('refuses a key set response larger than the limit', async () => {
    const big = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ keys: [], padding: 'x'.repeat(300 * 1024) }))
    })
    open.push(big)
    const issuer = await issuerFor()
    const { logger, lines } = recordingLogger()
    const verifier = verifierFor(issuer, {
      jwksUrl: `${big.url}/jwks`,
      logger,
    })
    expect((await rejection(async () => verifier.verify(await issuer.mint()))).code).toBe(
      'PALISADE_JWT_JWKS_UNAVAILABLE',
    )
    expect(lines.find((l) => l.level === 'warn')?.message).toContain('more than the 262144')
  })

  it('refuses a discovery document that names another issuer', async () => {
    const issuer = await issuerFor()
    const impostor = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ issuer: issuer.issuer, jwks_uri: issuer.jwksUri }))
    })
    open.push(impostor)
    const verifier = createVerifier({
      issuer: impostor.url,
      audience: 'api',
      allowInsecureHttp: true,
    })
    await expect(verifier.ready()).rejects.toMatchObject({ code: 'PALISADE_JWT_JWKS_UNAVAILABLE' })
    expect(issuer.requests.jwks).toBe(0)
  })

  it('refuses a discovery document whose jwks_uri is plain http to another host', async () => {
    const doc = await startServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          issuer: `http://127.0.0.1:${req.socket.localPort}`,
          jwks_uri: 'http://keys.example.com/jwks',
        }),
      )
    })
    open.push(doc)
    const { logger, lines } = recordingLogger()
    const verifier = createVerifier({
      issuer: doc.url,
      audience: 'api',
      allowInsecureHttp: true,
      logger,
    })
    await expect(verifier.ready()).rejects.toMatchObject({ code: 'PALISADE_JWT_JWKS_UNAVAILABLE' })
    expect(lines[0]?.message).toContain('its jwks_uri is unusable')
  })

  it('does not follow redirects', async () => {
    const issuer = await issuerFor()
    const redirect = await startServer((_req, res) => {
      res.writeHead(302, { location: issuer.jwksUri })
      res.end()
    })
    open.push(redirect)
    const verifier = verifierFor(issuer, {
      jwksUrl: `${redirect.url}/jwks`,
    })
    expect((await rejection(async () => verifier.verify(await issuer.mint()))).code).toBe(
      'PALISADE_JWT_JWKS_UNAVAILABLE',
    )
    expect(issuer.requests.jwks).toBe(0)
  })
})

describe('JwksCache key lookup', () => {
  async function cacheFor(issuer: DevIssuer, now: () => number) {
    const { JwksCache, jwksDefaults } = await import('../src/jwks.js')
    const { telemetry } = await import('../src/telemetry.js')
    return new JwksCache(
      { ...jwksDefaults, minCacheMaxAgeMs: 1, cooldownMs: 0 },
      {
        jwksUrl: () => Promise.resolve(issuer.jwksUri),
        fetch: globalThis.fetch,
        logger: undefined,
        telemetry: telemetry(),
        now,
        onChange: () => undefined,
      },
    )
  }

  it('answers a key it already resolved without a promise, and never from a replaced set', async () => {
    const issuer = await issuerFor({ jwksMaxAgeSeconds: 0 })
    let clock = 1_000_000
    const cache = await cacheFor(issuer, () => clock)
    const oldKid = String(issuer.publicJwks().keys[0]?.kid)
    const header = { alg: 'RS256', kid: oldKid }
    const first = cache.getKey(header)
    expect(first).toBeInstanceOf(Promise)
    const key = await first
    // the hot path: the same alg and kid from the same set, no promise to await
    expect(cache.getKey(header)).toBe(key)
    const unknown = cache.getKey({ alg: 'RS256', kid: 'someone-else' })
    expect(unknown).toBeInstanceOf(Promise)
    await expect(unknown).rejects.toThrow(/no key with this kid/)

    // the issuer rotates and retires the old key; once the set is refreshed the old key is gone
    await issuer.rotate()
    issuer.retire(oldKid)
    clock += 60_000
    await cache.ready()
    const lookup = cache.getKey(header)
    expect(lookup).toBeInstanceOf(Promise)
    await expect(lookup).rejects.toThrow(/no key with this kid/)
  })
})

describe('fetchJson()', () => {
  // Node's fetch (undici) resends an idempotent request whose reused connection was closed before
  // it was answered; the JWKS fetch relies on that rather than retrying on its own.
  it('survives a kept-alive connection that the server closed under it', async () => {
    const { createServer } = await import('node:http')
    const { fetchJson } = await import('../src/jwks.js')
    const perConnection = new WeakMap<object, number>()
    let connections = 0
    const server = createServer((req, res) => {
      const seen = (perConnection.get(req.socket) ?? 0) + 1
      perConnection.set(req.socket, seen)
      // the second request on a connection: the server drops it as an idle-timeout race would
      if (seen > 1) {
        req.socket.destroy()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive' })
      res.end('{"keys":[]}')
    })
    server.on('connection', () => connections++)
    server.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    open.push({
      close: () =>
        new Promise((resolve) =>
          server.close(() => {
            resolve()
          }),
        ),
    })
    const { port } = server.address() as { port: number }
    const url = `http://127.0.0.1:${port}/jwks`
    const options = { timeoutMs: 5000, maxResponseBytes: 1024, what: 'JWKS' }
    expect((await fetchJson(globalThis.fetch, url, options)).json).toEqual({ keys: [] })
    expect((await fetchJson(globalThis.fetch, url, options)).json).toEqual({ keys: [] })
    expect(connections).toBe(2)
    server.closeAllConnections()
  })
})
