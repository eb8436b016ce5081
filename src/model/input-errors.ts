/**
 * The errors of the analyzer and the CLI: trace input that cannot be read, a
 * configuration that does not validate. They extend the SDK's BatonError,
 * imported from `baton-sdk` (not compiled again into baton-cli), so one
 * `instanceof BatonError` holds whichever package an error came from and
 * whichever package the class was imported from.
 */
import { BatonError } from 'baton-sdk';

/** Input that cannot be read as trace data; `location` names the file and position. */
export class TraceInputError extends BatonError {
  readonly code = 'BATON_TRACE_INPUT';
  constructor(
    readonly location: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${location}: ${reason}`, options);
  }
}

/** A configuration file or option that does not validate. */
export class ConfigError extends BatonError {
  readonly code = 'BATON_CONFIG';
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`${location}: ${reason}`);
  }
}
