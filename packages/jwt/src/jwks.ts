import { SpanStatusCode } from '@opentelemetry/api'
import { createLocalJWKSet } from 'jose'
import {
  EXIT_CONFIG,
  EXIT_UNAVAILABLE,
  describeNetworkFailure,
  redactCredentials,
  startupFailureOf,
  withStartupProblems,
} from '@palisade/errors'
import type { CryptoKey, JWSHeaderParameters, JSONWebKeySet } from 'jose'
import type { Telemetry } from './telemetry.js'
import type { Logger } from './types.js'

/** Tuning of the JWKS cache; every value has a safe default. */
export interface JwksOptions {
  /** Freshness of a key set whose response has no usable `Cache-Control: max-age`. @default 600000 */
  readonly cacheMaxAgeMs?: number | undefined
  /** Lower bound applied to the response's `max-age`. @default 30000 */
  readonly minCacheMaxAgeMs?: number | undefined
  /** Upper bound applied to the response's `max-age`. @default 86400000 */
  readonly maxCacheMaxAgeMs?: number | undefined
  /** Least time between two fetches caused by unknown `kid`s or failures. @default 30000 */
  readonly cooldownMs?: number | undefined
  /** How long past its freshness a key set keeps being used while the endpoint fails. @default 3600000 */
  readonly staleIfErrorMs?: number | undefined
  /** Fraction of the freshness after which a request starts a background refresh. @default 0.8 */
  readonly refreshAhead?: number | undefined
  /**
   * Time allowed for one discovery or JWKS request, from connecting to the last byte of the body.
   * @default 5000
   */
  readonly timeoutMs?: number | undefined
  /** Largest discovery or JWKS response accepted. @default 262144 */
  readonly maxResponseBytes?: number | undefined
}

export const jwksDefaults = {
  cacheMaxAgeMs: 600_000,
  minCacheMaxAgeMs: 30_000,
  maxCacheMaxAgeMs: 86_400_000,
  cooldownMs: 30_000,
  staleIfErrorMs: 3_600_000,
  refreshAhead: 0.8,
  timeoutMs: 5_000,
  maxResponseBytes: 256 * 1024,
}

type Resolved = typeof jwksDefaults

/** Why keys could not be had: an outage, not a bad token. */
export class KeySourceError extends Error {
  override name = 'KeySourceError'
}

/** What went wrong with one request, before it is told with the URL and a fix. */
type Failure =
  | { readonly kind: 'network'; readonly error: unknown }
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'content'; readonly cause: string; readonly error?: unknown }
  | { readonly kind: 'size'; readonly cause: string }
  | { readonly kind: 'document'; readonly cause: string; readonly fix: string }

/** A request's failure while it is under way; {@link fetchJson} tells it with URL and fix. */
class RequestFailure extends Error {
  readonly failure: Failure
  constructor(failure: Failure) {
    super(failure.kind)
    this.failure = failure
  }
}

// The fetches of startup, as an operator names them and the setting that decides each URL.
const ENDPOINTS: Readonly<Record<string, { noun: string; setting: string }>> = {
  JWKS: { noun: 'JWKS', setting: 'the jwksUrl option (AUTH_JWKS_URL)' },
  'OpenID discovery': {
    noun: 'OpenID discovery document',
    setting: 'the issuer option (AUTH_ISSUER)',
  },
}

