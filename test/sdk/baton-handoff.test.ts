/**
 * Baton.send / Baton.receive through the real OTel SDK: spans and attributes,
 * trace context across a simulated process boundary (the envelope serialized to
 * JSON and received under ROOT_CONTEXT), validation outcomes, budgets and acks,
 * and the metrics a host's Prometheus would see. Where a test sets the time it
 * fakes Date and performance together: span times come from both (src/sdk/clock.ts).
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type HrTime } from '@opentelemetry/api';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BATON_ACK_DELAY_MS,
  BATON_ACK_WITHIN_BUDGET,
  BATON_ATTEMPT,
  BATON_CLOCK_SKEW_SUSPECTED,
  BATON_CONTEXT_DECISIONS_COUNT,
  BATON_CONTEXT_MISSING_FIELDS,
  BATON_CONVENTIONS_VERSION,
  BATON_ENVELOPE_SCHEMA_VERSION,
  BATON_ENVELOPE_SENDER_SCHEMA_VERSION,
  BATON_ENVELOPE_SIZE_BYTES,
  BATON_HANDOFF_ID,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_TASK_ID,
  BATON_TIMEOUT_BUDGET_MS,
  BATON_VALIDATION_ERROR_KEYWORD,
  BATON_VALIDATION_ERROR_PATH,
  BATON_VALIDATION_RESULT,
  BatonOperation,
  CONVENTIONS_VERSION,
  GEN_AI_AGENT_NAME,
  METRIC_ACK_TIMEOUTS,
  METRIC_CLOCK_SKEW_SAMPLES,
  METRIC_HANDOFF_LATENCY,
  METRIC_HANDOFFS,
  METRIC_VALIDATION_FAILURES,
} from '../../src/model/attributes.js';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SchemaRegistry } from '../../src/schemas/validators.js';
import { Baton } from '../../src/sdk/baton.js';
import { draft } from '../helpers/envelopes.js';
import { createOtelHarness, onlySpan, type OtelHarness } from '../helpers/otel.js';

let otel: OtelHarness;
let baton: Baton;

beforeEach(() => {
  otel = createOtelHarness();
  baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
});
afterEach(async () => {
  vi.useRealTimers();
  await otel.shutdown();
});

/** Every attribute of a valid send span with a budget, attempt and idempotency key, sorted (conventions 2). */
const SEND_ATTRIBUTES = [
  'baton.attempt',
  'baton.context.constraints_count',
  'baton.context.decisions_count',
  'baton.context.missing_fields',
  'baton.context.size_bytes',
  'baton.context.token_count',
  'baton.conventions.version',
  'baton.envelope.schema_id',
  'baton.envelope.schema_version',
  'baton.envelope.size_bytes',
  'baton.handoff.id',
  'baton.handoff.source_agent',
  'baton.handoff.status',
  'baton.handoff.target_agent',
  'baton.idempotency_key',
  'baton.operation',
  'baton.task.id',
  'baton.timeout_budget_ms',
  'baton.validation.duration_ms',
  'baton.validation.result',
  'gen_ai.request.model',
];

/** Every attribute of a valid receive span with auto ack of an envelope without a budget or epoch, sorted (conventions 2). */
const RECEIVE_ATTRIBUTES = [
  'baton.ack.delay_ms',
  'baton.conventions.version',
  'baton.envelope.schema_id',
  'baton.envelope.schema_version',
  'baton.envelope.sender_schema_version',
  'baton.handoff.id',
  'baton.handoff.source_agent',
  'baton.handoff.target_agent',
  'baton.operation',
  'baton.task.id',
  'baton.validation.duration_ms',
  'baton.validation.result',
  'gen_ai.agent.name',
];

/** Sends inside the sender's agent run and returns what would go on the wire. */
function sendOverWire(envelope = draft(), options: Parameters<Baton['send']>[1] = {}, sender = baton): string {
  return sender.runAgent('research', () => JSON.stringify(sender.send(envelope, options)), { taskId: 'task-1' });
}

/** Fakes the SDK's clock (Date and performance) at `iso`; advance it with vi.advanceTimersByTime. */
function fakeClock(iso: string): void {
  vi.useFakeTimers({ toFake: ['Date', 'performance'], now: Date.parse(iso) });
}

