/**
 * The analyzer's normalized model of coordination: agents, handoffs with their
 * send / receive / ack parts, state accesses, events and agent runs. Dialects
 * (src/analyze/dialects) read them from spans of one vocabulary (Baton's
 * conventions, the OTel GenAI agent conventions, a framework's own); the shared
 * assembly (src/analyze/assemble.ts) pairs and orders them. Types only.
 *
 * Every record keeps the trace and span ids it came from, so findings can name
 * their evidence, and the dialect that read it, so a rule can say which
 * vocabulary does not record what it needs.
 */
import type { AbstractGraph } from 'graphology-types';

/** Where a record came from. */
export interface SpanRef {
  readonly traceId: string;
  readonly spanId: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** Outcome of validating an envelope on one side of a handoff. */
export interface ValidationFacts {
  readonly result: 'valid' | 'invalid' | 'error';
  readonly errorPath?: string;
  readonly errorKeyword?: string;
  readonly durationMs?: number;
}

/** What the envelope carried, as recorded on one side (never the body). */
export interface EnvelopeFacts {
  readonly schemaId?: string;
  readonly schemaVersion?: string;
  readonly validation?: ValidationFacts;
  readonly attempt?: number;
  readonly epoch?: number;
  readonly stateVersion?: number;
  readonly idempotencyKey?: string;
  readonly timeoutBudgetMs?: number;
  readonly tokenCount?: number;
  readonly contextBytes?: number;
  readonly envelopeBytes?: number;
  readonly decisionsCount?: number;
  readonly constraintsCount?: number;
  /** Context fields the envelope lacked (`decisions_made`, `constraints`, `context`); undefined if not recorded. */
  readonly missingFields?: readonly string[];
  readonly status?: string;
}

/** The sending side of a handoff. */
export interface HandoffSend extends SpanRef, EnvelopeFacts {
  readonly parentSpanId: string;
  /** The agent run the send happened in, if any. */
  readonly agentRunSpanId?: string;
}

/** An acknowledgement: automatic (recorded on the receive span) or manual (its own span). */
export interface HandoffAck extends SpanRef {
  readonly atMs: number;
  /** The delay the receiver measured from the envelope's sent_at, if recorded. */
  readonly delayMs?: number;
  readonly withinBudget?: boolean;
  readonly manual: boolean;
}

/** The receiving side of a handoff. */
export interface HandoffReceive extends SpanRef, EnvelopeFacts {
  readonly parentSpanId: string;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  /** Schema version the sender stamped, as the receiver read it. */
  readonly senderSchemaVersion?: string;
  /** True when the span's parent or one of its links is this handoff's send span (trace context arrived). */
  readonly linkedToSend: boolean;
  /** True when the span has a link or a remote-looking parent at all. */
  readonly carriesRemoteContext: boolean;
  readonly agent: string;
}

/**
 * How a handoff travelled: `message`, an envelope sent on one span and received
 * on another (possibly in another process); `transfer`, control passed inside
 * one process and recorded as one span holding both sides (a framework's
 * handoff tool call), so it has no separate receive, acknowledgement or trace
 * context to check.
 */
export type HandoffKind = 'message' | 'transfer';

/**
 * What the caller expects back, as the GenAI drafts name it: `return_to_caller`
 * (delegation: the target works and the caller resumes), `pass_control` (the
 * target takes over). Undefined when the source does not say.
 */
export type TransferMode = 'return_to_caller' | 'pass_control';

/**
 * What a router did with a message on its way to the target, as the framework
 * recorded it (Agent Framework's `edge_group.delivery_status`): `delivered`,
 * `buffered` (a fan-in waiting for its other sources), or a drop
 * (`dropped type mismatch`, `dropped target mismatch`, `dropped condition
 * evaluated to false`) or `exception`, the message going nowhere.
 */
export interface HandoffDelivery extends SpanRef {
  /** The status as recorded, lowercased. */
  readonly status: string;
  /** True for `delivered` and `buffered`: the router took the message on. */
  readonly accepted: boolean;
  /** The router, when named (`edge_group.type`: `SingleEdgeGroup`, `FanInEdgeGroup`, …). */
  readonly router?: string;
}

/** One handoff: a send and its receives (a redelivered message is received more than once). */
export interface Handoff {
  /** `baton.handoff.id`, or `span:<spanId>` when a side recorded none. */
  readonly id: string;
  readonly taskId: string | undefined;
  readonly source: string;
  readonly target: string;
  /** The earliest send. */
  readonly send: HandoffSend | undefined;
  /** How many send spans carry this handoff id: more than one is a resend (a retry). */
  readonly sendCount: number;
  readonly receives: readonly HandoffReceive[];
  readonly acks: readonly HandoffAck[];
  readonly kind: HandoffKind;
  /** Id of the dialect that read it (`baton`, `otel-genai`, …). */
  readonly dialect: string;
  readonly mode?: TransferMode;
  /** True when the dialect inferred the handoff from span structure rather than reading a declared one. */
  readonly inferred: boolean;
  /** Routing outcomes recorded between the send and the target, in time order; absent when the vocabulary records none. */
  readonly deliveries?: readonly HandoffDelivery[];
}

export interface StateAccessRecord extends SpanRef {
  readonly kind: 'read' | 'write';
  readonly key: string;
  /** The store holding the key (`db.system.name` and `db.namespace`), '' when unnamed: keys are compared within a store. */
  readonly store: string;
  readonly dialect: string;
  /** The store recognised the write as a repeat and committed nothing new (`baton.state.deduplicated`). */
  readonly deduplicated?: boolean;
  readonly agent: string | undefined;
  readonly taskId: string | undefined;
  readonly ok: boolean;
  readonly versionRead?: number;
  readonly versionWritten?: number;
  readonly found?: boolean;
  readonly epoch?: number;
  readonly attempt?: number;
  readonly idempotencyKey?: string;
  readonly step?: string;
  readonly expectedTopic?: string;
  /** For writes: the version a compare-and-set expected to replace; a retry of such a write cannot commit twice. */
  readonly versionExpected?: number;
  /** A failed write whose reply never came (a timeout): it may have committed all the same. */
  readonly outcomeUnknown?: boolean;
  /** The agent run the access happened in, if any. */
  readonly agentRunSpanId: string | undefined;
}

export interface EventRecord extends SpanRef {
  readonly kind: 'publish' | 'consume';
  readonly dialect: string;
  readonly messageId: string;
  readonly topic: string;
  readonly taskId: string | undefined;
  readonly agent: string | undefined;
  readonly key?: string;
  readonly stateVersion?: number;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly parentSpanId: string;
}

export interface AgentRunRecord extends SpanRef {
  readonly agent: string;
  readonly dialect: string;
  /** `gen_ai.agent.id`, when recorded. */
  readonly agentId?: string;
  readonly taskId: string | undefined;
  readonly parentSpanId: string;
  readonly outcome: 'completed' | 'failed' | 'blocked' | undefined;
  readonly dependsOn: readonly string[];
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

/**
 * What a span is to the analyzer, whatever vocabulary said so: an agent run, a
 * coordination step (handoff send / receive / ack / transfer, state access,
 * event), or '' for any other span (kept for timing only).
 */
export type SpanRole = 'agent-run' | 'send' | 'receive' | 'ack' | 'transfer' | 'state-read' | 'state-write' | 'publish' | 'consume' | '';

/** A minimal span for timing analysis (critical path, coordination share). */
export interface TimedSpan extends SpanRef {
  readonly parentSpanId: string;
  readonly name: string;
  readonly role: SpanRole;
  readonly agent: string | undefined;
}

/** How many spans of a group one dialect interpreted (and how many of those it used). */
export interface DialectUsage {
  readonly id: string;
  /** Spans the dialect claimed. */
  readonly spans: number;
  /** Claimed spans that became part of the model. */
  readonly interpreted: number;
}

/**
 * Everything known about one connected group of traces (traces joined by
 * parent/link references), the unit every detector works on.
 */
export interface HandoffModel {
  readonly traceIds: readonly string[];
  readonly spanCount: number;
  /** Earliest start and latest end of any span in the group. */
  readonly horizon: { readonly startMs: number; readonly endMs: number };
  readonly handoffs: readonly Handoff[];
  readonly stateAccesses: readonly StateAccessRecord[];
  readonly events: readonly EventRecord[];
  readonly agentRuns: readonly AgentRunRecord[];
  readonly spans: readonly TimedSpan[];
  /** `baton.conventions.version` values seen; empty when no span followed Baton's conventions. */
  readonly conventionsVersions: readonly string[];
  /** The dialects that read this group, in priority order. */
  readonly dialects: readonly DialectUsage[];
}

/** Node attributes of the handoff graph: one node per agent. */
export interface AgentNodeAttributes {
  /** The agent's name (node keys are prefixed: see src/graph/node-keys.ts). */
  readonly name: string;
  readonly runs: number;
  readonly completed: number;
  readonly failed: number;
  readonly blocked: number;
}

/** Edge attributes: one directed edge per source → target pair, holding its handoffs. */
export interface HandoffEdgeAttributes {
  readonly source: string;
  readonly target: string;
  readonly handoffs: readonly Handoff[];
}

/** The model with its graphology graph of agents and handoff edges. */
export interface HandoffGraph {
  readonly model: HandoffModel;
  readonly graph: AbstractGraph<AgentNodeAttributes, HandoffEdgeAttributes>;
}
