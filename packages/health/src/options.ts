export {
  booleanOption,
  functionOption,
  integerOption,
  isObject,
  loggerOption,
  silentLogger,
  stringOption,
} from '@palisade/errors'
