import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['packages/*', 'test', 'test/packaging'],
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
})
