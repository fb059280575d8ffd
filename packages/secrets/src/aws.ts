import { checkOptionNames, isObject, stringOption } from '@palisade/errors'
import { SecretsError } from './errors.js'
import type { SecretSource } from './source.js'
import { requireObject } from './source.js'
import { poll, pollOptions } from './vault.js'

/**
 * The part of `SecretsManagerClient` from `@aws-sdk/client-secrets-manager` that the source
 * uses; pass the client your application already configures (region, credentials, endpoint).
 */
export interface SecretsManagerClientLike {
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>
}

/** Options of {@link awsSecretsManagerSource}. */
export interface AwsSecretsManagerSourceOptions {
  /** The secret's name or ARN. */
  secretId: string
  /** For a JSON secret, the key whose value is wanted; the whole `SecretString` when unset. */
  key?: string | undefined
  /** A specific version; not polled. */
  versionId?: string | undefined
  /** A staging label, e.g. `AWSPREVIOUS`. @default 'AWSCURRENT' (by the service) */
  versionStage?: string | undefined
  /**
   * How often the secret is read again to notice rotation.
   * @default 300000 (5 minutes)
   */
  pollIntervalMs?: number | undefined
  /**
   * Each interval is varied by up to this fraction either way.
   * @default 0.1
   */
  jitter?: number | undefined
}

const OPTIONS = Object.keys({
  secretId: true,
  key: true,
  versionId: true,
  versionStage: true,
  pollIntervalMs: true,
  jitter: true,
} satisfies Record<keyof AwsSecretsManagerSourceOptions, true>)

type CommandClass = new (input: Record<string, string>) => object

/**
 * A secret from AWS Secrets Manager (`GetSecretValue`), read with the client you pass.
 * `@aws-sdk/client-secrets-manager` is an optional peer dependency: it is imported only when
 * this source is initialised. Polled for rotation like Vault. Errors name the secret id, never
 * credentials or the value.
 *
 * @example
 * ```ts
 * import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
 *
 * const client = new SecretsManagerClient({ region: 'eu-west-1' })
 * const secrets = await loadSecrets({
 *   DB_PASSWORD: awsSecretsManagerSource(client, { secretId: 'prod/orders/db', key: 'password' }),
 * })
 * ```
 */
export function awsSecretsManagerSource(
  client: SecretsManagerClientLike,
  options: AwsSecretsManagerSourceOptions,
): SecretSource {
  requireObject(client, '"client" option must be a SecretsManagerClient')
  if (typeof (client as Partial<SecretsManagerClientLike>).send !== 'function') {
    throw new TypeError('"client" option must be a SecretsManagerClient')
  }
  requireObject(options, 'awsSecretsManagerSource() takes options')
  checkOptionNames(
    options as object as Record<string, unknown>,
    OPTIONS,
    'awsSecretsManagerSource()',
  )
  const secretId = stringOption(options.secretId, 'secretId', '')
  const key = options.key === undefined ? undefined : stringOption(options.key, 'key', '')
  const versionId =
    options.versionId === undefined ? undefined : stringOption(options.versionId, 'versionId', '')
  const versionStage =
    options.versionStage === undefined
      ? undefined
      : stringOption(options.versionStage, 'versionStage', '')
  const { pollIntervalMs, jitter } = pollOptions(options as unknown as Record<string, unknown>)
  const version = versionId ?? versionStage
  const location = `aws-secrets-manager ${secretId}${version === undefined ? '' : ` (version ${version})`}${key === undefined ? '' : ` (key ${key})`}`
  let Command: CommandClass | undefined

  const load = async (): Promise<CommandClass> => {
    if (Command !== undefined) return Command
    try {
      const module = (await import('@aws-sdk/client-secrets-manager')) as unknown as {
        GetSecretValueCommand: CommandClass
      }
      Command = module.GetSecretValueCommand
      return Command
    } catch (error) {
      throw new SecretsError(
        'PALISADE_SECRET_AWS_ERROR',
        `${location} needs @aws-sdk/client-secrets-manager installed`,
        { source: location, cause: error },
      )
    }
  }

  return {
    kind: 'aws',
    location,
    init: async () => {
      await load()
    },
    read: async (signal) => {
      const GetSecretValue = await load()
      const input: Record<string, string> = { SecretId: secretId }
      if (versionId !== undefined) input['VersionId'] = versionId
      if (versionStage !== undefined) input['VersionStage'] = versionStage
      let output: unknown
      try {
        output = await client.send(new GetSecretValue(input), { abortSignal: signal })
      } catch (error) {
        const name = isObject(error) && typeof error['name'] === 'string' ? error['name'] : 'Error'
        const metadata = isObject(error) ? error['$metadata'] : undefined
        const status =
          isObject(metadata) && typeof metadata['httpStatusCode'] === 'number'
            ? ` (${String(metadata['httpStatusCode'])})`
            : ''
        throw new SecretsError(
          name === 'ResourceNotFoundException'
            ? 'PALISADE_SECRET_AWS_NOT_FOUND'
            : 'PALISADE_SECRET_AWS_ERROR',
          `${location}: Secrets Manager answered ${name}${status}`,
          { source: location, cause: error },
        )
      }
      const out = isObject(output) ? output : {}
      let text: string | undefined
      if (typeof out['SecretString'] === 'string') text = out['SecretString']
      else if (out['SecretBinary'] instanceof Uint8Array) {
        text = Buffer.from(out['SecretBinary']).toString('utf8')
      }
      if (text === undefined) {
        throw new SecretsError(
          'PALISADE_SECRET_AWS_ERROR',
          `${location}: the answer has neither SecretString nor SecretBinary`,
          { source: location },
        )
      }
      if (key === undefined) return text
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
      if (!isObject(parsed)) {
        throw new SecretsError(
          'PALISADE_SECRET_INVALID',
          `${location}: the secret is not a JSON object, so it has no key ${key}`,
          { source: location },
        )
      }
      const value = parsed[key]
      if (typeof value !== 'string') {
        throw new SecretsError(
          value === undefined ? 'PALISADE_SECRET_AWS_NOT_FOUND' : 'PALISADE_SECRET_INVALID',
          value === undefined
            ? `${location}: the secret has no key ${key}`
            : `${location}: key ${key} holds a ${typeof value}, not a string`,
          { source: location },
        )
      }
      return value
    },
    watch:
      versionId === undefined ? (onChange) => poll(pollIntervalMs, jitter, onChange) : undefined,
  }
}
