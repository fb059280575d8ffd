import { afterEach, describe, expect, it } from 'vitest'
import { createHealth } from '../src/index.js'
import type { Health, HealthOptions, HealthRequest, HealthResponse } from '../src/index.js'

const created: Health[] = []
function make(options: HealthOptions): Health {
  const health = createHealth(options)
  created.push(health)
  return health
}
afterEach(() => {
  for (const health of created.splice(0)) health.close()
})

const TOKEN = 'details-token-0123456789'
const REMOTE = '203.0.113.9'

function request(path: string, extra: Partial<HealthRequest> = {}): HealthRequest {
  return { method: 'GET', path, headers: {}, remoteAddress: REMOTE, ...extra }
}

async function answer(health: Health, req: HealthRequest): Promise<HealthResponse> {
  const pending = health.handle(req)
  if (pending === undefined) throw new Error(`no answer for ${req.path}`)
  return pending
}

const failing = {
  name: 'postgresql',
  run: () =>
    Promise.reject(
      Object.assign(new Error('connect ECONNREFUSED db.internal:5432'), { code: 'ECONNREFUSED' }),
    ),
}

describe('health.handle', () => {
  it('answers the three probes on their default paths and nothing else', async () => {
    const health = make({ checks: [{ name: 'db', run: () => undefined }] })
    expect(health.paths).toEqual({
      liveness: '/healthz',
      readiness: '/readyz',
      startup: '/startupz',
    })
    const live = await answer(health, request('/healthz'))
    expect(live.status).toBe(200)
    expect(live.body).toBe('{"status":"pass"}')
    expect(live.headers).toEqual({
      'Content-Type': 'application/health+json; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Length': '17',
    })
    expect((await answer(health, request('/readyz'))).status).toBe(200)
    expect((await answer(health, request('/startupz'))).status).toBe(503)
    health.markStarted()
    expect((await answer(health, request('/startupz'))).status).toBe(200)
    for (const other of ['/', '/api/me', '/readyzz', '/healthz/x', '//readyz', '/readyz//']) {
      expect(health.handle(request(other))).toBeUndefined()
    }
  })

  it('tolerates a query string and one trailing slash', async () => {
    const health = make({})
    for (const path of ['/readyz?', '/readyz?full=1', '/readyz/', '/readyz/?x#y', '/healthz/']) {
      expect((await answer(health, request(path))).status).toBe(200)
    }
  })

  it('answers HEAD with the GET headers and no body, other methods with 405', async () => {
    const health = make({ checks: [failing] })
    const get = await answer(health, request('/readyz'))
    const head = await answer(health, request('/readyz', { method: 'HEAD' }))
    expect(head.status).toBe(503)
    expect(head.body).toBe('')
    expect(head.headers).toEqual(get.headers)
    expect(head.headers['Content-Length']).toBe(String(Buffer.byteLength(get.body)))

    const post = await answer(health, request('/healthz', { method: 'POST' }))
    expect(post.status).toBe(405)
    expect(post.headers['Allow']).toBe('GET, HEAD')
    expect(JSON.parse(post.body)).toEqual({ status: 'fail', output: 'method not allowed' })
  })

  it('gives readiness details only to the token holder or a loopback caller', async () => {
    const health = make({ checks: [failing], detailsToken: TOKEN })
    const anonymous = await answer(health, request('/readyz'))
    expect(anonymous.body).toBe('{"status":"fail"}')
    const wrong = await answer(
      health,
      request('/readyz', { headers: { authorization: `Bearer ${TOKEN}x` } }),
    )
    expect(wrong.body).toBe('{"status":"fail"}')
    const basic = await answer(
      health,
      request('/readyz', { headers: { authorization: `Basic ${TOKEN}` } }),
    )
    expect(basic.body).toBe('{"status":"fail"}')

    const holder = await answer(
      health,
      request('/readyz', { headers: { authorization: `bearer ${TOKEN}` } }),
    )
    const json = JSON.parse(holder.body) as { checks: Record<string, { output: string }[]> }
    expect(json.checks['postgresql:connection']![0]!.output).toBe('unavailable')
    expect(holder.body).not.toMatch(/db\.internal|ECONNREFUSED/)

    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      const local = await answer(health, request('/readyz', { remoteAddress: address }))
      expect(local.body).toContain('"checks"')
    }
    // A forwarded header is never trusted.
    const forwarded = await answer(
      health,
      request('/readyz', { headers: { 'x-forwarded-for': '127.0.0.1' } }),
    )
    expect(forwarded.body).toBe('{"status":"fail"}')
  })

  it('gives no details to a loopback caller that came through a proxy', async () => {
    const health = make({ checks: [failing], detailsToken: TOKEN })
    for (const headers of [
      { forwarded: 'for=198.51.100.7;proto=https' },
      { 'x-forwarded-for': '198.51.100.7' },
      { 'x-forwarded-for': '127.0.0.1' },
      { 'x-forwarded-for': ['198.51.100.7', '10.0.0.1'] },
      { 'x-real-ip': '198.51.100.7' },
      { 'x-forwarded-for': '' },
      { 'X-Forwarded-For': '198.51.100.7' },
    ]) {
      for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
        for (const method of ['GET', 'HEAD']) {
          const proxied = await answer(
            health,
            request('/readyz', { method, headers, remoteAddress }),
          )
          expect(proxied.status).toBe(503)
          expect(proxied.headers['Content-Length']).toBe('17')
          if (method === 'GET') expect(proxied.body).toBe('{"status":"fail"}')
        }
      }
    }
    // The token still works through the proxy.
    const holder = await answer(
      health,
      request('/readyz', {
        headers: { 'x-forwarded-for': '198.51.100.7', authorization: `Bearer ${TOKEN}` },
        remoteAddress: '127.0.0.1',
      }),
    )
    expect(holder.body).toContain('"checks"')
    // A direct loopback caller keeps its details.
    const direct = await answer(health, request('/readyz', { remoteAddress: '127.0.0.1' }))
    expect(direct.body).toContain('"checks"')
  })

  it('trusts no loopback caller with trustLoopback: false', async () => {
    const health = make({ checks: [failing], trustLoopback: false })
    const local = await answer(health, request('/readyz', { remoteAddress: '127.0.0.1' }))
    expect(local.body).toBe('{"status":"fail"}')
  })

  it('uses configured paths', async () => {
    const health = make({ paths: { liveness: '/live', readiness: '/ops/ready' } })
    expect(health.paths).toEqual({
      liveness: '/live',
      readiness: '/ops/ready',
      startup: '/startupz',
    })
    expect((await answer(health, request('/ops/ready/?a'))).status).toBe(200)
    expect(health.handle(request('/readyz'))).toBeUndefined()
  })

  const cases: [unknown, string][] = [
    [{ paths: 'x' }, '"paths" option must be an object'],
    [{ paths: { readiness: 'readyz' } }, '"paths.readiness" option must be a path'],
    [{ paths: { readiness: '/readyz/' } }, '"paths.readiness" option must be a path'],
    [{ paths: { liveness: '/a?b' } }, '"paths.liveness" option must be a path'],
    [{ paths: { liveness: '/readyz' } }, '"paths" option must give each probe its own path'],
    [{ detailsToken: 'short' }, '"detailsToken" option must be a string of at least 16'],
    [{ detailsToken: 42 }, '"detailsToken" option'],
    [{ trustLoopback: 'yes' }, '"trustLoopback" option must be a boolean'],
  ]
  it.each(cases)('refuses %j at creation', (options, message) => {
    expect(() => createHealth(options as never)).toThrow(TypeError)
    expect(() => createHealth(options as never)).toThrow(message)
  })

  it('never echoes the token in an option error', () => {
    expect(() => createHealth({ detailsToken: 'hunter2' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') as string }),
    )
  })
})
