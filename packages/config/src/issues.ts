import { PalisadeError } from '@palisade/errors'

/** The four groups a configuration problem falls into. */
export type IssueKind = 'missing' | 'invalid' | 'weak' | 'unsafe'

/** Where a variable's value came from. */
export type Provenance =
  | { readonly source: 'env' }
  | { readonly source: 'file'; readonly path: string }
  | { readonly source: 'default' }
  | { readonly source: 'unset' }

/** One problem with one variable. Never contains a secret value. */
export interface ConfigIssue {
  /** The environment variable at fault. */
  readonly variable: string
  /** The group: missing, invalid, weak or unsafe. */
  readonly kind: IssueKind
  /** The rule that failed, a stable identifier such as `placeholder` or `tls-required`. */
  readonly rule: string
  /** What is wrong, naming the variable's value only when it is safe to show. */
  readonly message: string
  /** How to fix it. */
  readonly fix: string
  /** Where the offending value came from. */
  readonly provenance: Provenance
}

/** Every code a {@link ConfigError} can carry. */
export type ConfigErrorCode = 'PALISADE_CONFIG_INVALID' | 'PALISADE_ENV_EXAMPLE_MISMATCH'

/**
 * Thrown by {@link parseConfig} (and {@link checkEnvExample}) with every problem found, so a
 * caller sees them all at once. The message is the full redacted report.
 */
export class ConfigError extends PalisadeError<ConfigErrorCode> {
  /** Every problem, in schema order. */
  readonly issues: readonly ConfigIssue[]

  constructor(code: ConfigErrorCode, message: string, issues: readonly ConfigIssue[]) {
    super(code, message)
    this.issues = Object.freeze([...issues])
  }
}

/** A finding of a rule before it is tied to a variable and a source. */
export interface Finding {
  readonly kind: IssueKind
  readonly rule: string
  readonly message: string
  readonly fix: string
}

/**
 * Thrown inside a validator to report one or more findings; caught and turned into
 * {@link ConfigIssue}s by the loader. Its message is generic on purpose: envalid or a caller
 * that prints it never sees a value.
 */
export class RuleViolation extends Error {
  readonly findings: readonly Finding[]

  constructor(findings: readonly Finding[]) {
    super(findings.map((f) => f.rule).join(', '))
    this.name = 'RuleViolation'
    this.findings = findings
  }
}
