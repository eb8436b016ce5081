/**
 * The fault policy: what the SDK does when its own instrumentation fails, or when
 * something the host handed it (an envelope, options, a thenable) misbehaves.
 *
 * As in OpenTelemetry's own SDK, a fault never reaches the host in warn mode (the
 * default): it is counted (`stats().faults`, the `baton.instrumentation.faults`
 * counter), marked on the span when there is one, and reported through `diag`,
 * once per kind and then at most once a minute with the number seen meanwhile,
 * so a broken exporter cannot flood the host's log. The host's own value or
 * exception always passes through unchanged. In strict mode the fault is thrown
 * as a BatonError (InstrumentationFaultError unless it already is one).
 *
 * Every function here survives hostile values: a thrown Proxy whose traps throw,
 * an object without a prototype, a Symbol. Describing an error never throws.
 */
import { diag, type Span } from '@opentelemetry/api';
import { BATON_FAULT_COUNT, ERROR_TYPE } from '../model/attributes.js';
import { BatonError, InstrumentationFaultError } from '../model/errors.js';
import { printable } from '../model/printable.js';
import { METRIC_OPERATION, type BatonInstruments } from './metrics.js';
import type { BatonMode, BatonStats } from './options.js';

/** After the first report of a kind, further ones are folded into one line per this period. */
export const REPORT_INTERVAL_MS = 60_000;
/** Distinct kinds remembered; past this, new kinds share one entry (the reporter's memory stays bounded). */
const MAX_REPORT_KINDS = 256;
/** Longest error message quoted in a diag line or span status. */
const MAX_MESSAGE_CHARS = 300;

function isBatonError(error: unknown): error is BatonError {
  try {
    return error instanceof BatonError;
  } catch {
    return false; // a Proxy whose getPrototypeOf trap throws
  }
}

function isError(error: unknown): error is Error {
  try {
    return error instanceof Error;
  } catch {
    return false;
  }
}

/** The `error.type` of an error: a BatonError's code, else the class name, else the typeof. Never throws. */
export function errorType(error: unknown): string {
  try {
    if (error instanceof BatonError) return error.code;
    if (error instanceof Error) return typeof error.name === 'string' && error.name ? error.name : 'Error';
  } catch {
    // fall through: a hostile object is described by its typeof
  }
  return typeof error;
}

/** A one-line description of an error for diag and span status; bounded, never throws. */
export function describeError(error: unknown): string {
  let text: string;
  try {
    if (isError(error)) text = typeof error.message === 'string' ? error.message : errorType(error);
    else if (typeof error === 'string') text = error;
    else if (typeof error === 'number' || typeof error === 'boolean' || typeof error === 'bigint') text = String(error);
    else if (typeof error === 'symbol') text = error.toString();
    else text = `a thrown ${error === null ? 'null' : typeof error}`;
  } catch {
    text = `a thrown ${typeof error}`;
  }
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

interface ReportState {
  lastMs: number;
  suppressed: number;
}

/**
 * Reports through `diag.warn`, once per kind, then at most once per
 * REPORT_INTERVAL_MS with the count suppressed in between. A broken diag logger
 * is ignored.
 */
export class DiagReporter {
  readonly #kinds = new Map<string, ReportState>();

  report(kind: string, message: string): void {
    const now = Date.now();
    let key = kind;
    let state = this.#kinds.get(key);
    if (!state && this.#kinds.size >= MAX_REPORT_KINDS) {
      key = '(other)';
      state = this.#kinds.get(key);
    }
    if (!state) {
      this.#kinds.set(key, { lastMs: now, suppressed: 0 });
      this.#write(`baton: ${message}`);
      return;
    }
    if (now - state.lastMs < REPORT_INTERVAL_MS) {
      state.suppressed++;
      return;
    }
    const more = state.suppressed;
    state.lastMs = now;
    state.suppressed = 0;
    this.#write(more > 0 ? `baton: ${message} (and ${more} more like it since the last report)` : `baton: ${message}`);
  }

  #write(line: string): void {
    try {
      // Lines quote agent names, schema ids and error messages from envelopes the app received: a control
      // character or a newline there must not reach the host's log as one (a forged line, a cleared screen).
      diag.warn(printable(line));
    } catch {
      // A diag logger that throws must not turn a report into a fault.
    }
  }
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
    readonly reporter: DiagReporter,
  ) {}

  /**
   * Counts an instrumentation fault, marks `span` and reports it once per kind.
   * In strict mode throws it as a BatonError unless `mayThrow` is false (used
   * where the host's own exception is already on its way out and must win).
   */
  fault(operation: string, error: unknown, span: Span | undefined, mayThrow = true): void {
    this.stats.faults++;
    const type = errorType(error);
    try {
      this.instruments.faults.add(1, { [METRIC_OPERATION]: operation });
    } catch {
      // A broken meter must not turn a counted fault into a thrown one.
    }
    if (span) {
      try {
        span.setAttribute(BATON_FAULT_COUNT, 1);
        span.setAttribute(ERROR_TYPE, type);
      } catch {
        // The span itself may be what is broken.
      }
    }
    this.reporter.report(`fault ${operation} ${type}`, `instrumentation fault in ${operation}: ${describeError(error)}`);
    if (this.mode === 'strict' && mayThrow) throw toBatonError(operation, error);
  }
}

/** The error strict mode throws for a fault: the fault itself when it is a BatonError. */
export function toBatonError(operation: string, error: unknown): BatonError {
  if (isBatonError(error)) return error;
  return new InstrumentationFaultError(operation, error, describeError(error));
}

/**
 * False, after saying so once through diag, when an instrument call (a store adapter's, instrumentStore) was given no object (null, or
 * undefined from a config path not taken): the caller hands the value back untouched, so the app
 * starts as it would without Baton instead of meeting a TypeError about Baton's internals.
 */
export function isClientObject(call: string, expected: string, target: unknown): boolean {
  if (target !== null && typeof target === 'object') return true;
  try {
    diag.warn(`baton: ${call} needs ${expected}, got ${target === null ? 'null' : typeof target}: nothing is traced`);
  } catch {
    // A broken diag logger must not turn the report into a throw.
  }
  return false;
}
