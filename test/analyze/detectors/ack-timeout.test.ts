/**
 * detectAckTimeouts (rule ack-timeout) on the committed fixtures: the late manual
 * ack of `ack-timeout.json`, a handoff never acknowledged judged against `now`
 * (the detector never reads the clock), defaultBudgetMs, and what the rule says
 * when handoffs declare no budget.
 */
import { Auditor } from '../../../src/analyze/audit.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectAckTimeouts, RULE } from '../../../src/analyze/detectors/ack-timeout.js';
import { BATON_ACK_DELAY_MS, BATON_ACK_WITHIN_BUDGET, BATON_TIMEOUT_BUDGET_MS, BatonOperation } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import { auditOne, graphOf, invalidGraphs, ruleOf, setAttributes, spansOf, stripAttributes, withoutSpans, expectCouldNotRun } from '../../helpers/analyze.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

const ACK_TRACE = '7f9c5c4d14fa670a0ee03c068413e8b1';
// ack-timeout.json, the writer → reviewer handoff with timeout_budget_ms 40:
const WRITER_SEND = '3be77ca58a6f9b33'; // handoff.send by writer to reviewer
const REVIEWER_ACK = 'a54324c800eeb6cd'; // handoff.ack by reviewer: ack.delay_ms over 40, ack.within_budget false
const REVIEWER_RECEIVE = '9d6e63b134031528'; // handoff.receive by reviewer (manual ack mode: no ack attributes)

const CLEAN_TRACE = '8edbfa52334a8b41e747dacf2cf5f801';
// clean.json: writer's handoff.send to reviewer and the receive that acknowledged it (auto ack).
const CLEAN_WRITER_SEND = '250ae4a1cca5565f';
const CLEAN_REVIEWER_RECEIVE = '6c0eaf9b0221c256';
// clean.json: triage's handoff.send to research and research's receive (the slowest ack, over 2 ms).
const CLEAN_TRIAGE_SEND = '762fe0e52d015981';
const CLEAN_RESEARCH_RECEIVE = '8a4bde9caf80fb25';

const NO_BUDGET = 'handoffs without baton.timeout_budget_ms';

let clean: SpanRecord[];
let late: SpanRecord[];
/** clean.json without reviewer's receive: writer's handoff to reviewer was never acknowledged. */
let unacknowledged: SpanRecord[];
let writerSendStartMs: number;

beforeAll(async () => {
  [clean, late] = await Promise.all([loadFixture('clean'), loadFixture('ack-timeout')]);
  unacknowledged = withoutSpans(clean, [CLEAN_REVIEWER_RECEIVE]);
  writerSendStartMs = clean.find((s) => s.spanId === CLEAN_WRITER_SEND)!.startMs;
});

/**
 * The receiver-measured baton.ack.delay_ms on span `spanId` of `spans`, as the rule
 * prints it (whole ms under 10 s): the fixture's timing, not a number fixed here.
 */
function ackDelayOf(spans: readonly SpanRecord[], spanId: string): { delayMs: number; printed: string } {
  const delayMs = spans.find((s) => s.spanId === spanId)?.attributes[BATON_ACK_DELAY_MS];
  if (typeof delayMs !== 'number') throw new Error(`span ${spanId} has no baton.ack.delay_ms`);
  expect(delayMs).toBeLessThan(10_000);
  return { delayMs, printed: `${delayMs >= 10 ? Math.round(delayMs) : Number(delayMs.toFixed(2))} ms` };
}

