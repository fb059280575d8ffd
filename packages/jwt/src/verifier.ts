import { SpanStatusCode } from '@opentelemetry/api'
import { UnsecuredJWT } from 'jose'
import type { CryptoKey, JWSHeaderParameters, JWTPayload } from 'jose'
import { JwtError } from './errors.js'
import type { JwtErrorCode } from './errors.js'
import { extractToken } from './extract.js'
import { JwksCache, KeySourceError, UnknownKeyError, discoveryError, fetchJson } from './jwks.js'
import type { ResolvedOptions, VerifierOptions } from './options.js'
import { checkEndpoint, normaliseTyp, resolveOptions } from './options.js'
import { scopesOf } from './scopes.js'
import { KeyMismatchError, verifySignature } from './signature.js'
import { telemetry } from './telemetry.js'
import { TokenCache } from './token-cache.js'
import type { AuthInfo, Authenticator, Claims, RequestLike } from './types.js'

/** Verifies bearer tokens of one issuer; create one per process and share it. */
export interface Verifier extends Authenticator {
  readonly enabled: true
  /** Verifies a token (without the `Bearer ` prefix); throws a `JwtError`. */
  verify: (token: string) => Promise<AuthInfo>
}

const B64URL = /^[A-Za-z0-9_-]*$/

// Fatal, as jose's own decoder: a header with bytes that are not UTF-8 is refused, not repaired.
const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeJson(part: string): unknown {
  return JSON.parse(utf8.decode(Buffer.from(part, 'base64url'))) as unknown
}

/**
 * The base64url alphabet without padding (RFC 7515 §2), in a length that encodes whole bytes:
 * Buffer's decoder would drop a dangling last character that jose refuses.
 */
function isBase64url(part: string): boolean {
  return B64URL.test(part) && part.length % 4 !== 1
}

/** A token that passed the structural and header checks, split into its parts. */
interface Checked {
  readonly header: JWSHeaderParameters & { alg: string }
  /** `header.payload`, the bytes the signature covers. */
  readonly signingInput: string
  readonly body: string
  readonly signature: string
}

/** A verified token as the token cache keeps it. */
interface Verified {
  readonly auth: AuthInfo
  /** The key its signature verified with. */
  readonly key: CryptoKey
  /** Its payload segment, for the claim checks every request runs. */
  readonly body: string
}

/** `{"alg":"none"}`: lets jose's claim-set validation run on a payload verified here. */
const CLAIMS_ONLY_HEADER = Buffer.from('{"alg":"none"}').toString('base64url')

