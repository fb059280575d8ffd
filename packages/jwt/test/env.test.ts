import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseConfig, port } from '@palisade/config'
import type { DevIssuer } from '@palisade/testing'
import { startDevIssuer } from '@palisade/testing'
import { authEnvSchema, authFromConfig, authFromEnv } from '../src/index.js'
import type { Logger } from '../src/index.js'

let issuer: DevIssuer
beforeAll(async () => {
  issuer = await startDevIssuer()
})
afterAll(async () => {
  await issuer.close()
})

function refusal(env: Record<string, string>): ConfigError {
  try {
    authFromEnv(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}
const rules = (error: ConfigError) => error.issues.map((i) => `${i.variable}:${i.rule}`)

describe('authFromEnv', () => {
  it('builds a verifier from the environment', async () => {
    const auth = authFromEnv({
      NODE_ENV: 'test',
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: 'billing, api',
      AUTH_ALLOW_INSECURE_HTTP: 'true',
      AUTH_CLOCK_TOLERANCE: '0',
    })
    expect(auth.enabled).toBe(true)
    await auth.ready()
    const result = await auth.authenticate({
      headers: { authorization: `Bearer ${await issuer.mint()}` },
    })
    expect(result.subject).toBe('user-1')
  })

  it('reports every auth problem at once in production', () => {
    const error = refusal({
      NODE_ENV: 'production',
      AUTH_ALGORITHMS: 'none,HS256',
      AUTH_CLOCK_TOLERANCE: 'soon',
    })
    expect(rules(error)).toEqual([
      'AUTH_ISSUER:required',
      'AUTH_AUDIENCE:required',
      'AUTH_ALGORITHMS:algorithms',
      'AUTH_CLOCK_TOLERANCE:format',
    ])
    expect(error.message).toContain('AUTH_ALGORITHMS [algorithms]: must not include "none"')
  })

  it('refuses ENABLE_AUTH_MIDDLEWARE=false in a production-like environment', () => {
    for (const env of [
      { NODE_ENV: 'production' },
      {},
      { NODE_ENV: 'staging' },
      { APP_ENV: 'prod', NODE_ENV: 'development' },
    ]) {
      const error = refusal({ ...env, ENABLE_AUTH_MIDDLEWARE: 'false' })
      // the switch is refused, so the settings auth needs are reported missing as well
      expect(rules(error)).toEqual([
        'ENABLE_AUTH_MIDDLEWARE:auth-disabled',
        'AUTH_ISSUER:required',
        'AUTH_AUDIENCE:required',
      ])
      expect(error.message).toContain('switches authentication off')
    }
  })

  it('allows switching auth off in development, loudly, and lets requests through', async () => {
    const warnings: string[] = []
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (_o, m) => warnings.push(m),
    }
    const auth = authFromEnv(
      { NODE_ENV: 'development', ENABLE_AUTH_MIDDLEWARE: 'false' },
      { logger },
    )
    expect(auth.enabled).toBe(false)
    expect((await auth.authenticate({ headers: {} })).disabled).toBe(true)
    expect(warnings.some((w) => w.includes('AUTHENTICATION IS DISABLED'))).toBe(true)
  })

  it('refuses an http issuer unless insecure HTTP is allowed, and only on loopback', () => {
    expect(
      rules(refusal({ NODE_ENV: 'test', AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: 'api' })),
    ).toEqual(['AUTH_ISSUER:https-required'])
    expect(
      rules(
        refusal({
          NODE_ENV: 'test',
          AUTH_ISSUER: 'http://id.example.com',
          AUTH_AUDIENCE: 'api',
          AUTH_ALLOW_INSECURE_HTTP: 'true',
        }),
      ),
    ).toEqual(['AUTH_ISSUER:https-required'])
    expect(
      rules(
        refusal({ NODE_ENV: 'test', AUTH_ISSUER: 'https://id.example.com', AUTH_AUDIENCE: ' , ' }),
      ),
    ).toEqual(['AUTH_AUDIENCE:format'])
    expect(
      rules(
        refusal({
          NODE_ENV: 'test',
          AUTH_ISSUER: 'https://id.example.com',
          AUTH_AUDIENCE: 'api',
          ENABLE_AUTH_MIDDLEWARE: 'maybe',
        }),
      ),
    ).toEqual(['ENABLE_AUTH_MIDDLEWARE:format'])
  })

  it('composes with a service schema into one report', () => {
    let error: unknown
    try {
      parseConfig(
        { ...authEnvSchema, PORT: port({ default: 3000 }) },
        { env: { NODE_ENV: 'production', PORT: 'x' } },
      )
    } catch (caught) {
      error = caught
    }
    expect(rules(error as ConfigError)).toEqual([
      'AUTH_ISSUER:required',
      'AUTH_AUDIENCE:required',
      'PORT:format',
    ])
    const config = parseConfig(
      { ...authEnvSchema },
      {
        env: {
          NODE_ENV: 'production',
          AUTH_ISSUER: 'https://id.example.com',
          AUTH_AUDIENCE: 'api',
        },
      },
    )
    expect(config.AUTH_AUDIENCE).toEqual(['api'])
    expect(config.AUTH_ALGORITHMS).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA'])
    expect(authFromConfig(config).enabled).toBe(true)
    expect(typeof loadConfig).toBe('function')
  })
})
