import { defineProject } from 'vitest/config'

// Packs every publishable package and installs the tarballs in a throw-away project outside the
// workspace, so npm, Node and TypeScript see exactly what a consumer would get from the registry.
export default defineProject({
  test: {
    name: 'packaging',
    include: ['**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
})
