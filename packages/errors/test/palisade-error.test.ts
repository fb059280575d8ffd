import { describe, expect, expectTypeOf, it } from 'vitest'
import { PalisadeError, isPalisadeError } from '../src/index.js'

type Code = 'PALISADE_A' | 'PALISADE_B'
class ExampleError extends PalisadeError<Code> {}

describe('PalisadeError', () => {
  it('keeps code, name, message and cause', () => {
    const cause = new Error('low level')
    const err = new ExampleError('PALISADE_A', '"x" option must be set', { cause })
    expect(err).toBeInstanceOf(Error)
    expect(err).toBeInstanceOf(PalisadeError)
    expect(err.name).toBe('ExampleError')
    expect(err.code).toBe('PALISADE_A')
    expect(err.message).toBe('"x" option must be set')
    expect(err.cause).toBe(cause)
    expect(Object.hasOwn(new ExampleError('PALISADE_B', 'm'), 'cause')).toBe(false)
    expectTypeOf(err.code).toEqualTypeOf<Code>()
  })

  it('is recognised across copies by isPalisadeError, and nothing else is', () => {
    expect(isPalisadeError(new ExampleError('PALISADE_A', 'm'))).toBe(true)
    const foreign = Object.assign(new Error('m'), { code: 'PALISADE_A' })
    Object.defineProperty(foreign, Symbol.for('palisade.error'), { value: true })
    expect(isPalisadeError(foreign)).toBe(true)
    expect(isPalisadeError(Object.assign(new Error('m'), { code: 'PALISADE_A' }))).toBe(false)
    expect(isPalisadeError(null)).toBe(false)
    expect(isPalisadeError('PALISADE_A')).toBe(false)
  })

  it('does not leak the brand into JSON', () => {
    expect(JSON.stringify(new ExampleError('PALISADE_A', 'm'))).toBe(
      '{"code":"PALISADE_A","name":"ExampleError"}',
    )
  })
})
