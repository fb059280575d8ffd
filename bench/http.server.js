// One contender of the HTTP-hardening benchmark (http.bench.js), alone in its own process.
// Every contender serves `GET /api/hello` answering `{"hello":"world"}` with either security
// headers or a rate limiter in front (limit high enough that every request is allowed, all
// requests from one client), so what is measured is the work each library adds to a request.
import { createServer } from 'node:http'
import { serve } from './lib/server.js'

/**
 * @typedef {object} ServerConfig
 * @property {string} id the contender (a key of `contenders`)
 * @property {string} redisUrl
 * @property {string} prefix Redis key prefix of this run
 * @property {number} limit
 */

const WINDOW_MS = 60_000
const hello = { hello: 'world' }

/** @param {ServerConfig} config */
async function redisClient(config) {
  const { Redis } = await import('ioredis')
  const client = new Redis(config.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 1 })
  await new Promise((resolve, reject) => {
    client.once('ready', resolve)
    client.once('error', reject)
  })
  return client
}

/**
 * Palisade's limiter options for one variant, the same on every framework: keyed by IP, the
 * memory store with a fixed window or GCRA, or the Redis store.
 * @param {ServerConfig} config
 * @param {'memory' | 'memory-gcra' | 'redis'} variant
 * @returns {Promise<import('@palisade/http').RateLimitOptions>}
 */
async function palisadeLimit(config, variant) {
  const options = { windowMs: WINDOW_MS, limit: config.limit, key: /** @type {const} */ ('ip') }
  if (variant === 'memory') return options
  if (variant === 'memory-gcra') return { ...options, algorithm: 'gcra' }
  const { RedisStore } = await import('@palisade/http')
  const client = await redisClient(config)
  return { ...options, store: new RedisStore({ client, prefix: `${config.prefix}pal:` }) }
}

/** @param {(app: import('express').Express, config: ServerConfig) => Promise<void> | void} use */
function express(use) {
  return async (/** @type {ServerConfig} */ config) => {
    const { default: createApp } = await import('express')
    const app = createApp()
    app.disable('x-powered-by')
    app.set('etag', false)
    await use(app, config)
    app.get('/api/hello', (_req, res) => {
      res.json(hello)
    })
    return createServer(app)
  }
}

/** @param {(app: import('fastify').FastifyInstance, config: ServerConfig) => Promise<void>} use */
function fastify(use) {
  return async (/** @type {ServerConfig} */ config) => {
    const { default: Fastify } = await import('fastify')
    const app = Fastify()
    await use(app, config)
    app.get('/api/hello', async () => hello)
    await app.ready()
    return app.server
  }
}

/** @param {(app: import('koa'), config: ServerConfig) => Promise<void> | void} use */
function koa(use) {
  return async (/** @type {ServerConfig} */ config) => {
    const { default: Koa } = await import('koa')
    const app = new Koa()
    await use(app, config)
    app.use((ctx) => {
      if (ctx.path === '/api/hello') ctx.body = hello
    })
    return createServer(app.callback())
  }
}

