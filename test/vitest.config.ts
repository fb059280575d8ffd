import { defineProject } from 'vitest/config'

// Tests of the repository as a whole: the example services against their contract, the demo,
// and interoperability with a real OpenID provider. Packaging has its own project.
export default defineProject({
  test: {
    name: 'repository',
    include: ['*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
