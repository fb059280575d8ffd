import { inspect } from 'node:util'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { ConfigIssue, Secret } from '../src/index.js'
import { ConfigError, describeConfig, parseConfig, secret } from '../src/index.js'

const STRONG = 'q4Zt9mVx2LrB7wKs1NcY8pHd3JfG6aTe'
const PROD = { NODE_ENV: 'production' }

function issuesFor(value: string, options: Parameters<typeof secret>[0] = {}): ConfigIssue[] {
  try {
    parseConfig({ KEY: secret(options) }, { env: { ...PROD, KEY: value } })
  } catch (error) {
    if (error instanceof ConfigError) {
      // short values are words such as "secret" that the report's own sentences use
      if (value.length > 12) expect(error.message).not.toContain(value)
      return [...error.issues]
    }
    throw error
  }
  return []
}

const rules = (value: string, options?: Parameters<typeof secret>[0]) =>
  issuesFor(value, options).map((issue) => issue.rule)

describe('secret() in a production-like environment', () => {
  it.each([
    'changeme',
    'CHANGEME',
    'change-me',
    'Change_Me',
    'secret',
    'password',
    'P@ssw0rd',
    'your-secret-key',
    'YOUR_SECRET_KEY',
    'TODO',
    'xxx',
    'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
    'example',
    'demo',
    'test',
    'default',
    'placeholder',
    'dummy',
    '********************************',
  ])('refuses the placeholder %j', (value) => {
    expect(rules(value)).toContain('placeholder')
  })

  it.each([
    ['a long key that says change me', 'this-is-a-long-key-please-changeme-before-going-live'],
    ['a django insecure key', 'django-insecure-9x$k2!m@7q#w^z&v0b(c)n8d%f*g+h=j1l'],
    ['an unexpanded ${VAR}', '${SESSION_KEY_FROM_VAULT_THAT_WAS_NEVER_EXPANDED}'],
    ['an unrendered {{var}}', '{{ session_key_rendered_by_the_template_engine }}'],
    ['an angle-bracket hint', '<your-key-goes-here-from-the-admin-console-1234>'],
    ['a bare $VAR', '$SESSION_KEY'],
    ['a %VAR%', '%SESSION_KEY%'],
    ['a demo key', 'demo-api-key'],
    ['a named secret', 'your_secret_key_here'],
    ['a test token', 'TEST-TOKEN-123'],
    ['a super secret password', 'SuperSecretPassword'],
  ])('refuses %s', (_label, value) => {
    expect(rules(value)).toContain('placeholder')
  })

  it.each([
    ['Cyrillic letters', 'сhаngеmе'],
    ['full-width letters', 'ｃｈａｎｇｅｍｅ'],
    ['a zero-width space inside', 'change\u200bme'],
  ])('sees through look-alikes: %s', (_label, value) => {
    expect(rules(value)).toContain('placeholder')
  })

  it('flags invisible characters as invalid', () => {
    const found = issuesFor(`${STRONG}\u200b`)
    expect(found.map((i) => [i.kind, i.rule])).toEqual([['invalid', 'invisible-characters']])
  })

  it.each([
    ['a short value', 'q4Zt9mVx2LrB7wKs', 'too-short'],
    ['one repeated character', 'a'.repeat(40), 'low-entropy'],
    ['a repeated pattern', 'abc123'.repeat(8), 'low-entropy'],
    ['sequential characters', 'abcdefghijklmnopqrstuvwxyz0123456789', 'low-entropy'],
    ['few distinct characters', 'abababababababababababcccccccccccccccc', 'low-entropy'],
  ])('refuses %s', (_label, value, rule) => {
    expect(rules(value)).toContain(rule)
  })

  it('refuses a value equal to the documented example', () => {
    expect(rules(STRONG, { example: STRONG })).toEqual(['example-value'])
  })

  it('honours minLength', () => {
    expect(rules('q4Zt9mVx2LrB7wKs', { minLength: 16 })).toEqual([])
    expect(rules(STRONG, { minLength: 40 })).toEqual(['too-short'])
  })

  it.each([
    ['random base64', 'kP3x9QmZ7vT1wR8yN2bL5cJ6hF4dG0sA+eU/iOq='],
    ['random hex', '3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a1c3e5b7d9f2a4c6e8b0d1f3a'],
    ['random alphanumerics', STRONG],
    ['a long passphrase', 'correct horse battery staple orbit lantern'],
  ])('accepts %s', (_label, value) => {
    expect(issuesFor(value)).toEqual([])
  })

  it('reports every finding of one value and never its text', () => {
    const found = issuesFor('changeme')
    expect(found.map((i) => i.rule)).toEqual(['placeholder', 'too-short'])
    for (const issue of found) {
      expect(issue.variable).toBe('KEY')
      expect(issue.kind).toBe('weak')
      expect(issue.fix).not.toBe('')
      expect(JSON.stringify(issue)).not.toContain('changeme')
    }
  })

  it('handles a 1 MB value without echoing it', () => {
    const huge = 'A'.repeat(1024 * 1024)
    expect(rules(huge)).toEqual(['low-entropy'])
  })
})