/** @type {Record<string, (config: ServerConfig) => Promise<import('node:http').Server>>} */
const contenders = {
  'express-none': express(() => undefined),
  'express-helmet': express(async (app) => {
    const { default: helmet } = await import('helmet')
    app.use(helmet())
  }),
  'palisade-express-web': express(async (app) => {
    const { securityHeaders } = await import('@palisade/express')
    app.use(securityHeaders({ preset: 'web' }))
  }),
  'palisade-express-api': express(async (app) => {
    const { securityHeaders } = await import('@palisade/express')
    app.use(securityHeaders({ preset: 'api' }))
  }),
  'express-rate-limit': express(async (app, config) => {
    const { rateLimit } = await import('express-rate-limit')
    app.use(
      rateLimit({
        windowMs: WINDOW_MS,
        limit: config.limit,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      }),
    )
  }),
  'express-rate-limit-redis': express(async (app, config) => {
    const { rateLimit } = await import('express-rate-limit')
    const { RedisStore } = await import('rate-limit-redis')
    const client = await redisClient(config)
    const store = new RedisStore({
      prefix: `${config.prefix}erl:`,
      sendCommand: (/** @type {string[]} */ ...args) =>
        /** @type {Promise<import('rate-limit-redis').RedisReply>} */ (client.call(...args)),
    })
    app.use(
      rateLimit({
        windowMs: WINDOW_MS,
        limit: config.limit,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        store,
      }),
    )
  }),

  'fastify-none': fastify(async () => undefined),
  'fastify-helmet': fastify(async (app) => {
    const { default: helmet } = await import('@fastify/helmet')
    await app.register(helmet)
  }),
  'palisade-fastify-web': fastify(async (app) => {
    const { securityHeaders } = await import('@palisade/fastify')
    await app.register(securityHeaders, { preset: 'web' })
  }),
  'palisade-fastify-api': fastify(async (app) => {
    const { securityHeaders } = await import('@palisade/fastify')
    await app.register(securityHeaders, { preset: 'api' })
  }),
  'fastify-rate-limit': fastify(async (app, config) => {
    const { default: rateLimit } = await import('@fastify/rate-limit')
    await app.register(rateLimit, { max: config.limit, timeWindow: WINDOW_MS })
  }),
  'fastify-rate-limit-redis': fastify(async (app, config) => {
    const { default: rateLimit } = await import('@fastify/rate-limit')
    await app.register(rateLimit, {
      max: config.limit,
      timeWindow: WINDOW_MS,
      redis: await redisClient(config),
      nameSpace: `${config.prefix}frl:`,
    })
  }),

  'koa-none': koa(() => undefined),
  'koa-helmet': koa(async (app) => {
    const { default: helmet } = await import('koa-helmet')
    app.use(helmet())
  }),
  'palisade-koa-web': koa(async (app) => {
    const { securityHeaders } = await import('@palisade/koa')
    app.use(securityHeaders({ preset: 'web' }))
  }),
  'palisade-koa-api': koa(async (app) => {
    const { securityHeaders } = await import('@palisade/koa')
    app.use(securityHeaders({ preset: 'api' }))
  }),
  'koa-ratelimit': koa(async (app, config) => {
    const { default: ratelimit } = await import('koa-ratelimit')
    app.use(
      ratelimit({
        driver: 'memory',
        db: new Map(),
        duration: WINDOW_MS,
        max: config.limit,
        id: (ctx) => ctx.ip,
      }),
    )
  }),
  'koa-ratelimit-redis': koa(async (app, config) => {
    const { default: ratelimit } = await import('koa-ratelimit')
    app.use(
      ratelimit({
        driver: 'redis',
        db: await redisClient(config),
        namespace: `${config.prefix}krl`,
        duration: WINDOW_MS,
        max: config.limit,
        id: (ctx) => ctx.ip,
      }),
    )
  }),
}

for (const variant of /** @type {const} */ (['memory', 'memory-gcra', 'redis'])) {
  contenders[`palisade-express-${variant}`] = express(async (app, config) => {
    const { rateLimit } = await import('@palisade/express')
    app.use(rateLimit(await palisadeLimit(config, variant)))
  })
  contenders[`palisade-fastify-${variant}`] = fastify(async (app, config) => {
    const { rateLimit } = await import('@palisade/fastify')
    await app.register(rateLimit, await palisadeLimit(config, variant))
  })
  contenders[`palisade-koa-${variant}`] = koa(async (app, config) => {
    const { rateLimit } = await import('@palisade/koa')
    app.use(rateLimit(await palisadeLimit(config, variant)))
  })
}

serve(
  /** @param {ServerConfig} config */
  async (config) => {
    const build = contenders[config.id]
    if (build === undefined) throw new Error(`unknown contender ${config.id}`)
    return build(config)
  },
)
