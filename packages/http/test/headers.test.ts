import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  createNonce,
  createSecurityHeaders,
  isSecurityHeadersPolicy,
  OWASP_PERMISSIONS_POLICY,
  resolveSecurityHeaders,
  serializePermissionsPolicy,
} from '../src/index.js'
import type { SecurityHeadersOverrides } from '../src/index.js'

const OWASP_VALUE =
  'accelerometer=(), autoplay=(), camera=(), cross-origin-isolated=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), keyboard-map=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(self), usb=(), web-share=(), xr-spatial-tracking=(), clipboard-read=(), clipboard-write=(), gamepad=(), hid=(), idle-detection=(), interest-cohort=(), serial=(), unload=()'

describe('api preset', () => {
  it('sets the OWASP REST values and nothing HTML-only', () => {
    const policy = createSecurityHeaders()
    expect(policy.preset).toBe('api')
    expect(policy.headersFor({ secure: true })).toEqual({
      'Content-Security-Policy': "default-src 'none';frame-ancestors 'none'",
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Cache-Control': 'no-store, max-age=0',
      'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
    })
    expect(policy.remove).toEqual(['X-Powered-By', 'Server'])
    expect(policy.httpsOnlyHsts).toBe('max-age=63072000; includeSubDomains')
    expect(policy.nonceHeader).toBeUndefined()
  })

  it('leaves HSTS out of plain-HTTP responses unless told to send it always', () => {
    expect(createSecurityHeaders().headersFor({ secure: false })).not.toHaveProperty(
      'Strict-Transport-Security',
    )
    const always = createSecurityHeaders({ hsts: 'always' })
    expect(always.httpsOnlyHsts).toBeUndefined()
    expect(always.headersFor({ secure: false })['Strict-Transport-Security']).toBe(
      'max-age=63072000; includeSubDomains',
    )
  })
})

describe('web preset', () => {
  it("is helmet's defaults plus a nonce CSP and Permissions-Policy", () => {
    const policy = createSecurityHeaders({ preset: 'web' })
    const headers = policy.headersFor({ secure: true, nonce: 'Tk9OQ0U=' })
    expect(headers).toEqual({
      'Content-Security-Policy':
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self' 'nonce-Tk9OQ0U=';script-src-attr 'none';style-src 'self' https: 'unsafe-inline' 'nonce-Tk9OQ0U=';upgrade-insecure-requests",
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Origin-Agent-Cluster': '?1',
      'Referrer-Policy': 'no-referrer',
      'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
      'X-Content-Type-Options': 'nosniff',
      'X-DNS-Prefetch-Control': 'off',
      'X-Download-Options': 'noopen',
      'X-Frame-Options': 'SAMEORIGIN',
      'X-Permitted-Cross-Domain-Policies': 'none',
      'X-XSS-Protection': '0',
      'Permissions-Policy': OWASP_VALUE,
    })
    expect(policy.nonceHeader).toBe('Content-Security-Policy')
  })

  it('builds a fresh nonce per request', () => {
    const policy = createSecurityHeaders({ preset: 'web' })
    const a = policy.headersFor({ secure: false })['Content-Security-Policy']
    const b = policy.headersFor({ secure: false })['Content-Security-Policy']
    expect(a).not.toBe(b)
    // Several refills of the random batch: never a repeat.
    const nonces = new Set(Array.from({ length: 2000 }, () => createNonce()))
    expect(nonces.size).toBe(2000)
    for (const nonce of nonces) expect(Buffer.from(nonce, 'base64')).toHaveLength(16)
  })
})

