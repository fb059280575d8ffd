import { describe, expect, it } from 'vitest'
import type { ConfigIssue } from '../src/index.js'
import { ConfigError, dsn, parseConfig, secret, str, url } from '../src/index.js'

const PROD = { NODE_ENV: 'production' }

function refusal(schema: Parameters<typeof parseConfig>[0], value: string): ConfigError {
  try {
    parseConfig(schema, { env: { ...PROD, VALUE: value } })
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

/** Everything a refusal lets out: the report and each issue's own fields. */
function shown(error: ConfigError): string {
  const fields = error.issues.map((i: ConfigIssue) => `${i.message}\n${i.fix}`)
  return [error.message, ...fields].join('\n')
}

// Host names are shown in lower case, so a fragment must not appear in any case.
function expectNone(text: string, fragments: readonly string[]): void {
  for (const fragment of fragments) expect(text.toLowerCase()).not.toContain(fragment.toLowerCase())
}

// Passwords as they are found in environments: unencoded, with characters a URL parser stops at.
const malformed: [string, string, string[]][] = [
  [
    'a / in the password, as seen in a real report',
    'postgres://db:5432/Zq8vR2mXkP9w/L4tN7bQ1@db.prod.internal:5432/app',
    ['Zq8vR2mXkP9w', 'L4tN7bQ1'],
  ],
  [
    'several / and @ in the password',
    'postgres://user:pa/ss@w@rd@db.prod.internal/app',
    ['pa/ss', 'ss@w', 'w@rd', 'rd@'],
  ],
  [
    '/ then @ in the password',
    'postgres://user:Xk@mQ7/vR2@db.prod.internal:5432/app',
    ['Xk@', 'mQ7', 'vR2'],
  ],
  [
    'a # in the password',
    'postgres://app:12#9kLmQwErTy@db.prod.internal:5432/app',
    ['12#', '9kLmQwErTy', 'app:12'],
  ],
  [
    'a ? in the password',
    'postgres://app:34?Qw8Er7Tz@db.prod.internal:5432/app',
    ['34?', 'Qw8Er7Tz', 'app:34'],
  ],
  [
    'a : in the password',
    'postgres://app:Hj3:Kl9:Zx4@db.prod.internal:5432/app',
    ['Hj3', 'Kl9', 'Zx4'],
  ],
  ['no user name', 'redis://:56/Mn8bV2cX@cache.prod.internal:6379/0', ['Mn8bV2cX', ':56']],
  ['an IPv6 host', 'postgres://app:78/Pq2wS5dF@[2001:db8::7]:5432/app', ['Pq2wS5dF', 'app:78']],
  [
    'several hosts',
    'mongodb://svc:90,Gh7/Jk2Lm@a.prod.internal:27017,b.prod.internal:27017/app',
    ['Gh7', 'Jk2Lm', 'svc:90'],
  ],
  [
    'a long password cut short in the report',
    `postgres://app:123/${'Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3'.repeat(2)}@db.prod.internal:5432/app`,
    ['app:123', 'Cd2Ef3'],
  ],
]

describe('the report of a connection string with a malformed password', () => {
  it.each(malformed)('%s: no fragment of the password', (_label, value, fragments) => {
    const error = refusal({ VALUE: dsn() }, value)
    expect(error.message).toContain('VALUE [')
    expectNone(shown(error), fragments)
  })

  it.each(malformed)('%s: no fragment in development', (_label, value, fragments) => {
    const said: string[] = []
    try {
      parseConfig(
        { VALUE: dsn() },
        {
          env: { NODE_ENV: 'development', VALUE: value },
          logger: { warn: (_object, message) => said.push(message) },
        },
      )
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      said.push(shown(error))
    }
    expectNone(said.join('\n'), fragments)
  })
})

describe('a non-secret value holding a URL with credentials', () => {
  it.each([
    [
      'https://user:pa/ss@w@rd@idp.example.com/x',
      'https://***@idp.example.com/x',
      ['pa/ss', 'w@rd'],
    ],
    ['https://:to#k?en@idp.example.com', 'https://***@idp.example.com', ['to#k', 'k?en']],
    ['https://u:p:w/1@[2001:db8::1]:8443/', 'https://***@[2001:db8::1]:8443/', ['p:w/1']],
    [
      'https://a:s1/x@one.io https://b:s2@y@two.io',
      'https://***@one.io https://***@two.io',
      ['s1/x', 's2@y'],
    ],
  ])('%s is shown as %s', (value, expected, fragments) => {
    const error = refusal({ VALUE: str({ choices: ['a'] }) }, value)
    expect(error.message).toContain(expected)
    expectNone(shown(error), fragments)
  })

  it('is redacted in an envalid message that quotes it', () => {
    const error = refusal({ VALUE: url() }, 'https://user:pa/ss@w@rd@idp example.com')
    expect(error.message).toContain('https://***@idp example.com')
    expect(shown(error)).not.toContain('pa/ss')
  })

  it('has key=value credentials removed', () => {
    const error = refusal(
      { VALUE: str({ choices: ['a'] }) },
      'host=db.internal password=Vb7/Nm3@Qw user=app',
    )
    expect(error.message).toContain('host=db.internal password=***')
    expect(shown(error)).not.toContain('Vb7')
  })
})

describe('a secret that is not a URL', () => {
  it.each(['Zq8v/R2mX@kP9w#L4tN', 'x://not-a-url@really', 'changeme'])(
    '%s stays fully redacted',
    (value) => {
      for (const schema of [
        { VALUE: secret() },
        { VALUE: secret({ minLength: 64 }) },
        { VALUE_TOKEN: str({ choices: ['a'] }) },
      ]) {
        const [name] = Object.keys(schema)
        let error: ConfigError | undefined
        try {
          parseConfig(schema, { env: { ...PROD, [name!]: value } })
        } catch (caught) {
          if (caught instanceof ConfigError) error = caught
        }
        expect(error).toBeDefined()
        expect(shown(error!)).not.toContain(value)
        expect(shown(error!)).not.toMatch(/Zq8v|R2mX|kP9w|L4tN|really/)
      }
    },
  )
})