/** The wire envelope with its sent_at moved `aheadMs` into the future: a sender whose clock is ahead. */
function sentAhead(wire: string, aheadMs: number): string {
  const envelope = JSON.parse(wire) as { handoff: { sent_at: string } };
  envelope.handoff.sent_at = new Date(Date.parse(envelope.handoff.sent_at) + aheadMs).toISOString();
  return JSON.stringify(envelope);
}

/** An OTel HrTime in nanoseconds, exact. */
function nanos([seconds, nanoseconds]: HrTime): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
}

describe('Baton.send', () => {
  it('opens a PRODUCER span named after the target with the edge, task, ids and the conventions version', () => {
    const sent = baton.send(draft(), { timeoutBudgetMs: 5000, attempt: 2, idempotencyKey: 'k-1' });
    const span = onlySpan(otel.spans(), BatonOperation.HandoffSend);
    expect(span.name).toBe('handoff send analysis');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.attributes).toMatchObject({
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: BatonOperation.HandoffSend,
      [BATON_HANDOFF_SOURCE_AGENT]: 'research',
      [BATON_HANDOFF_TARGET_AGENT]: 'analysis',
      [BATON_TASK_ID]: 'task-1',
      [BATON_HANDOFF_ID]: sent.handoff.id,
      [BATON_ATTEMPT]: 2,
      [BATON_IDEMPOTENCY_KEY]: 'k-1',
      [BATON_TIMEOUT_BUDGET_MS]: 5000,
      [BATON_ENVELOPE_SCHEMA_VERSION]: '1',
      [BATON_VALIDATION_RESULT]: 'valid',
      [BATON_CONTEXT_DECISIONS_COUNT]: 1,
      [BATON_CONTEXT_MISSING_FIELDS]: [],
    });
    expect(span.attributes[BATON_ENVELOPE_SIZE_BYTES]).toBe(Buffer.byteLength(JSON.stringify(sent)));
    // Conventions 2: nothing another attribute or the span itself says (gen_ai.agent.name = the source, sent_at = the start).
    expect(Object.keys(span.attributes).sort()).toEqual(SEND_ATTRIBUTES);
  });

  it("records the size of exactly what it returns, whatever ids, keys, numbers and prior block the host gives", () => {
    // Ids, keys and numbers as a host may pass them (escapes, non-ASCII, lone surrogates, floats, nothing), with
    // and without a prior block to resend: the block send builds from nothing is sized knowing what it wrote.
    const text = fc.option(fc.string({ unit: 'binary', maxLength: 12 }), { nil: undefined });
    const number = fc.option(fc.oneof(fc.integer(), fc.double({ noNaN: true })), { nil: undefined });
    const prior = fc.option(fc.record({ id: fc.string({ unit: 'binary', maxLength: 8 }), note: text }, { requiredKeys: ['id'] }), { nil: undefined });
    fc.assert(
      fc.property(text, text, number, number, number, number, prior, (handoffId, idempotencyKey, epoch, stateVersion, timeoutBudgetMs, attempt, handoff) => {
        otel.exporter.reset();
        const options = { handoffId, idempotencyKey, epoch, stateVersion, timeoutBudgetMs, attempt };
        const sent = baton.send(handoff ? { ...draft(), handoff } : draft(), options as never);
        const span = onlySpan(otel.spans(), BatonOperation.HandoffSend);
        expect(span.attributes[BATON_ENVELOPE_SIZE_BYTES]).toBe(Buffer.byteLength(JSON.stringify(sent)));
      }),
      { numRuns: 300 },
    );
  });

  it('fills the handoff block with W3C trace context of the send span and leaves the input untouched', () => {
    const input = draft();
    const before = structuredClone(input);
    const sent = baton.send(input, { timeoutBudgetMs: 100 });
    expect(input).toEqual(before);
    const span = onlySpan(otel.spans(), BatonOperation.HandoffSend);
    const { traceId, spanId } = span.spanContext();
    expect(sent.handoff.trace_context?.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(sent.handoff).toMatchObject({ schema_version: '1', attempt: 1, timeout_budget_ms: 100 });
    expect(Date.parse(sent.handoff.sent_at!)).not.toBeNaN();
  });

  it('records a failing envelope with the JSON pointer and keyword, and still returns it in warn mode', () => {
    const bad = draft({ output: { summary: 'x', artifacts: [], confidence: 7 } });
    const sent = baton.send(bad);
    expect(sent.output.confidence).toBe(7);
    const span = onlySpan(otel.spans(), BatonOperation.HandoffSend);
    expect(span.attributes).toMatchObject({
      [BATON_VALIDATION_RESULT]: 'invalid',
      [BATON_VALIDATION_ERROR_PATH]: '/output/confidence',
      [BATON_VALIDATION_ERROR_KEYWORD]: 'maximum',
    });
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(baton.stats().validationFailures).toBe(1);
  });

  it('records that decisions_made was dropped', () => {
    const envelope = draft();
    const { decisions_made: _dropped, ...rest } = envelope.context;
    baton.send({ ...envelope, context: rest });
    expect(onlySpan(otel.spans(), BatonOperation.HandoffSend).attributes[BATON_CONTEXT_MISSING_FIELDS]).toEqual(['decisions_made']);
  });
});

