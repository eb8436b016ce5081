/**
 * The Auditor as a live view drives it: `advance(now)` closes idle groups by a
 * clock and settles what time decides ("never acknowledged" once the budget
 * passes, not at the end), each closed group's results are pushed, `snapshot()`
 * copies and closes nothing, caps are said in the report, and hostile trace
 * structure (parent cycles, built-in names) neither hangs nor crashes.
 * Traces come from the real Baton SDK over the real OTel SDK.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { Auditor, type AuditUpdate } from '../../../src/analyze/audit.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.shutdown()));
});

function sdk(): { baton: Baton; harness: OtelHarness } {
  const harness = createOtelHarness();
  harnesses.push(harness);
  return { baton: new Baton({ tracer: harness.tracer, meter: harness.meter }), harness };
}

const envelope = (source: string, target: string) => ({
  task_id: 't-1',
  source_agent: source,
  target_agent: target,
  status: 'complete',
  output: { summary: 'done', artifacts: [] },
  context: { original_goal: 'g', constraints: ['c'], decisions_made: ['d'] },
  metadata: { started_at: new Date().toISOString(), token_count: 10, model: 'm' },
});

/** A planner that hands off with a budget; the coder's receive and manual ack are left to the caller. */
function sentHandoff(budgetMs: number): { spans: SpanRecord[]; sentAtMs: number; wire: string; harness: OtelHarness; baton: Baton } {
  const { baton, harness } = sdk();
  const sent = context.with(ROOT_CONTEXT, () => baton.runAgent('planner', () => baton.send(envelope('planner', 'coder'), { timeoutBudgetMs: budgetMs }), { taskId: 't-1' }));
  const spans = toSpanRecords(harness.spans());
  return { spans, sentAtMs: Math.min(...spans.map((s) => s.startMs)), wire: JSON.stringify(sent), harness, baton };
}

describe('Auditor.advance', () => {
  it('reports "never acknowledged" while streaming, as soon as one budget past the deadline has passed by the clock', () => {
    const { spans, sentAtMs } = sentHandoff(1_000);
    const updates: AuditUpdate[] = [];
    const auditor = new Auditor({ idleMs: 100, onUpdate: (u) => updates.push(u) });
    auditor.addSpans(spans);
    auditor.advance(sentAtMs + 500);
    expect(updates.filter((u) => u.kind === 'group')).toHaveLength(1); // idle for 100 ms: closed and pushed
    expect(updates.some((u) => u.kind === 'findings')).toBe(false); // within budget: nothing yet
    expect(auditor.snapshot().findings).toEqual([]);
    // Past the deadline, within the retry's grace (one more budget): a retry in another trace could still settle it.
    auditor.advance(sentAtMs + 1_200);
    expect(updates.some((u) => u.kind === 'findings')).toBe(false);
    auditor.advance(sentAtMs + 2_200);
    const pushed = updates.filter((u): u is Extract<AuditUpdate, { kind: 'findings' }> => u.kind === 'findings');
    expect(pushed.flatMap((u) => u.findings.map((f) => f.message))).toEqual(['coder never acknowledged the handoff from planner within its 1000 ms budget']);
    const snapshot = auditor.snapshot();
    expect(snapshot.findings.map((f) => f.ruleId)).toEqual(['ack-timeout']);
    expect(snapshot.edges.find((e) => e.source === 'planner')!.failures).toBe(1);
  });

  it('does not report a handoff acknowledged late in another group as never acknowledged', async () => {
    const { spans, wire, sentAtMs } = sentHandoff(10_000);
    const receiver = sdk();
    // The receiver lost the trace context: its receive and ack are in a trace of their own.
    const parsed = JSON.parse(wire) as { handoff: { trace_context?: unknown } };
    delete parsed.handoff.trace_context;
    context.with(ROOT_CONTEXT, () => receiver.baton.receive(JSON.stringify(parsed)));
    const auditor = new Auditor({ idleMs: 100 });
    auditor.addSpans(spans);
    auditor.advance(sentAtMs + 200);
    auditor.addSpans(toSpanRecords(receiver.harness.spans()));
    auditor.advance(sentAtMs + 20_000);
    const report = auditor.finish();
    expect(report.findings.filter((f) => f.ruleId === 'ack-timeout')).toEqual([]);
    expect(report.rules.find((r) => r.ruleId === 'ack-timeout')!.checked).toBe(1);
  });

  it('closes nothing before the idle time has passed, and everything on finish', () => {
    const { spans, sentAtMs } = sentHandoff(60_000);
    const auditor = new Auditor({ idleMs: 10_000 });
    auditor.addSpans(spans);
    auditor.advance(sentAtMs + 5_000);
    expect(auditor.snapshot().inputs.traceGroups).toBe(0);
    expect(auditor.finish().inputs.traceGroups).toBe(1);
  });
});

