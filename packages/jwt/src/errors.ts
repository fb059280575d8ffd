import type { HttpErrorFields } from '@palisade/errors'
import { PalisadeError } from '@palisade/errors'

/** Every code a {@link JwtError} can carry. */
export type JwtErrorCode =
  | 'PALISADE_JWT_MISSING'
  | 'PALISADE_JWT_INVALID_REQUEST'
  | 'PALISADE_JWT_MALFORMED'
  | 'PALISADE_JWT_TOO_LARGE'
  | 'PALISADE_JWT_ALG_NOT_ALLOWED'
  | 'PALISADE_JWT_TYP_INVALID'
  | 'PALISADE_JWT_CRIT_UNSUPPORTED'
  | 'PALISADE_JWT_BAD_SIGNATURE'
  | 'PALISADE_JWT_EXPIRED'
  | 'PALISADE_JWT_NOT_YET_VALID'
  | 'PALISADE_JWT_TOO_OLD'
  | 'PALISADE_JWT_ISSUER_INVALID'
  | 'PALISADE_JWT_AUDIENCE_INVALID'
  | 'PALISADE_JWT_CLAIM_MISSING'
  | 'PALISADE_JWT_CLAIM_INVALID'
  | 'PALISADE_JWT_UNKNOWN_KEY'
  | 'PALISADE_JWT_KEY_UNAVAILABLE'
  | 'PALISADE_JWT_JWKS_UNAVAILABLE'
  | 'PALISADE_JWT_INSUFFICIENT_SCOPE'

type OAuthError =
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable'

interface CodeInfo {
  readonly status: number
  readonly error: OAuthError | undefined
  readonly description: string
}

// What a client is told, and every JwtError's `message`. Descriptions are generic on purpose: no
// key ids, no expected issuer or audience, no library internals; the detail stays in `detail`,
// `cause` and the logs.
const CODES: Readonly<Record<JwtErrorCode, CodeInfo>> = {
  PALISADE_JWT_MISSING: {
    status: 401,
    error: undefined,
    description: 'A bearer token is required',
  },
  PALISADE_JWT_INVALID_REQUEST: {
    status: 400,
    error: 'invalid_request',
    description: 'The request is malformed',
  },
  PALISADE_JWT_MALFORMED: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token is malformed',
  },
  PALISADE_JWT_TOO_LARGE: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token is too large',
  },
  PALISADE_JWT_ALG_NOT_ALLOWED: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token uses an algorithm that is not accepted',
  },
  PALISADE_JWT_TYP_INVALID: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token has the wrong type',
  },
  PALISADE_JWT_CRIT_UNSUPPORTED: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token requires an unsupported extension',
  },
  PALISADE_JWT_BAD_SIGNATURE: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token signature is invalid',
  },
  PALISADE_JWT_EXPIRED: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token expired',
  },
  PALISADE_JWT_NOT_YET_VALID: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token is not valid yet',
  },
  PALISADE_JWT_TOO_OLD: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token is too old',
  },
  PALISADE_JWT_ISSUER_INVALID: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token was issued by an issuer that is not trusted',
  },
  PALISADE_JWT_AUDIENCE_INVALID: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token is not intended for this service',
  },
  PALISADE_JWT_CLAIM_MISSING: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token lacks a required claim',
  },
  PALISADE_JWT_CLAIM_INVALID: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token has an invalid claim',
  },
  PALISADE_JWT_UNKNOWN_KEY: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token was signed with an unknown key',
  },
  PALISADE_JWT_KEY_UNAVAILABLE: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token was signed with an unknown key',
  },
  PALISADE_JWT_JWKS_UNAVAILABLE: {
    status: 503,
    error: 'temporarily_unavailable',
    description: 'Token verification is temporarily unavailable',
  },
  PALISADE_JWT_INSUFFICIENT_SCOPE: {
    status: 403,
    error: 'insufficient_scope',
    description: 'The access token lacks the required scope',
  },
}

