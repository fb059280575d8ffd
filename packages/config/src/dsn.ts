import { isLoopbackHostname } from '@palisade/errors'
import type { Finding } from './issues.js'
import { assessSecret } from './strength.js'

/** The families of connection strings Palisade understands. */
export type DsnFamily = 'postgres' | 'mysql' | 'redis' | 'amqp' | 'nats' | 'mongodb' | 'sqlite'

const SCHEMES: Readonly<Record<string, { family: DsnFamily; tls: boolean }>> = {
  postgres: { family: 'postgres', tls: false },
  postgresql: { family: 'postgres', tls: false },
  mysql: { family: 'mysql', tls: false },
  mariadb: { family: 'mysql', tls: false },
  redis: { family: 'redis', tls: false },
  rediss: { family: 'redis', tls: true },
  amqp: { family: 'amqp', tls: false },
  amqps: { family: 'amqp', tls: true },
  nats: { family: 'nats', tls: false },
  tls: { family: 'nats', tls: true },
  mongodb: { family: 'mongodb', tls: false },
  'mongodb+srv': { family: 'mongodb', tls: true },
  sqlite: { family: 'sqlite', tls: false },
  sqlite3: { family: 'sqlite', tls: false },
  file: { family: 'sqlite', tls: false },
}

/** Every scheme {@link parseDsn} accepts. */
export const KNOWN_SCHEMES: readonly string[] = Object.freeze(Object.keys(SCHEMES))

/** A parsed connection string. `password` is present only for checks and never printed. */
export interface ParsedDsn {
  readonly scheme: string
  readonly family: DsnFamily
  readonly username: string | undefined
  readonly password: string | undefined
  /** Host names (lower case, IPv6 without brackets; a unix socket path as is) with ports. */
  readonly hosts: readonly DsnHost[]
  readonly path: string
  readonly params: URLSearchParams
}

/** One host of a connection string. */
export interface DsnHost {
  readonly name: string
  readonly port: number | undefined
}

/** Thrown by {@link parseDsn}; the message describes the shape, never the input. */
export class DsnSyntaxError extends Error {
  override name = 'DsnSyntaxError'
}

/**
 * Parses a connection string without URL quirks of special schemes: several hosts
 * (`mongodb://a:27017,b:27017/db`), unix sockets (`postgres:///db?host=/run/postgresql`) and
 * percent-encoded credentials are understood.
 */
export function parseDsn(value: string): ParsedDsn {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(value.trim())
  if (match === null) throw new DsnSyntaxError('has no scheme (expected scheme://...)')
  const scheme = match[1]!.toLowerCase()
  const known = SCHEMES[scheme]
  if (known === undefined) {
    throw new DsnSyntaxError(
      `uses the unknown scheme "${scheme}:" (known: ${KNOWN_SCHEMES.map((s) => `${s}:`).join(', ')})`,
    )
  }
  let rest = match[2]!
  let username: string | undefined
  let password: string | undefined
  let hosts: DsnHost[] = []
  if (known.family === 'sqlite') {
    // sqlite:///abs/path.db, sqlite://relative.db, sqlite::memory:, file::memory:?cache=shared
    if (rest.startsWith('//')) rest = rest.slice(2)
  } else if (rest.startsWith('//')) {
    rest = rest.slice(2)
    const end = rest.search(/[/?#]/)
    const authority = end === -1 ? rest : rest.slice(0, end)
    rest = end === -1 ? '' : rest.slice(end)
    const at = authority.lastIndexOf('@')
    const hostPart = at === -1 ? authority : authority.slice(at + 1)
    if (at !== -1) {
      const userinfo = authority.slice(0, at)
      const colon = userinfo.indexOf(':')
      username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name')
      password = colon === -1 ? undefined : decode(userinfo.slice(colon + 1), 'password')
      if (username === '') username = undefined
    }
    hosts = hostPart === '' ? [] : hostPart.split(',').map((h) => parseHost(decode(h, 'host')))
  } else {
    throw new DsnSyntaxError(`must look like ${scheme}://host/...`)
  }
  const queryAt = rest.indexOf('?')
  const hashAt = rest.indexOf('#')
  const pathEnd = queryAt === -1 ? (hashAt === -1 ? rest.length : hashAt) : queryAt
  const query = queryAt === -1 ? '' : rest.slice(queryAt + 1, hashAt > queryAt ? hashAt : undefined)
  return {
    scheme,
    family: known.family,
    username,
    password,
    hosts,
    path: decode(rest.slice(0, pathEnd), 'path'),
    params: new URLSearchParams(query),
  }
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new DsnSyntaxError(`has a badly percent-encoded ${what}`)
  }
}

function parseHost(host: string): DsnHost {
  if (host.startsWith('/')) return { name: host, port: undefined } // unix socket, percent-encoded
  const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(host)
  const [name, port] = v6 ? [v6[1]!, v6[2]] : splitPort(host)
  if (name === '' && port !== undefined) throw new DsnSyntaxError('has a port but no host')
  if (port !== undefined && port !== '') {
    const n = Number(port)
    if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
      throw new DsnSyntaxError('has a port that is not a number from 1 to 65535')
    }
  }
  if (name !== '' && !/^[\p{L}\p{N}._:%-]+$/u.test(name)) {
    throw new DsnSyntaxError('has a host with characters a host name cannot contain')
  }
  return {
    name: name.toLowerCase(),
    port: port === undefined || port === '' ? undefined : Number(port),
  }
}

