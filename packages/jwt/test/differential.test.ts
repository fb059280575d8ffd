import { constants, generateKeyPairSync, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose'
import type { JSONWebKeySet, JWTVerifyOptions } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Verifier, VerifierOptions } from '../src/index.js'
import { JwtError, createVerifier } from '../src/index.js'
import { ALL_ALGORITHMS } from './helpers.js'

// Palisade verifies signatures with its own JWS code (node:crypto over the keys jose selects and
// imports). Every token below goes through createVerifier().verify and through jose's jwtVerify
// with the same issuer, audience, algorithms, clock tolerance and key set, at the same instant,
// and both must accept or refuse it alike, except for the intended differences listed in
// INTENDED with their reasons. Palisade answers twice: from a new verifier (cold: the key is
// looked up for the first time) and from one shared verifier that has already verified every
// valid token (warm: the key comes from what the cached set already resolved).

const NOW = 1_900_000_000
const ISSUER = 'https://issuer'
const AUDIENCE = 'api'
const TOLERANCE = 5
const ALGORITHMS = [...ALL_ALGORITHMS]

/** A second configuration, for the checks that only run when asked. */
const STRICT = { maxTokenAge: 60, typ: 'at+jwt', requiredClaims: ['sub'] }

type Outcome = 'accept' | 'refuse'

/**
 * Where Palisade means to answer differently from jwtVerify. Any other difference is a defect.
 */
const INTENDED: Readonly<Record<string, { palisade: Outcome; jose: Outcome; reason: string }>> = {
  'no exp': {
    palisade: 'refuse',
    jose: 'accept',
    reason: 'exp is always required: a bearer token that never expires is refused',
  },
  'crit naming b64, with b64 true': {
    palisade: 'refuse',
    jose: 'accept',
    reason: 'every crit is refused: Palisade understands no header extension (RFC 7515 §4.1.11)',
  },
  'larger than maxTokenBytes (8193 bytes)': {
    palisade: 'refuse',
    jose: 'accept',
    reason: 'tokens over maxTokenBytes (8192 by default) are refused before any parsing',
  },
  'no kid, several RSA keys, the unusable 1024-bit one first': {
    palisade: 'accept',
    jose: 'refuse',
    reason:
      'without a kid, each usable key of the type is tried (the iteration jose offers on ERR_JWKS_MULTIPLE_MATCHING_KEYS); jwtVerify alone refuses',
  },
  'signature with = padding': {
    palisade: 'refuse',
    jose: 'accept',
    reason:
      'segments must be base64url without padding or whitespace (RFC 7515 §2); the base64 decoder jose uses skips them',
  },
  'header with = padding': {
    palisade: 'refuse',
    jose: 'accept',
    reason: 'segments must be base64url without padding or whitespace (RFC 7515 §2)',
  },
  'signature with a trailing newline': {
    palisade: 'refuse',
    jose: 'accept',
    reason: 'segments must be base64url without padding or whitespace (RFC 7515 §2)',
  },
}

// ---------------------------------------------------------------------------------------------
// Keys and the key set both verifiers use

interface Pair {
  readonly kid: string
  readonly privateKey: KeyObject
  readonly jwk: Record<string, unknown>
}

function pair(
  kid: string,
  keys: { publicKey: KeyObject; privateKey: KeyObject },
  extra: Record<string, unknown> = {},
): Pair {
  return {
    kid,
    privateKey: keys.privateKey,
    jwk: { ...keys.publicKey.export({ format: 'jwk' }), kid, ...extra },
  }
}

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits })
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve })

const keys = {
  rsaSmall: pair('rsa-small', rsa(1024)),
  rsa: pair('rsa', rsa(2048)),
  rsaPss: pair('rsa-pss', rsa(2048), { alg: 'PS256' }),
  rsaEnc: pair('rsa-enc', rsa(2048), { use: 'enc' }),
  ec256: pair('ec256', ec('P-256')),
  ec384: pair('ec384', ec('P-384')),
  ec521: pair('ec521', ec('P-521')),
  ed: pair('ed', generateKeyPairSync('ed25519')),
  ed448: pair('ed448', generateKeyPairSync('ed448')),
}
/** Unpublished: a key an attacker holds. */
const stranger = pair('rsa', rsa(2048))
const jwks: JSONWebKeySet = {
  keys: Object.values(keys).map((key) => key.jwk),
}

