/**
 * The handoff itself: send (fill in and validate the envelope, inject trace
 * context), receive (extract it, validate against the receiver's version,
 * measure latency) and the acknowledgement against the budget.
 *
 * Every entry point is guarded as a whole (fault-policy.ts): whatever the
 * envelope, the options or the OpenTelemetry parts do, warn mode returns and
 * strict mode throws only BatonErrors. Nothing from an envelope's body reaches a
 * span, a status message or diag unless `recordPayloads` is on: only sizes,
 * counts, identifiers (bounded in length) and schema-defined values such as a
 * status from the schema's enum.
 */
import {
  context as contextApi,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import {
  BATON_ACK_DELAY_MS,
  BATON_ACK_WITHIN_BUDGET,
  BATON_ATTEMPT,
  BATON_CLOCK_SKEW_SUSPECTED,
  BATON_CONVENTIONS_VERSION,
  BATON_ENVELOPE_BODY,
  BATON_ENVELOPE_SCHEMA_ID,
  BATON_ENVELOPE_SCHEMA_VERSION,
  BATON_ENVELOPE_SENDER_SCHEMA_VERSION,
  BATON_ENVELOPE_SIZE_BYTES,
  BATON_EPOCH,
  BATON_HANDOFF_ID,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_STATUS,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TASK_ID,
  BATON_TIMEOUT_BUDGET_MS,
  BATON_VALIDATION_DURATION_MS,
  BATON_VALIDATION_ERROR_COUNT,
  BATON_VALIDATION_ERROR_KEYWORD,
  BATON_VALIDATION_ERROR_PATH,
  BATON_VALIDATION_RESULT,
  BatonOperation,
  CONVENTIONS_VERSION,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  ValidationResult,
} from '../model/attributes.js';
import type { HandoffBlock, TraceContextCarrier } from '../model/envelope.js';
import {
  BatonError,
  EnvelopeInvalidError,
  EnvelopeTooLargeError,
  SchemaUnknownError,
  type SchemaIssue,
} from '../model/errors.js';
import { nowMs } from './clock.js';
import {
  addContextFacts,
  boundedString,
  type AttributeSink,
  envelopeJsonBytes,
  isPlainObject,
  jsonByteLength,
  jsonByteLengthForLimit,
  keyJsonBytes,
  memberJsonBytes,
  plainStringMemberJsonBytes,
  truncateBody,
  utf8Length,
  withMemberBytes,
  type EnvelopeSizes,
} from './envelope-facts.js';
import { toBatonError } from './fault-policy.js';
import type { MetricEdge } from './metrics.js';
import type { ReceivedHandoff, ReceiveOptions, SendOptions } from './options.js';
import {
  activeTracer,
  checkContextManager,
  endSpan,
  NO_FAULT,
  parentingOf,
  receiveParent,
  resolveSchemaRef,
  runInContext,
  newId,
  type SchemaKey,
  type SdkRuntime,
  type SpanAttributes,
} from './runtime.js';
import { extractSpanContext, injectSpanContext } from './trace-context.js';
import { digitsAt } from '../model/iso-time.js';

/** The statuses of Baton's envelope schemas (v1 and v2): only these are recorded; anything else is body text. */
const ENVELOPE_STATUSES: ReadonlySet<string> = new Set(['complete', 'partial', 'failed', 'needs_review', 'in_progress']);
/** Longest JSON pointer recorded on a span or in diag; a pointer is made of the envelope's keys. */
const MAX_POINTER_CHARS = 200;
/** A schema ref that is neither `id@version` nor `{ id, version }`: never registered, so it fails as unknown. */
const INVALID_SCHEMA: SchemaKey = { id: '(invalid schema ref)', version: '?' };
const EMPTY_OPTIONS = Object.freeze({});

const NOT_AN_OBJECT: readonly SchemaIssue[] = Object.freeze([{ instancePath: '', keyword: 'type', message: 'must be object' }]);

interface EnvelopeCheck {
  valid: boolean;
  issues: readonly SchemaIssue[];
  issueCount: number;
  /** Set when validation could not run (unknown schema) or a Baton limit failed: then valid is false and this is the reason. */
  error?: BatonError;
  /** Not validated: validation sampling passed this envelope by. */
  skipped?: boolean;
}

/** The second `preciseIsoTime` last wrote, as epoch ms, and its text up to the fraction (`2026-12-01T16:25:31.`). */
let isoSecondMs = Number.NaN;
let isoSecondPrefix = '';

/** Zero-padded 3-digit numbers, 000–999: the millisecond and microsecond digits of a time. */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * An RFC 3339 time to the microsecond (`…25.206123Z`): `toISOString` stops at the
 * millisecond, which would put up to 1 ms of error into every delay measured from it.
 * The date and time of day are formatted once per second, not per handoff.
 */
export function preciseIsoTime(ms: number): string {
  const wholeMs = Math.floor(ms);
  const secondMs = wholeMs - (((wholeMs % 1000) + 1000) % 1000);
  if (secondMs !== isoSecondMs) {
    const iso = new Date(secondMs).toISOString(); // …SS.000Z
    isoSecondPrefix = iso.slice(0, -4);
    isoSecondMs = secondMs;
  }
  const micros = Math.min(999, Math.floor((ms - wholeMs) * 1000));
  return `${isoSecondPrefix}${THREE_DIGITS[wholeMs - secondMs]}${THREE_DIGITS[micros]}Z`;
}

/** Fraction digits past the millisecond in an RFC 3339 time (`Date.parse` drops them). */
const SUB_MS_DIGITS = /\.\d{3}(\d+)(?:Z|[+-]\d\d:\d\d)$/i;

/** The text up to the fraction of the last sent_at parsed on the fast path, and its epoch ms. */
let parsedSecondPrefix = '';
let parsedSecondMs = Number.NaN;

/**
 * The envelope's sent_at in epoch ms, with its sub-millisecond digits when it has them, or NaN.
 * The shape send writes (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) is read without Date.parse when its
 * second is the one read last; any other text goes through Date.parse, with the same result.
 */
export function sentAtMsOf(block: Partial<HandoffBlock> | undefined): number {
  const sentAt = block?.sent_at;
  if (typeof sentAt !== 'string') return Number.NaN;
  if (sentAt.length === 27 && sentAt.charCodeAt(19) === 46 /* . */ && sentAt.charCodeAt(26) === 90 /* Z */) {
    const millis = digitsAt(sentAt, 20, 3);
    const micros = millis < 0 ? -1 : digitsAt(sentAt, 23, 3);
    if (micros >= 0) {
      // Compared in place: a slice per receive only when the second changes.
      if (parsedSecondPrefix.length !== 20 || !sentAt.startsWith(parsedSecondPrefix)) {
        const prefix = sentAt.slice(0, 20);
        const secondMs = Date.parse(`${prefix}000Z`);
        if (Number.isNaN(secondMs)) return Number.NaN;
        parsedSecondPrefix = prefix;
        parsedSecondMs = secondMs;
      }
      // As below: Date.parse's whole ms, plus Number(`0.${micros}`) (micros / 1000 is the same double).
      return micros === 0 ? parsedSecondMs + millis : parsedSecondMs + millis + micros / 1000;
    }
  }
  const ms = Date.parse(sentAt);
  const extra = SUB_MS_DIGITS.exec(sentAt);
  return extra ? ms + Number(`0.${extra[1]}`) : ms;
}

function objectOrEmpty<T extends object>(value: T | undefined): T {
  return value !== null && typeof value === 'object' ? value : (EMPTY_OPTIONS as T);
}

/**
 * A shallow copy. Object.assign: a spread followed by a new key was measured 8x
 * slower. An own `__proto__` key (JSON.parse makes them) would set the copy's
 * prototype under assign, so such an object is spread (which defines it) instead.
 */
function copyOf(source: object): Record<string, unknown> {
  return (Object.hasOwn(source, '__proto__') ? { ...source } : Object.assign({}, source)) as Record<string, unknown>;
}

/** A copy of `source` with `handoff` set. */
function withHandoff(source: Record<string, unknown>, block: HandoffBlock): Record<string, unknown> {
  const out = copyOf(source);
  out.handoff = block;
  return out;
}

function boundedPointer(pointer: string): string {
  if (pointer === '') return '/';
  return pointer.length > MAX_POINTER_CHARS ? `${pointer.slice(0, MAX_POINTER_CHARS)}…` : pointer;
}

/** Starts a span with Baton's clock, on the first use checking that a context manager carries context. */
function startSpan(
  rt: SdkRuntime,
  name: string,
  kind: SpanKind,
  attributes: SpanAttributes,
  startTime: number,
  parent?: Context,
  links?: Link[],
): Span {
  checkContextManager(rt);
  return activeTracer(rt).startSpan(name, { kind, attributes, links, startTime }, parent);
}

/**
 * Sends a handoff. Returns a new envelope with its handoff block filled in; the
 * input is not modified. In warn mode an invalid envelope is still returned, and
 * when instrumentation fails the input comes back as it was.
 */
export function sendHandoff<E extends object>(
  rt: SdkRuntime,
  envelope: E,
  options: SendOptions | undefined,
): E & { handoff: HandoffBlock } {
  let span: Span | undefined;
  let out = envelope as E & { handoff: HandoffBlock };
  let failure: BatonError | undefined;
  let fault: unknown = NO_FAULT;
  try {
    const opts = objectOrEmpty(options);
    const schemaRef = opts.schema;
    const schema = schemaRef === undefined ? rt.schema : (resolveSchemaRef(schemaRef) ?? INVALID_SCHEMA);
    const env = isPlainObject(envelope) ? envelope : undefined;
    const source = (env && boundedString(env.source_agent)) ?? 'unknown';
    const target = (env && boundedString(env.target_agent)) ?? 'unknown';
    const priorValue = env?.handoff;
    const prior = isPlainObject(priorValue) ? (priorValue as Partial<HandoffBlock>) : undefined;
    // sent_at is this instant to the microsecond, as is the span's start.
    const sentAtMs = nowMs();
    // The edge is the two baton.handoff.* names on both sides (as on the metric points). gen_ai.agent.name, which
    // repeated the source here, is not written on a send (conventions 2, docs/conventions.md); nothing runs inside it.
    const attrs: SpanAttributes = {
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: BatonOperation.HandoffSend,
      [BATON_HANDOFF_SOURCE_AGENT]: source,
      [BATON_HANDOFF_TARGET_AGENT]: target,
      [BATON_ENVELOPE_SCHEMA_ID]: schema.id,
      [BATON_ENVELOPE_SCHEMA_VERSION]: schema.version,
    };
    let check: EnvelopeCheck;
    if (!env) {
      span = startSpan(rt, `handoff send ${target}`, SpanKind.PRODUCER, attrs, sentAtMs);
      check = { valid: false, issues: NOT_AN_OBJECT, issueCount: 1 };
    } else {
      // A prior block's fields Baton does not know (a newer sender's) are kept: the schema allows them, the type does not name them.
      const block = (prior ? copyOf(prior) : {}) as unknown as HandoffBlock;
      const givenId = opts.handoffId ?? prior?.id;
      block.id = givenId ?? newId();
      block.schema_id = schema.id;
      block.schema_version = schema.version;
      block.attempt = opts.attempt ?? prior?.attempt ?? 1;
      block.sent_at = preciseIsoTime(sentAtMs);
      const idempotencyKey = opts.idempotencyKey ?? prior?.idempotency_key;
      if (idempotencyKey !== undefined) block.idempotency_key = idempotencyKey;
      const epoch = opts.epoch ?? prior?.epoch;
      if (epoch !== undefined) block.epoch = epoch;
      const stateVersion = opts.stateVersion ?? prior?.state_version;
      if (stateVersion !== undefined) block.state_version = stateVersion;
      const budget = opts.timeoutBudgetMs ?? prior?.timeout_budget_ms;
      if (budget !== undefined) block.timeout_budget_ms = budget;
      // Sized once, without the handoff block (replaced below), the context's size on the way.
      const sizes = tryEnvelopeSizes(env, 'handoff');
      // The span starts with what a sampler may want (operation, edge, schema); the envelope's facts are set
      // on it one by one: attributes given to startSpan are copied and checked once more (sanitizeAttributes),
      // and an object of facts would be one more allocation walked again by setAttributes.
      // An envelope whose getters throw still gets its span, marked with the fault by the catch below.
      span = startSpan(rt, `handoff send ${target}`, SpanKind.PRODUCER, attrs, sentAtMs);
      addSendFacts(env, block, span, sizes.context >= 0 ? sizes.context : undefined);
      const carrier = injectSpanContext(span, rt.propagation);
      if (carrier) block.trace_context = carrier;
      else delete block.trace_context;
      const built = withHandoff(env, block);
      out = built as E & { handoff: HandoffBlock };
      // A block built from nothing is sized knowing what send wrote; one that carries a prior block's members is walked.
      const blockBytes = prior
        ? undefined
        : freshBlockBytes(block, givenId === undefined || givenId === null, rt.propagation === 'w3c' ? carrier : undefined);
      const sizeBytes = recordSize(rt, span, built, withMemberBytes(sizes, 'handoff', block, blockBytes));
      check = checkEnvelope(rt, span, schema, built, sizeBytes, 'send', source, target);
    }
    const edge = rt.instruments.edge(source, target);
    recordCheck(rt, span, 'send', source, target, schema, check, edge);
    rt.policy.stats.handoffsSent++;
    edge.sent++;
    if (!check.valid && !check.skipped)
      failure = check.error ?? new EnvelopeInvalidError(schema.id, schema.version, 'send', check.issues);
  } catch (error) {
    fault = error;
    rt.policy.fault('send', error, span, false);
  }
  const endFault = endSpan(rt, span, 'send', true);
  if (rt.mode === 'strict') {
    if (fault !== NO_FAULT) throw toBatonError('send', fault);
    if (failure) throw failure;
    if (endFault) throw endFault;
  }
  return out;
}

/** A received handoff: what receive() returns. Methods on a class: no closures per receive. */
class Received<E> implements ReceivedHandoff<E> {
  #acked: boolean;
  readonly #rt: SdkRuntime;
  readonly #block: Partial<HandoffBlock> | undefined;
  readonly #source: string;
  readonly #target: string;
  readonly #receivedAtMs: number;
  readonly #sentAtMs: number;

  constructor(
    readonly envelope: E,
    readonly valid: boolean,
    readonly issues: readonly SchemaIssue[],
    readonly context: Context,
    acked: boolean,
    rt: SdkRuntime,
    block: Partial<HandoffBlock> | undefined,
    source: string,
    target: string,
    receivedAtMs: number,
    sentAtMs: number,
  ) {
    this.#acked = acked;
    this.#rt = rt;
    this.#block = block;
    this.#source = source;
    this.#target = target;
    this.#receivedAtMs = receivedAtMs;
    this.#sentAtMs = sentAtMs;
  }

  #runBound: (<T>(fn: () => T) => T) | undefined;
  #ackBound: (() => void) | undefined;

  // Getters binding on first read, so `const { ack, run } = baton.receive(…)` works as `rx.ack()` does
  // (a bare prototype method called without its object threw a TypeError into the host), and a
  // receive that never touches them (auto-ack) allocates nothing for them.
  get run(): <T>(fn: () => T) => T {
    return (this.#runBound ??= <T>(fn: () => T): T => runInContext(this.#rt, this.context, fn));
  }

  get ack(): () => void {
    return (this.#ackBound ??= (): void => this.#ack());
  }

  #ack(): void {
    if (this.#acked) return;
    this.#acked = true;
    manualAck(this.#rt, this.context, this.#block, this.#source, this.#target, this.#receivedAtMs, this.#sentAtMs);
  }
}

/** What JSON.parse's message may say of the failure: only the position, never V8's excerpt of the text. */
const PARSE_POSITION = /\bposition (\d+)/;

function parseIssue(error: unknown): SchemaIssue {
  let where = '';
  try {
    const position = PARSE_POSITION.exec((error as Error).message);
    if (position) where = ` (at character ${position[1]})`;
  } catch {
    // no position then
  }
  return { instancePath: '', keyword: 'json', message: `is not valid JSON${where}` };
}

/**
 * Receives a handoff, as an object or as the JSON text that crossed the wire.
 * Always returns a ReceivedHandoff in warn mode, whatever the input.
 */
export function receiveHandoff<E>(rt: SdkRuntime, input: unknown, options: ReceiveOptions | undefined): ReceivedHandoff<E> {
  let span: Span | undefined;
  let envelope: unknown = input;
  let valid = false;
  let issues: readonly SchemaIssue[] = NOT_AN_OBJECT;
  let failure: BatonError | undefined;
  let fault: unknown = NO_FAULT;
  let ctx: Context | undefined;
  let source = 'unknown';
  let target = 'unknown';
  let block: Partial<HandoffBlock> | undefined;
  let acked = false;
  let receivedAtMs = 0;
  let sentAtMs = Number.NaN;
  let optionFault: TypeError | undefined;
  try {
    const opts = objectOrEmpty(options);
    const schemaRef = opts.schema;
    const schema = schemaRef === undefined ? rt.schema : (resolveSchemaRef(schemaRef) ?? INVALID_SCHEMA);
    const agent = boundedString(opts.agent);
    if (agent !== undefined) target = agent;
    let parseFailure: SchemaIssue | undefined;
    let wireBytes = -1;
    if (typeof input === 'string') {
      wireBytes = utf8Length(input);
      try {
        envelope = JSON.parse(input);
      } catch (error) {
        parseFailure = parseIssue(error);
      }
    }
    const env = isPlainObject(envelope) ? envelope : undefined;
    if (env) {
      source = boundedString(env.source_agent) ?? source;
      if (agent === undefined) target = boundedString(env.target_agent) ?? target;
      const blockValue = env.handoff;
      if (isPlainObject(blockValue)) block = blockValue as Partial<HandoffBlock>;
    }
    const remote = extractSpanContext(block?.trace_context, rt.propagation);
    const { parenting, fault: parentingFault } = parentingOf(opts.parenting, rt.parenting);
    // A value outside the documented ones falls back to the default, as the constructor's options do, and says so:
    // `ack: 'Manual'` acknowledging at once, silently, would make a late worker look on time.
    const ackOption = opts.ack;
    if (ackOption !== undefined && ackOption !== 'auto' && ackOption !== 'manual')
      optionFault = new TypeError("option ack must be 'auto' or 'manual'");
    else optionFault = parentingFault;
    const { parent, links } = receiveParent(remote, parenting);
    const attrs: SpanAttributes = {
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: BatonOperation.HandoffReceive,
      // The receiving agent, for what runs inside the receive (rx.run): the store adapters attribute state access
      // to the active span's gen_ai.agent.name, as GenAI-aware tools do.
      [GEN_AI_AGENT_NAME]: target,
      [BATON_HANDOFF_SOURCE_AGENT]: source,
      [BATON_HANDOFF_TARGET_AGENT]: target,
      [BATON_ENVELOPE_SCHEMA_ID]: schema.id,
      [BATON_ENVELOPE_SCHEMA_VERSION]: schema.version,
    };
    const senderVersion = boundedString(block?.schema_version);
    if (senderVersion !== undefined) attrs[BATON_ENVELOPE_SENDER_SCHEMA_VERSION] = senderVersion;
    // An object received is sized here for the size limit only (the send span records the sizes): bounded without
    // reading its strings, measured exactly only when the bound passes the limit. Text was sized as it came.
    const sizeBytes = env && !parseFailure && wireBytes < 0 ? jsonByteLengthForLimit(env, rt.maxEnvelopeBytes) : wireBytes;
    receivedAtMs = nowMs();
    span = startSpan(rt, `handoff receive ${source}`, SpanKind.CONSUMER, attrs, receivedAtMs, parent, links);
    if (optionFault) rt.policy.fault('options', optionFault, span, false);
    // Set on the span one by one, as at send; a getter that throws is the catch's fault, the span kept.
    if (env && !parseFailure) addReceiveFacts(env, block, span);
    ctx = trace.setSpan(parent, span);
    const edge = rt.instruments.edge(source, target);
    let check: EnvelopeCheck;
    if (parseFailure) {
      check = { valid: false, issues: [parseFailure], issueCount: 1 };
    } else if (!env) {
      check = { valid: false, issues: NOT_AN_OBJECT, issueCount: 1 };
    } else {
      if (rt.recordPayloads && sizeBytes >= 0) recordBody(rt, span, wireBytes >= 0 ? (input as string) : JSON.stringify(env));
      check = checkEnvelope(rt, span, schema, env, sizeBytes, 'receive', source, target);
      sentAtMs = sentAtMsOf(block);
      recordLatency(rt, span, sentAtMs, source, target, receivedAtMs, edge);
    }
    valid = check.valid;
    issues = check.issues;
    recordCheck(rt, span, 'receive', source, target, schema, check, edge);
    if (opts.ack !== 'manual') {
      recordAck(rt, span, block, sentAtMs, source, target, receivedAtMs, receivedAtMs, edge);
      acked = true;
    }
    rt.policy.stats.handoffsReceived++;
    edge.received++;
    if (!check.valid && !check.skipped)
      failure = check.error ?? new EnvelopeInvalidError(schema.id, schema.version, 'receive', check.issues);
  } catch (error) {
    fault = error;
    rt.policy.fault('receive', error, span, false);
  }
  const endFault = endSpan(rt, span, 'receive', true);
  if (rt.mode === 'strict') {
    if (fault !== NO_FAULT) throw toBatonError('receive', fault);
    if (optionFault) throw toBatonError('options', optionFault);
    if (failure) throw failure;
    if (endFault) throw endFault;
  }
  return new Received<E>(
    envelope as E,
    valid,
    issues,
    ctx ?? safeActiveContext(),
    acked,
    rt,
    block,
    source,
    target,
    receivedAtMs,
    sentAtMs,
  );
}

/** The active context, or the root one when the context manager throws. */
function safeActiveContext(): Context {
  try {
    return contextApi.active();
  } catch {
    return ROOT_CONTEXT;
  }
}

/**
 * What the send span records of an envelope: task, status, ids, retry facts and context facts.
 * Identifiers are bounded; a status outside the enum is left out. Not sent_at: it is the send
 * span's start (conventions 2).
 */
function addSendFacts(
  env: Record<string, unknown>,
  block: HandoffBlock,
  span: AttributeSink,
  contextBytes: number | undefined,
): void {
  const taskId = boundedString(env.task_id);
  if (taskId !== undefined) span.setAttribute(BATON_TASK_ID, taskId);
  const status = env.status;
  if (typeof status === 'string' && ENVELOPE_STATUSES.has(status)) span.setAttribute(BATON_HANDOFF_STATUS, status);
  const id = boundedString(block.id);
  if (id !== undefined) span.setAttribute(BATON_HANDOFF_ID, id);
  const attempt = block.attempt;
  if (typeof attempt === 'number') span.setAttribute(BATON_ATTEMPT, attempt);
  const idempotencyKey = boundedString(block.idempotency_key);
  if (idempotencyKey !== undefined) span.setAttribute(BATON_IDEMPOTENCY_KEY, idempotencyKey);
  const epoch = block.epoch;
  if (typeof epoch === 'number') span.setAttribute(BATON_EPOCH, epoch);
  const stateVersion = block.state_version;
  if (typeof stateVersion === 'number') span.setAttribute(BATON_STATE_VERSION_WRITTEN, stateVersion);
  const budget = block.timeout_budget_ms;
  if (typeof budget === 'number') span.setAttribute(BATON_TIMEOUT_BUDGET_MS, budget);
  addContextFacts(env, span, contextBytes);
}

/**
 * What the receive span records of an envelope: only what pairs it with its send and what a
 * receive whose send is not in the data still needs (task, handoff id, epoch for stale-epoch-read,
 * budget for ack-timeout). The envelope's other facts are the send span's: the same envelope
 * (conventions 2); a context lost on the way fails the receiver's validation instead.
 */
function addReceiveFacts(env: Record<string, unknown>, block: Partial<HandoffBlock> | undefined, span: AttributeSink): void {
  const taskId = boundedString(env.task_id);
  if (taskId !== undefined) span.setAttribute(BATON_TASK_ID, taskId);
  if (!block) return;
  const id = boundedString(block.id);
  if (id !== undefined) span.setAttribute(BATON_HANDOFF_ID, id);
  const epoch = block.epoch;
  if (typeof epoch === 'number') span.setAttribute(BATON_EPOCH, epoch);
  const budget = block.timeout_budget_ms;
  if (typeof budget === 'number') span.setAttribute(BATON_TIMEOUT_BUDGET_MS, budget);
}

/** The members of a handoff block that send builds from nothing, but trace_context (sized apart). */
const FRESH_BLOCK_KEYS = [
  'id',
  'schema_id',
  'schema_version',
  'attempt',
  'sent_at',
  'idempotency_key',
  'epoch',
  'state_version',
  'timeout_budget_ms',
] as const;

/**
 * JSON bytes of a handoff block send built from nothing (no prior block): its members are
 * FRESH_BLOCK_KEYS and trace_context, and the strings send wrote itself (sent_at, a generated
 * id, Baton's own traceparent) are plain ASCII by construction, so only the host's values
 * (ids, keys, numbers, a tracestate) are walked. -1 when one cannot be serialized.
 */
function freshBlockBytes(block: HandoffBlock, idGenerated: boolean, w3cCarrier: TraceContextCarrier | undefined): number {
  try {
    const fields = block as unknown as Record<string, unknown>;
    let bytes = 0;
    let members = 0;
    for (let i = 0; i < FRESH_BLOCK_KEYS.length; i++) {
      const key = FRESH_BLOCK_KEYS[i]!;
      const member =
        key === 'sent_at' || (key === 'id' && idGenerated)
          ? plainStringMemberJsonBytes(key, fields[key] as string)
          : memberJsonBytes(key, fields[key]);
      if (member < 0) continue;
      bytes += member;
      members++;
    }
    const carrier = fields.trace_context;
    if (carrier !== undefined) {
      let carrierBytes: number;
      const traceparent = w3cCarrier?.traceparent;
      if (carrier === w3cCarrier && typeof traceparent === 'string') {
        // {"traceparent":"…"} or {"traceparent":"…","tracestate":…}: Baton wrote the one, the host's state the other.
        carrierBytes = 2 + plainStringMemberJsonBytes('traceparent', traceparent);
        if (w3cCarrier.tracestate !== undefined) carrierBytes += 1 + memberJsonBytes('tracestate', w3cCarrier.tracestate);
      } else {
        carrierBytes = jsonByteLength(carrier);
      }
      if (carrierBytes < 0) return -1;
      bytes += keyJsonBytes('trace_context') + 1 + carrierBytes;
      members++;
    }
    // Braces and a comma between members.
    return members === 0 ? 2 : bytes + members + 1;
  } catch {
    return -1;
  }
}

function tryEnvelopeSizes(env: Record<string, unknown>, leaveOut: string | undefined): EnvelopeSizes {
  try {
    return envelopeJsonBytes(env, leaveOut);
  } catch {
    return { total: -1, context: -1, members: 0 };
  }
}

/** Records the envelope's JSON size on the send span (and the body, if opted in); -1 when it is not serializable. */
function recordSize(rt: SdkRuntime, span: Span, env: object, sizeBytes: number): number {
  if (sizeBytes < 0) return -1; // circular or BigInt: checkEnvelope reports it as not serializable
  span.setAttribute(BATON_ENVELOPE_SIZE_BYTES, sizeBytes);
  if (rt.recordPayloads) recordBody(rt, span, JSON.stringify(env));
  return sizeBytes;
}

/** Records the body (only with recordPayloads), truncated. */
function recordBody(rt: SdkRuntime, span: Span, json: string): void {
  span.setAttribute(BATON_ENVELOPE_BODY, truncateBody(json, rt.maxRecordedPayloadBytes));
}

/** True when validation sampling passes this envelope by. */
function skipsValidation(rt: SdkRuntime, side: string, source: string, target: string, schema: SchemaKey): boolean {
  const sampling = rt.sampling;
  if (!sampling) return false;
  const key = `${side}\u0000${source}\u0000${target}\u0000${schema.id}@${schema.version}`;
  const seen = (sampling.seen.get(key) ?? 0) + 1;
  // Bounded like the metric edges: past 10 000 edge × schema keys, new ones are always validated.
  if (sampling.seen.size < 10_000 || sampling.seen.has(key)) sampling.seen.set(key, seen);
  return seen > sampling.first && (seen - sampling.first) % sampling.oneIn !== 0;
}

/** Validates against id@version and the size limit, timing the schema check. */
function checkEnvelope(
  rt: SdkRuntime,
  span: Span,
  schema: SchemaKey,
  envelope: object,
  sizeBytes: number,
  side: string,
  source: string,
  target: string,
): EnvelopeCheck {
  if (!rt.schemas.has(schema.id, schema.version)) {
    return {
      valid: false,
      issues: [{ instancePath: '', keyword: 'schema', message: `no schema ${schema.id}@${schema.version}` }],
      issueCount: 1,
      error: new SchemaUnknownError(schema.id, schema.version),
    };
  }
  if (sizeBytes < 0) {
    return {
      valid: false,
      issues: [{ instancePath: '', keyword: 'serializable', message: 'is not JSON-serializable (circular or BigInt)' }],
      issueCount: 1,
    };
  }
  if (sizeBytes > rt.maxEnvelopeBytes) {
    return {
      valid: false,
      issues: [{ instancePath: '', keyword: 'maxEnvelopeBytes', message: `is ${sizeBytes} bytes, over ${rt.maxEnvelopeBytes}` }],
      issueCount: 1,
      error: new EnvelopeTooLargeError(sizeBytes, rt.maxEnvelopeBytes),
    };
  }
  if (skipsValidation(rt, side, source, target, schema)) return { valid: true, issues: [], issueCount: 0, skipped: true };
  const started = performance.now();
  const result = rt.schemas.validate(schema.id, schema.version, envelope);
  span.setAttribute(BATON_VALIDATION_DURATION_MS, performance.now() - started);
  return result;
}

/**
 * Records a validation outcome on the span, in counters and, once per kind,
 * through diag. The status message names the pointer and the schema's message,
 * never a value from the envelope.
 */
function recordCheck(
  rt: SdkRuntime,
  span: Span,
  side: 'send' | 'receive',
  source: string,
  target: string,
  schema: SchemaKey,
  check: EnvelopeCheck,
  edge: MetricEdge,
): void {
  if (check.skipped) return;
  if (check.valid) {
    span.setAttribute(BATON_VALIDATION_RESULT, ValidationResult.Valid);
    return;
  }
  const first = check.issues[0];
  const path = boundedPointer(first?.instancePath ?? '');
  const keyword = first?.keyword ?? 'unknown';
  span.setAttributes({
    [BATON_VALIDATION_RESULT]: check.error instanceof SchemaUnknownError ? ValidationResult.Error : ValidationResult.Invalid,
    [BATON_VALIDATION_ERROR_PATH]: path,
    [BATON_VALIDATION_ERROR_KEYWORD]: keyword,
    [BATON_VALIDATION_ERROR_COUNT]: check.issueCount,
    [ERROR_TYPE]: check.error?.code ?? 'BATON_ENVELOPE_INVALID',
  });
  const more = check.issueCount > 1 ? ` (and ${check.issueCount - 1} more)` : '';
  const message = `envelope ${source} → ${target} invalid at ${side}: ${path} ${first?.message ?? ''}${more}`;
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  rt.policy.stats.validationFailures++;
  rt.instruments.validationFailures.add(1, side === 'send' ? edge.sendAttributes : edge.receiveAttributes);
  rt.policy.reporter.report(`invalid ${side} ${schema.id}@${schema.version} ${path} ${keyword}`, message);
}

/**
 * Records sent_at → receive on the latency histogram. A negative latency means the
 * receiver's clock is behind the sender's: a histogram cannot take it, so it is
 * recorded as 0, counted as a clock-skew sample and flagged on the receive span.
 */
function recordLatency(
  rt: SdkRuntime,
  span: Span,
  sentAtMs: number,
  source: string,
  target: string,
  receivedAtMs: number,
  edge: MetricEdge,
): void {
  if (Number.isNaN(sentAtMs)) return;
  const latencyMs = receivedAtMs - sentAtMs;
  rt.instruments.handoffLatency.record(Math.max(0, latencyMs) / 1000, edge.attributes);
  if (latencyMs >= 0) return;
  span.setAttribute(BATON_CLOCK_SKEW_SUSPECTED, true);
  rt.instruments.clockSkewSamples.add(1, edge.attributes);
  rt.policy.reporter.report(
    `clock-skew ${source} ${target}`,
    `handoff ${source} → ${target} received ${(-latencyMs).toFixed(3)} ms before its sent_at: clock skew; latency recorded as 0`,
  );
}

/**
 * Records an acknowledgement on `span`: its signed delay since sent_at and whether
 * it kept the budget. The receive came after the send whatever the clocks say, so
 * the ack took at least `ackAtMs − receivedAtMs`: the budget is judged on the
 * larger of that and the delay, and a receiver clock behind the sender's (a
 * negative delay, kept as measured) never makes a late ack on time.
 */
function recordAck(
  rt: SdkRuntime,
  span: Span,
  block: Partial<HandoffBlock> | undefined,
  sentAtMs: number,
  source: string,
  target: string,
  receivedAtMs: number,
  ackAtMs: number,
  edge: MetricEdge,
): void {
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
    rt.policy.stats.ackTimeouts++;
    rt.instruments.ackTimeouts.add(1, edge.attributes);
    rt.policy.reporter.report(
      `ack-timeout ${source} ${target}`,
      `handoff ${source} → ${target} acknowledged after ${tookAtLeastMs.toFixed(3)} ms, over its ${budget} ms budget`,
    );
  }
}

/** The `handoff ack` span of a manual acknowledgement. Never throws in warn mode. */
function manualAck(
  rt: SdkRuntime,
  ctx: Context,
  block: Partial<HandoffBlock> | undefined,
  source: string,
  target: string,
  receivedAtMs: number,
  sentAtMs: number,
): void {
  let span: Span | undefined;
  let fault: unknown = NO_FAULT;
  try {
    // A child of its receive span, which has the edge, task and budget: the ack names only its handoff (conventions 2).
    const attrs: SpanAttributes = {
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: BatonOperation.HandoffAck,
    };
    const id = boundedString(block?.id);
    if (id !== undefined) attrs[BATON_HANDOFF_ID] = id;
    const ackAtMs = nowMs();
    span = startSpan(rt, `handoff ack ${source}`, SpanKind.INTERNAL, attrs, ackAtMs, ctx);
    recordAck(rt, span, block, sentAtMs, source, target, receivedAtMs, ackAtMs, rt.instruments.edge(source, target));
  } catch (error) {
    fault = error;
    rt.policy.fault('ack', error, span, false);
  }
  const endFault = endSpan(rt, span, 'ack', true);
  if (rt.mode === 'strict') {
    if (fault !== NO_FAULT) throw toBatonError('ack', fault);
    if (endFault) throw endFault;
  }
}
