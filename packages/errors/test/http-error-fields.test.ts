import { inspect } from 'node:util'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { PalisadeError } from '../src/index.js'
import type { HttpErrorFields } from '../src/index.js'

type Code = 'PALISADE_EXAMPLE_REFUSED'

class RefusedError extends PalisadeError<Code> implements HttpErrorFields {
  readonly status = 401
  readonly statusCode = 401
  readonly expose = true
  readonly headers = {}
  declare readonly detail: string

  constructor(detail: string, cause?: unknown) {
    super('PALISADE_EXAMPLE_REFUSED', 'Refused', { cause, detail })
  }
}

describe('HttpErrorFields', () => {
  it('types expose as a boolean and requires statusCode and detail', () => {
    expectTypeOf<HttpErrorFields['expose']>().toEqualTypeOf<boolean>()
    expectTypeOf<HttpErrorFields['statusCode']>().toEqualTypeOf<number>()
    expectTypeOf<HttpErrorFields['detail']>().toEqualTypeOf<string>()
  })
})

describe('PalisadeError detail', () => {
  it('keeps the private detail beside the public message, and the cause', () => {
    const cause = new Error('low level: https://idp.internal.example/jwks')
    const error = new RefusedError('kid "k-1" is not in the key set', cause)
    expect(error.message).toBe('Refused')
    expect(error.detail).toBe('kid "k-1" is not in the key set')
    expect(error.cause).toBe(cause)
    expect(error.stack?.split('\n')[0]).toBe('RefusedError: Refused')
  })

  it('shows the detail to loggers and leaves it out of JSON', () => {
    const error = new RefusedError('kid "k-1" is not in the key set')
    expect(inspect(error)).toContain('kid "k-1" is not in the key set')
    expect(JSON.stringify(error)).not.toContain('k-1')
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'PALISADE_EXAMPLE_REFUSED',
      name: 'RefusedError',
      status: 401,
      statusCode: 401,
      expose: true,
      headers: {},
    })
  })

  it('has no detail field when none is given', () => {
    const error = new PalisadeError('PALISADE_EXAMPLE_REFUSED', '"x" option must be set')
    expect(Object.hasOwn(error, 'detail')).toBe(false)
    expect(error.detail).toBeUndefined()
  })
})
