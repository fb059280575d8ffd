// The configuration validator's demo: the same service schema judged against the environment a
// production-readiness review found (placeholder key, demo API key, silent SQLite fallback) and
// against a fixed one, with the report a service would print before refusing to start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ConfigError,
  databaseUrl,
  describeConfig,
  dsn,
  generateEnvExample,
  parseConfig,
  port,
  secret,
  str,
} from '@palisade/config'

const schema = {
  PORT: port({ default: 8000, desc: 'Port the HTTP server listens on' }),
  LOG_LEVEL: str({ choices: ['debug', 'info', 'warn', 'error'], default: 'info' }),
  SECRET_KEY: secret({ desc: 'Signs sessions and CSRF tokens' }),
  API_KEY: secret({ desc: 'Key partner systems present', minLength: 24 }),
  DATABASE_URL: databaseUrl({ desc: 'Primary database', default: 'sqlite:///./app.db' }),
  REDIS_URL: dsn({ schemes: ['redis', 'rediss'], default: undefined, desc: 'Cache (optional)' }),
}

const heading = (text) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`)

heading('1. The environment the review found, judged as production')
const found = {
  NODE_ENV: 'production',
  SECRET_KEY: 'your-secret-key-here',
  API_KEY: 'demo-api-key',
  REDIS_URL: 'redis://:Sup3rS3cretRedisPass@cache.internal:6379',
}
process.stdout.write(
  'SECRET_KEY, API_KEY and the Redis password are set; the database falls back to SQLite.\n\n',
)
try {
  parseConfig(schema, { env: found })
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stdout.write(`${error.message}\n`)
  process.stdout.write(
    `\n(loadConfig() prints this to stderr and exits with code 78; no secret value appears above.)\n`,
  )
}

heading('2. The fixed environment: secrets from files, TLS to remote servers')
const dir = mkdtempSync(join(tmpdir(), 'palisade-demo-'))
try {
  const keyFile = join(dir, 'secret_key')
  writeFileSync(keyFile, 'Jx8vQ2mZt5wLr9sKp3NcY7bHd1FgT6aEuRk4\n', { mode: 0o600 })
  const config = parseConfig(schema, {
    env: {
      NODE_ENV: 'production',
      SECRET_KEY_FILE: keyFile,
      API_KEY: 'pk_9fE2xQ7mVb4LzT8wRn3KcY6s',
      DATABASE_URL: 'postgres://orders@db.internal:5432/orders?sslmode=verify-full',
      REDIS_URL: 'rediss://:Wq3zP8mK2vX7nT4rL9sB@cache.internal:6380',
    },
  })
  process.stdout.write('Accepted. What the service sees (secrets stay wrapped):\n')
  process.stdout.write(`${JSON.stringify(config, null, 2)}\n`)
  process.stdout.write('\nWhere each value came from:\n')
  for (const [name, where] of Object.entries(describeConfig(config).provenance)) {
    const source = where.source === 'file' ? `file ${where.path}` : where.source
    process.stdout.write(`  ${name.padEnd(13)} ${source}\n`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

heading('3. The .env.example generated from the same schema')
process.stdout.write(generateEnvExample(schema, { header: 'example service' }))
