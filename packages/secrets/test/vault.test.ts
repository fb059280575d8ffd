import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  Secret,
  SecretsError,
  SecretsLoadError,
  createVaultClient,
  loadSecrets,
  vaultSource,
} from '../src/index.js'
import type { SecretsError as SecretsErrorType, VaultClient } from '../src/index.js'
import { VaultFake, silentListener } from './vault-fake.js'

const PASSWORD = 'vN4!qR8#tY2@pL6$wK0%'
const fake = new VaultFake()
// A second server on another loopback port: another origin, which must never see a credential.
const elsewhere = new VaultFake()
const clients: VaultClient[] = []
const dir = mkdtempSync(join(tmpdir(), 'palisade-vault-'))

beforeAll(async () => {
  await fake.start()
  await elsewhere.start()
})
afterAll(async () => {
  await fake.stop()
  await elsewhere.stop()
  rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  fake.sealed = false
  fake.redirectTo = undefined
})

function client(
  options: Omit<Parameters<typeof createVaultClient>[0], 'address'> & { address?: string },
): VaultClient {
  const created = createVaultClient({ address: fake.address, ...options })
  clients.push(created)
  return created
}

async function rejection(promise: Promise<unknown>): Promise<SecretsErrorType> {
  try {
    await promise
  } catch (error) {
    if (error instanceof SecretsError) return error
    throw error
  }
  throw new Error('expected a SecretsError')
}

