import { createHash } from 'node:crypto'
import { checkOptionNames, isObject, stringOption } from '@palisade/errors'
import { RateLimitError } from './errors.js'
import type {
  ClientRateLimitInfo,
  ConsumeOptions,
  ConsumeResult,
  RateLimitStore,
  StoreInitOptions,
} from './store.js'

/**
 * Sends one raw Redis command, as rate-limit-redis's `sendCommand` does.
 *
 * @example
 * ```ts
 * const sendCommand: RedisSendCommand = (...args) => redis.call(args[0]!, ...args.slice(1))
 * ```
 */
export type RedisSendCommand = (...args: string[]) => Promise<unknown>

/**
 * An ioredis client (`Redis` or `Cluster`): anything with `call(command, ...args)`.
 *
 * @example
 * ```ts
 * new RedisStore({ client: new Redis() })
 * ```
 */
export interface IoredisLike {
  call: (command: string, ...args: string[]) => Promise<unknown>
}

/**
 * A node-redis (v4 and later) client: anything with `sendCommand(args)`.
 *
 * @example
 * ```ts
 * const client = createClient({ url: process.env.REDIS_URL })
 * await client.connect()
 * new RedisStore({ client })
 * ```
 */
export interface NodeRedisLike {
  sendCommand: (args: string[]) => Promise<unknown>
}

/**
 * Options of {@link RedisStore}: a client, or a `sendCommand` function.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = { client: redis, prefix: 'orders:rl:' }
 * ```
 */
export interface RedisStoreOptions {
  /** An ioredis or node-redis client; its kind is detected. Give this or `sendCommand`. */
  readonly client?: IoredisLike | NodeRedisLike | undefined
  /** Sends a raw command, e.g. `(...args) => client.call(...args)`. Give this or `client`. */
  readonly sendCommand?: RedisSendCommand | undefined
  /**
   * Text before every key, so that several limiters or services can share one Redis.
   * @default 'palisade:rl:'
   */
  readonly prefix?: string | undefined
}

const REDIS_STORE_OPTIONS = Object.keys({
  client: true,
  sendCommand: true,
  prefix: true,
} satisfies Record<keyof RedisStoreOptions, true>)

// One script for every operation, so that each request costs one round trip (EVALSHA) and the
// NOSCRIPT fallback has one script to reload. Times for GCRA come from the Redis server (TIME),
// so several processes agree even when their clocks drift; fixed windows only use PTTL.
// The arithmetic mirrors algorithms.ts.
const SCRIPT = `
local key = KEYS[1]
local op = ARGV[1]
if op == 'gcra' then
  -- Redis before 5 needs effects replication to write after TIME; later versions always do it.
  if redis.replicate_commands then redis.replicate_commands() end
  local cost = tonumber(ARGV[2])
  local limit = tonumber(ARGV[3])
  local window = tonumber(ARGV[4])
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local interval = window / limit
  local tat = tonumber(redis.call('GET', key) or '')
  if tat == nil or tat < now then tat = now end
  local nexttat = tat + cost * interval
  local allowat = nexttat - window
  if allowat > now then
    return {0, math.max(0, math.floor((now + window - tat) / interval + 1e-9)), math.ceil(tat - now), math.ceil(allowat - now)}
  end
  redis.call('SET', key, string.format('%.3f', nexttat), 'PX', math.max(1, math.ceil(nexttat - now)))
  return {1, math.max(0, math.floor((now + window - nexttat) / interval + 1e-9)), math.ceil(nexttat - now), 0}
end
if op == 'fixed-window' then
  local cost = tonumber(ARGV[2])
  local limit = tonumber(ARGV[3])
  local window = tonumber(ARGV[4])
  local ttl = redis.call('PTTL', key)
  local hits = 0
  if ttl > 0 then hits = tonumber(redis.call('GET', key) or '0') or 0 else ttl = window end
  if hits + cost <= limit then
    if hits == 0 then
      redis.call('SET', key, cost, 'PX', ttl)
    else
      redis.call('INCRBY', key, cost)
    end
    return {1, limit - hits - cost, ttl, 0}
  end
  return {0, math.max(0, limit - hits), ttl, ttl}
end
if op == 'increment' then
  local window = tonumber(ARGV[2])
  local ttl = redis.call('PTTL', key)
  if ttl <= 0 then
    redis.call('SET', key, 1, 'PX', window)
    return {1, window}
  end
  return {redis.call('INCR', key), ttl}
end
if op == 'get' then
  local ttl = redis.call('PTTL', key)
  if ttl <= 0 then return {0, 0} end
  return {tonumber(redis.call('GET', key) or '0') or 0, ttl}
end
if op == 'decrement' then
  if redis.call('PTTL', key) > 0 and (tonumber(redis.call('GET', key) or '0') or 0) > 0 then
    redis.call('DECR', key)
  end
  return {0, 0}
end
return redis.error_reply('unknown operation')
`.trim()

const SHA = createHash('sha1').update(SCRIPT).digest('hex')

