import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

// `jwks.timeoutMs` must bound the whole discovery or JWKS request, body included, even when a
// garbage collection runs while the body trickles in. A GC can only be forced with
// `--expose-gc`, so the cases run in a child process against the built package.
const fixture = fileURLToPath(new URL('fixtures/trickle-jwks.mjs', import.meta.url))
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

function runFixture(): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', fixture], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('exit', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? ''
      try {
        resolve(JSON.parse(line) as Record<string, string>)
      } catch {
        reject(new Error(`fixture exited with ${code} and no outcome: ${stderr}`))
      }
    })
  })
}

let outcomes: Record<string, string>

beforeAll(async () => {
  if (!existsSync(dist)) {
    throw new Error(
      'packages/jwt/dist/index.js is missing: run `pnpm --filter @palisade/jwt build` before these tests',
    )
  }
  outcomes = await runFixture()
}, 60_000)

describe('jwks.timeoutMs with a body that trickles in while garbage is collected', () => {
  it('fails a cold start with 503 instead of hanging', () => {
    expect(outcomes['cold']).toBe('PALISADE_JWT_JWKS_UNAVAILABLE')
  })

  it('fails a discovery document that trickles in with 503 instead of hanging', () => {
    expect(outcomes['discovery']).toBe('PALISADE_JWT_JWKS_UNAVAILABLE')
  })

  it('fails a request waiting on the refresh of a key set past its stale limit with 503', () => {
    expect(outcomes['stale']).toBe('PALISADE_JWT_JWKS_UNAVAILABLE')
  })

  it('fails a rotated kid waiting on a refetch as an outage, not a hang', () => {
    expect(outcomes['rotated']).toBe('PALISADE_JWT_KEY_UNAVAILABLE')
  })
})
