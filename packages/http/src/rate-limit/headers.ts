import { createHmac } from 'node:crypto'
import type { RateLimitAlgorithm } from './store.js'

/**
 * Header forms a limiter can send.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ limit: 100, headers: 'draft-7' satisfies RateLimitHeaderFormat })
 * ```
 */
export type RateLimitHeaderFormat = 'draft-10' | 'draft-8' | 'draft-7' | 'draft-6'

/**
 * A compiled policy.
 *
 * @example
 * ```ts
 * for (const policy of limiter.policies) console.log(policy.name, policy.limit, policy.windowMs)
 * ```
 */
export interface RateLimitPolicy {
  readonly name: string
  readonly limit: number
  readonly windowMs: number
  readonly algorithm: RateLimitAlgorithm
}

/**
 * One policy's answer for one request.
 *
 * @example
 * ```ts
 * const state: RateLimitPolicyState = { policy, allowed: true, remaining: 9, resetMs: 60_000, retryAfterMs: 0 }
 * ```
 */
export interface RateLimitPolicyState {
  readonly policy: RateLimitPolicy
  readonly allowed: boolean
  readonly remaining: number
  readonly resetMs: number
  readonly retryAfterMs: number
}

/**
 * The problem type of draft-ietf-httpapi-ratelimit-headers-10 for a request over quota.
 *
 * @example
 * ```ts
 * if (problem.type === QUOTA_EXCEEDED_TYPE) console.log(problem['violated-policies'])
 * ```
 */
export const QUOTA_EXCEEDED_TYPE = 'https://iana.org/assignments/http-problem-types#quota-exceeded'
/**
 * Its registered title.
 *
 * @example
 * ```ts
 * const body = { type: QUOTA_EXCEEDED_TYPE, title: QUOTA_EXCEEDED_TITLE, status: 429 }
 * ```
 */
export const QUOTA_EXCEEDED_TITLE =
  'Request cannot be satisfied as assigned quota has been exceeded'

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000))

/** The policy that binds: the violated one with the longest wait, else the one with least left. */
function tightest(states: readonly RateLimitPolicyState[]): RateLimitPolicyState {
  let pick = states[0]!
  for (const state of states) {
    if (pick.allowed !== state.allowed) {
      if (!state.allowed) pick = state
    } else if (
      state.allowed ? state.remaining < pick.remaining : state.retryAfterMs > pick.retryAfterMs
    ) {
      pick = state
    }
  }
  return pick
}

const limitItem = (s: RateLimitPolicyState, pkParam: string): string =>
  `"${s.policy.name}";r=${s.remaining};t=${seconds(s.resetMs)}${pkParam}`

/** `:base64:` partition key: a keyed hash of the client key, never the key itself. */
export function partitionKey(secret: string, key: string): string {
  return `:${createHmac('sha256', secret).update(key).digest().subarray(0, 12).toString('base64')}:`
}

export function rateLimitHeaders(
  format: RateLimitHeaderFormat | false,
  legacy: boolean,
  states: readonly RateLimitPolicyState[],
  pk: string | undefined,
  now: number,
  /** The draft-8/draft-10 RateLimit-Policy field for these policies, when already built. */
  policyField?: string,
): Record<string, string> {
  const headers: Record<string, string> = {}
  if (states.length === 0) return headers
  const pkParam = pk === undefined ? '' : `;pk=${pk}`
  // The binding policy, for the forms that report only one (draft-8 and draft-10 list them all).
  const top =
    (format === 'draft-10' || format === 'draft-8') && !legacy ? states[0]! : tightest(states)
  switch (format) {
    case 'draft-10':
      headers['RateLimit-Policy'] =
        policyField ??
        states
          .map(
            (s) =>
              `"${s.policy.name}";q=${s.policy.limit};w=${seconds(s.policy.windowMs)}${pkParam}`,
          )
          .join(', ')
      headers['RateLimit'] =
        states.length === 1
          ? limitItem(states[0]!, pkParam)
          : states.map((s) => limitItem(s, pkParam)).join(', ')
      break
    case 'draft-8':
      headers['RateLimit-Policy'] =
        policyField ??
        states
          .map(
            (s) =>
              `"${s.policy.name}"; q=${s.policy.limit}; w=${seconds(s.policy.windowMs)}${pkParam.replace(';', '; ')}`,
          )
          .join(', ')
      headers['RateLimit'] = states
        .map(
          (s) =>
            `"${s.policy.name}"; r=${s.remaining}; t=${seconds(s.resetMs)}${pkParam.replace(';', '; ')}`,
        )
        .join(', ')
      break
    case 'draft-7':
      headers['RateLimit-Policy'] = `${top.policy.limit};w=${seconds(top.policy.windowMs)}`
      headers['RateLimit'] =
        `limit=${top.policy.limit}, remaining=${top.remaining}, reset=${seconds(top.resetMs)}`
      break
    case 'draft-6':
      headers['RateLimit-Policy'] = `${top.policy.limit};w=${seconds(top.policy.windowMs)}`
      headers['RateLimit-Limit'] = String(top.policy.limit)
      headers['RateLimit-Remaining'] = String(top.remaining)
      headers['RateLimit-Reset'] = String(seconds(top.resetMs))
      break
    case false:
      break
  }
  if (legacy) {
    headers['X-RateLimit-Limit'] = String(top.policy.limit)
    headers['X-RateLimit-Remaining'] = String(top.remaining)
    headers['X-RateLimit-Reset'] = String(Math.ceil((now + top.resetMs) / 1000))
  }
  let wait = -1
  for (const state of states) {
    if (!state.allowed && state.retryAfterMs > wait) wait = state.retryAfterMs
  }
  if (wait >= 0) headers['Retry-After'] = String(Math.max(1, seconds(wait)))
  return headers
}