/**
 * Creates a verifier. Every option is checked here, not per request: `none`, HMAC algorithms,
 * an empty allowlist and `http://` endpoints (outside loopback with `allowInsecureHttp`) throw a
 * `TypeError` naming the option.
 *
 * @example
 * ```ts
 * import { createVerifier } from '@palisade/jwt'
 *
 * const verifier = createVerifier({ issuer: 'https://id.example.com', audience: 'orders-api' })
 * await verifier.ready() // fail fast when discovery or the JWKS is unreachable
 * const auth = await verifier.authenticate({ headers: req.headers, url: req.url })
 * auth.subject // the verified `sub`
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const config = resolveOptions(options)
  const { realm, logger } = config
  const metrics = telemetry()
  const tokenCache = config.tokenCache > 0 ? new TokenCache<Verified>(config.tokenCache) : undefined
  const discover = discovery(config, metrics)
  const jwks = new JwksCache(config.jwks, {
    jwksUrl: discover,
    fetch: config.fetch,
    logger,
    telemetry: metrics,
    now: () => Date.now(),
    onChange: () => tokenCache?.clear(),
  })
  const error = (
    code: JwtErrorCode,
    message: string,
    extra: { claim?: string; cause?: unknown } = {},
  ) => new JwtError(code, message, { realm, ...extra })
  // A token naming another issuer must never make us fetch: checked whenever a lookup would go
  // to the network (cold start, unknown kid). With the keys cached, jose checks `iss` after the
  // signature, so the hot path decodes the payload once.
  function checkIssuer(body: string): void {
    let iss: unknown
    try {
      iss = (decodeJson(body) as Record<string, unknown> | null)?.['iss']
    } catch (cause) {
      throw error('PALISADE_JWT_MALFORMED', 'the bearer token payload is not JSON', { cause })
    }
    if (iss !== config.issuer) {
      throw error(
        'PALISADE_JWT_ISSUER_INVALID',
        'the token was not issued by the configured issuer',
        {
          claim: 'iss',
        },
      )
    }
  }

  /** Structural and header checks before any cryptography. */
  function precheck(token: string): Checked {
    if (Buffer.byteLength(token) > config.maxTokenBytes) {
      throw error(
        'PALISADE_JWT_TOO_LARGE',
        `the bearer token is longer than ${config.maxTokenBytes} bytes`,
      )
    }
    const parts = token.split('.')
    if (parts.length === 5)
      throw error(
        'PALISADE_JWT_MALFORMED',
        'the bearer token is an encrypted JWT (JWE), which is not accepted',
      )
    if (parts.length !== 3)
      throw error('PALISADE_JWT_MALFORMED', 'the bearer token is not a JWS compact serialisation')
    const [head, body, signature] = parts as [string, string, string]
    if (
      head === '' ||
      body === '' ||
      !isBase64url(head) ||
      !isBase64url(body) ||
      !isBase64url(signature)
    ) {
      throw error('PALISADE_JWT_MALFORMED', 'the bearer token is not base64url encoded')
    }
    let header: unknown
    try {
      header = decodeJson(head)
    } catch (cause) {
      throw error('PALISADE_JWT_MALFORMED', 'the bearer token header is not JSON', { cause })
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw error('PALISADE_JWT_MALFORMED', 'the bearer token header is not a JSON object')
    }
    const { alg, typ, crit } = header as Record<string, unknown>
    if (typeof alg !== 'string' || !config.algorithms.includes(alg)) {
      throw error(
        'PALISADE_JWT_ALG_NOT_ALLOWED',
        `the token's alg is not one of ${config.algorithms.join(', ')}`,
      )
    }
    if (crit !== undefined) {
      throw error(
        'PALISADE_JWT_CRIT_UNSUPPORTED',
        'the token has critical header extensions (crit) this service does not understand',
      )
    }
    if (
      config.typ !== undefined &&
      (typeof typ !== 'string' || !config.typ.includes(normaliseTyp(typ)))
    ) {
      throw error(
        'PALISADE_JWT_TYP_INVALID',
        `the token's typ header is not ${config.typ.join(' or ')}`,
      )
    }
    return {
      header: header as Checked['header'],
      signingInput: token.slice(0, head.length + 1 + body.length),
      body,
      signature,
    }
  }

  const claimOptions = {
    issuer: config.issuer,
    audience: [...config.audience],
    clockTolerance: config.clockTolerance,
    requiredClaims: ['exp', ...config.requiredClaims],
    ...(config.maxTokenAge === undefined ? {} : { maxTokenAge: config.maxTokenAge }),
  }

  function signatureVerifies(checked: Checked, key: CryptoKey): boolean {
    try {
      return verifySignature(checked.header.alg, key, checked.signingInput, checked.signature)
    } catch (failure) {
      if (failure instanceof KeyMismatchError)
        throw error('PALISADE_JWT_UNKNOWN_KEY', 'no key in the key set matches the token', {
          cause: failure,
        })
      throw failure
    }
  }

  /**
   * Checks the signature with the key the JWKS holds for the header's `alg` and `kid` (the
   * header's own key material is never used) and returns that key. A key the cached set already
   * resolved comes back without a promise, so the hot path never waits on the event loop.
   */
  async function verifySigned(checked: Checked): Promise<CryptoKey> {
    let verified: CryptoKey | undefined
    try {
      let key = jwks.getKey(checked.header, () => {
        checkIssuer(checked.body)
      })
      if (key instanceof Promise) key = await key
      if (signatureVerifies(checked, key)) verified = key
    } catch (failure) {
      // A token without kid, when the set holds several keys of its type: try each.
      const candidates = failure as Partial<AsyncIterable<CryptoKey>> & {
        code?: unknown
      }
      if (
        candidates.code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' ||
        candidates[Symbol.asyncIterator] === undefined
      )
        throw failure
      for await (const candidate of candidates as AsyncIterable<CryptoKey>) {
        // A candidate that cannot verify this alg (an RSA key under 2048 bits) is passed over,
        // as jose's iterator passes over keys it cannot import: the order of the set must not
        // decide the answer.
        try {
          const { header, signingInput, signature } = checked
          if (verifySignature(header.alg, candidate, signingInput, signature)) {
            verified = candidate
            break
          }
        } catch (mismatch) {
          if (!(mismatch instanceof KeyMismatchError)) throw mismatch
        }
      }
    }
    if (verified === undefined)
      throw error('PALISADE_JWT_BAD_SIGNATURE', 'the token signature does not verify')
    return verified
  }

  /**
   * The claim checks (exp, nbf, iat, iss, aud, required claims, max age, clock tolerance) are
   * jose's own, the code `jwtVerify` runs after a signature: reached through
   * `UnsecuredJWT.decode` on the payload whose signature was verified above. A token never gets
   * here unsigned: `none` is refused by the options and by the header check.
   */
  function claimsOf(body: string): JWTPayload {
    return UnsecuredJWT.decode(`${CLAIMS_ONLY_HEADER}.${body}.`, claimOptions).payload
  }

  /** `checkClaims`, on the claims of every token accepted, cached or not. */
  function checkCustom(claims: Claims): void {
    if (config.checkClaims === undefined) return
    const problem = config.checkClaims(claims)
    if (problem !== undefined)
      throw error('PALISADE_JWT_CLAIM_INVALID', `the token's claims were refused: ${problem}`)
  }

  function mapFailure(failure: unknown): JwtError {
    if (failure instanceof JwtError) return failure
    if (failure instanceof UnknownKeyError)
      return error(
        'PALISADE_JWT_UNKNOWN_KEY',
        `the token's kid is not in the key set (${failure.message})`,
      )
    if (failure instanceof KeySourceError) {
      const cold = jwks.trustedUntil <= Date.now()
      return cold
        ? error('PALISADE_JWT_JWKS_UNAVAILABLE', `no key set is available: ${failure.message}`, {
            cause: failure,
          })
        : error(
            'PALISADE_JWT_KEY_UNAVAILABLE',
            `the token's key is not in the cached key set, which could not be refreshed: ${failure.message}`,
            { cause: failure },
          )
    }
    const code = (failure as { code?: unknown } | null)?.code
    const claim = (failure as { claim?: unknown } | null)?.claim
    const reason = (failure as { reason?: unknown } | null)?.reason
    const cause = { cause: failure }
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        if (claim === 'iat')
          return error('PALISADE_JWT_TOO_OLD', 'the token is older than maxTokenAge (iat)', {
            claim: 'iat',
            ...cause,
          })
        return error('PALISADE_JWT_EXPIRED', 'the token expired (exp)', { claim: 'exp', ...cause })
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const name = typeof claim === 'string' ? claim : 'unknown'
        if (name === 'iss')
          return error(
            'PALISADE_JWT_ISSUER_INVALID',
            'the token was not issued by the configured issuer',
            { claim: name, ...cause },
          )
        if (reason === 'missing')
          return error('PALISADE_JWT_CLAIM_MISSING', `the token lacks the ${name} claim`, {
            claim: name,
            ...cause,
          })
        if (name === 'nbf')
          return error('PALISADE_JWT_NOT_YET_VALID', 'the token is not valid yet (nbf)', {
            claim: name,
            ...cause,
          })
        if (name === 'iat' && reason === 'check_failed')
          return error('PALISADE_JWT_TOO_OLD', 'the token is older than maxTokenAge (iat)', {
            claim: name,
            ...cause,
          })
        if (name === 'aud')
          return error(
            'PALISADE_JWT_AUDIENCE_INVALID',
            'the token is not for the configured audience (aud)',
            { claim: name, ...cause },
          )
        return error('PALISADE_JWT_CLAIM_INVALID', `the token's ${name} claim is invalid`, {
          claim: name,
          ...cause,
        })
      }
      case 'ERR_JWKS_NO_MATCHING_KEY':
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return error('PALISADE_JWT_UNKNOWN_KEY', 'no key in the key set matches the token', cause)
      case 'ERR_JOSE_NOT_SUPPORTED':
        return error('PALISADE_JWT_MALFORMED', 'the token uses an unsupported feature', cause)
      default:
        return error('PALISADE_JWT_MALFORMED', 'the token is not a valid JWT', cause)
    }
  }

  async function verify(token: string): Promise<AuthInfo> {
    const span = metrics.tracer.startSpan('palisade.jwt.verify')
    try {
      const cacheKey = tokenCache === undefined ? undefined : TokenCache.key(token)
      const cached = cacheKey === undefined ? undefined : tokenCache?.get(cacheKey, Date.now())
      // A hit skips the signature and nothing else. Its key must be the one the key set gives
      // for the header now (a lookup, which also starts a refresh that is due; after a refresh
      // without that key, the token is verified in full and refused), and the claims are checked
      // again, since time and checkClaims' answers move on.
      if (cached !== undefined && jwks.resolvedKey(cached.auth.header) === cached.key) {
        claimsOf(cached.body)
        checkCustom(cached.auth.claims)
        metrics.verifications.add(1, { outcome: 'ok', cached: true })
        return cached.auth
      }
      const checked = precheck(token)
      const key = await verifySigned(checked)
      // jose hands out fresh objects: frozen in place rather than copied.
      const claims = Object.freeze(claimsOf(checked.body)) as Claims
      checkCustom(claims)
      const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined
      const auth: AuthInfo = Object.freeze({
        disabled: false,
        subject: typeof claims.sub === 'string' ? claims.sub : undefined,
        claims,
        header: Object.freeze(checked.header),
        scopes: Object.freeze(scopesOf(claims)),
        expiresAt,
      })
      if (tokenCache !== undefined && cacheKey !== undefined && expiresAt !== undefined) {
        tokenCache.set(
          cacheKey,
          { auth, key, body: checked.body },
          Math.min(expiresAt, jwks.trustedUntil),
        )
      }
      metrics.verifications.add(1, { outcome: 'ok' })
      return auth
    } catch (failure) {
      const mapped = mapFailure(failure)
      metrics.verifications.add(1, { outcome: mapped.code })
      span.setStatus({ code: SpanStatusCode.ERROR, message: mapped.code })
      if (
        mapped.code === 'PALISADE_JWT_JWKS_UNAVAILABLE' ||
        mapped.code === 'PALISADE_JWT_KEY_UNAVAILABLE'
      ) {
        logger?.warn({ code: mapped.code }, mapped.detail)
      } else {
        logger?.debug({ code: mapped.code, claim: mapped.claim }, mapped.detail)
      }
      throw mapped
    } finally {
      span.end()
    }
  }

  const sources = { cookie: config.cookie, maxTokenBytes: config.maxTokenBytes, realm }
  return Object.freeze({
    enabled: true as const,
    realm,
    verify,
    async authenticate(request: RequestLike): Promise<AuthInfo> {
      const token = extractToken(request, sources)
      if (token === undefined)
        throw error('PALISADE_JWT_MISSING', 'the request has no bearer token')
      return verify(token)
    },
    async ready(): Promise<void> {
      try {
        await jwks.ready()
      } catch (failure) {
        throw mapFailure(failure)
      }
    },
  })
}

