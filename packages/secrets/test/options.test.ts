import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import {
  Secret,
  awsSecretsManagerSource,
  checkSecretFilePermissions,
  createVaultClient,
  directorySource,
  envSource,
  fileSource,
  loadSecrets,
  readSecretFile,
  resolveFileVariable,
  vaultSource,
} from '../src/index.js'
import { tempDir } from './helpers.js'

const dir = tempDir('options')
const file = join(dir, 'api_key')
writeFileSync(file, 'k3y-value-Zq8vN3xR7tLw2KpY', { mode: 0o600 })
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const TOKEN = 'hvs.Zq8vN3xR7tLw2KpYtoken'
const vault = () =>
  createVaultClient({
    address: 'https://vault.example:8200',
    auth: { method: 'token', token: TOKEN },
  })
const aws = { send: () => Promise.resolve({ SecretString: 'x' }) }

// Each call passes an option name the factory does not have; the cast stands for plain
// JavaScript or an options object typed loosely, which is how such a name gets through.
const loose = (value: Record<string, unknown>): never => value as never

function messageOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as Error).message
  }
  throw new Error('expected a TypeError naming the unknown option')
}

async function rejectionOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as Error).message
  }
  throw new Error('expected a TypeError naming the unknown option')
}

describe('option names of @palisade/secrets', () => {
  it('loadSecrets() refuses an unknown option, suggesting the known one', async () => {
    expect(
      await rejectionOf(() =>
        loadSecrets({ API_KEY: fileSource(file) }, loose({ debounce: 10, watch: false })),
      ),
    ).toBe('unknown option "debounce" in loadSecrets(): did you mean "debounceMs"?')
  })

  it('loadSecrets() refuses an unknown field of a { from, validate } definition by its path', async () => {
    expect(
      await rejectionOf(() =>
        loadSecrets(
          { API_KEY: loose({ from: fileSource(file), validator: () => true }) },
          { watch: false },
        ),
      ),
    ).toBe('unknown option "API_KEY.validator" in loadSecrets(): did you mean "API_KEY.validate"?')
  })

  it('the sources refuse unknown options', () => {
    expect(messageOf(() => envSource('API_KEY', loose({ file: false })))).toBe(
      'unknown option "file" in envSource(): did you mean "files"?',
    )
    expect(messageOf(() => fileSource(file, loose({ maxSize: 10 })))).toMatch(
      /^unknown option "maxSize" in fileSource\(\)/,
    )
    expect(messageOf(() => directorySource(dir, 'api_key', loose({ maxbytes: 10 })))).toBe(
      'unknown option "maxbytes" in directorySource(): did you mean "maxBytes"?',
    )
    expect(
      messageOf(() =>
        vaultSource(vault(), loose({ path: 'orders/db', key: 'password', pollInterval: 1000 })),
      ),
    ).toBe('unknown option "pollInterval" in vaultSource(): did you mean "pollIntervalMs"?')
    expect(
      messageOf(() =>
        awsSecretsManagerSource(aws, loose({ secretId: 'prod/db', versionStag: 'x' })),
      ),
    ).toBe(
      'unknown option "versionStag" in awsSecretsManagerSource(): did you mean "versionStage"?',
    )
  })

  it('createVaultClient() refuses unknown options, nested auth options by their path, never echoing a value', () => {
    expect(
      messageOf(() =>
        createVaultClient(
          loose({
            address: 'https://vault.example:8200',
            auth: { method: 'token', token: TOKEN },
            timeout: 1000,
          }),
        ),
      ),
    ).toBe('unknown option "timeout" in createVaultClient(): did you mean "timeoutMs"?')
    const message = messageOf(() =>
      createVaultClient({
        address: 'https://vault.example:8200',
        auth: loose({ method: 'approle', roleId: 'orders', secretID: TOKEN }),
      }),
    )
    expect(message).toBe(
      'unknown option "auth.secretID" in createVaultClient(): did you mean "auth.secretId"?',
    )
    expect(message).not.toContain(TOKEN)
    expect(
      messageOf(() =>
        createVaultClient({
          address: 'https://vault.example:8200',
          auth: loose({ method: 'kubernetes', role: 'orders', tokenPath: '/t' }),
        }),
      ),
    ).toMatch(/^unknown option "auth\.tokenPath" in createVaultClient\(\)/)
    expect(
      messageOf(() =>
        createVaultClient({
          address: 'https://vault.example:8200',
          auth: loose({ method: 'token', token: TOKEN, mount: 'token' }),
        }),
      ),
    ).toMatch(/^unknown option "auth\.mount" in createVaultClient\(\)/)
  })

  it('the file helpers, the permission check, Secret and healthCheck() refuse unknown options', async () => {
    expect(messageOf(() => readSecretFile(file, loose({ name: 'API_KEY' })))).toMatch(
      /^unknown option "name" in readSecretFile\(\)/,
    )
    expect(
      messageOf(() =>
        resolveFileVariable({ API_KEY: 'x' }, 'API_KEY', loose({ maxBytes: 10, variable: 'X' })),
      ),
    ).toMatch(/^unknown option "variable" in resolveFileVariable\(\)/)
    expect(
      messageOf(() => checkSecretFilePermissions(file, loose({ allowGroupReads: true }))),
    ).toBe(
      'unknown option "allowGroupReads" in checkSecretFilePermissions(): did you mean "allowGroupRead"?',
    )
    expect(messageOf(() => new Secret('value', loose({ label: 'API_KEY' })))).toMatch(
      /^unknown option "label" in new Secret\(\)/,
    )
    const secrets = await loadSecrets({ API_KEY: fileSource(file) }, { watch: false })
    expect(messageOf(() => secrets.healthCheck(loose({ critcal: true })))).toBe(
      'unknown option "critcal" in healthCheck(): did you mean "critical"?',
    )
    await secrets.close()
  })

  it('still accepts every known option, undefined meaning the default', async () => {
    expect(() => envSource('API_KEY', { env: {}, files: true, maxBytes: undefined })).not.toThrow()
    expect(readSecretFile(file, { variable: 'API_KEY', maxBytes: 1024 })).toBe(
      'k3y-value-Zq8vN3xR7tLw2KpY',
    )
    expect(() =>
      vaultSource(vault(), {
        mount: 'secret',
        path: 'orders/db',
        key: 'password',
        version: undefined,
        pollIntervalMs: 1000,
        jitter: 0,
      }),
    ).not.toThrow()
    const secrets = await loadSecrets(
      { API_KEY: { from: fileSource(file), validate: () => true } },
      {
        watch: false,
        debounceMs: 0,
        permissions: 'warn',
        allowGroupRead: false,
        env: {},
        logger: undefined,
      },
    )
    expect(secrets.get('API_KEY').reveal()).toBe('k3y-value-Zq8vN3xR7tLw2KpY')
    await secrets.close()
  })
})
