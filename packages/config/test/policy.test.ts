import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  ConfigError,
  RuleViolation,
  describeConfig,
  makePolicyValidator,
  parseConfig,
} from '../src/index.js'

const safetySwitch = makePolicyValidator((raw, context) => {
  const on = raw !== 'off'
  const finding = {
    kind: 'unsafe' as const,
    rule: 'switched-off',
    message: 'is off',
    fix: `turn it on, or set ${context.variable}_WAIVER=yes`,
  }
  if (!on && context.env[`${context.variable}_WAIVER`] !== 'yes') {
    if (context.productionLike) throw new RuleViolation([finding])
    context.warn([finding])
  }
  return on
})

describe('makePolicyValidator', () => {
  it('refuses in production, warns in development, and sees the other variables', () => {
    const schema = { SAFETY: safetySwitch({ default: 'on' }) }
    expectTypeOf(parseConfig(schema, { env: {} }).SAFETY).toEqualTypeOf<boolean>()
    expect(parseConfig(schema, { env: { NODE_ENV: 'production' } }).SAFETY).toBe(true)

    let error: unknown
    try {
      parseConfig(schema, { env: { NODE_ENV: 'production', SAFETY: 'off' } })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toContain('SAFETY [switched-off]: is off')

    const dev = parseConfig(schema, { env: { NODE_ENV: 'development', SAFETY: 'off' } })
    expect(dev.SAFETY).toBe(false)
    expect(describeConfig(dev).warnings.map((w) => w.rule)).toEqual(['switched-off'])

    const waived = parseConfig(schema, {
      env: { NODE_ENV: 'production', SAFETY: 'off', SAFETY_WAIVER: 'yes' },
    })
    expect(waived.SAFETY).toBe(false)
  })

  it('validates its arguments', () => {
    // @ts-expect-error -- parse must be a function
    expect(() => makePolicyValidator('x')).toThrow('"parse" must be a function')
    // @ts-expect-error -- defaults are raw strings
    expect(() => safetySwitch({ default: true })).toThrow('"default" option must be a string')
  })
})
