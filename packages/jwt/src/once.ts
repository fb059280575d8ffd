import { JwtError } from './errors.js'
import { repeatsAuthorization } from './extract.js'
import type { AuthInfo, Authenticator, RequestLike } from './types.js'

/**
 * Wraps an authenticator so that each request is verified at most once, however many
 * middlewares ask: the outcome is remembered for the request's `headers` object (the same object
 * for the whole life of a request in Express, Fastify and Koa) and forgotten with it.
 *
 * Used when something before `auth()` needs the caller's identity, such as a rate limiter keyed
 * by token subject: both share one verification instead of doing it twice.
 *
 * @example
 * ```ts
 * const shared = oncePerRequest(createVerifier({ issuer, audience }))
 * const subject = (req: Request) =>
 *   shared.authenticate({ headers: req.headers }).then((info) => info.subject, () => undefined)
 * app.use(rateLimit({ key: 'subject-or-ip', subject }))
 * app.use(auth(shared))
 * ```
 */
export function oncePerRequest(authenticator: Authenticator): Authenticator {
  if (typeof (authenticator as Partial<Authenticator> | undefined)?.authenticate !== 'function') {
    throw new TypeError(
      'oncePerRequest() takes an authenticator from createVerifier() or authFromConfig()',
    )
  }
  const outcomes = new WeakMap<object, Promise<AuthInfo>>()
  return Object.freeze({
    enabled: authenticator.enabled,
    realm: authenticator.realm,
    ready: () => authenticator.ready(),
    authenticate(request: RequestLike): Promise<AuthInfo> {
      let outcome = outcomes.get(request.headers)
      if (outcome === undefined) {
        outcome = authenticator.authenticate(request)
        outcomes.set(request.headers, outcome)
      } else if (repeatsAuthorization(request)) {
        // The first caller may not have passed rawHeaders: a later one that does is not
        // answered from what the first one saw.
        return Promise.reject(
          new JwtError(
            'PALISADE_JWT_INVALID_REQUEST',
            'the Authorization header is sent more than once',
            { realm: authenticator.realm },
          ),
        )
      }
      return outcome
    },
  })
}