function splitPort(host: string): [string, string | undefined] {
  const colon = host.lastIndexOf(':')
  return colon === -1 ? [host, undefined] : [host.slice(0, colon), host.slice(colon + 1)]
}

/**
 * True for a host that never leaves the machine: a unix socket, `localhost`, or a loopback
 * address (127.0.0.0/8, ::1). `*.localhost` names are resolved through DNS on many systems and
 * do not count.
 */
export function isLocalHost(host: string): boolean {
  if (host === '' || host.startsWith('/')) return true
  return isLoopbackHostname(host)
}

/** Options that decide what {@link assessDsn} refuses. */
export interface DsnPolicy {
  readonly schemes: readonly string[] | undefined
  readonly allowSqlite: boolean
  readonly allowInMemory: boolean
  readonly requireTls: boolean
  readonly minPasswordLength: number
}

function usesTls(dsn: ParsedDsn): boolean {
  if (SCHEMES[dsn.scheme]?.tls === true) return true
  const p = dsn.params
  const yes = (v: string | null) =>
    v !== null && /^(true|1|yes|on|required?|verify[-_].*)$/i.test(v)
  switch (dsn.family) {
    case 'postgres':
      return /^(require|verify-ca|verify-full)$/i.test(p.get('sslmode') ?? '') || yes(p.get('ssl'))
    case 'mysql':
      return (
        /^(required|verify_ca|verify_identity)$/i.test(
          p.get('ssl-mode') ?? p.get('sslmode') ?? '',
        ) ||
        yes(p.get('ssl')) ||
        (p.get('ssl')?.startsWith('{') ?? false) ||
        yes(p.get('tls'))
      )
    case 'mongodb':
    case 'nats':
    case 'amqp':
    case 'redis':
      return yes(p.get('tls')) || yes(p.get('ssl'))
    case 'sqlite':
      return true
  }
}

function isInMemory(dsn: ParsedDsn): boolean {
  const path = dsn.path.replace(/^\/+/, '')
  return (
    path === ':memory:' ||
    path === '' ||
    dsn.hosts.some((h) => h.name === ':memory:') ||
    dsn.params.get('mode') === 'memory'
  )
}

const TLS_HINT: Readonly<Record<DsnFamily, string>> = {
  postgres: 'add `sslmode=verify-full` (or `require`)',
  mysql: 'add `ssl-mode=VERIFY_IDENTITY` (or `REQUIRED`)',
  redis: 'use the `rediss:` scheme',
  amqp: 'use the `amqps:` scheme',
  nats: 'use the `tls:` scheme or add `tls=true`',
  mongodb: 'add `tls=true` or use `mongodb+srv:`',
  sqlite: '',
}

