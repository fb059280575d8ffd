// Memory per client of @palisade/http's MemoryStore: fills a store with N keys shaped like the
// limiter's (`<policy>:ip:<address>`, or `<policy>:sub:<sha-256, base64url>` for authenticated
// clients), one request each, and reports the heap growth per key (after a full GC before and
// after). `maxKeys` times this is what a full store holds.
// Run with --expose-gc; it only prints.
import { createHash } from 'node:crypto'
import { MemoryStore } from '@palisade/http'

const KEYS = Number(process.env['MEMORY_BENCH_KEYS'] ?? 100_000)
if (globalThis.gc === undefined) {
  console.error('run with node --expose-gc memory-store.bench.js')
  process.exit(1)
}
const gc = /** @type {() => void} */ (globalThis.gc)

/** @param {number} i */
const ipKeyOf = (i) => `default:ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
/** @param {number} i */
const subjectKeyOf = (i) =>
  `default:sub:${createHash('sha256')
    .update(`user-${String(i)}`)
    .digest('base64url')}`

/**
 * @param {string} label
 * @param {import('@palisade/http').ConsumeOptions | undefined} options
 * @param {(i: number) => string} keyOf
 */
function measure(label, options, keyOf = ipKeyOf) {
  const store = new MemoryStore({ maxKeys: KEYS })
  store.init({ windowMs: 60_000 })
  gc()
  gc()
  const before = process.memoryUsage().heapUsed
  // Keys are made here, as the limiter makes them per request: the store keeps each one.
  for (let i = 0; i < KEYS; i++) {
    const key = keyOf(i)
    if (options === undefined) store.increment(key)
    else store.consume(key, options)
  }
  gc()
  gc()
  const perKey = (process.memoryUsage().heapUsed - before) / KEYS
  store.shutdown()
  return { label, keys: KEYS, 'bytes/key': Math.round(perKey) }
}

/** @type {import('@palisade/http').ConsumeOptions} */
const fixedWindow = { cost: 1, limit: 600, windowMs: 60_000, algorithm: 'fixed-window' }
const rows = [
  measure('consume, fixed window, IP keys', fixedWindow),
  measure('consume, fixed window, subject keys', fixedWindow, subjectKeyOf),
  measure('consume, GCRA, IP keys', { cost: 1, limit: 600, windowMs: 60_000, algorithm: 'gcra' }),
  measure('increment (express-rate-limit contract), IP keys', undefined),
]
console.log(`Node ${process.version}, ${String(KEYS)} keys`)
console.table(rows)
