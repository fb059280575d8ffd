import type { RequiredValidatorSpec, OptionalValidatorSpec } from 'envalid'
import type { Finding } from './issues.js'

declare const outputType: unique symbol

/** What a validator is given besides the raw value. */
export interface ParseContext {
  /** The variable being read. */
  readonly variable: string
  /** Whether the environment is production-like (see `resolveEnvironment`). */
  readonly productionLike: boolean
  /** Reports findings that are tolerated here (development) but would be refused in production. */
  readonly warn: (findings: readonly Finding[]) => void
  /** The whole environment being read, for rules that depend on another variable. */
  readonly env: Readonly<Record<string, string | undefined>>
}

/** Palisade's extension of an envalid spec; kept on the spec under a registered symbol. */
export interface SpecExtension {
  /** Secrets (and connection strings) are redacted everywhere and may come from `NAME_FILE`. */
  readonly sensitive: boolean
  /** Parses and judges a value; throws `RuleViolation` with findings when it is refused. */
  readonly parse: (raw: string, context: ParseContext) => unknown
}

/** The registered symbol under which {@link SpecExtension} is kept. */
export const SPEC_EXTENSION: unique symbol = Symbol.for('palisade.config.spec') as never

/** Fields every variable spec can carry, as in envalid. */
export interface SpecFields<Raw> {
  /** What the variable is for; shown in reports and `.env.example`. */
  readonly desc?: string | undefined
  /** An example value, shown in `.env.example` (never for secrets) and refused as a secret. */
  readonly example?: string | undefined
  /** A link to documentation. */
  readonly docs?: string | undefined
  /** The value when unset. Validated like any other value. `undefined` makes it optional. */
  readonly default?: Raw | undefined
  /** The value when unset in a non-production environment (development, dev, local, test). */
  readonly devDefault?: Raw | undefined
  /** The value when unset and the environment is `test`. */
  readonly testDefault?: Raw | undefined
  /** Makes an unset variable an error when this returns true for the other parsed values. */
  readonly requiredWhen?: ((cleaned: Record<string, unknown>) => boolean | undefined) | undefined
}

/** A variable spec produced by a Palisade validator; `Out` is the type it yields. */
export interface ConfigSpec<Out> extends SpecFields<string> {
  readonly _parse: (input: string) => unknown
  readonly [SPEC_EXTENSION]: SpecExtension
  /** Type-level only: the value type this spec yields. */
  readonly [outputType]?: Out
}

/** Any spec accepted in a schema: a Palisade validator's or an envalid validator's. */
export type AnySpec =
  ConfigSpec<unknown> | RequiredValidatorSpec<unknown> | OptionalValidatorSpec<unknown>

/** A schema: variable name to spec. */
export type ConfigSchema = Readonly<Record<string, AnySpec>>

/** The type a spec yields. */
export type ValueOf<S> = S extends { readonly [outputType]?: infer Out }
  ? Out
  : S extends OptionalValidatorSpec<infer U>
    ? U | undefined
    : S extends RequiredValidatorSpec<infer U>
      ? U
      : never

/** The frozen, typed configuration a schema yields. */
export type Config<S extends ConfigSchema> = { readonly [K in keyof S]: ValueOf<S[K]> }

/**
 * Adds `| undefined` when a spec's options can leave the value unset: `default: undefined`, or
 * `devDefault`/`testDefault: undefined` (unset in development or test).
 */
export type Optionality<O, T> = O extends
  { default: undefined } | { devDefault: undefined } | { testDefault: undefined }
  ? T | undefined
  : T

/** Reads the extension of a spec, when it is a Palisade spec. */
export function extensionOf(spec: unknown): SpecExtension | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined
  return (spec as { [SPEC_EXTENSION]?: SpecExtension })[SPEC_EXTENSION]
}
