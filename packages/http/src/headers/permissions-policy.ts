/**
 * The `Permissions-Policy` value recommended by the OWASP Secure Headers Project
 * (`ci/headers_add.json`, last updated 2024-07-19): every powerful feature off for the page and
 * everything it embeds, except synchronous XHR from the page's own origin.
 *
 * @example
 * ```ts
 * import { OWASP_PERMISSIONS_POLICY } from '@palisade/http'
 *
 * console.log(OWASP_PERMISSIONS_POLICY.camera) // []
 * ```
 */
export const OWASP_PERMISSIONS_POLICY: Readonly<Record<string, readonly string[]>> = Object.freeze({
  accelerometer: [],
  autoplay: [],
  camera: [],
  'cross-origin-isolated': [],
  'display-capture': [],
  'encrypted-media': [],
  fullscreen: [],
  geolocation: [],
  gyroscope: [],
  'keyboard-map': [],
  magnetometer: [],
  microphone: [],
  midi: [],
  payment: [],
  'picture-in-picture': [],
  'publickey-credentials-get': [],
  'screen-wake-lock': [],
  'sync-xhr': ['self'],
  usb: [],
  'web-share': [],
  'xr-spatial-tracking': [],
  'clipboard-read': [],
  'clipboard-write': [],
  gamepad: [],
  hid: [],
  'idle-detection': [],
  'interest-cohort': [],
  serial: [],
  unload: [],
})

const FEATURE = /^[a-z][a-z0-9-]*$/
const ORIGIN = /^https?:\/\/[^\s"(),;]+$/

function member(entry: unknown, feature: string): string {
  if (entry === 'self' || entry === 'src' || entry === '*') return entry
  if (typeof entry === 'string' && ORIGIN.test(entry)) return `"${entry}"`
  throw new TypeError(
    `"permissionsPolicy.${feature}" option entries must be 'self', 'src', '*' or an http(s) origin`,
  )
}

/**
 * Serialises a feature map as a `Permissions-Policy` structured-field dictionary:
 * `camera=(), sync-xhr=(self "https://app.example.com")`. Throws a TypeError naming the
 * feature at fault.
 */
export function serializePermissionsPolicy(
  policy: Readonly<Record<string, readonly string[]>>,
): string {
  const parts: string[] = []
  for (const [feature, allow] of Object.entries(policy)) {
    if (!FEATURE.test(feature)) {
      throw new TypeError(`"permissionsPolicy.${feature}" is not a valid feature name`)
    }
    if (!Array.isArray(allow)) {
      throw new TypeError(`"permissionsPolicy.${feature}" option must be an array`)
    }
    if (allow.includes('*')) {
      parts.push(`${feature}=*`)
      continue
    }
    parts.push(`${feature}=(${allow.map((entry: unknown) => member(entry, feature)).join(' ')})`)
  }
  return parts.join(', ')
}
