// Helpers shared by the repository's cross-framework header tests.

/** Headers every HTTP response has, or that frameworks legitimately word differently. */
const GENERIC = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'content-type',
  'etag',
  'transfer-encoding',
])

/**
 * A response's headers without the generic ones, each value passed through `value` (the
 * identity by default), as a record to compare with `toEqual`.
 */
export function securityHeaderSet(
  headers: Iterable<[string, string]>,
  value: (text: string) => string = (text) => text,
): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [name, text] of headers) if (!GENERIC.has(name)) result[name] = value(text)
  return result
}
