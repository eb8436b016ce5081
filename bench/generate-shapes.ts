/**
 * Makes OTLP JSON Lines trace files of one input shape at a chosen size, for the
 * growth benchmark (bench/shapes.ts): many traces, one long trace, many agents,
 * a deep chain, revision and delegation loops, a hot state key, handoffs in
 * flight, and three adversarial shapes (resends under one handoff id, writes under
 * one idempotency key, stale reads); then the frameworks' own span trees, one long
 * or deep run each (bench/framework-shapes.ts). `generateShapeRequests` gives a
 * shape's requests in memory (the dialect growth tests read them).
 *
 * Spans are written straight as OTLP/JSON, not through the SDK (a million spans
 * through the SDK would take minutes), but with the SDK's structure and attributes
 * (docs/conventions.md; fixtures/clean.json is the model): agent runs hold their
 * state accesses, publishes and sends; a receive is a child of its send, or a child
 * of the receiver's run with a span link to the send; the coordinator consumes each
 * completion event through a link. Lines hold up to 512 spans in the order spans
 * end, as a BatchSpanProcessor in front of the Collector's file exporter writes them.
 * Everything is deterministic: ids come from a counter, jitter from a seeded LCG.
 *
 *   npx tsx bench/generate-shapes.ts <shape> <n> <out.jsonl>
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BATON_ACK_DELAY_MS,
  BATON_ACK_WITHIN_BUDGET,
  BATON_AGENT_DEPENDS_ON,
  BATON_AGENT_OUTCOME,
  BATON_ATTEMPT,
  BATON_CONTEXT_CONSTRAINTS_COUNT,
  BATON_CONTEXT_DECISIONS_COUNT,
  BATON_CONTEXT_MISSING_FIELDS,
  BATON_CONTEXT_SIZE_BYTES,
  BATON_CONTEXT_TOKEN_COUNT,
  BATON_CONVENTIONS_VERSION,
  BATON_ENVELOPE_SCHEMA_ID,
  BATON_ENVELOPE_SCHEMA_VERSION,
  BATON_ENVELOPE_SENDER_SCHEMA_VERSION,
  BATON_ENVELOPE_SIZE_BYTES,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_HANDOFF_ID,
  BATON_HANDOFF_SENT_AT,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_STATUS,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_STEP,
  BATON_TASK_ID,
  BATON_TIMEOUT_BUDGET_MS,
  BATON_VALIDATION_DURATION_MS,
  BATON_VALIDATION_RESULT,
  BatonOperation,
  CONVENTIONS_VERSION,
  DB_COLLECTION_NAME,
  DB_OPERATION_NAME,
  DB_SYSTEM_NAME,
  GEN_AI_AGENT_NAME,
  GEN_AI_OPERATION_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  INSTRUMENTATION_SCOPE,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
} from '../src/model/attributes.js';
import { FRAMEWORK_SHAPES, langGraphSwarms } from './framework-shapes.js';
import { bool, dbl, int, KIND_CLIENT, KIND_CONSUMER, KIND_INTERNAL, KIND_PRODUCER, KIND_SERVER, str, strs, type OtlpAttribute, type OtlpEvent, type OtlpLink, type OtlpScope, type OtlpSpan } from './otlp-json.js';

// Attributes every span of a kind shares: one object each, so JSON.stringify is the only per-span cost.
const VERSION = str(BATON_CONVENTIONS_VERSION, CONVENTIONS_VERSION);
const OP_RUN = str(BATON_OPERATION, BatonOperation.AgentRun);
const OP_SEND = str(BATON_OPERATION, BatonOperation.HandoffSend);
const OP_RECEIVE = str(BATON_OPERATION, BatonOperation.HandoffReceive);
const OP_READ = str(BATON_OPERATION, BatonOperation.StateRead);
const OP_WRITE = str(BATON_OPERATION, BatonOperation.StateWrite);
const OP_PUBLISH = str(BATON_OPERATION, BatonOperation.EventPublish);
const OP_CONSUME = str(BATON_OPERATION, BatonOperation.EventConsume);
const INVOKE_AGENT = str(GEN_AI_OPERATION_NAME, 'invoke_agent');
const MODEL = str(GEN_AI_REQUEST_MODEL, 'scripted-model-1');
const COMPLETED = str(BATON_AGENT_OUTCOME, 'completed');
const FAILED = str(BATON_AGENT_OUTCOME, 'failed');
const SCHEMA_ID = str(BATON_ENVELOPE_SCHEMA_ID, 'baton.handoff-envelope');
const SCHEMA_VERSION = str(BATON_ENVELOPE_SCHEMA_VERSION, '1');
const SENDER_SCHEMA_VERSION = str(BATON_ENVELOPE_SENDER_SCHEMA_VERSION, '1');
const VALID = str(BATON_VALIDATION_RESULT, 'valid');
const NO_MISSING_FIELDS = strs(BATON_CONTEXT_MISSING_FIELDS, []);
const DECISIONS = int(BATON_CONTEXT_DECISIONS_COUNT, 1);
const CONSTRAINTS = int(BATON_CONTEXT_CONSTRAINTS_COUNT, 2);
const DB_READ = str(DB_OPERATION_NAME, 'read');
const DB_WRITE = str(DB_OPERATION_NAME, 'write');
const DB_MEMORY = str(DB_SYSTEM_NAME, 'memory');
const DB_COLLECTION = str(DB_COLLECTION_NAME, 'pipeline_state');
const FOUND = bool(BATON_STATE_FOUND, true);
const MSG_MEMORY = str(MESSAGING_SYSTEM, 'memory');
const MSG_SEND = str(MESSAGING_OPERATION_TYPE, 'send');
const MSG_PUBLISH = str(MESSAGING_OPERATION_NAME, 'publish');
const MSG_PROCESS = str(MESSAGING_OPERATION_TYPE, 'process');
const MSG_CONSUME = str(MESSAGING_OPERATION_NAME, 'consume');

const RESOURCE = {
  attributes: [str('service.name', 'baton-bench-shapes'), str('deployment.environment.name', 'bench')],
  droppedAttributesCount: 0,
};
const SCOPE: OtlpScope = { name: INSTRUMENTATION_SCOPE, version: '0.1.0' };

const STATUS_UNSET = { code: 0 };


/** Spans per JSON Lines line: the BatchSpanProcessor's default maxExportBatchSize. */
const SPANS_PER_LINE = 512;
/** Bytes buffered before a write to the file. */
const FLUSH_BYTES = 8 * 1024 * 1024;

