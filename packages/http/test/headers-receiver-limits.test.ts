import { Readable } from 'node:stream'
import { metrics } from '@opentelemetry/api'
import type { Attributes, Meter, MeterProvider } from '@opentelemetry/api'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCspReportReceiver } from '../src/index.js'
import type { CspReportReceiverOptions, CspReportRequest } from '../src/index.js'

// Records what an SDK would receive: the package only talks to @opentelemetry/api.
const recorded: { name: string; attributes: Attributes | undefined }[] = []
const provider: MeterProvider = {
  getMeter: () =>
    new Proxy({} as Meter, {
      get: (_target, method) =>
        method === 'createCounter'
          ? (name: string) => ({
              add: (_value: number, attributes?: Attributes) => {
                recorded.push({ name, attributes })
              },
            })
          : () => undefined,
    }),
}
beforeAll(() => {
  metrics.setGlobalMeterProvider(provider)
})
afterAll(() => {
  metrics.disable()
})
afterEach(() => {
  recorded.length = 0
  vi.useRealTimers()
})

function collecting() {
  const lines: { level: string; obj: object; msg?: string | undefined }[] = []
  const log = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg })
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
  return { lines, logger }
}

/** A Reporting API body just under 64 KiB: as many reports as fit, each with its own directive. */
function floodBody(): { body: string; count: number } {
  const reports: string[] = []
  let size = 2 // the brackets
  for (let i = 0; ; i++) {
    const report = JSON.stringify({
      type: 'csp-violation',
      body: { documentURL: 'https://a.example/', effectiveDirective: `d${i}` },
    })
    size += report.length + (i === 0 ? 0 : 1)
    if (size > 65_536) break
    reports.push(report)
  }
  return { body: `[${reports.join(',')}]`, count: reports.length }
}

const REPORT_URI = JSON.stringify({
  'csp-report': {
    'document-uri': 'https://app.example.com/',
    'blocked-uri': 'inline',
    'effective-directive': 'script-src-elem',
  },
})

function post(body: CspReportRequest['body'], extra: Partial<CspReportRequest> = {}) {
  return {
    method: 'POST',
    contentType: 'application/reports+json',
    body,
    ...extra,
  } satisfies CspReportRequest
}

describe('CSP report receiver under a flood of reports', () => {
  it('logs at most maxLoggedReports violations of one request, then one summary line', async () => {
    const { body, count } = floodBody()
    expect(count).toBeGreaterThan(600)
    const { lines, logger } = collecting()
    const receiver = createCspReportReceiver({ logger })
    expect((await receiver.handle(post(body))).status).toBe(204)
    expect(lines.filter((l) => l.msg === 'CSP violation reported')).toHaveLength(10)
    expect(lines).toHaveLength(11)
    expect(lines[10]).toEqual({
      level: 'warn',
      obj: { code: 'PALISADE_HTTP_REPORTS_NOT_LOGGED', reports: count, notLogged: count - 10 },
      msg: `${count - 10} more log lines for the CSP reports of this request were left out ("maxLoggedReports" is 10)`,
    })
  })

  it('caps callback failures the same way, and still delivers every report', async () => {
    const { body, count } = floodBody()
    const { lines, logger } = collecting()
    let delivered = 0
    const receiver = createCspReportReceiver({
      logger,
      maxLoggedReports: 3,
      onReport: () => {
        delivered++
        throw new Error('sink down')
      },
    })
    expect((await receiver.handle(post(body))).status).toBe(204)
    expect(delivered).toBe(count)
    expect(lines.map((l) => l.level)).toEqual(['error', 'error', 'error', 'warn'])
  })

  it('counts every report but only under known directive names or "other"', async () => {
    const { body, count } = floodBody()
    const receiver = createCspReportReceiver()
    await receiver.handle(post(body))
    await receiver.handle(post(REPORT_URI, { contentType: 'application/csp-report' }))
    const reports = recorded.filter((r) => r.name === 'palisade.http.csp.reports')
    expect(reports).toHaveLength(count + 1)
    const directives = new Set(reports.map((r) => r.attributes?.['palisade.csp.directive']))
    expect([...directives]).toEqual(['other', 'script-src-elem'])
    const sets = new Set(reports.map((r) => JSON.stringify(r.attributes)))
    expect(sets.size).toBe(2)
  })

  it('validates "maxLoggedReports"', () => {
    expect(() => createCspReportReceiver({ maxLoggedReports: -1 })).toThrow(
      new TypeError('"maxLoggedReports" option must be a non-negative integer'),
    )
    expect(() => createCspReportReceiver({ maxLoggedReports: 0 })).not.toThrow()
  })
})

