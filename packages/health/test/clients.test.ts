import amqp from 'amqplib'
import mqtt from 'mqtt'
import mysql from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import { connect as natsConnect } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { amqpCheck, createHealth, mqttCheck, mysqlCheck, natsCheck } from '../src/index.js'
import type { HealthCheck, HealthResponse } from '../src/index.js'
import { closedPort, hungListener, sleep, tcpProxy } from './helpers.js'
import type { HungListener, TcpProxy } from './helpers.js'

// Real local servers (see DESIGN.md): MariaDB, RabbitMQ, NATS, Mosquitto.
const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test' }
const AMQP_PORT = 5672
const NATS_PORT = 4222
const MQTT_PORT = 1883
const TIMEOUT = 400
// Generous on a loaded CI machine: the point is "about the timeout", not "long after".
const SLACK = 600

let closed = 0
let hung: HungListener
const cleanups: (() => unknown)[] = []
const proxies: TcpProxy[] = []

beforeAll(async () => {
  closed = await closedPort()
  hung = await hungListener()
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch {
      // A client of a dead server may fail to close: nothing to release then.
    }
  }
  for (const proxy of proxies.splice(0)) await proxy.close()
})

afterAll(async () => {
  await hung.close()
})

async function proxy(port: number): Promise<TcpProxy> {
  const created = await tcpProxy(port)
  proxies.push(created)
  return created
}

interface Outcome {
  response: HealthResponse
  key: string
  report: { status: string; output?: string; componentType: string }
  elapsed: number
}

async function probe(check: HealthCheck): Promise<Outcome> {
  const health = createHealth({ checks: [check] })
  try {
    const started = performance.now()
    const response = await health.readiness({ details: true })
    const elapsed = performance.now() - started
    const json = JSON.parse(response.body) as {
      checks: Record<string, Outcome['report'][]>
    }
    const [key, reports] = Object.entries(json.checks)[0]!
    return { response, key, report: reports[0]!, elapsed }
  } finally {
    health.close()
  }
}

async function passesFiveTimes(check: HealthCheck, key: string, componentType: string) {
  for (let i = 0; i < 5; i++) {
    const outcome = await probe(check)
    expect(outcome.response.status).toBe(200)
    expect(outcome.key).toBe(key)
    expect(outcome.report).toMatchObject({ status: 'pass', componentType })
  }
}

describe('mysqlCheck', () => {
  it('passes against the local MariaDB through a callback pool, reusing its connection', async () => {
    const through = await proxy(MYSQL.port)
    const pool = mysql.createPool({ ...MYSQL, port: through.port, connectionLimit: 2 })
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          pool.end(() => {
            resolve()
          })
        }),
    )
    await passesFiveTimes(mysqlCheck(pool), 'mysql:connection', 'datastore')
    expect(through.connections).toBe(1)
  })

  it('passes through a promise pool and a promise or callback connection', async () => {
    const pool = mysqlPromise.createPool({ ...MYSQL, connectionLimit: 1 })
    cleanups.push(() => pool.end())
    await passesFiveTimes(mysqlCheck(pool, { name: 'mariadb' }), 'mariadb:connection', 'datastore')

    const connection = await mysqlPromise.createConnection(MYSQL)
    cleanups.push(() => connection.end())
    expect((await probe(mysqlCheck(connection))).report.status).toBe('pass')

    const callbackConnection = mysql.createConnection(MYSQL)
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          callbackConnection.end(() => {
            resolve()
          })
        }),
    )
    expect((await probe(mysqlCheck(callbackConnection))).report.status).toBe('pass')
  })

  it('fails with "unavailable" against a closed port', async () => {
    const pool = mysql.createPool({ ...MYSQL, port: closed, connectTimeout: 2000 })
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          pool.end(() => {
            resolve()
          })
        }),
    )
    const { response, report, elapsed } = await probe(mysqlCheck(pool, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'unavailable' })
    expect(elapsed).toBeLessThan(TIMEOUT + SLACK)
  })

  it('fails with "timeout" against a listener that never answers', async () => {
    const pool = mysqlPromise.createPool({ ...MYSQL, port: hung.port, connectTimeout: 1500 })
    cleanups.push(() => pool.end())
    const { response, report, elapsed } = await probe(mysqlCheck(pool, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'timeout' })
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 10)
    expect(elapsed).toBeLessThan(TIMEOUT + SLACK)
  })

  it('fails with "timeout" when an established connection goes silent', async () => {
    const through = await proxy(MYSQL.port)
    const connection = mysql.createConnection({ ...MYSQL, port: through.port })
    connection.on('error', () => undefined)
    cleanups.push(() => {
      connection.destroy()
    })
    const check = mysqlCheck(connection, { timeoutMs: TIMEOUT })
    expect((await probe(check)).report.status).toBe('pass')
    through.blackhole()
    const { report, elapsed } = await probe(check)
    expect(report).toMatchObject({ status: 'fail', output: 'timeout' })
    expect(elapsed).toBeLessThan(TIMEOUT + SLACK)
  })

  it('validates its arguments', () => {
    expect(() => mysqlCheck({} as never)).toThrow('"client" argument')
    expect(() => mysqlCheck({ query: () => undefined }, { intervalMs: -1 })).toThrow(
      '"intervalMs" option',
    )
  })
})

