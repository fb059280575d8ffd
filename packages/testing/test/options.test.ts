import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { DevIssuerError, startDevIssuer } from '../src/index.js'
import type { DevIssuerOptions } from '../src/index.js'

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

describe('startDevIssuer() options', () => {
  it.each([
    [
      { host: '0.0.0.0' },
      '"host" option must be a loopback host (127.x.x.x, ::1 or localhost), got "0.0.0.0"',
    ],
    [{ host: '::' }, '"host" option must be a loopback host'],
    [{ host: '192.168.1.10' }, '"host" option must be a loopback host'],
    [{ host: 'example.com' }, '"host" option must be a loopback host'],
    [{ host: '127.example.com' }, '"host" option must be a loopback host'],
    [
      { host: 1 },
      '"host" option must be a loopback host (127.x.x.x, ::1 or localhost), got number',
    ],
    [{ port: -1 }, '"port" option must be an integer from 0 to 65535'],
    [{ port: 65536 }, '"port" option must be an integer from 0 to 65535'],
    [{ port: 80.5 }, '"port" option must be an integer from 0 to 65535'],
    [{ port: '8080' }, '"port" option must be an integer from 0 to 65535'],
    [
      { algorithms: [] },
      '"algorithms" option must be a non-empty array of RS256, PS256, ES256, EdDSA',
    ],
    [{ algorithms: ['HS256'] }, '"algorithms" option must be a non-empty array'],
    [{ algorithms: 'RS256' }, '"algorithms" option must be a non-empty array'],
    [{ algorithms: ['ES256', 'ES256'] }, '"algorithms" option lists "ES256" more than once'],
    [{ audience: '' }, '"audience" option must be a non-empty string'],
    [{ defaultTtlSeconds: 0 }, '"defaultTtlSeconds" option must be a positive integer'],
    [{ jwksMaxAgeSeconds: -1 }, '"jwksMaxAgeSeconds" option must be a non-negative integer'],
    [{ ttl: 60 }, 'unknown option "ttl"'],
  ])('refuses %j with a TypeError naming the option', async (options, message) => {
    const error = await rejection(startDevIssuer(options as DevIssuerOptions))
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toContain(message)
  })

  it('refuses options that are not an object', async () => {
    // @ts-expect-error -- invalid on purpose
    const error = await rejection(startDevIssuer('127.0.0.1'))
    expect(error).toBeInstanceOf(TypeError)
  })

  it.each([
    ['localhost', /^http:\/\/localhost:\d+$/],
    ['LOCALHOST', /^http:\/\/localhost:\d+$/],
    ['127.0.0.2', /^http:\/\/127\.0\.0\.2:\d+$/],
    ['::1', /^http:\/\/\[::1\]:\d+$/],
    ['0:0:0:0:0:0:0:1', /^http:\/\/\[::1\]:\d+$/],
  ])('accepts the loopback host %s and serves on it', async (host, pattern) => {
    const issuer = await startDevIssuer({ host, algorithms: ['ES256'] })
    try {
      expect(issuer.issuer).toMatch(pattern)
      const response = await fetch(issuer.discoveryUrl)
      expect(((await response.json()) as { issuer: string }).issuer).toBe(issuer.issuer)
    } finally {
      await issuer.close()
    }
  })

  it('treats undefined as the default', async () => {
    const issuer = await startDevIssuer({ host: undefined, port: undefined, audience: undefined })
    try {
      expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(issuer.publicJwks().keys.map((key) => key.alg)).toEqual(['RS256', 'ES256', 'EdDSA'])
      expect(decodeJwt(await issuer.mint()).aud).toBe('api')
    } finally {
      await issuer.close()
    }
  })

  it('applies audience, defaultTtlSeconds and jwksMaxAgeSeconds', async () => {
    const issuer = await startDevIssuer({
      algorithms: ['ES256'],
      audience: 'orders',
      defaultTtlSeconds: 42,
      jwksMaxAgeSeconds: 7,
    })
    try {
      const payload = decodeJwt(await issuer.mint())
      expect(payload.aud).toBe('orders')
      expect(payload.exp! - payload.iat!).toBe(42)
      expect(issuer.audience).toBe('orders')
      const response = await fetch(issuer.jwksUri)
      expect(response.headers.get('cache-control')).toBe('public, max-age=7')
    } finally {
      await issuer.close()
    }
  })

  it('listens on a given port, and reports a taken port as PALISADE_TESTING_LISTEN_FAILED', async () => {
    const first = await startDevIssuer({ algorithms: ['ES256'] })
    try {
      const port = Number(new URL(first.issuer).port)
      const error = await rejection(startDevIssuer({ port, algorithms: ['ES256'] }))
      expect(error).toBeInstanceOf(DevIssuerError)
      expect(error.code).toBe('PALISADE_TESTING_LISTEN_FAILED')
      expect(error.message).toContain(`port ${port}`)
      expect(error.message).toContain('EADDRINUSE')
      await first.close()
      const second = await startDevIssuer({ port, algorithms: ['ES256'] })
      expect(second.issuer).toBe(`http://127.0.0.1:${port}`)
      await second.close()
    } finally {
      await first.close()
    }
  })

  it('close() can be called twice', async () => {
    const issuer = await startDevIssuer({ algorithms: ['ES256'] })
    await issuer.close()
    await expect(issuer.close()).resolves.toBeUndefined()
    await expect(fetch(issuer.jwksUri)).rejects.toThrow(TypeError)
  })
})
