import { describe, expectTypeOf, it } from 'vitest'
import { startDevIssuer } from '../src/index.js'
import type {
  DevIssuerError,
  DevIssuer,
  DevIssuerAlgorithm,
  DevIssuerErrorCode,
  FailureMode,
  MintOptions,
  PublicJwk,
  RequestCounters,
} from '../src/index.js'

describe('public types', () => {
  it('startDevIssuer resolves to a DevIssuer', () => {
    expectTypeOf(startDevIssuer).returns.resolves.toEqualTypeOf<DevIssuer>()
    expectTypeOf(startDevIssuer).parameter(0).exclude<undefined>().toHaveProperty('host')
  })

  it('DevIssuer has the documented members', () => {
    expectTypeOf<DevIssuer['issuer']>().toEqualTypeOf<string>()
    expectTypeOf<DevIssuer['mint']>().returns.toEqualTypeOf<Promise<string>>()
    expectTypeOf<DevIssuer['rotate']>().parameter(0).toEqualTypeOf<DevIssuerAlgorithm | undefined>()
    expectTypeOf<DevIssuer['retire']>().returns.toBeVoid()
    expectTypeOf<DevIssuer['requests']>().toEqualTypeOf<RequestCounters>()
    expectTypeOf<DevIssuer['publicJwks']>().returns.toEqualTypeOf<{ keys: PublicJwk[] }>()
    expectTypeOf<DevIssuer['fail']>().parameter(0).toEqualTypeOf<FailureMode>()
  })

  it('unions are closed', () => {
    expectTypeOf<DevIssuerAlgorithm>().toEqualTypeOf<'RS256' | 'PS256' | 'ES256' | 'EdDSA'>()
    expectTypeOf<FailureMode>().toEqualTypeOf<'none' | 'error' | 'hang' | 'slow' | 'garbage'>()
    expectTypeOf<DevIssuerError['code']>().toEqualTypeOf<DevIssuerErrorCode>()
  })

  it('refuses misuse at compile time', () => {
    const options: MintOptions[] = [
      { typ: null, scope: ['a'], omit: ['exp'] },
      // @ts-expect-error -- HS256 is not a dev issuer algorithm
      { alg: 'HS256' },
      // @ts-expect-error -- nbf cannot be omitted, it is only written when asked for
      { omit: ['nbf'] },
    ]
    expectTypeOf(options).toEqualTypeOf<MintOptions[]>()
  })
})