describe('Vault KV v2 against a Vault protocol fake', () => {
  it('reads a key with a token, sending X-Vault-Token and X-Vault-Namespace', async () => {
    const token = fake.token({ namespace: 'team-a' })
    fake.put('secret', 'orders/db', { password: PASSWORD, user: 'orders' })
    const vault = client({
      auth: { method: 'token', token: new Secret(token) },
      namespace: 'team-a',
    })
    const secrets = await loadSecrets({
      DB_PASSWORD: vaultSource(vault, { path: 'orders/db', key: 'password' }),
    })
    expect(secrets.get('DB_PASSWORD').reveal()).toBe(PASSWORD)
    expect(secrets.sourceOf('DB_PASSWORD')).toBe(
      `vault ${fake.address}/v1/secret/data/orders/db (key password)`,
    )
    const read = fake.requests.findLast((r) => r.path === '/v1/secret/data/orders/db')
    expect(read).toMatchObject({ method: 'GET', token, namespace: 'team-a' })
    expect(
      fake.requests.some((r) => r.path === '/v1/auth/token/lookup-self' && r.token === token),
    ).toBe(true)
    await secrets.close()
  })

  it('is refused without the namespace the token belongs to', async () => {
    const token = fake.token({ namespace: 'team-a' })
    const vault = client({ auth: { method: 'token', token } })
    const error = await rejection(vault.init())
    expect(error.code).toBe('PALISADE_SECRET_VAULT_FORBIDDEN')
    expect(error.message).not.toContain(token)
  })

  it('reads a specific version, and names a deleted one', async () => {
    const token = fake.token()
    fake.put('kv', 'app/api', { key: 'first-version-value' })
    fake.put('kv', 'app/api', { key: 'second-version-value' })
    const vault = client({ auth: { method: 'token', token } })
    const secrets = await loadSecrets({
      V1: vaultSource(vault, { mount: 'kv', path: 'app/api', key: 'key', version: 1 }),
      LATEST: vaultSource(vault, { mount: 'kv', path: '/app/api/', key: 'key' }),
    })
    expect(secrets.get('V1').reveal()).toBe('first-version-value')
    expect(secrets.get('LATEST').reveal()).toBe('second-version-value')
    expect(fake.requests.some((r) => r.path === '/v1/kv/data/app/api' && r.token === token)).toBe(
      true,
    )
    await secrets.close()
    fake.delete('kv', 'app/api', 1)
    const error = await rejection(vault.readKv('kv', 'app/api', { version: 1 }))
    expect(error.code).toBe('PALISADE_SECRET_VAULT_NOT_FOUND')
    expect(error.message).toContain('kv/data/app/api version 1 was deleted')
  })

  it('logs in with AppRole and with Kubernetes', async () => {
    fake.put('secret', 'login/test', { value: PASSWORD })
    const secretId = fake.approle('orders-role')
    const approle = client({
      auth: { method: 'approle', roleId: 'orders-role', secretId: new Secret(secretId) },
    })
    expect((await approle.readKv('secret', 'login/test')).data).toEqual({ value: PASSWORD })
    const login = fake.requests.find((r) => r.path === '/v1/auth/approle/login')
    expect(login?.body).toEqual({ role_id: 'orders-role', secret_id: secretId })

    const jwt = 'eyJhbGciOiJSUzI1NiJ9.service-account.signature'
    const jwtPath = join(dir, 'token')
    writeFileSync(jwtPath, `${jwt}\n`)
    fake.kubernetesRole('orders', jwt)
    const kubernetes = client({
      auth: { method: 'kubernetes', role: 'orders', jwtPath, mount: 'kubernetes' },
    })
    expect((await kubernetes.readKv('secret', 'login/test')).version).toBe(1)
    expect(fake.requests.find((r) => r.path === '/v1/auth/kubernetes/login')?.body).toEqual({
      role: 'orders',
      jwt,
    })
  })

  it('reads the Kubernetes service-account token as a secret file: /proc/self/environ is never posted', async () => {
    fake.kubernetesRole('environ-role', 'unused.jwt.value')
    const jwtPath = join(dir, 'environ-token')
    symlinkSync('/proc/self/environ', jwtPath)
    const vault = client({ auth: { method: 'kubernetes', role: 'environ-role', jwtPath } })
    const error = await rejection(vault.init())
    expect(
      fake.requests.filter(
        (r) =>
          r.path === '/v1/auth/kubernetes/login' &&
          (r.body as { role?: string }).role === 'environ-role',
      ),
    ).toEqual([])
    expect(error.code).toBe('PALISADE_SECRET_VAULT_AUTH_FAILED')
    expect(error.message).toBe(
      `Vault Kubernetes login at ${fake.address} cannot read the service-account token: secret file (${jwtPath}) holds more than the 0 bytes it reports, like a /proc file; point it to the file that holds the value`,
    )
  })

  it('reports a refused login without echoing the credentials', async () => {
    const approle = client({
      auth: { method: 'approle', roleId: 'orders-role', secretId: 'wrong-secret-id' },
    })
    const error = await rejection(approle.init())
    expect(error.code).toBe('PALISADE_SECRET_VAULT_AUTH_FAILED')
    expect(error.message).toContain('auth/approle/login')
    expect(error.message).not.toContain('wrong-secret-id')
  })

  it('renews its token before it expires', async () => {
    const token = fake.token({ ttl: 3, renewable: true })
    fake.put('secret', 'renew/test', { value: PASSWORD })
    const vault = client({ auth: { method: 'token', token } })
    await vault.init()
    await vi.waitFor(
      () => {
        expect(
          fake.requests.filter((r) => r.path === '/v1/auth/token/renew-self' && r.token === token)
            .length,
        ).toBeGreaterThanOrEqual(2)
      },
      { timeout: 15_000, interval: 100 },
    )
    // Three seconds have passed more than once: the token is alive only because it was renewed.
    expect((await vault.readKv('secret', 'renew/test')).data['value']).toBe(PASSWORD)
  }, 30_000)

  it('logs in again when an AppRole token reaches its max TTL', async () => {
    const secretId = fake.approle('short-role', { ttl: 3, maxTtl: 4 })
    fake.put('secret', 'relogin/test', { value: PASSWORD })
    const vault = client({ auth: { method: 'approle', roleId: 'short-role', secretId } })
    await vault.init()
    await vi.waitFor(
      () => {
        expect(
          fake.requests.filter(
            (r) =>
              r.path === '/v1/auth/approle/login' &&
              (r.body as { role_id?: string }).role_id === 'short-role',
          ).length,
        ).toBeGreaterThanOrEqual(2)
      },
      { timeout: 20_000, interval: 100 },
    )
    expect((await vault.readKv('secret', 'relogin/test')).data['value']).toBe(PASSWORD)
  }, 30_000)

  it('answers an expired token with a clear error that never shows it', async () => {
    const token = fake.token()
    fake.put('secret', 'expired/test', { value: PASSWORD })
    const vault = client({ auth: { method: 'token', token } })
    await vault.init()
    fake.expire(token)
    const error = await rejection(vault.readKv('secret', 'expired/test'))
    expect(error.code).toBe('PALISADE_SECRET_VAULT_FORBIDDEN')
    expect(error.message).toContain('secret/data/expired/test')
    expect(error.message).toContain('the token expired')
    expect(error.message).not.toContain(token)
    expect(JSON.stringify(error)).not.toContain(token)
  })

  it('logs in again after a 403 when it can, and retries the read once', async () => {
    const secretId = fake.approle('retry-role')
    fake.put('secret', 'retry/test', { value: PASSWORD })
    const vault = client({ auth: { method: 'approle', roleId: 'retry-role', secretId } })
    await vault.init()
    const first = fake.requests.findLast((r) => r.path === '/v1/auth/approle/login')
    expect(first).toBeDefined()
    for (const r of fake.requests) if (r.token !== undefined) fake.expire(r.token)
    expect((await vault.readKv('secret', 'retry/test')).data['value']).toBe(PASSWORD)
  })

  it('names the wrong path, the missing key, a sealed Vault and a timeout in one startup report', async () => {
    const token = fake.token()
    fake.put('secret', 'app/present', { other: 'x' })
    const vault = client({ auth: { method: 'token', token } })
    const silent = await silentListener()
    try {
      const slow = client({
        address: silent.address,
        auth: { method: 'token', token },
        timeoutMs: 300,
      })
      const error = await rejection(
        loadSecrets({
          WRONG_PATH: vaultSource(vault, { path: 'app/wrong', key: 'password' }),
          MISSING_KEY: vaultSource(vault, { path: 'app/present', key: 'password' }),
          TIMEOUT: vaultSource(slow, { path: 'app/present', key: 'other' }),
        }),
      )
      if (!(error instanceof SecretsLoadError)) throw error
      const problems = error.problems
      expect(problems.map((p) => [p.secret, p.code])).toEqual([
        ['WRONG_PATH', 'PALISADE_SECRET_VAULT_NOT_FOUND'],
        ['MISSING_KEY', 'PALISADE_SECRET_VAULT_KEY_NOT_FOUND'],
        ['TIMEOUT', 'PALISADE_SECRET_VAULT_TIMEOUT'],
      ])
      expect(error.message).toContain('secret/data/app/wrong')
      expect(error.message).toContain('has no key password')
      expect(error.message).toContain(`${silent.address} did not answer`)
      expect(error.message).not.toContain(token)
    } finally {
      await silent.stop()
    }
    fake.sealed = true
    const sealed = await rejection(vault.readKv('secret', 'app/present'))
    expect(sealed.code).toBe('PALISADE_SECRET_VAULT_SEALED')
    expect(sealed.message).toContain('sealed')
    expect(sealed.message).toContain('secret/data/app/present')
  })

  it('reports an unreachable Vault', async () => {
    const silent = await silentListener()
    const address = silent.address
    await silent.stop()
    const vault = client({ address, auth: { method: 'token', token: 'hvs.x' } })
    const error = await rejection(vault.init())
    expect(error.code).toBe('PALISADE_SECRET_VAULT_UNREACHABLE')
    expect(error.message).toContain(address)
  })

  it('polls for rotation with jitter, keeps the last good value while sealed, then picks up the new one', async () => {
    const token = fake.token()
    fake.put('secret', 'poll/test', { value: 'first-polled-value' })
    const vault = client({ auth: { method: 'token', token } })
    const secrets = await loadSecrets({
      POLLED: vaultSource(vault, {
        path: 'poll/test',
        key: 'value',
        pollIntervalMs: 100,
        jitter: 0.5,
      }),
    })
    const errors: SecretsErrorType[] = []
    const changes: string[] = []
    secrets.on('error', (e) => errors.push(e))
    secrets.on('change', (c) => changes.push(c.name))
    fake.sealed = true
    await vi.waitFor(
      () => {
        expect(errors.length).toBeGreaterThan(0)
      },
      { timeout: 10_000 },
    )
    expect(errors[0]!.code).toBe('PALISADE_SECRET_RELOAD_FAILED')
    expect((errors[0]!.cause as SecretsErrorType).code).toBe('PALISADE_SECRET_VAULT_SEALED')
    expect(secrets.get('POLLED').reveal()).toBe('first-polled-value')
    expect(() => {
      secrets.healthCheck().run(new AbortController().signal)
    }).toThrow(/POLLED/)
    fake.put('secret', 'poll/test', { value: 'second-polled-value' })
    fake.sealed = false
    await vi.waitFor(
      () => {
        expect(changes).toEqual(['POLLED'])
      },
      { timeout: 10_000 },
    )
    expect(secrets.get('POLLED').reveal()).toBe('second-polled-value')
    expect(() => {
      secrets.healthCheck().run(new AbortController().signal)
    }).not.toThrow()
    await secrets.close()
  }, 30_000)

  it('validates its options at creation', () => {
    expect(() =>
      createVaultClient({ address: 'ftp://x', auth: { method: 'token', token: 't' } }),
    ).toThrow('"address" option must be an http or https URL')
    expect(() =>
      createVaultClient({ address: fake.address, auth: { method: 'token', token: '' } }),
    ).toThrow('"auth.token" option must be a non-empty string or Secret')
    expect(() =>
      // @ts-expect-error an unknown method
      createVaultClient({ address: fake.address, auth: { method: 'ldap' } }),
    ).toThrow('"auth.method" option must be one of token, approle, kubernetes')
    expect(() =>
      createVaultClient({
        address: fake.address,
        auth: { method: 'token', token: 't' },
        timeoutMs: 0,
      }),
    ).toThrow('"timeoutMs" option must be a positive integer')
    const vault = client({ auth: { method: 'token', token: 't' } })
    expect(() => vaultSource(vault, { path: 'a', key: 'b', jitter: 1 })).toThrow('"jitter" option')
    expect(() => vaultSource(vault, { path: 'a', key: 'b', version: 0 })).toThrow(
      '"version" option must be a positive integer',
    )
    expect(() => vaultSource(vault, { path: '', key: 'b' })).toThrow(
      '"path" option must be a non-empty string',
    )
  })

  it('strips credentials from the address it shows', () => {
    const vault = client({
      address: 'http://user:pass@127.0.0.1:8200/',
      auth: { method: 'token', token: 't' },
    })
    expect(vault.address).toBe('http://127.0.0.1:8200')
  })
})

