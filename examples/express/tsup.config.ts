import { defineConfig } from 'tsup'
import type { Options } from 'tsup'
import base from '../../tsup.config.base.ts'

// The shared build, for a service: one entry point and no declarations.
export default defineConfig({
  ...(base as Options),
  entry: ['src/main.ts'],
  dts: false,
  noExternal: ['@palisade/example-shared'],
})
