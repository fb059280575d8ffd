import { defineProject } from 'vitest/config'

// File events and Vault polling are waited for with generous limits, for loaded CI machines.
export default defineProject({ test: { name: '@palisade/secrets', testTimeout: 30_000 } })
