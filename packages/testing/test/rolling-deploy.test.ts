import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { rollingDeploy, runRollingDeploy } from '../src/index.js'
import type { RollingDeployTarget } from '../src/index.js'

// Reference services with a hand-written shutdown, each right or wrong in one way, to show what
// the case accepts and what it catches. @palisade/health's own shutdown is run through the case
// by the repository's test/rolling-deploy.test.ts.
interface Reference {
  /** Every response of the drain carries `Connection: close`. */
  closeAfterEachResponse: boolean
  /** Readiness fails once the signal was taken. */
  readinessFails: boolean
  /** The route answers 503 once the signal was taken. */
  refusesWhileDraining: boolean
}

const DRAIN_MS = 600

async function reference(behaviour: Reference): Promise<RollingDeployTarget> {
  let draining = false
  const server = createServer((request, response) => {
    if (draining && behaviour.closeAfterEachResponse) response.setHeader('Connection', 'close')
    if (request.url === '/readyz') {
      response.statusCode = draining && behaviour.readinessFails ? 503 : 200
    } else if (request.url !== '/healthz' && draining && behaviour.refusesWhileDraining) {
      response.statusCode = 503
    }
    response.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  let exit: (code: number) => void = () => undefined
  const exited = new Promise<number>((resolve) => (exit = resolve))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    shutdown: () => {
      draining = true
      setTimeout(() => {
        // Node's close() also closes the connections that are idle at this moment.
        server.close(() => {
          exit(0)
        })
      }, DRAIN_MS)
    },
    exited,
  }
}

const RIGHT: Reference = {
  closeAfterEachResponse: true,
  readinessFails: true,
  refusesWhileDraining: false,
}
const OPTIONS = { clients: 8, cutoverMs: 300 }

describe('rollingDeploy', () => {
  it('passes a service that closes each keep-alive connection after a response of the drain', async () => {
    const report = await rollingDeploy(await reference(RIGHT), OPTIONS)
    expect(report.failures).toEqual([])
    expect(report.servedOnKeptConnections).toBeGreaterThan(0)
    expect(report.servedByStandby).toBeGreaterThan(0)
    expect(report.connections.standby).toBeGreaterThan(0)
    expect(report.readinessAfterSignal.length).toBeGreaterThan(0)
  })

  it('catches a service that closes idle keep-alive connections under its clients', async () => {
    const target = await reference({ ...RIGHT, closeAfterEachResponse: false })
    const report = await runRollingDeploy(target, OPTIONS)
    expect(report.failures.length).toBeGreaterThan(0)
    expect(report.failures.every((failure) => failure.startsWith('after the signal'))).toBe(true)
    await expect(
      rollingDeploy(await reference({ ...RIGHT, closeAfterEachResponse: false }), OPTIONS),
    ).rejects.toThrow('requests failed during the rolling deploy')
  })

  it('catches a service that refuses requests while it drains', async () => {
    await expect(
      rollingDeploy(await reference({ ...RIGHT, refusesWhileDraining: true }), OPTIONS),
    ).rejects.toThrow('status 503 from the instance')
  })

  it('catches a service whose readiness keeps passing', async () => {
    await expect(
      rollingDeploy(await reference({ ...RIGHT, readinessFails: false }), OPTIONS),
    ).rejects.toThrow('readiness did not fail on every probe')
  })

  it('catches a service that stops listening before the router has moved', async () => {
    await expect(
      rollingDeploy(await reference(RIGHT), { clients: 8, cutoverMs: 5000 }),
    ).rejects.toThrow(/requests failed|never moved/)
  })

  it('refuses a target or options it cannot run, naming the field', async () => {
    const target = await reference(RIGHT)
    const cases: [unknown, unknown, string][] = [
      [
        { ...target, baseUrl: 'https://example.com:443' },
        {},
        '"baseUrl" of the rolling-deploy target',
      ],
      [{ ...target, baseUrl: 'not a url' }, {}, '"baseUrl" of the rolling-deploy target'],
      [{ ...target, shutdown: 'SIGTERM' }, {}, '"shutdown" of the rolling-deploy target'],
      [{ ...target, exited: 0 }, {}, '"exited" of the rolling-deploy target'],
      [{ ...target, url: target.baseUrl }, {}, 'unknown option "url" in the rolling-deploy target'],
      [target, { clients: 0 }, '"clients" option must be a positive integer'],
      [target, { cutover: 1000 }, 'unknown option "cutover" in the rolling-deploy options'],
    ]
    for (const [badTarget, options, message] of cases) {
      await expect(
        runRollingDeploy(badTarget as RollingDeployTarget, options as never),
      ).rejects.toThrow(message)
    }
  })
})