describe('CSP report receiver rate limit', () => {
  const uri = (ip: string | undefined, body: CspReportRequest['body'] = REPORT_URI) =>
    post(body, { contentType: 'application/csp-report', ip })

  it('limits each client by default and answers 429 without reading the body', async () => {
    const receiver = createCspReportReceiver({ onReport: () => undefined })
    for (let i = 0; i < 100; i++) expect((await receiver.handle(uri('192.0.2.1'))).status).toBe(204)
    let pulled = false
    const body = Readable.from(
      (function* () {
        pulled = true
        yield Buffer.from(REPORT_URI)
      })(),
    )
    const limited = await receiver.handle(uri('192.0.2.1', body))
    expect(limited).toEqual({
      status: 429,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '60' },
      body: '{"error":"too many reports"}',
    })
    expect(pulled).toBe(false)
    expect((await receiver.handle(uri('192.0.2.2'))).status).toBe(204)
  })

  it('takes its own limit and window, and counts again once the window has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const receiver = createCspReportReceiver({ rateLimit: { limit: 2, windowMs: 10_000 } })
    const statuses = async (ip: string, n: number) => {
      const result: number[] = []
      for (let i = 0; i < n; i++) result.push((await receiver.handle(uri(ip))).status)
      return result
    }
    expect(await statuses('2001:db8::1', 3)).toEqual([204, 204, 429])
    // The same /56 counts as one client, as in the rate limiter.
    expect(await statuses('2001:db8::2', 1)).toEqual([429])
    vi.setSystemTime(Date.now() + 10_000)
    expect(await statuses('2001:db8::1', 3)).toEqual([204, 204, 429])
  })

  it('keys by the connection the body came from when no ip is given', async () => {
    const receiver = createCspReportReceiver({ rateLimit: { limit: 1 } })
    const from = (remoteAddress: string) =>
      Object.assign(Readable.from([Buffer.from(REPORT_URI)]), { socket: { remoteAddress } })
    expect((await receiver.handle(uri(undefined, from('192.0.2.7')))).status).toBe(204)
    expect((await receiver.handle(uri(undefined, from('192.0.2.7')))).status).toBe(429)
    expect((await receiver.handle(uri(undefined, from('192.0.2.8')))).status).toBe(204)
  })

  it('can be switched off', async () => {
    const receiver = createCspReportReceiver({ rateLimit: false })
    for (let i = 0; i < 300; i++) expect((await receiver.handle(uri('192.0.2.1'))).status).toBe(204)
  })

  it.each<[unknown, string]>([
    [true, '"rateLimit" option must be false or an object'],
    [{ limit: 0 }, '"rateLimit.limit" option must be a positive integer'],
    [{ windowMs: 1.5 }, '"rateLimit.windowMs" option must be a positive integer'],
    [
      { max: 5 },
      `unknown option "rateLimit.max" in createCspReportReceiver(): did you mean "rateLimit.limit"? (express-rate-limit's max is Palisade's limit)`,
    ],
  ])('refuses rateLimit %j', (rateLimit, message) => {
    expect(() =>
      createCspReportReceiver({ rateLimit } as unknown as CspReportReceiverOptions),
    ).toThrow(new TypeError(message))
  })
})