// --- the file writer ----------------------------------------------------------

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
/** A 32-bit mix (murmur3's finalizer) so ids look random while staying unique and reproducible. */
function mix(n: number): number {
  let h = n ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An OTLP export request: one resource, its spans grouped by scope. */
export interface OtlpRequest {
  resourceSpans: { resource: typeof RESOURCE; scopeSpans: { scope: OtlpScope; spans: OtlpSpan[] }[] }[];
}

/** Batches spans into requests of SPANS_PER_LINE, as a batch processor exports them, and hands out ids. */
abstract class ShapeSink {
  #batch: OtlpSpan[] = [];
  /** The scope of each span in #batch; #mixed once one is not Baton's. */
  #scopes: OtlpScope[] = [];
  #mixed = false;
  #ids = 0;
  spans = 0;
  lines = 0;

  spanId(): string {
    const n = ++this.#ids;
    return `${hex8(mix(n))}${hex8(n)}`;
  }

  traceId(): string {
    const n = ++this.#ids;
    return `${hex8(mix(n))}${hex8(n)}${hex8(mix(n ^ 0x5bd1e995))}${hex8(mix(n + 0x27d4eb2f))}`;
  }

  /** A UUID-shaped id (handoff ids and message ids are UUIDs in the SDK). */
  uuid(): string {
    const n = ++this.#ids;
    const a = hex8(mix(n));
    const b = hex8(mix(n ^ 0x68e31da4));
    return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-a${hex8(n).slice(1, 4)}-${hex8(mix(n + 7)).slice(0, 4)}${hex8(n)}`;
  }

  /** Queues a span; `scope` is its instrumentation scope (default Baton's). */
  emit(span: OtlpSpan, scope: OtlpScope = SCOPE): void {
    this.#batch.push(span);
    this.#scopes.push(scope);
    if (scope !== SCOPE) this.#mixed = true;
    this.spans++;
    if (this.#batch.length >= SPANS_PER_LINE) this.flushRequest();
  }

  protected flushRequest(): void {
    if (this.#batch.length === 0) return;
    let scopeSpans: { scope: OtlpScope; spans: OtlpSpan[] }[];
    if (!this.#mixed) scopeSpans = [{ scope: SCOPE, spans: this.#batch }];
    else {
      // As an exporter groups a batch: one scopeSpans per scope, in first-seen order.
      scopeSpans = [];
      const byScope = new Map<OtlpScope, OtlpSpan[]>();
      for (let i = 0; i < this.#batch.length; i++) {
        const scope = this.#scopes[i]!;
        let spans = byScope.get(scope);
        if (!spans) {
          byScope.set(scope, (spans = []));
          scopeSpans.push({ scope, spans });
        }
        spans.push(this.#batch[i]!);
      }
    }
    this.#batch = [];
    this.#scopes = [];
    this.#mixed = false;
    this.lines++;
    this.deliver({ resourceSpans: [{ resource: RESOURCE, scopeSpans }] });
  }

  protected abstract deliver(request: OtlpRequest): void;

  /** Delivers the last, partial request. */
  close(): void {
    this.flushRequest();
  }
}

/** Writes the requests as OTLP JSON Lines, one a line. */
class ShapeWriter extends ShapeSink {
  readonly #fd: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  bytes = 0;

  constructor(path: string) {
    super();
    this.#fd = openSync(path, 'w');
  }

  protected deliver(request: OtlpRequest): void {
    const line = `${JSON.stringify(request)}\n`;
    this.#pending.push(line);
    this.#pendingBytes += line.length; // ASCII only: characters are bytes
    if (this.#pendingBytes >= FLUSH_BYTES) this.#flushFile();
  }

  #flushFile(): void {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    writeSync(this.#fd, text);
    this.bytes += text.length;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  override close(): void {
    super.close();
    this.#flushFile();
    closeSync(this.#fd);
  }
}

/** Keeps the requests in memory (tests take the shapes' spans from here). */
class ShapeRequests extends ShapeSink {
  readonly requests: OtlpRequest[] = [];

  protected deliver(request: OtlpRequest): void {
    this.requests.push(request);
  }
}

// --- the scenario builder: SDK-shaped spans on a simulated clock ---------------

/** A framework's span as its instrumentation writes it (Scenario.span). */
export interface FrameworkSpan {
  readonly spanId: string;
  /** '' for a root. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP span kind number; default INTERNAL. */
  readonly kind?: number;
  readonly startUs: number;
  readonly endUs: number;
  readonly attributes: OtlpAttribute[];
  /** Span ids in the same trace. */
  readonly links?: readonly string[];
  readonly events?: OtlpEvent[];
  readonly status?: { code: number; message?: string };
  /** Its instrumentation scope: one object per scope (lines group spans by identity). Default Baton's. */
  readonly scope?: OtlpScope;
}

/** Where a span belongs: its trace and task. */
export interface Ctx {
  readonly traceId: string;
  readonly taskId: string;
}

interface Run {
  readonly ctx: Ctx;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly agent: string;
  readonly startUs: number;
  readonly dependsOn: readonly string[] | undefined;
}

interface Sent {
  readonly ctx: Ctx;
  readonly spanId: string;
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly sentAtUs: number;
  /** The envelope facts both sides record. */
  readonly shared: OtlpAttribute[];
  readonly budgetMs: number;
}

interface Published {
  readonly ctx: Ctx;
  readonly spanId: string;
  readonly topic: string;
  readonly messageId: string;
  readonly key: string;
  readonly version: number;
}

interface SendOptions {
  readonly handoffId?: string;
  readonly attempt?: number;
  readonly idempotencyKey?: string;
  readonly epoch?: number;
  readonly stateVersion?: number;
  readonly status?: string;
  readonly budgetMs?: number;
}

interface WriteOptions {
  readonly attempt?: number;
  readonly idempotencyKey?: string;
  readonly step?: string;
  readonly expectedTopic?: string;
  readonly versionExpected?: number;
  readonly epoch?: number;
}

/** 2026-09-21T… in microseconds: every span time is an integer number of µs. */
const START_US = 1_790_000_000_000_000;

/** Builds spans the way the SDK records them, advancing a simulated clock (µs). */
export class Scenario {
  /** Where the clock starts, µs. */
  readonly startUs = START_US;
  nowUs = START_US;
  #seed = 0x2545f491;
  #handoffs = 0;

  constructor(readonly out: ShapeSink) {}

  /** A deterministic jitter in [0, range) µs. */
  jitter(range: number): number {
    this.#seed = (Math.imul(this.#seed, 1664525) + 1013904223) >>> 0;
    return this.#seed % range;
  }

  /** Advances the clock by `us` plus up to 25% jitter; returns the new time. */
  tick(us: number): number {
    this.nowUs += us + this.jitter(Math.max(1, us >> 2));
    return this.nowUs;
  }

  #span(
    ctx: Ctx,
    spanId: string,
    parentSpanId: string,
    name: string,
    kind: number,
    startUs: number,
    endUs: number,
    attributes: OtlpAttribute[],
    links: OtlpLink[] = [],
    status: { code: number; message?: string } = STATUS_UNSET,
  ): void {
    this.out.emit({
      traceId: ctx.traceId,
      spanId,
      parentSpanId,
      name,
      kind,
      startTimeUnixNano: `${startUs}000`,
      endTimeUnixNano: `${endUs}000`,
      attributes,
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      status,
      links,
      droppedLinksCount: 0,
      flags: 257,
    });
  }

  /**
   * A span of a framework's own shape (bench/framework-shapes.ts), written as given: any kind,
   * links (to spans of the same trace), events and status.
   */
  span(ctx: Ctx, spec: FrameworkSpan): void {
    const links: OtlpLink[] = [];
    if (spec.links) for (const spanId of spec.links) links.push({ traceId: ctx.traceId, spanId, attributes: [], droppedAttributesCount: 0, flags: 769 });
    const span: OtlpSpan = {
      traceId: ctx.traceId,
      spanId: spec.spanId,
      parentSpanId: spec.parentSpanId,
      name: spec.name,
      kind: spec.kind ?? KIND_INTERNAL,
      startTimeUnixNano: `${spec.startUs}000`,
      endTimeUnixNano: `${spec.endUs}000`,
      attributes: spec.attributes,
      droppedAttributesCount: 0,
      events: spec.events ?? [],
      droppedEventsCount: 0,
      status: spec.status ?? STATUS_UNSET,
      links,
      droppedLinksCount: 0,
      flags: 257,
    };
    this.out.emit(span, spec.scope);
  }

  /** A span in another vocabulary (a framework's), written as given. */
  foreign(ctx: Ctx, spanId: string, parentSpanId: string, name: string, startUs: number, endUs: number, attributes: OtlpAttribute[], status?: { code: number; message?: string }): void {
    this.#span(ctx, spanId, parentSpanId, name, KIND_INTERNAL, startUs, endUs, attributes, [], status);
  }

  /** A span Baton did not write (an HTTP server span, say): kept by the analyzer for timing only. */
  plain(ctx: Ctx, spanId: string, parentSpanId: string, name: string, startUs: number, endUs: number): void {
    this.#span(ctx, spanId, parentSpanId, name, KIND_SERVER, startUs, endUs, [str('http.request.method', 'POST'), str('http.route', '/sessions/{id}')]);
  }

  /** `baton.runAgent(agent, fn)`: the run span is written by endRun, after its children end. */
  beginRun(ctx: Ctx, parentSpanId: string, agent: string, dependsOn?: readonly string[]): Run {
    const startUs = this.tick(200);
    return { ctx, spanId: this.out.spanId(), parentSpanId, agent, startUs, dependsOn };
  }

  endRun(run: Run, outcome: 'completed' | 'failed' = 'completed'): void {
    const endUs = this.tick(300);
    const attributes = [
      VERSION,
      OP_RUN,
      INVOKE_AGENT,
      str(GEN_AI_AGENT_NAME, run.agent),
      str(BATON_TASK_ID, run.ctx.taskId),
      MODEL,
      int(GEN_AI_USAGE_INPUT_TOKENS, 120 + this.jitter(40)),
      int(GEN_AI_USAGE_OUTPUT_TOKENS, 170 + this.jitter(40)),
      outcome === 'completed' ? COMPLETED : FAILED,
    ];
    if (run.dependsOn) attributes.push(strs(BATON_AGENT_DEPENDS_ON, run.dependsOn));
    this.#span(run.ctx, run.spanId, run.parentSpanId, `invoke_agent ${run.agent}`, KIND_INTERNAL, run.startUs, endUs, attributes);
  }

  read(ctx: Ctx, parentSpanId: string, agent: string, key: string, version: number, epoch = 1): void {
    const startUs = this.tick(1000);
    const endUs = this.tick(40);
    this.#span(ctx, this.out.spanId(), parentSpanId, 'read pipeline_state', KIND_CLIENT, startUs, endUs, [
      VERSION,
      OP_READ,
      str(BATON_STATE_KEY, key),
      DB_READ,
      DB_MEMORY,
      DB_COLLECTION,
      str(GEN_AI_AGENT_NAME, agent),
      str(BATON_TASK_ID, ctx.taskId),
      int(BATON_EPOCH, epoch),
      int(BATON_STATE_VERSION_READ, version),
      FOUND,
    ]);
  }

  write(ctx: Ctx, parentSpanId: string, agent: string, key: string, version: number, options: WriteOptions = {}): void {
    const startUs = this.tick(1000);
    const endUs = this.tick(400);
    const attributes = [
      VERSION,
      OP_WRITE,
      str(BATON_STATE_KEY, key),
      DB_WRITE,
      DB_MEMORY,
      DB_COLLECTION,
      str(GEN_AI_AGENT_NAME, agent),
      str(BATON_TASK_ID, ctx.taskId),
      int(BATON_EPOCH, options.epoch ?? 1),
      int(BATON_ATTEMPT, options.attempt ?? 1),
    ];
    if (options.idempotencyKey !== undefined) attributes.push(str(BATON_IDEMPOTENCY_KEY, options.idempotencyKey));
    if (options.step !== undefined) attributes.push(str(BATON_STEP, options.step));
    if (options.expectedTopic !== undefined) attributes.push(str(BATON_EVENT_EXPECTED_TOPIC, options.expectedTopic));
    if (options.versionExpected !== undefined) attributes.push(int(BATON_STATE_VERSION_EXPECTED, options.versionExpected));
    attributes.push(int(BATON_STATE_VERSION_WRITTEN, version));
    this.#span(ctx, this.out.spanId(), parentSpanId, 'write pipeline_state', KIND_CLIENT, startUs, endUs, attributes);
  }

  publish(ctx: Ctx, parentSpanId: string, agent: string, topic: string, key: string, version: number): Published {
    const startUs = this.tick(500);
    const endUs = this.tick(60);
    const spanId = this.out.spanId();
    const messageId = this.out.uuid();
    this.#span(ctx, spanId, parentSpanId, `publish ${topic}`, KIND_PRODUCER, startUs, endUs, [
      VERSION,
      OP_PUBLISH,
      MSG_MEMORY,
      str(MESSAGING_DESTINATION_NAME, topic),
      str(MESSAGING_MESSAGE_ID, messageId),
      str(GEN_AI_AGENT_NAME, agent),
      str(BATON_TASK_ID, ctx.taskId),
      str(BATON_STATE_KEY, key),
      int(BATON_STATE_VERSION_WRITTEN, version),
      MSG_SEND,
      MSG_PUBLISH,
    ]);
    return { ctx, spanId, topic, messageId, key, version };
  }

  /** `baton.consume(message, fn)` in the coordinator: a child of its run, linked to the publish. */
  consume(parentSpanId: string, agent: string, event: Published): void {
    const startUs = this.tick(300);
    const endUs = this.tick(100);
    this.#span(
      event.ctx,
      this.out.spanId(),
      parentSpanId,
      `process ${event.topic}`,
      KIND_CONSUMER,
      startUs,
      endUs,
      [
        VERSION,
        OP_CONSUME,
        MSG_MEMORY,
        str(MESSAGING_DESTINATION_NAME, event.topic),
        str(MESSAGING_MESSAGE_ID, event.messageId),
        str(GEN_AI_AGENT_NAME, agent),
        str(BATON_TASK_ID, event.ctx.taskId),
        str(BATON_STATE_KEY, event.key),
        int(BATON_STATE_VERSION_WRITTEN, event.version),
        MSG_PROCESS,
        MSG_CONSUME,
      ],
      [{ traceId: event.ctx.traceId, spanId: event.spanId, attributes: [], droppedAttributesCount: 0, flags: 769 }],
    );
  }

  /** `baton.send(envelope)`: validation, the handoff block, trace context into the envelope. */
  send(ctx: Ctx, parentSpanId: string, source: string, target: string, options: SendOptions = {}): Sent {
    const startUs = this.tick(500);
    const spanId = this.out.spanId();
    const id = options.handoffId ?? this.out.uuid();
    const budgetMs = options.budgetMs ?? 5000;
    const shared = [
      str(BATON_HANDOFF_SOURCE_AGENT, source),
      str(BATON_HANDOFF_TARGET_AGENT, target),
      SCHEMA_ID,
      SCHEMA_VERSION,
      str(BATON_TASK_ID, ctx.taskId),
      str(BATON_HANDOFF_STATUS, options.status ?? 'complete'),
      str(BATON_HANDOFF_ID, id),
      int(BATON_ATTEMPT, options.attempt ?? 1),
      str(BATON_IDEMPOTENCY_KEY, options.idempotencyKey ?? `${ctx.taskId}:${source}->${target}:${this.#handoffs++}`),
      int(BATON_EPOCH, options.epoch ?? 1),
      int(BATON_STATE_VERSION_WRITTEN, options.stateVersion ?? 1),
      int(BATON_TIMEOUT_BUDGET_MS, budgetMs),
      str(BATON_HANDOFF_SENT_AT, new Date(startUs / 1000).toISOString()),
      DECISIONS,
      CONSTRAINTS,
      int(BATON_CONTEXT_SIZE_BYTES, 170 + this.jitter(20)),
      NO_MISSING_FIELDS,
      // Context stays flat along chains and loops (no context-blowup), as in a healthy pipeline.
      int(BATON_CONTEXT_TOKEN_COUNT, 90 + this.jitter(10)),
      MODEL,
      int(BATON_ENVELOPE_SIZE_BYTES, 940 + this.jitter(40)),
    ];
    const endUs = this.tick(1200);
    this.#span(ctx, spanId, parentSpanId, `handoff send ${target}`, KIND_PRODUCER, startUs, endUs, [
      VERSION,
      OP_SEND,
      str(GEN_AI_AGENT_NAME, source),
      ...shared,
      dbl(BATON_VALIDATION_DURATION_MS, 0.05 + this.jitter(1000) / 1000),
      VALID,
    ]);
    return { ctx, spanId, id, source, target, sentAtUs: startUs, shared, budgetMs };
  }

  /**
   * `baton.receive(envelope)` with auto ack. Without `parentSpanId` the receive is a
   * child of the send (the receiver had no active span); with it, a child of that
   * span (the receiver's own run) with a span link to the send.
   */
  receive(sent: Sent, agent: string, parentSpanId?: string): string {
    const startUs = this.tick(1500);
    const endUs = this.tick(300);
    const spanId = this.out.spanId();
    const delayMs = Math.round((startUs - sent.sentAtUs) / 1000);
    const links: OtlpLink[] =
      parentSpanId === undefined ? [] : [{ traceId: sent.ctx.traceId, spanId: sent.spanId, attributes: [], droppedAttributesCount: 0, flags: 769 }];
    this.#span(
      sent.ctx,
      spanId,
      parentSpanId ?? sent.spanId,
      `handoff receive ${sent.source}`,
      KIND_CONSUMER,
      startUs,
      endUs,
      [
        VERSION,
        OP_RECEIVE,
        str(GEN_AI_AGENT_NAME, agent),
        ...sent.shared,
        SENDER_SCHEMA_VERSION,
        dbl(BATON_VALIDATION_DURATION_MS, 0.05 + this.jitter(1000) / 1000),
        VALID,
        int(BATON_ACK_DELAY_MS, delayMs),
        bool(BATON_ACK_WITHIN_BUDGET, delayMs <= sent.budgetMs),
      ],
      links,
    );
    return spanId;
  }
}

