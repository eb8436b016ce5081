/**
 * The handoff itself: send (fill in and validate the envelope, inject trace
 * context), receive (extract it, validate against the receiver's version,
 * measure latency) and the acknowledgement against the budget.
 */
import {
  context as contextApi,
  diag,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
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
  BATON_HANDOFF_SENT_AT,
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
import { type HandoffBlock } from '../model/envelope.js';
import {
  BatonError,
  EnvelopeInvalidError,
  EnvelopeTooLargeError,
  SchemaUnknownError,
  type SchemaIssue,
} from '../model/errors.js';
import { parseSchemaRef } from '../schemas/validators.js';
import { nowMs } from './clock.js';
import { addContextFacts, isPlainObject, truncateBody, utf8Length } from './envelope-facts.js';
import { METRIC_SIDE, METRIC_SOURCE_AGENT, METRIC_TARGET_AGENT } from './metrics.js';
import type { ReceiveOptions, ReceivedHandoff, SendOptions } from './options.js';
import { activeTracer, newId, receiveParent, type SdkRuntime, type SpanAttributes } from './runtime.js';
import { extractSpanContext, injectTraceContext } from './trace-context.js';

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

interface EnvelopeCheck {
  valid: boolean;
  issues: readonly SchemaIssue[];
  /** Set when validation could not run (unknown schema): then valid is false and this is the reason. */
  error?: BatonError;
}

/**
 * Sends a handoff: opens a `handoff send <target>` span, fills in the envelope's
 * handoff block (id, attempt, schema version, budget, W3C trace context), validates
 * the finished envelope and records the outcome. Returns a new envelope; the input
 * is not modified. In warn mode an invalid envelope is still returned.
 */
export function sendHandoff<E extends object>(
  rt: SdkRuntime,
  envelope: E,
  options: SendOptions = {},
): E & { handoff: HandoffBlock } {
  const schema = options.schema ? parseSchemaRef(options.schema) : rt.schema;
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
    span = activeTracer(rt).startSpan(`handoff send ${target}`, {
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
      const carrier = injectTraceContext(trace.setSpan(contextApi.active(), span), rt.propagation);
      if (carrier) block.trace_context = carrier;
      else delete block.trace_context;
      out = { ...envelope, handoff: block };
      const sizeBytes = describeEnvelope(rt, span, out as Record<string, unknown>, block);
      check = checkEnvelope(rt, span, schema, out, sizeBytes);
    }
    recordCheck(rt, span, 'send', source, target, check);
    rt.policy.stats.handoffsSent++;
    rt.instruments.handoffs.add(1, {
      [METRIC_SIDE]: 'send',
      [METRIC_SOURCE_AGENT]: source,
      [METRIC_TARGET_AGENT]: target,
    });
    if (!check.valid) failure = check.error ?? invalidError(schema, 'send', check.issues);
  } catch (error) {
    rt.policy.fault('send', error, span);
  } finally {
    span?.end(nowMs());
  }
  if (failure && rt.policy.mode === 'strict') throw failure;
  return out;
}

/**
 * Receives a handoff: extracts the sender's trace context from the envelope,
 * opens a `handoff receive <source>` span parented or linked to the send span,
 * validates against the receiver's schema version and records both sides'
 * versions, and (unless `ack: 'manual'`) acknowledges against the budget.
 * Accepts the envelope as an object or as the JSON text that crossed the wire.
 */
export function receiveHandoff<E = Record<string, unknown>>(
  rt: SdkRuntime,
  input: unknown,
  options: ReceiveOptions = {},
): ReceivedHandoff<E> {
  const schema = options.schema ? parseSchemaRef(options.schema) : rt.schema;
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
    const remote = extractSpanContext(block?.trace_context, rt.propagation);
    const { parent, links } = receiveParent(remote, options.parenting ?? rt.parenting);
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
    span = activeTracer(rt).startSpan(
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
      const sizeBytes = describeEnvelope(rt, span, env, block, wireBytes);
      check = checkEnvelope(rt, span, schema, env, sizeBytes);
      recordLatency(rt, span, block, source, target, receivedAtMs);
    }
    recordCheck(rt, span, 'receive', source, target, check);
    if (options.ack !== 'manual') {
      recordAck(rt, span, block, source, target, receivedAtMs, receivedAtMs);
      acked = true;
    }
    rt.policy.stats.handoffsReceived++;
    rt.instruments.handoffs.add(1, {
      [METRIC_SIDE]: 'receive',
      [METRIC_SOURCE_AGENT]: source,
      [METRIC_TARGET_AGENT]: target,
    });
    if (!check.valid) failure = check.error ?? invalidError(schema, 'receive', check.issues);
  } catch (error) {
    rt.policy.fault('receive', error, span);
  } finally {
    span?.end(nowMs());
  }
  if (failure && rt.policy.mode === 'strict') throw failure;
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
      manualAck(rt, receiveCtx, block, source, target, receivedAtMs);
    },
  };
  return received;
}

