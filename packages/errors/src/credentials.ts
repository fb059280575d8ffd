// One credential scrubber for every message that may reach a report or a log: configuration
// reports, health-check failures, shutdown hooks.

// A scheme, `://` and what follows up to whitespace: the text a URL parser would read. Its user
// info is everything up to the LAST `@`: a password with an unencoded `/`, `?`, `#`, `:` or `@`
// moves where a parser thinks the host starts, not where the credentials end. (The scheme is
// bounded so that a long word costs linear time.)
const URL_LIKE = /([a-z][a-z0-9+.-]{0,31}:\/\/)(\S*)/gi
// `password=...` and the like (`PGPASSWORD=`, `client_secret=`, `access_token=` too), as
// libpq keyword strings and drivers' messages quote them: the value runs to whitespace, `;`, `&`
// or a quote, or is the whole quoted string.
const SECRET_PAIR =
  /((?:password|passwd|pwd|secret|token|api[_-]?key)\s*=\s*)("[^"]*"?|'[^']*'?|[^\s;&'"]*)/gi

/**
 * Removes credentials from a text: the user info of every URL-like text (`scheme://...`) and
 * the value of every `password=`, `pwd=`, `passwd=`, `secret=`, `token=`, `apikey=` and
 * `api_key=` pair, however malformed.
 *
 * @example
 * ```ts
 * redactCredentials('postgres://app:pa/ss@w@rd@db/app password=x') // 'postgres://***@db/app password=***'
 * ```
 */
export function redactCredentials(text: string): string {
  return text
    .replace(URL_LIKE, (_match, scheme: string, rest: string) => {
      const at = rest.lastIndexOf('@')
      return at === -1 ? `${scheme}${rest}` : `${scheme}***${rest.slice(at)}`
    })
    .replace(SECRET_PAIR, (_match, key: string, value: string) =>
      value === '' ? key : `${key}***`,
    )
}
