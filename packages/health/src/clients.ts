import { common, datastoreCheck } from './checks.js'
import type { CheckOptions } from './checks.js'
import { HealthError } from './errors.js'
import { isObject, stringOption } from '@palisade/errors'
import type { HealthCheck } from './types.js'

/**
 * What {@link mysqlCheck} needs: a `mysql2` Pool, PoolCluster member or Connection, from
 * `mysql2` (callback API) or `mysql2/promise`.
 */
export interface MysqlQueryable {
  query: (...args: never[]) => unknown
}

/** What {@link amqpCheck} needs: an `amqplib` connection (`amqp.connect()`) ... */
export interface AmqpConnectionLike {
  createChannel: () => Promise<{ close: () => Promise<void> }>
}

/** ... or an `amqplib` channel (`connection.createChannel()`). */
export interface AmqpChannelLike {
  checkExchange: (exchange: string) => Promise<unknown>
}

/** What {@link natsCheck} needs: a `nats` connection (`await connect()`). */
export interface NatsConnectionLike {
  flush: () => Promise<void>
  isClosed: () => boolean
}

/** What {@link mqttCheck} needs: an `mqtt` client (`mqtt.connect()`). */
export interface MqttClientLike {
  readonly connected: boolean
  publish: (
    topic: string,
    message: string,
    options: { qos: 1; retain: false },
    callback: (error?: Error | null) => void,
  ) => unknown
  getLastMessageId?: (() => number) | undefined
  removeOutgoingMessage?: ((messageId: number) => unknown) | undefined
}

/** Options of {@link mqttCheck}. */
export interface MqttCheckOptions extends CheckOptions {
  /**
   * The topic of the probe message (QoS 1, not retained, empty). Must not be a `$` topic.
   * @default 'palisade/health'
   */
  topic?: string | undefined
}

/** Options of {@link amqpCheck}. */
export interface AmqpCheckOptions extends CheckOptions {
  /**
   * With a channel: the exchange whose existence is checked (a passive declare). It must exist,
   * or the broker closes the channel.
   * @default 'amq.direct'
   */
  exchange?: string | undefined
}

function method(target: unknown, name: string): boolean {
  return isObject(target) && typeof target[name] === 'function'
}

/**
 * Checks MySQL or MariaDB with `SELECT 1` through the `mysql2` pool or connection the
 * application already has, callback or promise API: no connection is opened per probe. The
 * query carries the check's timeout, so that the driver gives it up too. Give the pool a
 * `connectTimeout` close to the check's timeout so that an unreachable server does not hold
 * pool slots. Reported as `mysql:connection`, `datastore`.
 *
 * @example
 * ```ts
 * import mysql from 'mysql2/promise'
 * import { createHealth, mysqlCheck } from '@palisade/health'
 *
 * const pool = mysql.createPool({ uri: process.env.MYSQL_URL, connectTimeout: 2000 })
 * const health = createHealth({ checks: [mysqlCheck(pool, { timeoutMs: 1000 })] })
 * ```
 */
export function mysqlCheck(client: MysqlQueryable, options?: CheckOptions): HealthCheck {
  if (!method(client, 'query')) {
    throw new TypeError('"client" argument must be a mysql2 Pool or Connection (with query())')
  }
  // The callback API's objects have promise(); those of mysql2/promise do not.
  const callbackApi = method(client, 'promise')
  const name = common(options, 'mysql').name
  const queryable = client as unknown as {
    query: (
      options: { sql: string; timeout: number },
      callback?: (error: Error | null) => void,
    ) => unknown
  }
  return datastoreCheck(options, 'mysql', 'MySQL query', (_signal, timeoutMs) => {
    const query = { sql: 'SELECT 1', timeout: timeoutMs }
    const ran: Promise<unknown> = callbackApi
      ? new Promise((resolve, reject) => {
          queryable.query(query, (error) => {
            if (error) reject(error)
            else resolve(undefined)
          })
        })
      : (queryable.query(query) as Promise<unknown>)
    return ran.catch((error: unknown) => {
      // The driver gave the query up at the same timeout: report it as the timeout it is.
      if ((error as { code?: unknown } | null)?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
        throw new HealthError(
          'PALISADE_HEALTH_CHECK_TIMEOUT',
          `health check "${name}" did not finish within ${timeoutMs} ms`,
          { check: name, cause: error },
        )
      }
      throw error
    })
  })
}