describe('Baton.receive', () => {
  it('across a process boundary with no active span: a child of the send span, one trace', () => {
    const wire = sendOverWire();
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(wire));
    expect(rx.valid).toBe(true);
    const send = onlySpan(otel.spans(), BatonOperation.HandoffSend);
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.name).toBe('handoff receive research');
    expect(receive.kind).toBe(SpanKind.CONSUMER);
    expect(receive.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(receive.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(receive.links).toEqual([]);
    expect(receive.attributes).toMatchObject({
      [BATON_HANDOFF_SOURCE_AGENT]: 'research',
      [BATON_HANDOFF_TARGET_AGENT]: 'analysis',
      [GEN_AI_AGENT_NAME]: 'analysis',
      [BATON_TASK_ID]: 'task-1',
      [BATON_HANDOFF_ID]: send.attributes[BATON_HANDOFF_ID],
      [BATON_ENVELOPE_SCHEMA_VERSION]: '1',
      [BATON_ENVELOPE_SENDER_SCHEMA_VERSION]: '1',
      [BATON_VALIDATION_RESULT]: 'valid',
    });
    // Conventions 2: what the receiver alone knows and what pairs it with its send; the envelope's facts are the send's.
    expect(Object.keys(receive.attributes).sort()).toEqual(RECEIVE_ATTRIBUTES);
  });

  it('inside the receiver own agent run: a child of that run, with a span link to the send', () => {
    const wire = sendOverWire();
    context.with(ROOT_CONTEXT, () => baton.runAgent('analysis', () => baton.receive(wire)));
    const send = onlySpan(otel.spans(), BatonOperation.HandoffSend);
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    const run = otel.spans().find((s) => s.name === 'invoke_agent analysis')!;
    expect(receive.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    expect(receive.spanContext().traceId).not.toBe(send.spanContext().traceId);
    expect(receive.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
  });

  it.each([
    ['parent', true],
    ['link', false],
  ] as const)('parenting %s forces the relation', (parenting, parented) => {
    const wire = sendOverWire();
    context.with(ROOT_CONTEXT, () => baton.runAgent('analysis', () => baton.receive(wire, { parenting })));
    const send = onlySpan(otel.spans(), BatonOperation.HandoffSend);
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.parentSpanContext?.spanId === send.spanContext().spanId).toBe(parented);
    expect(receive.links.length).toBe(parented ? 0 : 1);
  });

  it('runs the receiver work under the receive span', () => {
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(sendOverWire()));
    rx.run(() => baton.runAgent('analysis', () => 1));
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    const run = otel.spans().find((s) => s.name === 'invoke_agent analysis')!;
    expect(run.parentSpanContext?.spanId).toBe(receive.spanContext().spanId);
  });

  it('records schema drift: a v2 envelope received by a v1 receiver fails at the field v1 does not know, with both versions on the span', () => {
    const v2 = { ...draft(), output: { ...draft().output, reasoning_trace: 'because' } };
    const wire = sendOverWire(v2 as never, { schema: 'baton.handoff-envelope@2' });
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(wire));
    expect(rx.valid).toBe(false);
    expect(rx.issues[0]).toEqual({
      instancePath: '/output/reasoning_trace',
      keyword: 'additionalProperties',
      message: 'is not allowed (must NOT have additional properties)',
    });
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.attributes).toMatchObject({
      [BATON_ENVELOPE_SCHEMA_VERSION]: '1',
      [BATON_ENVELOPE_SENDER_SCHEMA_VERSION]: '2',
      [BATON_VALIDATION_RESULT]: 'invalid',
      [BATON_VALIDATION_ERROR_PATH]: '/output/reasoning_trace',
    });
  });

  it('names a property that is not allowed only when its name looks like a field: a key that is data (an email) stays unnamed', () => {
    const schemas = new SchemaRegistry();
    schemas.register('acme.map', '1', {
      type: 'object',
      properties: { task_id: { type: 'string' }, source_agent: { type: 'string' }, target_agent: { type: 'string' }, owners: { type: 'object', additionalProperties: false } },
    });
    const mapBaton = new Baton({ tracer: otel.tracer, meter: otel.meter, schemas });
    const rx = context.with(ROOT_CONTEXT, () =>
      mapBaton.receive({ task_id: 't', source_agent: 'a', target_agent: 'b', owners: { 'jane.doe@example.com': 1 } }, { schema: 'acme.map@1' }),
    );
    expect(rx.issues).toEqual([{ instancePath: '/owners', keyword: 'additionalProperties', message: 'must NOT have additional properties' }]);
    expect(JSON.stringify(otel.spans().map((s) => s.attributes))).not.toContain('jane.doe');
  });

  it('auto ack: the receive records its delay since sent_at, to the millisecond the receiver waited, and that it kept the budget', () => {
    fakeClock('2026-11-25T10:00:00Z');
    const wire = sendOverWire(draft(), { timeoutBudgetMs: 60_000 });
    vi.advanceTimersByTime(1234);
    context.with(ROOT_CONTEXT, () => baton.receive(wire));
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.attributes[BATON_ACK_DELAY_MS]).toBe(1234);
    expect(receive.attributes[BATON_ACK_WITHIN_BUDGET]).toBe(true);
  });

  it('auto ack with no wait at all: a delay of exactly 0, not a clamped negative', () => {
    fakeClock('2026-11-25T10:00:00Z');
    context.with(ROOT_CONTEXT, () => baton.receive(sendOverWire(draft(), { timeoutBudgetMs: 60_000 })));
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.attributes[BATON_ACK_DELAY_MS]).toBe(0);
    expect(receive.attributes[BATON_CLOCK_SKEW_SUSPECTED]).toBeUndefined();
  });

  it('manual ack past the budget: an ack span marks it late, counts it, and only the first ack counts', () => {
    fakeClock('2026-11-25T10:00:00Z');
    const wire = sendOverWire(draft(), { timeoutBudgetMs: 1000 });
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(wire, { ack: 'manual' }));
    expect(onlySpan(otel.spans(), BatonOperation.HandoffReceive).attributes[BATON_ACK_DELAY_MS]).toBeUndefined();
    vi.advanceTimersByTime(2500);
    rx.ack();
    rx.ack();
    const ack = onlySpan(otel.spans(), BatonOperation.HandoffAck);
    expect(ack.parentSpanContext?.spanId).toBe(onlySpan(otel.spans(), BatonOperation.HandoffReceive).spanContext().spanId);
    // The edge, task and budget are on its parent, the receive span: the ack names only its handoff (conventions 2).
    expect(ack.attributes).toEqual({
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: BatonOperation.HandoffAck,
      [BATON_HANDOFF_ID]: JSON.parse(wire).handoff.id,
      [BATON_ACK_DELAY_MS]: 2500,
      [BATON_ACK_WITHIN_BUDGET]: false,
    });
    expect(ack.attributes[BATON_CLOCK_SKEW_SUSPECTED]).toBeUndefined();
    expect(baton.stats().ackTimeouts).toBe(1);
  });

  it('ack and run destructured from the received handoff work as method calls do (once, in the handoff context)', () => {
    fakeClock('2026-11-25T10:00:00Z');
    const wire = sendOverWire(draft(), { timeoutBudgetMs: 1000 });
    const { ack, run, envelope } = context.with(ROOT_CONTEXT, () => baton.receive(wire, { ack: 'manual' }));
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    // run puts the handoff's context (the receive span) around the app's function, and returns its value.
    const insideTraceId = context.with(ROOT_CONTEXT, () => run(() => trace.getActiveSpan()?.spanContext().traceId));
    expect(insideTraceId).toBe(receive.spanContext().traceId);
    expect(run(() => 42)).toBe(42);
    vi.advanceTimersByTime(300);
    expect(() => ack()).not.toThrow();
    ack();
    expect(otel.spans().filter((s) => s.attributes[BATON_OPERATION] === BatonOperation.HandoffAck)).toHaveLength(1);
    expect(onlySpan(otel.spans(), BatonOperation.HandoffAck).attributes[BATON_ACK_DELAY_MS]).toBe(300);
    expect(envelope).toMatchObject({ handoff: { id: JSON.parse(wire).handoff.id } });
  });

  it('a receiver clock behind the sender: the auto-ack delay keeps its negative sign and the span says skew', () => {
    fakeClock('2026-11-25T10:00:00Z');
    const wire = sentAhead(sendOverWire(draft(), { timeoutBudgetMs: 5000 }), 60_000);
    vi.advanceTimersByTime(20);
    context.with(ROOT_CONTEXT, () => baton.receive(wire));
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.attributes).toMatchObject({
      [BATON_ACK_DELAY_MS]: -59_980,
      [BATON_CLOCK_SKEW_SUSPECTED]: true,
      [BATON_ACK_WITHIN_BUDGET]: true,
    });
  });

  it('a late manual ack stays late under skew: the budget is judged on the time the receiver saw pass', () => {
    fakeClock('2026-11-25T10:00:00Z');
    const wire = sentAhead(sendOverWire(draft(), { timeoutBudgetMs: 1000 }), 60_000);
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(wire, { ack: 'manual' }));
    vi.advanceTimersByTime(2500);
    rx.ack();
    const ack = onlySpan(otel.spans(), BatonOperation.HandoffAck);
    expect(ack.attributes).toMatchObject({
      [BATON_ACK_DELAY_MS]: -57_500,
      [BATON_CLOCK_SKEW_SUSPECTED]: true,
      [BATON_ACK_WITHIN_BUDGET]: false,
    });
    expect(baton.stats().ackTimeouts).toBe(1);
  });

  it.each([
    ['text that is not JSON', '{"task_id": "t-1",', '{"task_id": "t-1",'],
    ['JSON null', 'null', null],
    ['a JSON number', '42', 42],
    ['nothing', undefined, undefined],
  ])('an invalid receive of %s leaves valid false and envelope what arrived, never an envelope', (_name, body, envelope) => {
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(body as string));
    expect(rx.valid).toBe(false);
    expect(rx.envelope).toEqual(envelope);
    expect(rx.issues.length).toBeGreaterThan(0);
  });

  it('a never-acknowledged handoff leaves a receive with no ack delay and no ack span', () => {
    context.with(ROOT_CONTEXT, () => baton.receive(sendOverWire(draft(), { timeoutBudgetMs: 1000 }), { ack: 'manual' }));
    expect(otel.spans().filter((s) => s.attributes[BATON_OPERATION] === BatonOperation.HandoffAck)).toEqual([]);
    const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
    expect(receive.attributes[BATON_TIMEOUT_BUDGET_MS]).toBe(1000);
    expect(receive.attributes[BATON_ACK_WITHIN_BUDGET]).toBeUndefined();
  });
});

