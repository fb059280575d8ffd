import { defineProject } from 'vitest/config'

export default defineProject({
  test: { name: '@palisade/example-fastify', testTimeout: 15_000, hookTimeout: 15_000 },
})
