import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { SecretsError } from '../src/index.js'
import { readSecretFile, resolveFileVariable } from '../src/index.js'
import { caught } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'palisade-secrets-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})
const VALUE = 'k7Hq2Zp9Lw4Xv8Nr3Ty6Bm1Jc5Fd0Gs'

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

describe('readSecretFile', () => {
  it('reads and trims the trailing newline', () => {
    expect(readSecretFile(file('nl', `${VALUE}\n`))).toBe(VALUE)
    expect(readSecretFile(file('crlf', `  ${VALUE}\r\n\r\n`))).toBe(VALUE)
  })

  it.each([
    ['a missing file', join(dir, 'missing'), 'PALISADE_SECRET_FILE_NOT_FOUND', 'does not exist'],
    ['a directory', dir, 'PALISADE_SECRET_FILE_IS_DIRECTORY', 'points to a directory'],
    [
      'a path through a file',
      join(file('plain', VALUE), 'x'),
      'PALISADE_SECRET_FILE_NOT_FOUND',
      'does not exist',
    ],
    ['an empty file', file('empty', '\n  \n'), 'PALISADE_SECRET_EMPTY', 'is empty'],
  ])('refuses %s with an error naming the variable and path', (_label, path, code, text) => {
    const error = caught(() => readSecretFile(path, { variable: 'DB_PASSWORD' }))
    expect(error.code).toBe(code)
    expect(error.message).toContain('DB_PASSWORD_FILE')
    expect(error.message).toContain(path)
    expect(error.message).toContain(text)
    expect(error.variable).toBe('DB_PASSWORD')
    expect(error.path).toBe(path)
  })

  it('refuses a file larger than maxBytes without echoing it', () => {
    const path = file('large', 'A'.repeat(2048))
    const error = caught(() => readSecretFile(path, { maxBytes: 1024 }))
    expect(error.code).toBe('PALISADE_SECRET_FILE_TOO_LARGE')
    expect(error.message).not.toContain('AAAA')
  })

  it('refuses an unreadable file, naming the path', () => {
    const path = file('locked', VALUE)
    chmodSync(path, 0o000)
    // root reads any file whatever its mode, so drop to an unprivileged user for the read
    const asRoot = process.geteuid?.() === 0
    if (asRoot) process.seteuid?.(65534)
    let error: SecretsError
    try {
      error = caught(() => readSecretFile(path))
    } finally {
      if (asRoot) process.seteuid?.(0)
    }
    expect(error.code).toBe('PALISADE_SECRET_FILE_UNREADABLE')
    expect(error.message).toContain(path)
  })

  it('validates its options', () => {
    expect(() => readSecretFile('x', { maxBytes: 0 })).toThrow(
      '"maxBytes" option must be a positive integer',
    )
  })
})

describe('resolveFileVariable', () => {
  it('takes the variable itself, or the file named by VAR_FILE, and says which', () => {
    expect(resolveFileVariable({ KEY: VALUE }, 'KEY')).toEqual({
      value: VALUE,
      source: { kind: 'env' },
    })
    const path = file('key', `${VALUE}\n`)
    expect(resolveFileVariable({ KEY_FILE: path }, 'KEY')).toEqual({
      value: VALUE,
      source: { kind: 'file', path },
    })
    expect(resolveFileVariable({}, 'KEY')).toBeUndefined()
  })

  it('refuses both VAR and VAR_FILE, and an empty VAR_FILE', () => {
    const both = caught(() => resolveFileVariable({ KEY: VALUE, KEY_FILE: '/x' }, 'KEY'))
    expect(both.code).toBe('PALISADE_SECRET_CONFLICT')
    expect(both.message).toBe('KEY and KEY_FILE are both set; set only one of them')
    expect(caught(() => resolveFileVariable({ KEY_FILE: ' ' }, 'KEY')).code).toBe(
      'PALISADE_SECRET_EMPTY',
    )
  })
})
