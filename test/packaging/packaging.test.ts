/**
 * Packaging tests: what a consumer installs from the registry must work.
 *
 * beforeAll packs every non-private package under packages/* with `pnpm pack` (which rewrites
 * `workspace:*` to real versions), installs all tarballs together with one `npm install` in a fresh
 * project under os.tmpdir() (outside the workspace, so nothing can leak in from the workspace's
 * node_modules), and then checks, per package and for every entry point in its published
 * `exports` (the root and each non-pattern subpath):
 *
 * - `import()` from an ESM .mjs file and `require()` from a CommonJS .cjs file (require(esm),
 *   Node >= 20.19) both work and expose the same named exports;
 * - TypeScript resolves the types under `nodenext` (ESM import and `import x = require()` from a
 *   .cts file) and under `bundler`, with skipLibCheck off so the shipped .d.ts files are checked;
 * - the declared value exports match the runtime exports;
 * - publint --strict and attw --profile esm-only pass on the packed tarball.
 *
 * The packages must be built first (`pnpm build`). Set PALISADE_KEEP_PACKAGING_TMP=1 to keep the
 * temporary directory for debugging.
 */
import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const allowlistPath = join(root, 'test', 'packaging', 'attw-allowlist.json')

const TYPESCRIPT_VERSION = '5.9.3'
const TYPES_NODE_RANGE = '20'

interface WorkspacePackage {
  /** Package name, e.g. `@palisade/config`. */
  name: string
  /** Absolute directory of the package. */
  dir: string
  /** Directory relative to the repository root, for messages. */
  relDir: string
}

interface Entrypoint {
  /** What a consumer imports, e.g. `@palisade/config` or `@palisade/http/express`. */
  specifier: string
  /** File-name-safe form, e.g. `palisade__config`, `palisade__http__express`. */
  slug: string
}

interface RunResult {
  command: string
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  error?: Error
}

interface ExportsReport {
  resolved: string
  keys: string[]
}

const modes = ['nodenext', 'bundler'] as const
type Mode = (typeof modes)[number]

/** `name@range` of every peer dependency of the packages, except the packages themselves. */
function peersOf(packages: readonly WorkspacePackage[]): string[] {
  const names = new Set(packages.map((pkg) => pkg.name))
  const peers = new Map<string, string>()
  for (const pkg of packages) {
    const manifest = JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) as {
      peerDependencies?: Record<string, string>
    }
    for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
      if (!names.has(name)) peers.set(name, range)
    }
  }
  return [...peers].map(([name, range]) => `${name}@${range}`)
}

/** Every non-private package under packages/*, sorted by name. Nothing is hard-coded. */
function discoverPackages(): WorkspacePackage[] {
  const packagesDir = join(root, 'packages')
  const found: WorkspacePackage[] = []
  for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const dir = join(packagesDir, entry.name)
    const manifestPath = join(dir, 'package.json')
    if (!existsSync(manifestPath)) continue
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      name?: unknown
      private?: unknown
    }
    if (manifest.private === true) continue
    if (typeof manifest.name !== 'string' || manifest.name === '') {
      throw new Error(`packages/${entry.name}/package.json has no "name" but is not private`)
    }
    found.push({
      name: manifest.name,
      dir,
      relDir: `packages/${entry.name}`,
    })
  }
  return found.sort((a, b) => a.name.localeCompare(b.name))
}

/**
 * The import specifiers a published manifest offers: the root and every subpath of `exports`
 * except patterns, JSON and blocked (`null`) entries.
 */
