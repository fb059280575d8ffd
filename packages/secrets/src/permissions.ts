import { realpathSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { booleanOption, checkOptionNames, isObject } from '@palisade/errors'

/** Options of {@link checkSecretFilePermissions}. */
export interface PermissionCheckOptions {
  /**
   * Accept a file readable by its group (not writable by it). Kubernetes makes secret files
   * `0440` whenever the pod sets `fsGroup`, whatever `defaultMode` says.
   * @default false
   */
  allowGroupRead?: boolean | undefined
}

/** One permission problem of a secret file. */
export interface PermissionProblem {
  /** The file or directory at fault. */
  readonly path: string
  /** What is wrong with it, in words. */
  readonly problem: string
}

function ancestors(path: string): string[] {
  const out: string[] = []
  let current = dirname(path)
  for (;;) {
    out.push(current)
    const parent = dirname(current)
    if (parent === current) return out
    current = parent
  }
}

function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode
  } catch {
    return undefined
  }
}

/**
 * Checks a secret file the way an attacker on the same host would look at it: the file (after
 * following symlinks) must not be readable or writable by group or others, and no directory on
 * the way to it, as given or resolved, may be world-writable without the sticky bit (anyone
 * could swap the file). Returns the problems; an empty array means none. A file that cannot be
 * inspected yields no problem here: reading it reports that.
 *
 * @example
 * ```ts
 * for (const { path, problem } of checkSecretFilePermissions('/run/secrets/db_password')) {
 *   console.warn(`${path}: ${problem}`)
 * }
 * ```
 */
export function checkSecretFilePermissions(
  path: string,
  options: PermissionCheckOptions = {},
): PermissionProblem[] {
  if (isObject(options)) {
    checkOptionNames(options, ['allowGroupRead'], 'checkSecretFilePermissions()')
  }
  const allowGroupRead = booleanOption(options.allowGroupRead, 'allowGroupRead', false)
  const problems: PermissionProblem[] = []
  const mode = modeOf(path)
  if (mode === undefined) return problems
  if ((mode & (allowGroupRead ? 0o037 : 0o077)) !== 0) {
    const who: string[] = []
    if ((mode & 0o040) !== 0 && !allowGroupRead) who.push('group-readable')
    if ((mode & 0o004) !== 0) who.push('readable by others')
    if ((mode & 0o022) !== 0) who.push('writable by group or others')
    if (who.length === 0) who.push('accessible by group or others')
    problems.push({
      path,
      problem: `is ${who.join(', ')} (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); make it ${allowGroupRead ? '0440 or 0400' : '0400 or 0600'}`,
    })
  }
  let real: string
  try {
    real = realpathSync(path)
  } catch {
    real = resolve(path)
  }
  const seen = new Set<string>()
  for (const directory of [...ancestors(resolve(path)), ...ancestors(real)]) {
    if (seen.has(directory)) continue
    seen.add(directory)
    const directoryMode = modeOf(directory)
    if (directoryMode === undefined) continue
    if ((directoryMode & 0o002) !== 0 && (directoryMode & 0o1000) === 0) {
      problems.push({
        path: directory,
        problem:
          'is a world-writable directory without the sticky bit; anyone can replace the secret in it',
      })
    }
  }
  return problems
}
