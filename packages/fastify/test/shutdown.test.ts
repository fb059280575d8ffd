import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { describe, expect, it } from 'vitest'
import { createHealth } from '@palisade/health'
import { gracefulShutdown, serverOptions } from '../src/index.js'

// That no request is lost behind a router is checked on all three adapters by the repository's
// test/rolling-deploy.test.ts; here: Fastify's own close order and options.

/** An app whose plugins and hooks write down when they run; GET /slow answers when told to. */
async function recordingApp(events: string[]) {
  const app = Fastify({ ...serverOptions(), logger: false })
  app.addHook('preClose', (done) => {
    events.push('preClose')
    done()
  })
  const plugin = (name: string) =>
    fp((instance: FastifyInstance, _options, done) => {
      instance.addHook('onClose', (_instance, closed) => {
        events.push(`onClose ${name}`)
        closed()
      })
      done()
    })
  await app.register(plugin('database'))
  await app.register(plugin('cache'))
  await app.register((scope, _options, done) => {
    scope.addHook('onClose', (_instance, closed) => {
      events.push('onClose encapsulated')
      closed()
    })
    done()
  })
  let answer: () => void = () => undefined
  let started: () => void = () => undefined
  const running = new Promise<void>((resolve) => (started = resolve))
  app.get('/slow', async () => {
    started()
    await new Promise<void>((resolve) => (answer = resolve))
    events.push('response sent')
    return 'done'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  return {
    app,
    url,
    running,
    finish: () => {
      answer()
    },
  }
}

describe('gracefulShutdown (Fastify)', () => {
  it('finishes in-flight requests, then runs Fastify’s preClose and onClose hooks in Fastify’s own order, then the hooks option', async () => {
    // The order Fastify itself closes in, with app.close() and no request in flight.
    const expected: string[] = []
    const control = await recordingApp(expected)
    await control.app.close()

    const events: string[] = []
    const { app, url, running, finish } = await recordingApp(events)
    const health = createHealth()
    const codes: number[] = []
    const controller = gracefulShutdown(app, {
      health,
      drainMs: 50,
      timeoutMs: 10_000,
      signals: [],
      exit: (code) => codes.push(code),
      hooks: [{ name: 'last', run: () => void events.push('hook last') }],
    })
    const slow = fetch(`${url}/slow`).then(async (response) => {
      return {
        status: response.status,
        connection: response.headers.get('connection'),
        body: await response.text(),
      }
    })
    await running
    const done = controller.shutdown('test')
    expect(health.shuttingDown).toBe(true)
    // The server closes only once the in-flight request has its answer.
    setTimeout(finish, 200)
    expect(await done).toBe(0)
    expect(codes).toEqual([0])
    expect(await slow).toEqual({ status: 200, connection: 'close', body: 'done' })
    const closing = events.filter((event) => event.startsWith('onClose') || event === 'preClose')
    expect(closing).toEqual(expected)
    expect(closing).toContain('onClose database')
    expect(events.at(-1)).toBe('hook last')
    expect(events).toEqual([
      'preClose',
      'response sent',
      'onClose encapsulated',
      'onClose cache',
      'onClose database',
      'hook last',
    ])
    expect(events.indexOf('response sent')).toBeLessThan(events.indexOf('onClose database'))
    expect(app.server.listening).toBe(false)
  })

  it('sets the timeouts and return503OnClosing through serverOptions()', async () => {
    const app = Fastify(serverOptions({ keepAliveTimeoutMs: 75_000 }))
    expect(app.server.keepAliveTimeout).toBe(75_000)
    expect(app.server.headersTimeout).toBe(76_000)
    expect(app.server.requestTimeout).toBe(120_000)
    expect(() => {
      gracefulShutdown(app, { signals: [] }).dispose()
    }).not.toThrow()
    await app.close()
  })

  it('refuses a Fastify app whose options would refuse or cut requests while it closes', async () => {
    const defaults = Fastify()
    expect(() => gracefulShutdown(defaults, { signals: [] })).toThrow(
      'Fastify option "return503OnClosing" must be false',
    )
    const forced = Fastify({ return503OnClosing: false, forceCloseConnections: true })
    expect(() => gracefulShutdown(forced, { signals: [] })).toThrow(
      'Fastify option "forceCloseConnections" must not be true',
    )
    const app = Fastify(serverOptions())
    expect(() =>
      // @ts-expect-error -- the adapter closes through app.close()
      gracefulShutdown(app, { close: () => Promise.resolve() }),
    ).toThrow('"close" option is set by the Fastify adapter')
    // @ts-expect-error -- not a Fastify instance
    expect(() => gracefulShutdown({}, {})).toThrow('"app" argument must be a Fastify instance')
    expect(() => gracefulShutdown(app, { drainMs: -1 })).toThrow('"drainMs" option')
    await Promise.all([defaults.close(), forced.close(), app.close()])
  })
})
