import type { JWTHeaderParameters, JWTPayload } from 'jose'

/** A pino-compatible logger. Palisade never logs tokens or key material. */
export interface Logger {
  debug: (object: Record<string, unknown>, message: string) => void
  info: (object: Record<string, unknown>, message: string) => void
  warn: (object: Record<string, unknown>, message: string) => void
  error: (object: Record<string, unknown>, message: string) => void
}

/** The verified claims of a token. */
export type Claims = Readonly<JWTPayload & Record<string, unknown>>

/** What a successful authentication yields; adapters put it on `req.auth` / `ctx.state.auth`. */
export interface AuthInfo {
  /** `true` only when authentication is switched off (development only); then claims are empty. */
  readonly disabled: boolean
  /** The `sub` claim. */
  readonly subject: string | undefined
  /** Every verified claim. */
  readonly claims: Claims
  /** The protected header (alg, kid, typ). */
  readonly header: Readonly<JWTHeaderParameters>
  /** Scopes from `scope` and `scp`. */
  readonly scopes: readonly string[]
  /** When the token expires, in epoch milliseconds. */
  readonly expiresAt: number | undefined
}

/** The parts of an HTTP request authentication looks at, as every framework has them. */
export interface RequestLike {
  /** Lower-cased header names, as Node's `IncomingMessage.headers`. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The request target (path and query), to refuse tokens in the query string. */
  readonly url?: string | undefined
  /**
   * Node's `IncomingMessage.rawHeaders`. Node keeps only the first `Authorization` header in
   * `headers`; with `rawHeaders` a request that sends it twice is refused (400
   * `invalid_request`) instead of being judged on one of them while a proxy may have read the
   * other. The adapters always pass it.
   */
  readonly rawHeaders?: readonly string[] | undefined
}

/** Anything adapters can authenticate with: a verifier, or authentication switched off. */
export interface Authenticator {
  /** `false` when `ENABLE_AUTH_MIDDLEWARE=false` in development. */
  readonly enabled: boolean
  /** The `realm` of challenges. */
  readonly realm: string
  /** Extracts and verifies the bearer token; throws a `JwtError`. */
  authenticate: (request: RequestLike) => Promise<AuthInfo>
  /** Resolves discovery and the key set once, so a misconfigured service fails at startup. */
  ready: () => Promise<void>
}
