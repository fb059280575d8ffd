import { redactCredentials } from '@palisade/errors'
import type { Finding } from './issues.js'
import { extensionOf } from './spec.js'

const SENSITIVE_NAME =
  /(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|SIGNING_?KEY|ENCRYPTION_?KEY|SESSION_?KEY|(?:^|_)(?:PASS|KEY)$|_DSN$|DATABASE_URL$|_CONN(ECTION)?_?(STRING|URL)$)/i

/**
 * True for a variable whose name says it holds a secret, so that a plain `str()` for
 * `STRIPE_API_KEY` is still redacted in reports.
 */
export function looksSensitive(name: string): boolean {
  return SENSITIVE_NAME.test(name)
}

/** True for a variable its spec marks as a secret, or whose name says it is one. */
export function isSensitiveVariable(name: string, spec: unknown): boolean {
  return extensionOf(spec)?.sensitive === true || looksSensitive(name)
}

// URL-like text, as redactCredentials() of @palisade/errors reads it: a scheme, `://` and what
// follows up to whitespace, whose user info runs to the LAST `@`.
const URL_LIKE = /([a-z][a-z0-9+.-]{0,31}:\/\/)(\S*)/gi
/**
 * Replaces the password of every URL-like text with `placeholder`, keeping the user name:
 * `postgres://app:pa/ss@w@rd@db/app` becomes `postgres://app:change-me@db/app`.
 */
export function replaceUrlPasswords(text: string, placeholder: string): string {
  return text.replace(URL_LIKE, (match, scheme: string, rest: string) => {
    const userinfo = rest.slice(0, Math.max(rest.lastIndexOf('@'), 0))
    const colon = userinfo.indexOf(':')
    if (colon === -1 || colon === userinfo.length - 1) return match
    return `${scheme}${userinfo.slice(0, colon)}:${placeholder}${rest.slice(userinfo.length)}`
  })
}

/** The user info of each URL-like text of a value that a URL parser would misread. */
function misreadCredentials(value: string): string[] {
  return [...value.matchAll(URL_LIKE)].flatMap(([, , rest = '']) => {
    const userinfo = rest.slice(0, Math.max(rest.lastIndexOf('@'), 0))
    return /[/?#]/.test(userinfo) ? [userinfo] : []
  })
}

const MAX_SHOWN = 48

/**
 * Renders a non-secret value for a report: credentials removed, control characters escaped,
 * long values cut.
 */
export function displayValue(value: string): string {
  let shown = redactCredentials(value)
  shown = shown.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what it looks for
    /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
  const chars = [...shown]
  if (chars.length > MAX_SHOWN) {
    shown = `${chars.slice(0, MAX_SHOWN).join('')}… (${[...value].length} characters)`
  }
  return shown
}

/**
 * Removes a value from a message written by someone else (an envalid validator quotes its
 * input). Sensitive values are replaced by `[redacted]`, others by their safe rendering.
 */
export function scrub(message: string, value: unknown, sensitive: boolean): string {
  if (typeof value !== 'string' || value === '') return message
  const replacement = sensitive ? '[redacted]' : displayValue(value)
  let scrubbed = message.split(value).join(replacement)
  if (sensitive && value.trim() !== '' && value.trim() !== value) {
    scrubbed = scrubbed.split(value.trim()).join(replacement)
  }
  return scrubbed
}

/**
 * Makes a finding about a variable safe to show: credentials removed from any URL in it. When a
 * secret URL's user info holds an unencoded `/`, `?` or `#`, a validator that parsed it took
 * part of the password for the host, port or path, and may have cut it short: then URLs show
 * their scheme only, no piece of that user info is shown anywhere, and the fix says to encode.
 */
export function redactFinding<F extends Finding>(
  finding: F,
  value: unknown,
  sensitive: boolean,
): F {
  const misread = sensitive && typeof value === 'string' ? misreadCredentials(value) : []
  if (misread.length === 0) {
    return {
      ...finding,
      message: redactCredentials(finding.message),
      fix: redactCredentials(finding.fix),
    }
  }
  const pieces = misread
    .flatMap((userinfo) => userinfo.split(/[:/?#@,;]/))
    .filter((piece) => piece.length > 1)
    .sort((a, b) => b.length - a.length)
  const hide = (text: string): string => {
    let safe = redactCredentials(text).replace(
      URL_LIKE,
      (_match, scheme: string, rest: string) => `${scheme}***${/[)\]}>.,;'"]*$/.exec(rest)![0]}`,
    )
    for (const piece of pieces) {
      // Host names are shown in lower case.
      safe = safe.replace(new RegExp(piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), '***')
    }
    return safe
  }
  return {
    ...finding,
    message: hide(finding.message),
    fix: `percent-encode the user name and password (\`/\` as %2F, \`?\` as %3F, \`#\` as %23, \`@\` as %40); ${hide(finding.fix)}`,
  }
}