// --- the shapes ---------------------------------------------------------------

/** The example pipeline's five agents, in order. */
const PIPELINE = ['triage', 'research', 'analysis', 'writer', 'reviewer'] as const;

/** Zero-padded agent names, so a sorted list reads in order. */
const agentName = (prefix: string, i: number) => `${prefix}-${String(i).padStart(6, '0')}`;

/**
 * One task as a chain of agents, each a hop as the example pipeline does it: receive
 * (a child of the send), run (a child of the receive), read the previous agent's
 * output, write its own, publish its completion event (consumed by the coordinator),
 * send to the next agent. `agents` may repeat names (loops); each agent's output key
 * gets a new version every time it writes.
 */
function chainTask(sc: Scenario, ctx: Ctx, coordinatorParent: string, agents: Iterable<string>, dependsOn: (agent: string, previous: string | undefined) => string[] | undefined): void {
  const coordinator = sc.beginRun(ctx, coordinatorParent, 'coordinator');
  const versions = new Map<string, number>();
  let incoming: Sent | undefined;
  let previous: string | undefined;
  let previousKey: string | undefined;
  let current: string | undefined;
  const iterator = agents[Symbol.iterator]();
  let next = iterator.next();
  while (!next.done) {
    current = next.value;
    next = iterator.next();
    const parent = incoming ? sc.receive(incoming, current) : coordinator.spanId;
    const run = sc.beginRun(ctx, parent, current, dependsOn(current, previous));
    if (previousKey !== undefined) sc.read(ctx, run.spanId, current, previousKey, versions.get(previousKey)!);
    const key = `${ctx.taskId}/${current}`;
    const version = (versions.get(key) ?? 0) + 1;
    versions.set(key, version);
    const topic = `task.${current}.complete`;
    sc.write(ctx, run.spanId, current, key, version, {
      idempotencyKey: `${ctx.taskId}:${current}:output:v${version}`,
      step: `output-v${version}`,
      expectedTopic: topic,
    });
    const event = sc.publish(ctx, run.spanId, current, topic, key, version);
    incoming = next.done
      ? undefined
      : sc.send(ctx, run.spanId, current, next.value, { stateVersion: version, status: version > 1 ? 'needs_review' : 'complete' });
    sc.endRun(run);
    sc.consume(coordinator.spanId, 'coordinator', event);
    previous = current;
    previousKey = key;
  }
  sc.endRun(coordinator);
}