describe('detectAckTimeouts', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "ack-timeout:" for %s', (_label, input) => {
    expect(() => detectAckTimeouts(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectAckTimeouts(input as HandoffGraph)).toThrow(/^ack-timeout: expected a HandoffGraph/);
  });

  it('reports the late ack of ack-timeout.json with the receiver-measured delay and the budget', () => {
    const result = detectAckTimeouts(graphOf(late));
    const ack = ackDelayOf(late, REVIEWER_ACK);
    expect(ack.delayMs).toBeGreaterThan(40);
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'warning',
        message: `reviewer acknowledged the handoff from writer after ${ack.printed}, over its 40 ms budget`,
        hint: expect.stringContaining('budget'),
        evidence: {
          traceId: ACK_TRACE,
          traceIds: [ACK_TRACE],
          spanIds: [WRITER_SEND, REVIEWER_ACK, REVIEWER_RECEIVE],
          startMs: late.find((s) => s.spanId === WRITER_SEND)!.startMs,
        },
        agents: ['writer', 'reviewer'],
        taskId: 'research-ack-timeout',
      },
    ]);
    expect(result.checked).toBe(4);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked all four handoffs', () => {
    expect(detectAckTimeouts(graphOf(clean))).toEqual({ findings: [], checked: 4, notEvaluated: [] });
  });

  describe('now', () => {
    it('does not call an unacknowledged handoff overdue while its budget has not run out by the end of the data', () => {
      expect(detectAckTimeouts(graphOf(unacknowledged))).toEqual({
        findings: [],
        checked: 3,
        notEvaluated: [{ count: 1, reason: 'handoffs not acknowledged yet, still within budget when the data ends' }],
      });
      expect(detectAckTimeouts(graphOf(unacknowledged), { now: writerSendStartMs + 5000 }).findings).toEqual([]);
    });

    it('reports it as an error once now is past send + budget', () => {
      const findings = detectAckTimeouts(graphOf(unacknowledged), { now: writerSendStartMs + 5001 }).findings;
      expect(findings).toEqual([
        {
          ruleId: RULE,
          severity: 'error',
          message: 'reviewer never acknowledged the handoff from writer within its 5000 ms budget',
          hint: expect.any(String),
          evidence: { traceId: CLEAN_TRACE, traceIds: [CLEAN_TRACE], spanIds: [CLEAN_WRITER_SEND], startMs: writerSendStartMs },
          agents: ['writer', 'reviewer'],
          taskId: 'research-clean',
        },
      ]);
    });

    it('says the same whenever it is settled: the message names the budget, not the time elapsed', () => {
      for (const elapsed of [5001, 61_234, 86_400_000]) {
        const [finding, ...rest] = detectAckTimeouts(graphOf(unacknowledged), { now: writerSendStartMs + elapsed }).findings;
        expect(rest).toEqual([]);
        expect(finding!.message).toBe('reviewer never acknowledged the handoff from writer within its 5000 ms budget');
      }
    });

    it('prints long budgets in seconds', () => {
      const spans = setAttributes(unacknowledged, CLEAN_WRITER_SEND, { [BATON_TIMEOUT_BUDGET_MS]: 61_234 });
      const [finding] = detectAckTimeouts(graphOf(spans), { now: writerSendStartMs + 61_235 }).findings;
      expect(finding!.message).toBe('reviewer never acknowledged the handoff from writer within its 61.2 s budget');
      expect(detectAckTimeouts(graphOf(spans), { now: writerSendStartMs + 61_234 }).findings).toEqual([]);
    });

    it('takes now from the audit options', async () => {
      const report = await auditOne(unacknowledged, { only: [RULE], now: writerSendStartMs + 5001 });
      expect(report.findings).toEqual(detectAckTimeouts(graphOf(unacknowledged), { now: writerSendStartMs + 5001 }).findings);
      expect((await auditOne(unacknowledged, { only: [RULE] })).findings).toEqual([]);
    });
  });

  describe('when handoffs declare no budget', () => {
    // As from an app that never set one: no budget, so the receiver judged nothing either.
    const noBudget = () => stripAttributes(clean, [BATON_TIMEOUT_BUDGET_MS, BATON_ACK_WITHIN_BUDGET]);

    it('checks nothing and says how many handoffs it could not judge, rather than passing them', async () => {
      expect(detectAckTimeouts(graphOf(noBudget()))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 4, reason: NO_BUDGET }] });
      expectCouldNotRun(await auditOne(noBudget(), { only: [RULE] }), RULE, [{ count: 4, reason: NO_BUDGET }]);
    });

    it('judges them against defaultBudgetMs when given', () => {
      const result = detectAckTimeouts(graphOf(noBudget()), { defaultBudgetMs: 2 });
      expect(result.checked).toBe(4);
      expect(result.notEvaluated).toEqual([]);
      // Only research's ack is over 2 ms (the other three receives acked within it); the
      // receive is also the (auto) ack span, named once.
      const ack = ackDelayOf(clean, CLEAN_RESEARCH_RECEIVE);
      expect(ack.delayMs).toBeGreaterThan(2);
      expect(result.findings.map((f) => [f.severity, f.message, f.evidence.spanIds])).toEqual([
        [
          'warning',
          `research acknowledged the handoff from triage after ${ack.printed}, over its 2 ms budget`,
          [CLEAN_TRIAGE_SEND, CLEAN_RESEARCH_RECEIVE],
        ],
      ]);
    });

    it('lets a declared budget win over defaultBudgetMs', () => {
      expect(detectAckTimeouts(graphOf(clean), { defaultBudgetMs: 2 }).findings).toEqual([]);
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(late, { only: [RULE] });
      expect(report.findings).toEqual(detectAckTimeouts(graphOf(late)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 4, couldNotRun: false });
    });
  });
});

/**
 * A retry in a trace of its own: the coordinator's attempt 1 was lost on the way (never
 * received), attempt 2 of the same handoff id was received and acknowledged. Each send is a
 * top-level span, so each attempt is its own trace group, as between processes.
 */
