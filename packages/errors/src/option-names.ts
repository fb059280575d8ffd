// One policy for option names in every factory: a name that does not exist is refused when the
// factory is called, because plain JavaScript would otherwise drop it without a word (a
// `keyGenerator` carried over from express-rate-limit would leave every client sharing the
// default key).

/** The npm packages whose option names {@link replacedOptions} answers. */
export type ReplacedLibrary =
  | 'express-rate-limit'
  | '@godaddy/terminus'
  | 'lightship'
  | 'express-oauth2-jwt-bearer'
  | '@fastify/jwt'
  | 'helmet'
  | 'envalid'

/**
 * An option name of a library Palisade replaces, and what a Palisade user writes instead.
 *
 * @example
 * ```ts
 * const entry: ReplacedOption = { library: 'express-rate-limit', name: 'max', use: 'limit' }
 * ```
 */
export interface ReplacedOption {
  /** The npm package the name comes from. */
  readonly library: ReplacedLibrary
  /** The option name in that library. */
  readonly name: string
  /**
   * The Palisade option, as a path from the factory's options (`'jwks.timeoutMs'`), or, when
   * there is no direct equivalent, a sentence saying what Palisade offers (it contains a space).
   */
  readonly use: string
}

const ERL: ReplacedLibrary = 'express-rate-limit'
const TERMINUS: ReplacedLibrary = '@godaddy/terminus'
const LIGHTSHIP: ReplacedLibrary = 'lightship'
const OAUTH2: ReplacedLibrary = 'express-oauth2-jwt-bearer'
const FASTIFY_JWT: ReplacedLibrary = '@fastify/jwt'
const HELMET: ReplacedLibrary = 'helmet'
const ENVALID: ReplacedLibrary = 'envalid'

const RATE_LIMIT_ANSWER =
  'Palisade answers 429 with an RFC 9457 problem+json body and Retry-After; to change it, handle the 429 in an error or response hook of your framework'
const FASTIFY_JWT_KEYS =
  'Palisade verifies with the issuer\'s published keys and asymmetric algorithms only: give "issuer" and "audience" (and "jwksUrl" without OIDC discovery) to createVerifier()'

/**
 * Option names users bring from the libraries Palisade replaces. Names that are the same in
 * Palisade (`windowMs`, `store`, `skip`, `legacyHeaders`, `signals`, `audience`, ...) are not
 * listed: they are known options.
 */