const previousAgent = (_agent: string, previous: string | undefined) => (previous === undefined ? undefined : [previous]);

/** n tasks, each its own trace: the example pipeline, clean, a new task every 2 s. */
function manyTraces(sc: Scenario, n: number): void {
  for (let i = 0; i < n; i++) {
    sc.nowUs = START_US + i * 2_000_000;
    chainTask(sc, { traceId: sc.out.traceId(), taskId: `task-${i}` }, '', PIPELINE, previousAgent);
  }
}

/** One long trace (a session): n pipeline tasks one after another under one root span. */
function oneLongTrace(sc: Scenario, n: number): void {
  const traceId = sc.out.traceId();
  const rootId = sc.out.spanId();
  const startUs = sc.tick(100);
  for (let i = 0; i < n; i++) {
    chainTask(sc, { traceId, taskId: `session-task-${i}` }, rootId, PIPELINE, previousAgent);
    sc.tick(10_000);
  }
  sc.plain({ traceId, taskId: '' }, rootId, '', 'POST /sessions/{id}', startUs, sc.tick(100));
}

/**
 * n distinct agents in one task, delegating as a binary tree: agent i hands off to
 * agents 2i+1 and 2i+2, each reads its delegator's output and writes its own.
 */
function manyAgents(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'agents-task' };
  const coordinator = sc.beginRun(ctx, '', 'coordinator');
  const incoming: (Sent | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const agent = agentName('agent', i);
    const delegator = i === 0 ? undefined : agentName('agent', (i - 1) >> 1);
    const parent = incoming[i] ? sc.receive(incoming[i]!, agent) : coordinator.spanId;
    incoming[i] = undefined;
    const run = sc.beginRun(ctx, parent, agent, delegator === undefined ? undefined : [delegator]);
    if (delegator !== undefined) sc.read(ctx, run.spanId, agent, `${ctx.taskId}/${delegator}`, 1);
    const key = `${ctx.taskId}/${agent}`;
    const topic = `task.${agent}.complete`;
    sc.write(ctx, run.spanId, agent, key, 1, { idempotencyKey: `${ctx.taskId}:${agent}:output`, step: 'output', expectedTopic: topic });
    const event = sc.publish(ctx, run.spanId, agent, topic, key, 1);
    for (const child of [2 * i + 1, 2 * i + 2]) {
      // Budget one hour: with one simulated clock the agents run one after another, so a
      // delegation waits for every agent before it (seconds at 10k agents) and would time out.
      if (child < n) incoming[child] = sc.send(ctx, run.spanId, agent, agentName('agent', child), { budgetMs: 3_600_000 });
    }
    sc.endRun(run);
    sc.consume(coordinator.spanId, 'coordinator', event);
  }
  sc.endRun(coordinator);
}