describe('secret() output', () => {
  it('comes back as a Secret that never prints', () => {
    const config = parseConfig({ KEY: secret() }, { env: { ...PROD, KEY: STRONG } })
    expectTypeOf(config.KEY).toEqualTypeOf<Secret>()
    expect(config.KEY.reveal()).toBe(STRONG)
    expect(inspect(config)).not.toContain(STRONG)
    expect(JSON.stringify(config)).toBe('{"KEY":"[redacted]"}')
    expect(String(config.KEY)).toBe('[redacted]')
  })

  it('comes back as a plain string with as: "string"', () => {
    const config = parseConfig({ KEY: secret({ as: 'string' }) }, { env: { ...PROD, KEY: STRONG } })
    expectTypeOf(config.KEY).toEqualTypeOf<string>()
    expect(config.KEY).toBe(STRONG)
  })

  it('is optional with default: undefined', () => {
    const config = parseConfig({ KEY: secret({ default: undefined }) }, { env: PROD })
    expectTypeOf(config.KEY).toEqualTypeOf<Secret | undefined>()
    expect(config.KEY).toBeUndefined()
  })

  it('validates its options when created, naming the option', () => {
    expect(() => secret({ minLength: 0 })).toThrow('"minLength" option must be a positive integer')
    expect(() => secret({ minLength: 1.5 })).toThrow(
      '"minLength" option must be a positive integer',
    )
    // @ts-expect-error -- "as" takes "secret" or "string"
    expect(() => secret({ as: 'plain' })).toThrow('"as" option must be "secret" or "string"')
    // @ts-expect-error -- defaults of a secret are strings
    expect(() => secret({ default: 42 })).toThrow('"default" option must be a string')
  })
})

describe('secret() in development', () => {
  it('warns instead of refusing, and says so', () => {
    const warned: { object: Record<string, unknown>; message: string }[] = []
    const config = parseConfig(
      { KEY: secret() },
      {
        env: { NODE_ENV: 'development', KEY: 'changeme' },
        logger: { warn: (object, message) => warned.push({ object, message }) },
      },
    )
    expect(config.KEY.reveal()).toBe('changeme')
    expect(warned.map((w) => w.object.rule)).toEqual(['placeholder', 'too-short'])
    expect(warned[0]!.message).toContain('KEY')
    expect(warned[0]!.message).toContain('refused in production')
    expect(warned.map((w) => w.message).join()).not.toContain('changeme')
    expect(describeConfig(config).warnings.map((w) => w.rule)).toEqual(['placeholder', 'too-short'])
  })

  it('still refuses invisible characters', () => {
    expect(() =>
      parseConfig({ KEY: secret() }, { env: { NODE_ENV: 'development', KEY: `${STRONG}\u0007` } }),
    ).toThrow(ConfigError)
  })
})
