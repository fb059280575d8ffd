// The server half of ./harness.js: the first IPC message is the config, answered with the port
// once `build(config)` listens; each 'usage' message is answered with this process's CPU time
// (all threads, so threadpool work counts) and the requests it received. Exits when the parent
// disconnects, with exit() rather than a signal so that `--cpu-prof` gets to write its profile.
import { once } from 'node:events'

/**
 * @template {Record<string, unknown>} C
 * @param {(config: C) => Promise<import('node:http').Server>} build
 */
export function serve(build) {
  let requests = 0
  process.on('message', (message) => {
    if (message === 'usage') {
      const { user, system } = process.cpuUsage()
      process.send?.({ cpu: user + system, requests })
      return
    }
    ;(async () => {
      const server = await build(/** @type {C} */ (message))
      server.on('request', () => {
        requests++
      })
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      const address = server.address()
      if (address === null || typeof address === 'string') throw new Error('no TCP address')
      return address.port
    })().then(
      (port) => process.send?.({ port }),
      (/** @type {unknown} */ error) => {
        console.error(error)
        process.exit(1)
      },
    )
  })
  process.on('disconnect', () => process.exit(0))
}
