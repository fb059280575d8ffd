const NON_PRODUCTION = new Set(['development', 'dev', 'local', 'test'])

// The rule of DESIGN.md, as @palisade/config's resolveEnvironment applies it: APP_ENV wins over
// NODE_ENV, and only development/dev/local/test relax a check. Repeated here so that secrets
// does not depend on config (config depends on secrets).
export function productionLike(env: Readonly<Record<string, string | undefined>>): boolean {
  const appEnv = env['APP_ENV']?.trim()
  const nodeEnv = env['NODE_ENV']?.trim()
  const name = appEnv !== undefined && appEnv !== '' ? appEnv : nodeEnv
  return name === undefined || name === '' || !NON_PRODUCTION.has(name.toLowerCase())
}