function endpointOf(what: string): { noun: string; setting: string } {
  return ENDPOINTS[what] ?? { noun: what, setting: 'the issuer and jwksUrl options' }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

/** The cause in plain words, the fix, and whether retrying later may help. */
function explain(
  what: string,
  url: string,
  failure: Failure,
): { cause: string; fix: string; unavailable: boolean } {
  const { noun, setting } = endpointOf(what)
  const host = hostOf(url)
  const discovery = noun === 'OpenID discovery document'
  switch (failure.kind) {
    case 'timeout':
      return {
        cause: `no answer within ${failure.timeoutMs} ms`,
        fix: `check that ${host} is up and reachable from this host (firewall, proxy), or raise the jwks.timeoutMs option`,
        unavailable: true,
      }
    case 'status': {
      const { status } = failure
      if (status === 404 || status === 410) {
        return {
          cause: `HTTP ${status}`,
          fix: discovery
            ? `correct ${setting}: the discovery document must be served at <issuer>/.well-known/openid-configuration; or set the jwksUrl option (AUTH_JWKS_URL)`
            : `correct ${setting}, or the jwks_uri of the discovery document`,
          unavailable: false,
        }
      }
      if (status >= 500) {
        return {
          cause: `HTTP ${status}`,
          fix: `the identity provider at ${host} is failing: check its health and logs`,
          unavailable: true,
        }
      }
      return {
        cause: `HTTP ${status}`,
        fix: `the ${noun} must be public and served with 200 by the identity provider: check ${setting} and any proxy in front of ${host}`,
        unavailable: false,
      }
    }
    case 'content':
      return {
        cause: failure.cause,
        fix: `point ${setting} at the identity provider itself, not at a web page or a proxy's login page`,
        unavailable: false,
      }
    case 'document':
      return { cause: failure.cause, fix: failure.fix, unavailable: false }
    case 'size':
      return {
        cause: failure.cause,
        fix: `check ${setting}, or raise the jwks.maxResponseBytes option`,
        unavailable: false,
      }
    case 'network': {
      const { kind, reason } = describeNetworkFailure(failure.error)
      switch (kind) {
        case 'refused':
          return {
            cause: reason,
            fix: `start the identity provider at ${host}, or correct ${setting}`,
            unavailable: true,
          }
        case 'dns':
          return {
            cause: reason,
            fix: `correct the host name in ${setting}, or the DNS of this host`,
            unavailable: true,
          }
        case 'timeout':
          return {
            cause: reason,
            fix: `check that ${host} is up and reachable from this host (firewall, proxy)`,
            unavailable: true,
          }
        case 'tls':
          return {
            cause: reason,
            fix: `use the scheme the server speaks in ${setting} (http:// only on loopback, with allowInsecureHttp / AUTH_ALLOW_INSECURE_HTTP), or fix its TLS setup`,
            unavailable: false,
          }
        case 'certificate':
          return {
            cause: reason,
            fix: `correct the host name in ${setting}, or make Node trust the server's certificate authority (NODE_EXTRA_CA_CERTS)`,
            unavailable: false,
          }
        case 'redirect':
          return {
            cause: reason,
            fix: `set ${setting} to the URL the redirect points to`,
            unavailable: false,
          }
        default:
          return {
            cause: reason,
            fix: `check that the identity provider at ${host} is up and answers HTTP`,
            unavailable: true,
          }
      }
    }
  }
}

/**
 * The error an operator reads: what was fetched, the URL, the cause in plain words and the fix,
 * on one line, with the original error as `cause` and the same as a startup problem.
 */
function describedError(what: string, url: string, failure: Failure): KeySourceError {
  const { noun } = endpointOf(what)
  const source = redactCredentials(url)
  const { cause, fix, unavailable } = explain(what, url, failure)
  const original =
    failure.kind === 'network' || failure.kind === 'content' ? failure.error : undefined
  const error = new KeySourceError(
    `${noun} at ${source}: ${cause}; fix: ${fix}`,
    original === undefined ? undefined : { cause: original },
  )
  return withStartupProblems(
    error,
    unavailable
      ? 'the identity provider could not be reached'
      : 'the identity provider does not answer as configured',
    [{ what: noun, source, cause, fix }],
    unavailable ? EXIT_UNAVAILABLE : EXIT_CONFIG,
  )
}

/**
 * A discovery document that was fetched but cannot be used (another issuer, no usable
 * `jwks_uri`), told like a failed fetch.
 */
export function discoveryError(url: string, cause: string, fix: string): KeySourceError {
  return describedError('OpenID discovery', url, { kind: 'document', cause, fix })
}

interface KeySet {
  readonly resolve: ReturnType<typeof createLocalJWKSet>
  /** Keys already resolved from this set, by alg and kid (all jose's selection looks at). */
  readonly resolved: Map<string, CryptoKey>
  readonly text: string
  readonly fetchedAt: number
  readonly freshUntil: number
  readonly staleUntil: number
}

type Fetch = typeof globalThis.fetch

interface Source {
  /** Where the key set is, or how to find it (discovery). */
  readonly jwksUrl: () => Promise<string>
  readonly fetch: Fetch
  readonly logger: Logger | undefined
  readonly telemetry: Telemetry
  readonly now: () => number
  readonly onChange: () => void
}

/** Reads a response body up to a limit, failing as soon as it is passed. */
export async function readLimited(
  response: Response,
  limit: number,
  what: string,
  signal?: AbortSignal,
): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel()
    throw new RequestFailure({
      kind: 'size',
      cause: `${what} response is ${declared} bytes, more than the ${limit} allowed`,
    })
  }
  if (response.body === null) return ''
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  // Our own reader stops at the deadline whether or not the abort reaches fetch's stream.
  const stop = () => void reader.cancel(signal?.reason).catch(noop)
  signal?.addEventListener('abort', stop, { once: true })
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (signal?.aborted === true) throw signal.reason
      if (done) break
      size += value.byteLength
      if (size > limit) {
        await reader.cancel()
        throw new RequestFailure({
          kind: 'size',
          cause: `${what} response is more than the ${limit} bytes allowed`,
        })
      }
      chunks.push(value)
    }
  } finally {
    signal?.removeEventListener('abort', stop)
  }
  return Buffer.concat(chunks).toString('utf8')
}