describe('metrics', () => {
  interface Point {
    readonly attributes: Record<string, unknown>;
    readonly value: unknown;
  }
  function points(resourceMetrics: Awaited<ReturnType<OtelHarness['collectMetrics']>>, name: string): Point[] {
    return resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as readonly Point[]);
  }

  it('a latency histogram per source → target edge and counters of handoffs, failures and timeouts', async () => {
    fakeClock('2026-11-25T10:00:00Z');
    const wire = sendOverWire(draft(), { timeoutBudgetMs: 100 });
    vi.advanceTimersByTime(250);
    context.with(ROOT_CONTEXT, () => baton.receive(wire));
    baton.send(draft({ output: { summary: '', artifacts: [], confidence: -1 } }));
    const collected = await otel.collectMetrics();
    const latency = points(collected, METRIC_HANDOFF_LATENCY);
    expect(latency).toHaveLength(1);
    expect(latency[0]!.attributes).toEqual({ [BATON_HANDOFF_SOURCE_AGENT]: 'research', [BATON_HANDOFF_TARGET_AGENT]: 'analysis' });
    expect((latency[0]!.value as { sum: number; count: number }).sum).toBeCloseTo(0.25, 6);
    const handoffs = points(collected, METRIC_HANDOFFS).reduce((n, p) => n + (p.value as number), 0);
    expect(handoffs).toBe(3);
    expect(points(collected, METRIC_VALIDATION_FAILURES).reduce((n, p) => n + (p.value as number), 0)).toBe(1);
    expect(points(collected, METRIC_ACK_TIMEOUTS).reduce((n, p) => n + (p.value as number), 0)).toBe(1);
    expect(points(collected, METRIC_CLOCK_SKEW_SAMPLES)).toEqual([]);
  });

  it('a negative latency (clock skew) is recorded as 0 in the histogram and counted per edge as a skew sample', async () => {
    fakeClock('2026-11-25T10:00:00Z');
    const wire = sendOverWire(draft(), { timeoutBudgetMs: 100 });
    vi.advanceTimersByTime(250);
    context.with(ROOT_CONTEXT, () => baton.receive(sentAhead(wire, 1000)));
    context.with(ROOT_CONTEXT, () => baton.receive(wire));
    const collected = await otel.collectMetrics();
    const edge = { [BATON_HANDOFF_SOURCE_AGENT]: 'research', [BATON_HANDOFF_TARGET_AGENT]: 'analysis' };
    const latency = points(collected, METRIC_HANDOFF_LATENCY);
    expect(latency.map((p) => p.attributes)).toEqual([edge]);
    expect(latency[0]!.value).toMatchObject({ count: 2, min: 0, max: 0.25 });
    const skew = points(collected, METRIC_CLOCK_SKEW_SAMPLES);
    expect(skew.map((p) => [p.attributes, p.value])).toEqual([[edge, 1]]);
  });
});