// ---------------------------------------------------------------------------------------------
// Building tokens byte by byte

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url')
const json = (value: unknown) => b64(JSON.stringify(value))

function signBytes(alg: string, key: KeyObject, input: string): Buffer {
  const data = Buffer.from(input, 'latin1')
  const hash = `sha${alg.slice(-3)}`
  if (alg.startsWith('RS')) return sign(hash, data, key)
  if (alg.startsWith('PS'))
    return sign(hash, data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    })
  if (alg.startsWith('ES')) return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' })
  return sign(null, data, key)
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'user-1',
  iat: NOW,
  exp: NOW + 300,
  ...extra,
})

interface Build {
  readonly alg?: string
  readonly key?: Pair
  /** Fields over `{ alg, kid, typ }`; `undefined` leaves one out. */
  readonly header?: Record<string, unknown>
  /** The header segment as is (it is still signed). */
  readonly head?: string
  /** Claims over the valid defaults; `undefined` leaves one out. */
  readonly claims?: Record<string, unknown>
  /** The payload segment as is (it is still signed). */
  readonly body?: string
  /** Re-encodes the signature segment. */
  readonly signature?: (bytes: Buffer, segment: string) => string
}

function token(build: Build = {}): string {
  const key = build.key ?? keys.rsa
  const alg = build.alg ?? 'RS256'
  const head = build.head ?? json({ alg, kid: key.kid, typ: 'at+jwt', ...build.header })
  const body = build.body ?? json(claims(build.claims))
  const bytes = signBytes(alg, key.privateKey, `${head}.${body}`)
  const segment = b64(bytes)
  return `${head}.${body}.${build.signature?.(bytes, segment) ?? segment}`
}

/** Flips a bit that base64url decoding drops (the last character carries spare bits). */
function spareBit(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(segment.at(-1)!)
  return segment.slice(0, -1) + alphabet[last ^ 1]!
}

function derOf(raw: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let start = 0
    while (start < bytes.length - 1 && bytes[start] === 0) start++
    const trimmed = bytes.subarray(start)
    const value = trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed
    return Buffer.concat([Buffer.from([0x02, value.length]), value])
  }
  const half = raw.length / 2
  const body = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

