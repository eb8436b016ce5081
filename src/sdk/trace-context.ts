/**
 * W3C Trace Context in and out of envelopes and event messages.
 *
 * Baton writes `traceparent`/`tracestate` itself rather than through the global
 * propagator: a host that registered a tracer provider but no propagator (the
 * API's default is a no-op) would otherwise send envelopes that cannot be linked.
 * `propagation: 'global'` defers to the host's propagator instead (for baggage, B3...).
 *
 * @see https://www.w3.org/TR/trace-context/#traceparent-header
 */
import {
  context as contextApi,
  createTraceState,
  INVALID_SPANID,
  INVALID_TRACEID,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { TraceContextCarrier } from '../model/envelope.js';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The value of a lower-case hex digit's char code (the pattern has checked it is one). */
const hexValue = (code: number): number => (code <= 57 ? code - 48 : code - 87);

/** How trace context travels: Baton's own W3C writer, or the host's registered propagator. */
export type PropagationMode = 'w3c' | 'global';

/** Writes the span context of `ctx` into a fresh carrier. */
export function injectTraceContext(ctx: Context, mode: PropagationMode): TraceContextCarrier | undefined {
  if (mode === 'global') {
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier);
    return carrier.traceparent ? carrier : undefined;
  }
  return carrierOf(trace.getSpanContext(ctx));
}

/** Writes `span`'s own context into a fresh carrier: what injectTraceContext does for a context holding it, minus the context. */
export function injectSpanContext(span: Span, mode: PropagationMode): TraceContextCarrier | undefined {
  return mode === 'global' ? injectTraceContext(trace.setSpan(contextApi.active(), span), mode) : carrierOf(span.spanContext());
}

function carrierOf(sc: SpanContext | undefined): TraceContextCarrier | undefined {
  if (!sc || !isSpanContextValid(sc)) return undefined;
  const flagBits = sc.traceFlags & 0xff;
  // Sampled or not: the two values a span has in practice, without formatting a number per handoff.
  const flags = flagBits === 1 ? '01' : flagBits === 0 ? '00' : flagBits.toString(16).padStart(2, '0');
  const carrier: { traceparent: string; tracestate?: string } = {
    traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}`,
  };
  const state = sc.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/** Reads a remote span context from a carrier; undefined when absent or malformed. */
export function extractSpanContext(carrier: unknown, mode: PropagationMode): SpanContext | undefined {
  if (carrier === null || typeof carrier !== 'object') return undefined;
  if (mode === 'global') {
    const sc = trace.getSpanContext(propagation.extract(contextApi.active(), carrier));
    return sc && isSpanContextValid(sc) ? sc : undefined;
  }
  const { traceparent, tracestate } = carrier as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string') return undefined;
  // Tested, then cut at its fixed offsets: no match array per receive.
  if (!TRACEPARENT.test(traceparent)) return undefined;
  const traceId = traceparent.slice(3, 35);
  const spanId = traceparent.slice(36, 52);
  // The pattern has checked the hex digits and lengths; what isSpanContextValid adds is the all-zero ids.
  if (traceId === INVALID_TRACEID || spanId === INVALID_SPANID) return undefined;
  const traceFlags = hexValue(traceparent.charCodeAt(53)) * 16 + hexValue(traceparent.charCodeAt(54));
  const sc: SpanContext = { traceId, spanId, traceFlags, isRemote: true };
  if (typeof tracestate === 'string' && tracestate.length > 0) sc.traceState = createTraceState(tracestate);
  return sc;
}