function entrypointsOf(name: string, manifest: { exports?: unknown }): Entrypoint[] {
  const exportsField = manifest.exports
  let subpaths = ['.']
  if (exportsField !== null && typeof exportsField === 'object' && !Array.isArray(exportsField)) {
    const map = exportsField as Record<string, unknown>
    const keys = Object.keys(map)
    if (keys.some((key) => key.startsWith('.'))) {
      subpaths = keys.filter(
        (key) => !key.includes('*') && !key.endsWith('.json') && map[key] !== null,
      )
    }
  }
  return subpaths.map((subpath) => {
    const specifier = subpath === '.' ? name : `${name}/${subpath.replace(/^\.\//, '')}`
    return { specifier, slug: specifier.replace(/^@/, '').replaceAll('/', '__') }
  })
}

/** Environment for consumer-side processes: no loaders, no pnpm script context. */
function consumerEnv(): NodeJS.ProcessEnv {
  const dropped =
    /^(NODE_OPTIONS|pnpm_.*|npm_(command|execpath|node_execpath|lifecycle_.*|package_.*|config_user_agent|config_verify_deps_before_run))$/i
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !dropped.test(key)))
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<RunResult> {
  const display = [command, ...args].join(' ')
  return new Promise((resolve) => {
    let stdout = ''
    let stderr = ''
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeout ?? 240_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32',
    })
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', (error) => {
      resolve({ command: display, code: null, signal: null, stdout, stderr, error })
    })
    child.on('close', (code, signal) => {
      resolve({ command: display, code, signal, stdout, stderr })
    })
  })
}

