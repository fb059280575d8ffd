const SENSITIVE_NAME =
  /(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|SIGNING_?KEY|ENCRYPTION_?KEY|SESSION_?KEY|_DSN$|DATABASE_URL$|_CONN(ECTION)?_?(STRING|URL)$)/i

/**
 * True for a variable whose name says it holds a secret, so that a plain `str()` for
 * `STRIPE_API_KEY` is still redacted in reports.
 */
export function looksSensitive(name: string): boolean {
  return SENSITIVE_NAME.test(name)
}

const MAX_SHOWN = 48

/**
 * Renders a non-secret value for a report: credentials in URLs removed, control characters
 * escaped, long values cut.
 */
export function displayValue(value: string): string {
  let shown = value.replace(/\/\/[^/@\s]*@/g, '//***@')
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
