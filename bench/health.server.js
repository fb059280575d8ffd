// One contender of the health benchmark (health.bench.js), alone in its own process so that it
// never shares an event loop with the load generator. The parent sends `{ id }` over IPC; we
// answer with the URL to load, and exit when the parent disconnects. Every contender is the same
// Express app: `GET /api/hello` answering `{"hello":"world"}`, and readiness backed by the same
// five dependency checks, each a 2 ms round trip (a timer standing in for a ping to a database
// on loopback), run concurrently.
import { createServer } from 'node:http'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import express from 'express'

const CHECKS = ['postgresql', 'redis', 'rabbitmq', 'nats', 'payments']
const ROUND_TRIP_MS = 2
let checkRuns = 0
const ping = async () => {
  checkRuns++
  await sleep(ROUND_TRIP_MS)
}

function app() {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  return app
}

function hello(application) {
  application.get('/api/hello', (_req, res) => {
    res.json({ hello: 'world' })
  })
}

/**
 * @param {'uncached' | 'cached' | 'interval'} mode
 * @param {boolean} [shutdown] whether to arm gracefulShutdown too
 */
async function palisade(mode, shutdown = true) {
  const { createHealth, gracefulShutdown } = await import('@palisade/health')
  const { healthRoutes } = await import('@palisade/express')
  const health = createHealth({
    checks: CHECKS.map((name) => ({
      name,
      run: ping,
      ...(mode === 'cached' && { cacheMs: 1000 }),
      ...(mode === 'interval' && { intervalMs: 1000 }),
    })),
    trustLoopback: false,
  })
  health.markStarted()
  const application = app()
  application.use(healthRoutes(health))
  hello(application)
  const server = createServer(application)
  // The shutdown adds a request listener: part of what the package costs every route.
  if (shutdown) gracefulShutdown(server, { health, signals: [], exit: () => undefined })
  return { server, ready: '/readyz' }
}

/** The core without a framework: `health.handle()` in the server's request listener. */
async function palisadeNode() {
  const { createHealth } = await import('@palisade/health')
  const health = createHealth({
    checks: CHECKS.map((name) => ({ name, run: ping, cacheMs: 1000 })),
    trustLoopback: false,
  })
  const application = app()
  hello(application)
  const server = createServer((req, res) => {
    const answer = health.handle({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
    })
    if (answer === undefined) application(req, res)
    else
      void answer.then(({ status, headers, body }) => {
        res.writeHead(status, headers).end(body)
      })
  })
  return { server, ready: '/readyz' }
}

async function terminus() {
  const { createTerminus } = await import('@godaddy/terminus')
  const application = app()
  hello(application)
  const server = createServer(application)
  createTerminus(server, {
    healthChecks: {
      '/readyz': () => Promise.all(CHECKS.map(() => ping())),
      verbatim: true,
    },
    signals: [],
  })
  return { server, ready: '/readyz' }
}

async function lightship() {
  const { createLightship } = await import('lightship')
  // Lightship's readiness is a flag the application sets: the checks run in the background.
  const ship = await createLightship({ detectKubernetes: true })
  const refresh = async () => {
    try {
      await Promise.all(CHECKS.map(() => ping()))
      ship.signalReady()
    } catch {
      ship.signalNotReady()
    }
  }
  await refresh()
  setInterval(() => void refresh(), 1000).unref()
  const application = app()
  hello(application)
  const server = createServer(application)
  const address = /** @type {import('node:net').AddressInfo} */ (ship.server.address())
  return { server, ready: `http://127.0.0.1:${String(address.port)}/ready`, extra: ship.server }
}

function plain() {
  const application = app()
  hello(application)
  return { server: createServer(application), ready: '/api/hello' }
}

/**
 * @typedef {{ server: import('node:http').Server, ready: string, extra?: import('node:http').Server }} Built
 * @type {Record<string, () => Promise<Built> | Built>}
 */
const contenders = {
  'palisade-uncached': () => palisade('uncached'),
  'palisade-cached': () => palisade('cached'),
  'palisade-interval': () => palisade('interval'),
  'palisade-routes-only': () => palisade('cached', false),
  'palisade-node': palisadeNode,
  terminus,
  lightship,
  plain,
}

process.once('message', (message) => {
  void (async () => {
    const { id } = /** @type {{ id: string }} */ (message)
    const make = contenders[id]
    if (make === undefined) throw new Error(`unknown contender ${id}`)
    const { server, ready, extra } = await make()
    server.keepAliveTimeout = 60_000
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
    const base = `http://127.0.0.1:${String(port)}`
    process.send?.({ ready: ready.startsWith('http') ? ready : `${base}${ready}`, base })
    let requests = 0
    server.on('request', () => requests++)
    extra?.on('request', () => requests++)
    process.on('message', (m) => {
      if (m === 'usage') {
        const { user, system } = process.cpuUsage()
        process.send?.({ cpu: user + system, requests, checkRuns })
      }
    })
    process.once('disconnect', () => process.exit(0))
  })()
})
