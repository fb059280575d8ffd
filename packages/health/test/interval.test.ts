import { afterEach, describe, expect, it } from 'vitest'
import { createHealth } from '../src/index.js'
import type { Health, HealthCheck } from '../src/index.js'
import { sleep } from './helpers.js'

const created: Health[] = []
function make(checks: HealthCheck[]): Health {
  const health = createHealth({ checks })
  created.push(health)
  return health
}
afterEach(() => {
  for (const health of created.splice(0)) health.close()
})

function counting(run: () => unknown, extra: Partial<HealthCheck> = {}) {
  const counter = { runs: 0 }
  const check: HealthCheck = {
    name: 'dep',
    ...extra,
    run: () => {
      counter.runs++
      return run()
    },
  }
  return { check, counter }
}

describe('intervalMs: background refresh', () => {
  it('starts the first run at creation and answers probes from the latest result', async () => {
    const { check, counter } = counting(() => sleep(20), { intervalMs: 200 })
    const health = make([check])
    expect(counter.runs).toBe(1)
    // A probe before the first result shares the first run.
    expect((await health.readiness()).status).toBe(200)
    expect(counter.runs).toBe(1)
    // Probes do not run the check: 50 of them, still one run.
    await Promise.all(Array.from({ length: 50 }, () => health.readiness()))
    expect(counter.runs).toBe(1)
    await sleep(600)
    expect(counter.runs).toBeGreaterThanOrEqual(2)
    expect(counter.runs).toBeLessThanOrEqual(4)
  })

  it('never makes a probe wait on a slow dependency once a result exists', async () => {
    let slow = false
    const { check, counter } = counting(() => (slow ? sleep(800) : undefined), {
      intervalMs: 50,
      timeoutMs: 2000,
    })
    const health = make([check])
    await health.readiness()
    slow = true
    await sleep(120) // a slow refresh is now in flight
    expect(counter.runs).toBeGreaterThanOrEqual(2)
    const started = performance.now()
    const response = await health.readiness()
    expect(response.status).toBe(200)
    // Answered from the last result, not after the 800 ms run.
    expect(performance.now() - started).toBeLessThan(400)
  })

  it('refreshes failures too, and picks up recovery', async () => {
    let fail = true
    const { check, counter } = counting(
      () => {
        if (fail) throw new Error('down')
      },
      { intervalMs: 100 },
    )
    const health = make([check])
    expect((await health.readiness()).status).toBe(503)
    await sleep(250)
    const runs = counter.runs
    expect(runs).toBeGreaterThanOrEqual(2)
    expect((await health.readiness()).status).toBe(503)
    expect(counter.runs).toBe(runs)
    fail = false
    await sleep(300)
    expect((await health.readiness()).status).toBe(200)
  })

  it('stops at close() and at beginShutdown()', async () => {
    const a = counting(() => undefined, { intervalMs: 50 })
    const b = counting(() => undefined, { intervalMs: 50, name: 'other' })
    const closed = make([a.check])
    const shutting = make([b.check])
    await sleep(20)
    closed.close()
    shutting.beginShutdown()
    const [runsA, runsB] = [a.counter.runs, b.counter.runs]
    await sleep(250)
    expect(a.counter.runs).toBe(runsA)
    expect(b.counter.runs).toBe(runsB)
  })

  it('does not keep the process alive (unref timers)', async () => {
    const { spawn } = await import('node:child_process')
    const { fileURLToPath } = await import('node:url')
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))
    const script = `import { createHealth } from ${JSON.stringify(dist)}
      createHealth({ checks: [{ name: 'x', intervalMs: 100, run: () => undefined }] })
      setTimeout(() => process.stdout.write('done'), 300)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    // A referenced timer would keep the child alive: it is killed (code null) after 8 s.
    const kill = setTimeout(() => child.kill('SIGKILL'), 8000)
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    clearTimeout(kill)
    expect(code).toBe(0)
    expect(out).toBe('done')
  }, 20_000)

  it('refuses intervalMs with cacheMs, and negative values', () => {
    const run = () => undefined
    expect(() =>
      createHealth({ checks: [{ name: 'a', run, intervalMs: 10, cacheMs: 10 }] }),
    ).toThrow('"checks[0].intervalMs" option cannot be combined with "checks[0].cacheMs"')
    expect(() => createHealth({ checks: [{ name: 'a', run, intervalMs: -5 }] })).toThrow(
      '"checks[0].intervalMs" option must be a non-negative integer',
    )
  })
})
