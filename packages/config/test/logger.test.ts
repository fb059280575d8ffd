import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadConfig, parseConfig, secret } from '../src/index.js'

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

describe('the logger option', () => {
  it('receives the fatal report too, as well as stderr, before exit 78', () => {
    const script = `
      import { loadConfig, secret } from ${JSON.stringify(dist)}
      const logged = []
      const logger = { debug() {}, info() {}, warn() {}, error: (object, message) => logged.push({ object, message }) }
      process.on('exit', () => process.stdout.write(JSON.stringify(logged)))
      loadConfig({ SESSION_KEY: secret() }, { logger })
    `
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production' },
    })
    expect(child.status).toBe(78)
    expect(child.stderr).toContain('SESSION_KEY [required]')
    const logged = JSON.parse(child.stdout) as {
      object: Record<string, unknown>
      message: string
    }[]
    expect(logged).toHaveLength(1)
    expect(logged[0]?.message).toBe(child.stderr.trimEnd())
    expect(logged[0]?.object).toMatchObject({ code: 'PALISADE_CONFIG_INVALID', exitCode: 78 })
  })

  it('is validated when given', () => {
    const schema = { SESSION_KEY: secret({ default: undefined }) }
    expect(() => parseConfig(schema, { env: {}, logger: {} as never })).toThrow(
      '"logger" option must be a pino-compatible logger with warn',
    )
    expect(() => loadConfig(schema, { env: {}, logger: 'pino' as never })).toThrow(TypeError)
  })
})
