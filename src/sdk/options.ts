/**
 * The public types of the SDK: Baton's options, the per-call options of each
 * entry point and what they return. Kept apart from the code so the facade
 * (baton.ts) and the five concerns behind it share one definition.
 */
import type { Context, Meter, Span, Tracer } from '@opentelemetry/api';
import type { SchemaRef } from '../model/envelope.js';
import type { SchemaIssue } from '../model/errors.js';
import type { SchemaRegistry } from '../schemas/validators.js';
import type { PropagationMode } from './trace-context.js';

/**
 * `warn` records problems (on the span, in `stats()`, once per kind through `diag`) and
 * goes on; `strict` throws them, always as BatonError subclasses with a documented `code`.
 */
export type BatonMode = 'warn' | 'strict';

/** How a receive or consume span relates to the sender's span. */
export type ReceiveParenting =
  /** Child of the host's active span with a link to the sender if there is one, else child of the sender. */
  | 'auto'
  /** Always a child of the sender's span: one trace even when the receiver has its own active span. */
  | 'parent'
  /** Never a child of the sender: only a span link (the receiver keeps its own trace). */
  | 'link';

/** Options of {@link Baton}. Every one has a default. */
export interface BatonOptions {
  /** Default `'warn'`. */
  readonly mode?: BatonMode;
  /** Default: `trace.getTracer('baton')` from the host's global provider, looked up per call. */
  readonly tracer?: Tracer;
  /** Default: `metrics.getMeter('baton')` from the host's global provider. */
  readonly meter?: Meter;
  /** Default: {@link SchemaRegistry.shared}, one registry for every Baton in the process (Baton's envelope schemas v1 and v2 and whatever was registered on it). */
  readonly schemas?: SchemaRegistry;
  /** Schema both sides validate against unless a call says otherwise. Default `baton.handoff-envelope@1`. */
  readonly schema?: SchemaRef;
  /** Default `'w3c'`: Baton writes traceparent itself. `'global'` uses the host's propagator. */
  readonly propagation?: PropagationMode;
  /** Default `'auto'`. */
  readonly receiveParenting?: ReceiveParenting;
  /** Record envelope and event bodies on spans (`baton.envelope.body`). Default false: sizes only. */
  readonly recordPayloads?: boolean;
  /** Longest body recorded when recordPayloads is on. Default 8192 bytes. */
  readonly maxRecordedPayloadBytes?: number;
  /** Envelopes larger than this fail validation with keyword `maxEnvelopeBytes`. Default 1 MiB. */
  readonly maxEnvelopeBytes?: number;
  /**
   * Validate only some envelopes once an edge has proven itself. Default: every
   * envelope, at send and at receive. See {@link ValidationSampling}.
   */
  readonly validationSampling?: ValidationSampling;
}

/**
 * Schema validation by sampling, counted per edge (source → target), side and
 * schema id@version: the first `firstPerEdge` envelopes are validated, then one
 * in every `thenOneIn`. An envelope not validated still gets its span, sizes,
 * context facts and the size limit; its span has no `baton.validation.result`
 * (the analyzer reads that as "not validated", never as valid). Counting is
 * deterministic, so a new edge, a new schema version or a new sender is always
 * checked from its first envelope.
 */
export interface ValidationSampling {
  /** Envelopes validated on each edge before sampling starts. Default 100. */
  readonly firstPerEdge?: number;
  /** After that, one envelope in this many is validated. Default 100; 1 validates every envelope. */
  readonly thenOneIn?: number;
}

/** Per-call options of {@link Baton.send}. Values given here win over the envelope's own handoff block. */
export interface SendOptions {
  readonly schema?: SchemaRef;
  readonly handoffId?: string;
  readonly attempt?: number;
  readonly idempotencyKey?: string;
  readonly epoch?: number;
  readonly stateVersion?: number;
  /** How long the target has to acknowledge, in milliseconds. */
  readonly timeoutBudgetMs?: number;
}

