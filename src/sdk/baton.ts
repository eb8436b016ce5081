/**
 * Baton's instrumentation SDK: wraps the two sides of a handoff, agent runs,
 * state-store access and event publish/consume in OpenTelemetry spans that follow
 * docs/conventions.md, validates envelopes at send and at receive, and carries
 * trace context inside the envelope so both sides link up across processes.
 *
 * It uses whatever tracer and meter provider the host registered (or the ones
 * passed in) and never registers one itself. In warn mode (the default) nothing
 * here throws into the host: invalid envelopes and instrumentation faults are
 * recorded on spans, counted and reported through `diag`. Strict mode throws.
 */
import {
  context as contextApi,
  diag,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Meter,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import {
  AgentOutcome,
  BATON_ACK_DELAY_MS,
  BATON_ACK_WITHIN_BUDGET,
  BATON_AGENT_DEPENDS_ON,
  BATON_AGENT_OUTCOME,
  BATON_ATTEMPT,
  BATON_CLOCK_SKEW_SUSPECTED,
  BATON_CONVENTIONS_VERSION,
  BATON_ENVELOPE_BODY,
  BATON_ENVELOPE_SCHEMA_ID,
  BATON_ENVELOPE_SCHEMA_VERSION,
  BATON_ENVELOPE_SENDER_SCHEMA_VERSION,
  BATON_ENVELOPE_SIZE_BYTES,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_FAULT_COUNT,
  BATON_HANDOFF_ID,
  BATON_HANDOFF_SENT_AT,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_STATUS,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_STEP,
  BATON_TASK_ID,
  BATON_TIMEOUT_BUDGET_MS,
  BATON_VALIDATION_DURATION_MS,
  BATON_VALIDATION_ERROR_COUNT,
  BATON_VALIDATION_ERROR_KEYWORD,
  BATON_VALIDATION_ERROR_PATH,
  BATON_VALIDATION_RESULT,
  BatonOperation,
  CONVENTIONS_VERSION,
  DB_COLLECTION_NAME,
  DB_OPERATION_NAME,
  DB_SYSTEM_NAME,
  ERROR_TYPE,
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  INSTRUMENTATION_SCOPE,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_BODY_SIZE,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  ValidationResult,
} from '../model/attributes.js';
import {
  ENVELOPE_SCHEMA_DEFAULT_VERSION,
  ENVELOPE_SCHEMA_ID,
  type EventMessage,
  type HandoffBlock,
  type SchemaRef,
} from '../model/envelope.js';
import {
  BatonError,
  EnvelopeInvalidError,
  EnvelopeTooLargeError,
  InstrumentationFaultError,
  SchemaUnknownError,
  type SchemaIssue,
} from '../model/errors.js';
import { parseSchemaRef, SchemaRegistry } from '../schemas/validators.js';
import { nowMs } from './clock.js';
import { addContextFacts, isPlainObject, truncateBody, utf8Length } from './envelope-facts.js';
import {
  createInstruments,
  METRIC_OPERATION,
  METRIC_SIDE,
  METRIC_SOURCE_AGENT,
  METRIC_TARGET_AGENT,
  type BatonInstruments,
} from './metrics.js';
import { extractSpanContext, injectTraceContext, type PropagationMode } from './trace-context.js';

/** `warn` records problems and goes on; `strict` throws them as BatonError subclasses. */
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
  /** Default: a registry holding Baton's envelope schemas v1 and v2. */
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
  /** The envelope, parsed if a JSON string was received. */
  readonly envelope: E;
  readonly valid: boolean;
  readonly issues: readonly SchemaIssue[];
  /** Context whose active span is the receive span: run the receiver's work under it. */
  readonly context: Context;
  /** Runs `fn` under {@link ReceivedHandoff.context}. */
  run<T>(fn: () => T): T;
  /** Acknowledges the handoff (manual ack mode); later calls do nothing. */
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

const DEFAULT_MAX_RECORDED_PAYLOAD_BYTES = 8192;
const DEFAULT_MAX_ENVELOPE_BYTES = 1024 * 1024;

type SpanAttributes = Record<string, string | number | boolean | string[]>;

interface EnvelopeCheck {
  valid: boolean;
  issues: readonly SchemaIssue[];
  /** Set when validation could not run (unknown schema): then valid is false and this is the reason. */
  error?: BatonError;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function errorType(error: unknown): string {
  if (error instanceof BatonError) return error.code;
  if (error instanceof Error) return error.name || 'Error';
  return typeof error;
}

/**
 * An RFC 3339 time to the microsecond (`…25.206123Z`): `toISOString` stops at the
 * millisecond, which would put up to 1 ms of error into every delay measured from it.
 */
function preciseIsoTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const micros = Math.min(999, Math.floor((ms - Math.floor(ms)) * 1000));
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** Fraction digits past the millisecond in an RFC 3339 time (`Date.parse` drops them). */
const SUB_MS_DIGITS = /\.\d{3}(\d+)(?:Z|[+-]\d\d:\d\d)$/i;

/** The envelope's sent_at in epoch ms, with its sub-millisecond digits when it has them, or NaN. */
function sentAtMsOf(block: Partial<HandoffBlock> | undefined): number {
  if (typeof block?.sent_at !== 'string') return Number.NaN;
  const ms = Date.parse(block.sent_at);
  const extra = SUB_MS_DIGITS.exec(block.sent_at);
  return extra ? ms + Number(`0.${extra[1]}`) : ms;
}

function newId(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * The instrumentation entry point. Make one per process (or per agent) and use it
 * at every handoff:
 *
 * ```ts
 * const baton = new Baton();
 * const envelope = baton.send(draft, { timeoutBudgetMs: 30_000 });   // in the sender
 * const rx = baton.receive(JSON.parse(body));                       // in the receiver
 * await rx.run(() => analyst.work(rx.envelope));
 * ```
 */
export class Baton {
  readonly mode: BatonMode;
  readonly schemas: SchemaRegistry;
  readonly #tracer: Tracer | undefined;
  readonly #instruments: BatonInstruments;
  readonly #schema: { id: string; version: string };
  readonly #propagation: PropagationMode;
  readonly #parenting: ReceiveParenting;
  readonly #recordPayloads: boolean;
  readonly #maxRecordedPayloadBytes: number;
  readonly #maxEnvelopeBytes: number;
  readonly #stats: BatonStats = {
    handoffsSent: 0,
    handoffsReceived: 0,
    validationFailures: 0,
    ackTimeouts: 0,
    faults: 0,
  };

  constructor(options: BatonOptions = {}) {
    this.mode = options.mode ?? 'warn';
    this.schemas = options.schemas ?? new SchemaRegistry();
    this.#tracer = options.tracer;
    this.#instruments = createInstruments(options.meter ?? metrics.getMeter(INSTRUMENTATION_SCOPE));
    this.#schema = parseSchemaRef(options.schema ?? { id: ENVELOPE_SCHEMA_ID, version: ENVELOPE_SCHEMA_DEFAULT_VERSION });
    this.#propagation = options.propagation ?? 'w3c';
    this.#parenting = options.receiveParenting ?? 'auto';
    this.#recordPayloads = options.recordPayloads ?? false;
    this.#maxRecordedPayloadBytes = options.maxRecordedPayloadBytes ?? DEFAULT_MAX_RECORDED_PAYLOAD_BYTES;
    this.#maxEnvelopeBytes = options.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  }

  /** Counts since construction; a copy. */
  stats(): BatonStats {
    return { ...this.#stats };
  }

  // The global tracer is looked up per call so a provider registered after Baton was made is used.
  get #activeTracer(): Tracer {
    return this.#tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE);
  }

  /**
   * Sends a handoff: opens a `handoff send <target>` span, fills in the envelope's
   * handoff block (id, attempt, schema version, budget, W3C trace context), validates
   * the finished envelope and records the outcome. Returns a new envelope; the input
   * is not modified. In warn mode an invalid envelope is still returned.
   */
  send<E extends object>(envelope: E, options: SendOptions = {}): E & { handoff: HandoffBlock } {
    const schema = options.schema ? parseSchemaRef(options.schema) : this.#schema;
    let span: Span | undefined;
    let out: E & { handoff: HandoffBlock } = envelope as E & { handoff: HandoffBlock };
    let check: EnvelopeCheck | undefined;
    let failure: BatonError | undefined;
    try {
      const env = isPlainObject(envelope) ? envelope : undefined;
      const source = env && typeof env.source_agent === 'string' ? env.source_agent : 'unknown';
      const target = env && typeof env.target_agent === 'string' ? env.target_agent : 'unknown';
      const prior = env && isPlainObject(env.handoff) ? (env.handoff as Partial<HandoffBlock>) : undefined;
      const attrs: SpanAttributes = {
        [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
        [BATON_OPERATION]: BatonOperation.HandoffSend,
        [GEN_AI_AGENT_NAME]: source,
        [BATON_HANDOFF_SOURCE_AGENT]: source,
        [BATON_HANDOFF_TARGET_AGENT]: target,
        [BATON_ENVELOPE_SCHEMA_ID]: schema.id,
        [BATON_ENVELOPE_SCHEMA_VERSION]: schema.version,
      };
      // sent_at is this instant to the microsecond, as is the span's start.
      const sentAtMs = nowMs();
      span = this.#activeTracer.startSpan(`handoff send ${target}`, {
        kind: SpanKind.PRODUCER,
        attributes: attrs,
        startTime: sentAtMs,
      });
      if (!env) {
        check = { valid: false, issues: [{ instancePath: '', keyword: 'type', message: 'must be object' }] };
      } else {
        const block: HandoffBlock = {
          ...prior,
          id: options.handoffId ?? prior?.id ?? newId(),
          schema_id: schema.id,
          schema_version: schema.version,
          attempt: options.attempt ?? prior?.attempt ?? 1,
          sent_at: preciseIsoTime(sentAtMs),
        };
        const idempotencyKey = options.idempotencyKey ?? prior?.idempotency_key;
        if (idempotencyKey !== undefined) block.idempotency_key = idempotencyKey;
        const epoch = options.epoch ?? prior?.epoch;
        if (epoch !== undefined) block.epoch = epoch;
        const stateVersion = options.stateVersion ?? prior?.state_version;
        if (stateVersion !== undefined) block.state_version = stateVersion;
        const budget = options.timeoutBudgetMs ?? prior?.timeout_budget_ms;
        if (budget !== undefined) block.timeout_budget_ms = budget;
        const carrier = injectTraceContext(trace.setSpan(contextApi.active(), span), this.#propagation);
        if (carrier) block.trace_context = carrier;
        else delete block.trace_context;
        out = { ...envelope, handoff: block };
        const sizeBytes = this.#describeEnvelope(span, out as Record<string, unknown>, block);
        check = this.#check(span, schema, out, sizeBytes);
      }
      this.#recordCheck(span, 'send', source, target, check);
      this.#stats.handoffsSent++;
      this.#instruments.handoffs.add(1, {
        [METRIC_SIDE]: 'send',
        [METRIC_SOURCE_AGENT]: source,
        [METRIC_TARGET_AGENT]: target,
      });
      if (!check.valid) failure = check.error ?? this.#invalidError(schema, 'send', check.issues);
    } catch (error) {
      this.#fault('send', error, span);
    } finally {
      span?.end(nowMs());
    }
    if (failure && this.mode === 'strict') throw failure;
    return out;
  }

  /**
   * Receives a handoff: extracts the sender's trace context from the envelope,
   * opens a `handoff receive <source>` span parented or linked to the send span,
   * validates against the receiver's schema version and records both sides'
   * versions, and (unless `ack: 'manual'`) acknowledges against the budget.
   * Accepts the envelope as an object or as the JSON text that crossed the wire.
   */
  receive<E = Record<string, unknown>>(input: unknown, options: ReceiveOptions = {}): ReceivedHandoff<E> {
    const schema = options.schema ? parseSchemaRef(options.schema) : this.#schema;
    let span: Span | undefined;
    let envelope: unknown = input;
    let check: EnvelopeCheck = { valid: false, issues: [] };
    let failure: BatonError | undefined;
    let ctx = contextApi.active();
    let source = 'unknown';
    let target = options.agent ?? 'unknown';
    let block: Partial<HandoffBlock> | undefined;
    let acked = false;
    let receivedAtMs = 0;
    try {
      let parseIssue: SchemaIssue | undefined;
      let wireBytes = -1;
      if (typeof input === 'string') {
        wireBytes = utf8Length(input);
        try {
          envelope = JSON.parse(input);
        } catch (error) {
          parseIssue = { instancePath: '', keyword: 'json', message: (error as Error).message };
        }
      }
      const env = isPlainObject(envelope) ? envelope : undefined;
      if (env) {
        if (typeof env.source_agent === 'string') source = env.source_agent;
        if (options.agent === undefined && typeof env.target_agent === 'string') target = env.target_agent;
        if (isPlainObject(env.handoff)) block = env.handoff as Partial<HandoffBlock>;
      }
      const remote = extractSpanContext(block?.trace_context, this.#propagation);
      const { parent, links } = this.#receiveParent(remote, options.parenting ?? this.#parenting);
      const attrs: SpanAttributes = {
        [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
        [BATON_OPERATION]: BatonOperation.HandoffReceive,
        [GEN_AI_AGENT_NAME]: target,
        [BATON_HANDOFF_SOURCE_AGENT]: source,
        [BATON_HANDOFF_TARGET_AGENT]: target,
        [BATON_ENVELOPE_SCHEMA_ID]: schema.id,
        [BATON_ENVELOPE_SCHEMA_VERSION]: schema.version,
      };
      if (typeof block?.schema_version === 'string') attrs[BATON_ENVELOPE_SENDER_SCHEMA_VERSION] = block.schema_version;
      receivedAtMs = nowMs();
      span = this.#activeTracer.startSpan(
        `handoff receive ${source}`,
        { kind: SpanKind.CONSUMER, attributes: attrs, links, startTime: receivedAtMs },
        parent,
      );
      ctx = trace.setSpan(parent, span);
      if (parseIssue) {
        check = { valid: false, issues: [parseIssue] };
      } else if (!env) {
        check = { valid: false, issues: [{ instancePath: '', keyword: 'type', message: 'must be object' }] };
      } else {
        const sizeBytes = this.#describeEnvelope(span, env, block, wireBytes);
        check = this.#check(span, schema, env, sizeBytes);
        this.#recordLatency(span, block, source, target, receivedAtMs);
      }
      this.#recordCheck(span, 'receive', source, target, check);
      if (options.ack !== 'manual') {
        this.#recordAck(span, block, source, target, receivedAtMs, receivedAtMs);
        acked = true;
      }
      this.#stats.handoffsReceived++;
      this.#instruments.handoffs.add(1, {
        [METRIC_SIDE]: 'receive',
        [METRIC_SOURCE_AGENT]: source,
        [METRIC_TARGET_AGENT]: target,
      });
      if (!check.valid) failure = check.error ?? this.#invalidError(schema, 'receive', check.issues);
    } catch (error) {
      this.#fault('receive', error, span);
    } finally {
      span?.end(nowMs());
    }
    if (failure && this.mode === 'strict') throw failure;
    const receiveCtx = ctx;
    const received: ReceivedHandoff<E> = {
      envelope: envelope as E,
      valid: check.valid,
      issues: check.issues,
      context: receiveCtx,
      run: <T>(fn: () => T): T => contextApi.with(receiveCtx, fn),
      ack: () => {
        if (acked) return;
        acked = true;
        this.#manualAck(receiveCtx, block, source, target, receivedAtMs);
      },
    };
    return received;
  }

  /**
   * Runs one agent's turn in an `invoke_agent <name>` span (GenAI conventions). The
   * function's result is returned, its error rethrown untouched: those are the host's.
   */
  runAgent<T>(name: string, fn: (run: AgentRun) => T, options: RunAgentOptions = {}): T {
    let span: Span | undefined;
    let blocked: string | undefined;
    try {
      const attrs: SpanAttributes = {
        [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
        [BATON_OPERATION]: BatonOperation.AgentRun,
        [GEN_AI_OPERATION_NAME]: 'invoke_agent',
        [GEN_AI_AGENT_NAME]: name,
      };
      if (options.agentId !== undefined) attrs[GEN_AI_AGENT_ID] = options.agentId;
      if (options.taskId !== undefined) attrs[BATON_TASK_ID] = options.taskId;
      if (options.conversationId !== undefined) attrs[GEN_AI_CONVERSATION_ID] = options.conversationId;
      if (options.model !== undefined) attrs[GEN_AI_REQUEST_MODEL] = options.model;
      if (options.dependsOn && options.dependsOn.length > 0) attrs[BATON_AGENT_DEPENDS_ON] = [...options.dependsOn];
      span = this.#activeTracer.startSpan(`invoke_agent ${name}`, {
        kind: SpanKind.INTERNAL,
        attributes: attrs,
        startTime: nowMs(),
      });
    } catch (error) {
      this.#fault('runAgent', error, span);
    }
    if (!span) return fn(noopAgentRun);
    const agentSpan = span;
    const run: AgentRun = {
      span: agentSpan,
      setUsage: (inputTokens, outputTokens) => {
        agentSpan.setAttribute(GEN_AI_USAGE_INPUT_TOKENS, inputTokens);
        if (outputTokens !== undefined) agentSpan.setAttribute(GEN_AI_USAGE_OUTPUT_TOKENS, outputTokens);
      },
      block: (reason) => {
        blocked = reason;
      },
    };
    const finish = (error: unknown, failed: boolean): void => {
      try {
        if (failed) {
          agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Failed);
          agentSpan.setAttribute(ERROR_TYPE, errorType(error));
          agentSpan.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          if (error instanceof Error) agentSpan.recordException(error, nowMs());
        } else if (blocked !== undefined) {
          agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Blocked);
          agentSpan.setAttribute(ERROR_TYPE, 'blocked');
          agentSpan.setStatus({ code: SpanStatusCode.ERROR, message: blocked });
        } else {
          agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Completed);
        }
        agentSpan.end(nowMs());
      } catch (fault) {
        this.#fault('runAgent', fault, undefined);
      }
    };
    return this.#runInSpan(agentSpan, () => fn(run), finish);
  }

  /**
   * Traces a state-store read. `fn` does the read; if its result has a numeric
   * `version` (and `epoch`), they are recorded as the version and epoch read, and
   * `undefined`/`null` is recorded as not found.
   */
  traceStateRead<T>(access: StateAccess, fn: () => T): T {
    return this.#traceState(BatonOperation.StateRead, access, fn);
  }

  /**
   * Traces a state-store write. `fn` does the write; a numeric `version` on its
   * result is recorded as the version written. `access.announces` names the
   * completion event that must follow, so the analyzer can tell when it never did.
   */
  traceStateWrite<T>(access: StateAccess, fn: () => T): T {
    return this.#traceState(BatonOperation.StateWrite, access, fn);
  }

  /**
   * Publishes an event: a `publish <topic>` producer span, and the message to hand
   * to the bus, carrying an id and trace context so consumers link back.
   */
  publish(event: PublishEvent): EventMessage {
    let span: Span | undefined;
    const message: {
      id: string;
      topic: string;
      task_id?: string;
      key?: string;
      state_version?: number;
      payload?: unknown;
      trace_context?: EventMessage['trace_context'];
    } = { id: event.id ?? newId(), topic: event.topic };
    if (event.taskId !== undefined) message.task_id = event.taskId;
    if (event.key !== undefined) message.key = event.key;
    if (event.stateVersion !== undefined) message.state_version = event.stateVersion;
    if (event.payload !== undefined) message.payload = event.payload;
    try {
      const attrs = this.#eventAttributes(BatonOperation.EventPublish, message, event.system, event.agent);
      attrs[MESSAGING_OPERATION_TYPE] = 'send';
      attrs[MESSAGING_OPERATION_NAME] = 'publish';
      span = this.#activeTracer.startSpan(`publish ${event.topic}`, {
        kind: SpanKind.PRODUCER,
        attributes: attrs,
        startTime: nowMs(),
      });
      const carrier = injectTraceContext(trace.setSpan(contextApi.active(), span), this.#propagation);
      if (carrier) message.trace_context = carrier;
      if (event.payload !== undefined) this.#describePayload(span, event.payload);
    } catch (error) {
      this.#fault('publish', error, span);
    } finally {
      span?.end(nowMs());
    }
    return message;
  }

  /**
   * Consumes an event: runs `fn` in a `process <topic>` consumer span linked (or
   * parented) to the publish span. Returns what `fn` returns; rethrows its errors.
   */
  consume<T>(message: EventMessage, fn: () => T, options: ConsumeOptions = {}): T {
    let span: Span | undefined;
    let ctx: Context = contextApi.active();
    try {
      const msg = isPlainObject(message) ? (message as unknown as EventMessage) : undefined;
      const remote = extractSpanContext(msg?.trace_context, this.#propagation);
      const { parent, links } = this.#receiveParent(remote, options.parenting ?? this.#parenting);
      const attrs = this.#eventAttributes(
        BatonOperation.EventConsume,
        msg ?? { id: 'unknown', topic: 'unknown' },
        options.system,
        options.agent,
      );
      attrs[MESSAGING_OPERATION_TYPE] = 'process';
      attrs[MESSAGING_OPERATION_NAME] = 'consume';
      span = this.#activeTracer.startSpan(
        `process ${msg?.topic ?? 'unknown'}`,
        { kind: SpanKind.CONSUMER, attributes: attrs, links, startTime: nowMs() },
        parent,
      );
      ctx = trace.setSpan(parent, span);
    } catch (error) {
      this.#fault('consume', error, span);
    }
    if (!span) return fn();
    const consumeSpan = span;
    return contextApi.with(ctx, () => this.#runInSpan(consumeSpan, fn, (error, failed) => this.#endFallible(consumeSpan, error, failed)));
  }

  #traceState<T>(operation: BatonOperation, access: StateAccess, fn: () => T): T {
    let span: Span | undefined;
    const isWrite = operation === BatonOperation.StateWrite;
    try {
      const attrs: SpanAttributes = {
        [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
        [BATON_OPERATION]: operation,
        [BATON_STATE_KEY]: access.key,
        [DB_OPERATION_NAME]: isWrite ? 'write' : 'read',
        [DB_SYSTEM_NAME]: access.system ?? 'other',
      };
      if (access.collection !== undefined) attrs[DB_COLLECTION_NAME] = access.collection;
      if (access.agent !== undefined) attrs[GEN_AI_AGENT_NAME] = access.agent;
      if (access.taskId !== undefined) attrs[BATON_TASK_ID] = access.taskId;
      if (access.epoch !== undefined) attrs[BATON_EPOCH] = access.epoch;
      if (access.attempt !== undefined) attrs[BATON_ATTEMPT] = access.attempt;
      if (access.idempotencyKey !== undefined) attrs[BATON_IDEMPOTENCY_KEY] = access.idempotencyKey;
      if (access.step !== undefined) attrs[BATON_STEP] = access.step;
      if (access.expectedVersion !== undefined) attrs[BATON_STATE_VERSION_EXPECTED] = access.expectedVersion;
      if (access.announces !== undefined) attrs[BATON_EVENT_EXPECTED_TOPIC] = access.announces;
      const name = `${isWrite ? 'write' : 'read'} ${access.collection ?? access.key}`;
      span = this.#activeTracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: attrs, startTime: nowMs() });
    } catch (error) {
      this.#fault(operation, error, span);
    }
    if (!span) return fn();
    const stateSpan = span;
    const finish = (result: unknown, failed: boolean): void => {
      if (!failed) {
        try {
          const facts = isPlainObject(result) ? (result as StateResultFacts) : undefined;
          // On a deduplicated write, version is the one the first write committed: recorded as written all the same.
          if (facts && typeof facts.version === 'number') {
            stateSpan.setAttribute(isWrite ? BATON_STATE_VERSION_WRITTEN : BATON_STATE_VERSION_READ, facts.version);
          }
          if (isWrite && facts && typeof facts.deduplicated === 'boolean') {
            stateSpan.setAttribute(BATON_STATE_DEDUPLICATED, facts.deduplicated);
          }
          if (facts && typeof facts.epoch === 'number' && access.epoch === undefined) {
            stateSpan.setAttribute(BATON_EPOCH, facts.epoch);
          }
          if (!isWrite) stateSpan.setAttribute(BATON_STATE_FOUND, result !== undefined && result !== null);
        } catch (fault) {
          this.#fault(operation, fault, undefined);
        }
      }
      this.#endFallible(stateSpan, result, failed);
    };
    return contextApi.with(trace.setSpan(contextApi.active(), stateSpan), () => this.#runInSpan(stateSpan, fn, finish));
  }

  /** Runs fn, sync or async, and calls `finish(resultOrError, failed)` exactly once. Errors of fn are rethrown. */
  #runInSpan<T>(span: Span, fn: () => T, finish: (value: unknown, failed: boolean) => void): T {
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

  #endFallible(span: Span, error: unknown, failed: boolean): void {
    try {
      if (failed) {
        span.setAttribute(ERROR_TYPE, errorType(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        if (error instanceof Error) span.recordException(error, nowMs());
      }
      span.end(nowMs());
    } catch (fault) {
      this.#fault('end', fault, undefined);
    }
  }

  #eventAttributes(
    operation: BatonOperation,
    message: Pick<EventMessage, 'id' | 'topic' | 'task_id' | 'key' | 'state_version'>,
    system: string | undefined,
    agent: string | undefined,
  ): SpanAttributes {
    const attrs: SpanAttributes = {
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: operation,
      [MESSAGING_SYSTEM]: system ?? 'baton',
      [MESSAGING_DESTINATION_NAME]: String(message.topic),
      [MESSAGING_MESSAGE_ID]: String(message.id),
    };
    if (agent !== undefined) attrs[GEN_AI_AGENT_NAME] = agent;
    if (typeof message.task_id === 'string') attrs[BATON_TASK_ID] = message.task_id;
    if (typeof message.key === 'string') attrs[BATON_STATE_KEY] = message.key;
    if (typeof message.state_version === 'number') attrs[BATON_STATE_VERSION_WRITTEN] = message.state_version;
    return attrs;
  }

  /** Decides the parent context and links of a receive/consume span from the sender's span context. */
  #receiveParent(remote: SpanContext | undefined, parenting: ReceiveParenting): { parent: Context; links: Link[] } {
    const active = contextApi.active();
    if (!remote) return { parent: active, links: [] };
    const hasActiveSpan = trace.getSpan(active) !== undefined;
    if (parenting === 'parent' || (parenting === 'auto' && !hasActiveSpan)) {
      return { parent: trace.setSpanContext(hasActiveSpan ? active : ROOT_CONTEXT, remote), links: [] };
    }
    return { parent: active, links: [{ context: remote }] };
  }

  /** Records task, ids, retry facts, sizes and context facts of an envelope on its span. */
  #describeEnvelope(
    span: Span,
    env: Record<string, unknown>,
    block: Partial<HandoffBlock> | undefined,
    wireBytes = -1,
  ): number {
    const attrs: SpanAttributes = {};
    if (typeof env.task_id === 'string') attrs[BATON_TASK_ID] = env.task_id;
    if (typeof env.status === 'string') attrs[BATON_HANDOFF_STATUS] = env.status;
    if (block) {
      if (typeof block.id === 'string') attrs[BATON_HANDOFF_ID] = block.id;
      if (typeof block.attempt === 'number') attrs[BATON_ATTEMPT] = block.attempt;
      if (typeof block.idempotency_key === 'string') attrs[BATON_IDEMPOTENCY_KEY] = block.idempotency_key;
      if (typeof block.epoch === 'number') attrs[BATON_EPOCH] = block.epoch;
      if (typeof block.state_version === 'number') attrs[BATON_STATE_VERSION_WRITTEN] = block.state_version;
      if (typeof block.timeout_budget_ms === 'number') attrs[BATON_TIMEOUT_BUDGET_MS] = block.timeout_budget_ms;
      if (typeof block.sent_at === 'string') attrs[BATON_HANDOFF_SENT_AT] = block.sent_at;
    }
    addContextFacts(env, attrs);
    // Recorded before the stringify below: a circular envelope faults there, yet keeps these facts.
    span.setAttributes(attrs as Attributes);
    let json: string | undefined;
    let sizeBytes = wireBytes;
    if (sizeBytes < 0) {
      try {
        json = JSON.stringify(env);
      } catch {
        return -1; // circular or BigInt: #check reports it as not serializable
      }
      sizeBytes = utf8Length(json);
    }
    span.setAttribute(BATON_ENVELOPE_SIZE_BYTES, sizeBytes);
    if (this.#recordPayloads) {
      span.setAttribute(BATON_ENVELOPE_BODY, truncateBody(json ?? JSON.stringify(env), this.#maxRecordedPayloadBytes));
    }
    return sizeBytes;
  }

  #describePayload(span: Span, payload: unknown): void {
    const json = JSON.stringify(payload);
    if (json === undefined) return;
    span.setAttribute(MESSAGING_MESSAGE_BODY_SIZE, utf8Length(json));
    if (this.#recordPayloads) span.setAttribute(BATON_ENVELOPE_BODY, truncateBody(json, this.#maxRecordedPayloadBytes));
  }

  /** Validates against id@version and the size limit, timing the schema check. */
  #check(span: Span, schema: { id: string; version: string }, envelope: object, sizeBytes: number): EnvelopeCheck {
    if (!this.schemas.has(schema.id, schema.version)) {
      return {
        valid: false,
        issues: [{ instancePath: '', keyword: 'schema', message: `no schema ${schema.id}@${schema.version}` }],
        error: new SchemaUnknownError(schema.id, schema.version),
      };
    }
    if (sizeBytes < 0) {
      return {
        valid: false,
        issues: [{ instancePath: '', keyword: 'serializable', message: 'is not JSON-serializable (circular or BigInt)' }],
      };
    }
    if (sizeBytes > this.#maxEnvelopeBytes) {
      return {
        valid: false,
        issues: [
          { instancePath: '', keyword: 'maxEnvelopeBytes', message: `is ${sizeBytes} bytes, over ${this.#maxEnvelopeBytes}` },
        ],
        error: new EnvelopeTooLargeError(sizeBytes, this.#maxEnvelopeBytes),
      };
    }
    const started = performance.now();
    const result = this.schemas.validate(schema.id, schema.version, envelope);
    span.setAttribute(BATON_VALIDATION_DURATION_MS, performance.now() - started);
    return result;
  }

  #invalidError(schema: { id: string; version: string }, side: 'send' | 'receive', issues: readonly SchemaIssue[]): BatonError {
    return new EnvelopeInvalidError(schema.id, schema.version, side, issues);
  }

  /** Records a validation outcome (and the size limit) on the span, in counters and through diag. */
  #recordCheck(span: Span, side: 'send' | 'receive', source: string, target: string, check: EnvelopeCheck): void {
    if (check.valid) {
      span.setAttribute(BATON_VALIDATION_RESULT, ValidationResult.Valid);
      return;
    }
    const first = check.issues[0];
    span.setAttributes({
      [BATON_VALIDATION_RESULT]: check.error instanceof SchemaUnknownError ? ValidationResult.Error : ValidationResult.Invalid,
      [BATON_VALIDATION_ERROR_PATH]: first?.instancePath || '/',
      [BATON_VALIDATION_ERROR_KEYWORD]: first?.keyword ?? 'unknown',
      [BATON_VALIDATION_ERROR_COUNT]: check.issues.length,
      [ERROR_TYPE]: check.error?.code ?? 'BATON_ENVELOPE_INVALID',
    });
    const message = `envelope ${source} → ${target} invalid at ${side}: ${first?.instancePath || '/'} ${first?.message ?? ''}`;
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    this.#stats.validationFailures++;
    this.#instruments.validationFailures.add(1, {
      [METRIC_SIDE]: side,
      [METRIC_SOURCE_AGENT]: source,
      [METRIC_TARGET_AGENT]: target,
    });
    diag.warn(`baton: ${message}`);
  }

  /**
   * Records sent_at → receive on the latency histogram. A negative latency means the
   * receiver's clock is behind the sender's: a histogram cannot take it, so it is
   * recorded as 0, counted as a clock-skew sample and flagged on the receive span.
   */
  #recordLatency(span: Span, block: Partial<HandoffBlock> | undefined, source: string, target: string, receivedAtMs: number): void {
    const sentAtMs = sentAtMsOf(block);
    if (Number.isNaN(sentAtMs)) return;
    const latencyMs = receivedAtMs - sentAtMs;
    const edge = { [METRIC_SOURCE_AGENT]: source, [METRIC_TARGET_AGENT]: target };
    this.#instruments.handoffLatency.record(Math.max(0, latencyMs) / 1000, edge);
    if (latencyMs >= 0) return;
    span.setAttribute(BATON_CLOCK_SKEW_SUSPECTED, true);
    this.#instruments.clockSkewSamples.add(1, edge);
    diag.warn(
      `baton: handoff ${source} → ${target} received ${(-latencyMs).toFixed(3)} ms before its sent_at: clock skew; latency recorded as 0`,
    );
  }

  /**
   * Records an acknowledgement on `span`: its signed delay since sent_at and whether
   * it kept the budget. The receive came after the send whatever the clocks say, so
   * the ack took at least `ackAtMs − receivedAtMs`: the budget is judged on the
   * larger of that and the delay, and a receiver clock behind the sender's (a
   * negative delay, kept as measured) never makes a late ack on time.
   */
  #recordAck(
    span: Span,
    block: Partial<HandoffBlock> | undefined,
    source: string,
    target: string,
    receivedAtMs: number,
    ackAtMs: number,
  ): void {
    const sentAtMs = sentAtMsOf(block);
    if (Number.isNaN(sentAtMs)) return;
    const delayMs = ackAtMs - sentAtMs;
    span.setAttribute(BATON_ACK_DELAY_MS, delayMs);
    if (receivedAtMs < sentAtMs) span.setAttribute(BATON_CLOCK_SKEW_SUSPECTED, true);
    const budget = block?.timeout_budget_ms;
    if (typeof budget !== 'number') return;
    const tookAtLeastMs = Math.max(delayMs, ackAtMs - receivedAtMs);
    const within = tookAtLeastMs <= budget;
    span.setAttribute(BATON_ACK_WITHIN_BUDGET, within);
    if (!within) {
      this.#stats.ackTimeouts++;
      this.#instruments.ackTimeouts.add(1, { [METRIC_SOURCE_AGENT]: source, [METRIC_TARGET_AGENT]: target });
      diag.warn(
        `baton: handoff ${source} → ${target} acknowledged after ${tookAtLeastMs.toFixed(3)} ms, over its ${budget} ms budget`,
      );
    }
  }

  #manualAck(ctx: Context, block: Partial<HandoffBlock> | undefined, source: string, target: string, receivedAtMs: number): void {
    let span: Span | undefined;
    try {
      const attrs: SpanAttributes = {
        [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
        [BATON_OPERATION]: BatonOperation.HandoffAck,
        [GEN_AI_AGENT_NAME]: target,
        [BATON_HANDOFF_SOURCE_AGENT]: source,
        [BATON_HANDOFF_TARGET_AGENT]: target,
      };
      if (typeof block?.id === 'string') attrs[BATON_HANDOFF_ID] = block.id;
      if (typeof block?.timeout_budget_ms === 'number') attrs[BATON_TIMEOUT_BUDGET_MS] = block.timeout_budget_ms;
      const ackAtMs = nowMs();
      span = this.#activeTracer.startSpan(
        `handoff ack ${source}`,
        { kind: SpanKind.INTERNAL, attributes: attrs, startTime: ackAtMs },
        ctx,
      );
      this.#recordAck(span, block, source, target, receivedAtMs, ackAtMs);
    } catch (error) {
      this.#fault('ack', error, span);
    } finally {
      span?.end(nowMs());
    }
  }

  /** Counts an instrumentation fault; in strict mode throws it. Never throws in warn mode. */
  #fault(operation: string, error: unknown, span: Span | undefined): void {
    this.#stats.faults++;
    try {
      this.#instruments.faults.add(1, { [METRIC_OPERATION]: operation });
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

const noopAgentRun: AgentRun = {
  span: trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }),
  setUsage: () => undefined,
  block: () => undefined,
};
