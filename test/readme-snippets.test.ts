// Type-checks every TypeScript block of every README under `strict`, as a user who copies one
// into an ESM project would compile it. Each block becomes its own module in a folder inside the
// repository, so that the workspace packages and their dependencies resolve, and one `tsc` run
// checks them all; each diagnostic is reported at its README file and line.
//
// A block may be preceded by one of these HTML comments:
//   <!-- snippet-context: pool, express-app -->
//       declarations from CONTEXTS below, put before the block: the names a partial example
//       takes as given (the service's own application, pool, logger)
//   <!-- snippet: skip (why) -->
//       not checked: for a block that is deliberately partial; the reason is required and the
//       block must be listed in SKIPPED below
// Prefer complete blocks, imports included: users copy them. KEEP_SNIPPETS=1 keeps the generated
// folder (test/.snippets/run-*) for a look at what tsc saw.
import { execFile } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
} from 'node:fs'
import { rm, rmdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SNIPPETS = join(ROOT, 'test', '.snippets')

/**
 * Shared preambles a block names with `<!-- snippet-context: name, ... -->`: what the surrounding
 * text has already built (an application, a database pool, a logger), declared with its type.
 */
const CONTEXTS: Record<string, string> = {
  'express-app': "declare const app: import('express').Express",
  'fastify-app': "declare const app: import('fastify').FastifyInstance",
  'koa-app': "declare const app: import('koa')",
  authenticator: "declare const authenticator: import('@palisade/jwt').Authenticator",
  // @palisade/jwt's own README names its authenticator `auth`.
  auth: "declare const auth: import('@palisade/jwt').Authenticator",
  health: "declare const health: import('@palisade/health').Health",
  pool: "declare const pool: import('pg').Pool",
  redis: "declare const redis: import('ioredis').Redis",
  logger: "declare const logger: import('pino').Logger",
  spec: "declare const spec: Record<string, import('@palisade/secrets').SecretSpec>",
  issuer: "declare const issuer: import('@palisade/testing').DevIssuer",
  secrets: "declare const secrets: import('@palisade/secrets').Secrets",
  'node-request': [
    "declare const req: import('node:http').IncomingMessage",
    "declare const res: import('node:http').ServerResponse",
  ].join('\n'),
  consumer: 'declare const consumer: { close(): Promise<void> }',
  'express-handlers': [
    "declare const bulkImport: import('express').RequestHandler",
    "declare const renderWidget: import('express').RequestHandler",
    "declare const sendRaw: import('express').RequestHandler",
  ].join('\n'),
  'fastify-handlers': [
    "declare const bulkImport: import('fastify').RouteHandlerMethod",
    "declare const renderWidget: import('fastify').RouteHandlerMethod",
  ].join('\n'),
}

/** The blocks left unchecked, as `file: reason`; keep this short. */
const SKIPPED: readonly string[] = []

interface Block {
  /** README path relative to the repository root. */
  readonly file: string
  /** 1-based README line of the block's first line of code. */
  readonly line: number
  readonly code: string
  readonly contexts: readonly string[]
  readonly skip: string | undefined
}

function readmes(): string[] {
  const found = ['README.md', 'bench/README.md']
  for (const dir of ['packages', 'examples']) {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) found.push(`${dir}/${entry.name}/README.md`)
    }
  }
  return found.filter((file) => existsSync(join(ROOT, file))).sort()
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/
const CONTEXT = /^\s*<!--\s*snippet-context:\s*([\w-]+(?:\s*,\s*[\w-]+)*)\s*-->\s*$/
const SKIP = /^\s*<!--\s*snippet:\s*skip\s*\((.+)\)\s*-->\s*$/
const DIRECTIVE = /^\s*<!--\s*snippet/

function extract(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split(/\r?\n/)
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!)
    if (!open) continue
    const [, indent = '', fence = '', lang = ''] = open
    let end = i + 1
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++
    if (lang === 'ts' || lang === 'typescript') {
      // The directive is the closest non-blank line above the fence.
      let above = i - 1
      while (above >= 0 && lines[above]!.trim() === '') above--
      const directive = above >= 0 ? lines[above]! : ''
      const context = CONTEXT.exec(directive)?.[1]
      const contexts = context?.split(',').map((name) => name.trim()) ?? []
      const skip = SKIP.exec(directive)?.[1]?.trim()
      if (DIRECTIVE.test(directive) && context === undefined && skip === undefined) {
        throw new Error(`${file}:${above + 1}: unreadable snippet directive: ${directive.trim()}`)
      }
      const code = lines
        .slice(i + 1, end)
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
        .join('\n')
      blocks.push({ file, line: i + 2, code, contexts, skip })
    }
    i = end
  }
  return blocks
}

const blocks = readmes().flatMap(extract)
const checked = blocks.filter((block) => block.skip === undefined)

/**
 * Workspace packages and third-party modules that snippets import but that the repository root
 * does not depend on: the workspace packages by their built types, the others from the package
 * that has them as a (dev) dependency.
 */
