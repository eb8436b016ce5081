/**
 * The fault policy: what the SDK does when its own instrumentation fails. In warn
 * mode (the default) a fault is counted and reported through `diag`, and the
 * host's code goes on; in strict mode it is thrown as a BatonError.
 */
import { diag, type Span } from '@opentelemetry/api';
import { BATON_FAULT_COUNT, ERROR_TYPE } from '../model/attributes.js';
import { BatonError, InstrumentationFaultError } from '../model/errors.js';
import { METRIC_OPERATION, type BatonInstruments } from './metrics.js';
import type { BatonMode, BatonStats } from './options.js';

/** The `error.type` of an error: a BatonError's code, else the class name. */
export function errorType(error: unknown): string {
  if (error instanceof BatonError) return error.code;
  if (error instanceof Error) return error.name || 'Error';
  return typeof error;
}

export class FaultPolicy {
  readonly stats: BatonStats = {
    handoffsSent: 0,
    handoffsReceived: 0,
    validationFailures: 0,
    ackTimeouts: 0,
    faults: 0,
  };

  constructor(
    readonly mode: BatonMode,
    readonly instruments: BatonInstruments,
  ) {}

  /** Counts an instrumentation fault; in strict mode throws it. Never throws in warn mode. */
  fault(operation: string, error: unknown, span: Span | undefined): void {
    this.stats.faults++;
    try {
      this.instruments.faults.add(1, { [METRIC_OPERATION]: operation });
      span?.setAttribute(BATON_FAULT_COUNT, 1);
      span?.setAttribute(ERROR_TYPE, errorType(error));
      diag.warn(`baton: instrumentation fault in ${operation}: ${error instanceof Error ? error.message : String(error)}`);
    } catch {
      // A broken meter or diag logger must not turn a counted fault into a thrown one.
    }
    if (this.mode === 'strict') {
      throw error instanceof BatonError ? error : new InstrumentationFaultError(operation, error);
    }
  }
}