interface FetchJsonOptions {
  readonly timeoutMs: number
  readonly maxResponseBytes: number
  readonly what: string
}

/**
 * Fetches JSON with no redirects and a size limit, within `timeoutMs` for the whole exchange:
 * connection, headers and body.
 */
export async function fetchJson(
  fetch: Fetch,
  url: string,
  options: FetchJsonOptions,
): Promise<{ json: unknown; text: string; cacheControl: string | null }> {
  // Not AbortSignal.timeout(): Node keeps that signal only weakly, so a garbage collection while
  // the body trickles in can take its timer with it and the request never ends. This controller
  // and timer stay referenced here until the exchange settles, and the race settles it even if
  // fetch missed the abort.
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const timedOut = new RequestFailure({ kind: 'timeout', timeoutMs: options.timeoutMs })
      controller.abort(timedOut)
      reject(timedOut)
    }, options.timeoutMs)
  })
  try {
    return await Promise.race([exchange(fetch, url, options, controller.signal), deadline])
  } catch (error) {
    throw describedError(
      options.what,
      url,
      error instanceof RequestFailure ? error.failure : { kind: 'network', error },
    )
  } finally {
    clearTimeout(timer)
  }
}

async function exchange(
  fetch: Fetch,
  url: string,
  options: FetchJsonOptions,
  signal: AbortSignal,
): Promise<{ json: unknown; text: string; cacheControl: string | null }> {
  let response: Response
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal,
    })
  } catch (error) {
    if (signal.aborted) throw signal.reason
    throw new RequestFailure({ kind: 'network', error })
  }
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new RequestFailure({ kind: 'status', status: response.status })
  }
  let text: string
  try {
    text = await readLimited(response, options.maxResponseBytes, options.what, signal)
  } catch (error) {
    if (error instanceof RequestFailure || signal.aborted) throw error
    throw new RequestFailure({ kind: 'network', error })
  }
  try {
    return {
      json: JSON.parse(text) as unknown,
      text,
      cacheControl: response.headers.get('cache-control'),
    }
  } catch (error) {
    // The media type tells an HTML login page or error page from a broken document.
    const type = response.headers.get('content-type')?.split(';', 1)[0]?.trim()
    throw new RequestFailure({
      kind: 'content',
      cause: `not JSON${type === undefined || type === '' ? '' : ` (${type})`}`,
      error,
    })
  }
}

function maxAgeOf(cacheControl: string | null): number | undefined {
  if (cacheControl === null) return undefined
  if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(cacheControl)) return 0
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl)
  return match === null ? undefined : Number(match[1]) * 1000
}

/**
 * The key set of one issuer: fetched once and shared by all concurrent requests, kept fresh in
 * the background, refetched on an unknown `kid` at most once per cooldown, and kept in use for a
 * bounded time while the endpoint fails.
 */
export class JwksCache {
  readonly #options: Resolved
  readonly #source: Source
  #current: KeySet | undefined
  #inflight: Promise<KeySet> | undefined
  #lastAttempt = Number.NEGATIVE_INFINITY
  #lastFailure = Number.NEGATIVE_INFINITY
  #failing = false

  constructor(options: Resolved, source: Source) {
    this.#options = options
    this.#source = source
  }

  /** Epoch ms until which the current key set may be used, or 0 when there is none. */
  get trustedUntil(): number {
    return this.#current?.staleUntil ?? 0
  }

