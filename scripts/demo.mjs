// `pnpm demo`: starts a development OpenID issuer and the Express example service against it,
// checks the example answers as the contract says, then prints ready-to-use tokens and curl
// lines. Ctrl-C stops both. With --once it stops by itself after the checks (used by the tests).
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { startDevIssuer } from '@palisade/testing'

// The demo is a development run, for the issuer in this process and the service it starts
// alike: the dev issuer refuses a production-like environment, and the service is told the same.
// An APP_ENV from the shell would win over NODE_ENV in both, so it is dropped.
process.env.NODE_ENV = 'development'
delete process.env.APP_ENV

const once = process.argv.includes('--once')
const main = fileURLToPath(new URL('../examples/express/dist/main.js', import.meta.url))
/** @param {string} text */
const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text)

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
      server.close(() => resolve(port))
    })
  })
}

const issuer = await startDevIssuer({ defaultTtlSeconds: 3600 })
const port = Number(process.env.PORT ?? (await freePort()))
const base = `http://127.0.0.1:${port}`
const child = spawn(process.execPath, [main], {
  env: {
    ...process.env,
    ...issuer.env(),
    PORT: String(port),
    HOST: '127.0.0.1',
    SHUTDOWN_DRAIN_MS: '0',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
  // Its own process group, so Ctrl-C reaches only this script, which then stops it gracefully.
  detached: true,
})

let stopping = false
/** @param {number} code */
async function stop(code) {
  if (stopping) return
  stopping = true
  if (child.exitCode === null) {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  await issuer.close()
  process.exit(code)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))
child.once('exit', (code) => {
  if (!stopping) {
    console.error(`demo: the example service exited with code ${code}`)
    void issuer.close().then(() => process.exit(1))
  }
})

await /** @type {Promise<void>} */ (
  new Promise((resolve, reject) => {
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
      process.stdout.write(chunk)
      if (output.includes('listening on')) resolve()
    })
    setTimeout(
      () => reject(new Error('demo: the example service did not start within 20 s')),
      20_000,
    ).unref()
  })
)

const user = await issuer.mint({ subject: 'demo-user', scope: 'read' })
const admin = await issuer.mint({ subject: 'demo-admin', scope: 'read admin' })
const checks = [
  ['GET /healthz', '/healthz', undefined, 200],
  ['GET /readyz', '/readyz', undefined, 200],
  ['GET /api/me without a token', '/api/me', undefined, 401],
  ['GET /api/me with the user token', '/api/me', user, 200],
  ['GET /api/admin with the user token', '/api/admin', user, 403],
  ['GET /api/admin with the admin token', '/api/admin', admin, 200],
]
let failed = 0
process.stdout.write(`\n${bold('Checks')}\n`)
for (const [label, path, token, expected] of checks) {
  const response = await fetch(`${base}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  await response.arrayBuffer()
  const ok = response.status === expected
  if (!ok) failed++
  process.stdout.write(
    `  ${ok ? 'ok  ' : 'FAIL'} ${label}: ${response.status}${ok ? '' : ` (expected ${expected})`}\n`,
  )
}

process.stdout.write(`
${bold('Dev issuer')}  ${issuer.issuer}   (discovery: ${issuer.discoveryUrl})
${bold('Service')}     ${base}   (Express example, NODE_ENV=development)

${bold('Tokens')} (valid 1 hour): paste these into your shell
  export USER_TOKEN=${user}
  export ADMIN_TOKEN=${admin}

${bold('Try')}
  curl -i ${base}/healthz
  curl -i ${base}/api/me
  curl -i -H "Authorization: Bearer $USER_TOKEN" ${base}/api/me
  curl -i -H "Authorization: Bearer $USER_TOKEN" ${base}/api/admin
  curl -i -H "Authorization: Bearer $ADMIN_TOKEN" ${base}/api/admin

Ctrl-C stops the service and the issuer.
`)
if (failed > 0) {
  console.error(`demo: ${failed} check(s) failed`)
  await stop(1)
}
if (once) await stop(0)
