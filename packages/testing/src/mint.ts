import { randomUUID } from 'node:crypto'
import type { KeyRing } from './keys.js'
import type { DevIssuerAlgorithm, ResolvedIssuerOptions } from './options.js'
import { checkAlgorithm, checkInteger, definedOptions, isPlainObject } from './options.js'

/**
 * A claim that {@link MintOptions.omit} can leave out of a minted token.
 *
 * @example
 * ```ts
 * const omit: OmittableClaim[] = ['exp', 'aud']
 * const token = await issuer.mint({ omit })
 * ```
 */
export type OmittableClaim = 'exp' | 'iat' | 'iss' | 'aud' | 'sub' | 'jti' | 'client_id'

/**
 * Options of {@link DevIssuer.mint}. Without options, a token is an RFC 9068 access token
 * (`typ: at+jwt`) with `iss`, `sub: 'user-1'`, the issuer's audience, `iat`, `exp` after the
 * issuer's `defaultTtlSeconds`, a random `jti` and `client_id: 'dev-client'`, signed with the
 * current key of the issuer's first algorithm.
 *
 * @example
 * ```ts
 * const options: MintOptions = { subject: 'alice', scope: ['read', 'admin'], expiresIn: 60 }
 * const token = await issuer.mint(options)
 * ```
 */
export interface MintOptions {
  /**
   * Signing algorithm; the issuer must have a key for it.
   * @default the first of the issuer's `algorithms`
   */
  alg?: DevIssuerAlgorithm | undefined
  /**
   * `kid` written in the header instead of the signing key's, e.g. an unknown kid; the token is
   * still signed with the current key of `alg`.
   */
  kid?: string | undefined
  /**
   * `typ` header; `null` leaves it out.
   * @default 'at+jwt'
   */
  typ?: string | null | undefined
  /**
   * `sub` claim.
   * @default 'user-1'
   */
  subject?: string | undefined
  /**
   * `aud` claim; an array is written as an array.
   * @default the issuer's `audience`
   */
  audience?: string | readonly string[] | undefined
  /** `scope` claim, space-separated; an array is joined with spaces. No scope by default. */
  scope?: string | readonly string[] | undefined
  /**
   * Also write the scopes as an `scp` array (the Azure AD / Okta spelling).
   * @default false
   */
  scpArray?: boolean | undefined
  /**
   * `exp` in seconds from now (not from `issuedAt`); negative for an expired token.
   * @default the issuer's `defaultTtlSeconds`
   */
  expiresIn?: number | undefined
  /** `nbf` in seconds from now; positive for a token that is not valid yet. No `nbf` by default. */
  notBefore?: number | undefined
  /**
   * `iat` in epoch seconds.
   * @default now
   */
  issuedAt?: number | undefined
  /** Claims to leave out, applied last (after `claims`). */
  omit?: readonly OmittableClaim[] | undefined
  /** Extra claims, merged over the standard ones (so they may replace `iss`, `aud`, ...). */
  claims?: Record<string, unknown> | undefined
  /**
   * Extra protected-header fields (`jku`, `x5u`, `jwk`, `crit`, ...), merged over `kid` and
   * `typ`, written as given, for attack tests. `alg` cannot be set here: use the `alg` option.
   */
  header?: Record<string, unknown> | undefined
}

const mintKeys = [
  'alg',
  'kid',
  'typ',
  'subject',
  'audience',
  'scope',
  'scpArray',
  'expiresIn',
  'notBefore',
  'issuedAt',
  'omit',
  'claims',
  'header',
] as const
const omittable: readonly OmittableClaim[] = ['exp', 'iat', 'iss', 'aud', 'sub', 'jti', 'client_id']

export interface MintContext {
  issuer: string
  options: ResolvedIssuerOptions
  keys: KeyRing
}

/** Validates everything first, so a bad option never produces a token. */
export async function mintToken(context: MintContext, input: unknown): Promise<string> {
  const options = definedOptions(input, 'mint() options', mintKeys) as MintOptions
  const { alg = context.options.algorithms[0]!, kid, subject = 'user-1', scope } = options
  const { audience = context.options.audience, scpArray = false, omit = [] } = options
  const { expiresIn = context.options.defaultTtlSeconds, notBefore, issuedAt } = options
  const typ = 'typ' in options ? options.typ : 'at+jwt'
  checkAlgorithm(alg, '"alg" option')
  if (kid !== undefined && typeof kid !== 'string') {
    throw new TypeError('"kid" option must be a string')
  }
  if (typ !== null && typeof typ !== 'string') {
    throw new TypeError('"typ" option must be a string or null')
  }
  if (typeof subject !== 'string') throw new TypeError('"subject" option must be a string')
  if (!isStringOrStrings(audience, false)) {
    throw new TypeError('"audience" option must be a string or a non-empty array of strings')
  }
  if (scope !== undefined && !isStringOrStrings(scope, true)) {
    throw new TypeError('"scope" option must be a string or an array of scope names')
  }
  if (typeof scpArray !== 'boolean') throw new TypeError('"scpArray" option must be a boolean')
  checkInteger(expiresIn, 'expiresIn')
  if (notBefore !== undefined) checkInteger(notBefore, 'notBefore')
  if (issuedAt !== undefined) checkInteger(issuedAt, 'issuedAt', 0)
  if (!isOmitList(omit)) {
    throw new TypeError(`"omit" option must be an array of ${omittable.join(', ')}`)
  }
  const claims = checkObject(options.claims, 'claims')
  const header = checkObject(options.header, 'header')
  if ('alg' in header) {
    throw new TypeError('"header" option cannot set "alg": use the "alg" option')
  }

  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = {
    iss: context.issuer,
    sub: subject,
    aud: typeof audience === 'string' ? audience : [...audience],
    iat: issuedAt ?? now,
    exp: now + expiresIn,
    jti: randomUUID(),
    client_id: 'dev-client',
  }
  if (notBefore !== undefined) payload.nbf = now + notBefore
  if (scope !== undefined) {
    const names = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [...scope]
    payload.scope = typeof scope === 'string' ? scope : names.join(' ')
    if (scpArray) payload.scp = names
  }
  Object.assign(payload, claims)
  for (const claim of omit) Reflect.deleteProperty(payload, claim)

  const protectedHeader: Record<string, unknown> = {}
  if (kid !== undefined) protectedHeader.kid = kid
  if (typ !== null) protectedHeader.typ = typ
  return context.keys.sign(alg, { ...protectedHeader, ...header }, payload)
}

function isOmitList(value: unknown): value is readonly OmittableClaim[] {
  return Array.isArray(value) && value.every((claim) => omittable.includes(claim as OmittableClaim))
}

function isStringOrStrings(value: unknown, scopeNames: boolean): boolean {
  if (typeof value === 'string') return true
  if (!Array.isArray(value)) return false
  if (scopeNames) {
    return value.every((name) => typeof name === 'string' && /^[^\s]+$/.test(name))
  }
  return value.length > 0 && value.every((name) => typeof name === 'string')
}

function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {}
  if (!isPlainObject(value)) throw new TypeError(`"${name}" option must be a plain object`)
  return value
}
