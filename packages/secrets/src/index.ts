export { Secret, isSecret } from './secret.js'
export type { SecretOptions } from './secret.js'
export { readSecretFile, resolveFileVariable } from './file.js'
export type { ReadSecretFileOptions, ResolvedVariable, ValueSource } from './file.js'
export { directorySource, envSource, fileSource, watchFile } from './source.js'
export type { EnvSourceOptions, FileSourceOptions, SecretSource } from './source.js'
export { checkSecretFilePermissions } from './permissions.js'
export type { PermissionCheckOptions, PermissionProblem } from './permissions.js'
export { loadSecrets } from './load.js'
export type {
  LoadSecretsOptions,
  PermissionPolicy,
  SecretChange,
  SecretDefinition,
  SecretSpec,
  SecretsEvents,
  SecretsHealthCheck,
  SecretsHealthCheckOptions,
  Secrets,
  SecretsLogger,
} from './load.js'
export { SecretsError, SecretsLoadError } from './errors.js'
export type { SecretProblem, SecretsErrorCode, SecretsErrorDetails } from './errors.js'
export { createVaultClient, vaultSource } from './vault.js'
export type {
  VaultAuth,
  VaultClient,
  VaultClientOptions,
  VaultKvSecret,
  VaultSourceOptions,
} from './vault.js'
export { awsSecretsManagerSource } from './aws.js'
export type { AwsSecretsManagerSourceOptions, SecretsManagerClientLike } from './aws.js'
