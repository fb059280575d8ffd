import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { formatStartupReport } from '@palisade/errors'
import { createVaultClient, envSource, fileSource, loadSecrets, vaultSource } from '../src/index.js'
import type { VaultClient } from '../src/index.js'
import { loadError, tempDir } from './helpers.js'
import { VaultFake, silentListener } from './vault-fake.js'

// A failed loadSecrets() reads like the configuration report: each problem with its source,
// the cause in plain words and the fix, never a value; exit 69 when the secrets backend cannot
// be reached, 78 when only settings are at fault.

const VALUE = 'hQ7#vX2!mK9@pL4$'
const fake = new VaultFake()
const clients: VaultClient[] = []

beforeAll(async () => {
  await fake.start()
})
afterAll(async () => {
  await fake.stop()
})
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  fake.sealed = false
})

function vault(address: string, token: string): VaultClient {
  const created = createVaultClient({ address, auth: { method: 'token', token }, timeoutMs: 2000 })
  clients.push(created)
  return created
}

describe('the startup report of loadSecrets()', () => {
  it('names an unreachable Vault, its address and path, "connection refused" and the fix; exit 69', async () => {
    const closed = await silentListener()
    await closed.stop()
    const client = vault(closed.address, 'hvs.unused')
    const error = await loadError(
      loadSecrets({ DB_PASSWORD: vaultSource(client, { path: 'app/db', key: 'password' }) }),
    )
    const report = formatStartupReport(error)
    expect(report.exitCode).toBe(69)
    expect(report.problems).toHaveLength(1)
    const [problem] = report.problems
    expect(problem?.what).toBe('secret DB_PASSWORD')
    expect(problem?.source).toContain(closed.address)
    expect(problem?.cause).toContain('connection refused (ECONNREFUSED)')
    expect(problem?.fix).toMatch(/VAULT_ADDR/)
    expect(report.text.split('\n')[0]).toMatch(/^Startup refused: 1 secret could not be loaded/)
    expect(report.text).toContain('fix: ')
  })

  it('tells a sealed Vault to be unsealed; exit 69', async () => {
    const token = fake.token()
    fake.put('secret', 'app/db', { password: VALUE })
    fake.sealed = true
    const error = await loadError(
      loadSecrets({
        DB_PASSWORD: vaultSource(vault(fake.address, token), { path: 'app/db', key: 'password' }),
      }),
    )
    const report = formatStartupReport(error)
    expect(report.exitCode).toBe(69)
    expect(report.text).toContain(fake.address)
    expect(report.text).toContain('sealed')
    expect(report.text).toMatch(/fix: unseal Vault/)
    expect(report.text).not.toContain(VALUE)
    expect(report.text).not.toContain(token)
  })

  it('tells a denied token to get a policy or a valid token; exit 78', async () => {
    const error = await loadError(
      loadSecrets({
        DB_PASSWORD: vaultSource(vault(fake.address, 'hvs.not-a-token'), {
          path: 'app/db',
          key: 'password',
        }),
      }),
    )
    const report = formatStartupReport(error)
    expect(report.exitCode).toBe(78)
    expect(report.text).toContain(fake.address)
    expect(report.text).toMatch(/fix: .*(policy|token)/)
    expect(report.text).not.toContain('hvs.not-a-token')
  })

  it('names a missing file with its path and lists every problem; exit 78', async () => {
    const dir = tempDir('palisade-startup-report-')
    const path = join(dir, 'api_key')
    const error = await loadError(
      loadSecrets({
        API_KEY: fileSource(path),
        SESSION_KEY: envSource('SESSION_KEY', { env: {} }),
      }),
    )
    const report = formatStartupReport(error)
    expect(report.exitCode).toBe(78)
    expect(report.problems.map((p) => p.what)).toEqual(['secret API_KEY', 'secret SESSION_KEY'])
    expect(report.problems[0]?.source).toContain(path)
    expect(report.problems[0]?.fix).toMatch(/mount|write|point/)
    expect(report.problems[1]?.fix).toMatch(/SESSION_KEY/)
  })
})
