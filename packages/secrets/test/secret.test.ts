import { Writable } from 'node:stream'
import { format, inspect } from 'node:util'
import { pino } from 'pino'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { Secret, SecretsLoadError, envSource, isSecret, loadSecrets } from '../src/index.js'

const VALUE = 'Zq8!vN3#pL0@wX6$rT2%yB9^kM4&hJ7*'

describe('Secret', () => {
  const secret = new Secret(VALUE, { name: 'SESSION_KEY' })

  it('reveals the value only when asked', () => {
    expect(secret.reveal()).toBe(VALUE)
    expect(secret.use((v) => v.length)).toBe(VALUE.length)
    expectTypeOf(secret.reveal()).toEqualTypeOf<string>()
  })

  it('never shows the value when formatted, logged, inspected, serialised or thrown', () => {
    const lines: string[] = []
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString())
          callback()
        },
      }),
    )
    logger.info({ secret, nested: { secret } }, 'using %s', secret)
    /* eslint-disable @typescript-eslint/restrict-template-expressions, @typescript-eslint/restrict-plus-operands -- misuse is the point */
    const outputs = [
      String(secret),
      `${secret}`,
      'prefix ' + secret,
      secret.toString(),
      JSON.stringify({ secret }),
      inspect(secret),
      inspect({ deep: { deeper: { secret } } }, { depth: 10, showHidden: true }),
      format('%s %o %O %j', secret, secret, secret, secret),
      ...lines,
    ]
    /* eslint-enable @typescript-eslint/restrict-template-expressions, @typescript-eslint/restrict-plus-operands */
    let thrown = ''
    try {
      // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- misuse is the point
      throw new Error(`could not use ${secret}`)
    } catch (error) {
      thrown = inspect(error)
    }
    outputs.push(thrown)
    for (const output of outputs) {
      expect(output).not.toContain(VALUE)
      expect(output).toContain('[redacted]')
    }
    expect(inspect(secret)).toBe('Secret<SESSION_KEY>([redacted])')
    expect(inspect(new Secret('x'))).toBe('Secret([redacted])')
  })

  it('cannot be changed or read through its properties', () => {
    expect(Object.keys(secret)).toEqual(['name'])
    expect(Object.isFrozen(secret)).toBe(true)
    expect(JSON.stringify(Object.entries(secret))).not.toContain(VALUE)
  })

  it('compares in constant time with secrets and plain values', () => {
    expect(secret.equals(VALUE)).toBe(true)
    expect(secret.equals(new Secret(VALUE))).toBe(true)
    expect(secret.equals(VALUE.slice(1))).toBe(false)
    expect(secret.equals('')).toBe(false)
    expect(new Secret({ a: 1 }).equals({ a: 1 })).toBe(true)
  })

  it('gives a short fingerprint that tells values apart without showing them', () => {
    expect(secret.fingerprint()).toMatch(/^[0-9a-f]{12}$/)
    expect(secret.fingerprint()).toBe(new Secret(VALUE).fingerprint())
    expect(secret.fingerprint()).not.toBe(new Secret(`${VALUE}x`).fingerprint())
  })

  it('is recognised by isSecret', () => {
    expect(isSecret(secret)).toBe(true)
    expect(isSecret(VALUE)).toBe(false)
    expect(isSecret({ reveal: () => VALUE })).toBe(false)
    expect(isSecret(null)).toBe(false)
  })

  it('stays hidden inside loaded secrets, their events, errors and reports', async () => {
    const lines: string[] = []
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString())
          callback()
        },
      }),
    )
    const secrets = await loadSecrets(
      { SESSION_KEY: envSource('SESSION_KEY', { env: { SESSION_KEY: VALUE } }) },
      { logger, watch: false },
    )
    const loaded = secrets.get('SESSION_KEY')
    logger.info({ secrets, loaded, check: secrets.healthCheck() }, 'loaded %s %o', loaded, secrets)
    let report = ''
    try {
      await loadSecrets(
        {
          SESSION_KEY: {
            from: envSource('SESSION_KEY', { env: { SESSION_KEY: VALUE } }),
            validate: () => false,
          },
        },
        { logger },
      )
    } catch (error) {
      if (!(error instanceof SecretsLoadError)) throw error
      report = `${error.message}\n${inspect(error, { depth: 10 })}\n${JSON.stringify(error)}`
      logger.error({ err: error }, 'startup failed')
    }
    expect(report).toContain('SESSION_KEY')
    const outputs = [
      inspect(secrets, { depth: 10, showHidden: true }),
      JSON.stringify(secrets),
      format('%s %o %O %j', secrets, secrets, loaded, loaded),
      report,
      ...lines,
    ]
    for (const output of outputs) expect(output).not.toContain(VALUE)
    expect(lines.join('')).toContain('[redacted]')
    await secrets.close()
  })
})
