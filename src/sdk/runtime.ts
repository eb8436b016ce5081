/**
 * What every concern of the SDK shares: the resolved options, the tracer, the
 * instruments, the fault policy, and the span plumbing used by all wrappers
 * (run a host function in a span, end a span, choose a receive span's parent).
 */
import {
  context as contextApi,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { ERROR_TYPE, INSTRUMENTATION_SCOPE } from '../model/attributes.js';
import type { SchemaRegistry } from '../schemas/validators.js';
import { nowMs } from './clock.js';
import { errorType, type FaultPolicy } from './fault-policy.js';
import type { BatonInstruments } from './metrics.js';
import type { ReceiveParenting } from './options.js';
import type { PropagationMode } from './trace-context.js';

export type SpanAttributes = Record<string, string | number | boolean | string[]>;

export const DEFAULT_MAX_RECORDED_PAYLOAD_BYTES = 8192;
export const DEFAULT_MAX_ENVELOPE_BYTES = 1024 * 1024;

/** Baton's options once resolved, and the parts built from them. */
export interface SdkRuntime {
  readonly schemas: SchemaRegistry;
  readonly tracer: Tracer | undefined;
  readonly instruments: BatonInstruments;
  readonly policy: FaultPolicy;
  readonly schema: { id: string; version: string };
  readonly propagation: PropagationMode;
  readonly parenting: ReceiveParenting;
  readonly recordPayloads: boolean;
  readonly maxRecordedPayloadBytes: number;
  readonly maxEnvelopeBytes: number;
}

// The global tracer is looked up per call so a provider registered after Baton was made is used.
export function activeTracer(rt: SdkRuntime): Tracer {
  return rt.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE);
}

export function newId(): string {
  return globalThis.crypto.randomUUID();
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** Runs fn, sync or async, and calls `finish(resultOrError, failed)` exactly once. Errors of fn are rethrown. */
export function runInSpan<T>(span: Span, fn: () => T, finish: (value: unknown, failed: boolean) => void): T {
  let result: T;
  try {
    result = contextApi.with(trace.setSpan(contextApi.active(), span), fn);
  } catch (error) {
    finish(error, true);
    throw error;
  }
  if (isThenable(result)) {
    return (result as unknown as Promise<unknown>).then(
      (value) => {
        finish(value, false);
        return value;
      },
      (error: unknown) => {
        finish(error, true);
        throw error;
      },
    ) as T;
  }
  finish(result, false);
  return result;
}

/** Ends a span around host code, marking it failed with the host's error when it threw. */
export function endFallible(rt: SdkRuntime, span: Span, error: unknown, failed: boolean): void {
  try {
    if (failed) {
      span.setAttribute(ERROR_TYPE, errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      if (error instanceof Error) span.recordException(error, nowMs());
    }
    span.end(nowMs());
  } catch (fault) {
    rt.policy.fault('end', fault, undefined);
  }
}

/** Decides the parent context and links of a receive/consume span from the sender's span context. */
export function receiveParent(remote: SpanContext | undefined, parenting: ReceiveParenting): { parent: Context; links: Link[] } {
  const active = contextApi.active();
  if (!remote) return { parent: active, links: [] };
  const hasActiveSpan = trace.getSpan(active) !== undefined;
  if (parenting === 'parent' || (parenting === 'auto' && !hasActiveSpan)) {
    return { parent: trace.setSpanContext(hasActiveSpan ? active : ROOT_CONTEXT, remote), links: [] };
  }
  return { parent: active, links: [{ context: remote }] };
}
