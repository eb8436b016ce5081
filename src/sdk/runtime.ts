/**
 * What every concern of the SDK shares: the resolved options, the tracer, the
 * instruments, the fault policy, and the span plumbing used by all wrappers
 * (run a host function in a span, end a span, choose a receive span's parent).
 *
 * The wrappers keep one promise to the host, as OpenTelemetry's instrumentations
 * do: the host's function runs exactly once, and its value or exception comes
 * back unchanged whatever Baton's own parts do. A context manager, span, span
 * processor or thenable that throws is a fault (counted, reported once), never
 * the host's result.
 */
import {
  context as contextApi,
  metrics,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Meter,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { ERROR_TYPE, INSTRUMENTATION_SCOPE } from '../model/attributes.js';
import { ENVELOPE_SCHEMA_DEFAULT_VERSION, ENVELOPE_SCHEMA_ID } from '../model/envelope.js';
import { parseSchemaRef, SchemaRegistry } from '../schemas/validators.js';
import { nowMs } from './clock.js';
import { describeError, DiagReporter, errorType, FaultPolicy, toBatonError } from './fault-policy.js';
import { checkContextManagerOnce, contextManagerChecked } from './context-check.js';
import { createInstruments, type BatonInstruments } from './metrics.js';
import type { BatonMode, BatonOptions, ReceiveParenting } from './options.js';
import type { PropagationMode } from './trace-context.js';

export type SpanAttributes = Record<string, string | number | boolean | string[]>;

export const DEFAULT_MAX_RECORDED_PAYLOAD_BYTES = 8192;
export const DEFAULT_MAX_ENVELOPE_BYTES = 1024 * 1024;
const DEFAULT_SAMPLE_FIRST = 100;
const DEFAULT_SAMPLE_ONE_IN = 100;

/** A schema id and version, resolved. */
export interface SchemaKey {
  readonly id: string;
  readonly version: string;
}

/** Baton's options once resolved, and the parts built from them. */
export interface SdkRuntime {
  readonly mode: BatonMode;
  readonly schemas: SchemaRegistry;
  readonly tracer: Tracer | undefined;
  readonly instruments: BatonInstruments;
  readonly policy: FaultPolicy;
  readonly schema: SchemaKey;
  readonly propagation: PropagationMode;
  readonly parenting: ReceiveParenting;
  readonly recordPayloads: boolean;
  readonly maxRecordedPayloadBytes: number;
  readonly maxEnvelopeBytes: number;
  /** Undefined: validate every envelope. */
  readonly sampling: { readonly first: number; readonly oneIn: number; readonly seen: Map<string, number> } | undefined;
}

/** The sentinel a `let fault` starts as: no fault caught yet (`undefined` may be what a host threw). */
export const NO_FAULT: unique symbol = Symbol('baton.no-fault');

function readOption<T>(options: BatonOptions, key: keyof BatonOptions, faults: unknown[]): T | undefined {
  try {
    return options[key] as T | undefined;
  } catch (error) {
    faults.push(error);
    return undefined;
  }
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * Resolves Baton's options. Never throws in warn mode: an option that cannot be
 * read (a throwing getter) or makes no sense (a `mode` of `'loud'`, a negative
 * size limit, a malformed schema ref) falls back to its default and is a fault.
 * In strict mode the first such fault is thrown as a BatonError.
 */
export function resolveRuntime(input: BatonOptions | undefined): SdkRuntime {
  const faults: unknown[] = [];
  const options: BatonOptions = input !== null && typeof input === 'object' ? input : {};
  if (input !== undefined && options !== input) faults.push(new TypeError('options must be an object'));
  const rawMode = readOption<unknown>(options, 'mode', faults);
  const mode: BatonMode = rawMode === 'strict' ? 'strict' : 'warn';
  if (rawMode !== undefined && rawMode !== 'strict' && rawMode !== 'warn')
    faults.push(new TypeError("mode must be 'warn' or 'strict'"));
  const pick = <T>(key: keyof BatonOptions, accept: (value: unknown) => value is T, fallback: T): T => {
    const value = readOption<unknown>(options, key, faults);
    if (value === undefined) return fallback;
    if (accept(value)) return value;
    faults.push(new TypeError(`option ${key} is not valid`));
    return fallback;
  };
  const schemas = pick('schemas', (v): v is SchemaRegistry => v instanceof SchemaRegistry, undefined) ?? SchemaRegistry.shared();
  const tracer = pick('tracer', (v): v is Tracer => v !== null && typeof v === 'object', undefined);
  const meter = pick('meter', (v): v is Meter => v !== null && typeof v === 'object', undefined);
  let schema: SchemaKey = { id: ENVELOPE_SCHEMA_ID, version: ENVELOPE_SCHEMA_DEFAULT_VERSION };
  const rawSchema = readOption<unknown>(options, 'schema', faults);
  if (rawSchema !== undefined) {
    const parsed = resolveSchemaRef(rawSchema);
    if (parsed) schema = parsed;
    else faults.push(new TypeError('option schema is not an id@version string or an { id, version } object'));
  }
  const propagation = pick('propagation', (v): v is PropagationMode => v === 'w3c' || v === 'global', 'w3c' as PropagationMode);
  const parenting = pick(
    'receiveParenting',
    (v): v is ReceiveParenting => v === 'auto' || v === 'parent' || v === 'link',
    'auto' as ReceiveParenting,
  );
  const recordPayloads = pick('recordPayloads', (v): v is boolean => typeof v === 'boolean', false);
  const maxRecordedPayloadBytes = pick('maxRecordedPayloadBytes', isCount, DEFAULT_MAX_RECORDED_PAYLOAD_BYTES);
  const maxEnvelopeBytes = pick('maxEnvelopeBytes', isCount, DEFAULT_MAX_ENVELOPE_BYTES);
  let sampling: SdkRuntime['sampling'];
  const rawSampling = readOption<unknown>(options, 'validationSampling', faults);
  if (rawSampling !== undefined) {
    try {
      const s = rawSampling as { firstPerEdge?: unknown; thenOneIn?: unknown };
      const first = s.firstPerEdge === undefined ? DEFAULT_SAMPLE_FIRST : s.firstPerEdge;
      const oneIn = s.thenOneIn === undefined ? DEFAULT_SAMPLE_ONE_IN : s.thenOneIn;
      if (!isCount(first) || !isCount(oneIn) || oneIn < 1)
        throw new TypeError('option validationSampling needs counts, thenOneIn ≥ 1');
      if (oneIn > 1) sampling = { first, oneIn, seen: new Map() };
    } catch (error) {
      faults.push(error);
    }
  }
  const reporter = new DiagReporter();
  const instrumentFaults: unknown[] = [];
  const instruments = createInstruments(meter ?? safeGlobalMeter(instrumentFaults), (error) => instrumentFaults.push(error));
  const policy = new FaultPolicy(mode, instruments, reporter);
  const rt: SdkRuntime = {
    mode,
    schemas,
    tracer,
    instruments,
    policy,
    schema,
    propagation,
    parenting,
    recordPayloads,
    maxRecordedPayloadBytes,
    maxEnvelopeBytes,
    sampling,
  };
  // Reported once the policy exists; in strict mode the first one is thrown from the constructor.
  for (const error of instrumentFaults) policy.fault('meter', error, undefined, false);
  for (const error of faults) policy.fault('options', error, undefined, false);
  if (mode === 'strict' && faults.length + instrumentFaults.length > 0) {
    throw toBatonError(faults.length > 0 ? 'options' : 'meter', faults[0] ?? instrumentFaults[0]);
  }
  return rt;
}

function safeGlobalMeter(faults: unknown[]): Meter {
  try {
    return metrics.getMeter(INSTRUMENTATION_SCOPE);
  } catch (error) {
    faults.push(error);
    return metrics.getMeterProvider().getMeter(INSTRUMENTATION_SCOPE);
  }
}

/** A schema ref as id and version, or undefined when it is neither an `id@version` string nor an `{ id, version }` of strings. */
export function resolveSchemaRef(ref: unknown): SchemaKey | undefined {
  try {
    if (typeof ref === 'string') return ref.length > 0 ? parseSchemaRef(ref) : undefined;
    if (ref === null || typeof ref !== 'object') return undefined;
    const { id, version } = ref as { id?: unknown; version?: unknown };
    return typeof id === 'string' && typeof version === 'string' ? { id, version } : undefined;
  } catch {
    return undefined;
  }
}

// The global tracer is looked up per call so a provider registered after Baton was made is used.
export function activeTracer(rt: SdkRuntime): Tracer {
  return rt.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE);
}

/**
 * Random bytes for 256 ids at a time: one `getRandomValues` call instead of one per id, as
 * Node's own `randomUUID` caches entropy. Both are the platform's CSPRNG.
 */
const ID_POOL = new Uint8Array(16 * 256);
let idPoolOffset = ID_POOL.length;
/** ASCII codes of a byte's two lower-case hex digits. */
const HEX_HIGH = new Uint8Array(256);
const HEX_LOW = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  HEX_HIGH[byte] = (byte >> 4) < 10 ? 48 + (byte >> 4) : 87 + (byte >> 4);
  HEX_LOW[byte] = (byte & 15) < 10 ? 48 + (byte & 15) : 87 + (byte & 15);
}