describe('applyTo', () => {
  /** A ServerResponse's header methods over a plain map, with X-Powered-By already set. */
  function response() {
    const headers = new Map<string, string>([['x-powered-by', 'Express']])
    return {
      headers,
      setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
      removeHeader: (name: string) => headers.delete(name.toLowerCase()),
    }
  }
  const lower = (record: Record<string, string>) =>
    new Map(Object.entries(record).map(([name, value]) => [name.toLowerCase(), value]))

  it('sets what headersFor() lists, removes X-Powered-By, and HSTS only when secure', () => {
    const policy = createSecurityHeaders()
    for (const secure of [false, true]) {
      const res = response()
      expect(policy.applyTo(res, secure)).toBeUndefined()
      expect(res.headers).toEqual(lower(policy.headersFor({ secure })))
    }
  })

  it('uses the nonce it is given, or a fresh one, and returns it', () => {
    const policy = createSecurityHeaders({ preset: 'web' })
    const given = response()
    expect(policy.applyTo(given, false, 'abc')).toBe('abc')
    expect(given.headers).toEqual(lower(policy.headersFor({ secure: false, nonce: 'abc' })))
    const fresh = response()
    const nonce = policy.applyTo(fresh, false)
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/)
    expect(fresh.headers.get('content-security-policy')).toContain(`'nonce-${nonce ?? ''}'`)
    expect(policy.applyTo(response(), false)).not.toBe(nonce)
  })
})

describe('reporting', () => {
  it('adds Reporting-Endpoints, report-to and report-uri', () => {
    const policy = createSecurityHeaders({ preset: 'web', reportUri: '/csp-reports' })
    const headers = policy.headersFor({ secure: false, nonce: 'n' })
    expect(headers['Reporting-Endpoints']).toBe('csp-endpoint="/csp-reports"')
    expect(headers['Content-Security-Policy']).toMatch(
      /;report-uri \/csp-reports;report-to csp-endpoint$/,
    )
    const api = createSecurityHeaders({
      reportUri: 'https://reports.example.com/csp',
      reportGroup: 'csp',
    })
    expect(api.headersFor({ secure: false })).toMatchObject({
      'Content-Security-Policy':
        "default-src 'none';frame-ancestors 'none';report-uri https://reports.example.com/csp;report-to csp",
      'Reporting-Endpoints': 'csp="https://reports.example.com/csp"',
    })
  })

  it('reportTo: false keeps report-uri alone', () => {
    const policy = createSecurityHeaders({ reportUri: '/r', reportTo: false })
    expect(policy.names).not.toContain('Reporting-Endpoints')
    expect(policy.headersFor({ secure: false })['Content-Security-Policy']).toBe(
      "default-src 'none';frame-ancestors 'none';report-uri /r",
    )
    expect(() => createSecurityHeaders({ reportTo: 'no' as never })).toThrow(
      new TypeError('"reportTo" option must be a boolean'),
    )
  })

  it('can be switched off on a route', () => {
    const policy = createSecurityHeaders({ reportUri: '/r' }).withOverrides({ reportUri: false })
    expect(policy.names).not.toContain('Reporting-Endpoints')
    expect(policy.headersFor({ secure: false })['Content-Security-Policy']).not.toContain('report')
  })
})

describe('Permissions-Policy', () => {
  it('is the OWASP Secure Headers Project value by default', () => {
    expect(serializePermissionsPolicy(OWASP_PERMISSIONS_POLICY)).toBe(OWASP_VALUE)
    expect(
      createSecurityHeaders({ permissionsPolicy: true }).headersFor({ secure: false }),
    ).toHaveProperty('Permissions-Policy', OWASP_VALUE)
  })

  it('merges a feature map per feature and takes a raw value', () => {
    const policy = createSecurityHeaders({
      preset: 'web',
      permissionsPolicy: { camera: ['self', 'https://meet.example.com'], fullscreen: ['*'] },
    })
    const value = policy.headersFor({ secure: false })['Permissions-Policy']!
    expect(value).toContain('camera=(self "https://meet.example.com")')
    expect(value).toContain('fullscreen=*')
    expect(value).toContain('microphone=()')
    const raw = createSecurityHeaders({ permissionsPolicy: 'geolocation=()' })
    expect(raw.headersFor({ secure: false })['Permissions-Policy']).toBe('geolocation=()')
    expect(createSecurityHeaders({ preset: 'web', permissionsPolicy: false }).names).not.toContain(
      'Permissions-Policy',
    )
  })
})

