/**
 * A TracingProcessor for the OpenAI Agents SDK (@openai/agents) that turns the
 * SDK's traces and spans into OpenTelemetry spans, so they reach any OTLP
 * exporter, Jaeger, or `baton watch`, with the SDK's own ids and times.
 *
 * ```ts
 * import { addTraceProcessor } from '@openai/agents';
 * import { BatonAgentsTracingProcessor } from 'baton-sdk/openai-agents';
 * addTraceProcessor(new BatonAgentsTracingProcessor({ tracerProvider }));
 * ```
 *
 * - Each SDK span becomes an OTel span when it starts (so children nest under
 *   it) and is finished when the SDK ends it, at the SDK's own start and end
 *   times (`startedAt`/`endedAt`), with its data mapped once at the end (a
 *   handoff learns its target only then). Names and attributes: see
 *   src/model/openai-agents.ts and docs/frameworks.md.
 * - The trace becomes an `invoke_workflow` span, parent of the run's
 *   top-level spans. A run that throws (max turns, a guardrail tripwire, a
 *   model error) never ends its trace in the SDK; the processor then ends the
 *   workflow span itself when its last open span ends with an error, marked
 *   `openai_agents.trace.ended = false`, and on `shutdown()` ends whatever is
 *   still open, so no span is lost.
 * - Ids: OTel trace and span ids are derived from the SDK's `trace_…`/`span_…`
 *   ids (src/model/openai-agents.ts) when the tracer provider uses
 *   {@link AgentsIdGenerator}; with any other generator the OTel ids are random
 *   and the SDK's stay in `openai_agents.trace.id`/`span.id`. Parenting uses the
 *   live OTel spans either way.
 * - It never throws into the host: a fault is reported once through `diag`,
 *   counted (`faults`), and the SDK's run goes on. Open spans are bounded
 *   (`maxOpenSpans`): past it new spans are dropped and counted (`dropped`).
 *
 * Imports only @opentelemetry/api and Baton's model; @openai/agents only as types.
 */
import { diag, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { Span as AgentsSpan, SpanData, Trace as AgentsTrace, TracingProcessor } from '@openai/agents';
import { INSTRUMENTATION_SCOPE, OPENAI_AGENTS_TRACE_ENDED } from '../../model/attributes.js';
import { describeAgentsSpan, describeAgentsTrace, otelSpanIdOf, otelTraceIdOf, otelWorkflowSpanIdOf, type AgentsOtelSpan } from '../../model/openai-agents.js';

/** Instrumentation scope of the spans the processor writes; the `openai-agents` dialect claims it. */
export const OPENAI_AGENTS_SCOPE = `${INSTRUMENTATION_SCOPE}.openai-agents`;

const VERSION = '0.1.0';

/** Options of {@link BatonAgentsTracingProcessor}. */
export interface BatonAgentsTracingProcessorOptions {
  /** Where the spans go. Default: the global tracer provider. */
  readonly tracerProvider?: TracerProvider;
  /** A tracer to use instead of one from `tracerProvider`. */
  readonly tracer?: Tracer;
  /** Copy tool arguments and results, custom span data and error data onto the spans (default false: names, ids, counts only). */
  readonly recordPayloads?: boolean;
  /** Most spans (and traces) kept open at once; past it new ones are dropped and counted. Default 10 000. */
  readonly maxOpenSpans?: number;
}

/** The ids the next `startSpan` should get, read once by {@link AgentsIdGenerator} (startSpan is synchronous, so no other span can take them). */
let pendingTraceId: string | undefined;
let pendingSpanId: string | undefined;

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  let out = '';
  for (let i = 0; i < buffer.length; i++) out += buffer[i]!.toString(16).padStart(2, '0');
  return out;
}

/**
 * An OTel `IdGenerator` (pass it to the tracer provider: `new NodeTracerProvider({ idGenerator: new AgentsIdGenerator() })`)
 * that gives spans written by {@link BatonAgentsTracingProcessor} the ids derived from the SDK's, and every other span random ids as the default generator does.
 */
export class AgentsIdGenerator {
  generateTraceId(): string {
    const id = pendingTraceId;
    pendingTraceId = undefined;
    return id ?? randomHex(16);
  }

  generateSpanId(): string {
    const id = pendingSpanId;
    pendingSpanId = undefined;
    return id ?? randomHex(8);
  }
}

