import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

function groupsOf(address: string): number[] | undefined {
  let text = address
  const zone = text.indexOf('%')
  if (zone !== -1) text = text.slice(0, zone)
  const lastColon = text.lastIndexOf(':')
  const last = text.slice(lastColon + 1)
  if (last.includes('.')) {
    // An embedded IPv4 address (::ffff:192.0.2.7) stands for the last two groups.
    if (!isIPv4(last)) return undefined
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number]
    const high = ((a << 8) | b).toString(16)
    const low = ((c << 8) | d).toString(16)
    text = `${text.slice(0, lastColon + 1)}${high}:${low}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16))
  const head = parse(halves[0] ?? '')
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 1 && missing !== 0) return undefined
  if (missing < 0) return undefined
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest]
  if (groups.length !== 8 || groups.some((group) => !(group >= 0 && group <= 0xffff))) {
    return undefined
  }
  return groups
}

/**
 * The part of a client address a limit applies to: an IPv4 address as is (also when written as
 * an IPv4-mapped IPv6 address), an IPv6 address reduced to its `/subnet` network, since one
 * subscriber usually holds a whole /56 or /48 and could otherwise rotate through addresses.
 * Returns `undefined` for anything that is not an IP address.
 *
 * @example
 * ```ts
 * import { ipKey } from '@palisade/http'
 *
 * ipKey('2001:db8:1234:5678::1') // '2001:db8:1234:5600:0:0:0:0/56'
 * ipKey('::ffff:192.0.2.7') // '192.0.2.7'
 * ipKey('not an address') // undefined
 * ```
 */
export function ipKey(
  address: string | undefined,
  subnet: number | false = 56,
): string | undefined {
  if (typeof address !== 'string' || address.length > 64) return undefined
  if (isIPv4(address)) return address
  // The usual form on a dual-stack listener, answered without parsing the groups.
  if (address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:') {
    const mapped = address.slice(7)
    if (isIPv4(mapped)) return mapped
  }
  if (!isIPv6(address)) return undefined
  const groups = groupsOf(address)
  if (groups === undefined) return undefined
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [c, d] = [groups[6] ?? 0, groups[7] ?? 0]
    return `${c >> 8}.${c & 0xff}.${d >> 8}.${d & 0xff}`
  }
  const bits = subnet === false ? 128 : subnet
  const masked = groups.map((group, index) => {
    const keep = Math.min(16, Math.max(0, bits - index * 16))
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff
  })
  const text = masked.map((group) => group.toString(16)).join(':')
  return subnet === false ? text : `${text}/${subnet}`
}

/** A digest of key material, so that stored keys have a bounded length and reveal nothing. */
export function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}