/** Per-call options of {@link Baton.receive}. */
export interface ReceiveOptions {
  /** Schema the receiver expects; default the Baton instance's schema. */
  readonly schema?: SchemaRef;
  /** The receiving agent; default the envelope's `target_agent`. */
  readonly agent?: string;
  /** `'auto'` (default) acknowledges at receive; `'manual'` waits for `ack()`. */
  readonly ack?: 'auto' | 'manual';
  readonly parenting?: ReceiveParenting;
}

/** What {@link Baton.receive} returns. */
export interface ReceivedHandoff<E = Record<string, unknown>> {
  /**
   * The envelope, parsed if a JSON string was received. Typed as the envelope the receiver
   * expects, it is one only when {@link ReceivedHandoff.valid} is true: otherwise it is whatever
   * arrived (the text itself when it was not JSON, `null`, a number, an envelope of another schema
   * version), so check `valid` before reading its fields.
   */
  readonly envelope: E;
  /**
   * True when the envelope passed the receiver's schema (or, under `validationSampling`, is a JSON
   * object that sampling passed by unchecked); false when it failed, was not JSON or not an object.
   */
  readonly valid: boolean;
  readonly issues: readonly SchemaIssue[];
  /** Context whose active span is the receive span: run the receiver's work under it. */
  readonly context: Context;
  /** Runs `fn` under {@link ReceivedHandoff.context}; its result or exception is `fn`'s. A method: call it on the handoff. */
  run<T>(fn: () => T): T;
  /** Acknowledges the handoff (manual ack mode); later calls do nothing. A method: call it on the handoff. */
  ack(): void;
}

/** Options of {@link Baton.runAgent}. */
export interface RunAgentOptions {
  readonly taskId?: string;
  readonly agentId?: string;
  readonly conversationId?: string;
  readonly model?: string;
  /** Agents this run waits on; the analyzer checks them for cycles. */
  readonly dependsOn?: readonly string[];
}

/** The handle an agent run receives to record what only it knows. */
export interface AgentRun {
  readonly span: Span;
  setUsage(inputTokens: number, outputTokens?: number): void;
  /** Marks the run as blocked on a dependency (the symptom of a deadlock); it ends with outcome `blocked`. */
  block(reason: string): void;
}

/** Describes one state-store access. Only `key` is required. */
export interface StateAccess {
  readonly key: string;
  readonly agent?: string;
  readonly taskId?: string;
  readonly epoch?: number;
  readonly attempt?: number;
  /** One logical write across retries (`baton.idempotency_key`); the pattern stores deduplicate on it. */
  readonly idempotencyKey?: string;
  readonly step?: string;
  /** For writes: the version the writer expects to replace (optimistic concurrency). */
  readonly expectedVersion?: number;
  /** For writes: the topic of the completion event this write must be followed by. */
  readonly announces?: string;
  /** `db.system.name`, e.g. `redis`, `postgresql`; default the store's. */
  readonly system?: string;
  readonly collection?: string;
}

/** What a traced state read or write may return; numeric `version`/`epoch` and a boolean `deduplicated` are recorded. */
export interface StateResultFacts {
  readonly version?: number;
  readonly epoch?: number;
  /** For writes: the store recognised a repeat (same idempotency key) and committed nothing new. */
  readonly deduplicated?: boolean;
}

/** Describes an event to publish. */
export interface PublishEvent {
  readonly topic: string;
  /** Default: a random UUID. Keep it across redeliveries so consumers can deduplicate. */
  readonly id?: string;
  readonly taskId?: string;
  readonly agent?: string;
  /** The state key whose write this event announces. */
  readonly key?: string;
  readonly stateVersion?: number;
  readonly payload?: unknown;
  /** `messaging.system`, default `'baton'`. */
  readonly system?: string;
}

/** Options of {@link Baton.consume}. */
export interface ConsumeOptions {
  readonly agent?: string;
  readonly system?: string;
  readonly parenting?: ReceiveParenting;
}

/** Counts since the Baton instance was made. */
export interface BatonStats {
  handoffsSent: number;
  handoffsReceived: number;
  validationFailures: number;
  ackTimeouts: number;
  /** Faults inside instrumentation, counted instead of thrown in warn mode. */
  faults: number;
}