function sendCommandOf(options: RedisStoreOptions): RedisSendCommand {
  const { client, sendCommand } = options
  if (sendCommand !== undefined && client !== undefined) {
    throw new TypeError('"client" and "sendCommand" options are exclusive: give one')
  }
  if (sendCommand !== undefined) {
    if (typeof sendCommand !== 'function') {
      throw new TypeError('"sendCommand" option must be a function')
    }
    return sendCommand
  }
  if (isObject(client)) {
    // ioredis also has a `sendCommand`, taking a Command object: detect it by `call` first.
    if (typeof client['call'] === 'function') {
      const io = client as unknown as IoredisLike
      return (...args) => io.call(args[0] ?? '', ...args.slice(1))
    }
    if (typeof client['sendCommand'] === 'function') {
      const node = client as unknown as NodeRedisLike
      return (...args) => node.sendCommand(args)
    }
  }
  throw new TypeError(
    '"client" option must be an ioredis or node-redis client, or give "sendCommand"',
  )
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && /^NOSCRIPT\b/.test(error.message)
}

function numbers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length !== length) {
    throw new RateLimitError(
      'PALISADE_RATE_LIMIT_STORE_INVALID_RESPONSE',
      `RedisStore expected ${length} numbers from its script`,
    )
  }
  return reply.map((value: unknown) => {
    const number = Number(value)
    if (!Number.isFinite(number)) {
      throw new RateLimitError(
        'PALISADE_RATE_LIMIT_STORE_INVALID_RESPONSE',
        'RedisStore received a non-numeric reply from its script',
      )
    }
    return number
  })
}

/**
 * A Redis store shared by every instance of a service: exact counts across processes, one
 * atomic Lua script per request (EVALSHA, reloaded after a `NOSCRIPT` reply such as after a
 * `SCRIPT FLUSH` or a restart), per-key expiry, and the Redis server clock for GCRA. Works with
 * ioredis and node-redis (v4+) clients, or any `sendCommand` function. Create the ioredis client
 * with `enableOfflineQueue: false`, or rely on the limiter's `storeTimeoutMs`, so that an
 * outage fails fast.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { RedisStore, createRateLimiter } from '@palisade/http'
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
 * const limiter = createRateLimiter({
 *   policies: [{ name: 'burst', limit: 100, windowMs: 60_000, algorithm: 'gcra' }],
 *   store: new RedisStore({ client: redis, prefix: 'orders:rl:' }),
 * })
 * ```
 */
export class RedisStore implements RateLimitStore {
  /** Counts are shared by every process using the same Redis and prefix. */
  readonly localKeys = false
  /** Text before every key. */
  readonly prefix: string
  readonly #send: RedisSendCommand
  #windowMs = 60_000

  constructor(options: RedisStoreOptions) {
    if (!isObject(options)) throw new TypeError('"options" argument must be an object')
    checkOptionNames(options, REDIS_STORE_OPTIONS, 'new RedisStore()')
    this.#send = sendCommandOf(options)
    this.prefix = stringOption(options.prefix, 'prefix', 'palisade:rl:')
  }

  /** Takes the window used by `increment`. */
  init(options: StoreInitOptions): void {
    this.#windowMs = options.windowMs
  }

  /** Charges `cost` units with the chosen algorithm, atomically. */
  consume(key: string, options: ConsumeOptions): Promise<ConsumeResult> {
    return this.#run(
      key,
      options.algorithm,
      String(options.cost),
      String(options.limit),
      String(options.windowMs),
    ).then((reply) => {
      const [allowed, remaining, resetMs, retryAfterMs] = numbers(reply, 4) as [
        number,
        number,
        number,
        number,
      ]
      return { allowed: allowed === 1, remaining, resetMs, retryAfterMs }
    })
  }

  /** express-rate-limit contract: counts one hit in the window given to `init`. */
  async increment(key: string): Promise<ClientRateLimitInfo> {
    const [totalHits, ttl] = numbers(
      await this.#run(key, 'increment', String(this.#windowMs)),
      2,
    ) as [number, number]
    return { totalHits, resetTime: new Date(Date.now() + ttl) }
  }

  /** express-rate-limit contract: reads a client's count. */
  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const [totalHits, ttl] = numbers(await this.#run(key, 'get'), 2) as [number, number]
    if (ttl <= 0) return undefined
    return { totalHits, resetTime: new Date(Date.now() + ttl) }
  }

  /** express-rate-limit contract: takes one hit back. */
  async decrement(key: string): Promise<void> {
    await this.#run(key, 'decrement')
  }

  /** Forgets one client. */
  async resetKey(key: string): Promise<void> {
    await this.#send('DEL', this.prefix + key)
  }

  #run(key: string, ...args: string[]): Promise<unknown> {
    const redisKey = this.prefix + key
    let reply: Promise<unknown>
    try {
      reply = Promise.resolve(this.#send('EVALSHA', SHA, '1', redisKey, ...args))
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    return reply.then(undefined, (error: unknown) => {
      if (!isNoScript(error)) throw error
      // EVAL both runs the script and caches it again for the next EVALSHA.
      return this.#send('EVAL', SCRIPT, '1', redisKey, ...args)
    })
  }
}
