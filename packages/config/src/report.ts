import type { EnvironmentInfo } from './environment.js'
import type { ConfigIssue, IssueKind, Provenance } from './issues.js'

const GROUPS: readonly [IssueKind, string][] = [
  ['missing', 'Missing'],
  ['invalid', 'Invalid'],
  ['weak', 'Weak'],
  ['unsafe', 'Unsafe'],
]

function describeProvenance(provenance: Provenance): string {
  switch (provenance.source) {
    case 'env':
      return 'from the environment'
    case 'file':
      return `from file ${provenance.path}`
    case 'default':
      return 'from the default'
    case 'unset':
      return 'not set'
  }
}

/** ` (from ...)` for an issue whose value came from somewhere, else nothing. */
function whereFrom(issue: ConfigIssue): string {
  return issue.provenance.source === 'unset' ? '' : ` (${describeProvenance(issue.provenance)})`
}

/** Describes the environment for the first line of a report. */
export function describeEnvironment(environment: EnvironmentInfo): string {
  if (environment.name === undefined) {
    return 'production-like environment (APP_ENV and NODE_ENV are unset)'
  }
  const kind = environment.productionLike ? 'production-like' : 'non-production'
  return `${kind} environment (${environment.from}=${environment.name})`
}

/**
 * Formats issues as the report printed at startup: one line per problem, grouped missing,
 * invalid, weak and unsafe, each naming the variable, the rule, where the value came from and
 * how to fix it. Issues never hold secret values, so neither does the report.
 *
 * @example
 * ```ts
 * try { parseConfig(schema) } catch (err) {
 *   if (err instanceof ConfigError) console.error(formatReport(err.issues, resolveEnvironment()))
 * }
 * ```
 */
export function formatReport(issues: readonly ConfigIssue[], environment: EnvironmentInfo): string {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
  const lines = [`Configuration refused in a ${describeEnvironment(environment)}: ${count}.`]
  for (const [kind, title] of GROUPS) {
    const group = issues.filter((issue) => issue.kind === kind)
    if (group.length === 0) continue
    lines.push('', `${title}:`)
    for (const issue of group) {
      lines.push(`  ${issue.variable} [${issue.rule}]: ${issue.message}${whereFrom(issue)}.`)
      lines.push(`      fix: ${issue.fix}`)
    }
  }
  return lines.join('\n')
}

/** Formats warnings the same way, for a non-production environment. */
export function formatWarnings(
  warnings: readonly ConfigIssue[],
  environment: EnvironmentInfo,
): string {
  const lines = [
    `Configuration accepted in a ${describeEnvironment(environment)} with ${warnings.length === 1 ? '1 warning' : `${warnings.length} warnings`}; each would be refused in production:`,
  ]
  for (const issue of warnings) {
    lines.push(
      `  ${issue.variable} [${issue.rule}]: ${issue.message}${whereFrom(issue)}. fix: ${issue.fix}`,
    )
  }
  return lines.join('\n')
}