describe('overrides', () => {
  it('replace helmet settings key by key and merge CSP directives one by one', () => {
    const policy = createSecurityHeaders({
      preset: 'web',
      nonce: false,
      helmet: {
        xFrameOptions: { action: 'deny' },
        referrerPolicy: false,
        contentSecurityPolicy: {
          directives: {
            imgSrc: ["'self'", 'https://cdn.example.com'],
            'upgrade-insecure-requests': null,
          },
        },
      },
    })
    const headers = policy.headersFor({ secure: false })
    expect(headers['X-Frame-Options']).toBe('DENY')
    expect(headers).not.toHaveProperty('Referrer-Policy')
    expect(headers['Content-Security-Policy']).toBe(
      "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' https://cdn.example.com;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline'",
    )
    expect(policy.nonceHeader).toBeUndefined()
  })

  it('useDefaults: false replaces the directives; reportOnly switches the header', () => {
    const policy = createSecurityHeaders({
      helmet: {
        contentSecurityPolicy: {
          useDefaults: false,
          reportOnly: true,
          directives: { 'default-src': "'self'" },
        },
      },
    })
    expect(policy.headersFor({ secure: false })).toMatchObject({
      'Content-Security-Policy-Report-Only': "default-src 'self'",
    })
    expect(policy.names).not.toContain('Content-Security-Policy')
  })

  it('nonce on the api preset derives script-src and style-src from default-src', () => {
    const policy = createSecurityHeaders({ nonce: true })
    expect(policy.contentSecurityPolicy('abc')).toBe(
      "default-src 'none';frame-ancestors 'none';script-src 'nonce-abc';style-src 'nonce-abc'",
    )
  })

  it('per route: merged over the application policy, which stays unchanged', () => {
    const app = createSecurityHeaders({ preset: 'web', cacheControl: 'private' })
    const route = app.withOverrides({
      cacheControl: false,
      helmet: {
        xFrameOptions: false,
        contentSecurityPolicy: { directives: { 'frame-ancestors': 'https://partner.example.com' } },
      },
    })
    expect(route.names).not.toContain('X-Frame-Options')
    expect(route.names).not.toContain('Cache-Control')
    expect(route.contentSecurityPolicy('n')).toContain(
      'frame-ancestors https://partner.example.com;',
    )
    expect(route.contentSecurityPolicy('n')).toContain("'nonce-n'")
    expect(app.headersFor({ secure: false })).toMatchObject({
      'X-Frame-Options': 'SAMEORIGIN',
      'Cache-Control': 'private',
    })
    expect(() => app.withOverrides({ preset: 'api' } as never)).toThrow(
      new TypeError(
        `unknown option "preset" in the route's security header overrides; known: ${[
          'helmet',
          'permissionsPolicy',
          'cacheControl',
          'reportUri',
          'reportGroup',
          'reportTo',
          'nonce',
          'hsts',
          'removeHeaders',
        ].join(', ')}`,
      ),
    )
  })

  it('keeps X-Powered-By when helmet is told to, and removes listed headers', () => {
    const policy = createSecurityHeaders({
      helmet: { xPoweredBy: false },
      removeHeaders: ['X-AspNet-Version'],
    })
    expect(policy.remove).toEqual(['X-AspNet-Version'])
  })

  it('resolves options or an existing policy', () => {
    const policy = createSecurityHeaders()
    expect(resolveSecurityHeaders(policy)).toBe(policy)
    expect(isSecurityHeadersPolicy(resolveSecurityHeaders({ preset: 'web' }))).toBe(true)
    expect(isSecurityHeadersPolicy({ headers: [] })).toBe(false)
    expect(Object.isFrozen(policy.headers)).toBe(true)
  })
})