/**
 * A random RFC 9562 version 4 UUID, as `crypto.randomUUID()` makes, built as one flat string
 * from a pool of random bytes by a single `String.fromCharCode` of its 36 characters:
 * `randomUUID` concatenates 20 pieces per id (about 600 bytes of garbage; 0.1–0.2 µs more
 * per handoff here). Unrolled: a loop filling an array for `apply` took half the gain back.
 */
export function newId(): string {
  if (idPoolOffset === ID_POOL.length) {
    globalThis.crypto.getRandomValues(ID_POOL);
    idPoolOffset = 0;
  }
  const b = ID_POOL;
  const o = idPoolOffset;
  idPoolOffset += 16;
  const h = HEX_HIGH;
  const l = HEX_LOW;
  const b6 = (b[o + 6]! & 0x0f) | 0x40; // version 4
  const b8 = (b[o + 8]! & 0x3f) | 0x80; // variant 10
  const dash = 45;
  // prettier-ignore
  return String.fromCharCode(
    h[b[o]!]!, l[b[o]!]!, h[b[o + 1]!]!, l[b[o + 1]!]!, h[b[o + 2]!]!, l[b[o + 2]!]!, h[b[o + 3]!]!, l[b[o + 3]!]!, dash,
    h[b[o + 4]!]!, l[b[o + 4]!]!, h[b[o + 5]!]!, l[b[o + 5]!]!, dash,
    h[b6]!, l[b6]!, h[b[o + 7]!]!, l[b[o + 7]!]!, dash,
    h[b8]!, l[b8]!, h[b[o + 9]!]!, l[b[o + 9]!]!, dash,
    h[b[o + 10]!]!, l[b[o + 10]!]!, h[b[o + 11]!]!, l[b[o + 11]!]!, h[b[o + 12]!]!, l[b[o + 12]!]!,
    h[b[o + 13]!]!, l[b[o + 13]!]!, h[b[o + 14]!]!, l[b[o + 14]!]!, h[b[o + 15]!]!, l[b[o + 15]!]!,
  );
}