  /** Fetches the key set now unless one is fresh; rejects with a KeySourceError. */
  async ready(): Promise<void> {
    const current = this.#current
    if (current !== undefined && this.#source.now() < current.freshUntil) return
    await this.#refresh()
  }

  /**
   * The key for a token's protected header (its `alg` and `kid`, nothing else). `beforeNetwork`
   * runs (and may throw to refuse the token) before the token could cause or wait for a fetch,
   * so checks that only guard the network cost nothing while the keys are cached.
   */
  getKey(
    header: JWSHeaderParameters,
    beforeNetwork: () => void = noop,
  ): CryptoKey | Promise<CryptoKey> {
    // The hot path: a usable set that already resolved this alg and kid answers without a
    // promise, so a request with a cached key costs no extra turns of the event loop.
    return this.resolvedKey(header) ?? this.#resolveKey(header, beforeNetwork)
  }

  /**
   * The key the usable set already resolved for this header, if any, without waiting or
   * fetching. Counts as a lookup: it starts the background refresh that is due.
   */
  resolvedKey(header: JWSHeaderParameters): CryptoKey | undefined {
    const set = this.#usableSetNow()
    const memo = memoKey(header)
    return memo === undefined ? undefined : set?.resolved.get(memo)
  }

  async #resolveKey(header: JWSHeaderParameters, beforeNetwork: () => void): Promise<CryptoKey> {
    const set = await this.#usableSet(beforeNetwork)
    try {
      return await resolveIn(set, header)
    } catch (error) {
      if (!isNoMatchingKey(error)) throw error
    }
    // An unknown kid: the issuer may have rotated. Share a fetch already under way, or start one
    // when the cooldown allows; otherwise the key is unknown without asking the issuer again.
    const now = this.#source.now()
    let fresh: KeySet
    if (this.#inflight !== undefined) {
      beforeNetwork()
      fresh = await this.#inflight
    } else if (now - this.#lastAttempt >= this.#options.cooldownMs) {
      beforeNetwork()
      fresh = await this.#refresh()
    } else {
      throw new UnknownKeyError(
        'no key with this kid, and the key set was fetched within the cooldown',
      )
    }
    try {
      return await resolveIn(fresh, header)
    } catch (error) {
      if (isNoMatchingKey(error))
        throw new UnknownKeyError('no key with this kid in the refreshed key set')
      throw error
    }
  }