describe('option validation', () => {
  it.each([
    [{ preset: 'html' }, '"preset" option must be "api" or "web"'],
    [
      { presett: 'web' },
      'unknown option "presett" in createSecurityHeaders(): did you mean "preset"?',
    ],
    [
      { helmet: { hsts: false } },
      `unknown option "helmet.hsts" in createSecurityHeaders(): did you mean "helmet.strictTransportSecurity"? (helmet's hsts is Palisade's helmet.strictTransportSecurity)`,
    ],
    [
      { helmet: { frameguard: true } },
      `unknown option "helmet.frameguard" in createSecurityHeaders(): did you mean "helmet.xFrameOptions"? (helmet's frameguard is Palisade's helmet.xFrameOptions)`,
    ],
    [
      { helmet: { xFrameOption: true } },
      'unknown option "helmet.xFrameOption" in createSecurityHeaders(): did you mean "helmet.xFrameOptions"?',
    ],
    [
      { helmet: { xFrameOptions: 'deny' } },
      '"helmet.xFrameOptions" option must be a boolean or an object',
    ],
    [{ helmet: 'strict' }, '"helmet" option must be an object'],
    [
      { helmet: { contentSecurityPolicy: { directives: { scriptSrc: [1] } } } },
      '"helmet.contentSecurityPolicy.directives.scriptSrc" option must be a string, an array of strings or null',
    ],
    [
      { helmet: { contentSecurityPolicy: { reportOnly: 'yes' } } },
      '"helmet.contentSecurityPolicy.reportOnly" option must be a boolean',
    ],
    [{ cacheControl: '' }, '"cacheControl" option must be a non-empty header value'],
    [
      { cacheControl: 'no-store\r\nSet-Cookie: a=b' },
      '"cacheControl" option must be a non-empty header value',
    ],
    [
      { permissionsPolicy: { 'Camera!': [] } },
      '"permissionsPolicy.Camera!" is not a valid feature name',
    ],
    [
      { permissionsPolicy: { camera: ['none'] } },
      `"permissionsPolicy.camera" option entries must be 'self', 'src', '*' or an http(s) origin`,
    ],
    [
      { permissionsPolicy: 3 },
      '"permissionsPolicy" option must be a boolean, a string or a feature map',
    ],
    [{ nonce: 'yes' }, '"nonce" option must be a boolean'],
    [{ hsts: true }, '"hsts" option must be "https" or "always"'],
    [
      { reportGroup: 'a b' },
      '"reportGroup" option must be a token of letters, digits, "-" and "_"',
    ],
    [{ removeHeaders: 'Server' }, '"removeHeaders" option must be an array of header names'],
    [{ removeHeaders: ['Bad Name'] }, '"removeHeaders" option must be an array of header names'],
  ])('%j throws a TypeError naming the option', (options, message) => {
    expect(() => createSecurityHeaders(options as never)).toThrow(new TypeError(message))
  })

  it.each([
    'csp-reports',
    '//evil.example.com/r',
    'https://x.example.com/a;b',
    'javascript:alert(1)',
    '/a b',
  ])('refuses reportUri %j', (reportUri) => {
    expect(() => createSecurityHeaders({ reportUri })).toThrow(/^"reportUri" option must be/)
  })

  it("wraps helmet's own refusals in a TypeError naming the option", () => {
    expect(() =>
      createSecurityHeaders({
        helmet: { contentSecurityPolicy: { directives: { 'default-src': null } } },
      }),
    ).toThrow(/^"helmet" option is invalid: Content-Security-Policy needs a default-src/)
    expect(() =>
      createSecurityHeaders({ helmet: { referrerPolicy: { policy: 'nope' as never } } }),
    ).toThrow(
      new TypeError(
        '"helmet" option is invalid: Referrer-Policy received an unexpected policy token "nope"',
      ),
    )
    expect(() =>
      createSecurityHeaders({
        helmet: { contentSecurityPolicy: { directives: { 'script-src': 'self' } } },
      }),
    ).toThrow(/should be quoted/)
  })
})

describe('types', () => {
  it('types the options and the policy', () => {
    const policy = createSecurityHeaders({ preset: 'web' })
    expectTypeOf(policy.headers).toEqualTypeOf<
      readonly (readonly [name: string, value: string])[]
    >()
    expectTypeOf(policy.nonceHeader).toEqualTypeOf<
      'Content-Security-Policy' | 'Content-Security-Policy-Report-Only' | undefined
    >()
    expectTypeOf<
      Parameters<typeof policy.withOverrides>[0]
    >().toEqualTypeOf<SecurityHeadersOverrides>()
    // @ts-expect-error -- not a preset
    expect(() => createSecurityHeaders({ preset: 'html' })).toThrow(TypeError)
    // @ts-expect-error -- helmet's legacy alias is not accepted
    expect(() => createSecurityHeaders({ helmet: { frameguard: false } })).toThrow(TypeError)
    // @ts-expect-error -- the preset is chosen once, not per route
    expect(() => policy.withOverrides({ preset: 'api' })).toThrow(TypeError)
  })
})
