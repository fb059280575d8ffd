import { describe, expectTypeOf, it } from 'vitest'
import type { CspReportError, HttpErrorCode, RateLimitError } from '../src/index.js'

describe('HttpErrorCode', () => {
  it('holds the codes of both halves of the package, and nothing else', () => {
    expectTypeOf<CspReportError['code']>().toExtend<HttpErrorCode>()
    expectTypeOf<RateLimitError['code']>().toExtend<HttpErrorCode>()
    expectTypeOf<HttpErrorCode>().toEqualTypeOf<CspReportError['code'] | RateLimitError['code']>()
    expectTypeOf<'PALISADE_JWT_EXPIRED'>().not.toExtend<HttpErrorCode>()
  })
})
