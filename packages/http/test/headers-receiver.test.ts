import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CspReportError, createCspReportReceiver, parseCspReports } from '../src/index.js'
import type { CspViolation } from '../src/index.js'

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/headers/${name}`, import.meta.url), 'utf8')

function collecting() {
  const seen: CspViolation[] = []
  const logs: { level: string; obj: object; msg?: string | undefined }[] = []
  const log = (level: string) => (obj: object, msg?: string) => logs.push({ level, obj, msg })
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
  return { seen, logs, logger }
}

describe('parseCspReports', () => {
  it('normalises report-uri bodies and strips query strings and fragments', () => {
    expect(parseCspReports('application/csp-report', fixture('report-uri.json'))).toEqual([
      {
        format: 'report-uri',
        documentUrl: 'http://127.0.0.1:3000/page',
        blockedUrl: 'inline',
        effectiveDirective: 'script-src-elem',
        disposition: 'enforce',
        originalPolicy: "default-src 'self';script-src 'self' 'nonce-abc';report-uri /csp-reports",
        sourceFile: 'http://127.0.0.1:3000/page',
        lineNumber: 7,
        columnNumber: 11,
        statusCode: 200,
        sample: '',
        referrer: '',
      },
    ])
  })

  it('normalises Reporting API bodies and skips other report types', () => {
    const [violation, ...rest] = parseCspReports(
      'application/reports+json; charset=utf-8',
      fixture('reports-json.json'),
    )
    expect(rest).toEqual([])
    expect(violation).toMatchObject({
      format: 'report-to',
      documentUrl: 'http://127.0.0.1:3000/page',
      blockedUrl: 'http://localhost:4000/pixel.png',
      effectiveDirective: 'img-src',
      disposition: 'enforce',
      statusCode: 200,
      userAgent: expect.stringContaining('Chrome') as string,
    })
    expect(JSON.stringify(violation)).not.toContain('secret')
  })

  it.each([
    ['application/json', '{}', 'PALISADE_HTTP_REPORT_UNSUPPORTED_TYPE', 415],
    [undefined, '{}', 'PALISADE_HTTP_REPORT_UNSUPPORTED_TYPE', 415],
    ['application/csp-report', '{"csp-report":', 'PALISADE_HTTP_REPORT_MALFORMED', 400],
    ['application/csp-report', '[]', 'PALISADE_HTTP_REPORT_MALFORMED', 400],
    [
      'application/csp-report',
      '{"csp-report":{"blocked-uri":"inline"}}',
      'PALISADE_HTTP_REPORT_MALFORMED',
      400,
    ],
    ['application/reports+json', '{"type":"csp-violation"}', 'PALISADE_HTTP_REPORT_MALFORMED', 400],
    ['application/reports+json', '[{"body":{}}]', 'PALISADE_HTTP_REPORT_MALFORMED', 400],
    [
      'application/reports+json',
      '[{"type":"csp-violation","body":"x"}]',
      'PALISADE_HTTP_REPORT_MALFORMED',
      400,
    ],
  ])('%s %s -> %s', (type, body, code, status) => {
    let caught: unknown
    try {
      parseCspReports(type, body)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(CspReportError)
    expect(caught).toMatchObject({ code, status })
  })
})

describe('createCspReportReceiver', () => {
  it('passes each violation to onReport and answers 204', async () => {
    const { seen } = collecting()
    const receiver = createCspReportReceiver({ onReport: (v) => void seen.push(v) })
    const response = await receiver.handle({
      method: 'POST',
      contentType: 'application/reports+json',
      body: Readable.from([Buffer.from(fixture('reports-json.json'))]),
    })
    expect(response).toEqual({ status: 204, headers: {}, body: undefined })
    expect(seen).toHaveLength(1)
    expect(seen[0]!.effectiveDirective).toBe('img-src')
  })

  it('logs violations at warn level when there is no callback, and callback failures at error', async () => {
    const quiet = collecting()
    await createCspReportReceiver({ logger: quiet.logger }).handle({
      method: 'POST',
      contentType: 'application/csp-report',
      body: fixture('report-uri.json'),
    })
    expect(quiet.logs).toEqual([
      {
        level: 'warn',
        obj: { violation: expect.objectContaining({ blockedUrl: 'inline' }) as object },
        msg: 'CSP violation reported',
      },
    ])
    const failing = collecting()
    const response = await createCspReportReceiver({
      logger: failing.logger,
      onReport: () => Promise.reject(new Error('sink down')),
    }).handle({
      method: 'POST',
      contentType: 'application/csp-report',
      body: Buffer.from(fixture('report-uri.json')),
    })
    expect(response.status).toBe(204)
    expect(failing.logs.map((l) => l.level)).toEqual(['error'])
  })

  it('refuses an oversized body by Content-Length and while streaming', async () => {
    const receiver = createCspReportReceiver({ maxBytes: 100 })
    expect(receiver.maxBytes).toBe(100)
    const declared = await receiver.handle({
      method: 'POST',
      contentType: 'application/csp-report',
      contentLength: '5000',
      body: undefined,
    })
    expect(declared).toEqual({
      status: 413,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: '{"error":"report too large"}',
    })
    let pulled = 0
    async function* endless() {
      for (;;) {
        pulled++
        await Promise.resolve()
        yield Buffer.alloc(40, 0x20)
      }
    }
    const streamed = await receiver.handle({
      method: 'POST',
      contentType: 'application/csp-report',
      body: endless(),
    })
    expect(streamed.status).toBe(413)
    expect(pulled).toBe(3)
  })

  it('refuses other methods, media types and malformed bodies', async () => {
    const { seen } = collecting()
    const receiver = createCspReportReceiver({ onReport: (v) => void seen.push(v) })
    const get = await receiver.handle({ method: 'GET', contentType: undefined, body: undefined })
    expect(get).toMatchObject({ status: 405, headers: { Allow: 'POST' } })
    const json = await receiver.handle({
      method: 'POST',
      contentType: 'application/json',
      body: '{}',
    })
    expect(json).toMatchObject({ status: 415, body: '{"error":"unsupported media type"}' })
    const bad = await receiver.handle({
      method: 'POST',
      contentType: 'application/csp-report',
      body: 'not json',
    })
    expect(bad).toMatchObject({ status: 400, body: '{"error":"malformed report"}' })
    const broken = await receiver.handle({
      method: 'POST',
      contentType: 'application/csp-report',
      body: new Readable({
        read() {
          this.destroy(new Error('socket reset'))
        },
      }),
    })
    expect(broken.status).toBe(400)
    expect(seen).toEqual([])
  })

  it('validates its options', () => {
    expect(() => createCspReportReceiver({ maxBytes: 0 })).toThrow(
      new TypeError('"maxBytes" option must be a positive integer'),
    )
    expect(() => createCspReportReceiver({ onReport: 'log' as never })).toThrow(
      new TypeError('"onReport" option must be a function'),
    )
    expect(() => createCspReportReceiver({ logger: console.log as never })).toThrow(
      /"logger" option/,
    )
  })
})
