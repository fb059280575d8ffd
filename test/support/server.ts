import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A server listening on loopback. */
export interface Listening {
  /** e.g. `http://127.0.0.1:41234`, without a trailing slash. */
  readonly url: string
  /** Closes the server, open keep-alive connections included. */
  close: () => Promise<void>
}

/** Listens on a free loopback port. */
export async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve()
        })
      })
    },
  }
}