/**
 * Checks RabbitMQ (AMQP 0-9-1) through the `amqplib` connection or channel the application
 * already has; no connection is opened per probe. With a connection, a channel is opened and
 * closed (a round trip to the broker); with a channel, the existence of `exchange` is checked
 * (a passive declare). A closed connection fails at once. Reported as `rabbitmq:connection`,
 * `component`.
 *
 * @example
 * ```ts
 * import amqp from 'amqplib'
 * import { amqpCheck, createHealth } from '@palisade/health'
 *
 * const connection = await amqp.connect(process.env.AMQP_URL!, { heartbeat: 10 })
 * const health = createHealth({ checks: [amqpCheck(connection, { intervalMs: 5000 })] })
 * ```
 */
export function amqpCheck(
  client: AmqpConnectionLike | AmqpChannelLike,
  options?: AmqpCheckOptions,
): HealthCheck {
  const channelApi = method(client, 'checkExchange')
  if (!channelApi && !method(client, 'createChannel')) {
    throw new TypeError(
      '"client" argument must be an amqplib connection or channel (with createChannel() or checkExchange())',
    )
  }
  const exchange = stringOption(
    isObject(options) ? options['exchange'] : undefined,
    'exchange',
    'amq.direct',
  )
  return datastoreCheck(
    options,
    'rabbitmq',
    'AMQP round trip',
    async (signal) => {
      if (channelApi) {
        await (client as AmqpChannelLike).checkExchange(exchange)
        return
      }
      const channel = await (client as AmqpConnectionLike).createChannel()
      // Closed even when the check already timed out, so that a late answer leaks no channel.
      await channel.close()
      signal.throwIfAborted()
    },
    'component',
  )
}

/**
 * Checks NATS with a `flush()` (a PING/PONG round trip to the server) through the `nats`
 * connection the application already has. A closed connection fails at once; a connection
 * that is reconnecting fails at the check's timeout (the round trip cannot be cancelled: it
 * ends when the client reconnects or closes). Reported as `nats:connection`, `component`.
 *
 * @example
 * ```ts
 * import { connect } from 'nats'
 * import { createHealth, natsCheck } from '@palisade/health'
 *
 * const nc = await connect({ servers: process.env.NATS_URL })
 * const health = createHealth({ checks: [natsCheck(nc, { critical: false })] })
 * ```
 */
export function natsCheck(connection: NatsConnectionLike, options?: CheckOptions): HealthCheck {
  if (!method(connection, 'flush') || !method(connection, 'isClosed')) {
    throw new TypeError('"connection" argument must be a nats connection (with flush())')
  }
  const name = common(options, 'nats').name
  return datastoreCheck(
    options,
    'nats',
    'NATS flush',
    async () => {
      if (connection.isClosed()) {
        throw new HealthError('PALISADE_HEALTH_UNAVAILABLE', 'the NATS connection is closed', {
          check: name,
        })
      }
      await connection.flush()
    },
    'component',
  )
}

/**
 * Checks an MQTT broker through the `mqtt` client the application already has: a client that
 * is not connected fails at once; a connected one publishes an empty QoS 1 message to `topic`
 * and waits for the broker's acknowledgement. When the check times out the message is removed
 * from the client's outgoing queue, so it is not resent. Reported as `mqtt:connection`,
 * `component`.
 *
 * @example
 * ```ts
 * import mqtt from 'mqtt'
 * import { createHealth, mqttCheck } from '@palisade/health'
 *
 * const client = mqtt.connect(process.env.MQTT_URL!)
 * const health = createHealth({ checks: [mqttCheck(client, { topic: 'orders/health' })] })
 * ```
 */
export function mqttCheck(client: MqttClientLike, options?: MqttCheckOptions): HealthCheck {
  if (!method(client, 'publish') || !isObject(client) || !('connected' in client)) {
    throw new TypeError('"client" argument must be an mqtt client (with publish() and connected)')
  }
  const topic = stringOption(
    isObject(options) ? options['topic'] : undefined,
    'topic',
    'palisade/health',
  )
  if (topic.startsWith('$') || /[+#]/.test(topic)) {
    throw new TypeError('"topic" option must be a plain topic: no leading "$", no "+" or "#"')
  }
  const name = common(options, 'mqtt').name
  return datastoreCheck(
    options,
    'mqtt',
    'MQTT publish',
    (signal) =>
      new Promise<void>((resolve, reject) => {
        if (!client.connected) {
          reject(
            new HealthError('PALISADE_HEALTH_UNAVAILABLE', 'the MQTT client is not connected', {
              check: name,
            }),
          )
          return
        }
        const before = client.getLastMessageId?.()
        client.publish(topic, '', { qos: 1, retain: false }, (error) => {
          if (error) reject(error)
          else resolve()
        })
        const id = client.getLastMessageId?.()
        if (id === undefined || id === before) return
        signal.addEventListener(
          'abort',
          () => {
            client.removeOutgoingMessage?.(id)
          },
          { once: true },
        )
      }),
    'component',
  )
}
