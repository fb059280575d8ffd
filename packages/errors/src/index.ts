export { PalisadeError, isPalisadeError } from './palisade-error.js'
export type { HttpErrorFields, PalisadeErrorOptions } from './palisade-error.js'
export {
  booleanOption,
  functionOption,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
  stringOption,
} from './options.js'
export { checkOptionNames, replacedOptions } from './option-names.js'
export type { OptionNamesContext, ReplacedLibrary, ReplacedOption } from './option-names.js'
export { isLoopbackAddress, isLoopbackHostname } from './loopback.js'
export { redactCredentials } from './credentials.js'
export {
  EXIT_CONFIG,
  EXIT_UNAVAILABLE,
  describeNetworkFailure,
  formatStartupReport,
  reportStartupFailure,
  startupFailureOf,
  withStartupProblems,
} from './startup.js'
export type {
  NetworkFailureKind,
  ReportStartupFailureOptions,
  StartupFailure,
  StartupLogger,
  StartupProblem,
  StartupReport,
} from './startup.js'
