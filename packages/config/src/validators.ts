import { Secret } from '@palisade/secrets'
import { integerOption } from '@palisade/errors'
import { DsnSyntaxError, KNOWN_SCHEMES, assessDsn, describeDsn, parseDsn } from './dsn.js'
import type { Finding } from './issues.js'
import { RuleViolation } from './issues.js'
import type { ConfigSpec, Optionality, ParseContext, SpecFields } from './spec.js'
import { SPEC_EXTENSION } from './spec.js'
import { assessSecret } from './strength.js'

/** How a secret comes back in the configuration. */
export type SecretOutput = 'secret' | 'string'

type As<O, Default extends SecretOutput = 'secret'> = O extends { as: 'string' }
  ? string
  : O extends { as: 'secret' }
    ? Secret
    : Default extends 'string'
      ? string
      : Secret

/** Options of {@link secret}. */
export interface SecretSpecOptions extends SpecFields<string> {
  /**
   * Shortest value accepted in a production-like environment, in characters.
   * @default 32
   */
  readonly minLength?: number | undefined
  /**
   * `'secret'` returns a {@link Secret} that never prints itself; `'string'` returns the plain
   * value for libraries that need one.
   * @default 'secret'
   */
  readonly as?: SecretOutput | undefined
}

/** Options of {@link dsn} and {@link databaseUrl}. */
export interface DsnSpecOptions extends SpecFields<string> {
  /** Schemes accepted, e.g. `['postgres', 'postgresql']`. @default every known scheme */
  readonly schemes?: readonly string[] | undefined
  /** Accept SQLite in a production-like environment. @default false */
  readonly allowSqlite?: boolean | undefined
  /** Accept an in-memory database in a production-like environment. @default false */
  readonly allowInMemory?: boolean | undefined
  /** Require TLS to any host that is not loopback or a unix socket. @default true */
  readonly requireTls?: boolean | undefined
  /** Shortest password accepted inside the URL. @default 12 */
  readonly minPasswordLength?: number | undefined
  /** `'secret'` (a {@link Secret}) or `'string'`. @default 'secret' */
  readonly as?: SecretOutput | undefined
}

const secretDefaults = { minLength: 32, as: 'secret' as SecretOutput }
const dsnDefaults = {
  allowSqlite: false,
  allowInMemory: false,
  requireTls: true,
  minPasswordLength: 12,
  as: 'secret' as SecretOutput,
}

/** Schemes {@link databaseUrl} accepts unless told otherwise. */
export const DATABASE_SCHEMES: readonly string[] = Object.freeze([
  'postgres',
  'postgresql',
  'mysql',
  'mariadb',
  'mongodb',
  'mongodb+srv',
  'sqlite',
  'sqlite3',
  'file',
])

function withoutUndefined<T extends object>(
  options: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
}

function checkOutput(value: unknown): void {
  if (value !== undefined && value !== 'secret' && value !== 'string') {
    throw new TypeError('"as" option must be "secret" or "string"')
  }
}

function checkStringDefaults(options: SpecFields<string>): void {
  for (const key of ['default', 'devDefault', 'testDefault'] as const) {
    const value = options[key]
    if (value !== undefined && typeof value !== 'string') {
      throw new TypeError(`"${key}" option must be a string`)
    }
  }
}

function judge(
  findings: readonly Finding[],
  context: ParseContext,
  tolerated: (f: Finding) => boolean,
): void {
  const refused = context.productionLike ? findings : findings.filter((f) => !tolerated(f))
  const warned = context.productionLike ? [] : findings.filter(tolerated)
  if (warned.length > 0) context.warn(warned)
  if (refused.length > 0) throw new RuleViolation(refused)
}

function wrap(value: string, as: SecretOutput, variable: string): unknown {
  return as === 'string' ? value : new Secret(value, { name: variable })
}

/**
 * A secret: an API key, signing key, password or token. In a production-like environment it
 * refuses known placeholders (`changeme`, `your-secret-key`, `django-insecure-...`, `${VAR}`,
 * `<your-key>`, ...), values shorter than `minLength`, low-entropy values and the documented
 * example; in development those are warnings. The value may come from `NAME_FILE`, and comes back
 * as a {@link Secret} unless `as: 'string'`.
 *
 * @example
 * ```ts
 * const config = loadConfig({
 *   SESSION_KEY: secret({ desc: 'Signs session cookies' }),
 *   SMTP_PASSWORD: secret({ minLength: 16, as: 'string' }),
 * })
 * ```
 */
export function secret<const O extends SecretSpecOptions = SecretSpecOptions>(
  options?: O,
): ConfigSpec<Optionality<O, As<O>>> {
  const spec: SecretSpecOptions = options ?? {}
  integerOption(spec.minLength, 'minLength', 1, 1)
  checkOutput(spec.as)
  checkStringDefaults(spec)
  const { minLength, as } = { ...secretDefaults, ...withoutUndefined(spec) }
  return {
    ...spec,
    _parse: (input: string) => input,
    [SPEC_EXTENSION]: {
      sensitive: true,
      parse(raw, context) {
        judge(
          assessSecret(raw, { minLength, example: spec.example }),
          context,
          (f) => f.kind === 'weak',
        )
        return wrap(raw, as, context.variable)
      },
    },
  }
}

