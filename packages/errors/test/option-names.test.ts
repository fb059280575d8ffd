import { describe, expect, it } from 'vitest'
import { checkOptionNames, replacedOptions } from '../src/index.js'
import type { ReplacedLibrary } from '../src/index.js'

function messageOf(run: () => void): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as Error).message
  }
  throw new Error('expected a TypeError')
}

describe('checkOptionNames', () => {
  it('accepts known names, whatever their value', () => {
    expect(() => {
      checkOptionNames({ limit: 1, key: undefined }, ['limit', 'key'], 'rateLimit()')
    }).not.toThrow()
    expect(() => {
      checkOptionNames({}, [], 'f()')
    }).not.toThrow()
  })

  it('names the option and the factory, with the Palisade name of a replaced option', () => {
    expect(
      messageOf(() => {
        checkOptionNames({ keyGenerator: () => 'k' }, ['limit', 'key'], 'rateLimit()', {
          replaces: ['express-rate-limit'],
        })
      }),
    ).toBe(
      `unknown option "keyGenerator" in rateLimit(): did you mean "key"? (express-rate-limit's keyGenerator is Palisade's key)`,
    )
  })

  it('refuses an unknown name even when its value is undefined', () => {
    expect(
      messageOf(() => {
        checkOptionNames({ limt: undefined }, ['limit'], 'f()')
      }),
    ).toBe('unknown option "limt" in f(): did you mean "limit"?')
  })

  it('suggests near misses: two edits at most, or a difference of case', () => {
    const known = ['timeoutMs', 'drainMs', 'hooks']
    expect(
      messageOf(() => {
        checkOptionNames({ timeout: 1 }, known, 'f()')
      }),
    ).toMatch(/did you mean "timeoutMs"\?$/)
    expect(
      messageOf(() => {
        checkOptionNames({ DRAINMS: 1 }, known, 'f()')
      }),
    ).toMatch(/did you mean "drainMs"\?$/)
    expect(
      messageOf(() => {
        checkOptionNames({ hook: 1 }, known, 'f()')
      }),
    ).toMatch(/did you mean "hooks"\?$/)
    expect(
      messageOf(() => {
        checkOptionNames({ ab: 1 }, ['id'], 'f()')
      }),
    ).toBe('unknown option "ab" in f(); known: id')
    expect(
      messageOf(() => {
        checkOptionNames({ deadline: 1 }, known, 'f()')
      }),
    ).toBe('unknown option "deadline" in f(); known: timeoutMs, drainMs, hooks')
  })

  it('reports nested names with their path', () => {
    expect(
      messageOf(() => {
        checkOptionNames({ timeout: 1 }, ['timeoutMs', 'cooldownMs'], 'createVerifier()', {
          path: 'jwks',
        })
      }),
    ).toBe('unknown option "jwks.timeout" in createVerifier(): did you mean "jwks.timeoutMs"?')
    // A replaced name that Palisade nests under the object checked.
    expect(
      messageOf(() => {
        checkOptionNames({ frameguard: false }, ['xFrameOptions'], 'createSecurityHeaders()', {
          path: 'helmet',
          replaces: ['helmet'],
        })
      }),
    ).toMatch(/"helmet.frameguard" .*did you mean "helmet.xFrameOptions"\?/)
    // A nested object repeating top-level names.
    expect(
      messageOf(() => {
        checkOptionNames({ max: 1 }, ['name', 'limit'], 'createRateLimiter()', {
          path: 'policies[0]',
          replaces: ['express-rate-limit'],
        })
      }),
    ).toMatch(/"policies\[0\].max" .*did you mean "policies\[0\].limit"\?/)
  })

  it('answers a replaced name only for the libraries the factory replaces', () => {
    // terminus's "timeout" is not offered for a JWKS fetch; the near miss still is.
    expect(
      messageOf(() => {
        checkOptionNames({ onSignal: 1 }, ['hooks'], 'createVerifier()', {
          replaces: ['@fastify/jwt'],
        })
      }),
    ).toBe('unknown option "onSignal" in createVerifier(); known: hooks')
  })

  it('has one entry per replaced name and library', () => {
    const ids = replacedOptions.map((entry) => `${entry.library} ${entry.name}`)
    expect(new Set(ids).size).toBe(ids.length)
  })

  // Walks the whole table: each entry, in a factory that replaces its library, is refused with
  // the Palisade name or the sentence it gives.
  it.each(replacedOptions.map((entry) => [entry.library, entry.name, entry] as const))(
    '%s %s is refused with what Palisade offers',
    (_library, name, entry) => {
      const sentence = /\s/.test(entry.use)
      // A factory that knows the Palisade option (its first segment) but not the replaced name.
      const known = sentence ? ['other'] : [entry.use.split('.')[0]!]
      const replaces: ReplacedLibrary[] = [entry.library]
      const message = messageOf(() => {
        checkOptionNames({ [name]: true }, known, 'factory()', { replaces })
      })
      expect(message).toContain(`unknown option "${name}" in factory()`)
      if (sentence) {
        expect(message).toContain(`(from ${entry.library}): ${entry.use}`)
      } else {
        expect(message).toContain(`did you mean "${entry.use}"?`)
        expect(message).toContain(`(${entry.library}'s ${name} is Palisade's ${entry.use})`)
      }
    },
  )
})
