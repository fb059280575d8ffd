import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

describe('pnpm demo', () => {
  it('starts the issuer and the Express example, passes its checks and stops cleanly', () => {
    expect(existsSync(`${root}examples/express/dist/main.js`), 'run `pnpm build` first').toBe(true)
    const result = spawnSync(process.execPath, ['scripts/demo.mjs', '--once'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env['PATH'] ?? '' },
    })
    expect(result.stderr).not.toContain('FAIL')
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout.match(/^ {2}ok {3}/gm)).toHaveLength(6)
    expect(result.stdout).toContain('export USER_TOKEN=ey')
    expect(result.stdout).toContain('export ADMIN_TOKEN=ey')
    expect(result.stdout).toMatch(
      /curl -i -H "Authorization: Bearer \$ADMIN_TOKEN" http:\/\/127\.0\.0\.1:\d+\/api\/admin/,
    )
  })
})
