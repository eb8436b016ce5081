/**
 * The analyzer's input error: trace data that cannot be read. It extends the SDK's
 * BatonError imported from `baton-sdk/errors` (not compiled again into baton-cli), so one
 * `instanceof BatonError` holds whichever package an error came from; it lives here,
 * not in src/model, because model imports nothing at run time.
 */
import { BatonError } from 'baton-sdk/errors';

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
