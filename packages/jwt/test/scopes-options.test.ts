import { describe, expect, it } from 'vitest'
import { parseConfig } from '@palisade/config'
import { authEnvSchema, authFromConfig, authFromEnv, checkScopes } from '../src/index.js'
import type { Logger } from '../src/index.js'

// The casts stand for plain JavaScript, or an options object typed loosely: how an unknown
// option name reaches a factory.
const loose = (value: Record<string, unknown>): never => value as never

function messageOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as Error).message
  }
  throw new Error('expected a TypeError naming the unknown option')
}

const ignore = (): void => undefined
const quiet: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore }
const ENABLED = {
  NODE_ENV: 'test',
  AUTH_ISSUER: 'https://id.example.com/realms/main',
  AUTH_AUDIENCE: 'orders-api',
}
const DISABLED = { NODE_ENV: 'development', ENABLE_AUTH_MIDDLEWARE: 'false' }

describe('checkScopes() option names', () => {
  it('refuses an unknown option, suggesting the known one', () => {
    expect(messageOf(() => checkScopes('admin', loose({ modes: 'any' })))).toBe(
      'unknown option "modes" in checkScopes(): did you mean "mode"?',
    )
    expect(messageOf(() => checkScopes(['read', 'write'], loose({ any: true })))).toMatch(
      /^unknown option "any" in checkScopes\(\)/,
    )
  })

  it('accepts its options, undefined meaning the default', () => {
    expect(() => checkScopes('admin', { mode: 'any', realm: 'orders' })).not.toThrow()
    expect(() => checkScopes('admin', { mode: undefined, realm: undefined })).not.toThrow()
  })
})

describe('authFromConfig() and authFromEnv() option names', () => {
  it('refuses an option the environment sets instead of ignoring it', () => {
    const config = parseConfig(authEnvSchema, { env: ENABLED })
    expect(
      messageOf(() => authFromConfig(config, loose({ issuer: 'https://other.example.com' }))),
    ).toMatch(/^unknown option "issuer" in authFromConfig\(\)/)
  })

  it('names itself, not createVerifier(), and checks names when authentication is disabled', () => {
    const enabled = parseConfig(authEnvSchema, { env: ENABLED })
    expect(messageOf(() => authFromConfig(enabled, loose({ realms: 'orders' })))).toBe(
      'unknown option "realms" in authFromConfig(): did you mean "realm"?',
    )
    const disabled = parseConfig(authEnvSchema, { env: DISABLED, logger: quiet })
    expect(
      messageOf(() => authFromConfig(disabled, loose({ logger: quiet, realms: 'orders' }))),
    ).toBe('unknown option "realms" in authFromConfig(): did you mean "realm"?')
    expect(messageOf(() => authFromEnv(DISABLED, loose({ logger: quiet, realms: 'orders' })))).toBe(
      'unknown option "realms" in authFromEnv(): did you mean "realm"?',
    )
  })

  it('answers the names of the libraries it replaces', () => {
    expect(messageOf(() => authFromEnv(ENABLED, loose({ validators: {} })))).toBe(
      `unknown option "validators" in authFromEnv(): did you mean "checkClaims"? (express-oauth2-jwt-bearer's validators is Palisade's checkClaims)`,
    )
  })

  it('accepts every verifier option the environment does not set', () => {
    const auth = authFromEnv(ENABLED, {
      realm: 'orders',
      logger: quiet,
      maxTokenAge: 600,
      requiredClaims: ['sub'],
      typ: 'at+jwt',
      checkClaims: () => undefined,
      maxTokenBytes: 4096,
      cookie: undefined,
      jwks: { timeoutMs: 1000 },
      tokenCache: false,
      fetch: globalThis.fetch,
    })
    expect(auth.enabled).toBe(true)
    expect(auth.realm).toBe('orders')
  })
})
