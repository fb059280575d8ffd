import { checkOptionNames, isObject } from '@palisade/errors'
import { JwtError } from './errors.js'
import type { AuthInfo } from './types.js'

/**
 * The scopes a token grants: the space-delimited `scope` claim (RFC 8693 / RFC 9068) and the
 * `scp` claim (an array, or a space-delimited string) together, without duplicates.
 *
 * @example
 * ```ts
 * scopesOf({ scope: 'read write', scp: ['admin'] }) // ['read', 'write', 'admin']
 * ```
 */
export function scopesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const found = new Set<string>()
  const add = (value: unknown) => {
    if (typeof value === 'string') {
      for (const scope of value.split(' ')) if (scope !== '') found.add(scope)
    } else if (Array.isArray(value)) {
      for (const item of value)
        if (typeof item === 'string' && item !== '' && !item.includes(' ')) found.add(item)
    }
  }
  add(claims['scope'])
  add(claims['scp'])
  return [...found]
}

/** Options of {@link checkScopes}. */
export interface CheckScopesOptions {
  /**
   * `'all'`: every listed scope is required; `'any'`: one of them is enough.
   * @default 'all'
   */
  readonly mode?: 'all' | 'any' | undefined
  /**
   * The `realm` of the challenge.
   * @default 'api'
   */
  readonly realm?: string | undefined
}

const OPTIONS = Object.keys({
  mode: true,
  realm: true,
} satisfies Record<keyof CheckScopesOptions, true>)

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/**
 * Makes a check that refuses an authenticated request lacking scopes, with a 403
 * `insufficient_scope` error whose challenge names them. Scopes are validated here, once, not
 * per request. A request authenticated while auth is disabled (development only) passes; one that
 * was never authenticated (no auth middleware before the check) is refused with 401.
 *
 * @example
 * ```ts
 * const adminOnly = checkScopes('admin')
 * adminOnly(auth) // throws JwtError PALISADE_JWT_INSUFFICIENT_SCOPE without `admin`
 * const readers = checkScopes(['read', 'admin'], { mode: 'any' })
 * ```
 */
export function checkScopes(
  scopes: string | readonly string[],
  options: CheckScopesOptions = {},
): (auth: AuthInfo | undefined) => void {
  const list = typeof scopes === 'string' ? scopes.split(' ').filter((s) => s !== '') : [...scopes]
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError('"scopes" must name at least one scope')
  }
  for (const scope of list) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new TypeError(
        `"scopes" has an invalid scope ${JSON.stringify(scope)} (RFC 6749 scope-token)`,
      )
    }
  }
  if (isObject(options)) checkOptionNames(options, OPTIONS, 'checkScopes()')
  const mode = options.mode ?? 'all'
  if ((mode as unknown) !== 'all' && (mode as unknown) !== 'any')
    throw new TypeError('"mode" option must be "all" or "any"')
  const realm = options.realm ?? 'api'
  const required = list.join(' ')
  return (auth) => {
    if (auth === undefined) {
      // Fail closed: a scope check with no authentication before it is a wiring mistake.
      throw new JwtError(
        'PALISADE_JWT_MISSING',
        'no authentication ran before the scope check; mount auth() first',
        { realm },
      )
    }
    if (auth.disabled) return
    const granted = new Set(auth.scopes)
    const ok = mode === 'all' ? list.every((s) => granted.has(s)) : list.some((s) => granted.has(s))
    if (!ok) {
      throw new JwtError(
        'PALISADE_JWT_INSUFFICIENT_SCOPE',
        `token lacks ${mode === 'all' ? 'the scopes' : 'any of the scopes'} "${required}"`,
        { realm, scope: required },
      )
    }
  }
}