describe('ack-timeout across trace groups, on a retried handoff (real SDK)', () => {
  async function retriedHandoff(deliverAttempt2: boolean) {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const draft = {
      task_id: 't-retry',
      source_agent: 'planner',
      target_agent: 'coder',
      status: 'complete',
      output: { summary: 's', artifacts: [] },
      context: { original_goal: 'g', constraints: ['c'], decisions_made: ['d'] },
      metadata: { started_at: new Date().toISOString(), token_count: 1 },
    };
    const log: string[] = [];
    const attempt1 = baton.send(draft, { timeoutBudgetMs: 100, attempt: 1 });
    log.push('attempt 1 lost');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const attempt2 = baton.send(draft, { timeoutBudgetMs: 100, attempt: 2, handoffId: attempt1.handoff.id });
    if (deliverAttempt2) {
      const received = baton.receive(JSON.stringify(attempt2));
      log.push(`attempt 2 received, acknowledged: valid ${received.valid}`);
    } else log.push('attempt 2 lost');
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    return { spans, log, sends: spansOf(spans, BatonOperation.HandoffSend) };
  }

  it('does not report "never acknowledged" for an attempt whose retry was acknowledged in another trace group', async () => {
    const { spans, log, sends } = await retriedHandoff(true);
    expect(log).toEqual(['attempt 1 lost', 'attempt 2 received, acknowledged: valid true']);
    expect(new Set(sends.map((s) => s.traceId)).size).toBe(2);
    const report = await auditOne(spans, { only: [RULE] });
    expect(report.findings).toEqual([]);
    expect(ruleOf(report, RULE)).toMatchObject({ findings: 0, checked: 1, couldNotRun: false });
  });

  it('does not either when the retry\'s trace is read first (the receiver\'s file sorts before the sender\'s)', async () => {
    const { spans, sends } = await retriedHandoff(true);
    const retryTrace = sends[1]!.traceId;
    const reordered = [...spans.filter((s) => s.traceId === retryTrace), ...spans.filter((s) => s.traceId !== retryTrace)];
    const report = await auditOne(reordered, { only: [RULE] });
    expect(report.findings).toEqual([]);
  });

  /** The spans as a live receiver gets them: each attempt's trace when it was sent, the clock ticking every 10 ms. */
  function auditLive(spans: readonly SpanRecord[], sends: readonly SpanRecord[]) {
    const auditor = new Auditor({ idleMs: 20, only: [RULE] });
    const byTrace = (traceId: string) => spans.filter((s) => s.traceId === traceId);
    const end = Math.max(...spans.map((s) => s.endMs));
    let clock = sends[0]!.startMs;
    const tickTo = (until: number) => {
      for (; clock < until; clock += 10) auditor.advance(clock);
    };
    auditor.addSpans(byTrace(sends[0]!.traceId));
    tickTo(sends[1]!.startMs);
    auditor.addSpans(byTrace(sends[1]!.traceId));
    tickTo(end + 500);
    return auditor.finish();
  }

  it('live, ticking past attempt 1\'s deadline before the retry arrives, the acknowledged retry still settles it', async () => {
    const { spans, sends } = await retriedHandoff(true);
    const report = auditLive(spans, sends);
    expect(report.findings).toEqual([]);
    expect(ruleOf(report, RULE)).toMatchObject({ findings: 0, checked: 1 });
  });

  it('live, a handoff no attempt of which was acknowledged is reported once', async () => {
    const { spans, sends } = await retriedHandoff(false);
    const report = auditLive(spans, sends);
    expect(report.findings.map((f) => f.message)).toEqual(['coder never acknowledged the handoff from planner within its 100 ms budget']);
  });

  it('the edge counts one handoff, retried, with the latency of the attempt that arrived, whichever trace is read first', async () => {
    const { spans, sends } = await retriedHandoff(true);
    const receive = spansOf(spans, BatonOperation.HandoffReceive)[0]!;
    const retryTrace = sends[1]!.traceId;
    for (const order of [spans, [...spans.filter((s) => s.traceId === retryTrace), ...spans.filter((s) => s.traceId !== retryTrace)]]) {
      const edge = (await auditOne(order, { only: [RULE] })).edges.find((e) => e.source === 'planner')!;
      expect(edge).toMatchObject({ target: 'coder', handoffs: 1, retries: 1 });
      expect(edge.latencyMs?.count).toBe(1);
      // Within the sketch's 1% of attempt 2's send → receive.
      expect(Math.abs(edge.latencyMs!.p50 - (receive.startMs - sends[1]!.startMs))).toBeLessThanOrEqual(0.01 * (receive.startMs - sends[1]!.startMs) + 1e-9);
    }
  });

  it('still reports the handoff when no attempt was acknowledged', async () => {
    const { spans, log, sends } = await retriedHandoff(false);
    expect(log).toEqual(['attempt 1 lost', 'attempt 2 lost']);
    const report = await auditOne(spans, { only: [RULE] });
    expect(report.findings.map((f) => [f.severity, f.message, f.evidence.spanIds])).toEqual([
      ['error', 'coder never acknowledged the handoff from planner within its 100 ms budget', [sends[0]!.spanId]],
    ]);
  });
});