describe('Vault redirects against a Vault protocol fake', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.redirected-service-account.signature'
  beforeEach(() => {
    elsewhere.requests.length = 0
  })

  function expectNothingElsewhere(credential: string): void {
    expect(elsewhere.requests.filter((r) => r.token !== undefined)).toEqual([])
    expect(elsewhere.requests.filter((r) => JSON.stringify(r.body).includes(credential))).toEqual(
      [],
    )
    expect(elsewhere.requests).toEqual([])
  }

  function expectRedirectError(error: SecretsErrorType, credential: string): void {
    expect(error.code).toBe('PALISADE_SECRET_VAULT_ERROR')
    expect(error.message).toContain(`Vault at ${fake.address}`)
    expect(error.message).toContain(`redirect (307) to ${elsewhere.address}`)
    expect(error.message).toContain('"address" option (VAULT_ADDR)')
    expect(error.message).not.toContain(credential)
    expect(JSON.stringify(error)).not.toContain(credential)
  }

  it.each([
    ['token', () => fake.token(), (t: string) => ({ method: 'token' as const, token: t })],
    [
      'AppRole',
      () => fake.approle('redirect-role'),
      (s: string) => ({ method: 'approle' as const, roleId: 'redirect-role', secretId: s }),
    ],
    [
      'Kubernetes',
      () => {
        fake.kubernetesRole('redirect-role', jwt)
        return jwt
      },
      () => {
        const jwtPath = join(dir, 'redirect-token')
        writeFileSync(jwtPath, jwt)
        return { method: 'kubernetes' as const, role: 'redirect-role', jwtPath }
      },
    ],
  ])(
    'never sends the %s credential to the other origin a 307 points to',
    async (_label, issue, auth) => {
      const credential = issue()
      const vault = client({ auth: auth(credential) })
      fake.redirectTo = elsewhere.address
      const error = await rejection(vault.init())
      expect(fake.requests.at(-1)?.path).toMatch(/^\/v1\/auth\/.+\/(login|lookup-self)$/)
      expectNothingElsewhere(credential)
      expectRedirectError(error, credential)
    },
  )

  it('never sends the token of a read to the other origin a 307 points to', async () => {
    const secretId = fake.approle('redirect-read-role')
    fake.put('secret', 'redirect/test', { value: PASSWORD })
    const vault = client({ auth: { method: 'approle', roleId: 'redirect-read-role', secretId } })
    await vault.init()
    const token = fake.requests.findLast((r) => r.path === '/v1/auth/approle/login')
    expect(token).toBeDefined()
    fake.redirectTo = elsewhere.address
    const error = await rejection(vault.readKv('secret', 'redirect/test'))
    const issued = fake.requests.findLast((r) => r.path === '/v1/secret/data/redirect/test')?.token
    expect(issued).toMatch(/^hvs\./)
    expectNothingElsewhere(issued!)
    expectRedirectError(error, issued!)
    expect(error.message).toContain('secret/data/redirect/test')
  })
})

