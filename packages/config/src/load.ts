import { writeSync } from 'node:fs'
import { EnvMissingError, customCleanEnv } from 'envalid'
import { checkOptionNames, isObject } from '@palisade/errors'
import { SecretsError, resolveFileVariable } from '@palisade/secrets'
import type { EnvironmentInfo } from './environment.js'
import { resolveEnvironment } from './environment.js'
import type { ConfigIssue, Finding, Provenance } from './issues.js'
import { ConfigError, RuleViolation } from './issues.js'
import { displayValue, isSensitiveVariable, redactFinding, scrub } from './redact.js'
import { formatReport, formatWarnings } from './report.js'
import type { Config, ConfigSchema, ParseContext } from './spec.js'
import { extensionOf } from './spec.js'

/**
 * A pino-compatible logger: `warn` receives tolerated problems; `error`, when there is one, also
 * receives the report of a refused configuration that {@link loadConfig} prints before exiting.
 */
export interface ConfigLogger {
  warn: (object: Record<string, unknown>, message: string) => void
  error?: ((object: Record<string, unknown>, message: string) => void) | undefined
}

function loggerOf(value: unknown): ConfigLogger | undefined {
  if (value === undefined) return undefined
  const logger = value as Partial<Record<string, unknown>> | null
  if (
    typeof value !== 'object' ||
    logger === null ||
    typeof logger['warn'] !== 'function' ||
    (logger['error'] !== undefined && typeof logger['error'] !== 'function')
  ) {
    throw new TypeError('"logger" option must be a pino-compatible logger with warn (and error)')
  }
  return value as ConfigLogger
}

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * The variables to read.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * Receives one warning per tolerated problem in a non-production environment and, from
   * {@link loadConfig}, the report of a refused configuration at `error` level.
   */
  readonly logger?: ConfigLogger | undefined
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions extends ParseConfigOptions {
  /**
   * Exit code when the configuration is refused.
   * @default 78 (EX_CONFIG)
   */
  readonly exitCode?: number | undefined
}

const PARSE_OPTIONS = Object.keys({
  env: true,
  logger: true,
} satisfies Record<keyof ParseConfigOptions, true>)
const LOAD_OPTIONS = Object.keys({
  env: true,
  logger: true,
  exitCode: true,
} satisfies Record<keyof LoadConfigOptions, true>)

function checkOptions(options: object, known: readonly string[], what: string): void {
  if (!isObject(options)) throw new TypeError(`${what} options must be an object`)
  checkOptionNames(options, known, what, { replaces: ['envalid'] })
}

/** What {@link describeConfig} tells about a loaded configuration. */
export interface ConfigDescription {
  /** The environment the configuration was judged in. */
  readonly environment: EnvironmentInfo
  /** For each variable, where its value came from. */
  readonly provenance: Readonly<Record<string, Provenance>>
  /** Names of variables treated as secrets (redacted everywhere). */
  readonly sensitive: readonly string[]
  /** Problems tolerated because the environment is not production-like. */
  readonly warnings: readonly ConfigIssue[]
}

const descriptions = new WeakMap<object, ConfigDescription>()
const DEFAULT_KEYS = ['default', 'devDefault', 'testDefault'] as const

function chooseDefault(
  spec: Record<string, unknown>,
  environment: EnvironmentInfo,
): { found: true; value: unknown } | { found: false } {
  const order: string[] = []
  if (environment.name?.toLowerCase() === 'test') order.push('testDefault')
  if (!environment.productionLike) order.push('devDefault')
  order.push('default')
  for (const key of order) {
    if (Object.hasOwn(spec, key)) return { found: true, value: spec[key] }
  }
  return { found: false }
}

// Validators parse strings; a default of another type is turned into the string a user would
// have written (`3000`, `true`, JSON for objects), so it goes through exactly the same checks.
function defaultAsInput(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null) return JSON.stringify(value)
  return String(value)
}

function fileFix(error: SecretsError, name: string): string {
  switch (error.code) {
    case 'PALISADE_SECRET_CONFLICT':
      return `unset either ${name} or ${name}_FILE`
    case 'PALISADE_SECRET_FILE_NOT_FOUND':
    case 'PALISADE_SECRET_FILE_IS_DIRECTORY':
      return `point ${name}_FILE to the file that holds the value`
    case 'PALISADE_SECRET_FILE_NOT_REGULAR':
      return `point ${name}_FILE to a regular file that holds the value (not a FIFO, device or /proc file)`
    case 'PALISADE_SECRET_FILE_UNREADABLE':
      return `make the file readable by the service's user`
    case 'PALISADE_SECRET_FILE_TOO_LARGE':
      return `point ${name}_FILE to a file that holds only the value`
    case 'PALISADE_SECRET_EMPTY':
      return `write the value into the file, or unset ${name}_FILE`
    default:
      // Codes of the other secret sources (Vault, directories) never come from NAME_FILE.
      return `fix ${name}_FILE or unset it`
  }
}

