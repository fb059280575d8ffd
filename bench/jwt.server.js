// One contender of the bearer-token benchmark (jwt.bench.js), alone in its own process so that
// it never shares an event loop with the load generator. The parent sends a config over IPC; we
// answer with the port, and exit when the parent disconnects. Every contender serves the same
// route, `GET /api/me` answering `{ "sub": ... }`, and checks the same claims: signature, `alg`,
// `iss`, `aud` and `exp`.
import { createServer } from 'node:http'
import { serve } from './lib/server.js'

/**
 * @typedef {object} ServerConfig
 * @property {string} id the contender (a key of `contenders`)
 * @property {boolean} cache Palisade's `tokenCache` / fast-jwt's `verify.cache`
 * @property {string} alg the one accepted algorithm
 * @property {string} issuer
 * @property {string} audience
 * @property {string} jwksUri
 * @property {import('jose').JWK} jwk the issuer's public key for `alg` (floors only)
 */

/** @param {unknown} header */
function bearer(header) {
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : ''
}

/**
 * The floors: jose `jwtVerify` with a key imported once, no JWKS and no middleware. The
 * `*-none` baselines run the same routes without any verification.
 */
async function localVerify(/** @type {ServerConfig} */ config) {
  if (config.id.endsWith('-none')) return () => Promise.resolve({ sub: 'user-1' })
  const { importJWK, jwtVerify } = await import('jose')
  const key = await importJWK(config.jwk, config.alg)
  const options = { issuer: config.issuer, audience: config.audience, algorithms: [config.alg] }
  /** @param {unknown} header */
  return async (header) => (await jwtVerify(bearer(header), key, options)).payload
}

/** @param {ServerConfig} config */
async function palisadeVerifier(config) {
  const { createVerifier } = await import('@palisade/jwt')
  const verifier = createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    jwksUrl: config.jwksUri,
    allowInsecureHttp: true,
    algorithms: [config.alg],
    tokenCache: config.cache ? { max: 10_000 } : false,
  })
  await verifier.ready()
  return verifier
}

async function expressApp() {
  const { default: express } = await import('express')
  const app = express()
  return {
    app,
    /** Error answers without express's default handler, which logs a stack per request. */
    finish() {
      app.use(
        /** @type {import('express').ErrorRequestHandler} */
        (error, _req, res, _next) => {
          const status = /** @type {{ status?: number }} */ (error).status ?? 500
          res.status(status).json({ error: status === 401 ? 'invalid_token' : 'error' })
        },
      )
      return createServer(app)
    },
  }
}

/**
 * A Fastify route behind @fastify/jwt with `options` (its key source), checking the same claims as
 * every contender; fast-jwt's own cache when `config.cache`.
 * @param {ServerConfig} config
 * @param {Omit<import('@fastify/jwt').FastifyJWTOptions, 'verify'>} options
 */
async function fastifyJwtServer(config, options) {
  const { default: fastifyJwt } = await import('@fastify/jwt')
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  await app.register(fastifyJwt, {
    ...options,
    verify: {
      allowedIss: config.issuer,
      allowedAud: config.audience,
      algorithms: [config.alg],
      ...(config.cache ? { cache: true } : {}),
    },
  })
  app.addHook('onRequest', async (request, reply) => {
    try {
      await request.jwtVerify()
    } catch (error) {
      return reply.send(error)
    }
  })
  app.get('/api/me', async (request) => ({
    sub: /** @type {{ sub?: string }} */ (request.user).sub,
  }))
  await app.ready()
  return app.server
}