/** What an adapter writes for a {@link JwtError}: status, headers and a JSON body. */
export interface ErrorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: { readonly error: string; readonly error_description: string }
}

/** Details a {@link JwtError} may carry. */
export interface JwtErrorDetails {
  /** The `realm` of the `WWW-Authenticate` challenge. */
  readonly realm: string
  /** The claim at fault, for claim errors. */
  readonly claim?: string | undefined
  /** The scopes required, for `PALISADE_JWT_INSUFFICIENT_SCOPE`. */
  readonly scope?: string | undefined
  /** Seconds after which a client may retry, for `PALISADE_JWT_JWKS_UNAVAILABLE`. */
  readonly retryAfter?: number | undefined
  /** The underlying error (jose's, a fetch failure); kept for logs, never sent. */
  readonly cause?: unknown
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`
}

/**
 * A token or request refused by Palisade, with everything an adapter needs to answer per
 * RFC 6750: `status`, `headers` (the `WWW-Authenticate: Bearer ...` challenge), a public
 * `message` (the `error_description` sent, such as "The access token expired") and `expose` as
 * http-errors defines it (true for 4xx, false for 5xx), so a framework's default error handler
 * that receives it sends nothing private either. What went wrong in full (which claim, header or
 * key set failed) is in `detail` and `cause`, for logs; nothing carries the token.
 */
export class JwtError extends PalisadeError<JwtErrorCode> implements HttpErrorFields {
  readonly status: number
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>>
  readonly expose: boolean
  declare readonly detail: string
  /** The OAuth error code of the challenge, when there is one. */
  readonly oauthError: OAuthError | undefined
  /** The claim at fault, for claim errors. */
  readonly claim: string | undefined

  /**
   * @param detail What went wrong in full, for logs: the header, claim or option at fault. It
   * becomes `detail`; `message` is the code's public description.
   */
  constructor(code: JwtErrorCode, detail: string, details: JwtErrorDetails) {
    const info = CODES[code]
    super(code, info.description, { cause: details.cause, detail })
    this.status = info.status
    this.statusCode = info.status
    this.expose = info.status < 500
    this.oauthError = info.error
    this.claim = details.claim
    const headers: Record<string, string> = {}
    if (info.status === 503) {
      headers['Retry-After'] = String(details.retryAfter ?? 5)
    } else {
      const parts = [`realm=${quote(details.realm)}`]
      if (info.error !== undefined) {
        parts.push(`error=${quote(info.error)}`, `error_description=${quote(info.description)}`)
      }
      if (details.scope !== undefined) parts.push(`scope=${quote(details.scope)}`)
      headers['WWW-Authenticate'] = `Bearer ${parts.join(', ')}`
    }
    this.headers = Object.freeze(headers)
  }

  /** The response an adapter writes: status, headers (with `Cache-Control: no-store`) and body. */
  toResponse(): ErrorResponse {
    return {
      status: this.status,
      headers: { ...this.headers, 'Cache-Control': 'no-store' },
      body: { error: this.oauthError ?? 'unauthorized', error_description: this.message },
    }
  }
}

/**
 * The response for any error an adapter caught while authenticating: a {@link JwtError}'s own,
 * or a generic 500 for anything else (a bug), so no framework ever prints a stack to a client.
 *
 * @example
 * ```ts
 * verifier.authenticate(request).catch((error) => {
 *   const { status, headers, body } = errorResponse(error)
 *   res.writeHead(status, { ...headers, 'Content-Type': 'application/json' }).end(JSON.stringify(body))
 * })
 * ```
 */
export function errorResponse(error: unknown): ErrorResponse {
  if (error instanceof JwtError) return error.toResponse()
  return {
    status: 500,
    headers: { 'Cache-Control': 'no-store' },
    body: { error: 'server_error', error_description: 'The request could not be authenticated' },
  }
}