/** A1 → A2 → … → An in one task, each a distinct agent. */
function chainDepth(sc: Scenario, n: number): void {
  const agents = function* () {
    for (let i = 0; i < n; i++) yield agentName('step', i);
  };
  chainTask(sc, { traceId: sc.out.traceId(), taskId: 'chain-task' }, '', agents(), previousAgent);
}

/** triage → writer, then writer ⇄ reviewer for n laps (the revision-loop fixture, longer). */
function revisionLoop(sc: Scenario, n: number): void {
  const agents = function* () {
    yield 'triage';
    yield 'writer';
    for (let lap = 0; lap < n; lap++) {
      yield 'reviewer';
      yield 'writer';
    }
  };
  // As the SDK example declares it: the writer waits on triage, the reviewer on the writer.
  const dependsOn = (agent: string) => (agent === 'writer' ? ['triage'] : agent === 'reviewer' ? ['writer'] : undefined);
  chainTask(sc, { traceId: sc.out.traceId(), taskId: 'revision-task' }, '', agents(), dependsOn);
}

/** planner → researcher → critic → planner …: circular delegation among three agents, n laps. */
function delegationLoop(sc: Scenario, n: number): void {
  const ring = ['planner', 'researcher', 'critic'];
  const agents = function* () {
    yield 'planner';
    for (let lap = 0; lap < n; lap++) for (let i = 1; i <= 3; i++) yield ring[i % 3]!;
  };
  const dependsOn = (agent: string) => (agent === 'researcher' ? ['planner'] : agent === 'critic' ? ['researcher'] : undefined);
  chainTask(sc, { traceId: sc.out.traceId(), taskId: 'delegation-task' }, '', agents(), dependsOn);
}

