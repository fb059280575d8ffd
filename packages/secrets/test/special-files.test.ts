// Secret paths that are not regular files: FIFOs, devices, sockets and /proc files, reached
// directly or through the symlinks that secret directories are made of.
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  directorySource,
  envSource,
  fileSource,
  loadSecrets,
  readSecretFile,
} from '../src/index.js'
import { caught, loadError, tempDir } from './helpers.js'

const root = tempDir('special')
const children: ChildProcess[] = []
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    const exited = new Promise((resolve) => child.once('exit', resolve))
    // The whole group: sh and the sleep or head it started.
    process.kill(-child.pid!, 'SIGKILL')
    await exited
  }
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

let counter = 0
function fifo(): string {
  const path = join(root, `fifo-${String(++counter)}`)
  const made = spawnSync('mkfifo', ['-m', '600', path])
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`)
  return path
}

/** Runs `script` in sh with the path as $0, and kills it after the test. */
function shell(script: string, path: string): void {
  const child = spawn('sh', ['-c', script, path], { stdio: 'ignore', detached: true })
  children.push(child)
}

/** A secrets directory whose `key` entry is a symlink to `target`. */
function linkedDirectory(key: string, target: string): string {
  const directory = join(root, `dir-${String(++counter)}`)
  mkdirSync(directory, { mode: 0o700 })
  symlinkSync(target, join(directory, key))
  return directory
}

describe('secret files that are not regular files', () => {
  it('refuses a FIFO with a writer, reading nothing of what it sends', () => {
    const path = fifo()
    // 3 MB, far more than maxBytes: a reader that trusts the size stat reports (0) takes it all.
    shell('exec head -c 3000000 /dev/zero > "$0"', path)
    const error = caught(() => readSecretFile(path, { variable: 'DB_PASSWORD', maxBytes: 65536 }))
    expect(error.code).toBe('PALISADE_SECRET_FILE_NOT_REGULAR')
    expect(error.message).toBe(
      `DB_PASSWORD_FILE (${path}) is a FIFO, not a regular file; point it to the file that holds the value`,
    )
    expect(error.variable).toBe('DB_PASSWORD')
    expect(error.path).toBe(path)
  })

  it('refuses a FIFO without a writer at once instead of waiting for one', async () => {
    const path = fifo()
    // Only a reader blocked in open() ever meets this writer: it turns a hang into a failure.
    shell('sleep 20; exec : > "$0"', path)
    const error = await loadError(
      loadSecrets({ DB_PASSWORD: fileSource(path) }, { watch: false, env: { NODE_ENV: 'test' } }),
    )
    expect(error.problems.map((p) => [p.secret, p.code])).toEqual([
      ['DB_PASSWORD', 'PALISADE_SECRET_FILE_NOT_REGULAR'],
    ])
    expect(error.message).toContain(`${path}) is a FIFO, not a regular file`)
  })

  it('refuses a FIFO named by NAME_FILE', () => {
    const path = fifo()
    shell('sleep 20; exec : > "$0"', path)
    const error = caught(() =>
      envSource('API_KEY', { env: { API_KEY_FILE: path } }).read(new AbortController().signal),
    )
    expect(error.code).toBe('PALISADE_SECRET_FILE_NOT_REGULAR')
    expect(error.message).toContain(`API_KEY_FILE (${path}) is a FIFO`)
  })

  it.each([
    ['/dev/zero', 'a character device'],
    ['/dev/urandom', 'a character device'],
    ['/dev/null', 'a character device'],
  ])('refuses %s behind a symlink in a secrets directory as %s', async (target, kind) => {
    const directory = linkedDirectory('api_key', target)
    const error = await loadError(
      loadSecrets(
        { API_KEY: directorySource(directory, 'api_key') },
        { watch: false, env: { NODE_ENV: 'test' } },
      ),
    )
    expect(error.problems.map((p) => [p.secret, p.code])).toEqual([
      ['API_KEY', 'PALISADE_SECRET_FILE_NOT_REGULAR'],
    ])
    expect(error.message).toContain(`${join(directory, 'api_key')}) is ${kind}, not a regular file`)
  })

  it('refuses /proc/self/environ behind a symlink in a directory source, showing none of it', async () => {
    const directory = linkedDirectory('db_password', '/proc/self/environ')
    const error = await loadError(
      loadSecrets(
        { DB_PASSWORD: directorySource(directory, 'db_password') },
        { watch: false, env: { NODE_ENV: 'test' } },
      ),
    )
    expect(error.problems.map((p) => [p.secret, p.code])).toEqual([
      ['DB_PASSWORD', 'PALISADE_SECRET_FILE_NOT_REGULAR'],
    ])
    expect(error.message).toContain(
      `${join(directory, 'db_password')}) holds more than the 0 bytes it reports, like a /proc file`,
    )
    expect(error.message).not.toContain('PATH=')
  })

  it('refuses a socket behind a symlink in a secrets directory', async () => {
    const socketPath = join(root, 'socket')
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(socketPath, resolve))
    try {
      const directory = linkedDirectory('token', socketPath)
      const error = await loadError(
        loadSecrets(
          { TOKEN: directorySource(directory, 'token') },
          { watch: false, env: { NODE_ENV: 'test' } },
        ),
      )
      expect(error.problems.map((p) => p.code)).toEqual(['PALISADE_SECRET_FILE_NOT_REGULAR'])
      expect(error.message).toContain(
        `${join(directory, 'token')}) is a socket or a device, not a regular file`,
      )
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('reads a regular file of exactly maxBytes, and refuses one byte more', () => {
    const exact = join(root, 'exact')
    writeFileSync(exact, 'x'.repeat(1024))
    expect(readSecretFile(exact, { maxBytes: 1024 })).toHaveLength(1024)
    const over = join(root, 'over')
    writeFileSync(over, 'x'.repeat(1025))
    const error = caught(() => readSecretFile(over, { maxBytes: 1024, variable: 'KEY' }))
    expect(error.code).toBe('PALISADE_SECRET_FILE_TOO_LARGE')
    expect(error.message).toBe(
      `KEY_FILE (${over}) is 1025 bytes, more than the 1024 allowed for a secret`,
    )
  })

  it('still follows symlinks to regular files', () => {
    const target = join(root, 'target')
    writeFileSync(target, 'linked-secret-value\n', { mode: 0o600 })
    const directory = linkedDirectory('key', target)
    expect(readSecretFile(join(directory, 'key'))).toBe('linked-secret-value')
  })
})
