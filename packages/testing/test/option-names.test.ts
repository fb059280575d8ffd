import { describe, expect, it } from 'vitest'
import { resolveIssuerOptions } from '../src/options.js'

describe('option names', () => {
  it('refuses unknown names with the shared wording and a suggestion', () => {
    expect(() => resolveIssuerOptions({ prot: 0 })).toThrow(
      new TypeError('unknown option "prot" in startDevIssuer() options: did you mean "port"?'),
    )
    expect(() => resolveIssuerOptions({ audience: 'api', issuer: 'x' })).toThrow(
      /unknown option "issuer" in startDevIssuer\(\) options; known: host, port/,
    )
  })
})
