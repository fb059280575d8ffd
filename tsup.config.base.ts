import { defineConfig } from 'tsup'

// Every package builds the same way: ESM only, declarations, source maps, Node 20.19 baseline.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  splitting: false,
})