function missingMessage(spec: Record<string, unknown>, sensitive: boolean): string {
  const desc = typeof spec.desc === 'string' && spec.desc !== '' ? ` (${spec.desc})` : ''
  const example =
    !sensitive && typeof spec.example === 'string' ? `, e.g. ${displayValue(spec.example)}` : ''
  return `is required but not set${desc}${example}`
}

/**
 * Validates the environment against a schema and returns a frozen, typed configuration, or
 * throws a {@link ConfigError} listing every problem at once (library mode). Defaults are
 * validated like any other value; secrets may come from `NAME_FILE`; in a non-production
 * environment weak secrets and unsafe connection strings are warnings.
 *
 * @throws {ConfigError} `PALISADE_CONFIG_INVALID` with `issues`.
 * @example
 * ```ts
 * import { parseConfig, secret, port } from '@palisade/config'
 *
 * const config = parseConfig({ PORT: port({ default: 3000 }), API_KEY: secret() })
 * config.API_KEY.reveal()
 * ```
 */
export function parseConfig<const S extends ConfigSchema>(
  schema: S,
  options: ParseConfigOptions = {},
): Config<S> {
  if (typeof (schema as unknown) !== 'object' || (schema as unknown) === null) {
    throw new TypeError('schema must be an object of variable specs')
  }
  checkOptions(options, PARSE_OPTIONS, 'parseConfig()')
  const logger = loggerOf(options.logger)
  const env = options.env ?? process.env
  const environment = resolveEnvironment(env)
  const issues: ConfigIssue[] = []
  const warnings: ConfigIssue[] = []
  const provenance: Record<string, Provenance> = {}
  const sensitive = new Set<string>()
  const input: Record<string, unknown> = {}
  const compiled: Record<string, unknown> = {}

  // Every finding passes here, whoever wrote its message, so this is where values are removed.
  const toIssues = (name: string, findings: readonly Finding[]): ConfigIssue[] =>
    findings.map((f) => ({
      variable: name,
      ...redactFinding(f, input[name], sensitive.has(name)),
      provenance: provenance[name] ?? { source: 'unset' },
    }))

  for (const [name, spec] of Object.entries(schema) as unknown as [
    string,
    Record<string, unknown>,
  ][]) {
    if (typeof (spec as unknown) !== 'object' || typeof spec._parse !== 'function') {
      throw new TypeError(
        `schema entry "${name}" must be a validator spec such as str() or secret()`,
      )
    }
    const extension = extensionOf(spec)
    if (isSensitiveVariable(name, spec)) sensitive.add(name)

    let resolved
    try {
      resolved = resolveFileVariable(env, name)
    } catch (error) {
      if (!(error instanceof SecretsError)) throw error
      provenance[name] =
        error.path === undefined ? { source: 'env' } : { source: 'file', path: error.path }
      issues.push(
        ...toIssues(name, [
          {
            kind: error.code === 'PALISADE_SECRET_EMPTY' ? 'missing' : 'invalid',
            rule: error.code === 'PALISADE_SECRET_CONFLICT' ? 'conflict' : 'file',
            message: error.message,
            fix: fileFix(error, name),
          },
        ]),
      )
      continue
    }

    const compiledSpec: Record<string, unknown> = { ...spec }
    for (const key of DEFAULT_KEYS) Reflect.deleteProperty(compiledSpec, key)

    if (resolved !== undefined) {
      provenance[name] =
        resolved.source.kind === 'file'
          ? { source: 'file', path: resolved.source.path }
          : { source: 'env' }
      if (resolved.value.trim() === '') {
        const chosen = chooseDefault(spec, environment)
        // `default: undefined` makes a variable optional: there is no default to fall back on.
        const fallback =
          chosen.found && chosen.value !== undefined ? ', or unset it to use the default' : ''
        issues.push(
          ...toIssues(name, [
            {
              kind: 'missing',
              rule: 'empty',
              message:
                resolved.value === '' ? 'is set but empty' : 'is set but holds only whitespace',
              fix: `give ${name} a value${fallback}`,
            },
          ]),
        )
        continue
      }
      input[name] = resolved.value
    } else {
      const chosen = chooseDefault(spec, environment)
      if (chosen.found && chosen.value !== undefined) {
        provenance[name] = { source: 'default' }
        input[name] = defaultAsInput(chosen.value)
      } else {
        provenance[name] = { source: 'unset' }
        if (chosen.found) compiledSpec.default = undefined
      }
    }

    if (extension !== undefined) {
      const context: ParseContext = {
        variable: name,
        productionLike: environment.productionLike,
        warn: (findings) => warnings.push(...toIssues(name, findings)),
        env,
      }
      compiledSpec._parse = (raw: unknown) => extension.parse(String(raw), context)
    }
    compiled[name] = compiledSpec
  }

  const cleaned = customCleanEnv(
    input,
    compiled,
    (values) => ({ ...(values as Record<string, unknown>) }),
    {
      reporter: ({ errors }) => {
        for (const [name, error] of Object.entries(errors as Record<string, unknown>)) {
          const spec = schema[name] as unknown as Record<string, unknown>
          const isSensitive = sensitive.has(name)
          if (error instanceof RuleViolation) {
            issues.push(...toIssues(name, error.findings))
          } else if (error instanceof EnvMissingError) {
            issues.push(
              ...toIssues(name, [
                {
                  kind: 'missing',
                  rule: 'required',
                  message: missingMessage(spec, isSensitive),
                  fix: isSensitive
                    ? `set ${name}, or ${name}_FILE to a file that holds it`
                    : `set ${name}`,
                },
              ]),
            )
          } else {
            const raw = input[name]
            const detail =
              error instanceof Error && !isSensitive
                ? scrub(error.message, raw, false)
                : 'is not valid'
            const choices =
              Array.isArray(spec.choices) && !isSensitive
                ? `use one of: ${(spec.choices as unknown[]).map(String).join(', ')}`
                : `give ${name} a value its validator accepts`
            issues.push(
              ...toIssues(name, [
                {
                  kind: 'invalid',
                  rule: Array.isArray(spec.choices) ? 'choices' : 'format',
                  message: isSensitive ? detail : detail.replace(/\.$/, ''),
                  fix: typeof spec.desc === 'string' ? `${choices} (${spec.desc})` : choices,
                },
              ]),
            )
          }
        }
      },
    },
  )

  // Report in schema order however the problems were found.
  const order = Object.keys(schema)
  issues.sort((a, b) => order.indexOf(a.variable) - order.indexOf(b.variable))
  if (issues.length > 0) {
    throw new ConfigError('PALISADE_CONFIG_INVALID', formatReport(issues, environment), issues)
  }
  for (const warning of warnings) {
    logger?.warn(
      { variable: warning.variable, rule: warning.rule, code: 'PALISADE_CONFIG_WEAK' },
      `${warning.variable} ${warning.message}; ${warning.fix} (refused in production)`,
    )
  }
  const result = Object.freeze(cleaned) as Config<S>
  descriptions.set(
    result,
    Object.freeze({
      environment,
      provenance: Object.freeze(provenance),
      sensitive: Object.freeze([...sensitive]),
      warnings: Object.freeze(warnings),
    }),
  )
  return result
}