interface OpenTrace {
  readonly span: Span;
  readonly context: Context;
  /** SDK spans of this trace still open. */
  open: number;
  /** End of the latest span of the trace that ended, epoch ms. */
  lastEndMs: number;
}

function timeOf(iso: string | null | undefined): number | undefined {
  if (typeof iso !== 'string') return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

function apiKind(shape: AgentsOtelSpan): SpanKind {
  return shape.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL;
}

/**
 * Turns the OpenAI Agents SDK's traces and spans into OpenTelemetry spans (see the file header).
 * Register it with `addTraceProcessor(processor)` (beside the SDK's own exporter) or `setTraceProcessors([processor])` (instead of it).
 */
export class BatonAgentsTracingProcessor implements TracingProcessor {
  readonly #tracer: Tracer;
  readonly #recordPayloads: boolean;
  readonly #maxOpen: number;
  readonly #spans = new Map<string, Span>();
  readonly #traces = new Map<string, OpenTrace>();
  readonly #reported = new Set<string>();
  #faults = 0;
  #dropped = 0;

  constructor(options: BatonAgentsTracingProcessorOptions = {}) {
    // Options are the host's, made at start-up: `null`, a provider whose getTracer throws or a
    // maxOpenSpans that is not a number fall back to the defaults as a fault, never a throw into the app.
    const given: BatonAgentsTracingProcessorOptions = options ?? {};
    let tracer: Tracer | undefined;
    this.#guard('options.tracerProvider', () => {
      tracer = given.tracer ?? (given.tracerProvider ?? trace.getTracerProvider()).getTracer(OPENAI_AGENTS_SCOPE, VERSION);
    });
    this.#tracer = tracer ?? trace.getTracer(OPENAI_AGENTS_SCOPE, VERSION);
    this.#recordPayloads = given.recordPayloads === true;
    const maxOpen = given.maxOpenSpans;
    if (maxOpen !== undefined && (typeof maxOpen !== 'number' || Number.isNaN(maxOpen))) {
      this.#guard('options.maxOpenSpans', () => {
        throw new TypeError(`maxOpenSpans must be a number, not ${String(maxOpen)}: using 10000`);
      });
    }
    this.#maxOpen = typeof maxOpen === 'number' && !Number.isNaN(maxOpen) ? Math.max(1, maxOpen) : 10_000;
  }

  /** Faults caught inside the processor (each kind also reported once through `diag.warn`). */
  get faults(): number {
    return this.#faults;
  }

  /** Spans and traces dropped because `maxOpenSpans` were open. */
  get dropped(): number {
    return this.#dropped;
  }

  async onTraceStart(agentsTrace: AgentsTrace): Promise<void> {
    this.#guard('onTraceStart', () => this.#startTrace(agentsTrace));
  }

  async onTraceEnd(agentsTrace: AgentsTrace): Promise<void> {
    this.#guard('onTraceEnd', () => {
      const open = this.#traces.get(agentsTrace.traceId);
      if (!open) return;
      this.#traces.delete(agentsTrace.traceId);
      open.span.end(Math.max(Date.now(), open.lastEndMs));
    });
  }

  async onSpanStart(span: AgentsSpan<SpanData>): Promise<void> {
    this.#guard('onSpanStart', () => {
      this.#startSpan(span);
    });
  }

  async onSpanEnd(span: AgentsSpan<SpanData>): Promise<void> {
    this.#guard('onSpanEnd', () => this.#endSpan(span));
  }

  /** Ends every span and trace still open (a run that never ended its trace): nothing is lost when the app exits. */
  async shutdown(): Promise<void> {
    this.#guard('shutdown', () => {
      const now = Date.now();
      for (const span of this.#spans.values()) span.end(now);
      this.#spans.clear();
      for (const open of this.#traces.values()) {
        open.span.setAttribute(OPENAI_AGENTS_TRACE_ENDED, false);
        open.span.end(Math.max(open.lastEndMs, now));
      }
      this.#traces.clear();
    });
  }

  /** The tracer provider owns flushing; nothing is buffered here. */
  async forceFlush(): Promise<void> {}

  #guard(where: string, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#faults++;
      if (!this.#reported.has(where)) {
        this.#reported.add(where);
        diag.warn(`baton openai-agents processor: ${where} failed (reported once): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  #full(): boolean {
    if (this.#spans.size + this.#traces.size < this.#maxOpen) return false;
    this.#dropped++;
    if (!this.#reported.has('maxOpenSpans')) {
      this.#reported.add('maxOpenSpans');
      diag.warn(`baton openai-agents processor: ${this.#maxOpen} spans open, dropping new ones (reported once; see processor.dropped)`);
    }
    return true;
  }

  #startTrace(agentsTrace: AgentsTrace): OpenTrace | undefined {
    const traceId = agentsTrace.traceId;
    const known = this.#traces.get(traceId);
    if (known) return known;
    if (this.#full()) return undefined;
    const shape = describeAgentsTrace(traceId, agentsTrace.name, agentsTrace.groupId);
    pendingTraceId = otelTraceIdOf(traceId);
    pendingSpanId = otelWorkflowSpanIdOf(traceId);
    let span: Span;
    try {
      span = this.#tracer.startSpan(shape.name, { kind: SpanKind.INTERNAL, attributes: shape.attributes as Attributes, startTime: Date.now(), root: true }, ROOT_CONTEXT);
    } finally {
      pendingTraceId = undefined;
      pendingSpanId = undefined;
    }
    const open: OpenTrace = { span, context: trace.setSpan(ROOT_CONTEXT, span), open: 0, lastEndMs: 0 };
    this.#traces.set(traceId, open);
    return open;
  }

  /** The context a span starts in: its live parent, else the trace's workflow span, else a parent context carrying the derived ids. */
  #parentContext(span: AgentsSpan<SpanData>): Context {
    const parentId = span.parentId;
    if (parentId) {
      const parent = this.#spans.get(parentId);
      if (parent) return trace.setSpan(ROOT_CONTEXT, parent);
    }
    const open = this.#traces.get(span.traceId);
    if (open && !parentId) return open.context;
    // The parent ended already or was never seen (the processor was added mid-run): keep the SDK's structure by id.
    return trace.setSpanContext(ROOT_CONTEXT, {
      traceId: open ? open.span.spanContext().traceId : otelTraceIdOf(span.traceId),
      spanId: parentId ? otelSpanIdOf(parentId) : otelWorkflowSpanIdOf(span.traceId),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
    });
  }

  #startSpan(span: AgentsSpan<SpanData>): Span | undefined {
    const known = this.#spans.get(span.spanId);
    if (known) return known;
    if (this.#full()) return undefined;
    const shape = describeAgentsSpan({ spanId: span.spanId, traceId: span.traceId, parentId: span.parentId }, span.spanData, null, { recordPayloads: this.#recordPayloads });
    const parent = this.#parentContext(span);
    pendingSpanId = otelSpanIdOf(span.spanId);
    let otelSpan: Span;
    try {
      otelSpan = this.#tracer.startSpan(shape.name, { kind: apiKind(shape), startTime: timeOf(span.startedAt) ?? Date.now() }, parent);
    } finally {
      pendingSpanId = undefined;
    }
    this.#spans.set(span.spanId, otelSpan);
    const open = this.#traces.get(span.traceId);
    if (open) open.open++;
    return otelSpan;
  }

  #endSpan(span: AgentsSpan<SpanData>): void {
    // A span dispatched already finished (dispatchSpan) may arrive without a start.
    const otelSpan = this.#spans.get(span.spanId) ?? this.#startSpan(span);
    if (!otelSpan) return;
    this.#spans.delete(span.spanId);
    const error = span.error;
    const shape = describeAgentsSpan({ spanId: span.spanId, traceId: span.traceId, parentId: span.parentId }, span.spanData, error, { recordPayloads: this.#recordPayloads });
    otelSpan.updateName(shape.name);
    otelSpan.setAttributes(shape.attributes as Attributes);
    if (shape.error) otelSpan.setStatus({ code: SpanStatusCode.ERROR, message: shape.statusMessage });
    const endMs = timeOf(span.endedAt) ?? Date.now();
    otelSpan.end(endMs);
    const open = this.#traces.get(span.traceId);
    if (!open) return;
    open.open = Math.max(0, open.open - 1);
    if (endMs > open.lastEndMs) open.lastEndMs = endMs;
    // The SDK ends no trace after a run that threw: once nothing of it is open and a top-level span failed, the trace is over.
    if (open.open === 0 && shape.error && !span.parentId) {
      this.#traces.delete(span.traceId);
      open.span.setAttribute(OPENAI_AGENTS_TRACE_ENDED, false);
      open.span.setStatus({ code: SpanStatusCode.ERROR, message: shape.statusMessage });
      open.span.end(endMs);
    }
  }
}
