import {
  chmodSync,
  closeSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { metrics } from '@opentelemetry/api'
import type { Attributes, Meter, MeterProvider } from '@opentelemetry/api'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { directorySource, envSource, fileSource, loadSecrets } from '../src/index.js'
import type { SecretChange, Secrets, SecretsError } from '../src/index.js'
import { captureLogger, kubeletWrite, tempDir } from './helpers.js'

// A meter provider that records counter increments, registered before any Secrets is created:
// the package only talks to @opentelemetry/api, so this is what an SDK would receive.
const recorded: { name: string; value: number; attributes: Attributes | undefined }[] = []
const provider: MeterProvider = {
  getMeter: () =>
    new Proxy({} as Meter, {
      get: (_target, method) =>
        method === 'createCounter'
          ? (name: string) => ({
              add: (value: number, attributes?: Attributes) => {
                recorded.push({ name, value, attributes })
              },
            })
          : () => undefined,
    }),
}
beforeAll(() => {
  metrics.setGlobalMeterProvider(provider)
})

const root = tempDir('rotation')
const open: Secrets[] = []
afterAll(() => {
  metrics.disable()
  rmSync(root, { recursive: true, force: true })
})
afterEach(async () => {
  for (const secrets of open.splice(0)) await secrets.close()
})

const WAIT = { timeout: 15_000, interval: 25 }
const FIRST = 'first-Kq8vN3pL0wX6rT2y'
const SECOND = 'second-Bm1Jc5Fd0Gs9Hz4'

function watchEvents(secrets: Secrets): { changes: SecretChange[]; errors: SecretsError[] } {
  const changes: SecretChange[] = []
  const errors: SecretsError[] = []
  secrets.on('change', (change) => changes.push(change))
  secrets.on('error', (error) => errors.push(error))
  return { changes, errors }
}

function track<S extends Secrets>(secrets: S): S {
  open.push(secrets)
  return secrets
}

const healthy = (secrets: Secrets): boolean => {
  try {
    secrets.healthCheck().run(new AbortController().signal)
    return true
  } catch {
    return false
  }
}

describe('rotation of a Kubernetes secret volume', () => {
  it('follows the kubelet ..data symlink swap and emits change with the name only', async () => {
    const volume = join(root, 'kube')
    kubeletWrite(volume, { password: FIRST, username: 'orders' }, 0o400)
    const secrets = track(
      await loadSecrets(
        { DB_PASSWORD: directorySource(volume, 'password') },
        { debounceMs: 50, permissions: 'error' },
      ),
    )
    const { changes, errors } = watchEvents(secrets)
    expect(secrets.get('DB_PASSWORD').reveal()).toBe(FIRST)

    kubeletWrite(volume, { password: SECOND, username: 'orders' }, 0o400)
    await vi.waitFor(() => {
      expect(changes).toHaveLength(1)
    }, WAIT)
    expect(changes[0]).toEqual({
      name: 'DB_PASSWORD',
      source: `directory ${volume} (key password)`,
    })
    expect(JSON.stringify(changes)).not.toContain(SECOND)
    expect(secrets.get('DB_PASSWORD').reveal()).toBe(SECOND)
    expect(errors).toEqual([])
    expect(recorded).toContainEqual({
      name: 'palisade.secrets.reloads',
      value: 1,
      attributes: {
        'palisade.secret.name': 'DB_PASSWORD',
        'palisade.secret.source': 'directory',
        outcome: 'changed',
      },
    })

    // A swap that leaves this key unchanged reloads without a change event.
    kubeletWrite(volume, { password: SECOND, username: 'payments' }, 0o400)
    await vi.waitFor(() => {
      expect(
        recorded.filter((r) => r.attributes?.['outcome'] === 'unchanged').length,
      ).toBeGreaterThan(0)
    }, WAIT)
    expect(changes).toHaveLength(1)
  })

  it('keeps the last good value when a swap removes the key, and recovers when it returns', async () => {
    const volume = join(root, 'kube-removed')
    kubeletWrite(volume, { token: FIRST }, 0o400)
    const { logger, lines } = captureLogger()
    const secrets = track(
      await loadSecrets(
        { API_TOKEN: directorySource(volume, 'token') },
        { debounceMs: 50, logger },
      ),
    )
    const { changes, errors } = watchEvents(secrets)
    kubeletWrite(volume, { other: 'x' }, 0o400)
    await vi.waitFor(() => {
      expect(errors.length).toBeGreaterThan(0)
    }, WAIT)
    expect(errors[0]!.code).toBe('PALISADE_SECRET_RELOAD_FAILED')
    expect((errors[0]!.cause as SecretsError).code).toBe('PALISADE_SECRET_MISSING')
    expect(errors[0]!.secret).toBe('API_TOKEN')
    expect(secrets.get('API_TOKEN').reveal()).toBe(FIRST)
    expect(healthy(secrets)).toBe(false)
    expect(recorded).toContainEqual(
      expect.objectContaining({
        attributes: expect.objectContaining({
          'palisade.secret.name': 'API_TOKEN',
          outcome: 'failed',
        }),
      }),
    )

    kubeletWrite(volume, { token: SECOND }, 0o400)
    await vi.waitFor(() => {
      expect(changes.map((c) => c.name)).toEqual(['API_TOKEN'])
    }, WAIT)
    expect(secrets.get('API_TOKEN').reveal()).toBe(SECOND)
    expect(healthy(secrets)).toBe(true)
    expect(
      lines.some((l) => l.message === 'secret rotated' && l.object['secret'] === 'API_TOKEN'),
    ).toBe(true)
    expect(JSON.stringify(lines)).not.toContain(SECOND)
  })
})

describe('rotation of plain files', () => {
  it("follows an editor's rename-over write", async () => {
    const dir = tempDir('editor')
    const path = join(dir, 'session.key')
    writeFileSync(path, `${FIRST}\n`, { mode: 0o600 })
    const secrets = track(await loadSecrets({ SESSION_KEY: fileSource(path) }, { debounceMs: 50 }))
    const { changes } = watchEvents(secrets)
    writeFileSync(`${path}.swp`, `${SECOND}\n`, { mode: 0o600 })
    renameSync(`${path}.swp`, path)
    await vi.waitFor(() => {
      expect(changes).toHaveLength(1)
    }, WAIT)
    expect(secrets.get('SESSION_KEY').reveal()).toBe(SECOND)
    rmSync(dir, { recursive: true, force: true })
  })

  it('keeps the last good value through a partial write and takes the complete one', async () => {
    const dir = tempDir('partial')
    const path = join(dir, 'api.key')
    writeFileSync(path, FIRST, { mode: 0o600 })
    const secrets = track(
      await loadSecrets(
        { API_KEY: { from: fileSource(path), validate: (v) => v.length === FIRST.length } },
        { debounceMs: 50 },
      ),
    )
    const { changes, errors } = watchEvents(secrets)
    // A writer that truncates, then writes in two steps, then finishes later.
    const fd = openSync(path, 'w')
    await vi.waitFor(() => {
      expect(errors.map((e) => (e.cause as SecretsError).code)).toContain('PALISADE_SECRET_EMPTY')
    }, WAIT)
    writeSync(fd, SECOND.slice(0, 8))
    await vi.waitFor(() => {
      expect(errors.map((e) => (e.cause as SecretsError).code)).toContain('PALISADE_SECRET_INVALID')
    }, WAIT)
    expect(secrets.get('API_KEY').reveal()).toBe(FIRST)
    expect(changes).toEqual([])
    expect(errors.map((e) => e.message).join('\n')).not.toContain(SECOND.slice(0, 8))
    writeSync(fd, SECOND.slice(8))
    closeSync(fd)
    await vi.waitFor(() => {
      expect(changes).toHaveLength(1)
    }, WAIT)
    expect(secrets.get('API_KEY').reveal()).toBe(SECOND)
    expect(healthy(secrets)).toBe(true)
    rmSync(dir, { recursive: true, force: true })
  })

  it('keeps the last good value when the file is deleted, and recovers when it is back', async () => {
    const dir = tempDir('deleted')
    const path = join(dir, 'token')
    writeFileSync(path, FIRST, { mode: 0o600 })
    const secrets = track(await loadSecrets({ TOKEN: fileSource(path) }, { debounceMs: 50 }))
    const { changes, errors } = watchEvents(secrets)
    unlinkSync(path)
    await vi.waitFor(() => {
      expect(errors).toHaveLength(1)
    }, WAIT)
    expect(errors[0]!.message).toContain(`file ${path}`)
    expect(errors[0]!.message).toContain('still serving the last good value')
    expect(secrets.get('TOKEN').reveal()).toBe(FIRST)
    expect(secrets.stale().has('TOKEN')).toBe(true)
    writeFileSync(path, FIRST, { mode: 0o600 })
    await vi.waitFor(() => {
      expect(secrets.stale().size).toBe(0)
    }, WAIT)
    expect(changes).toEqual([])
    rmSync(dir, { recursive: true, force: true })
  })

  it('keeps the last good value when the file becomes unreadable', async () => {
    const dir = tempDir('perms')
    chmodSync(dir, 0o755)
    const path = join(dir, 'token')
    writeFileSync(path, FIRST, { mode: 0o644 })
    const secrets = track(
      await loadSecrets({ TOKEN: fileSource(path) }, { watch: false, permissions: 'off' }),
    )
    const { errors } = watchEvents(secrets)
    chmodSync(path, 0o000)
    // root reads any file whatever its mode, so drop to an unprivileged user for the reload
    const asRoot = process.geteuid?.() === 0
    if (asRoot) process.seteuid?.(65534)
    try {
      await secrets.reload('TOKEN')
    } finally {
      if (asRoot) process.seteuid?.(0)
    }
    expect(errors).toHaveLength(1)
    expect((errors[0]!.cause as SecretsError).code).toBe('PALISADE_SECRET_FILE_UNREADABLE')
    expect(secrets.get('TOKEN').reveal()).toBe(FIRST)
    chmodSync(path, 0o600)
    await secrets.reload()
    expect(secrets.stale().size).toBe(0)
    rmSync(dir, { recursive: true, force: true })
  })

  it('follows the file named by VAR_FILE, and logs failures when nobody listens', async () => {
    const dir = tempDir('varfile')
    const path = join(dir, 'db_password')
    writeFileSync(path, FIRST, { mode: 0o600 })
    const { logger, lines } = captureLogger()
    const secrets = track(
      await loadSecrets(
        { DB_PASSWORD: envSource('DB_PASSWORD', { env: { DB_PASSWORD_FILE: path } }) },
        { debounceMs: 50, logger },
      ),
    )
    writeFileSync(path, '')
    await vi.waitFor(() => {
      expect(
        lines.some(
          (l) => l.level === 'warn' && l.object['code'] === 'PALISADE_SECRET_RELOAD_FAILED',
        ),
      ).toBe(true)
    }, WAIT)
    writeFileSync(path, SECOND)
    await vi.waitFor(() => {
      expect(secrets.get('DB_PASSWORD').reveal()).toBe(SECOND)
    }, WAIT)
    rmSync(dir, { recursive: true, force: true })
  })

  it('stops watching when closed', async () => {
    const dir = tempDir('closed')
    const path = join(dir, 'token')
    writeFileSync(path, FIRST, { mode: 0o600 })
    const secrets = await loadSecrets({ TOKEN: fileSource(path) }, { debounceMs: 10 })
    const { changes } = watchEvents(secrets)
    await secrets.close()
    await secrets.close()
    writeFileSync(path, SECOND)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(changes).toEqual([])
    expect(secrets.get('TOKEN').reveal()).toBe(FIRST)
    rmSync(dir, { recursive: true, force: true })
  })

  it('does not watch with watch: false', async () => {
    const dir = tempDir('nowatch')
    const path = join(dir, 'token')
    writeFileSync(path, FIRST, { mode: 0o600 })
    symlinkSync(path, join(dir, 'link'))
    const secrets = track(
      await loadSecrets({ TOKEN: fileSource(join(dir, 'link')) }, { watch: false }),
    )
    writeFileSync(path, SECOND)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(secrets.get('TOKEN').reveal()).toBe(FIRST)
    await secrets.reload('TOKEN')
    expect(secrets.get('TOKEN').reveal()).toBe(SECOND)
    rmSync(dir, { recursive: true, force: true })
  })
})
