// An in-process Vault protocol fake: the HTTP API of the endpoints @palisade/secrets uses, with the
// request and response shapes, status codes and headers documented by HashiCorp
// (https://developer.hashicorp.com/vault/api-docs): KV v2 read, token lookup-self/renew-self,
// AppRole and Kubernetes login, X-Vault-Token, X-Vault-Namespace, 403 and 503 bodies.
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createServer as createNetServer } from 'node:net'

interface TokenInfo {
  ttl: number
  renewable: boolean
  expiresAt: number
  namespace: string | undefined
  maxTtl: number
  issuedAt: number
}

interface Version {
  data: Record<string, unknown> | null
  created: string
  deleted: string
  destroyed: boolean
}

export interface RecordedRequest {
  method: string
  path: string
  token: string | undefined
  namespace: string | undefined
  body: unknown
}

export class VaultFake {
  sealed = false
  /**
   * When set, every request is recorded and answered `307 Temporary Redirect` to the same path
   * on this origin, like a standby node pointing at the active one (or a hostile proxy).
   */
  redirectTo: string | undefined
  readonly requests: RecordedRequest[] = []
  readonly #tokens = new Map<string, TokenInfo>()
  readonly #kv = new Map<string, Version[]>()
  readonly #roles = new Map<string, { secretId: string; ttl: number; maxTtl: number }>()
  readonly #k8s = new Map<string, { jwt: string; ttl: number }>()
  #server: Server | undefined
  address = ''

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      void this.#handle(req, res)
    })
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve))
    this.address = `http://127.0.0.1:${String((this.#server.address() as AddressInfo).port)}`
    return this
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections()
    const server = this.#server
    if (server === undefined) return
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve()
      })
    })
  }

  /** Issues a token, like `vault token create -ttl=... [-namespace=...]`. */
  token(
    options: { ttl?: number; renewable?: boolean; namespace?: string; maxTtl?: number } = {},
  ): string {
    const id = `hvs.${randomBytes(18).toString('base64url')}`
    const ttl = options.ttl ?? 0
    this.#tokens.set(id, {
      ttl,
      renewable: options.renewable ?? ttl > 0,
      expiresAt: ttl > 0 ? Date.now() + ttl * 1000 : Infinity,
      namespace: options.namespace,
      maxTtl: options.maxTtl ?? 0,
      issuedAt: Date.now(),
    })
    return id
  }

  /** Revokes or expires a token now. */
  expire(token: string): void {
    const info = this.#tokens.get(token)
    if (info !== undefined) info.expiresAt = 0
  }

  /** Writes a new version, like `vault kv put <mount>/<path> k=v`. */
  put(mount: string, path: string, data: Record<string, unknown>): number {
    const versions = this.#kv.get(`${mount}/${path}`) ?? []
    versions.push({ data, created: new Date().toISOString(), deleted: '', destroyed: false })
    this.#kv.set(`${mount}/${path}`, versions)
    return versions.length
  }

  /** Soft-deletes a version, like `vault kv delete -versions=N`. */
  delete(mount: string, path: string, version: number): void {
    const entry = this.#kv.get(`${mount}/${path}`)?.[version - 1]
    if (entry !== undefined) entry.deleted = new Date().toISOString()
  }

  approle(roleId: string, options: { ttl?: number; maxTtl?: number } = {}): string {
    const secretId = randomUUID()
    this.#roles.set(roleId, { secretId, ttl: options.ttl ?? 1200, maxTtl: options.maxTtl ?? 0 })
    return secretId
  }

  kubernetesRole(role: string, jwt: string, ttl = 1200): void {
    this.#k8s.set(role, { jwt, ttl })
  }

  #valid(token: string | undefined, namespace: string | undefined): TokenInfo | undefined {
    if (token === undefined) return undefined
    const info = this.#tokens.get(token)
    if (info === undefined || info.expiresAt <= Date.now()) return undefined
    if (info.namespace !== namespace) return undefined
    return info
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<true> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString()
    let body: Record<string, unknown> = {}
    try {
      body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>)
    } catch {
      return send(res, 400, { errors: ['failed to parse JSON input'] })
    }
    const url = new URL(req.url ?? '/', 'http://vault')
    const token = header(req, 'x-vault-token')
    const namespace = header(req, 'x-vault-namespace')
    this.requests.push({ method: req.method ?? '', path: url.pathname, token, namespace, body })
    if (this.redirectTo !== undefined) {
      res.writeHead(307, { location: `${this.redirectTo}${req.url ?? '/'}`, 'content-length': 0 })
      res.end()
      return true
    }
    if (this.sealed) return send(res, 503, { errors: ['Vault is sealed'] })
    const path = url.pathname
    const denied = (): true => send(res, 403, { errors: ['permission denied'] })

    if (path === '/v1/auth/token/lookup-self' && req.method === 'GET') {
      const info = this.#valid(token, namespace)
      if (info === undefined) return denied()
      const remaining =
        info.ttl > 0 ? Math.max(0, Math.round((info.expiresAt - Date.now()) / 1000)) : 0
      return send(res, 200, {
        request_id: randomUUID(),
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: {
          accessor: randomUUID(),
          creation_time: Math.floor(info.issuedAt / 1000),
          creation_ttl: info.ttl,
          display_name: 'token',
          entity_id: '',
          expire_time: info.ttl > 0 ? new Date(info.expiresAt).toISOString() : null,
          explicit_max_ttl: info.maxTtl,
          id: token,
          meta: null,
          num_uses: 0,
          orphan: false,
          path: 'auth/token/create',
          policies: ['default', 'app'],
          renewable: info.renewable,
          ttl: remaining,
          type: 'service',
        },
        wrap_info: null,
        warnings: null,
        auth: null,
      })
    }
    if (path === '/v1/auth/token/renew-self' && (req.method === 'POST' || req.method === 'PUT')) {
      const info = this.#valid(token, namespace)
      if (info === undefined) return denied()
      if (!info.renewable) return send(res, 400, { errors: ['lease is not renewable'] })
      let ttl = typeof body['increment'] === 'number' ? body['increment'] : info.ttl
      if (info.maxTtl > 0) {
        const left = Math.floor((info.issuedAt + info.maxTtl * 1000 - Date.now()) / 1000)
        ttl = Math.max(0, Math.min(ttl, left))
      }
      info.expiresAt = Date.now() + ttl * 1000
      return send(res, 200, {
        auth: {
          client_token: token,
          policies: ['default', 'app'],
          metadata: {},
          lease_duration: ttl,
          renewable: info.renewable,
        },
      })
    }
    const login = /^\/v1\/auth\/([^/]+)\/login$/.exec(path)
    if (login !== null && (req.method === 'POST' || req.method === 'PUT')) {
      let ttl: number
      let maxTtl = 0
      if (login[1] === 'approle') {
        const role = this.#roles.get(String(body['role_id']))
        if (role === undefined || role.secretId !== body['secret_id']) {
          return send(res, 400, { errors: ['invalid role or secret ID'] })
        }
        ttl = role.ttl
        maxTtl = role.maxTtl
      } else if (login[1] === 'kubernetes') {
        const role = this.#k8s.get(String(body['role']))
        if (role === undefined) return send(res, 400, { errors: ['invalid role name'] })
        if (role.jwt !== body['jwt']) return denied()
        ttl = role.ttl
      } else {
        return send(res, 404, { errors: [`no handler for route "${path}"`] })
      }
      const issued = this.token({
        ttl,
        renewable: true,
        maxTtl,
        ...(namespace === undefined ? {} : { namespace }),
      })
      return send(res, 200, {
        request_id: randomUUID(),
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: null,
        wrap_info: null,
        warnings: null,
        auth: {
          client_token: issued,
          accessor: randomUUID(),
          policies: ['default', 'app'],
          token_policies: ['default', 'app'],
          metadata: { role_name: String(body['role'] ?? body['role_id']) },
          lease_duration: ttl,
          renewable: true,
          entity_id: randomUUID(),
          token_type: 'service',
          orphan: true,
        },
      })
    }
    const kv = /^\/v1\/([^/]+)\/data\/(.+)$/.exec(path)
    if (kv !== null && req.method === 'GET') {
      if (this.#valid(token, namespace) === undefined) return denied()
      const versions = this.#kv.get(`${kv[1]!}/${kv[2]!}`)
      if (versions === undefined) return send(res, 404, { errors: [] })
      const wanted = url.searchParams.get('version')
      const number = wanted === null || wanted === '0' ? versions.length : Number(wanted)
      const version = versions[number - 1]
      if (version === undefined) return send(res, 404, { errors: [] })
      const metadata = {
        created_time: version.created,
        custom_metadata: null,
        deletion_time: version.deleted,
        destroyed: version.destroyed,
        version: number,
      }
      if (version.deleted !== '' || version.destroyed) {
        return send(res, 404, { request_id: randomUUID(), data: { data: null, metadata } })
      }
      return send(res, 200, {
        request_id: randomUUID(),
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: { data: version.data, metadata },
        wrap_info: null,
        warnings: null,
        auth: null,
      })
    }
    return send(res, 404, { errors: [`no handler for route "${path}"`] })
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

// Returns true so that handlers can `return send(...)`.
function send(res: ServerResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
  return true
}

/** A listener that accepts connections and never answers: a network timeout. */
export async function silentListener(): Promise<{ address: string; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    address: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve()
        }),
      )
    },
  }
}