describe('createVaultClient address', () => {
  const auth = { method: 'token', token: 't' } as const
  const production = { NODE_ENV: 'production' }

  it('refuses an http:// address in a production-like environment, naming the option', () => {
    for (const env of [production, {}, { APP_ENV: 'staging', NODE_ENV: 'development' }]) {
      expect(() =>
        createVaultClient({ address: 'http://user:pw@vault.internal:8200', auth, env }),
      ).toThrow(
        '"address" option (VAULT_ADDR) must be an https URL in a production-like environment unless its host is loopback: http://vault.internal:8200 would send credentials in clear text',
      )
    }
    expect(() =>
      createVaultClient({ address: 'http://vault.localhost:8200', auth, env: production }),
    ).toThrow(TypeError)
  })

  it('accepts http:// on loopback, or anywhere in development, and https:// always', () => {
    for (const address of [
      'http://127.0.0.1:8200',
      'http://localhost:8200',
      'http://[::1]:8200',
      'https://vault.internal:8200',
    ]) {
      expect(createVaultClient({ address, auth, env: production }).address).toBe(address)
    }
    for (const env of [{ NODE_ENV: 'development' }, { APP_ENV: 'local' }, { NODE_ENV: 'test' }]) {
      expect(createVaultClient({ address: 'http://vault.internal:8200', auth, env }).address).toBe(
        'http://vault.internal:8200',
      )
    }
    // @ts-expect-error not an object of variables
    expect(() => createVaultClient({ address: fake.address, auth, env: 'production' })).toThrow(
      '"env" option must be an object',
    )
  })
})