/**
 * Judges a parsed connection string against a policy and returns the findings, the same in
 * every environment: the caller refuses them all in a production-like environment and reports
 * the unsafe ones elsewhere as warnings, so that development shows what production would refuse.
 */
export function assessDsn(dsn: ParsedDsn, policy: DsnPolicy): Finding[] {
  const findings: Finding[] = []
  if (policy.schemes !== undefined && !policy.schemes.includes(dsn.scheme)) {
    findings.push({
      kind: 'invalid',
      rule: 'scheme',
      message: `uses the scheme "${dsn.scheme}:", which this service does not accept`,
      fix: `use one of: ${policy.schemes.map((s) => `${s}:`).join(', ')}`,
    })
    return findings
  }
  if (dsn.family !== 'sqlite' && dsn.hosts.length === 0 && !dsn.params.has('host')) {
    if (dsn.family !== 'postgres') {
      findings.push({
        kind: 'invalid',
        rule: 'host',
        message: 'names no host',
        fix: `give the server's host, e.g. ${dsn.scheme}://db.internal:port/...`,
      })
    }
  }
  if (dsn.password !== undefined) {
    for (const finding of assessSecret(dsn.password, {
      minLength: policy.minPasswordLength,
      noun: 'the password in the URL',
    })) {
      findings.push(finding.kind === 'weak' ? { ...finding, kind: 'unsafe' } : finding)
    }
  }
  if (dsn.family === 'sqlite' && !policy.allowSqlite) {
    findings.push({
      kind: 'unsafe',
      rule: 'sqlite',
      message: 'points to SQLite, a local file that is not shared between instances',
      fix: 'point it to the production database server, or pass `allowSqlite: true` if SQLite is intended',
    })
  }
  if (isInMemory(dsn) && dsn.family === 'sqlite' && !policy.allowInMemory) {
    findings.push({
      kind: 'unsafe',
      rule: 'in-memory',
      message: 'points to an in-memory database, whose data is lost on restart',
      fix: 'point it to a persistent database, or pass `allowInMemory: true` if that is intended',
    })
  }
  const hosts = dsn.hosts.length > 0 ? dsn.hosts.map((h) => h.name) : [dsn.params.get('host') ?? '']
  const remote = hosts.filter((h) => !isLocalHost(h))
  if (policy.requireTls && remote.length > 0 && !usesTls(dsn)) {
    findings.push({
      kind: 'unsafe',
      rule: 'tls-required',
      message: `connects to ${remote.join(', ')} without TLS`,
      fix: `${TLS_HINT[dsn.family]}; or pass \`requireTls: false\` to waive this for a trusted network`,
    })
  }
  return findings
}

/**
 * Renders a connection string for a report: scheme, hosts and path, never the credentials.
 * `given` is the string as written, whose `//` is kept or left out as the user wrote it
 * (`file:./dev.db`, `sqlite:///var/lib/app.db`, `postgres:///orders`).
 */
export function describeDsn(dsn: ParsedDsn, given: string): string {
  const slashes = /^[a-z][a-z0-9+.-]*:\/\//i.test(given.trim()) ? '//' : ''
  if (dsn.family === 'sqlite') return `${dsn.scheme}:${slashes}${dsn.path}`
  const userinfo = dsn.username !== undefined || dsn.password !== undefined ? '***@' : ''
  const path = dsn.path.length > 60 ? `${dsn.path.slice(0, 60)}…` : dsn.path
  return `${dsn.scheme}:${slashes}${userinfo}${dsn.hosts.map(showHost).join(',')}${path}`
}

function showHost(host: DsnHost): string {
  const name = host.name.includes(':') ? `[${host.name}]` : host.name
  return host.port === undefined ? name : `${name}:${host.port}`
}
