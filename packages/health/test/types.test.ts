import type { Server } from 'node:http'
import type { Redis } from 'ioredis'
import type pg from 'pg'
import type { createClient } from 'redis'
import type { Channel, ChannelModel } from 'amqplib'
import type { MqttClient } from 'mqtt'
import type { Connection as MysqlConnection, Pool as MysqlPool } from 'mysql2'
import type { Connection as MysqlPromiseConnection, Pool as MysqlPromisePool } from 'mysql2/promise'
import type { NatsConnection } from 'nats'
import { describe, expectTypeOf, it } from 'vitest'
import {
  amqpCheck,
  createHealth,
  gracefulShutdown,
  mqttCheck,
  mysqlCheck,
  natsCheck,
  postgresCheck,
  redisCheck,
} from '../src/index.js'
import type {
  GracefulShutdown,
  Health,
  HealthCheck,
  HealthRequest,
  HealthResponse,
} from '../src/index.js'

describe('public types', () => {
  it('types the probes and the shutdown controller', () => {
    expectTypeOf(createHealth).returns.toEqualTypeOf<Health>()
    expectTypeOf<Health['liveness']>().returns.toEqualTypeOf<HealthResponse>()
    expectTypeOf<Health['readiness']>().returns.toEqualTypeOf<Promise<HealthResponse>>()
    expectTypeOf(gracefulShutdown).parameter(0).toEqualTypeOf<Server>()
    expectTypeOf(gracefulShutdown).returns.toEqualTypeOf<GracefulShutdown>()
    expectTypeOf<GracefulShutdown['shutdown']>().returns.toEqualTypeOf<Promise<number>>()
    expectTypeOf<Health['handle']>().parameter(0).toEqualTypeOf<HealthRequest>()
    expectTypeOf<Health['handle']>().returns.toEqualTypeOf<Promise<HealthResponse> | undefined>()
  })

  it('accepts the clients applications already have', () => {
    // Types only: nothing connects.
    const usePool = (pool: pg.Pool, client: pg.Client): HealthCheck[] => [
      postgresCheck(pool),
      postgresCheck(client),
    ]
    const useRedis = (
      ioredis: Redis,
      nodeRedis: ReturnType<typeof createClient>,
    ): HealthCheck[] => [redisCheck(ioredis), redisCheck(nodeRedis)]
    const useMysql = (
      pool: MysqlPool,
      connection: MysqlConnection,
      promisePool: MysqlPromisePool,
      promiseConnection: MysqlPromiseConnection,
    ): HealthCheck[] => [
      mysqlCheck(pool),
      mysqlCheck(connection),
      mysqlCheck(promisePool),
      mysqlCheck(promiseConnection),
    ]
    const useBrokers = (
      model: ChannelModel,
      channel: Channel,
      nats: NatsConnection,
      mqtt: MqttClient,
    ): HealthCheck[] => [amqpCheck(model), amqpCheck(channel), natsCheck(nats), mqttCheck(mqtt)]
    expectTypeOf(useMysql).returns.toEqualTypeOf<HealthCheck[]>()
    expectTypeOf(useBrokers).returns.toEqualTypeOf<HealthCheck[]>()
    expectTypeOf(usePool).returns.toEqualTypeOf<HealthCheck[]>()
    expectTypeOf(useRedis).returns.toEqualTypeOf<HealthCheck[]>()
  })

  it('refuses misuse at compile time', () => {
    const misuse = (): void => {
      // @ts-expect-error -- a check needs run()
      createHealth({ checks: [{ name: 'x' }] })
      // @ts-expect-error -- timeouts are numbers
      postgresCheck({ query: () => Promise.resolve() }, { timeoutMs: '1s' })
      // @ts-expect-error -- readonly
      createHealth().shuttingDown = true
      // @ts-expect-error -- a pool, not a connection string
      mysqlCheck('mysql://localhost')
      // @ts-expect-error -- the token is a string
      createHealth({ detailsToken: 123 })
    }
    expectTypeOf(misuse).toBeFunction()
  })
})