/** The other valid ECDSA signature of the same message: (r, n - s). */
function highS(raw: Buffer): Buffer {
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`)
  const flipped = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')
  return Buffer.concat([raw.subarray(0, 32), flipped])
}

/** An RS256 token whose signature happens to start with a zero byte. */
function rsaWithLeadingZero(): { token: string; bytes: Buffer } {
  for (let i = 0; ; i++) {
    const head = json({ alg: 'RS256', kid: 'rsa', typ: 'at+jwt' })
    const body = json(claims({ jti: `try-${i}` }))
    const bytes = signBytes('RS256', keys.rsa.privateKey, `${head}.${body}`)
    if (bytes[0] === 0) return { token: `${head}.${body}.${b64(bytes)}`, bytes }
  }
}

/** A JSON segment whose length is a multiple of 4 (a member `x` stretches it). */
function aligned(header: Record<string, unknown>): string {
  for (let x = ''; ; x += 'x') {
    const segment = json({ ...header, x })
    if (segment.length % 4 === 0) return segment
  }
}

/** A header segment with its base64 `=` padding (a member `x` makes padding necessary). */
function padded(header: Record<string, unknown>): string {
  for (let x = ''; ; x += 'x') {
    const segment = json({ ...header, x })
    if (segment.length % 4 !== 0) return segment + '='.repeat(4 - (segment.length % 4))
  }
}

const withHeaderBytes = (prefix: number[], header: string, suffix: number[] = []) =>
  b64(Buffer.concat([Buffer.from(prefix), Buffer.from(header), Buffer.from(suffix)]))

// ---------------------------------------------------------------------------------------------
// The corpus

interface Case {
  readonly name: string
  readonly token: string
  readonly strict?: boolean
}

const valid: Case[] = [
  ...(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const).map((alg) => ({
    name: `valid ${alg}`,
    token: token({ alg }),
  })),
  {
    name: 'valid PS256 with a key bound to PS256',
    token: token({ alg: 'PS256', key: keys.rsaPss }),
  },
  { name: 'valid ES256', token: token({ alg: 'ES256', key: keys.ec256 }) },
  { name: 'valid ES384', token: token({ alg: 'ES384', key: keys.ec384 }) },
  { name: 'valid ES512', token: token({ alg: 'ES512', key: keys.ec521 }) },
  { name: 'valid EdDSA', token: token({ alg: 'EdDSA', key: keys.ed }) },
  { name: 'valid Ed25519', token: token({ alg: 'Ed25519', key: keys.ed }) },
  {
    name: 'valid ES256 without kid (one P-256 key)',
    token: token({ alg: 'ES256', key: keys.ec256, header: { kid: undefined } }),
  },
]

/** Signed by jose itself rather than by the builder above. */
async function joseSigned(): Promise<Case[]> {
  const signed = async (alg: string, key: Pair) =>
    new SignJWT(claims())
      .setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt' })
      .sign(key.privateKey)
  return [
    { name: 'jose-signed RS256', token: await signed('RS256', keys.rsa) },
    { name: 'jose-signed PS512', token: await signed('PS512', keys.rsa) },
    { name: 'jose-signed ES384', token: await signed('ES384', keys.ec384) },
    { name: 'jose-signed EdDSA', token: await signed('EdDSA', keys.ed) },
  ]
}

const rs256 = token()
const [rsHead, rsBody, rsSignature] = rs256.split('.') as [string, string, string]
const leadingZero = rsaWithLeadingZero()
/** A valid RS256 token of exactly `size` bytes, padded by a claim and a header member. */
function big(size: number): string {
  const signatureLength = b64(Buffer.alloc(256)).length
  for (let extra = 0; extra < 4; extra++) {
    const header = { alg: 'RS256', kid: 'rsa', typ: 'at+jwt', x: 'x'.repeat(extra) }
    const fixed = json(header).length + 2 + signatureLength
    for (let pad = Math.floor(((size - fixed) * 3) / 4) - 200; ; pad++) {
      const length = fixed + json(claims({ pad: 'x'.repeat(pad) })).length
      if (length === size) return token({ header, claims: { pad: 'x'.repeat(pad) } })
      if (length > size) break
    }
  }
  throw new Error(`no token of ${size} bytes`)
}

const corpus: Case[] = [
  ...valid,
  // keys of the wrong type, curve or size for the alg
  { name: 'RS256 with the kid of an EC key', token: token({ header: { kid: 'ec256' } }) },
  {
    name: 'ES256 signed with a P-384 key, its own kid',
    token: token({ alg: 'ES256', key: keys.ec384 }),
  },
  {
    name: 'ES384 signed with a P-256 key, its own kid',
    token: token({ alg: 'ES384', key: keys.ec256 }),
  },
  {
    name: 'ES256 with the kid of an RSA key',
    token: token({ alg: 'ES256', key: keys.ec256, header: { kid: 'rsa' } }),
  },
  {
    name: 'EdDSA with the kid of an RSA key',
    token: token({ alg: 'EdDSA', key: keys.ed, header: { kid: 'rsa' } }),
  },
  { name: 'EdDSA signed with an Ed448 key', token: token({ alg: 'EdDSA', key: keys.ed448 }) },
  { name: 'RS256 with a 1024-bit RSA key', token: token({ key: keys.rsaSmall }) },
  { name: 'PS256 with a 1024-bit RSA key', token: token({ alg: 'PS256', key: keys.rsaSmall }) },
  { name: 'RS256 with a key bound to PS256', token: token({ key: keys.rsaPss }) },
  { name: 'RS256 with an encryption key (use enc)', token: token({ key: keys.rsaEnc }) },
  { name: 'an unknown kid', token: token({ header: { kid: 'nope' } }) },
  { name: 'a real kid, signed by another key', token: token({ key: stranger }) },
  {
    name: 'an embedded jwk of the signing key, another kid',
    token: token({ key: stranger, header: { kid: 'attacker', jwk: stranger.jwk } }),
  },
  // kid values jose's key selection matches to no key, once the verifier has seen real ones
  {
    name: 'ES256 with an empty kid',
    token: token({ alg: 'ES256', key: keys.ec256, header: { kid: '' } }),
  },
  {
    name: 'ES256 with a null kid',
    token: token({ alg: 'ES256', key: keys.ec256, header: { kid: null } }),
  },
  { name: 'RS256 with a kid that is an array', token: token({ header: { kid: ['rsa'] } }) },
  { name: 'RS256 with a kid that is a number', token: token({ header: { kid: 1 } }) },
  // several candidate keys
  {
    name: 'no kid, several RSA keys, the unusable 1024-bit one first',
    token: token({ header: { kid: undefined } }),
  },
  {
    name: 'no kid, several RSA keys, signed by none of them',
    token: token({ key: stranger, header: { kid: undefined } }),
  },
  // algorithms and headers
  { name: 'alg none', token: `${json({ alg: 'none' })}.${json(claims())}.` },
  {
    name: 'alg in lower case',
    token: `${json({ alg: 'rs256', kid: 'rsa' })}.${rsBody}.${rsSignature}`,
  },
  { name: 'HS256', token: `${json({ alg: 'HS256', kid: 'rsa' })}.${rsBody}.${rsSignature}` },
  {
    name: 'alg swapped to PS256 over an RS256 signature',
    token: `${json({ alg: 'PS256', kid: 'rsa', typ: 'at+jwt' })}.${rsBody}.${rsSignature}`,
  },
  { name: 'b64 false without crit', token: token({ header: { b64: false } }) },
  {
    name: 'crit naming b64, with b64 true',
    token: token({ header: { b64: true, crit: ['b64'] } }),
  },
  {
    name: 'b64 false with crit, unencoded payload',
    token: (() => {
      const head = json({ alg: 'RS256', kid: 'rsa', b64: false, crit: ['b64'] })
      const payload = JSON.stringify(claims())
      return `${head}.${payload}.${b64(signBytes('RS256', keys.rsa.privateKey, `${head}.${payload}`))}`
    })(),
  },
  {
    name: 'crit naming an unknown extension',
    token: token({ header: { crit: ['x-never'], 'x-never': 1 } }),
  },
  {
    name: 'a duplicate alg member (the last one counts)',
    token: token({ head: b64('{"alg":"HS256","kid":"rsa","alg":"RS256"}') }),
  },
  { name: 'a header that is a JSON array', token: token({ head: json(['RS256']) }) },
  {
    name: 'a header with invalid UTF-8',
    token: token({
      head: withHeaderBytes([], '{"alg":"RS256","kid":"rsa","x":"', [0xff, 0x22, 0x7d]),
    }),
  },
  {
    name: 'a header starting with a UTF-8 byte order mark',
    token: token({ head: withHeaderBytes([0xef, 0xbb, 0xbf], '{"alg":"RS256","kid":"rsa"}') }),
  },
  // the shape of the serialisation
  {
    name: 'JWE (five segments)',
    token: `${json({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${b64('k')}.${b64('iv')}.${b64('c')}.${b64('t')}`,
  },
  { name: 'four segments', token: `${rs256}.${rsSignature}` },
  { name: 'an empty signature', token: `${rsHead}.${rsBody}.` },
  { name: 'an empty payload', token: token({ body: '' }) },
  { name: 'a payload that is a JSON array', token: token({ body: json([claims()]) }) },
  {
    name: 'a payload with invalid UTF-8',
    token: token({ body: b64(Buffer.from([0x7b, 0xff, 0x7d])) }),
  },
  { name: 'exactly maxTokenBytes (8192 bytes)', token: big(8192) },
  { name: 'larger than maxTokenBytes (8193 bytes)', token: big(8193) },
  // re-encoded signatures and segments
  {
    name: 'ES256 signature DER-encoded',
    token: token({ alg: 'ES256', key: keys.ec256, signature: (bytes) => b64(derOf(bytes)) }),
  },
  {
    name: 'ES256 signature with high S (n - s)',
    token: token({ alg: 'ES256', key: keys.ec256, signature: (bytes) => b64(highS(bytes)) }),
  },
  {
    name: 'ES256 signature of zeros',
    token: token({ alg: 'ES256', key: keys.ec256, signature: () => b64(Buffer.alloc(64)) }),
  },
  {
    name: 'ES256 signature one byte short',
    token: token({ alg: 'ES256', key: keys.ec256, signature: (bytes) => b64(bytes.subarray(1)) }),
  },
  {
    name: 'RS256 signature with a zero byte in front',
    token: token({ signature: (bytes) => b64(Buffer.concat([Buffer.from([0]), bytes])) }),
  },
  { name: 'RS256 signature that starts with a zero byte', token: leadingZero.token },
  {
    name: 'RS256 signature with its leading zero byte dropped',
    token: leadingZero.token.replace(/[^.]+$/, b64(leadingZero.bytes.subarray(1))),
  },
  {
    name: 'PS256 signed with the longest salt instead of the digest length',
    token: (() => {
      const head = json({ alg: 'PS256', kid: 'rsa' })
      const body = json(claims())
      const bytes = sign('sha256', Buffer.from(`${head}.${body}`), {
        key: keys.rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
      })
      return `${head}.${body}.${b64(bytes)}`
    })(),
  },
  {
    name: 'signature with a spare bit set',
    token: token({ signature: (_bytes, segment) => spareBit(segment) }),
  },
  {
    name: 'ES256 signature with a spare bit set',
    token: token({
      alg: 'ES256',
      key: keys.ec256,
      signature: (_bytes, segment) => spareBit(segment),
    }),
  },
  {
    name: 'header with a spare bit set',
    token: token({ head: spareBit(json({ alg: 'RS256', kid: 'rsa', typ: 'at+jwt', x: 1 })) }),
  },
  // A dangling character after whole groups of 4 encodes no byte.
  {
    name: 'ES384 signature (128 characters) with one character too many',
    token: token({ alg: 'ES384', key: keys.ec384, signature: (_bytes, segment) => `${segment}A` }),
  },
  {
    name: 'header with one character too many',
    token: token({ head: `${aligned({ alg: 'RS256', kid: 'rsa', typ: 'at+jwt' })}A` }),
  },
  {
    name: 'payload with one character too many',
    token: token({ body: `${aligned(claims())}A` }),
  },
  {
    name: 'signature with = padding',
    token: token({ signature: (_bytes, segment) => `${segment}==` }),
  },
  {
    name: 'header with = padding',
    token: token({ head: padded({ alg: 'RS256', kid: 'rsa', typ: 'at+jwt' }) }),
  },
  { name: 'signature with a trailing newline', token: `${rs256}\n` },
  {
    name: 'signature in base64 with + and /',
    token: token({ signature: (bytes) => bytes.toString('base64').replace(/=+$/, '') }),
  },
  // claims and time (NOW is the verifiers' clock; tolerance 5 s)
  { name: 'no exp', token: token({ claims: { exp: undefined } }) },
  { name: 'exp at now - tolerance', token: token({ claims: { exp: NOW - TOLERANCE } }) },
  { name: 'exp at now - tolerance + 1', token: token({ claims: { exp: NOW - TOLERANCE + 1 } }) },
  { name: 'exp exactly now', token: token({ claims: { exp: NOW } }) },
  { name: 'exp with a fraction', token: token({ claims: { exp: NOW - TOLERANCE + 0.5 } }) },
  { name: 'exp as a string', token: token({ claims: { exp: String(NOW + 300) } }) },
  { name: 'nbf at now + tolerance', token: token({ claims: { nbf: NOW + TOLERANCE } }) },
  { name: 'nbf at now + tolerance + 1', token: token({ claims: { nbf: NOW + TOLERANCE + 1 } }) },
  { name: 'iat in the future', token: token({ claims: { iat: NOW + 600 } }) },
  { name: 'iat as a string', token: token({ claims: { iat: String(NOW) } }) },
  { name: 'another issuer', token: token({ claims: { iss: 'https://issuer/' } }) },
  { name: 'issuer as an array', token: token({ claims: { iss: [ISSUER] } }) },
  { name: 'no iss', token: token({ claims: { iss: undefined } }) },
  { name: 'another audience', token: token({ claims: { aud: 'billing' } }) },
  {
    name: 'audience list naming the audience',
    token: token({ claims: { aud: ['billing', AUDIENCE] } }),
  },
  { name: 'no aud', token: token({ claims: { aud: undefined } }) },
  // the checks that run only when asked (maxTokenAge 60, typ at+jwt, sub required)
  { name: 'strict: valid', token: token(), strict: true },
  {
    name: 'strict: iat at now - maxTokenAge - tolerance',
    token: token({ claims: { iat: NOW - 65 } }),
    strict: true,
  },
  {
    name: 'strict: iat at now - maxTokenAge - tolerance - 1',
    token: token({ claims: { iat: NOW - 66 } }),
    strict: true,
  },
  {
    name: 'strict: iat at now + tolerance',
    token: token({ claims: { iat: NOW + TOLERANCE } }),
    strict: true,
  },
  {
    name: 'strict: iat at now + tolerance + 1',
    token: token({ claims: { iat: NOW + TOLERANCE + 1 } }),
    strict: true,
  },
  { name: 'strict: no iat', token: token({ claims: { iat: undefined } }), strict: true },
  { name: 'strict: no sub', token: token({ claims: { sub: undefined } }), strict: true },
  {
    name: 'strict: typ application/at+jwt',
    token: token({ header: { typ: 'application/at+jwt' } }),
    strict: true,
  },
  { name: 'strict: typ AT+JWT', token: token({ header: { typ: 'AT+JWT' } }), strict: true },
  { name: 'strict: typ JWT', token: token({ header: { typ: 'JWT' } }), strict: true },
  {
    name: 'strict: typ text/at+jwt',
    token: token({ header: { typ: 'text/at+jwt' } }),
    strict: true,
  },
  { name: 'strict: no typ', token: token({ header: { typ: undefined } }), strict: true },
  { name: 'strict: typ as a number', token: token({ header: { typ: 1 } }), strict: true },
  ...(await joseSigned()),
]

// ---------------------------------------------------------------------------------------------
// Running both verifiers

const serveJwks: typeof fetch = () =>
  Promise.resolve(
    new Response(JSON.stringify(jwks), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    }),
  )

function palisade(strict: boolean): Verifier {
  const options: VerifierOptions = {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: `${ISSUER}/jwks`,
    algorithms: ALGORITHMS,
    clockTolerance: TOLERANCE,
    fetch: serveJwks,
    ...(strict ? STRICT : {}),
  }
  return createVerifier(options)
}

const joseKeys = createLocalJWKSet(jwks)
const joseOptions = (strict: boolean): JWTVerifyOptions => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ALGORITHMS,
  clockTolerance: TOLERANCE,
  ...(strict ? STRICT : {}),
})

interface Answer {
  readonly outcome: Outcome
  readonly detail: string
}

async function answer(run: () => Promise<unknown>, own: boolean): Promise<Answer> {
  try {
    await run()
    return { outcome: 'accept', detail: 'accepted' }
  } catch (error) {
    // Palisade must refuse with its own error, never a stray one.
    if (own && !(error instanceof JwtError)) throw error
    const detail = error instanceof JwtError ? error.code : (error as Error).message
    return { outcome: 'refuse', detail }
  }
}

const warm = { default: palisade(false), strict: palisade(true) }

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000 + 500)
  for (const { token: valid } of corpus.filter((c) => c.name.startsWith('valid'))) {
    await warm.default.verify(valid)
    await warm.strict.verify(valid).catch(() => undefined)
  }
})
afterAll(() => {
  vi.useRealTimers()
})

describe('Palisade and jose jwtVerify answer every token alike', () => {
  it('has a name for every case, once', () => {
    const names = corpus.map((c) => c.name)
    expect(new Set(names).size).toBe(names.length)
    for (const name of Object.keys(INTENDED)) expect(names).toContain(name)
  })

  it.each(corpus)('$name', async ({ name, token: jwt, strict = false }) => {
    const jose = await answer(() => jwtVerify(jwt, joseKeys, joseOptions(strict)), false)
    const cold = await answer(() => palisade(strict).verify(jwt), true)
    const shared = await answer(() => warm[strict ? 'strict' : 'default'].verify(jwt), true)
    const seen = { palisadeCold: cold.outcome, palisadeWarm: shared.outcome, jose: jose.outcome }
    const intended = INTENDED[name]
    const expected = intended
      ? { palisadeCold: intended.palisade, palisadeWarm: intended.palisade, jose: intended.jose }
      : { palisadeCold: jose.outcome, palisadeWarm: jose.outcome, jose: jose.outcome }
    expect(
      seen,
      `Palisade cold: ${cold.detail}; Palisade warm: ${shared.detail}; jose: ${jose.detail}`,
    ).toEqual(expected)
  })
})
