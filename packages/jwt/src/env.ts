import { writeSync } from 'node:fs'
import { checkOptionNames, isObject } from '@palisade/errors'
import { RuleViolation, makePolicyValidator, parseConfig } from '@palisade/config'
import type { Config, ParseContext } from '@palisade/config'
import { DEFAULT_ALGORITHMS, VERIFIER_OPTIONS, checkAlgorithms, checkEndpoint } from './options.js'
import type { VerifierOptions } from './options.js'
import type { AuthInfo, Authenticator } from './types.js'
import { createVerifier } from './verifier.js'

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

function parseBoolean(raw: string, variable: string): boolean {
  const value = raw.trim().toLowerCase()
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  throw new RuleViolation([
    {
      kind: 'invalid',
      rule: 'format',
      message: 'is not a boolean',
      fix: `set ${variable} to true or false`,
    },
  ])
}

const authSwitch = makePolicyValidator((raw, context) => {
  const on = parseBoolean(raw, context.variable)
  if (!on) {
    const finding = {
      kind: 'unsafe' as const,
      rule: 'auth-disabled',
      message: 'switches authentication off, so every protected route is open',
      fix: 'remove ENABLE_AUTH_MIDDLEWARE (it defaults to true); it may be false only in development or test',
    }
    if (context.productionLike) throw new RuleViolation([finding])
    context.warn([finding])
  }
  return on
})

const insecureSwitch = makePolicyValidator((raw, context) => parseBoolean(raw, context.variable))

function endpoint(raw: string, context: ParseContext): string {
  const allowHttp = context.env['AUTH_ALLOW_INSECURE_HTTP']?.trim().toLowerCase()
  try {
    return checkEndpoint(
      context.variable,
      raw.trim(),
      allowHttp !== undefined && TRUE.has(allowHttp),
    )
  } catch (failure) {
    const message = (failure as Error).message.replace(/^"[^"]+" option /, '')
    throw new RuleViolation([
      {
        kind: message.includes('http') ? 'unsafe' : 'invalid',
        rule: message.includes('http') ? 'https-required' : 'format',
        message,
        fix: `set ${context.variable} to the https:// URL of the identity provider`,
      },
    ])
  }
}

const authEndpoint = makePolicyValidator(endpoint)
const audienceList = makePolicyValidator((raw, context) => {
  const list = raw
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '')
  if (list.length === 0) {
    throw new RuleViolation([
      {
        kind: 'invalid',
        rule: 'format',
        message: 'names no audience',
        fix: `set ${context.variable} to the API's audience, e.g. orders-api`,
      },
    ])
  }
  return Object.freeze(list)
})
const seconds = makePolicyValidator((raw, context) => {
  const value = Number(raw.trim())
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 300) {
    throw new RuleViolation([
      {
        kind: 'invalid',
        rule: 'format',
        message: 'is not a number of seconds from 0 to 300',
        fix: `set ${context.variable} to e.g. 5`,
      },
    ])
  }
  return value
})
const algorithmList = makePolicyValidator((raw) => {
  const list = raw
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '')
  try {
    return checkAlgorithms(list)
  } catch (failure) {
    throw new RuleViolation([
      {
        kind: 'unsafe',
        rule: 'algorithms',
        message: (failure as Error).message.replace(/^"algorithms" option /, ''),
        fix: `list asymmetric algorithms only, e.g. ${DEFAULT_ALGORITHMS.join(',')}`,
      },
    ])
  }
})

/**
 * The environment variables of authentication, as a `@palisade/config` schema to spread into a
 * service's own, so that every problem lands in one report:
 * `ENABLE_AUTH_MIDDLEWARE` (default true; false refused in production), `AUTH_ISSUER`,
 * `AUTH_AUDIENCE` (comma-separated), `AUTH_JWKS_URL`, `AUTH_ALGORITHMS`,
 * `AUTH_ALLOW_INSECURE_HTTP`, `AUTH_CLOCK_TOLERANCE`.
 *
 * @example
 * ```ts
 * const config = loadConfig({ ...authEnvSchema, PORT: port({ default: 3000 }) })
 * const auth = authFromConfig(config, { logger })
 * ```
 */
