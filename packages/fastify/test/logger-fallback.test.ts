import Fastify from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '@palisade/http'
import { cspReports, rateLimit } from '../src/index.js'

// Without a `logger` option, the plugins log through the application's own logger.

function capture(): { logger: FastifyBaseLogger; lines: { level: string; object: unknown }[] } {
  const lines: { level: string; object: unknown }[] = []
  const at =
    (level: string) =>
    (object: unknown): void => {
      lines.push({ level, object })
    }
  const logger = {
    level: 'info',
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: () => undefined,
    child: () => logger,
  } as unknown as FastifyBaseLogger
  return { logger, lines }
}

describe('logger fallback to fastify.log', () => {
  it('rateLimit warns through fastify.log when no logger is given', async () => {
    const store = new MemoryStore()
    const first = Fastify()
    await first.register(rateLimit, { limit: 10, store })
    await first.ready()
    const { logger, lines } = capture()
    const second = Fastify({ loggerInstance: logger })
    await second.register(rateLimit, { limit: 10, store })
    await second.ready()
    expect(lines).toContainEqual({
      level: 'warn',
      object: expect.objectContaining({ code: 'PALISADE_RATE_LIMIT_STORE_REUSE' }),
    })
    await Promise.all([first.close(), second.close()])
  })

  it('cspReports logs violations through fastify.log when neither onReport nor logger is given', async () => {
    const { logger, lines } = capture()
    const app = Fastify({ loggerInstance: logger })
    await app.register(cspReports)
    const response = await app.inject({
      method: 'POST',
      url: '/csp-reports',
      headers: { 'content-type': 'application/csp-report' },
      payload: JSON.stringify({
        'csp-report': {
          'document-uri': 'https://app.example/',
          'violated-directive': 'script-src',
          'blocked-uri': 'https://evil.example/x.js',
        },
      }),
    })
    expect(response.statusCode).toBe(204)
    expect(lines).toContainEqual({
      level: 'warn',
      object: expect.objectContaining({ violation: expect.anything() }),
    })
    await app.close()
  })
})