function paths(): Record<string, string[]> {
  const mapped: Record<string, string[]> = {}
  for (const name of readdirSync(join(ROOT, 'packages'))) {
    if (existsSync(join(ROOT, 'node_modules', '@palisade', name))) continue
    const types = join(ROOT, 'packages', name, 'dist', 'index.d.ts')
    if (existsSync(types)) mapped[`@palisade/${name}`] = [types]
  }
  const borrowed: Record<string, string> = {
    pg: 'health/node_modules/@types/pg',
    pino: 'http/node_modules/pino',
    'express-rate-limit': 'express/node_modules/express-rate-limit',
    '@aws-sdk/client-secrets-manager': 'secrets/node_modules/@aws-sdk/client-secrets-manager',
  }
  for (const [module, dir] of Object.entries(borrowed)) {
    const path = join(ROOT, 'packages', dir)
    if (existsSync(path)) mapped[module] = [typesOf(realpathSync(path))]
  }
  return mapped
}

/** A package's declaration entry for `import` (`paths` take a file, not a package folder). */
function typesOf(dir: string): string {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    types?: string
    exports?: { '.'?: { import?: { types?: string } } }
  }
  return join(dir, manifest.exports?.['.']?.import?.types ?? manifest.types ?? 'index.d.ts')
}

interface Placed {
  readonly block: Block
  readonly path: string
  /** The declarations of the block's contexts, put before its first line. */
  readonly preamble: string
  readonly offset: number
}

let dir = ''
let placed: Placed[] = []
/** Diagnostics by block, and those that belong to no block (the configuration, a preamble). */
const found = new Map<Block | undefined, string[]>()

function report(block: Block | undefined, message: string): void {
  const list = found.get(block) ?? []
  list.push(message)
  found.set(block, list)
}

beforeAll(async () => {
  mkdirSync(SNIPPETS, { recursive: true })
  dir = mkdtempSync(join(SNIPPETS, 'run-'))
  placed = checked.map((block, index) => {
    const preamble = block.contexts.map((name) => `${CONTEXTS[name] ?? ''}\n`).join('')
    const offset = preamble.split('\n').length - 1
    return { block, path: join(dir, `snippet${index}.ts`), preamble, offset }
  })
  await Promise.all([
    // `export {}` makes every block a module, so top-level await is allowed and one block's
    // names never clash with another's.
    ...placed.map(({ block, path, preamble }) =>
      writeFile(path, `${preamble}${block.code}\nexport {}\n`),
    ),
    writeFile(join(dir, 'package.json'), '{ "type": "module" }\n'),
    writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            strict: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            types: ['node'],
            noEmit: true,
            skipLibCheck: true,
            // Snippets are documentation: `import { type X }` and plain imports read alike.
            verbatimModuleSyntax: false,
            paths: paths(),
          },
          files: placed.map(({ path }) => relative(dir, path)),
        },
        null,
        2,
      ),
    ),
  ])
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const output = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
      // tsc exits non-zero when it reports a diagnostic: the output is what matters.
      (_error, stdout, stderr) => {
        resolve(`${stdout}${stderr}`)
      },
    )
  })
  const byPath = new Map(placed.map((entry) => [entry.path, entry]))
  let last: Block | undefined
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue
    const match = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line)
    if (!match) {
      // Continuation lines of the previous diagnostic are indented; anything else is global.
      if (/^\s/.test(line)) report(last, `  ${line.trim()}`)
      else report((last = undefined), line)
      continue
    }
    const [, file = '', row = '', column = '', message = ''] = match
    const entry = byPath.get(join(dir, file))
    const inBlock = entry !== undefined && Number(row) > entry.offset
    last = inBlock ? entry.block : undefined
    if (entry && inBlock) {
      const readmeLine = entry.block.line + Number(row) - entry.offset - 1
      report(entry.block, `${entry.block.file}:${readmeLine}:${column} ${message}`)
    } else if (entry) {
      report(
        undefined,
        `${entry.block.file}:${entry.block.line} (contexts ${entry.block.contexts.join(', ')}, line ${row}:${column}) ${message}`,
      )
    } else {
      report(undefined, line)
    }
  }
}, 120_000)

afterAll(async () => {
  if (process.env['KEEP_SNIPPETS'] !== undefined || dir === '') return
  await rm(dir, { recursive: true, force: true })
  // Only when empty: another run may be using it.
  await rmdir(SNIPPETS).catch(() => undefined)
})

describe('README TypeScript snippets', () => {
  it('finds the blocks', () => {
    expect(checked.length).toBeGreaterThan(0)
  })

  it('names only known contexts', () => {
    const unknown = blocks.flatMap((block) =>
      block.contexts
        .filter((name) => !(name in CONTEXTS))
        .map((name) => `${block.file}:${block.line} names an unknown context "${name}"`),
    )
    expect(unknown).toEqual([])
  })

  it('keeps only contexts that a block names', () => {
    const named = new Set(blocks.flatMap((block) => block.contexts))
    expect(Object.keys(CONTEXTS).filter((name) => !named.has(name))).toEqual([])
  })

  it('skips only the blocks listed in SKIPPED, each with its reason', () => {
    const skipped = blocks
      .filter((block) => block.skip !== undefined)
      .map((block) => `${block.file}: ${block.skip ?? ''}`)
    expect(skipped).toEqual(SKIPPED)
  })

  it('compiles the snippets as a whole (configuration and contexts)', () => {
    expect(found.get(undefined) ?? [], 'tsc reported outside any README block').toEqual([])
  })

  it.each(checked.map((block) => [`${block.file}:${block.line}`, block] as const))(
    '%s type-checks',
    (where, block) => {
      const diagnostics = found.get(block) ?? []
      expect(diagnostics, `the TypeScript block at ${where} does not compile`).toEqual([])
    },
  )
})