/** @type {Record<string, (config: ServerConfig) => Promise<import('node:http').Server>>} */
const contenders = {
  async 'node-jose'(config) {
    const verify = await localVerify(config)
    return createServer((req, res) => {
      if (req.url !== '/api/me') {
        res.writeHead(404).end()
        return
      }
      verify(req.headers.authorization).then(
        (payload) => {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ sub: payload.sub }))
        },
        () => {
          res.writeHead(401, { 'content-type': 'application/json' })
          res.end('{"error":"invalid_token"}')
        },
      )
    })
  },

  async 'express-jose'(config) {
    const verify = await localVerify(config)
    const { app, finish } = await expressApp()
    app.get('/api/me', async (req, res) => {
      try {
        const payload = await verify(req.headers.authorization)
        res.json({ sub: payload.sub })
      } catch {
        res.status(401).json({ error: 'invalid_token' })
      }
    })
    return finish()
  },

  async 'palisade-express'(config) {
    const { auth } = await import('@palisade/express')
    const verifier = await palisadeVerifier(config)
    const { app, finish } = await expressApp()
    app.get('/api/me', auth(verifier), (req, res) => {
      res.json({ sub: req.auth?.subject })
    })
    return finish()
  },

  async 'express-jwt'(config) {
    const { expressjwt } = await import('express-jwt')
    const { default: jwksRsa } = await import('jwks-rsa')
    const { app, finish } = await expressApp()
    const middleware = expressjwt({
      secret: /** @type {import('express-jwt').GetVerificationKey} */ (
        jwksRsa.expressJwtSecret({ jwksUri: config.jwksUri, cache: true, rateLimit: true })
      ),
      algorithms: [/** @type {import('jsonwebtoken').Algorithm} */ (config.alg)],
      issuer: config.issuer,
      audience: config.audience,
    })
    app.get('/api/me', middleware, (req, res) => {
      res.json({ sub: /** @type {{ auth?: { sub?: string } }} */ (req).auth?.sub })
    })
    return finish()
  },

  async 'express-oauth2-jwt-bearer'(config) {
    const { auth } = await import('express-oauth2-jwt-bearer')
    const { app, finish } = await expressApp()
    // `issuer` + `jwksUri` instead of `issuerBaseURL`: no discovery, and plain http on loopback.
    const middleware = auth({
      issuer: config.issuer,
      jwksUri: config.jwksUri,
      audience: config.audience,
      tokenSigningAlg: config.alg,
    })
    app.get('/api/me', middleware, (req, res) => {
      res.json({ sub: req.auth?.payload.sub })
    })
    return finish()
  },

  async 'fastify-jose'(config) {
    const verify = await localVerify(config)
    const { default: Fastify } = await import('fastify')
    const app = Fastify()
    app.get('/api/me', async (request, reply) => {
      try {
        const payload = await verify(request.headers.authorization)
        return { sub: payload.sub }
      } catch {
        return reply.code(401).send({ error: 'invalid_token' })
      }
    })
    await app.ready()
    return app.server
  },

  async 'palisade-fastify'(config) {
    const { auth } = await import('@palisade/fastify')
    const { default: Fastify } = await import('fastify')
    const app = Fastify()
    await app.register(auth, { authenticator: await palisadeVerifier(config) })
    app.get('/api/me', async (request) => ({ sub: request.auth?.subject }))
    await app.ready()
    return app.server
  },

  // The @fastify/jwt README's JWKS recipe (get-jwks), with the issuer allow-listed.
  async 'fastify-jwt'(config) {
    const { default: buildGetJwks } = await import('get-jwks')
    const getJwks = buildGetJwks({ issuersWhitelist: [config.issuer] })
    return fastifyJwtServer(config, {
      decode: { complete: true },
      secret: (_request, token) => {
        const { header, payload } = /** @type {{ header: any, payload: any }} */ (token)
        return getJwks.getPublicKey({ kid: header.kid, domain: payload.iss, alg: header.alg })
      },
    })
  },

  // fast-jwt at its best: one local key, so that the cache is all that runs per request.
  async 'fastify-jwt-local'(config) {
    const { createPublicKey } = await import('node:crypto')
    const pem = createPublicKey({ key: config.jwk, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    })
    return fastifyJwtServer(config, { secret: { public: pem } })
  },

  async 'koa-jose'(config) {
    const verify = await localVerify(config)
    const { default: Koa } = await import('koa')
    const app = new Koa()
    app.use(async (ctx) => {
      if (ctx.path !== '/api/me') return
      try {
        const payload = await verify(ctx.headers.authorization)
        ctx.body = { sub: payload.sub }
      } catch {
        ctx.status = 401
        ctx.body = { error: 'invalid_token' }
      }
    })
    return createServer(app.callback())
  },

  async 'palisade-koa'(config) {
    const { auth } = await import('@palisade/koa')
    const { default: Koa } = await import('koa')
    const app = new Koa()
    app.use(auth(await palisadeVerifier(config)))
    app.use((ctx) => {
      if (ctx.path === '/api/me') ctx.body = { sub: ctx.state.auth?.subject }
    })
    return createServer(app.callback())
  },

  async 'koa-jwt'(config) {
    const { default: koaJwt } = await import('koa-jwt')
    const { default: jwksRsa } = await import('jwks-rsa')
    const { default: Koa } = await import('koa')
    const app = new Koa()
    app.use(
      koaJwt({
        secret: jwksRsa.koaJwtSecret({ jwksUri: config.jwksUri, cache: true, rateLimit: true }),
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [config.alg],
      }),
    )
    app.use((ctx) => {
      if (ctx.path === '/api/me') ctx.body = { sub: ctx.state.user?.sub }
    })
    return createServer(app.callback())
  },
}

for (const framework of ['node', 'express', 'fastify', 'koa']) {
  const floor = contenders[`${framework}-jose`]
  if (floor !== undefined) contenders[`${framework}-none`] = floor
}

serve(
  /** @param {ServerConfig} config */
  async (config) => {
    const build = contenders[config.id]
    if (build === undefined) throw new Error(`unknown contender ${config.id}`)
    return build(config)
  },
)
