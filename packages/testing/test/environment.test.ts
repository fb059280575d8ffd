import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startDevIssuer } from '../src/index.js'
import type { DevIssuerOptions } from '../src/index.js'

// The issuer reads the environment when it starts; each case sets it and the original comes back.
let saved: { NODE_ENV: string | undefined; APP_ENV: string | undefined }
beforeEach(() => {
  saved = { NODE_ENV: process.env['NODE_ENV'], APP_ENV: process.env['APP_ENV'] }
})
afterEach(() => {
  setEnvironment({})
  if (saved.NODE_ENV !== undefined) process.env['NODE_ENV'] = saved.NODE_ENV
  if (saved.APP_ENV !== undefined) process.env['APP_ENV'] = saved.APP_ENV
})

function setEnvironment(env: { NODE_ENV?: string; APP_ENV?: string }): void {
  delete process.env['NODE_ENV']
  delete process.env['APP_ENV']
  Object.assign(process.env, env)
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    const issuer = (await promise) as { close(): Promise<void> }
    await issuer.close()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection: the dev issuer started')
}

describe('startDevIssuer() environment rule', () => {
  it.each([
    [{}, 'NODE_ENV and APP_ENV are unset'],
    [{ NODE_ENV: 'production' }, 'NODE_ENV is "production"'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV is "staging"'],
    [{ APP_ENV: 'prod', NODE_ENV: 'development' }, 'APP_ENV is "prod"'],
    [{ NODE_ENV: ' ', APP_ENV: '' }, 'NODE_ENV and APP_ENV are unset'],
  ])('refuses to start when %j (%s)', async (env, reason) => {
    setEnvironment(env)
    const error = await rejection(startDevIssuer({ algorithms: ['ES256'] }))
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toContain('production-like environment')
    expect(error.message).toContain(reason)
    expect(error.message).toContain('development, dev, local or test')
    expect(error.message).toContain('"allowProductionLike: true"')
  })

  it.each([
    { NODE_ENV: 'test' },
    { NODE_ENV: 'development' },
    { NODE_ENV: 'DEV' },
    { NODE_ENV: 'local' },
    { APP_ENV: 'test', NODE_ENV: 'production' },
    { APP_ENV: ' development ' },
  ])('starts when %j', async (env) => {
    setEnvironment(env)
    const issuer = await startDevIssuer({ algorithms: ['ES256'] })
    await issuer.close()
  })

  it('starts in a production-like environment with "allowProductionLike: true"', async () => {
    setEnvironment({ NODE_ENV: 'production' })
    const issuer = await startDevIssuer({ algorithms: ['ES256'], allowProductionLike: true })
    try {
      expect(await issuer.mint({ subject: 'alice' })).toMatch(/^ey/)
    } finally {
      await issuer.close()
    }
  })

  it('still refuses with "allowProductionLike: false"', async () => {
    setEnvironment({ NODE_ENV: 'production' })
    const error = await rejection(startDevIssuer({ allowProductionLike: false }))
    expect(error.message).toContain('production-like environment')
  })

  it('validates "allowProductionLike"', async () => {
    setEnvironment({ NODE_ENV: 'test' })
    const error = await rejection(
      startDevIssuer({ allowProductionLike: 'yes' } as unknown as DevIssuerOptions),
    )
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe('"allowProductionLike" option must be a boolean')
  })
})
