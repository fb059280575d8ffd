// The services step that `pnpm test` runs first (scripts/services.sh).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const script = fileURLToPath(new URL('../scripts/services.sh', import.meta.url))
const bin = mkdtempSync(join(tmpdir(), 'palisade-services-bin-'))
afterAll(() => {
  rmSync(bin, { recursive: true, force: true })
})

function run(env: Record<string, string>) {
  return spawnSync('bash', [script], { env, encoding: 'utf8', timeout: 120_000 })
}

describe('scripts/services.sh', () => {
  it('reports every service up on this machine and exits 0', () => {
    const { status, stdout, stderr } = run({ PATH: process.env['PATH'] ?? '' })
    expect(stderr).toBe('')
    expect(status).toBe(0)
    for (const [name, port] of [
      ['PostgreSQL', 5432],
      ['Redis', 6379],
      ['MariaDB', 3306],
      ['RabbitMQ', 5672],
      ['NATS', 4222],
      ['Mosquitto', 1883],
    ] as const) {
      expect(stdout).toContain(`services: ${name} is up on 127.0.0.1:${port}`)
    }
    expect(stdout).toMatch(/services: Chromium \d+\./)
  })

  it('stops at once, naming each missing service and its install command, when it may not install', () => {
    // A PATH with a shell and a few tools but none of the servers found through PATH.
    for (const tool of ['bash', 'cut', 'tr', 'id', 'cat', 'seq', 'sleep', 'awk', 'ls', 'grep']) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout
      symlinkSync(found.trim(), join(bin, tool))
    }
    const { status, stdout, stderr } = run({ PATH: bin, PALISADE_SERVICES_INSTALL: 'never' })
    expect(status).toBe(1)
    expect(stdout).toBe('')
    for (const [name, pkg] of [
      ['PostgreSQL', 'postgresql'],
      ['Redis', 'redis-server'],
      ['RabbitMQ', 'rabbitmq-server'],
      ['Mosquitto', 'mosquitto'],
    ]) {
      expect(stderr).toContain(`  ${name}: apt-get install -y ${pkg}\n`)
    }
    expect(stderr).toContain(
      'as root, in one command: apt-get update && apt-get install -y postgresql redis-server rabbitmq-server mosquitto\n',
    )
    expect(stderr).toContain('PALISADE_SERVICES_INSTALL=never')
  })
})
