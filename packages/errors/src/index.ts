export { PalisadeError, isPalisadeError } from './palisade-error.js'
export type { HttpErrorFields, PalisadeErrorOptions } from './palisade-error.js'