const HOT_KEY_AGENTS = ['planner', 'worker-1', 'worker-2', 'worker-3'];
/** State accesses per agent run in the hot-key shapes (and the handoff interval of the handoff variant). */
const ACCESSES_PER_RUN = 100;

/**
 * n accesses of one versioned key by four agents taking turns, 100 per run: read the
 * current version, write the next (optimistic, version_expected). Never stale. With
 * `handoffs`, each run ends by handing off to the next agent, whose run is a child of
 * the receive; without, the coordinator invokes the runs.
 */
function hotKey(sc: Scenario, n: number, handoffs: boolean): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'hot-key-task' };
  const key = `${ctx.taskId}/plan`;
  const coordinator = sc.beginRun(ctx, '', 'coordinator');
  let version = 1;
  sc.write(ctx, coordinator.spanId, 'coordinator', key, version, { idempotencyKey: `${ctx.taskId}:coordinator:init`, step: 'init' });
  let incoming: Sent | undefined;
  let done = 0;
  for (let r = 0; done < n; r++) {
    const agent = HOT_KEY_AGENTS[r % HOT_KEY_AGENTS.length]!;
    const parent = incoming ? sc.receive(incoming, agent) : coordinator.spanId;
    const run = sc.beginRun(ctx, parent, agent);
    for (let j = 0; j < ACCESSES_PER_RUN && done < n; j++, done++) {
      if (j % 2 === 0) sc.read(ctx, run.spanId, agent, key, version);
      else {
        version++;
        sc.write(ctx, run.spanId, agent, key, version, { idempotencyKey: `${ctx.taskId}:${agent}:w${version}`, step: `update-${version}`, versionExpected: version - 1 });
      }
    }
    incoming = handoffs && done < n ? sc.send(ctx, run.spanId, agent, HOT_KEY_AGENTS[(r + 1) % HOT_KEY_AGENTS.length]!, { stateVersion: version }) : undefined;
    sc.endRun(run);
  }
  sc.endRun(coordinator);
}

