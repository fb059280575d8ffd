const NON_PRODUCTION = new Set(['development', 'dev', 'local', 'test'])

/** The environment a process runs in, as every Palisade package judges it. */
export interface EnvironmentInfo {
  /** The value of `APP_ENV`, else `NODE_ENV`, else `undefined`. */
  readonly name: string | undefined
  /** Which variable named it. */
  readonly from: 'APP_ENV' | 'NODE_ENV' | 'unset'
  /**
   * True unless the name is `development`, `dev`, `local` or `test`. An unset environment is
   * production-like, so a forgotten `NODE_ENV` never relaxes a check.
   */
  readonly productionLike: boolean
}

/**
 * Tells whether an environment is production-like. `APP_ENV` wins over `NODE_ENV`; only
 * `development`, `dev`, `local` and `test` (any case) relax production checks.
 *
 * @example
 * ```ts
 * resolveEnvironment({ NODE_ENV: 'production' }).productionLike // true
 * resolveEnvironment({ APP_ENV: 'local', NODE_ENV: 'production' }).productionLike // false
 * resolveEnvironment({}).productionLike // true
 * ```
 */
export function resolveEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): EnvironmentInfo {
  const appEnv = env.APP_ENV?.trim()
  const nodeEnv = env.NODE_ENV?.trim()
  const [name, from] =
    appEnv !== undefined && appEnv !== ''
      ? [appEnv, 'APP_ENV' as const]
      : nodeEnv !== undefined && nodeEnv !== ''
        ? [nodeEnv, 'NODE_ENV' as const]
        : [undefined, 'unset' as const]
  return {
    name,
    from,
    productionLike: name === undefined || !NON_PRODUCTION.has(name.toLowerCase()),
  }
}

/**
 * Shorthand for `resolveEnvironment(env).productionLike`.
 *
 * @example
 * ```ts
 * if (!isProductionLike()) logger.warn('development mode')
 * ```
 */
export function isProductionLike(
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  return resolveEnvironment(env).productionLike
}