/**
 * Like {@link parseConfig}, for a service's entry point: when the configuration is refused it
 * prints the redacted report to stderr (and to `logger.error` when a logger is given) and exits
 * with code 78 (EX_CONFIG), so the orchestrator sees a configuration failure, not a crash. In a non-production environment, tolerated
 * problems are printed to stderr as warnings unless a `logger` is given.
 *
 * @example
 * ```ts
 * import { loadConfig, databaseUrl, secret, port } from '@palisade/config'
 *
 * export const config = loadConfig({
 *   PORT: port({ default: 3000 }),
 *   DATABASE_URL: databaseUrl({ schemes: ['postgres', 'postgresql'] }),
 *   SESSION_KEY: secret({ desc: 'Signs session cookies' }),
 * })
 * ```
 */
export function loadConfig<const S extends ConfigSchema>(
  schema: S,
  options: LoadConfigOptions = {},
): Config<S> {
  checkOptions(options, LOAD_OPTIONS, 'loadConfig()')
  const exitCode = options.exitCode ?? 78
  if (!Number.isInteger(exitCode) || exitCode < 1 || exitCode > 255) {
    throw new TypeError('"exitCode" option must be an integer from 1 to 255')
  }
  const logger = loggerOf(options.logger)
  let config: Config<S>
  try {
    config = parseConfig(schema, { env: options.env, logger: options.logger })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    writeSync(2, `${error.message}\n`)
    // Issues hold no values, so the structured fields are as safe as the report.
    const fields = { code: error.code, exitCode, issues: error.issues }
    if (logger?.error !== undefined) logger.error(fields, error.message)
    else logger?.warn(fields, error.message)
    process.exit(exitCode)
  }
  const description = descriptions.get(config)
  if (logger === undefined && description !== undefined && description.warnings.length > 0) {
    writeSync(2, `${formatWarnings(description.warnings, description.environment)}\n`)
  }
  return config
}

/**
 * Tells where each value of a loaded configuration came from (environment, file, default),
 * which variables are secrets, and which problems were tolerated as warnings.
 *
 * @example
 * ```ts
 * describeConfig(config).provenance.DATABASE_URL // { source: 'file', path: '/run/secrets/db' }
 * ```
 */
export function describeConfig(config: object): ConfigDescription {
  const description = descriptions.get(config)
  if (description === undefined) {
    throw new TypeError(
      'describeConfig() takes a configuration returned by loadConfig() or parseConfig()',
    )
  }
  return description
}
