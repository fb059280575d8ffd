import { describe, expectTypeOf, it } from 'vitest'
import {
  awsSecretsManagerSource,
  createVaultClient,
  directorySource,
  envSource,
  fileSource,
  loadSecrets,
  vaultSource,
} from '../src/index.js'
import type {
  SecretChange,
  SecretSource,
  Secrets,
  SecretsError,
  SecretsErrorCode,
  SecretsHealthCheck,
  VaultClient,
  Secret,
} from '../src/index.js'

describe('public types', () => {
  it('types the sources and what loadSecrets returns', () => {
    expectTypeOf(envSource).returns.toEqualTypeOf<SecretSource>()
    expectTypeOf(fileSource).returns.toEqualTypeOf<SecretSource>()
    expectTypeOf(directorySource).returns.toEqualTypeOf<SecretSource>()
    expectTypeOf(vaultSource).returns.toEqualTypeOf<SecretSource>()
    expectTypeOf(awsSecretsManagerSource).returns.toEqualTypeOf<SecretSource>()
    expectTypeOf(createVaultClient).returns.toEqualTypeOf<VaultClient>()
    const load = () =>
      loadSecrets({
        A: envSource('A'),
        B: [envSource('B'), fileSource('/b')],
        C: { from: envSource('C') },
      })
    expectTypeOf(load).returns.resolves.toEqualTypeOf<Secrets<'A' | 'B' | 'C'>>()
    expectTypeOf<Secrets<'A'>['get']>().returns.toEqualTypeOf<Secret>()
    expectTypeOf<Secrets['healthCheck']>().returns.toEqualTypeOf<SecretsHealthCheck>()
    expectTypeOf<SecretsError['code']>().toEqualTypeOf<SecretsErrorCode>()
  })

  it('types the events', () => {
    const use = (secrets: Secrets<'A'>) => {
      secrets.on('change', (change) => {
        expectTypeOf(change).toEqualTypeOf<SecretChange>()
      })
      secrets.on('error', (error) => {
        expectTypeOf(error).toEqualTypeOf<SecretsError>()
      })
      // @ts-expect-error no such event
      secrets.on('rotated', () => undefined)
      // @ts-expect-error only loaded names
      secrets.get('B')
    }
    expectTypeOf(use).parameter(0).toEqualTypeOf<Secrets<'A'>>()
  })

  it('refuses misuse at compile time', () => {
    // Types only: never called.
    const misuse = () => {
      // @ts-expect-error a source needs read, kind and location
      void loadSecrets({ A: { read: () => 'x' } })
      // @ts-expect-error validate returns a boolean
      void loadSecrets({ A: { from: envSource('A'), validate: (v: string) => v } })
      // @ts-expect-error an unknown auth method
      createVaultClient({ address: 'https://vault', auth: { method: 'userpass' } })
    }
    expectTypeOf(misuse).toBeFunction()
  })
})
