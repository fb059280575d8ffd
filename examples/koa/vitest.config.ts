import { defineProject } from 'vitest/config'

export default defineProject({
  test: { name: '@palisade/example-koa', testTimeout: 15_000, hookTimeout: 15_000 },
})
