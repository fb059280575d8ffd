import { describe, expect, it } from 'vitest'
import { isLoopbackAddress, isLoopbackHostname } from '../src/index.js'

describe('isLoopbackHostname', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['[0:0:0:0:0:0:0:1]', true],
    ['0000::0001', true],
    ['::ffff:127.0.0.1', true],
    ['[::ffff:7f00:1]', true],
    // Resolved through DNS on many systems: not loopback.
    ['api.localhost', false],
    ['localhost.', false],
    ['localhost.example.com', false],
    ['10.0.0.5', false],
    ['128.0.0.1', false],
    ['::2', false],
    ['::ffff:10.0.0.1', false],
    ['127.0.0.1.nip.io', false],
    ['', false],
  ])('%j is %s', (host, loopback) => {
    expect(isLoopbackHostname(host)).toBe(loopback)
  })
})

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', false],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    [undefined, false],
  ])('%j is %s', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback)
  })
})