async function amqpConnection(port: number) {
  const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`)
  connection.on('error', () => undefined)
  cleanups.push(() => connection.close())
  return connection
}

describe('amqpCheck', () => {
  it('passes against the local RabbitMQ with a connection and with a channel, on one connection', async () => {
    const through = await proxy(AMQP_PORT)
    const connection = await amqpConnection(through.port)
    await passesFiveTimes(amqpCheck(connection), 'rabbitmq:connection', 'component')
    const channel = await connection.createChannel()
    await passesFiveTimes(amqpCheck(channel, { name: 'queue' }), 'queue:connection', 'component')
    expect(through.connections).toBe(1)
  })

  it('fails with "unavailable" once the broker is gone (closed port)', async () => {
    const through = await proxy(AMQP_PORT)
    const connection = await amqpConnection(through.port)
    const closedEvent = new Promise((resolve) => connection.once('close', resolve))
    await through.close()
    await closedEvent
    const { response, report, elapsed } = await probe(amqpCheck(connection, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'unavailable' })
    expect(elapsed).toBeLessThan(TIMEOUT + SLACK)
  })

  it('fails with "timeout" when the broker accepts but never answers', async () => {
    const through = await proxy(AMQP_PORT)
    const connection = await amqpConnection(through.port)
    through.blackhole()
    const { response, report, elapsed } = await probe(amqpCheck(connection, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'timeout' })
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 10)
    expect(elapsed).toBeLessThan(TIMEOUT + SLACK)
    // The connection is unusable: drop it with the proxy instead of a close handshake.
    cleanups.length = 0
    await through.close()
  })

  it('validates its arguments', () => {
    expect(() => amqpCheck({} as never)).toThrow('"client" argument')
    expect(() => amqpCheck({ checkExchange: () => Promise.resolve() }, { exchange: '' })).toThrow(
      '"exchange" option',
    )
  })
})

describe('natsCheck', () => {
  it('passes against the local NATS server on the existing connection', async () => {
    const through = await proxy(NATS_PORT)
    const nc = await natsConnect({ servers: `127.0.0.1:${through.port}` })
    cleanups.push(() => nc.close())
    await passesFiveTimes(natsCheck(nc), 'nats:connection', 'component')
    expect(through.connections).toBe(1)
  })

  it('fails with "unavailable" at once when the connection closed after the server went away', async () => {
    const through = await proxy(NATS_PORT)
    const nc = await natsConnect({ servers: `127.0.0.1:${through.port}`, reconnect: false })
    cleanups.push(() => nc.close())
    await through.close()
    await nc.closed()
    const { response, report, elapsed } = await probe(natsCheck(nc, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'unavailable' })
    expect(elapsed).toBeLessThan(SLACK)
  })

  it('fails with "unavailable" while reconnecting to a closed port, "timeout" when the server goes silent', async () => {
    const gone = await proxy(NATS_PORT)
    const reconnecting = await natsConnect({
      servers: `127.0.0.1:${gone.port}`,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    })
    cleanups.push(() => reconnecting.close())
    await gone.close()
    const first = await probe(natsCheck(reconnecting, { timeoutMs: TIMEOUT }))
    expect(first.report).toMatchObject({ status: 'fail', output: 'unavailable' })
    expect(first.elapsed).toBeLessThan(SLACK)

    const silent = await proxy(NATS_PORT)
    const nc = await natsConnect({ servers: `127.0.0.1:${silent.port}` })
    cleanups.push(() => nc.close())
    silent.blackhole()
    const second = await probe(natsCheck(nc, { timeoutMs: TIMEOUT }))
    expect(second.response.status).toBe(503)
    expect(second.report).toMatchObject({ status: 'fail', output: 'timeout' })
    expect(second.elapsed).toBeGreaterThanOrEqual(TIMEOUT - 10)
    expect(second.elapsed).toBeLessThan(TIMEOUT + SLACK)
  })

  it('validates its arguments', () => {
    expect(() => natsCheck({ flush: () => Promise.resolve() } as never)).toThrow(
      '"connection" argument',
    )
  })
})

function mqttClient(port: number, options: mqtt.IClientOptions = {}) {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...options })
  client.on('error', () => undefined)
  cleanups.push(() => client.endAsync(true))
  return client
}

describe('mqttCheck', () => {
  it('passes against the local Mosquitto by publishing on the existing connection', async () => {
    const through = await proxy(MQTT_PORT)
    const client = mqttClient(through.port)
    await new Promise((resolve) => client.once('connect', resolve))
    await passesFiveTimes(mqttCheck(client), 'mqtt:connection', 'component')
    expect(through.connections).toBe(1)
  })

  it('fails with "unavailable" at once when the client is not connected (closed port)', async () => {
    const client = mqttClient(closed)
    await new Promise<void>((resolve) => {
      client.once('close', () => {
        resolve()
      })
    })
    const { response, report, elapsed } = await probe(mqttCheck(client, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'unavailable' })
    expect(elapsed).toBeLessThan(SLACK)
  })

  it('fails with "timeout" when the broker goes silent, and drops the unacknowledged message', async () => {
    const through = await proxy(MQTT_PORT)
    const client = mqttClient(through.port)
    await new Promise((resolve) => client.once('connect', resolve))
    through.blackhole()
    const { response, report, elapsed } = await probe(mqttCheck(client, { timeoutMs: TIMEOUT }))
    expect(response.status).toBe(503)
    expect(report).toMatchObject({ status: 'fail', output: 'timeout' })
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 10)
    expect(elapsed).toBeLessThan(TIMEOUT + SLACK)
    await sleep(20)
    // The hung publish was aborted: nothing waits in the client's outgoing queue.
    expect(Object.keys(client.outgoing)).toEqual([])
  })

  it('validates its arguments', () => {
    expect(() => mqttCheck({} as never)).toThrow('"client" argument')
    const client = { connected: true, publish: () => undefined }
    expect(() => mqttCheck(client, { topic: '$SYS/broker' })).toThrow('"topic" option')
    expect(() => mqttCheck(client, { topic: 'a/#' })).toThrow('"topic" option')
  })
})
