import { JwtError } from './errors.js'
import type { RequestLike } from './types.js'

/** Where tokens may come from. */
export interface TokenSources {
  /** Cookie to read a token from, for browser apps. Off unless named. */
  readonly cookie: string | undefined
  /** Largest token accepted, in bytes, checked before any parsing. */
  readonly maxTokenBytes: number
  readonly realm: string
}

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

function single(value: string | readonly string[] | undefined): string | undefined | null {
  if (value === undefined || typeof value === 'string') return value
  return value.length === 1 ? value[0] : value.length === 0 ? undefined : null
}

/**
 * Whether the request sends `Authorization` more than once, as far as it can tell: `headers`
 * holds an array when a caller kept every value; Node keeps the first one only, so its
 * `rawHeaders` (names at even indexes) tell.
 */
export function repeatsAuthorization(request: RequestLike): boolean {
  const value = request.headers['authorization']
  if (Array.isArray(value) && value.length > 1) return true
  const raw = request.rawHeaders
  if (raw === undefined) return false
  let seen = 0
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]
    if (name?.length === 13 && name.toLowerCase() === 'authorization' && ++seen > 1) return true
  }
  return false
}

function hasQueryToken(url: string | undefined): boolean {
  if (url === undefined) return false
  const query = url.indexOf('?')
  if (query === -1) return false
  return new URLSearchParams(url.slice(query + 1)).has('access_token')
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * Finds the bearer token of a request: the `Authorization: Bearer` header, or the named cookie
 * when enabled. A token in the query string is refused, and so is a request that carries a token
 * twice (RFC 6750 §2). Returns `undefined` when there is none.
 */
export function extractToken(request: RequestLike, sources: TokenSources): string | undefined {
  const { realm } = sources
  const invalid = (message: string) =>
    new JwtError('PALISADE_JWT_INVALID_REQUEST', message, { realm })
  if (repeatsAuthorization(request))
    throw invalid('the Authorization header is sent more than once')
  // Never null here: repeatsAuthorization() refused an array of several values above.
  const authorization = single(request.headers['authorization']) ?? undefined
  const inQuery = hasQueryToken(request.url)
  let token: string | undefined
  let found = 0

  if (authorization !== undefined) {
    if (authorization.length > sources.maxTokenBytes + 16) {
      throw new JwtError(
        'PALISADE_JWT_TOO_LARGE',
        `the Authorization header is longer than ${sources.maxTokenBytes} bytes`,
        { realm },
      )
    }
    const space = authorization.indexOf(' ')
    const scheme = space === -1 ? authorization : authorization.slice(0, space)
    if (scheme.toLowerCase() === 'bearer') {
      const value = space === -1 ? '' : authorization.slice(space + 1).trim()
      if (value === '') throw invalid('the Authorization header has the Bearer scheme but no token')
      if (value.includes(' '))
        throw invalid('the Authorization header has more than one value after Bearer')
      token = value
      found++
    }
  }
  if (sources.cookie !== undefined) {
    const cookie = readCookie(single(request.headers['cookie']) ?? undefined, sources.cookie)
    if (cookie !== undefined && cookie !== '') {
      token = cookie
      found++
    }
  }
  if (inQuery) {
    throw invalid(
      found > 0
        ? 'the request carries a token in the Authorization header and in the access_token query parameter'
        : 'tokens in the access_token query parameter are not accepted; send an Authorization: Bearer header',
    )
  }
  if (found > 1)
    throw invalid(
      `the request carries a token in the Authorization header and in the ${sources.cookie ?? ''} cookie`,
    )
  if (token === undefined) return undefined
  if (!B64TOKEN.test(token)) {
    throw new JwtError(
      'PALISADE_JWT_MALFORMED',
      'the bearer token has characters a token cannot contain',
      { realm },
    )
  }
  return token
}
