import { checkOptionNames } from '@palisade/errors'
import { ConfigError } from './issues.js'
import type { ConfigIssue } from './issues.js'
import { isSensitiveVariable, replaceUrlPasswords } from './redact.js'
import type { ConfigSchema } from './spec.js'

/** Options of {@link generateEnvExample}. */
export interface EnvExampleOptions {
  /** A first comment line, e.g. the service's name. */
  readonly header?: string | undefined
}

const EXAMPLE_OPTIONS = Object.keys({
  header: true,
} satisfies Record<keyof EnvExampleOptions, true>)

/** What a password inside a URL becomes in `.env.example`. */
const PLACEHOLDER = 'change-me'

function field(spec: unknown, key: string): unknown {
  return (spec as Record<string, unknown>)[key]
}

function render(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return /[\s#"'$`\\]/.test(text) ? `"${text.replace(/(["\\$`])/g, '\\$1')}"` : text
}

/**
 * Generates a `.env.example` from a schema: each variable with its description, whether it is
 * required, its default, its choices and its documentation link. Secrets (marked so by their
 * spec, or named like one: `*_PASSWORD`, `*_PASS`, `*_SECRET`, `*_TOKEN`, `*_KEY`, ...) are
 * marked and left empty, with neither their default nor their choices shown (and a reminder
 * that `NAME_FILE` works too); other variables show their example or default. The password of
 * any URL in the file, comments included, is written as `change-me`.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs'
 * writeFileSync('.env.example', generateEnvExample(schema, { header: 'orders-api' }))
 * ```
 */
export function generateEnvExample(schema: ConfigSchema, options: EnvExampleOptions = {}): string {
  if (typeof (options as unknown) !== 'object' || (options as unknown) === null) {
    throw new TypeError('generateEnvExample() options must be an object')
  }
  checkOptionNames(
    options as object as Record<string, unknown>,
    EXAMPLE_OPTIONS,
    'generateEnvExample()',
  )
  const lines: string[] = []
  if (options.header !== undefined) lines.push(`# ${options.header}`)
  lines.push(
    '# Generated from the configuration schema by @palisade/config. Never commit real secrets:',
    '# secrets below are left empty on purpose.',
  )
  for (const [name, spec] of Object.entries(schema)) {
    const sensitive = isSensitiveVariable(name, spec)
    const desc = field(spec, 'desc')
    const docs = field(spec, 'docs')
    const choices = field(spec, 'choices')
    const hasDefault = ['default', 'devDefault', 'testDefault'].some((k) => Object.hasOwn(spec, k))
    const fallback = field(spec, 'default')
    lines.push('')
    if (typeof desc === 'string' && desc !== '') {
      for (const line of desc.split('\n')) lines.push(`# ${line}`)
    }
    const facts: string[] = []
    if (!Object.hasOwn(spec, 'default')) facts.push('required')
    else if (fallback === undefined) facts.push('optional')
    else
      facts.push(sensitive ? 'optional (has a default)' : `optional, default: ${render(fallback)}`)
    if (!Object.hasOwn(spec, 'default') && hasDefault) facts.push('has a development default')
    if (sensitive) facts.push(`secret: set ${name} or ${name}_FILE (a file that holds it)`)
    if (Array.isArray(choices) && !sensitive)
      facts.push(`one of: ${choices.map(String).join(', ')}`)
    if (typeof docs === 'string') facts.push(`see ${docs}`)
    lines.push(`# ${facts.join('; ')}`)
    let value = ''
    if (!sensitive) {
      const example = field(spec, 'example')
      if (typeof example === 'string') value = render(example)
      else if (fallback !== undefined) value = render(fallback)
    }
    lines.push(`${name}=${value}`)
  }
  // Descriptions, defaults, examples and choices alike: a credential in any of them would be
  // committed with the file.
  return `${replaceUrlPasswords(lines.join('\n'), PLACEHOLDER)}\n`
}

/** The result of {@link checkEnvExample}. */
export interface EnvExampleCheck {
  /** True when the file lists every variable, no stale one, and no secret value. */
  readonly ok: boolean
  /** Variables of the schema the file does not list. */
  readonly missing: readonly string[]
  /** Variables the file lists that the schema no longer has. */
  readonly stale: readonly string[]
  /**
   * Secret variables the file gives a value to (a leaked or placeholder secret), and other
   * variables it gives a URL with a password other than `change-me`.
   */
  readonly secretsWithValues: readonly string[]
  /** The same findings as issues, for reports; empty when `ok`. */
  readonly issues: readonly ConfigIssue[]
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/

/**
 * Checks an existing `.env.example` against a schema: every variable listed (`NAME=` or
 * `NAME_FILE=`), no stale variables, no value given to a secret and no URL with a password
 * other than `change-me` (what {@link generateEnvExample} writes). Lines that are comments are
 * ignored.
 *
 * @example
 * ```ts
 * const result = checkEnvExample(schema, readFileSync('.env.example', 'utf8'))
 * if (!result.ok) console.error(result.issues.map((i) => `${i.variable}: ${i.message}`).join('\n'))
 * ```
 */
export function checkEnvExample(schema: ConfigSchema, content: string): EnvExampleCheck {
  const listed = new Map<string, string>()
  for (const line of content.split(/\r?\n/)) {
    const match = ASSIGNMENT.exec(line)
    if (match !== null) listed.set(match[1]!, match[2]!.trim())
  }
  const names = Object.keys(schema)
  const known = new Set(names.flatMap((n) => [n, `${n}_FILE`]))
  const missing = names.filter((n) => !listed.has(n) && !listed.has(`${n}_FILE`))
  const stale = [...listed.keys()].filter((n) => !known.has(n))
  const unquoted = (n: string) => (listed.get(n) ?? '').replace(/^["']|["']$/g, '')
  const secretsWithValues = names.filter((n) =>
    isSensitiveVariable(n, schema[n])
      ? unquoted(n) !== ''
      : replaceUrlPasswords(unquoted(n), PLACEHOLDER) !== unquoted(n),
  )
  const unset = { source: 'unset' } as const
  const issues: ConfigIssue[] = [
    ...missing.map((variable) => ({
      variable,
      kind: 'missing' as const,
      rule: 'env-example-missing',
      message: 'is in the schema but not in .env.example',
      fix: 'regenerate .env.example with generateEnvExample()',
      provenance: unset,
    })),
    ...stale.map((variable) => ({
      variable,
      kind: 'invalid' as const,
      rule: 'env-example-stale',
      message: 'is in .env.example but no longer in the schema',
      fix: 'remove it from .env.example, or regenerate the file',
      provenance: unset,
    })),
    ...secretsWithValues.map((variable) => ({
      variable,
      kind: 'unsafe' as const,
      rule: 'env-example-secret-value',
      ...(isSensitiveVariable(variable, schema[variable])
        ? {
            message: 'is a secret but .env.example gives it a value',
            fix: 'leave secrets empty in .env.example; rotate the value if it was ever real',
          }
        : {
            message: '.env.example gives it a URL with a password',
            fix: `write ${PLACEHOLDER} as the password, or regenerate the file; rotate the password if it was ever real`,
          }),
      provenance: unset,
    })),
  ]
  return { ok: issues.length === 0, missing, stale, secretsWithValues, issues }
}

/**
 * {@link checkEnvExample} that throws a {@link ConfigError} (`PALISADE_ENV_EXAMPLE_MISMATCH`)
 * listing every finding, for a test or a CI step.
 *
 * @example
 * ```ts
 * it('.env.example is current', () => assertEnvExample(schema, readFileSync('.env.example', 'utf8')))
 * ```
 */
export function assertEnvExample(schema: ConfigSchema, content: string): void {
  const result = checkEnvExample(schema, content)
  if (result.ok) return
  const lines = result.issues.map((i) => `  ${i.variable} [${i.rule}]: ${i.message}; fix: ${i.fix}`)
  throw new ConfigError(
    'PALISADE_ENV_EXAMPLE_MISMATCH',
    `.env.example does not match the schema:\n${lines.join('\n')}`,
    result.issues,
  )
}