describe('closing groups that look complete', () => {
  it('under memory pressure, closes a trace whose root ended and that misses no parent after completeIdleMs, and one missing a parent only after idleMs', () => {
    const { spans, sentAtMs } = sentHandoff(60_000);
    const root = spans.find((s) => s.parentSpanId === '')!;
    const withoutRoot = spans.filter((s) => s !== root);
    const complete = new Auditor({ idleMs: 300_000, completeIdleMs: 1_000, softOpenSpans: 1 });
    complete.addSpans(spans);
    complete.advance(sentAtMs + 5_000);
    expect(complete.snapshot().inputs.traceGroups).toBe(1);
    const partial = new Auditor({ idleMs: 300_000, completeIdleMs: 1_000, softOpenSpans: 1 });
    partial.addSpans(withoutRoot);
    partial.advance(sentAtMs + 5_000);
    expect(partial.snapshot().inputs.traceGroups).toBe(0); // its root (the parent of the send) has not arrived
    partial.advance(sentAtMs + 301_000);
    expect(partial.snapshot().inputs.traceGroups).toBe(1);
    // Without pressure, a complete-looking trace waits the full idle time.
    const relaxed = new Auditor({ idleMs: 300_000, completeIdleMs: 1_000 });
    relaxed.addSpans(spans);
    relaxed.advance(sentAtMs + 5_000);
    expect(relaxed.snapshot().inputs.traceGroups).toBe(0);
  });

  it('tracks the parents a trace misses for spans that arrive after the input turned dense', () => {
    const { baton, harness } = sdk();
    context.with(ROOT_CONTEXT, () => baton.runAgent('planner', () => baton.runAgent('reviewer', () => baton.send(envelope('reviewer', 'coder')))));
    const nested = toSpanRecords(harness.spans());
    const middle = nested.find((s) => s.name.includes('reviewer') && nested.some((c) => c.parentSpanId === s.spanId) && s.parentSpanId !== '')!;
    expect(middle).toBeDefined();
    const endMs = Math.max(...nested.map((s) => s.endMs));
    const early = sentHandoff(60_000);
    const auditor = new Auditor({ idleMs: 300_000, completeIdleMs: 1_000, softOpenSpans: 1 });
    auditor.addSpans(early.spans);
    auditor.advance(early.sentAtMs); // a sweep with more than one span open: dense from here on
    // The root and the send arrive, the reviewer's run between them does not (yet).
    auditor.addSpans(nested.filter((s) => s !== middle));
    auditor.advance(endMs + 5_000);
    expect(auditor.snapshot().inputs.traceGroups).toBe(1); // the early trace only
    auditor.addSpans([middle]);
    auditor.advance(endMs + 10_000);
    expect(auditor.snapshot().inputs.traceGroups).toBe(2);
    expect(auditor.finish().inputs.splitTraces).toBe(0);
  });
});

describe('Auditor.snapshot', () => {
  it('copies: a later span of the same trace joins its group, and the snapshot taken before does not change', () => {
    const { baton, harness } = sdk();
    context.with(ROOT_CONTEXT, () =>
      baton.runAgent('a', () => {
        baton.send(envelope('a', 'b'));
        baton.send(envelope('a', 'c'));
      }),
    );
    const spans = toSpanRecords(harness.spans());
    const auditor = new Auditor();
    auditor.addSpans(spans.slice(0, 1));
    const before = auditor.snapshot();
    const frozen = JSON.stringify(before);
    auditor.addSpans(spans.slice(1));
    const after = auditor.finish();
    expect(JSON.stringify(before)).toBe(frozen);
    expect(before.inputs.traceGroups).toBe(0);
    expect(after.inputs.traceGroups).toBe(1);
    expect(after.inputs.splitTraces).toBe(0);
    expect(after.edges.map((e) => `${e.source}→${e.target}`)).toEqual(['a→b', 'a→c']);
  });

  it('refuses spans after finish, so no result is reported twice', () => {
    const auditor = new Auditor();
    auditor.finish();
    expect(() => auditor.addSpans([])).toThrow(/after finish/);
  });
});

describe('caps are said, never silent', () => {
  it('counts a trace the open-span cap cut in two in inputs.splitTraces', () => {
    const { baton, harness } = sdk();
    context.with(ROOT_CONTEXT, () =>
      baton.runAgent('a', () => {
        for (let i = 0; i < 6; i++) baton.send(envelope('a', 'b'));
      }),
    );
    const spans = toSpanRecords(harness.spans());
    const auditor = new Auditor({ maxOpenSpans: 3 });
    for (const span of spans) auditor.addSpans([span]);
    const report = auditor.finish();
    expect(report.inputs.splitTraces).toBe(1);
    expect(report.inputs.traceGroups).toBeGreaterThan(1);
  });
});

