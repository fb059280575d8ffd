import { request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startDevIssuer } from '../src/index.js'
import type { DevIssuer } from '../src/index.js'

let issuer: DevIssuer
beforeEach(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'] })
})
afterEach(async () => {
  await issuer.close()
})

async function statusOf(url: string): Promise<number> {
  return (await fetch(url)).status
}

describe('fail()', () => {
  it("'error' answers 500 on both endpoints, 'none' restores", async () => {
    issuer.fail('error')
    const response = await fetch(issuer.jwksUri)
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ error: 'server_error' })
    expect(await statusOf(issuer.discoveryUrl)).toBe(500)
    issuer.fail('none')
    expect(await statusOf(issuer.jwksUri)).toBe(200)
    expect(await statusOf(issuer.discoveryUrl)).toBe(200)
  })

  it('breaks only the given paths', async () => {
    issuer.fail('error', { paths: ['jwks'] })
    expect(await statusOf(issuer.jwksUri)).toBe(500)
    expect(await statusOf(issuer.discoveryUrl)).toBe(200)
    issuer.fail('garbage', { paths: ['discovery'] })
    expect(await statusOf(issuer.jwksUri)).toBe(500)
    issuer.fail('none', { paths: ['jwks'] })
    expect(await statusOf(issuer.jwksUri)).toBe(200)
    expect(await (await fetch(issuer.discoveryUrl)).text()).not.toMatch(/^\{/)
  })

  it("'garbage' answers 200 with a body that is not JSON", async () => {
    issuer.fail('garbage')
    for (const url of [issuer.jwksUri, issuer.discoveryUrl]) {
      const response = await fetch(url)
      expect(response.status).toBe(200)
      const body = await response.text()
      expect(body.length).toBeGreaterThan(0)
      expect(() => JSON.parse(body) as unknown).toThrow(SyntaxError)
    }
  })

  it("'slow' answers normally after delayMs", async () => {
    const delayMs = 300
    issuer.fail('slow', { delayMs, paths: ['jwks'] })
    const started = performance.now()
    const response = await fetch(issuer.jwksUri)
    const elapsed = performance.now() - started
    // Timers run on millisecond ticks of the event loop clock; allow one tick of rounding.
    expect(elapsed).toBeGreaterThanOrEqual(delayMs - 1)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(issuer.publicJwks())

    const fast = performance.now()
    await fetch(issuer.discoveryUrl)
    expect(performance.now() - fast).toBeLessThan(delayMs)
  })

  it("'hang' never answers, counts the request, and close() still completes quickly", async () => {
    issuer.fail('hang')
    await expect(fetch(issuer.jwksUri, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject(
      {
        name: 'TimeoutError',
      },
    )
    expect(issuer.requests.jwks).toBe(1)

    // A client that does not give up: close() must end its connection rather than wait for it.
    const outcome = new Promise<string>((resolve) => {
      const pending = request(issuer.discoveryUrl, (response) => {
        resolve(`answered ${String(response.statusCode)}`)
      })
      pending.on('error', (error: NodeJS.ErrnoException) => {
        resolve(error.code ?? error.message)
      })
      pending.end()
    })
    await expect.poll(() => issuer.requests.discovery).toBe(1)
    const started = performance.now()
    await issuer.close()
    expect(performance.now() - started).toBeLessThan(1000)
    expect(await outcome).toBe('ECONNRESET')
  })

  it('close() also ends slow answers that are still pending', async () => {
    issuer.fail('slow', { delayMs: 60_000 })
    const pending = fetch(issuer.jwksUri)
    await expect.poll(() => issuer.requests.jwks).toBe(1)
    const started = performance.now()
    await issuer.close()
    expect(performance.now() - started).toBeLessThan(1000)
    await expect(pending).rejects.toThrow(TypeError)
  })

  it.each([
    [['explode'], '"mode" argument of fail() must be one of none, error, hang, slow, garbage'],
    [['slow', { delayMs: -1 }], '"delayMs" option must be an integer from 0 to 2147483647'],
    [['error', { paths: [] }], '"paths" option must be a non-empty array of jwks, discovery'],
    [['error', { paths: ['token'] }], '"paths" option must be a non-empty array'],
    [['error', { path: ['jwks'] }], 'unknown option "path"'],
  ])('refuses %j with a TypeError', (args, message) => {
    const call = () => {
      // @ts-expect-error -- invalid on purpose
      issuer.fail(...args)
    }
    expect(call).toThrow(TypeError)
    expect(call).toThrow(message)
  })
})
