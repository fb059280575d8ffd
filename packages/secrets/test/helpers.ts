import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SecretsError, SecretsLoadError } from '../src/index.js'
import type { SecretsLogger } from '../src/index.js'

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `palisade-${prefix}-`))
  chmodSync(dir, 0o700)
  return dir
}

/**
 * Writes a Kubernetes secret volume the way the kubelet's AtomicWriter does
 * (pkg/volume/util/atomic_writer.go): the payload goes into a new hidden timestamped directory,
 * a `..data_tmp` symlink to it is created and renamed over `..data`, each key is a symlink
 * `key -> ..data/key` created once, keys no longer in the payload lose their symlink, and the
 * previous timestamped directory is removed.
 */
export function kubeletWrite(volume: string, payload: Record<string, string>, mode = 0o644): void {
  mkdirSync(volume, { recursive: true })
  // time.Now().UTC().Format("..2006_01_02_15_04_05.") plus os.MkdirTemp's random suffix
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '_')
  const tsDir = mkdtempSync(join(volume, `..${stamp}.`))
  for (const [key, value] of Object.entries(payload)) {
    writeFileSync(join(tsDir, key), value, { mode })
    chmodSync(join(tsDir, key), mode)
  }
  chmodSync(tsDir, 0o755)
  const dataLink = join(volume, '..data')
  const old = existsSync(dataLink) ? readlinkSync(dataLink) : undefined
  const tmpLink = join(volume, '..data_tmp')
  symlinkSync(tsDir.slice(volume.length + 1), tmpLink)
  renameSync(tmpLink, dataLink)
  for (const key of Object.keys(payload)) {
    if (!existsSync(join(volume, key))) symlinkSync(join('..data', key), join(volume, key))
  }
  for (const entry of readdirSync(volume)) {
    if (!entry.startsWith('..') && !(entry in payload)) rmSync(join(volume, entry))
  }
  if (old !== undefined) rmSync(join(volume, old), { recursive: true, force: true })
}

export interface Captured {
  level: 'debug' | 'info' | 'warn' | 'error'
  object: Record<string, unknown>
  message: string
}

export function captureLogger(): { logger: SecretsLogger; lines: Captured[] } {
  const lines: Captured[] = []
  const at =
    (level: Captured['level']) =>
    (object: Record<string, unknown>, message: string): void => {
      lines.push({ level, object, message })
    }
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  }
}

/** The SecretsError that `fn` throws; fails the test when it throws nothing or something else. */
export function caught(fn: () => unknown): SecretsError {
  try {
    fn()
  } catch (error) {
    if (error instanceof SecretsError) return error
    throw error
  }
  throw new Error('expected a SecretsError')
}

/** The SecretsLoadError that `promise` rejects with; fails the test otherwise. */
export async function loadError(promise: Promise<unknown>): Promise<SecretsLoadError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof SecretsLoadError) return error
    throw error
  }
  throw new Error('expected a SecretsLoadError')
}