export const replacedOptions: readonly ReplacedOption[] = Object.freeze([
  // express-rate-limit
  { library: ERL, name: 'max', use: 'limit' },
  { library: ERL, name: 'standardHeaders', use: 'headers' },
  { library: ERL, name: 'keyGenerator', use: 'key' },
  { library: ERL, name: 'identifier', use: 'name' },
  { library: ERL, name: 'passOnStoreError', use: 'onStoreError' },
  { library: ERL, name: 'handler', use: RATE_LIMIT_ANSWER },
  { library: ERL, name: 'message', use: RATE_LIMIT_ANSWER },
  { library: ERL, name: 'statusCode', use: RATE_LIMIT_ANSWER },
  {
    library: ERL,
    name: 'skipSuccessfulRequests',
    use: 'Palisade counts every request when it arrives; give expensive routes a higher "cost" instead',
  },
  {
    library: ERL,
    name: 'skipFailedRequests',
    use: 'Palisade counts every request when it arrives; leave routes out with "skip" or give them "cost: 0"',
  },
  {
    library: ERL,
    name: 'requestWasSuccessful',
    use: 'Palisade counts every request when it arrives, whatever its response',
  },
  {
    library: ERL,
    name: 'requestPropertyName',
    use: "Palisade sets no request property: the RateLimit headers carry the state, and the limiter's check() returns it",
  },
  // @godaddy/terminus
  { library: TERMINUS, name: 'onSignal', use: 'hooks' },
  { library: TERMINUS, name: 'onShutdown', use: 'hooks' },
  { library: TERMINUS, name: 'beforeShutdown', use: 'drainMs' },
  { library: TERMINUS, name: 'timeout', use: 'timeoutMs' },
  { library: TERMINUS, name: 'signal', use: 'signals' },
  { library: TERMINUS, name: 'useExit0', use: 'exit' },
  {
    library: TERMINUS,
    name: 'healthChecks',
    use: 'readiness checks are given to createHealth({ checks }), whose result gracefulShutdown() takes as "health" and the adapters serve',
  },
  {
    library: TERMINUS,
    name: 'sendFailuresDuringShutdown',
    use: 'readiness fails with 503 as soon as shutdown begins, always',
  },
  {
    library: TERMINUS,
    name: 'onSendFailureDuringShutdown',
    use: 'readiness fails with 503 as soon as shutdown begins; run code then with a shutdown "hooks" entry',
  },
  {
    library: TERMINUS,
    name: 'statusOk',
    use: 'probe answers are fixed (200 or 503, application/health+json) so that every adapter answers alike',
  },
  {
    library: TERMINUS,
    name: 'statusError',
    use: 'probe answers are fixed (200 or 503, application/health+json) so that every adapter answers alike',
  },
  // lightship
  { library: LIGHTSHIP, name: 'shutdownDelay', use: 'drainMs' },
  { library: LIGHTSHIP, name: 'gracefulShutdownTimeout', use: 'timeoutMs' },
  { library: LIGHTSHIP, name: 'terminate', use: 'exit' },
  {
    library: LIGHTSHIP,
    name: 'shutdownHandlerTimeout',
    use: 'each shutdown hook has its own "timeoutMs" (hooks: [{ name, run, timeoutMs }])',
  },
  {
    library: LIGHTSHIP,
    name: 'port',
    use: 'probes are served by your own server through the adapters (healthRoutes()), not on a port of their own',
  },
  {
    library: LIGHTSHIP,
    name: 'detectKubernetes',
    use: 'Palisade behaves the same in and out of Kubernetes',
  },
  // express-oauth2-jwt-bearer
  { library: OAUTH2, name: 'issuerBaseURL', use: 'issuer' },
  { library: OAUTH2, name: 'jwksUri', use: 'jwksUrl' },
  { library: OAUTH2, name: 'tokenSigningAlg', use: 'algorithms' },
  { library: OAUTH2, name: 'cacheMaxAge', use: 'jwks.cacheMaxAgeMs' },
  { library: OAUTH2, name: 'timeoutDuration', use: 'jwks.timeoutMs' },
  { library: OAUTH2, name: 'validators', use: 'checkClaims' },
  { library: OAUTH2, name: 'strict', use: 'typ' },
  { library: OAUTH2, name: 'agent', use: 'fetch' },
  {
    library: OAUTH2,
    name: 'authRequired',
    use: 'mount auth() only on the routes that require a token (Fastify: "protectByDefault" and a route\'s config.auth)',
  },
  // @fastify/jwt
  { library: FASTIFY_JWT, name: 'allowedIss', use: 'issuer' },
  { library: FASTIFY_JWT, name: 'allowedAud', use: 'audience' },
  { library: FASTIFY_JWT, name: 'maxAge', use: 'maxTokenAge' },
  { library: FASTIFY_JWT, name: 'secret', use: FASTIFY_JWT_KEYS },
  {
    library: FASTIFY_JWT,
    name: 'verify',
    use: 'verification options are top-level options of createVerifier(): "issuer", "audience", "algorithms", "clockTolerance", "maxTokenAge", "requiredClaims"',
  },
  {
    library: FASTIFY_JWT,
    name: 'sign',
    use: "Palisade does not sign tokens: your identity provider does (in tests, @palisade/testing's startDevIssuer() mints them)",
  },
  {
    library: FASTIFY_JWT,
    name: 'decode',
    use: 'Palisade never decodes a token without verifying it: the verified claims are in auth.claims',
  },
  {
    library: FASTIFY_JWT,
    name: 'formatUser',
    use: 'the verified subject, claims and scopes are in auth (request.auth, req.auth, ctx.state.auth)',
  },
  {
    library: FASTIFY_JWT,
    name: 'decoratorName',
    use: 'the verified token is always in auth (request.auth, req.auth, ctx.state.auth)',
  },
  {
    library: FASTIFY_JWT,
    name: 'namespace',
    use: 'one verifier per issuer: call createVerifier() once for each',
  },
  {
    library: FASTIFY_JWT,
    name: 'trusted',
    use: 'revocation is checked by "checkClaims", a function of the verified claims',
  },
  {
    library: FASTIFY_JWT,
    name: 'messages',
    use: 'error answers follow RFC 6750 (WWW-Authenticate with error and error_description) on every adapter',
  },
  // helmet: Palisade nests helmet's options under "helmet", by their canonical names only.
  { library: HELMET, name: 'contentSecurityPolicy', use: 'helmet.contentSecurityPolicy' },
  { library: HELMET, name: 'crossOriginEmbedderPolicy', use: 'helmet.crossOriginEmbedderPolicy' },
  { library: HELMET, name: 'crossOriginOpenerPolicy', use: 'helmet.crossOriginOpenerPolicy' },
  { library: HELMET, name: 'crossOriginResourcePolicy', use: 'helmet.crossOriginResourcePolicy' },
  { library: HELMET, name: 'originAgentCluster', use: 'helmet.originAgentCluster' },
  { library: HELMET, name: 'referrerPolicy', use: 'helmet.referrerPolicy' },
  { library: HELMET, name: 'strictTransportSecurity', use: 'helmet.strictTransportSecurity' },
  { library: HELMET, name: 'xContentTypeOptions', use: 'helmet.xContentTypeOptions' },
  { library: HELMET, name: 'xDnsPrefetchControl', use: 'helmet.xDnsPrefetchControl' },
  { library: HELMET, name: 'xDownloadOptions', use: 'helmet.xDownloadOptions' },
  { library: HELMET, name: 'xFrameOptions', use: 'helmet.xFrameOptions' },
  {
    library: HELMET,
    name: 'xPermittedCrossDomainPolicies',
    use: 'helmet.xPermittedCrossDomainPolicies',
  },
  { library: HELMET, name: 'xPoweredBy', use: 'helmet.xPoweredBy' },
  { library: HELMET, name: 'xXssProtection', use: 'helmet.xXssProtection' },
  // helmet's legacy aliases (the top-level "hsts" is Palisade's own option, so this entry only
  // answers inside "helmet").
  { library: HELMET, name: 'hsts', use: 'helmet.strictTransportSecurity' },
  { library: HELMET, name: 'noSniff', use: 'helmet.xContentTypeOptions' },
  { library: HELMET, name: 'dnsPrefetchControl', use: 'helmet.xDnsPrefetchControl' },
  { library: HELMET, name: 'ieNoOpen', use: 'helmet.xDownloadOptions' },
  { library: HELMET, name: 'frameguard', use: 'helmet.xFrameOptions' },
  {
    library: HELMET,
    name: 'permittedCrossDomainPolicies',
    use: 'helmet.xPermittedCrossDomainPolicies',
  },
  { library: HELMET, name: 'hidePoweredBy', use: 'helmet.xPoweredBy' },
  { library: HELMET, name: 'xssFilter', use: 'helmet.xXssProtection' },
  // envalid (cleanEnv's options, for loadConfig() and parseConfig())
  {
    library: ENVALID,
    name: 'reporter',
    use: 'loadConfig() reports every problem at once and exits 78; parseConfig() throws them as one error for you to report',
  },
])

