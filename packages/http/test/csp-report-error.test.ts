import { describe, expect, it } from 'vitest'
import { CspReportError, cspReportErrorResponse, parseCspReports } from '../src/index.js'

function refusal(contentType: string, body: string): CspReportError {
  try {
    parseCspReports(contentType, body)
  } catch (error) {
    if (error instanceof CspReportError) return error
    throw error
  }
  throw new Error('expected a CspReportError')
}

describe('CspReportError', () => {
  it('has the public text as message, the header at fault in detail', () => {
    const error = refusal('text/plain', 'hello')
    expect(error.message).toBe('unsupported media type')
    expect(error.detail).toBe(
      'Content-Type header must be application/csp-report or application/reports+json',
    )
    expect(error.status).toBe(415)
    expect(error.statusCode).toBe(415)
    // As http-errors defines it: a 4xx message may be shown.
    expect(error.expose).toBe(true)
  })

  it('keeps the parser error as cause and out of the message', () => {
    const error = refusal('application/csp-report', '{private-report-body')
    expect(error.message).toBe('malformed report')
    expect(error.detail).toBe('CSP report body is not valid JSON')
    expect(error.cause).toBeInstanceOf(SyntaxError)
    expect(JSON.stringify(error)).not.toContain('not valid JSON')
  })

  it('answers exactly as before', () => {
    const error = new CspReportError(
      'PALISADE_HTTP_REPORT_METHOD',
      'CSP reports must be sent with POST',
    )
    expect(cspReportErrorResponse(error)).toEqual({
      status: 405,
      headers: { Allow: 'POST', 'Content-Type': 'application/json; charset=utf-8' },
      body: '{"error":"method not allowed"}',
    })
  })
})