/** Resolves the JWKS URL: the configured one, or the discovery document's `jwks_uri`. */
function discovery(
  config: ResolvedOptions,
  metrics: ReturnType<typeof telemetry>,
): () => Promise<string> {
  if (config.jwksUrl !== undefined) {
    const url = config.jwksUrl
    return () => Promise.resolve(url)
  }
  const documentUrl = `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  let found: string | undefined
  return async () => {
    if (found !== undefined) return found
    let json: unknown
    try {
      ;({ json } = await fetchJson(config.fetch, documentUrl, {
        timeoutMs: config.jwks.timeoutMs,
        maxResponseBytes: config.jwks.maxResponseBytes,
        what: 'OpenID discovery',
      }))
    } catch (failure) {
      metrics.jwksFetches.add(1, { kind: 'discovery', outcome: 'error' })
      throw failure
    }
    const document = (typeof json === 'object' && json !== null ? json : {}) as Record<
      string,
      unknown
    >
    if (document['issuer'] !== config.issuer) {
      metrics.jwksFetches.add(1, { kind: 'discovery', outcome: 'error' })
      throw discoveryError(
        documentUrl,
        `discovery says issuer ${JSON.stringify(document['issuer'])}, expected ${JSON.stringify(config.issuer)}`,
        `set the issuer option (AUTH_ISSUER) to exactly the issuer the provider names`,
      )
    }
    try {
      found = checkEndpoint('jwks_uri', document['jwks_uri'], config.allowInsecureHttp)
    } catch (failure) {
      metrics.jwksFetches.add(1, { kind: 'discovery', outcome: 'error' })
      throw discoveryError(
        documentUrl,
        `its jwks_uri is unusable: ${(failure as Error).message}`,
        "fix the identity provider's jwks_uri, or set the jwksUrl option (AUTH_JWKS_URL)",
      )
    }
    metrics.jwksFetches.add(1, { kind: 'discovery', outcome: 'ok' })
    return found
  }
}
