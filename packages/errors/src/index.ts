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
export { isLoopbackAddress, isLoopbackHostname } from './loopback.js'
export { redactCredentials } from './credentials.js'
