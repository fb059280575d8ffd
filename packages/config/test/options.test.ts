import { describe, expect, it } from 'vitest'
import { generateEnvExample, loadConfig, parseConfig, port, str } from '../src/index.js'

// The casts stand for plain JavaScript, or an options object typed loosely: how an unknown
// option name reaches a factory.
const loose = (value: Record<string, unknown>): never => value as never
const schema = { PORT: port({ default: 3000 }), NAME: str({ default: 'orders' }) }
const ENVALID_REPORTER =
  'loadConfig() reports every problem at once and exits 78; parseConfig() throws them as one error for you to report'

function messageOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as Error).message
  }
  throw new Error('expected a TypeError naming the unknown option')
}

describe('option names of @palisade/config', () => {
  it("parseConfig() and loadConfig() answer envalid's reporter", () => {
    const reporter = () => undefined
    expect(messageOf(() => parseConfig(schema, loose({ env: {}, reporter })))).toBe(
      `unknown option "reporter" in parseConfig() (from envalid): ${ENVALID_REPORTER}`,
    )
    expect(messageOf(() => loadConfig(schema, loose({ env: {}, reporter })))).toBe(
      `unknown option "reporter" in loadConfig() (from envalid): ${ENVALID_REPORTER}`,
    )
  })

  it('parseConfig() and loadConfig() refuse a misspelt option, suggesting the known one', () => {
    expect(messageOf(() => parseConfig(schema, loose({ environment: {}, loger: {} })))).toMatch(
      /^unknown option "environment" in parseConfig\(\)/,
    )
    expect(messageOf(() => loadConfig(schema, loose({ env: {}, exitcode: 1 })))).toBe(
      'unknown option "exitcode" in loadConfig(): did you mean "exitCode"?',
    )
    expect(messageOf(() => parseConfig(schema, loose({ env: {}, exitCode: 1 })))).toMatch(
      /^unknown option "exitCode" in parseConfig\(\); known: env, logger$/,
    )
  })

  it('generateEnvExample() refuses an unknown option', () => {
    expect(messageOf(() => generateEnvExample(schema, loose({ headr: 'orders-api' })))).toBe(
      'unknown option "headr" in generateEnvExample(): did you mean "header"?',
    )
  })

  it('still accepts every known option, undefined meaning the default', () => {
    expect(parseConfig(schema, { env: {}, logger: undefined }).PORT).toBe(3000)
    expect(
      loadConfig(schema, { env: { PORT: '8080' }, logger: undefined, exitCode: 78 }).PORT,
    ).toBe(8080)
    expect(generateEnvExample(schema, { header: 'orders-api' })).toMatch(/^# orders-api\n/)
  })
})
