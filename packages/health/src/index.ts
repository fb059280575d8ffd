export { createHealth } from './health.js'
export type { Health, HealthOptions, HealthPaths, ProbeKind, ReadinessOptions } from './health.js'
export { httpCheck, postgresCheck, redisCheck } from './checks.js'
export type { CheckOptions, HttpCheckOptions, PostgresQueryable, RedisPingable } from './checks.js'
export { amqpCheck, mqttCheck, mysqlCheck, natsCheck } from './clients.js'
export type {
  AmqpChannelLike,
  AmqpCheckOptions,
  AmqpConnectionLike,
  MqttCheckOptions,
  MqttClientLike,
  MysqlQueryable,
  NatsConnectionLike,
} from './clients.js'
export { diskCheck, eventLoopDelayCheck, heapCheck } from './system.js'
export type { DiskCheckOptions, EventLoopDelayCheckOptions, HeapCheckOptions } from './system.js'
export { gracefulShutdown } from './shutdown.js'
export type { GracefulShutdown, GracefulShutdownOptions, ShutdownHook } from './shutdown.js'
export { HealthError } from './errors.js'
export type { HealthErrorCode, HealthErrorDetails } from './errors.js'
export type {
  CheckReport,
  HealthCheck,
  HealthRequest,
  HealthResponse,
  HealthStatus,
  Logger,
} from './types.js'
export { applyServerTimeouts, serverTimeouts } from './timeouts.js'
export type { ServerTimeoutOptions, ServerTimeouts } from './timeouts.js'