/** Makes `dir` an ESM project named `name` and `npm install`s `specs` into it (scripts off). */
async function installProject(dir: string, name: string, specs: readonly string[]): Promise<void> {
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`,
  )
  const install = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...specs],
    { cwd: dir, env: consumerEnv(), timeout: 540_000 },
  )
  if (install.code !== 0) throw new Error(`npm install failed\n${describeRun(install)}`)
}

function describeRun(result: RunResult): string {
  const parts = [`$ ${result.command}`, `exit code: ${String(result.code)}`]
  if (result.signal) parts.push(`signal: ${result.signal}`)
  if (result.error) parts.push(`spawn error: ${result.error.message}`)
  if (result.stdout.trim()) parts.push(`--- stdout ---\n${result.stdout.trimEnd()}`)
  if (result.stderr.trim()) parts.push(`--- stderr ---\n${result.stderr.trimEnd()}`)
  return parts.join('\n')
}

function parseExportsReport(result: RunResult): ExportsReport {
  if (result.code !== 0) throw new Error(describeRun(result))
  return JSON.parse(result.stdout) as ExportsReport
}

interface TscDiagnostic {
  file: string | undefined
  text: string
}

/** Splits `tsc --pretty false` output into diagnostics, keeping each one's file. */
function parseTscOutput(output: string): TscDiagnostic[] {
  const diagnostics: TscDiagnostic[] = []
  for (const line of output.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const match = /^(.+?)\(\d+,\d+\): (?:error|warning|message) TS\d+/.exec(line)
    const last = diagnostics.at(-1)
    if (match) diagnostics.push({ file: match[1]!.replaceAll('\\', '/'), text: line })
    else if (/^\s/.test(line) && last) last.text += `\n${line}`
    else diagnostics.push({ file: undefined, text: line })
  }
  return diagnostics
}

/** Like Promise.all, but waits for every task before throwing, so no process outlives a failure. */
async function all(tasks: Promise<unknown>[]): Promise<void> {
  const failures = (await Promise.allSettled(tasks)).flatMap((outcome) =>
    outcome.status === 'rejected' ? [outcome.reason as unknown] : [],
  )
  if (failures.length === 1) throw failures[0] as Error
  if (failures.length > 1) {
    throw new Error(failures.map((failure) => String(failure)).join('\n\n'))
  }
}

interface AllowlistEntry {
  package: string
  rule: string
  reason: string
}

function readAllowlist(): AllowlistEntry[] {
  const raw = JSON.parse(readFileSync(allowlistPath, 'utf8')) as { ignoreRules?: unknown }
  if (!Array.isArray(raw.ignoreRules)) {
    throw new Error(`${allowlistPath}: "ignoreRules" must be an array`)
  }
  return raw.ignoreRules as AllowlistEntry[]
}

const packages = discoverPackages()

let tmp = ''
let consumerDir = ''
const tarballs = new Map<string, string>()
const entrypoints = new Map<string, Entrypoint[]>()
const esmProbes = new Map<string, RunResult>()
const tscRuns = new Map<Mode, Promise<RunResult>>()

beforeAll(async () => {
  const unbuilt = packages.filter((pkg) => {
    const dist = join(pkg.dir, 'dist')
    return !existsSync(dist) || readdirSync(dist).length === 0
  })
  if (unbuilt.length > 0) {
    throw new Error(
      `Not built: ${unbuilt.map((pkg) => `${pkg.name} (${pkg.relDir}/dist is missing)`).join(', ')}. ` +
        'The packaging tests pack the built output: run `pnpm build` first.',
    )
  }

  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'palisade-packaging-')))
  const relativeToRoot = relative(root, tmp)
  if (!relativeToRoot.startsWith('..') && !isAbsolute(relativeToRoot)) {
    throw new Error(
      `tmpdir() (${tmp}) is inside the workspace; set TMPDIR to a directory outside it`,
    )
  }
  const tarballDir = join(tmp, 'tarballs')
  consumerDir = join(tmp, 'consumer')
  mkdirSync(tarballDir)
  for (const sub of ['esm', 'cjs', 'ts']) mkdirSync(join(consumerDir, sub), { recursive: true })

  // 1. Pack. `pnpm pack` rewrites workspace:* dependencies to the real versions.
  await all(
    packages.map(async (pkg) => {
      const result = await run('pnpm', ['pack', '--json', '--pack-destination', tarballDir], {
        cwd: pkg.dir,
      })
      if (result.code !== 0)
        throw new Error(`pnpm pack failed for ${pkg.name}\n${describeRun(result)}`)
      const { filename } = JSON.parse(result.stdout) as { filename: string }
      if (!existsSync(filename)) {
        throw new Error(`pnpm pack reported ${filename} for ${pkg.name}, which does not exist`)
      }
      tarballs.set(pkg.name, filename)
    }),
  )

  // 2. Install every tarball in one `npm install`, so the @palisade/* dependencies between them
  //    (0.0.0, not on the registry) resolve to each other.
  await installProject(consumerDir, 'palisade-packaging-consumer', [
    ...packages.map((pkg) => tarballs.get(pkg.name)!),
    // A TypeScript user installs every peer, optional ones (framework types) included.
    ...peersOf(packages),
    `typescript@${TYPESCRIPT_VERSION}`,
    `@types/node@${TYPES_NODE_RANGE}`,
  ])

  // 3. Consumer files, one set per entry point of the installed (= published) manifest.
  for (const pkg of packages) {
    const installedManifest = JSON.parse(
      readFileSync(join(installedDir(pkg), 'package.json'), 'utf8'),
    ) as { exports?: unknown }
    entrypoints.set(pkg.name, entrypointsOf(pkg.name, installedManifest))
  }
  const allEntrypoints = packages.flatMap((pkg) => entrypoints.get(pkg.name)!)
  for (const { specifier, slug } of allEntrypoints) {
    const spec = JSON.stringify(specifier)
    writeFileSync(
      join(consumerDir, 'esm', `${slug}.mjs`),
      `const m = await import(${spec})\n` +
        `const resolved = import.meta.resolve(${spec})\n` +
        'process.stdout.write(JSON.stringify({ resolved, keys: Object.keys(m).sort() }))\n',
    )
    writeFileSync(
      join(consumerDir, 'cjs', `${slug}.cjs`),
      `const m = require(${spec})\n` +
        `const resolved = require('node:url').pathToFileURL(require.resolve(${spec})).href\n` +
        // require(esm) marks a namespace that has a default export with __esModule for interop
        "const keys = Object.keys(m).filter((k) => k !== '__esModule').sort()\n" +
        'process.stdout.write(JSON.stringify({ resolved, keys }))\n',
    )
    writeFileSync(
      join(consumerDir, 'ts', `${slug}.ts`),
      `import * as m from ${spec}\n\nexport const names: string[] = Object.keys(m)\n`,
    )
    writeFileSync(
      join(consumerDir, 'ts', `${slug}.cts`),
      `import m = require(${spec})\n\nexport const names: string[] = Object.keys(m)\n`,
    )
  }

  // 4. Runtime exports from ESM, needed to compare them with the declarations.
  await all(
    allEntrypoints.map(async ({ specifier, slug }) => {
      const result = await run('node', [join('esm', `${slug}.mjs`)], {
        cwd: consumerDir,
        env: consumerEnv(),
      })
      esmProbes.set(specifier, result)
      if (result.code !== 0) return
      const { keys } = parseExportsReport(result)
      const runtime = keys.length > 0 ? keys.map((key) => JSON.stringify(key)).join(' | ') : 'never'
      writeFileSync(
        join(consumerDir, 'ts', `${slug}.exports.ts`),
        [
          `import type * as m from ${JSON.stringify(specifier)}`,
          '',
          'type Declared = keyof typeof m',
          `type Runtime = ${runtime}`,
          'type Missing = Exclude<Declared, Runtime>',
          'type Undeclared = Exclude<Runtime, Declared>',
          '',
          '// On a mismatch, tsc names the offending exports in the type it expected.',
          "export const missing: [Missing] extends [never] ? 'ok' : { declaredInTypesButNotExportedAtRuntime: { [K in Missing]: K } } = 'ok'",
          "export const undeclared: [Undeclared] extends [never] ? 'ok' : { exportedAtRuntimeButNotDeclaredInTypes: { [K in Undeclared]: K } } = 'ok'",
          '',
        ].join('\n'),
      )
    }),
  )

  // 5. Type checks, one tsc run per mode for all packages, started now so they overlap the
  //    runtime tests. skipLibCheck is off so the shipped .d.ts files are checked as well.
  const common = {
    target: 'es2022',
    lib: ['es2023'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  }
  const configs: Record<Mode, object> = {
    nodenext: {
      compilerOptions: { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
      files: allEntrypoints.flatMap(({ slug }) =>
        [`ts/${slug}.ts`, `ts/${slug}.cts`, `ts/${slug}.exports.ts`].filter((file) =>
          existsSync(join(consumerDir, file)),
        ),
      ),
    },
    bundler: {
      compilerOptions: { ...common, module: 'esnext', moduleResolution: 'bundler' },
      files: allEntrypoints.map(({ slug }) => `ts/${slug}.ts`),
    },
  }
  const tsc = join(consumerDir, 'node_modules', 'typescript', 'bin', 'tsc')
  for (const mode of modes) {
    writeFileSync(
      join(consumerDir, `tsconfig.${mode}.json`),
      `${JSON.stringify(configs[mode], null, 2)}\n`,
    )
    tscRuns.set(
      mode,
      run('node', [tsc, '-p', `tsconfig.${mode}.json`, '--pretty', 'false'], {
        cwd: consumerDir,
        env: consumerEnv(),
      }),
    )
  }
})

afterAll(async () => {
  await Promise.allSettled(tscRuns.values())
  if (!tmp) return
  if (process.env.PALISADE_KEEP_PACKAGING_TMP === '1') {
    console.log(`packaging: kept ${tmp}`)
    return
  }
  rmSync(tmp, { recursive: true, force: true })
})

function installedDir(pkg: WorkspacePackage): string {
  return join(consumerDir, 'node_modules', ...pkg.name.split('/'))
}

function entrypointsFor(pkg: WorkspacePackage): Entrypoint[] {
  const found = entrypoints.get(pkg.name)
  if (!found) throw new Error(`entry points of ${pkg.name} unknown; see the beforeAll error`)
  if (found.length === 0) throw new Error(`${pkg.name} exports no importable entry point`)
  return found
}

async function tscResult(mode: Mode): Promise<RunResult> {
  const pending = tscRuns.get(mode)
  if (!pending) throw new Error(`tsc (${mode}) was not started; see the beforeAll error`)
  return pending
}

describe('workspace', () => {
  it('has publishable packages under packages/*', () => {
    expect(packages.length, 'no non-private package found under packages/*').toBeGreaterThan(0)
  })

  it('npm resolved every @palisade/* dependency to the local tarballs', () => {
    const lock = JSON.parse(readFileSync(join(consumerDir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>
    }
    const names = new Set(packages.map((pkg) => pkg.name))
    const problems: string[] = []
    for (const [location, entry] of Object.entries(lock.packages)) {
      const name = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(location)?.[1]
      if (name === undefined || !names.has(name)) continue
      if (location !== `node_modules/${name}`) problems.push(`${location}: nested copy`)
      if (!entry.resolved?.startsWith('file:')) {
        problems.push(
          `${location}: resolved from ${String(entry.resolved)}, not the packed tarball`,
        )
      }
    }
    for (const name of names) {
      if (!(`node_modules/${name}` in lock.packages)) problems.push(`${name}: not installed`)
    }
    expect(problems).toEqual([])
  })

  it('attw allowlist entries name a package and give a reason', () => {
    const names = new Set(packages.map((pkg) => pkg.name))
    const problems = readAllowlist().flatMap((entry, index) => {
      const where = `ignoreRules[${index}]`
      const issues: string[] = []
      if (typeof entry.rule !== 'string' || entry.rule === '') issues.push(`${where}: no "rule"`)
      if (typeof entry.reason !== 'string' || entry.reason.trim() === '') {
        issues.push(`${where}: no "reason"`)
      }
      if (entry.package !== '*' && !names.has(entry.package)) {
        issues.push(`${where}: unknown package ${JSON.stringify(entry.package)}`)
      }
      return issues
    })
    expect(problems).toEqual([])
  })
})

describe('typescript', () => {
  it.each(modes)('tsc --noEmit passes for all packages under %s', async (mode) => {
    const result = await tscResult(mode)
    // Errors inside third-party declarations (a framework's @types) are theirs, not ours.
    const ours = parseTscOutput(`${result.stdout}\n${result.stderr}`).filter(
      (d) =>
        d.file === undefined ||
        !d.file.includes('node_modules/') ||
        d.file.includes('node_modules/@palisade/'),
    )
    expect(ours.map((d) => d.text).join('\n'), describeRun(result)).toBe('')
  })
})

describe.each(packages)('$name', (pkg) => {
  it('import() from ESM exposes named exports', () => {
    const failures: string[] = []
    for (const { specifier } of entrypointsFor(pkg)) {
      const probe = esmProbes.get(specifier)
      if (probe?.code !== 0) {
        failures.push(probe ? describeRun(probe) : `${specifier}: not probed`)
        continue
      }
      const report = parseExportsReport(probe)
      const file = fileURLToPath(report.resolved)
      if (relative(installedDir(pkg), file).startsWith('..')) {
        failures.push(`${specifier} resolved to ${file}, outside the installed package`)
      }
      if (report.keys.length === 0) failures.push(`${specifier} has no runtime exports`)
    }
    expect(failures.join('\n\n')).toBe('')
  })

  it('require() from CommonJS works and exposes the same exports', async () => {
    const failures: string[] = []
    for (const { specifier, slug } of entrypointsFor(pkg)) {
      const result = await run('node', [join('cjs', `${slug}.cjs`)], {
        cwd: consumerDir,
        env: consumerEnv(),
      })
      if (result.code !== 0) {
        failures.push(describeRun(result))
        continue
      }
      const cjs = parseExportsReport(result)
      const probe = esmProbes.get(specifier)
      if (probe?.code !== 0) continue // reported by the ESM test
      const esm = parseExportsReport(probe)
      if (cjs.resolved !== esm.resolved) {
        failures.push(`${specifier}: require() loads ${cjs.resolved}, import() ${esm.resolved}`)
      }
      if (cjs.keys.join() !== esm.keys.join()) {
        failures.push(
          `${specifier}: require() exposes [${cjs.keys.join(', ')}], import() [${esm.keys.join(', ')}]`,
        )
      }
    }
    expect(failures.join('\n\n')).toBe('')
  })

  it.each(modes)('types resolve under %s', async (mode) => {
    const result = await tscResult(mode)
    const ownFiles = new Set(
      entrypointsFor(pkg).flatMap(({ slug }) => [`ts/${slug}.ts`, `ts/${slug}.cts`]),
    )
    const diagnostics = parseTscOutput(result.stdout + result.stderr).filter(
      (d) =>
        d.file !== undefined &&
        (ownFiles.has(d.file) || d.file.startsWith(`node_modules/${pkg.name}/`)),
    )
    expect(
      diagnostics.map((d) => d.text).join('\n'),
      `tsc -p tsconfig.${mode}.json reported errors for ${pkg.name}`,
    ).toBe('')
  })

  it('declared value exports match the runtime exports', async () => {
    const result = await tscResult('nodenext')
    const failures: string[] = []
    for (const { specifier, slug } of entrypointsFor(pkg)) {
      const file = `ts/${slug}.exports.ts`
      if (!existsSync(join(consumerDir, file))) {
        failures.push(`${specifier}: runtime exports unknown, import() failed`)
        continue
      }
      for (const d of parseTscOutput(result.stdout + result.stderr)) {
        if (d.file === file) failures.push(d.text)
      }
    }
    expect(failures.join('\n')).toBe('')
  })

  it('publint --strict passes on the packed tarball', async () => {
    // The tarball from `pnpm pack` is exactly what gets published; linting it (rather than the
    // directory) also avoids re-packing inside packages/.
    const result = await run(
      'pnpm',
      ['exec', 'publint', 'run', tarballs.get(pkg.name)!, '--strict'],
      {
        cwd: root,
      },
    )
    expect(result.code, describeRun(result)).toBe(0)
  })

  it('attw --profile esm-only passes on the packed tarball', async () => {
    const ignoreRules = readAllowlist()
      .filter((entry) => entry.package === '*' || entry.package === pkg.name)
      .map((entry) => entry.rule)
    // The pnpm-packed tarball rather than `attw --pack <dir>`: that runs `npm pack`, which writes
    // into packages/ and leaves `workspace:*` dependencies unrewritten.
    const attwArgs = (...extra: string[]): string[] => [
      'exec',
      'attw',
      tarballs.get(pkg.name)!,
      '--profile',
      'esm-only',
      ...extra,
      ...(ignoreRules.length > 0 ? ['--ignore-rules', ...ignoreRules] : []),
    ]
    const result = await run('pnpm', attwArgs('--format', 'json'), { cwd: root })
    if (result.code !== 0) {
      // The JSON report is for machines; re-run for the table that says what is wrong.
      const table = await run('pnpm', attwArgs('--no-color', '--no-emoji'), { cwd: root })
      expect.fail(`attw found problems in ${pkg.name}:\n${describeRun(table)}`)
    }
    let report: { analysis?: { types?: unknown } } | undefined
    try {
      report = JSON.parse(result.stdout) as typeof report
    } catch {
      expect.fail(`attw printed no JSON report\n${describeRun(result)}`)
    }
    expect(report?.analysis?.types, `attw found no type declarations in ${pkg.name}`).not.toBe(
      false,
    )
  })
})

// The adapters declare `express ^4.21 || ^5` and `koa ^2.15 || ^3`; the workspace and the
// consumer above install the newest majors. This consumer installs the same tarballs with
// Express 4 and Koa 2 and runs the conformance suites of @palisade/testing against both.
const OLDEST_MAJORS = ['express@4', 'koa@2']

const OLDEST_MAJORS_SERVICE = `
import { createServer } from 'node:http'
import express from 'express'
import Koa from 'koa'
import * as onExpress from '@palisade/express'
import * as onKoa from '@palisade/koa'
import { createHealth } from '@palisade/health'
import { createVerifier } from '@palisade/jwt'
import { conformanceCases, healthConformanceCases, startDevIssuer } from '@palisade/testing'

const issuer = await startDevIssuer()
const verifier = createVerifier({ issuer: issuer.issuer, audience: 'api', allowInsecureHttp: true })
await verifier.ready()
const health = createHealth({ trustLoopback: false })
health.markStarted()

const app = express()
app.use(onExpress.healthRoutes(health))
app.use('/api', onExpress.auth(verifier))
app.get('/api/me', (req, res) => res.json({ subject: req.auth?.subject, scopes: req.auth?.scopes }))
app.get('/api/admin', onExpress.requireScopes('admin'), (req, res) =>
  res.json({ ok: true, subject: req.auth?.subject }),
)

const koa = new Koa()
koa.use(onKoa.healthRoutes(health))
const guard = onKoa.auth(verifier)
const admin = onKoa.requireScopes('admin')
koa.use(async (ctx, next) => {
  if (ctx.path === '/api/me') {
    await guard(ctx, async () => {
      ctx.body = { subject: ctx.state.auth?.subject, scopes: ctx.state.auth?.scopes }
    })
  } else if (ctx.path === '/api/admin') {
    await guard(ctx, () =>
      admin(ctx, async () => {
        ctx.body = { ok: true, subject: ctx.state.auth?.subject }
      }),
    )
  } else await next()
})
const handle = koa.callback()

const results = {}
for (const [name, server] of [
  [\`express \${(await import('express/package.json', { with: { type: 'json' } })).default.version}\`, createServer(app)],
  [\`koa \${(await import('koa/package.json', { with: { type: 'json' } })).default.version}\`, createServer((req, res) => void handle(req, res))],
]) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const baseUrl = \`http://127.0.0.1:\${server.address().port}\`
  const failed = []
  for (const c of conformanceCases) await c.run({ baseUrl, issuer }).catch((e) => failed.push(\`\${c.name}: \${e.message}\`))
  for (const c of healthConformanceCases) await c.run({ baseUrl }).catch((e) => failed.push(\`health: \${c.name}: \${e.message}\`))
  results[name] = { cases: conformanceCases.length + healthConformanceCases.length, failed }
  server.closeAllConnections()
  server.close()
}
await issuer.close()
process.stdout.write(JSON.stringify(results))
`

describe('the oldest framework majors the adapters declare', () => {
  let oldest: RunResult

  beforeAll(async () => {
    const dir = join(tmp, 'oldest-majors')
    mkdirSync(dir)
    await installProject(dir, 'palisade-oldest-majors', [...tarballs.values(), ...OLDEST_MAJORS])
    writeFileSync(join(dir, 'service.mjs'), OLDEST_MAJORS_SERVICE)
    oldest = await run('node', ['service.mjs'], {
      cwd: dir,
      env: { ...consumerEnv(), NODE_ENV: 'test' },
    })
  })

  it('passes the conformance suites on Express 4 and Koa 2', () => {
    expect(oldest.code, describeRun(oldest)).toBe(0)
    const results = JSON.parse(oldest.stdout) as Record<string, { cases: number; failed: string[] }>
    expect(Object.keys(results)).toEqual([
      expect.stringMatching(/^express 4\./),
      expect.stringMatching(/^koa 2\./),
    ])
    for (const result of Object.values(results)) {
      expect(result.failed).toEqual([])
      expect(result.cases).toBeGreaterThan(20)
    }
  })
})
