import type { Finding } from './issues.js'

// Exact placeholders, compared after normalise(): look-alikes folded, case and separators dropped.
const PLACEHOLDERS = new Set([
  'changeme',
  'secret',
  'password',
  'passwd',
  'pass',
  'pwd',
  'yoursecretkey',
  'yoursecret',
  'secretkey',
  'mysecret',
  'mysecretkey',
  'supersecret',
  'supersecretkey',
  'todo',
  'tbd',
  'fixme',
  'example',
  'demo',
  'test',
  'testing',
  'default',
  'placeholder',
  'dummy',
  'sample',
  'insecure',
  'replaceme',
  'none',
  'null',
  'undefined',
  'empty',
  'admin',
  'root',
  'letmein',
  'qwerty',
  'apikey',
  'yourapikey',
  'token',
  'key',
  'private',
  'notasecret',
  'devsecret',
  'development',
  'abc123',
  'foobar',
  'foo',
  'bar',
  'hunter2',
  'welcome',
  'guest',
])

// Substrings that mark a value as a placeholder wherever they appear. Long enough that a random
// key contains one only with negligible probability.
const MARKERS = [
  'changeme',
  'replaceme',
  'placeholder',
  'insecure',
  'yoursecret',
  'yourkey',
  'yourapikey',
  'yourtoken',
  'yourpassword',
  'notasecret',
  'dummy',
  'example',
  'fixme',
  'donotuse',
  'notforproduction',
  'dontuseinproduction',
]

// Names of a secret rather than a secret: `demo-api-key`, `your_secret_key_here`, `test-token`.
const NAMED_PLACEHOLDER =
  /^(?:demo|test|testing|example|sample|dummy|fake|default|my|your|dev|development|local|temp|tmp|super|some|the)+(?:api|app|access|auth|client|secret|private|signing|session|jwt|db|database)*(?:key|secret|token|password|pass|pwd)s?(?:here|value|goes|\d{0,4})*$/

const TEMPLATE_PATTERNS = [
  /\$\{[^}]*\}/, // ${VAR}
  /\{\{[^}]*\}\}/, // {{var}}
  /<[^<>]+>/, // <your-key>
  /^\$[A-Za-z_]\w*$/, // $VAR
  /^%[A-Za-z_]\w*%$/, // %VAR%
  /^__[A-Za-z_]+__$/, // __VAR__
]

// Letters from other scripts that render like Latin ones, folded so that `сhangeme` with a
// Cyrillic "с" is still recognised.
const CONFUSABLES: Readonly<Record<string, string>> = {
  а: 'a',
  в: 'b',
  е: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  α: 'a',
  ε: 'e',
  ι: 'i',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ν: 'v',
  κ: 'k',
  '0': 'o',
  '1': 'l',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
}

const INVISIBLE =
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/

function fold(value: string): string {
  return [...value.normalize('NFKC').toLowerCase()].map((c) => CONFUSABLES[c] ?? c).join('')
}

function normalise(value: string): string {
  return value
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '')
}

/** Options of {@link assessSecret}. */
export interface StrengthOptions {
  /** Shortest acceptable length, in characters. */
  readonly minLength: number
  /** The variable's documented example; a value equal to it is refused. */
  readonly example?: string | undefined
  /** What the value is, for messages: `value` or `password`. */
  readonly noun?: string | undefined
}

/**
 * Judges a secret value and returns every weakness found (empty when none). Findings describe
 * the value without quoting it.
 */
export function assessSecret(value: string, options: StrengthOptions): Finding[] {
  const noun = options.noun ?? 'the value'
  const findings: Finding[] = []
  const generate = `generate one with \`openssl rand -base64 ${Math.max(32, Math.ceil((options.minLength * 3) / 4))}\``

  if (INVISIBLE.test(value)) {
    findings.push({
      kind: 'invalid',
      rule: 'invisible-characters',
      message: `${noun} contains control or invisible characters (often a copy-and-paste accident)`,
      fix: `remove them; ${generate}`,
    })
  }

  const placeholder = placeholderReason(value)
  if (placeholder !== undefined) {
    findings.push({
      kind: 'weak',
      rule: 'placeholder',
      message: `${noun} is ${placeholder}`,
      fix: `replace it with a real secret; ${generate}`,
    })
  } else if (options.example !== undefined && options.example !== '' && value === options.example) {
    findings.push({
      kind: 'weak',
      rule: 'example-value',
      message: `${noun} is the documented example`,
      fix: `use a value of your own; ${generate}`,
    })
  }

  const length = [...value].length
  if (length < options.minLength) {
    findings.push({
      kind: 'weak',
      rule: 'too-short',
      message: `${noun} has ${length} characters, fewer than the ${options.minLength} required`,
      fix: generate,
    })
  }

  if (placeholder === undefined) {
    const entropy = entropyReason(value, options.minLength)
    if (entropy !== undefined) {
      findings.push({
        kind: 'weak',
        rule: 'low-entropy',
        message: `${noun} ${entropy}`,
        fix: `use a random value; ${generate}`,
      })
    }
  }
  return findings
}

function placeholderReason(value: string): string | undefined {
  if (value.toLowerCase().startsWith('django-insecure-'))
    return 'a framework-generated insecure key'
  if (TEMPLATE_PATTERNS.some((pattern) => pattern.test(value))) {
    return 'an unfilled template placeholder'
  }
  const plain = normalise(value)
  const folded = normalise(fold(value))
  if (plain === '' && value.trim() !== '') return 'made of punctuation only'
  if (/^x+$/.test(folded) || /^\*+$/.test(value.trim())) return 'a placeholder of repeated x or *'
  for (const candidate of [plain, folded]) {
    if (PLACEHOLDERS.has(candidate)) return 'a known placeholder'
    if (NAMED_PLACEHOLDER.test(candidate))
      return 'a placeholder that names a secret instead of being one'
    if (MARKERS.some((marker) => candidate.includes(marker))) return 'marked as a placeholder'
  }
  return undefined
}

function entropyReason(value: string, minLength: number): string | undefined {
  const chars = [...value]
  if (chars.length === 0) return undefined
  const unique = new Set(chars).size
  if (unique < Math.min(8, Math.max(2, Math.floor(chars.length / 2)))) {
    return `uses only ${unique} distinct characters`
  }
  if (isPeriodic(chars.slice(0, 1024))) return 'is a short pattern repeated'
  let steps = 0
  for (let i = 1; i < chars.length; i++) {
    const diff = chars[i]!.codePointAt(0)! - chars[i - 1]!.codePointAt(0)!
    if (Math.abs(diff) <= 1) steps++
  }
  if (chars.length > 3 && steps / (chars.length - 1) >= 0.5) {
    return 'is mostly sequential or repeated characters'
  }
  const counts = new Map<string, number>()
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1)
  let perChar = 0
  for (const count of counts.values()) {
    const p = count / chars.length
    perChar -= p * Math.log2(p)
  }
  const needed = minLength >= 24 ? 64 : minLength * 2.5
  if (perChar * chars.length < needed) return 'has too little entropy'
  return undefined
}

function isPeriodic(chars: readonly string[]): boolean {
  for (let period = 1; period <= chars.length / 2; period++) {
    let repeats = true
    for (let i = period; i < chars.length; i++) {
      if (chars[i] !== chars[i - period]) {
        repeats = false
        break
      }
    }
    if (repeats) return true
  }
  return false
}
