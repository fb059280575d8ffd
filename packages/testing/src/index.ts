export { startDevIssuer } from './issuer.js'
export type { DevIssuer, FailOptions, FailurePath, FailureMode, RequestCounters } from './issuer.js'
export type { DevIssuerAlgorithm, DevIssuerOptions } from './options.js'
export type { MintOptions, OmittableClaim } from './mint.js'
export type { PublicJwk } from './keys.js'
export { DevIssuerError } from './errors.js'
export type { DevIssuerErrorCode } from './errors.js'
export { conformanceCases, probe } from './conformance.js'
export type { ConformanceCase, ConformanceTarget, ProbeResult } from './conformance.js'
export { healthConformanceCases } from './health-conformance.js'
export type { HealthConformanceCase, HealthConformanceTarget } from './health-conformance.js'
export {
  assertSameRateLimitObservations,
  rateLimitConformanceCases,
  runRateLimitCase,
} from './rate-limit-conformance.js'
export type {
  RateLimitConformanceCase,
  RateLimitConformanceOptions,
  RateLimitConformancePolicy,
  RateLimitConformanceStep,
  RateLimitObservation,
} from './rate-limit-conformance.js'
export { rollingDeploy, runRollingDeploy } from './rolling-deploy.js'
export type {
  RollingDeployOptions,
  RollingDeployReport,
  RollingDeployTarget,
} from './rolling-deploy.js'
