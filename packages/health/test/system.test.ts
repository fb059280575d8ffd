import { afterEach, describe, expect, it } from 'vitest'
import { createHealth, diskCheck, eventLoopDelayCheck, heapCheck } from '../src/index.js'
import type { Health, HealthCheck } from '../src/index.js'
import { sleep } from './helpers.js'

const created: Health[] = []
afterEach(() => {
  for (const health of created.splice(0)) health.close()
})

async function report(check: HealthCheck) {
  const health = createHealth({ checks: [check] })
  created.push(health)
  const response = await health.readiness({ details: true })
  const json = JSON.parse(response.body) as {
    checks: Record<string, { status: string; output?: string; componentType: string }[]>
  }
  const [key, reports] = Object.entries(json.checks)[0]!
  return { status: response.status, key, report: reports[0]!, health }
}

describe('eventLoopDelayCheck', () => {
  it('passes while the loop is free and fails after it was blocked', async () => {
    const check = eventLoopDelayCheck({ maxDelayMs: 100 })
    const { health, key, report: first } = await report(check)
    expect(key).toBe('eventloop:delay')
    expect(first).toMatchObject({ status: 'pass', componentType: 'system' })
    await sleep(30)
    const until = performance.now() + 300
    while (performance.now() < until) {
      // Block the event loop on purpose.
    }
    await sleep(30)
    const blocked = await health.readiness({ details: true })
    expect(blocked.status).toBe(503)
    expect(blocked.body).toMatch(/"output":"delay \d+ ms above 100 ms"/)
    // The window restarts after each run.
    await sleep(30)
    expect((await health.readiness()).status).toBe(200)
  })

  it('validates its options', () => {
    expect(() => eventLoopDelayCheck({ maxDelayMs: 0 })).toThrow('"maxDelayMs" option')
  })
})

describe('heapCheck', () => {
  it('passes under the limit and fails above maxBytes or maxPercent', async () => {
    const fine = await report(heapCheck())
    expect(fine.key).toBe('heap:utilization')
    expect(fine.report).toMatchObject({ status: 'pass', componentType: 'system' })

    const small = await report(heapCheck({ maxBytes: 1024, critical: false }))
    expect(small.status).toBe(200)
    expect(small.report.status).toBe('warn')
    expect(small.report.output).toMatch(/^heap \d+ bytes used, above 1024$/)

    const none = await report(heapCheck({ maxPercent: 0 }))
    expect(none.status).toBe(503)
    expect(none.report.output).toMatch(/^heap \d+% used, above 0%$/)
  })

  it('validates its options', () => {
    expect(() => heapCheck({ maxPercent: 101 })).toThrow('"maxPercent" option')
    expect(() => heapCheck({ maxBytes: 0 })).toThrow('"maxBytes" option')
  })
})

describe('diskCheck', () => {
  it('passes with space left and fails below minFreeBytes or minFreePercent, without the path', async () => {
    const fine = await report(diskCheck({ path: '/tmp', minFreeBytes: 1 }))
    expect(fine.key).toBe('disk:utilization')
    expect(fine.report).toMatchObject({ status: 'pass', componentType: 'system' })

    const full = await report(diskCheck({ path: '/tmp', minFreeBytes: Number.MAX_SAFE_INTEGER }))
    expect(full.status).toBe(503)
    expect(full.report.output).toMatch(/^\d+ bytes free$/)

    const percent = await report(diskCheck({ path: '/tmp', minFreeBytes: 0, minFreePercent: 100 }))
    expect(percent.status).toBe(503)
  })

  it('fails with "error" for a path that does not exist, naming no path', async () => {
    const missing = await report(diskCheck({ path: '/nonexistent/secret-mount' }))
    expect(missing.status).toBe(503)
    expect(missing.report.output).toBe('error')
    expect(JSON.stringify(missing.report)).not.toContain('secret-mount')
  })

  it('validates its options', () => {
    expect(() => diskCheck({ path: '' })).toThrow('"path" option')
    expect(() => diskCheck({ minFreePercent: 200 })).toThrow('"minFreePercent" option')
    expect(() => diskCheck({ minFreeBytes: -1 })).toThrow('"minFreeBytes" option')
  })
})