/** Ends a span Baton started, at Baton's clock; a span or processor that throws is a fault of `operation`. */
export function endSpan(rt: SdkRuntime, span: Span | undefined, operation: string, mayThrow: boolean): BatonErrorOrNone {
  if (!span) return undefined;
  try {
    span.end(nowMs());
    return undefined;
  } catch (error) {
    rt.policy.fault(operation, error, undefined, false);
    return mayThrow && rt.mode === 'strict' ? toBatonError(operation, error) : undefined;
  }
}

type BatonErrorOrNone = ReturnType<typeof toBatonError> | undefined;

/**
 * Runs `fn` under `ctx`. A context manager that throws before `fn` runs is a
 * fault and `fn` runs without it; one that throws after is a fault and `fn`'s
 * value is returned; `fn`'s own exception is rethrown as it is.
 */
export function runInContext<T>(rt: SdkRuntime, ctx: Context, fn: () => T): T {
  let state = 0; // 0: not entered, 1: fn running, 2: fn returned, 3: fn threw
  let value: T | undefined;
  let thrown: unknown;
  try {
    return contextApi.with(ctx, () => {
      state = 1;
      try {
        value = fn();
      } catch (error) {
        state = 3;
        thrown = error;
        throw error;
      }
      state = 2;
      return value;
    });
  } catch (error) {
    if (state === 3 && error === thrown) throw error;
    if (state === 3) {
      rt.policy.fault('context', error, undefined, false);
      throw thrown;
    }
    rt.policy.fault('context', error, undefined, false);
    if (state === 2) return value as T;
    if (state === 1) throw error; // unreachable: fn's throws set state 3
    return fn();
  }
}

/**
 * Reads `value.then` without trusting it: a getter that throws is a fault and
 * the value is treated as not a thenable (returned to the host as it is).
 */
function thenOf(rt: SdkRuntime, value: unknown): ((onFulfilled: unknown, onRejected: unknown) => unknown) | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    const then = (value as { then?: unknown }).then;
    return typeof then === 'function' ? (then as (a: unknown, b: unknown) => unknown) : undefined;
  } catch (error) {
    rt.policy.fault('thenable', error, undefined, false);
    return undefined;
  }
}