/**
 * A connection string for PostgreSQL, MySQL/MariaDB, Redis, AMQP, NATS, MongoDB or SQLite.
 * In a production-like environment it refuses SQLite and in-memory databases unless allowed,
 * placeholder or weak passwords inside the URL, and plaintext connections to any host that is not
 * loopback (TLS: `sslmode=require|verify-ca|verify-full`, `rediss:`, `amqps:`, `tls=true`, ...)
 * unless `requireTls: false`; in development those are warnings, listed in the summary of what
 * production would refuse. Credentials never appear in reports; the value may come from
 * `NAME_FILE` and comes back as a {@link Secret} unless `as: 'string'`.
 *
 * @example
 * ```ts
 * const config = loadConfig({ REDIS_URL: dsn({ schemes: ['redis', 'rediss'], default: undefined }) })
 * ```
 */
export function dsn<const O extends DsnSpecOptions = DsnSpecOptions>(
  options?: O,
): ConfigSpec<Optionality<O, As<O>>> {
  const spec: DsnSpecOptions = options ?? {}
  integerOption(spec.minPasswordLength, 'minPasswordLength', 1, 1)
  checkOutput(spec.as)
  checkStringDefaults(spec)
  if (spec.schemes !== undefined) {
    if (!Array.isArray(spec.schemes) || spec.schemes.length === 0) {
      throw new TypeError('"schemes" option must be a non-empty array of schemes')
    }
    for (const scheme of spec.schemes as readonly unknown[]) {
      if (typeof scheme !== 'string' || !KNOWN_SCHEMES.includes(scheme)) {
        throw new TypeError(
          `"schemes" option has the unknown scheme "${String(scheme)}" (known: ${KNOWN_SCHEMES.join(', ')})`,
        )
      }
    }
  }
  for (const key of ['allowSqlite', 'allowInMemory', 'requireTls'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'boolean') {
      throw new TypeError(`"${key}" option must be a boolean`)
    }
  }
  const policy = { ...dsnDefaults, ...withoutUndefined(spec) }
  return {
    ...spec,
    _parse: (input: string) => input,
    [SPEC_EXTENSION]: {
      sensitive: true,
      parse(raw, context) {
        let parsed
        try {
          parsed = parseDsn(raw)
        } catch (error) {
          if (!(error instanceof DsnSyntaxError)) throw error
          throw new RuleViolation([
            {
              kind: 'invalid',
              rule: 'format',
              message: `is not a valid connection URL: it ${error.message}`,
              fix: 'use the form scheme://user:password@host:port/database?options',
            },
          ])
        }
        const shown = describeDsn(parsed, raw)
        const findings = assessDsn(parsed, { ...policy, schemes: spec.schemes }).map((f) => ({
          ...f,
          message: `${f.message} (${shown})`,
        }))
        judge(findings, context, (f) => f.kind === 'unsafe')
        return wrap(raw.trim(), policy.as, context.variable)
      },
    },
  }
}

/**
 * {@link dsn} limited to database schemes (PostgreSQL, MySQL/MariaDB, MongoDB, SQLite) unless
 * `schemes` says otherwise.
 *
 * @example
 * ```ts
 * const config = loadConfig({ DATABASE_URL: databaseUrl({ schemes: ['postgres', 'postgresql'] }) })
 * ```
 */
export function databaseUrl<const O extends DsnSpecOptions = DsnSpecOptions>(
  options?: O,
): ConfigSpec<Optionality<O, As<O>>> {
  return dsn({ ...(options ?? {}), schemes: options?.schemes ?? DATABASE_SCHEMES } as O)
}

/**
 * Makes a validator whose rules may depend on the environment: `parse` gets the raw value and a
 * context (`variable`, `productionLike`, `warn`, `env`) and returns the parsed value, calls
 * `context.warn(findings)` for problems tolerated outside production, or throws a
 * {@link RuleViolation} with findings. Problems land in the same report as every other variable.
 *
 * @example
 * ```ts
 * const featureFlag = makePolicyValidator((raw, context) => {
 *   if (raw === 'off' && context.productionLike) {
 *     throw new RuleViolation([{ kind: 'unsafe', rule: 'disabled', message: 'is off', fix: 'turn it on' }])
 *   }
 *   return raw !== 'off'
 * })
 * loadConfig({ SAFETY_CHECKS: featureFlag({ default: 'on' }) })
 * ```
 */
export function makePolicyValidator<T>(
  parse: (raw: string, context: ParseContext) => T,
  base: { readonly sensitive?: boolean } = {},
): <const O extends SpecFields<string> = SpecFields<string>>(
  options?: O,
) => ConfigSpec<Optionality<O, T>> {
  if (typeof parse !== 'function') throw new TypeError('"parse" must be a function')
  const sensitive = base.sensitive ?? false
  return (options) => {
    const spec: SpecFields<string> = options ?? {}
    checkStringDefaults(spec)
    return {
      ...spec,
      _parse: (input: string) => input,
      [SPEC_EXTENSION]: { sensitive, parse },
    }
  }
}