export const authEnvSchema = {
  ENABLE_AUTH_MIDDLEWARE: authSwitch({
    default: 'true',
    desc: 'Verify bearer tokens on protected routes; false is refused in production',
  }),
  AUTH_ISSUER: authEndpoint({
    default: undefined,
    requiredWhen: (env) => env['ENABLE_AUTH_MIDDLEWARE'] !== false,
    desc: 'Expected token issuer (iss); also the OpenID discovery base',
    example: 'https://id.example.com/realms/main',
  }),
  AUTH_AUDIENCE: audienceList({
    default: undefined,
    requiredWhen: (env) => env['ENABLE_AUTH_MIDDLEWARE'] !== false,
    desc: 'Expected token audience (aud), comma-separated for several',
    example: 'orders-api',
  }),
  AUTH_JWKS_URL: authEndpoint({
    default: undefined,
    desc: 'JWKS endpoint; discovered from AUTH_ISSUER when unset',
  }),
  AUTH_ALGORITHMS: algorithmList({
    default: DEFAULT_ALGORITHMS.join(','),
    desc: 'Accepted signing algorithms, comma-separated',
  }),
  AUTH_ALLOW_INSECURE_HTTP: insecureSwitch({
    default: 'false',
    desc: 'Allow http:// issuer and JWKS URLs on loopback hosts (local tests only)',
  }),
  AUTH_CLOCK_TOLERANCE: seconds({ default: '5', desc: 'Seconds of clock skew tolerated' }),
}

/** A configuration holding at least the variables of {@link authEnvSchema}. */
export type AuthConfig = Config<typeof authEnvSchema>

/** The verifier options the environment sets (AUTH_ISSUER, AUTH_AUDIENCE, ...). */
const SET_BY_ENV = [
  'issuer',
  'audience',
  'jwksUrl',
  'algorithms',
  'allowInsecureHttp',
  'clockTolerance',
] as const satisfies readonly (keyof VerifierOptions)[]

/** Options of {@link authFromConfig} and {@link authFromEnv}: any verifier option not set by the environment. */
export type AuthEnvOptions = Omit<VerifierOptions, (typeof SET_BY_ENV)[number]>

const AUTH_ENV_OPTIONS = VERIFIER_OPTIONS.filter(
  (name) => !(SET_BY_ENV as readonly string[]).includes(name),
)

// The environment sets the other verifier options: one given here too would be overridden
// without a word, so it is refused like any unknown name.
function checkAuthEnvOptions(options: AuthEnvOptions, what: string): void {
  if (!isObject(options)) throw new TypeError(`${what} options must be an object`)
  checkOptionNames(options, AUTH_ENV_OPTIONS, what, {
    replaces: ['express-oauth2-jwt-bearer', '@fastify/jwt'],
  })
}

const DISABLED: AuthInfo = Object.freeze({
  disabled: true,
  subject: undefined,
  claims: Object.freeze({}),
  header: Object.freeze({ alg: 'none' }),
  scopes: Object.freeze([]),
  expiresAt: undefined,
})

/**
 * An authenticator that lets every request through, for development with
 * `ENABLE_AUTH_MIDDLEWARE=false`. `authFromConfig` never returns it in a production-like
 * environment, because the configuration refuses the switch there.
 */
export function disabledAuthenticator(realm = 'api'): Authenticator {
  return Object.freeze({
    enabled: false,
    realm,
    authenticate: () => Promise.resolve(DISABLED),
    ready: () => Promise.resolve(),
  })
}

/**
 * Builds the authenticator a loaded configuration asks for: a verifier, or (development only) a
 * disabled authenticator, announced with a loud warning on every start.
 *
 * @example
 * ```ts
 * const config = loadConfig({ ...authEnvSchema })
 * const auth = authFromConfig(config, { logger, realm: 'orders' })
 * await auth.ready()
 * ```
 */
export function authFromConfig(config: AuthConfig, options: AuthEnvOptions = {}): Authenticator {
  checkAuthEnvOptions(options, 'authFromConfig()')
  if (!config.ENABLE_AUTH_MIDDLEWARE) {
    const message =
      'AUTHENTICATION IS DISABLED (ENABLE_AUTH_MIDDLEWARE=false): every protected route is open. This is refused in production.'
    if (options.logger !== undefined) {
      options.logger.warn({ code: 'PALISADE_JWT_AUTH_DISABLED' }, message)
    } else {
      writeSync(2, `\n!!! ${message}\n\n`)
    }
    return disabledAuthenticator(options.realm)
  }
  if (config.AUTH_ISSUER === undefined || config.AUTH_AUDIENCE === undefined) {
    throw new TypeError('AUTH_ISSUER and AUTH_AUDIENCE must be set when authentication is enabled')
  }
  return createVerifier({
    ...options,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    jwksUrl: config.AUTH_JWKS_URL,
    algorithms: config.AUTH_ALGORITHMS,
    allowInsecureHttp: config.AUTH_ALLOW_INSECURE_HTTP,
    clockTolerance: config.AUTH_CLOCK_TOLERANCE,
  })
}

/**
 * {@link authFromConfig} for a service that reads only the auth variables here: validates them
 * with `@palisade/config` (throwing a `ConfigError` naming every problem) and builds the
 * authenticator.
 *
 * @example
 * ```ts
 * const auth = authFromEnv(process.env)
 * ```
 */
export function authFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: AuthEnvOptions = {},
): Authenticator {
  checkAuthEnvOptions(options, 'authFromEnv()')
  return authFromConfig(parseConfig(authEnvSchema, { env, logger: options.logger }), options)
}
