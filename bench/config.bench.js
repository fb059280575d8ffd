// Configuration validation at startup: @palisade/config against plain envalid for the same
// schema and environment, as ratios from one run. Startup cost matters for serverless cold
// starts and short-lived jobs, not for request latency.
import { cleanEnv, port as envalidPort, str as envalidStr, url as envalidUrl } from 'envalid'
import { Bench } from 'tinybench'
import { databaseUrl, parseConfig, port, secret, str, url } from '@palisade/config'

const env = {
  NODE_ENV: 'production',
  PORT: '8080',
  LOG_LEVEL: 'info',
  PUBLIC_URL: 'https://orders.example.com',
  SESSION_KEY: 'q4Zt9mVx2LrB7wKs1NcY8pHd3JfG6aTe',
  API_KEY: 'kP3x9QmZ7vT1wR8yN2bL5cJ6hF4dG0sA',
  DATABASE_URL: 'postgres://orders:Vq7xKp2mZt9wLr4s@db.internal:5432/orders?sslmode=verify-full',
}

const palisadeSchema = {
  PORT: port({ default: 3000 }),
  LOG_LEVEL: str({ choices: ['debug', 'info', 'warn'], default: 'info' }),
  PUBLIC_URL: url(),
  SESSION_KEY: secret(),
  API_KEY: secret(),
  DATABASE_URL: databaseUrl({ schemes: ['postgres', 'postgresql'] }),
}
const envalidSchema = {
  PORT: envalidPort({ default: 3000 }),
  LOG_LEVEL: envalidStr({ choices: ['debug', 'info', 'warn'], default: 'info' }),
  PUBLIC_URL: envalidUrl(),
  SESSION_KEY: envalidStr(),
  API_KEY: envalidStr(),
  DATABASE_URL: envalidUrl(),
}

const bench = new Bench({ time: 1000, warmupTime: 200 })
bench
  .add('envalid cleanEnv (no secret or DSN checks)', () => {
    cleanEnv(env, envalidSchema)
  })
  .add('@palisade/config parseConfig', () => {
    parseConfig(palisadeSchema, { env })
  })

await bench.run()
const [baseline, palisade] = bench.tasks.map((task) => {
  const result = task.result
  if (result?.state !== 'completed') throw new Error(`${task.name} did not complete`)
  return { name: task.name, hz: result.throughput.mean, p99: result.latency.p99 }
})
console.log('| task | ops/s | p99 (µs) | relative |')
console.log('| --- | ---: | ---: | ---: |')
for (const row of [baseline, palisade]) {
  console.log(
    `| ${row.name} | ${Math.round(row.hz).toLocaleString('en')} | ${(row.p99 * 1000).toFixed(1)} | ${(row.hz / baseline.hz).toFixed(2)}x |`,
  )
}