const isSentence = (use: string): boolean => /\s/.test(use)

/** Levenshtein distance, stopping early once it exceeds `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      current.push(value)
      best = Math.min(best, value)
    }
    if (best > limit) return limit + 1
    previous = current
  }
  return previous[b.length]!
}

function nearMiss(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  const sameCase = known.find((candidate) => candidate.toLowerCase() === lower)
  if (sameCase !== undefined) return sameCase
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase(), 2)
    // A distance as long as the name itself would "suggest" any short name.
    if (d < bestDistance && d < name.length) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * Where a nested option object sits and which libraries its users may come from.
 *
 * @example
 * ```ts
 * const where: OptionNamesContext = { path: 'jwks', replaces: ['express-oauth2-jwt-bearer'] }
 * ```
 */
export interface OptionNamesContext {
  /**
   * The path of the object checked inside the factory's options, e.g. `'jwks'` or
   * `'checks[0]'`: names are reported as `"jwks.timeout"`.
   * @default '' (the factory's options themselves)
   */
  readonly path?: string | undefined
  /**
   * npm packages whose users this factory expects (see {@link replacedOptions}): their option
   * names are answered with the Palisade name, or with a sentence when there is no direct
   * equivalent. (An entry naming an option that does not exist here is passed over.)
   * @default []
   */
  readonly replaces?: readonly ReplacedLibrary[] | undefined
}

/**
 * Refuses option names that the factory does not know, with a `TypeError` naming the option
 * and the factory, and a suggestion: the Palisade name of an option carried over from a
 * library Palisade replaces ({@link replacedOptions}), or a known name within two edits or
 * differing only in case. Every own enumerable name counts, whatever its value; a known name
 * set to `undefined` keeps meaning "default" for the caller's own parsing.
 *
 * @example
 * ```ts
 * import { checkOptionNames } from '@palisade/errors'
 *
 * checkOptionNames({ keyGenerator: () => 'k' }, ['limit', 'key'], 'rateLimit()', {
 *   replaces: ['express-rate-limit'],
 * })
 * // TypeError: unknown option "keyGenerator" in rateLimit(): did you mean "key"?
 * //   (express-rate-limit's keyGenerator is Palisade's key)
 * ```
 */
export function checkOptionNames(
  options: Readonly<Record<string, unknown>>,
  known: readonly string[],
  what: string,
  context: OptionNamesContext = {},
): void {
  const prefix = context.path === undefined || context.path === '' ? '' : `${context.path}.`
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    throw new TypeError(unknownOption(name, known, what, prefix, context.replaces ?? []))
  }
}

function unknownOption(
  name: string,
  known: readonly string[],
  what: string,
  prefix: string,
  replaces: readonly ReplacedLibrary[],
): string {
  const head = `unknown option "${prefix}${name}" in ${what}`
  for (const entry of replacedOptions) {
    if (entry.name !== name || !replaces.includes(entry.library)) continue
    if (isSentence(entry.use)) return `${head} (from ${entry.library}): ${entry.use}`
    // `use` is a path from the factory's options (`helmet.xFrameOptions` checked inside
    // `helmet`) or, in a nested object that repeats top-level names (a policy's `limit`),
    // a name of that object.
    const inside =
      prefix !== '' && entry.use.startsWith(prefix) ? entry.use.slice(prefix.length) : undefined
    const relative = inside ?? entry.use
    if (known.includes(relative.split('.')[0]!)) {
      const suggested = inside === undefined ? `${prefix}${entry.use}` : entry.use
      return `${head}: did you mean "${suggested}"? (${entry.library}'s ${name} is Palisade's ${entry.use})`
    }
  }
  const suggestion = nearMiss(name, known)
  if (suggestion !== undefined) return `${head}: did you mean "${prefix}${suggestion}"?`
  return `${head}; known: ${known.join(', ')}`
}