/** Records task, ids, retry facts, sizes and context facts of an envelope on its span. */
export function describeEnvelope(
  rt: SdkRuntime,
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
  if (rt.recordPayloads) {
    span.setAttribute(BATON_ENVELOPE_BODY, truncateBody(json ?? JSON.stringify(env), rt.maxRecordedPayloadBytes));
  }
  return sizeBytes;
}

/** Validates against id@version and the size limit, timing the schema check. */
export function checkEnvelope(
  rt: SdkRuntime,
  span: Span,
  schema: { id: string; version: string },
  envelope: object,
  sizeBytes: number,
): EnvelopeCheck {
  if (!rt.schemas.has(schema.id, schema.version)) {
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
  if (sizeBytes > rt.maxEnvelopeBytes) {
    return {
      valid: false,
      issues: [{ instancePath: '', keyword: 'maxEnvelopeBytes', message: `is ${sizeBytes} bytes, over ${rt.maxEnvelopeBytes}` }],
      error: new EnvelopeTooLargeError(sizeBytes, rt.maxEnvelopeBytes),
    };
  }
  const started = performance.now();
  const result = rt.schemas.validate(schema.id, schema.version, envelope);
  span.setAttribute(BATON_VALIDATION_DURATION_MS, performance.now() - started);
  return result;
}

export function invalidError(
  schema: { id: string; version: string },
  side: 'send' | 'receive',
  issues: readonly SchemaIssue[],
): BatonError {
  return new EnvelopeInvalidError(schema.id, schema.version, side, issues);
}

/** Records a validation outcome (and the size limit) on the span, in counters and through diag. */
export function recordCheck(
  rt: SdkRuntime,
  span: Span,
  side: 'send' | 'receive',
  source: string,
  target: string,
  check: EnvelopeCheck,
): void {
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
  rt.policy.stats.validationFailures++;
  rt.instruments.validationFailures.add(1, {
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
export function recordLatency(
  rt: SdkRuntime,
  span: Span,
  block: Partial<HandoffBlock> | undefined,
  source: string,
  target: string,
  receivedAtMs: number,
): void {
  const sentAtMs = sentAtMsOf(block);
  if (Number.isNaN(sentAtMs)) return;
  const latencyMs = receivedAtMs - sentAtMs;
  const edge = { [METRIC_SOURCE_AGENT]: source, [METRIC_TARGET_AGENT]: target };
  rt.instruments.handoffLatency.record(Math.max(0, latencyMs) / 1000, edge);
  if (latencyMs >= 0) return;
  span.setAttribute(BATON_CLOCK_SKEW_SUSPECTED, true);
  rt.instruments.clockSkewSamples.add(1, edge);
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
export function recordAck(
  rt: SdkRuntime,
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
    rt.policy.stats.ackTimeouts++;
    rt.instruments.ackTimeouts.add(1, { [METRIC_SOURCE_AGENT]: source, [METRIC_TARGET_AGENT]: target });
    diag.warn(
      `baton: handoff ${source} → ${target} acknowledged after ${tookAtLeastMs.toFixed(3)} ms, over its ${budget} ms budget`,
    );
  }
}

export function manualAck(
  rt: SdkRuntime,
  ctx: Context,
  block: Partial<HandoffBlock> | undefined,
  source: string,
  target: string,
  receivedAtMs: number,
): void {
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
    span = activeTracer(rt).startSpan(
      `handoff ack ${source}`,
      { kind: SpanKind.INTERNAL, attributes: attrs, startTime: ackAtMs },
      ctx,
    );
    recordAck(rt, span, block, source, target, receivedAtMs, ackAtMs);
  } catch (error) {
    rt.policy.fault('ack', error, span);
  } finally {
    span?.end(nowMs());
  }
}
