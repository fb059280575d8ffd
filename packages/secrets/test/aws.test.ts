import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { SecretsLoadError, awsSecretsManagerSource, loadSecrets } from '../src/index.js'
import type { SecretChange } from '../src/index.js'

// A Secrets Manager protocol fake: the AWS JSON 1.1 protocol of GetSecretValue as documented
// (POST /, X-Amz-Target: secretsmanager.GetSecretValue, application/x-amz-json-1.1, errors as
// a 400 with `__type` and `x-amzn-ErrorType`).
const secrets = new Map<string, { versionId: string; value: string }[]>()
const seen: {
  target: string | undefined
  headers: IncomingHttpHeaders
  body: Record<string, string>
}[] = []
let server: Server
let endpoint = ''
const ACCESS_KEY = 'AKIAPALISADEEXAMPLE'
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYPALISADEKEY'

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, string>
      const target = req.headers['x-amz-target'] as string | undefined
      seen.push({ target, headers: req.headers, body })
      const fail = (status: number, type: string, message: string): void => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': type,
        })
        res.end(JSON.stringify({ __type: type, message }))
      }
      if (target !== 'secretsmanager.GetSecretValue') {
        fail(400, 'UnknownOperationException', 'unknown operation')
        return
      }
      const versions = secrets.get(body['SecretId'] ?? '')
      if (versions === undefined || versions.length === 0) {
        fail(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.")
        return
      }
      const version =
        body['VersionId'] !== undefined
          ? versions.find((v) => v.versionId === body['VersionId'])
          : body['VersionStage'] === 'AWSPREVIOUS'
            ? versions.at(-2)
            : versions.at(-1)
      if (version === undefined) {
        fail(
          400,
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for staging label",
        )
        return
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      res.end(
        JSON.stringify({
          ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${body['SecretId']!}-AbCdEf`,
          Name: body['SecretId'],
          VersionId: version.versionId,
          SecretString: version.value,
          VersionStages: [version === versions.at(-1) ? 'AWSCURRENT' : 'AWSPREVIOUS'],
          CreatedDate: Date.now() / 1000,
        }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  endpoint = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

function client(): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  })
}

describe('AWS Secrets Manager against a Secrets Manager protocol fake', () => {
  it('reads a whole secret, a JSON key and a staged version with the client it is given', async () => {
    secrets.set('prod/orders/db', [
      { versionId: 'v1', value: JSON.stringify({ password: 'old-password-value' }) },
      { versionId: 'v2', value: JSON.stringify({ password: 'new-password-value', port: 5432 }) },
    ])
    secrets.set('prod/orders/api-key', [{ versionId: 'a1', value: 'plain-api-key-value' }])
    const sm = client()
    const loaded = await loadSecrets(
      {
        DB_PASSWORD: awsSecretsManagerSource(sm, { secretId: 'prod/orders/db', key: 'password' }),
        PREVIOUS: awsSecretsManagerSource(sm, {
          secretId: 'prod/orders/db',
          key: 'password',
          versionStage: 'AWSPREVIOUS',
        }),
        API_KEY: awsSecretsManagerSource(sm, { secretId: 'prod/orders/api-key' }),
      },
      { watch: false },
    )
    expect(loaded.get('DB_PASSWORD').reveal()).toBe('new-password-value')
    expect(loaded.get('PREVIOUS').reveal()).toBe('old-password-value')
    expect(loaded.get('API_KEY').reveal()).toBe('plain-api-key-value')
    expect(loaded.sourceOf('DB_PASSWORD')).toBe('aws-secrets-manager prod/orders/db (key password)')
    const request = seen.at(-1)!
    expect(request.headers['content-type']).toBe('application/x-amz-json-1.1')
    expect(request.headers['authorization']).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/\\d{8}/eu-west-1/secretsmanager/aws4_request`,
      ),
    )
    expect(seen.some((s) => s.body['VersionStage'] === 'AWSPREVIOUS')).toBe(true)
    await loaded.close()
    sm.destroy()
  })

  it('names a missing secret, a missing key and a non-string key, never credentials', async () => {
    secrets.set('prod/port', [{ versionId: 'p1', value: JSON.stringify({ port: 5432 }) }])
    const sm = client()
    let error: unknown
    try {
      await loadSecrets({
        GONE: awsSecretsManagerSource(sm, { secretId: 'prod/gone' }),
        NO_KEY: awsSecretsManagerSource(sm, { secretId: 'prod/port', key: 'password' }),
        NUMBER: awsSecretsManagerSource(sm, { secretId: 'prod/port', key: 'port' }),
      })
    } catch (caught) {
      error = caught
    }
    if (!(error instanceof SecretsLoadError)) throw new Error('expected a SecretsLoadError')
    expect(error.problems.map((p) => [p.secret, p.code])).toEqual([
      ['GONE', 'PALISADE_SECRET_AWS_NOT_FOUND'],
      ['NO_KEY', 'PALISADE_SECRET_AWS_NOT_FOUND'],
      ['NUMBER', 'PALISADE_SECRET_INVALID'],
    ])
    expect(error.message).toContain(
      'aws-secrets-manager prod/gone: Secrets Manager answered ResourceNotFoundException (400)',
    )
    expect(error.message).not.toContain(SECRET_KEY)
    expect(error.message).not.toContain('5432')
    sm.destroy()
  })

  it('polls for rotation', async () => {
    secrets.set('prod/rotating', [{ versionId: 'r1', value: 'first-rotating-value' }])
    const sm = client()
    const loaded = await loadSecrets({
      TOKEN: awsSecretsManagerSource(sm, {
        secretId: 'prod/rotating',
        pollIntervalMs: 100,
        jitter: 0.2,
      }),
    })
    const changes: SecretChange[] = []
    loaded.on('change', (change) => changes.push(change))
    secrets.get('prod/rotating')!.push({ versionId: 'r2', value: 'second-rotating-value' })
    await vi.waitFor(
      () => {
        expect(changes).toEqual([{ name: 'TOKEN', source: 'aws-secrets-manager prod/rotating' }])
      },
      { timeout: 15_000, interval: 25 },
    )
    expect(loaded.get('TOKEN').reveal()).toBe('second-rotating-value')
    await loaded.close()
    sm.destroy()
  })

  it('validates its options', () => {
    const sm = client()
    expect(() => awsSecretsManagerSource(sm, { secretId: '' })).toThrow(
      '"secretId" option must be a non-empty string',
    )
    expect(() => awsSecretsManagerSource({} as never, { secretId: 'x' })).toThrow(
      '"client" option must be a SecretsManagerClient',
    )
    expect(() => awsSecretsManagerSource(sm, { secretId: 'x', pollIntervalMs: 0 })).toThrow(
      '"pollIntervalMs" option must be a positive integer',
    )
    sm.destroy()
  })
})