describe('span times', () => {
  it('are sub-millisecond: the starts of spans of every operation are not all whole milliseconds', async () => {
    for (let i = 0; i < 50; i++) {
      const wire = sendOverWire(draft(), { timeoutBudgetMs: 60_000 });
      context.with(ROOT_CONTEXT, () => baton.receive(wire, { ack: 'manual' })).ack();
      baton.consume(baton.publish({ topic: 't' }), () => undefined);
      await baton.traceStateWrite({ key: 'k' }, async () => ({ version: i + 1 }));
      await baton.traceStateRead({ key: 'k' }, async () => ({ version: i + 1 }));
    }
    const byOperation = new Map<string, ReadableSpan[]>();
    for (const span of otel.spans()) {
      const operation = String(span.attributes[BATON_OPERATION]);
      byOperation.set(operation, [...(byOperation.get(operation) ?? []), span]);
    }
    expect([...byOperation.keys()].sort()).toEqual(Object.values(BatonOperation).sort());
    for (const [operation, spans] of byOperation) {
      const fractional = spans.filter((s) => s.startTime[1] % 1_000_000 !== 0);
      expect(fractional.length, operation).toBeGreaterThan(0);
      for (const s of spans) expect(nanos(s.endTime) >= nanos(s.startTime), operation).toBe(true);
    }
  });

  it('a receive right after its send starts strictly after the send started and ended', () => {
    for (let i = 0; i < 20; i++) {
      otel.reset();
      const wire = JSON.stringify(baton.send(draft()));
      context.with(ROOT_CONTEXT, () => baton.receive(wire));
      const send = onlySpan(otel.spans(), BatonOperation.HandoffSend);
      const receive = onlySpan(otel.spans(), BatonOperation.HandoffReceive);
      expect(nanos(receive.startTime) > nanos(send.startTime)).toBe(true);
      expect(nanos(receive.startTime) >= nanos(send.endTime)).toBe(true);
    }
  });
});