describe('hostile structure', () => {
  const base = (over: Partial<SpanRecord>): SpanRecord => ({
    traceId: 'a'.repeat(32),
    spanId: '1'.repeat(16),
    parentSpanId: '',
    name: 'x',
    kind: 1,
    startMs: 1_000,
    endMs: 1_001,
    statusCode: 0,
    statusMessage: '',
    attributes: {},
    links: [],
    events: [],
    resource: {},
    scopeName: 'test',
    source: 'test',
    ...over,
  });

  it.each([
    ['a state span that is its own parent', [base({ spanId: '1'.repeat(16), parentSpanId: '1'.repeat(16), attributes: { 'baton.operation': 'state.read', 'baton.state.key': 'k', 'baton.state.version_read': 1 } })]],
    [
      'a parent cycle A → B → A around a send and a receive',
      [
        base({ spanId: '1'.repeat(16), parentSpanId: '2'.repeat(16), attributes: { 'baton.operation': 'handoff.send', 'baton.handoff.id': 'h', 'baton.handoff.source_agent': 'a', 'baton.handoff.target_agent': 'b' } }),
        base({ spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), attributes: { 'baton.operation': 'handoff.receive', 'baton.handoff.id': 'h', 'baton.handoff.target_agent': 'b' } }),
        base({ spanId: '3'.repeat(16), parentSpanId: '2'.repeat(16), attributes: { 'baton.operation': 'agent.run', 'gen_ai.agent.name': 'b' } }),
      ],
    ],
  ])('audits %s without hanging', (_name, spans) => {
    const auditor = new Auditor();
    auditor.addSpans(spans);
    const report = auditor.finish();
    expect(report.inputs.spans).toBe(spans.length);
  });

  it('audits a million-deep parent chain without overflowing the stack', () => {
    const spans: SpanRecord[] = [];
    for (let i = 0; i < 200_000; i++) {
      spans.push(base({ spanId: i.toString(16).padStart(16, '0'), parentSpanId: i === 0 ? '' : (i - 1).toString(16).padStart(16, '0'), startMs: 1_000 + i, endMs: 2_000_000 }));
    }
    spans.push(base({ spanId: 'f'.repeat(16), parentSpanId: (199_999).toString(16).padStart(16, '0'), startMs: 300_000, endMs: 300_001, attributes: { 'baton.operation': 'state.write', 'baton.state.key': 'k', 'baton.state.version_written': 1 } }));
    const auditor = new Auditor();
    auditor.addSpans(spans);
    expect(auditor.finish().inputs.spans).toBe(200_001);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('treats the agent name %s as data', (name) => {
    const { baton, harness } = sdk();
    const sent = context.with(ROOT_CONTEXT, () => baton.runAgent(name, () => baton.send(envelope(name, 'valueOf'))));
    context.with(ROOT_CONTEXT, () => baton.receive(JSON.stringify(sent)).ack());
    const auditor = new Auditor();
    auditor.addSpans(toSpanRecords(harness.spans()));
    const report = auditor.finish();
    expect(report.agents).toEqual([name, 'valueOf'].sort());
    expect(report.edges.map((e) => [e.source, e.target, e.handoffs])).toEqual([[name, 'valueOf', 1]]);
  });
});

describe('clock skew is data, not zero', () => {
  it('keeps a negative latency, counts it per edge, and never turns a late ack into an on-time one', () => {
    const { baton, harness } = sdk();
    const sent = context.with(ROOT_CONTEXT, () => baton.runAgent('planner', () => baton.send(envelope('planner', 'coder'), { timeoutBudgetMs: 20 })));
    const rx = context.with(ROOT_CONTEXT, () => baton.receive(JSON.stringify(sent), { ack: 'manual' }));
    rx.ack();
    const spans = toSpanRecords(harness.spans());
    // The coder's host clock is 50 ms behind the planner's: shift its side back, as its exporter would report it.
    const coderSide = new Set(spans.filter((s) => s.attributes['baton.operation'] === 'handoff.receive' || s.attributes['baton.operation'] === 'handoff.ack').map((s) => s.spanId));
    const skewed = spans.map((s) =>
      coderSide.has(s.spanId)
        ? { ...s, startMs: s.startMs - 50, endMs: s.endMs - 50, attributes: s.attributes['baton.operation'] === 'handoff.ack' ? { ...s.attributes, 'baton.ack.within_budget': false, 'baton.ack.delay_ms': 70 } : s.attributes }
        : s,
    );
    const auditor = new Auditor();
    auditor.addSpans(skewed);
    const report = auditor.finish();
    const edge = report.edges.find((e) => e.source === 'planner')!;
    expect(edge.latencyMs!.max).toBeLessThan(0);
    expect(edge.latencyMs!.p50).toBeLessThan(0);
    expect(edge.skewedSamples).toBe(1);
    expect(report.findings.map((f) => f.ruleId)).toEqual(['ack-timeout']);
    expect(edge.failures).toBe(1);
  });
});
