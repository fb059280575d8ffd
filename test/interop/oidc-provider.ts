import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'
import type * as oidcProvider from 'oidc-provider'
import type { Configuration, ResourceServer } from 'oidc-provider'
import { listen } from '../support/server.js'

type OidcProviderModule = typeof oidcProvider
type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/** A private signing key of the provider, as a JWK with its `kid`. */
export interface SigningKey {
  readonly kid: string
  readonly jwk: JWK
}

/** Generates an ES256 signing key for the provider's `jwks` configuration. */
export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(privateKey)
  return { kid, jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' } }
}

/** Options of {@link startOidcProvider}. */
export interface OidcProviderOptions {
  /** The signing keys, first one signs. */
  readonly keys: readonly SigningKey[]
  /** Resource indicators (RFC 8707) the provider issues JWT access tokens for. */
  readonly resources: readonly string[]
  /** Scopes every resource server accepts. */
  readonly scopes: readonly string[]
}

/** A running oidc-provider on a loopback port. */
export interface OidcProvider {
  /** `http://127.0.0.1:<port>`, the `iss` of its tokens. */
  readonly issuer: string
  readonly clientId: string
  /** The `kid`s published at its `jwks_uri` right now. */
  publishedKids: () => Promise<string[]>
  /** A client-credentials access token for `resource`, from the discovered token endpoint. */
  token: (request: { scope: string; resource: string }) => Promise<string>
  /**
   * Restarts the provider with another key set (first key signs) at the same address: a new
   * Provider instance, with its own keystore and storage, takes over the listening socket.
   */
  restart: (keys: readonly SigningKey[]) => Promise<void>
  close: () => Promise<void>
}

// oidc-provider announces development-mode defaults (in-memory adapter, unsupported Node.js
// release, ...) through console.warn/info; those notices say nothing about what is tested here.
function silenceProviderNotices(): () => void {
  const { warn, info } = console
  const filter =
    (write: (...args: unknown[]) => void) =>
    (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return
      write(...args)
    }
  console.warn = filter(warn)
  console.info = filter(info)
  return () => {
    console.warn = warn
    console.info = info
  }
}

function configuration(
  oidc: OidcProviderModule,
  keys: readonly SigningKey[],
  options: OidcProviderOptions,
  client: { id: string; secret: string },
): Configuration {
  const resources = new Set(options.resources)
  return {
    clients: [
      {
        client_id: client.id,
        client_secret: client.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        // The default (RS256) needs an RSA key in the key set; this one holds EC keys only.
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: keys.map((key) => key.jwk) },
    cookies: { keys: ['interop-cookie-signing-key-not-a-secret'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx, resource): ResourceServer => {
          if (!resources.has(resource)) throw new oidc.errors.InvalidTarget()
          return {
            scope: options.scopes.join(' '),
            audience: resource,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
  }
}

async function json(response: Response, what: string): Promise<Record<string, unknown>> {
  const text = await response.text()
  if (!response.ok) throw new Error(`${what} answered HTTP ${response.status}: ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

/**
 * Starts a real oidc-provider (in this process, on `127.0.0.1` and a free port) with the
 * client-credentials grant, resource indicators and JWT access tokens (RFC 9068).
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const restore = silenceProviderNotices()
  try {
    const oidc = await import('oidc-provider')
    const client = { id: 'palisade-interop', secret: 'interop-client-secret-not-a-real-one' }
    let handler: Handler | undefined
    const server: Server = createServer((req, res) => {
      if (handler === undefined) {
        res.writeHead(503).end()
        return
      }
      handler(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
    })
    const listening = await listen(server)
    const issuer = listening.url

    const boot = (keys: readonly SigningKey[]): void => {
      const provider = new oidc.Provider(issuer, configuration(oidc, keys, options, client))
      handler = provider.callback()
    }
    boot(options.keys)

    const metadata = async (): Promise<Record<string, unknown>> =>
      json(await fetch(`${issuer}/.well-known/openid-configuration`), 'discovery')

    return {
      issuer,
      clientId: client.id,
      async publishedKids() {
        const jwksUri = (await metadata())['jwks_uri'] as string
        const set = (await json(await fetch(jwksUri), 'jwks_uri')) as { keys: JWK[] }
        return set.keys.map((key) => key.kid ?? '')
      },
      async token({ scope, resource }) {
        const tokenEndpoint = (await metadata())['token_endpoint'] as string
        const basic = Buffer.from(
          `${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`,
        ).toString('base64')
        const response = await fetch(tokenEndpoint, {
          method: 'POST',
          headers: {
            authorization: `Basic ${basic}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
        })
        const body = await json(response, 'token endpoint')
        if (body['token_type'] !== 'Bearer' || typeof body['access_token'] !== 'string')
          throw new Error(`unexpected token response: ${JSON.stringify(body)}`)
        return body['access_token']
      },
      restart(keys) {
        // The listening socket and its keep-alive connections stay, as behind a load balancer:
        // closing them would race with clients reusing a pooled connection ("other side closed"),
        // which is not what these tests are about.
        boot(keys)
        return Promise.resolve()
      },
      async close() {
        handler = undefined
        await listening.close()
        restore()
      },
    }
  } catch (error) {
    restore()
    throw error
  }
}