/**
 * Runs `fn`, sync or async, in `span`'s context, calling `finish(resultOrError,
 * failed)` exactly once when it settles. `fn` runs exactly once; its value or
 * exception is the host's, returned or rethrown unchanged (a promise is chained
 * and resolves or rejects with the same value). A `finish` that throws (strict
 * mode) is thrown only when `fn` succeeded.
 */
export function runInSpan<T>(rt: SdkRuntime, span: Span, fn: () => T, finish: (value: unknown, failed: boolean) => void): T {
  let ctx: Context;
  try {
    ctx = trace.setSpan(contextApi.active(), span);
  } catch (error) {
    rt.policy.fault('context', error, span, false);
    ctx = ROOT_CONTEXT;
  }
  let result: T;
  try {
    result = runInContext(rt, ctx, fn);
  } catch (error) {
    finish(error, true);
    throw error;
  }
  const then = thenOf(rt, result);
  if (!then) {
    finish(result, false);
    return result;
  }
  let settled = false;
  try {
    return then.call(
      result,
      (value: unknown) => {
        settled = true;
        finish(value, false);
        return value;
      },
      (error: unknown) => {
        settled = true;
        finish(error, true);
        throw error;
      },
    ) as T;
  } catch (error) {
    // A thenable whose then() throws: the host gets its value back as it was.
    rt.policy.fault('thenable', error, span, false);
    if (!settled) finish(result, false);
    return result;
  }
}

/**
 * A call missing what it is about (an agent run without a name, a state access without a key, a
 * consume of no published message): its span is kept, named `unknown`, so the host's work is still
 * timed and placed, and the call is a fault. Strict mode ends the span and throws before the
 * host's function runs. `failed` marks the ended span as failed (an agent run that never ran).
 */
export function faultOnMissing(rt: SdkRuntime, span: Span, operation: string, message: string, failed: boolean): void {
  const missing = new TypeError(message);
  rt.policy.fault(operation, missing, span, false);
  if (rt.mode !== 'strict') return;
  endFallible(rt, span, operation, undefined, failed);
  throw toBatonError(operation, missing);
}

/**
 * Ends a span around host code, marking it failed with the host's error when it
 * threw. A span that cannot be marked is still ended. Never throws when `failed`
 * (the host's exception is on its way out); in strict mode, when the host
 * succeeded, a fault is thrown.
 */
export function endFallible(rt: SdkRuntime, span: Span, operation: string, error: unknown, failed: boolean): void {
  let fault: BatonErrorOrNone;
  if (failed) {
    try {
      span.setAttribute(ERROR_TYPE, errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      let isError = false;
      try {
        isError = error instanceof Error;
      } catch {
        // a Proxy: not recorded as an exception
      }
      if (isError) span.recordException(error as Error, nowMs());
    } catch (markFault) {
      rt.policy.fault(operation, markFault, undefined, false);
    }
  }
  fault = endSpan(rt, span, operation, !failed);
  if (fault) throw fault;
}

/** No links: one frozen array for every receive that has none (OpenTelemetry copies links, never keeps this array). */
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];

/**
 * A receive's or consume's `parenting` option: one of the documented values, else the Baton's
 * default and a fault to report (a value outside them must not change behaviour silently).
 */
export function parentingOf(option: unknown, fallback: ReceiveParenting): { parenting: ReceiveParenting; fault?: TypeError } {
  if (option === 'auto' || option === 'parent' || option === 'link') return { parenting: option };
  if (option === undefined) return { parenting: fallback };
  return { parenting: fallback, fault: new TypeError("option parenting must be 'auto', 'parent' or 'link'") };
}

/** Decides the parent context and links of a receive/consume span from the sender's span context. */
export function receiveParent(remote: SpanContext | undefined, parenting: ReceiveParenting): { parent: Context; links: Link[] } {
  const active = contextApi.active();
  if (!remote) return { parent: active, links: NO_LINKS };
  const hasActiveSpan = trace.getSpan(active) !== undefined;
  if (parenting === 'parent' || (parenting === 'auto' && !hasActiveSpan)) {
    return { parent: trace.setSpanContext(hasActiveSpan ? active : ROOT_CONTEXT, remote), links: NO_LINKS };
  }
  return { parent: active, links: [{ context: remote }] };
}

/** On the first span Baton starts, checks once per process that a context manager carries context (context-check.ts). */
export function checkContextManager(rt: SdkRuntime): void {
  if (contextManagerChecked()) return;
  checkContextManagerOnce((kind, message) => rt.policy.reporter.report(kind, message));
}
