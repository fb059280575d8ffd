// The one loopback rule of every package. Only what never leaves the machine without asking a
// resolver counts: `localhost` is answered by the operating system itself (RFC 6761 lets
// resolvers keep it local), but `*.localhost` names go to DNS on many systems, so they do not.
import { isIPv4, isIPv6 } from 'node:net'

/** Whether an IPv6 address (without brackets) is ::1 or an IPv4-mapped 127.0.0.0/8 address. */
function isLoopbackIPv6(address: string): boolean {
  // The URL parser writes every spelling the same way: 0:0::1 and 0000::0001 become [::1], and
  // ::ffff:127.0.0.1 becomes [::ffff:7f00:1].
  const canonical = new URL(`http://[${address}]/`).hostname
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical)
}

/**
 * Whether the host name of a URL is loopback: `localhost`, an address in 127.0.0.0/8, or ::1
 * (with or without brackets, in any spelling). `*.localhost` and every other name are not.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (host === 'localhost') return true
  if (isIPv4(host)) return host.startsWith('127.')
  return isIPv6(host) && isLoopbackIPv6(host)
}

/** Whether the address of a socket peer (`socket.remoteAddress`) is loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false
  if (isIPv4(address)) return address.startsWith('127.')
  return isIPv6(address) && isLoopbackIPv6(address)
}