/**
 * A dispatcher sends n handoffs to eight workers before any is received (budget one
 * hour: queued work is expected to wait); then each worker's run receives one (a child
 * of the run, linked to the send, as `receiveParenting: 'auto'` records it) and writes
 * its result.
 */
function inFlight(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'fan-out-task' };
  const coordinator = sc.beginRun(ctx, '', 'coordinator');
  const dispatcher = sc.beginRun(ctx, coordinator.spanId, 'dispatcher');
  const sent: Sent[] = new Array(n);
  for (let k = 0; k < n; k++) sent[k] = sc.send(ctx, dispatcher.spanId, 'dispatcher', `worker-${k % 8}`, { budgetMs: 3_600_000 });
  sc.endRun(dispatcher);
  for (let k = 0; k < n; k++) {
    const worker = `worker-${k % 8}`;
    const run = sc.beginRun(ctx, coordinator.spanId, worker, ['dispatcher']);
    sc.receive(sent[k]!, worker, run.spanId);
    sc.write(ctx, run.spanId, worker, `${ctx.taskId}/result-${k}`, 1, { idempotencyKey: `${ctx.taskId}:${worker}:result-${k}`, step: `result-${k}` });
    sc.endRun(run);
  }
  sc.endRun(coordinator);
}

/** Adversarial: one handoff resent n times under one handoff id (attempts 1..n), every attempt received. */
function resends(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'resend-task' };
  const coordinator = sc.beginRun(ctx, '', 'coordinator');
  const sender = sc.beginRun(ctx, coordinator.spanId, 'sender');
  const handoffId = sc.out.uuid();
  for (let attempt = 1; attempt <= n; attempt++) {
    const sent = sc.send(ctx, sender.spanId, 'sender', 'receiver', { handoffId, attempt, idempotencyKey: `${ctx.taskId}:sender->receiver:0` });
    sc.receive(sent, 'receiver');
  }
  sc.endRun(sender);
  sc.endRun(coordinator);
}

/** Adversarial: n retried runs of one agent, each committing the same write under one idempotency key. */
function sameIdempotencyKey(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'retry-task' };
  const coordinator = sc.beginRun(ctx, '', 'coordinator');
  for (let attempt = 1; attempt <= n; attempt++) {
    const run = sc.beginRun(ctx, coordinator.spanId, 'writer');
    sc.write(ctx, run.spanId, 'writer', `${ctx.taskId}/writer`, attempt, { attempt, idempotencyKey: `${ctx.taskId}:writer:output`, step: 'output' });
    sc.endRun(run, attempt < n ? 'failed' : 'completed');
  }
  sc.endRun(coordinator);
}

/**
 * Adversarial: a writer commits version 2 of a key, then four readers read version 1
 * n times in all (100 per run, each run ending with a handoff to an aggregator): n
 * stale reads, each decided on by a handoff.
 */
function staleReads(sc: Scenario, n: number): void {
  const ctx = { traceId: sc.out.traceId(), taskId: 'stale-task' };
  const key = `${ctx.taskId}/source`;
  const coordinator = sc.beginRun(ctx, '', 'coordinator');
  const writer = sc.beginRun(ctx, coordinator.spanId, 'writer');
  sc.write(ctx, writer.spanId, 'writer', key, 1, { idempotencyKey: `${ctx.taskId}:writer:v1`, step: 'v1' });
  sc.write(ctx, writer.spanId, 'writer', key, 2, { idempotencyKey: `${ctx.taskId}:writer:v2`, step: 'v2' });
  sc.endRun(writer);
  let done = 0;
  for (let r = 0; done < n; r++) {
    const reader = `reader-${r % 4}`;
    const run = sc.beginRun(ctx, coordinator.spanId, reader, ['writer']);
    for (let j = 0; j < ACCESSES_PER_RUN && done < n; j++, done++) sc.read(ctx, run.spanId, reader, key, 1);
    const sent = sc.send(ctx, run.spanId, reader, 'aggregator', { stateVersion: 1 });
    sc.endRun(run);
    sc.receive(sent, 'aggregator');
  }
  sc.endRun(coordinator);
}

