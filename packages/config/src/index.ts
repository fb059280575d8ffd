export { loadConfig, parseConfig, describeConfig } from './load.js'
export type {
  ConfigDescription,
  ConfigLogger,
  LoadConfigOptions,
  ParseConfigOptions,
} from './load.js'
export { secret, dsn, databaseUrl, makePolicyValidator, DATABASE_SCHEMES } from './validators.js'
export type { DsnSpecOptions, SecretOutput, SecretSpecOptions } from './validators.js'
export { resolveEnvironment, isProductionLike } from './environment.js'
export type { EnvironmentInfo } from './environment.js'
export { ConfigError, RuleViolation } from './issues.js'
export type { ConfigErrorCode, ConfigIssue, Finding, IssueKind, Provenance } from './issues.js'
export { formatReport } from './report.js'
export { generateEnvExample, checkEnvExample, assertEnvExample } from './env-example.js'
export type { EnvExampleCheck, EnvExampleOptions } from './env-example.js'
export { parseDsn, isLocalHost, KNOWN_SCHEMES } from './dsn.js'
export type { DsnFamily, DsnHost, ParsedDsn } from './dsn.js'
export { SPEC_EXTENSION } from './spec.js'
export type {
  AnySpec,
  Config,
  ConfigSchema,
  ConfigSpec,
  ParseContext,
  SpecExtension,
  SpecFields,
} from './spec.js'
export { Secret } from '@palisade/secrets'
export {
  str,
  num,
  bool,
  port,
  url,
  host,
  email,
  json,
  makeValidator,
  makeExactValidator,
} from 'envalid'
