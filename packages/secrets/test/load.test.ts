import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest'
import {
  SecretsError,
  SecretsLoadError,
  checkSecretFilePermissions,
  directorySource,
  envSource,
  fileSource,
  loadSecrets,
} from '../src/index.js'
import type { SecretSource, Secrets, Secret } from '../src/index.js'
import { captureLogger, kubeletWrite, loadError, tempDir } from './helpers.js'

const root = tempDir('load')
chmodSync(root, 0o700)
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})
const VALUE = 'Hn5#Qe9!Wm2$Zr7@Lx4%'

function secretFile(name: string, content: string, mode = 0o600): string {
  const path = join(root, name)
  writeFileSync(path, content)
  chmodSync(path, mode)
  return path
}

describe('loadSecrets', () => {
  it('takes the first source with a value, in precedence order', async () => {
    const mounted = join(root, 'run-secrets')
    mkdirSync(mounted, { mode: 0o700 })
    writeFileSync(join(mounted, 'db_password'), `${VALUE}\n`, { mode: 0o400 })
    const sources = [envSource('DB_PASSWORD', { env: {} }), directorySource(mounted, 'db_password')]
    const fromDirectory = await loadSecrets({ DB_PASSWORD: sources }, { watch: false })
    expect(fromDirectory.get('DB_PASSWORD').reveal()).toBe(VALUE)
    expect(fromDirectory.sourceOf('DB_PASSWORD')).toBe(`directory ${mounted} (key db_password)`)

    const fromEnv = await loadSecrets(
      {
        DB_PASSWORD: [
          envSource('DB_PASSWORD', { env: { DB_PASSWORD: 'from-the-environment' } }),
          directorySource(mounted, 'db_password'),
        ],
      },
      { watch: false },
    )
    expect(fromEnv.get('DB_PASSWORD').reveal()).toBe('from-the-environment')
    expect(fromEnv.sourceOf('DB_PASSWORD')).toBe('env DB_PASSWORD or DB_PASSWORD_FILE')
    expect(fromEnv.names).toEqual(['DB_PASSWORD'])
    expectTypeOf(fromEnv).toEqualTypeOf<Secrets<'DB_PASSWORD'>>()
    expectTypeOf(fromEnv.get('DB_PASSWORD')).toEqualTypeOf<Secret>()
    // @ts-expect-error only loaded names
    expect(() => fromEnv.get('OTHER')).toThrow('"OTHER" is not a loaded secret')
    await fromEnv.close()
    await fromDirectory.close()
  })

  it('reads VAR_FILE through the implementation @palisade/config uses', async () => {
    const path = secretFile('api_key', `${VALUE}\n`)
    const secrets = await loadSecrets(
      { API_KEY: envSource('API_KEY', { env: { API_KEY_FILE: path } }) },
      { watch: false },
    )
    expect(secrets.get('API_KEY').reveal()).toBe(VALUE)
    const both = await loadError(
      loadSecrets({ API_KEY: envSource('API_KEY', { env: { API_KEY: 'x', API_KEY_FILE: path } }) }),
    )
    expect(both.problems[0]).toMatchObject({ secret: 'API_KEY', code: 'PALISADE_SECRET_CONFLICT' })
    // files: false ignores API_KEY_FILE altogether
    const direct = await loadError(
      loadSecrets({ API_KEY: envSource('API_KEY', { env: { API_KEY_FILE: path }, files: false }) }),
    )
    expect(direct.problems[0]).toMatchObject({
      code: 'PALISADE_SECRET_MISSING',
      source: 'env API_KEY',
    })
  })

  it('fails fast with one report naming every missing or unreadable secret and its source, never a value', async () => {
    const empty = secretFile('empty', '\n')
    const short = secretFile('short', VALUE)
    const leaky: SecretSource = {
      kind: 'custom',
      location: 'custom broker',
      read: () => {
        throw new Error(`broker said: ${VALUE}`)
      },
    }
    let closed = 0
    const closing: SecretSource = {
      kind: 'custom',
      location: 'closing source',
      read: () => 'fine-value-but-others-fail',
      close: () => {
        closed++
      },
    }
    const failing: SecretSource = {
      kind: 'custom',
      location: 'init-failing source',
      init: () => {
        throw new SecretsError('PALISADE_SECRET_VAULT_SEALED', 'Vault at http://vault is sealed')
      },
      read: () => 'never',
    }
    const error = await loadError(
      loadSecrets({
        MISSING: [envSource('MISSING', { env: {} }), fileSource(join(root, 'nope'))],
        EMPTY: fileSource(empty),
        EMPTY_ENV: envSource('EMPTY_ENV', { env: { EMPTY_ENV: '  ' } }),
        NOT_A_FILE: envSource('NOT_A_FILE', { env: { NOT_A_FILE_FILE: root } }),
        REFUSED: { from: fileSource(short), validate: (v) => v.length >= 64 },
        LEAKY: leaky,
        SEALED: failing,
        FINE: closing,
      }),
    )
    expect(error.code).toBe('PALISADE_SECRET_LOAD_FAILED')
    expect(error.problems.map((p) => [p.secret, p.code])).toEqual([
      ['MISSING', 'PALISADE_SECRET_MISSING'],
      ['EMPTY', 'PALISADE_SECRET_EMPTY'],
      ['EMPTY_ENV', 'PALISADE_SECRET_EMPTY'],
      ['NOT_A_FILE', 'PALISADE_SECRET_FILE_IS_DIRECTORY'],
      ['REFUSED', 'PALISADE_SECRET_INVALID'],
      ['LEAKY', 'PALISADE_SECRET_SOURCE_FAILED'],
      ['SEALED', 'PALISADE_SECRET_VAULT_SEALED'],
    ])
    expect(error.message).toMatch(/^7 secrets could not be loaded:\n {2}- MISSING: /)
    expect(error.message).toContain(`env MISSING or MISSING_FILE; file ${join(root, 'nope')}`)
    expect(error.message).toContain(empty)
    expect(error.message).toContain(root)
    expect(error.message).toContain(`file ${short}`)
    expect(error.message).toContain('custom broker')
    expect(error.problems.find((p) => p.secret === 'NOT_A_FILE')?.source).toBe(
      'env NOT_A_FILE or NOT_A_FILE_FILE',
    )
    for (const text of [error.message, JSON.stringify(error), JSON.stringify(error.problems)]) {
      expect(text).not.toContain(VALUE)
      expect(text).not.toContain('fine-value-but-others-fail')
    }
    expect(closed).toBe(1)
  })

  it('does not need a later source that failed to start when an earlier one has the value', async () => {
    const down: SecretSource = {
      kind: 'custom',
      location: 'unreachable store',
      init: () => {
        throw new SecretsError(
          'PALISADE_SECRET_VAULT_UNREACHABLE',
          'Vault at http://vault is unreachable',
        )
      },
      read: () => 'never-read',
    }
    const secrets = await loadSecrets(
      { KEY: [envSource('KEY', { env: { KEY: VALUE } }), down] },
      { watch: false },
    )
    expect(secrets.get('KEY').reveal()).toBe(VALUE)
    const error = await loadError(loadSecrets({ KEY: [envSource('KEY', { env: {} }), down] }))
    expect(error.problems).toEqual([
      {
        secret: 'KEY',
        source: 'unreachable store',
        code: 'PALISADE_SECRET_VAULT_UNREACHABLE',
        message: 'Vault at http://vault is unreachable',
      },
    ])
  })

  it('refuses secret files readable by others in production, and warns elsewhere', async () => {
    const volume = join(root, 'kube-default-mode')
    kubeletWrite(volume, { token: VALUE }, 0o644)
    const spec = { TOKEN: directorySource(volume, 'token') }
    const production = await loadError(loadSecrets(spec, { env: { NODE_ENV: 'production' } }))
    expect(production.problems).toEqual([
      {
        secret: 'TOKEN',
        source: `directory ${volume} (key token)`,
        code: 'PALISADE_SECRET_FILE_PERMISSIONS',
        message: `${join(volume, 'token')} is group-readable, readable by others (mode 644); make it 0400 or 0600`,
      },
    ])
    // An unset environment is production-like; APP_ENV wins over NODE_ENV.
    await expect(loadSecrets(spec, { env: {} })).rejects.toThrow('PALISADE_SECRET_FILE_PERMISSIONS')
    await expect(
      loadSecrets(spec, { env: { NODE_ENV: 'development', APP_ENV: 'staging' } }),
    ).rejects.toThrow('mode 644')

    const { logger, lines } = captureLogger()
    const relaxed = await loadSecrets(spec, {
      env: { NODE_ENV: 'production', APP_ENV: 'Local' },
      logger,
      watch: false,
    })
    expect(relaxed.get('TOKEN').reveal()).toBe(VALUE)
    expect(lines).toContainEqual({
      level: 'warn',
      object: {
        code: 'PALISADE_SECRET_FILE_PERMISSIONS',
        secret: 'TOKEN',
        path: join(volume, 'token'),
      },
      message: `${join(volume, 'token')} is group-readable, readable by others (mode 644); make it 0400 or 0600`,
    })
    await loadSecrets(spec, { env: { NODE_ENV: 'production' }, permissions: 'warn', watch: false })
    await loadSecrets(spec, { env: { NODE_ENV: 'production' }, permissions: 'off', watch: false })
    await expect(
      loadSecrets(spec, { env: { NODE_ENV: 'test' }, permissions: 'error' }),
    ).rejects.toThrow(SecretsLoadError)
    // What Kubernetes mounts when the pod sets fsGroup: 0440 whatever defaultMode says.
    kubeletWrite(volume, { token: VALUE }, 0o440)
    await expect(loadSecrets(spec, { env: {} })).rejects.toThrow('is group-readable (mode 440)')
    const withFsGroup = await loadSecrets(spec, { env: {}, allowGroupRead: true, watch: false })
    expect(withFsGroup.get('TOKEN').reveal()).toBe(VALUE)
    await expect(loadSecrets(spec, { allowGroupRead: 'yes' as never })).rejects.toThrow(
      '"allowGroupRead" option must be a boolean',
    )
  })

  it('reports a world-writable directory without the sticky bit', () => {
    const open = join(root, 'open')
    mkdirSync(open)
    chmodSync(open, 0o777)
    const path = join(open, 'key')
    writeFileSync(path, VALUE, { mode: 0o600 })
    chmodSync(path, 0o600)
    expect(checkSecretFilePermissions(path)).toEqual([
      {
        path: open,
        problem:
          'is a world-writable directory without the sticky bit; anyone can replace the secret in it',
      },
    ])
    chmodSync(open, 0o1777)
    expect(checkSecretFilePermissions(path)).toEqual([])
    // Through a symlink, the real location is checked too.
    chmodSync(open, 0o777)
    const safe = join(root, 'safe')
    mkdirSync(safe, { mode: 0o700 })
    symlinkSync(path, join(safe, 'key'))
    expect(checkSecretFilePermissions(join(safe, 'key')).map((p) => p.path)).toEqual([open])
    chmodSync(path, 0o666)
    expect(checkSecretFilePermissions(path)[0]?.problem).toBe(
      'is group-readable, readable by others, writable by group or others (mode 666); make it 0400 or 0600',
    )
    expect(checkSecretFilePermissions(join(root, 'does-not-exist'))).toEqual([])
    chmodSync(path, 0o440)
    chmodSync(open, 0o1777)
    expect(checkSecretFilePermissions(path)).toHaveLength(1)
    expect(checkSecretFilePermissions(path, { allowGroupRead: true })).toEqual([])
    chmodSync(path, 0o460)
    expect(checkSecretFilePermissions(path, { allowGroupRead: true })[0]?.problem).toBe(
      'is writable by group or others (mode 460); make it 0440 or 0400',
    )
  })

  it('offers a health check with the shape @palisade/health runs', async () => {
    const secrets = await loadSecrets(
      { KEY: envSource('KEY', { env: { KEY: VALUE } }) },
      { watch: false },
    )
    const check = secrets.healthCheck()
    // { name, critical, run(signal) } as @palisade/health's HealthCheck declares it
    expect(check).toMatchObject({ name: 'secrets', critical: false, componentType: 'component' })
    expect(typeof check.run).toBe('function')
    expect(check.run.length).toBe(1)
    expect(() => {
      check.run(new AbortController().signal)
    }).not.toThrow()
    expect(secrets.healthCheck({ name: 'vault-secrets', critical: true })).toMatchObject({
      name: 'vault-secrets',
      critical: true,
    })
    expect(() => secrets.healthCheck({ critical: 'yes' as unknown as boolean })).toThrow(
      '"critical" option must be a boolean',
    )
    await secrets.close()
  })

  it('validates its options when called', async () => {
    const env = envSource('KEY', { env: { KEY: VALUE } })
    await expect(loadSecrets({ KEY: env }, { debounceMs: -1 })).rejects.toThrow(
      '"debounceMs" option must be a non-negative integer',
    )
    await expect(loadSecrets({ KEY: env }, { permissions: 'loud' as 'warn' })).rejects.toThrow(
      '"permissions" option must be one of auto, error, warn, off',
    )
    await expect(loadSecrets({ KEY: env }, { logger: {} as never })).rejects.toThrow(
      '"logger" option must be a pino-compatible logger',
    )
    await expect(loadSecrets({ KEY: [] })).rejects.toThrow('"KEY" must be a secret source')
    await expect(loadSecrets({ KEY: { read: 1 } as never })).rejects.toThrow(TypeError)
    await expect(loadSecrets({})).rejects.toThrow('needs at least one secret')
    await expect(loadSecrets({ KEY: { from: env, validate: 'x' as never } })).rejects.toThrow(
      '"KEY.validate" option must be a function',
    )
    expect(() => envSource('')).toThrow('"name" option must be a non-empty string')
    expect(() => fileSource('/x', { maxBytes: 0 })).toThrow(
      '"maxBytes" option must be a positive integer',
    )
    expect(() => directorySource('/run/secrets', '../etc/passwd')).toThrow(
      '"key" option must be a file name inside the directory',
    )
    expect(() => envSource('KEY', { files: 'no' as never })).toThrow(
      '"files" option must be a boolean',
    )
  })
})
