import type { ConsumeOptions, ConsumeResult } from './store.js'

// The arithmetic shared by MemoryStore; the Redis Lua script mirrors it line for line so that a
// memory-backed and a Redis-backed limiter answer the same request sequence identically.

/** State of one key: a counter with its window end, or a GCRA theoretical arrival time. */
export type KeyState =
  | { readonly kind: 'window'; hits: number; resetAt: number }
  | { readonly kind: 'gcra'; tat: number }

// Guards floor() against 2.9999999 from dividing by a non-integral emission interval.
const EPSILON = 1e-9

export function consumeFixedWindow(
  state: KeyState | undefined,
  now: number,
  options: ConsumeOptions,
): { state: KeyState; result: ConsumeResult } {
  const { cost, limit, windowMs } = options
  const current =
    state?.kind === 'window' && state.resetAt > now
      ? state
      : { kind: 'window' as const, hits: 0, resetAt: now + windowMs }
  const allowed = current.hits + cost <= limit
  if (allowed) current.hits += cost
  const resetMs = current.resetAt - now
  return {
    state: current,
    result: {
      allowed,
      remaining: Math.max(0, limit - current.hits),
      resetMs,
      retryAfterMs: allowed ? 0 : resetMs,
    },
  }
}

export function consumeGcra(
  state: KeyState | undefined,
  now: number,
  options: ConsumeOptions,
): { state: KeyState | undefined; result: ConsumeResult } {
  const { cost, limit, windowMs } = options
  const interval = windowMs / limit
  const tat = Math.max(state?.kind === 'gcra' ? state.tat : now, now)
  const next = tat + cost * interval
  const allowAt = next - windowMs
  if (allowAt > now) {
    return {
      state,
      result: {
        allowed: false,
        remaining: Math.max(0, Math.floor((now + windowMs - tat) / interval + EPSILON)),
        resetMs: Math.ceil(tat - now),
        retryAfterMs: Math.ceil(allowAt - now),
      },
    }
  }
  return {
    state: { kind: 'gcra', tat: next },
    result: {
      allowed: true,
      remaining: Math.max(0, Math.floor((now + windowMs - next) / interval + EPSILON)),
      resetMs: Math.ceil(next - now),
      retryAfterMs: 0,
    },
  }
}

export function expiresAt(state: KeyState): number {
  return state.kind === 'window' ? state.resetAt : Math.ceil(state.tat)
}
