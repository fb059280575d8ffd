import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const service = join(here, 'fixtures', 'service.mjs')
const dir = mkdtempSync(join(tmpdir(), 'palisade-config-run-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

beforeAll(() => {
  if (!existsSync(join(here, '..', 'dist', 'index.js'))) {
    throw new Error('@palisade/config is not built: run `pnpm build` before this test')
  }
})

function run(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [service], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  })
  return {
    status: result.status,
    output: `${result.stdout}${result.stderr}`,
    stderr: result.stderr,
  }
}

const SECRETS = {
  apiKey: 'demo',
  dbPassword: 'S3cr3tDbPassw0rd-Do-Not-Print',
  token: 'tok_9f8e7d6c5b4a',
  fileKey: 'your-secret-key',
}

describe('loadConfig() in a real process', () => {
  it('exits 78 with every problem named and no secret printed', () => {
    const keyFile = join(dir, 'session_key')
    writeFileSync(keyFile, `${SECRETS.fileKey}\n`)
    const { status, output, stderr } = run({
      NODE_ENV: 'production',
      PORT: '70000',
      LOG_LEVEL: 'loud',
      SESSION_KEY_FILE: keyFile,
      API_KEY: SECRETS.apiKey,
      DATABASE_URL: `postgres://orders:${SECRETS.dbPassword}@db.prod.internal:5432/orders`,
      UPSTREAM_TOKEN: SECRETS.token,
      UPSTREAM_TOKEN_FILE: keyFile,
    })
    expect(status).toBe(78)
    expect(stderr).toContain(
      'Configuration refused in a production-like environment (NODE_ENV=production)',
    )
    for (const line of [
      'PORT [format]',
      'LOG_LEVEL [choices]',
      'SESSION_KEY [placeholder]',
      `(from file ${keyFile})`,
      'API_KEY [placeholder]',
      'DATABASE_URL [tls-required]',
      'postgres://***@db.prod.internal:5432/orders',
      'UPSTREAM_TOKEN [conflict]',
    ]) {
      expect(stderr).toContain(line)
    }
    expect(output).not.toContain('started')
    for (const value of Object.values(SECRETS)) expect(output).not.toContain(value)
  })

  it('prints no part of a password that holds an unencoded / or @', () => {
    const { status, stderr } = run({
      NODE_ENV: 'production',
      SESSION_KEY: 'q4Zt9mVx2LrB7wKs1NcY8pHd3JfG6aTe',
      API_KEY: 'kP3x9QmZ7vT1wR8yN2bL5cJ6hF4dG0sA',
      DATABASE_URL: 'postgres://db:5432/Zq8vR2mXkP9w/L4tN7bQ1@db.prod.internal:5432/app',
      UPSTREAM_TOKEN: 'Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4',
    })
    expect(status).toBe(78)
    expect(stderr).toContain('DATABASE_URL [tls-required]')
    expect(stderr).not.toMatch(/Zq8v|L4tN|5432\//)
  })

  it('exits 78 when the environment is unset, since that is production-like', () => {
    const { status, stderr } = run({})
    expect(status).toBe(78)
    expect(stderr).toContain('APP_ENV and NODE_ENV are unset')
    expect(stderr).toContain('SESSION_KEY [required]')
  })

  it('starts with a good environment and never prints the key', () => {
    const key = 'q4Zt9mVx2LrB7wKs1NcY8pHd3JfG6aTe'
    const { status, output } = run({
      NODE_ENV: 'production',
      SESSION_KEY: key,
      API_KEY: 'kP3x9QmZ7vT1wR8yN2bL5cJ6hF4dG0sA',
      DATABASE_URL: 'postgres://orders@127.0.0.1:5432/test',
      UPSTREAM_TOKEN: 'Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4',
    })
    expect(output).toBe('started on port 3000; key [redacted]\n')
    expect(status).toBe(0)
  })

  it('starts in development with weak values and prints warnings, not the values', () => {
    const { status, output, stderr } = run({
      NODE_ENV: 'development',
      SESSION_KEY: 'changeme',
      API_KEY: SECRETS.apiKey,
      DATABASE_URL: `postgres://orders:${SECRETS.dbPassword}@db.dev.internal/orders`,
      UPSTREAM_TOKEN: SECRETS.token,
    })
    expect(status).toBe(0)
    expect(stderr).toContain(
      'Configuration accepted in a non-production environment (NODE_ENV=development)',
    )
    expect(stderr).toContain('SESSION_KEY [placeholder]')
    expect(stderr).toContain('UPSTREAM_TOKEN [too-short]')
    for (const value of Object.values(SECRETS)) expect(output).not.toContain(value)
    expect(output).not.toContain('changeme')
  })
})
