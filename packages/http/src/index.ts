// Security headers (src/headers/)
export {
  createNonce,
  createSecurityHeaders,
  isSecurityHeadersPolicy,
  resolveSecurityHeaders,
} from './headers/policy.js'
export type {
  ContentSecurityPolicyOverrides,
  CspDirectiveValue,
  HeaderEntry,
  HeaderTarget,
  HelmetOverrides,
  SecurityHeadersOptions,
  SecurityHeadersOverrides,
  SecurityHeadersPolicy,
  SecurityHeadersPreset,
} from './headers/policy.js'
export {
  OWASP_PERMISSIONS_POLICY,
  serializePermissionsPolicy,
} from './headers/permissions-policy.js'
export {
  createCspReportReceiver,
  cspReportErrorResponse,
  parseCspReports,
} from './headers/report-receiver.js'
export type {
  CspReportReceiver,
  CspReportReceiverOptions,
  CspReportRequest,
  CspReportResponse,
  CspViolation,
  ReportLogger,
} from './headers/report-receiver.js'
export { CspReportError } from './headers/errors.js'
export type { HeadersErrorCode } from './headers/errors.js'

// Rate limiting (src/rate-limit/)
export { createRateLimiter } from './rate-limit/limiter.js'
export type {
  RateLimitClient,
  RateLimitDecision,
  RateLimitKey,
  RateLimitLogger,
  RateLimitOptions,
  RateLimitOutcome,
  RateLimitPolicyOptions,
  RateLimitRejection,
  RateLimitRequest,
  RateLimitRoute,
  RateLimitValidations,
  RateLimiter,
  RouteRateLimitOptions,
  StoreErrorMode,
} from './rate-limit/limiter.js'
export { MemoryStore } from './rate-limit/memory-store.js'
export type { MemoryStoreOptions } from './rate-limit/memory-store.js'
export { RedisStore } from './rate-limit/redis-store.js'
export type {
  IoredisLike,
  NodeRedisLike,
  RedisSendCommand,
  RedisStoreOptions,
} from './rate-limit/redis-store.js'
export { RateLimitError } from './rate-limit/errors.js'
export type { RateLimitErrorCode, RateLimitWarningCode } from './rate-limit/errors.js'
export { QUOTA_EXCEEDED_TITLE, QUOTA_EXCEEDED_TYPE } from './rate-limit/headers.js'
export type {
  RateLimitPolicy,
  RateLimitPolicyState,
  RateLimitHeaderFormat,
} from './rate-limit/headers.js'
export { ipKey } from './rate-limit/keys.js'
export type {
  ClientRateLimitInfo,
  ConsumeOptions,
  ConsumeResult,
  RateLimitAlgorithm,
  RateLimitStore,
  StoreInitOptions,
} from './rate-limit/store.js'

// Both halves
export type { HttpErrorCode } from './errors.js'
