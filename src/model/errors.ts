/**
 * The errors Baton throws, all under BatonError, each with a stable `code`.
 *
 * The SDK throws them into the host only in strict mode; in warn mode (the
 * default) the same conditions are recorded on spans and counted instead.
 * This module is baton-sdk's: the analyzer's and the CLI's own errors
 * (TraceInputError in ingest/errors.ts, ConfigError in cli/config.ts) extend
 * its BatonError through the `baton-sdk` package, so the classes are compiled
 * once; the CLI turns any BatonError into one stderr line and exit code 2.
 */

/** One way an envelope fails its schema: where (JSON pointer) and which keyword. */
export interface SchemaIssue {
  /** JSON pointer into the envelope, '' for the root. */
  readonly instancePath: string;
  /** The JSON Schema keyword that failed, or a Baton check: 'json', 'maxEnvelopeBytes', 'serializable'. */
  readonly keyword: string;
  readonly message: string;
}

/** Base class of every error Baton throws. Catch this to catch them all. */
export abstract class BatonError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An envelope failed validation against its schema (strict mode only). */
export class EnvelopeInvalidError extends BatonError {
  readonly code = 'BATON_ENVELOPE_INVALID';
  constructor(
    readonly schemaId: string,
    readonly schemaVersion: string,
    readonly side: 'send' | 'receive',
    readonly issues: readonly SchemaIssue[],
  ) {
    const first = issues[0];
    super(
      `envelope fails ${schemaId}@${schemaVersion} at ${side}: ${first ? `${first.instancePath || '/'} ${first.message}` : 'invalid'}`,
    );
  }
}

/** An envelope is larger than `maxEnvelopeBytes` (strict mode only). */
export class EnvelopeTooLargeError extends BatonError {
  readonly code = 'BATON_ENVELOPE_TOO_LARGE';
  constructor(
    readonly sizeBytes: number,
    readonly maxBytes: number,
  ) {
    super(`envelope is ${sizeBytes} bytes, over the ${maxBytes}-byte limit`);
  }
}

/** A schema id and version were asked for that nobody registered. */
export class SchemaUnknownError extends BatonError {
  readonly code = 'BATON_SCHEMA_UNKNOWN';
  constructor(
    readonly schemaId: string,
    readonly schemaVersion: string,
  ) {
    super(`no envelope schema registered as ${schemaId}@${schemaVersion}`);
  }
}

/** A schema could not be registered: it does not compile, or the id and version are taken. */
export class SchemaRegistrationError extends BatonError {
  readonly code = 'BATON_SCHEMA_REGISTRATION';
  constructor(
    readonly schemaId: string,
    readonly schemaVersion: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot register schema ${schemaId}@${schemaVersion}: ${reason}`, options);
  }
}

/**
 * Instrumentation itself failed, or a value the host passed could not be read
 * (strict mode only; warn mode counts it). `cause` is what was thrown, as thrown.
 */
export class InstrumentationFaultError extends BatonError {
  readonly code = 'BATON_INSTRUMENTATION_FAULT';
  /**
   * @param description what went wrong in one line; pass it when `cause` may be
   *   hostile (a Proxy, an object without a prototype), which this constructor
   *   otherwise stringifies.
   */
  constructor(
    readonly operation: string,
    cause: unknown,
    description?: string,
  ) {
    super(`instrumentation fault in ${operation}: ${description ?? (cause instanceof Error ? cause.message : String(cause))}`, { cause });
  }
}

/** A declared agent dependency plan has a cycle: a deadlock waiting to happen. */
export class PlanCycleError extends BatonError {
  readonly code = 'BATON_PLAN_CYCLE';
  constructor(readonly cycle: readonly string[]) {
    super(`dependency plan has a cycle: ${cycle.join(' → ')}`);
  }
}

/** A dependency plan is malformed (not an object of string arrays, or names an undeclared agent). */
export class PlanInvalidError extends BatonError {
  readonly code = 'BATON_PLAN_INVALID';
  constructor(reason: string) {
    super(`dependency plan is invalid: ${reason}`);
  }
}

/** A trace file cannot be written: it exists (and appending was not asked for), or it cannot be opened. */
export class ExportFileError extends BatonError {
  readonly code = 'BATON_EXPORT_FILE';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
  }
}

/** A write's expected version did not match the stored one. */
export class StateConflictError extends BatonError {
  readonly code = 'BATON_STATE_CONFLICT';
  constructor(
    readonly key: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`state ${key} is at version ${actualVersion}, not the expected ${expectedVersion}`);
  }
}

/**
 * A write carried an epoch older than the one stored: the writer acts for a task
 * stage that was already superseded (a zombie worker, a retry from an earlier
 * stage). The epoch works as a fencing token; the write was not applied.
 */
export class StaleEpochWriteError extends BatonError {
  readonly code = 'BATON_STATE_STALE_EPOCH';
  constructor(
    readonly key: string,
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(`state ${key} is at epoch ${currentEpoch}; a write from epoch ${epoch} is stale`);
  }
}