/** One input shape of the growth benchmark. */
export interface ShapeDefinition {
  readonly id: string;
  /** What grows, for tables: "many traces". */
  readonly title: string;
  /** The unit of n: "traces", "agents", "laps". */
  readonly unit: string;
  /** About how many spans one unit of n writes, to pick n for a target span count. */
  readonly spansPerUnit: number;
  /** One line on what the file holds. */
  readonly description: string;
  readonly generate: (scenario: Scenario, n: number) => void;
}

/** Every shape, in the order the benchmark runs them. */
export const SHAPES: readonly ShapeDefinition[] = [
  { id: 'traces', title: 'many traces', unit: 'traces', spansPerUnit: 33, description: 'n clean 5-agent pipeline tasks, one trace each, 2 s apart', generate: manyTraces },
  { id: 'spans', title: 'spans in one trace', unit: 'tasks', spansPerUnit: 33, description: 'one session trace holding n pipeline tasks (33 spans each) under one root', generate: oneLongTrace },
  { id: 'agents', title: 'many agents', unit: 'agents', spansPerUnit: 7, description: 'n distinct agents in one task, delegating as a binary tree (n − 1 handoffs)', generate: manyAgents },
  { id: 'depth', title: 'chain depth', unit: 'hops', spansPerUnit: 7, description: 'A1 → A2 → … → An in one task, each a distinct agent (parent depth 3n)', generate: chainDepth },
  { id: 'loop-2', title: 'revision loop laps', unit: 'laps', spansPerUnit: 14, description: 'triage → writer, then writer ⇄ reviewer for n laps in one task', generate: revisionLoop },
  { id: 'loop-3', title: 'circular delegation laps', unit: 'laps', spansPerUnit: 21, description: 'planner → researcher → critic → planner for n laps in one task', generate: delegationLoop },
  { id: 'hot-key', title: 'hot-key accesses', unit: 'accesses', spansPerUnit: 1.01, description: 'n versioned reads/writes of one key by 4 agents, 100 per run, no handoffs', generate: (sc, n) => hotKey(sc, n, false) },
  { id: 'hot-key-handoffs', title: 'hot-key accesses + handoffs', unit: 'accesses', spansPerUnit: 1.03, description: 'the same with a handoff to the next agent every 100 accesses', generate: (sc, n) => hotKey(sc, n, true) },
  { id: 'in-flight', title: 'in-flight handoffs', unit: 'handoffs', spansPerUnit: 4, description: 'n handoffs sent to 8 workers before any is received, then all received (linked)', generate: inFlight },
  { id: 'resends', title: 'adversarial: resends of one handoff id', unit: 'resends', spansPerUnit: 2, description: 'one handoff id sent n times (attempts 1..n), every attempt received', generate: resends },
  { id: 'idempotency-key', title: 'adversarial: writes under one idempotency key', unit: 'writes', spansPerUnit: 2, description: 'n retried runs committing one write under one idempotency key', generate: sameIdempotencyKey },
  { id: 'langgraph', title: 'LangGraph swarm runs (OpenInference)', unit: 'runs', spansPerUnit: 30, description: 'n LangGraph swarm runs alice → bob → carol as the OpenInference LangChain instrumentation records them, one trace each', generate: langGraphSwarms },
  { id: 'stale-reads', title: 'adversarial: stale reads', unit: 'reads', spansPerUnit: 1.03, description: 'n reads of version 1 after version 2 committed, a handoff after every 100', generate: staleReads },
  // The frameworks' own span trees, one long run each (bench/framework-shapes.ts).
  ...FRAMEWORK_SHAPES,
];

export interface GeneratedShape {
  bytes: number;
  spans: number;
  lines: number;
}

/** Writes the shape `id` at size `n` to `path` (OTLP JSON Lines). */
export function generateShapeFile(id: string, n: number, path: string): GeneratedShape {
  const shape = SHAPES.find((s) => s.id === id);
  if (!shape) throw new Error(`generate-shapes: unknown shape "${id}" (one of ${SHAPES.map((s) => s.id).join(', ')})`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`generate-shapes: n must be a positive integer, got ${n}`);
  const out = new ShapeWriter(path);
  try {
    shape.generate(new Scenario(out), n);
  } finally {
    out.close();
  }
  return { bytes: out.bytes, spans: out.spans, lines: out.lines };
}

/** The shape `id` at size `n` as OTLP export requests in memory (what generateShapeFile writes, a request a line). */
export function generateShapeRequests(id: string, n: number): OtlpRequest[] {
  const shape = SHAPES.find((s) => s.id === id);
  if (!shape) throw new Error(`generate-shapes: unknown shape "${id}" (one of ${SHAPES.map((s) => s.id).join(', ')})`);
  const out = new ShapeRequests();
  shape.generate(new Scenario(out), n);
  out.close();
  return out.requests;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [id, n, path] = process.argv.slice(2);
  if (!id || !n || !path) {
    console.error(`usage: tsx bench/generate-shapes.ts <${SHAPES.map((s) => s.id).join('|')}> <n> <out.jsonl>`);
    process.exitCode = 2;
  } else {
    const started = performance.now();
    const result = generateShapeFile(id, Number(n), path);
    console.log(`${path}: ${(result.bytes / 1048576).toFixed(1)} MiB, ${result.spans} spans, ${result.lines} lines, ${Math.round(performance.now() - started)} ms`);
  }
}