  /** The current set when it may serve without waiting (refreshing it behind the scenes). */
  #usableSetNow(): KeySet | undefined {
    const now = this.#source.now()
    const current = this.#current
    if (current === undefined || now >= current.staleUntil) return undefined
    this.#refreshWhenDue(current, now)
    return current
  }

  async #usableSet(beforeNetwork: () => void): Promise<KeySet> {
    const now = this.#source.now()
    const current = this.#current
    if (current === undefined || now >= current.staleUntil) {
      beforeNetwork()
      if (this.#inflight !== undefined) return this.#inflight
      if (now - this.#lastFailure < Math.min(this.#options.cooldownMs, 1000)) {
        throw new KeySourceError('no usable key set, and the last fetch failed moments ago')
      }
      return this.#refresh()
    }
    this.#refreshWhenDue(current, now)
    return current
  }

  #refreshWhenDue(current: KeySet, now: number): void {
    const age = now - current.fetchedAt
    const lifetime = current.freshUntil - current.fetchedAt
    const due = now >= current.freshUntil || age >= lifetime * this.#options.refreshAhead
    const backingOff = this.#failing && now - this.#lastFailure < this.#options.cooldownMs
    if (due && this.#inflight === undefined && !backingOff) {
      // Nobody waits for this: the current set serves until the new one arrives.
      this.#refresh().catch(() => undefined)
    }
  }

  #refresh(): Promise<KeySet> {
    if (this.#inflight !== undefined) return this.#inflight
    this.#lastAttempt = this.#source.now()
    const inflight = this.#fetch().finally(() => {
      this.#inflight = undefined
    })
    this.#inflight = inflight
    return inflight
  }

  async #fetch(): Promise<KeySet> {
    const { tracer, jwksFetches } = this.#source.telemetry
    return tracer.startActiveSpan('palisade.jwt.jwks.fetch', async (span) => {
      try {
        let url: string
        try {
          url = await this.#source.jwksUrl()
        } catch (error) {
          throw asDiscoveryError(error)
        }
        const { json, text, cacheControl } = await fetchJson(this.#source.fetch, url, {
          timeoutMs: this.#options.timeoutMs,
          maxResponseBytes: this.#options.maxResponseBytes,
          what: 'JWKS',
        })
        let resolve: KeySet['resolve']
        try {
          resolve = createLocalJWKSet(json as JSONWebKeySet)
        } catch (error) {
          throw describedError('JWKS', url, {
            kind: 'content',
            cause: 'not a JSON Web Key Set (no "keys" array of keys)',
            error,
          })
        }
        const now = this.#source.now()
        const { minCacheMaxAgeMs, maxCacheMaxAgeMs, cacheMaxAgeMs, staleIfErrorMs } = this.#options
        const declared = maxAgeOf(cacheControl)
        const maxAge = Math.min(
          maxCacheMaxAgeMs,
          Math.max(minCacheMaxAgeMs, declared ?? cacheMaxAgeMs),
        )
        const previous = this.#current
        const set: KeySet = {
          resolve,
          resolved: new Map(),
          text,
          fetchedAt: now,
          freshUntil: now + maxAge,
          staleUntil: now + maxAge + staleIfErrorMs,
        }
        this.#current = set
        if (this.#failing) {
          this.#source.logger?.info(
            { code: 'PALISADE_JWT_JWKS_RECOVERED' },
            'JWKS endpoint answers again',
          )
        }
        this.#failing = false
        if (previous !== undefined && previous.text !== text) this.#source.onChange()
        jwksFetches.add(1, { kind: 'jwks', outcome: 'ok' })
        span.end()
        return set
      } catch (error) {
        this.#lastFailure = this.#source.now()
        const message = error instanceof Error ? error.message : 'JWKS fetch failed'
        if (!this.#failing) {
          // Logged once per outage, not once per request.
          this.#source.logger?.warn(
            { code: 'PALISADE_JWT_JWKS_UNAVAILABLE', keptKeys: this.#current !== undefined },
            `identity provider unavailable: ${message}`,
          )
        }
        this.#failing = true
        jwksFetches.add(1, { kind: 'jwks', outcome: 'error' })
        span.setStatus({ code: SpanStatusCode.ERROR, message })
        span.end()
        throw error instanceof KeySourceError
          ? error
          : new KeySourceError(message, { cause: error })
      }
    })
  }
}

const noop = (): void => undefined

/**
 * A discovery failure told without the discovery document's URL (its checks of the document
 * run outside this module) still reaches the startup report, with the fix that fits them.
 */
function asDiscoveryError(error: unknown): unknown {
  if (startupFailureOf(error) !== undefined) return error
  const message = error instanceof Error ? error.message : String(error)
  const failure = new KeySourceError(message, { cause: error })
  return withStartupProblems(
    failure,
    'the identity provider does not answer as configured',
    [
      {
        what: 'OpenID discovery document',
        source: "the issuer's /.well-known/openid-configuration",
        cause: message,
        fix: 'make the issuer option (AUTH_ISSUER) exactly the issuer the discovery document names, and its jwks_uri an https URL',
      },
    ],
    EXIT_CONFIG,
  )
}

/**
 * Where a resolved key is remembered: by alg and kid, telling an absent kid from an empty one.
 * A kid that is not a string matches no key in jose's selection, so it is never remembered nor
 * looked up (`String(['a'])` must not find the key of kid `a`).
 */
function memoKey(header: JWSHeaderParameters): string | undefined {
  const { alg, kid } = header as { alg?: unknown; kid?: unknown }
  if (typeof alg !== 'string') return undefined
  if (kid === undefined) return alg
  return typeof kid === 'string' ? `${alg}\u0000${kid}` : undefined
}

/** Resolves a key from the set and remembers it; a header matching several keys is not kept. */
async function resolveIn(set: KeySet, header: JWSHeaderParameters): Promise<CryptoKey> {
  const key = await set.resolve(header)
  const memo = memoKey(header)
  if (memo !== undefined) set.resolved.set(memo, key)
  return key
}

/** A `kid` the key set does not hold. */
export class UnknownKeyError extends Error {
  override name = 'UnknownKeyError'
}

function isNoMatchingKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_JWKS_NO_MATCHING_KEY'
}
