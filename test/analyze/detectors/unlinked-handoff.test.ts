/**
 * detectUnlinkedHandoffs (rule unlinked-handoff) on the committed fixtures: the
 * receive of `lost-trace-context.json` whose queue dropped the trace context,
 * receives linked by a span link (made with the real SDK) and by parent, and
 * what the rule says when the data holds no receive at all.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectUnlinkedHandoffs, RULE } from '../../../src/analyze/detectors/unlinked-handoff.js';
import { BATON_HANDOFF_ID, BatonOperation } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import { auditOne, graphOf, invalidGraphs, isOperation, ruleOf, spansOf, withoutSpans, expectCouldNotRun } from '../../helpers/analyze.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

// lost-trace-context.json spans two traces: research's side (1ddf9044…) and, from the
// receive on, analysis's side (76ed2be8…), which started a new trace as a fresh process.
const RECEIVE_TRACE = '76ed2be89e8830614e61ee3bf1e79048';
const SEND_TRACE = '1ddf90447825d663e5281aece1a1ae89';
const ANALYSIS_RECEIVE = '2db3ba85facb5e4d'; // handoff.receive by analysis from research: no parent, no links
const RESEARCH_SEND = '3c187fde38ee10a2'; // handoff.send research → analysis (in trace 1ddf9044…)

let clean: SpanRecord[];
let lost: SpanRecord[];
/** Their baton.handoff.id: a UUID drawn when the fixture was generated, so read from the send span. */
let handoffId: string;

beforeAll(async () => {
  [clean, lost] = await Promise.all([loadFixture('clean'), loadFixture('lost-trace-context')]);
  const idOf = (spanId: string) => lost.find((s) => s.spanId === spanId)!.attributes[BATON_HANDOFF_ID];
  const id = idOf(RESEARCH_SEND);
  if (typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
    throw new Error(`send ${RESEARCH_SEND} has no UUID baton.handoff.id`);
  }
  if (idOf(ANALYSIS_RECEIVE) !== id) throw new Error(`receive ${ANALYSIS_RECEIVE} does not carry the handoff id of send ${RESEARCH_SEND}`);
  handoffId = id;
});

/** A handoff a → b received by b inside its own agent run in another process: the receive links to the send. */
function linkedBySpanLink(): { spans: SpanRecord[]; send: SpanRecord; receive: SpanRecord } {
  const otel = createOtelHarness();
  const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  const wire = baton.runAgent('a', () =>
    JSON.stringify(
      baton.send({
        task_id: 't-link',
        source_agent: 'a',
        target_agent: 'b',
        status: 'complete',
        output: { summary: 'done' },
        context: { original_goal: 'g', decisions_made: ['d'], constraints: [] },
        metadata: { started_at: new Date(0).toISOString() },
      }),
    ),
  );
  context.with(ROOT_CONTEXT, () => baton.runAgent('b', () => baton.receive(wire)));
  const spans = toSpanRecords(otel.spans());
  return { spans, send: spansOf(spans, BatonOperation.HandoffSend)[0]!, receive: spansOf(spans, BatonOperation.HandoffReceive)[0]! };
}

describe('detectUnlinkedHandoffs', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "unlinked-handoff:" for %s', (_label, input) => {
    expect(() => detectUnlinkedHandoffs(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectUnlinkedHandoffs(input as HandoffGraph)).toThrow(/^unlinked-handoff: expected a HandoffGraph/);
  });

  it('reports the receive of lost-trace-context.json whose send is in the data but neither its parent nor a link', () => {
    const result = detectUnlinkedHandoffs(graphOf(lost));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'warning',
        message: `analysis received handoff ${handoffId} from research unlinked: its send span is in the data but neither its parent nor a link`,
        hint: expect.stringContaining('trace_context'),
        evidence: {
          traceId: RECEIVE_TRACE,
          // The receive started a trace of its own; its send is in the coordinator's.
          traceIds: [RECEIVE_TRACE, SEND_TRACE],
          spanIds: [ANALYSIS_RECEIVE, RESEARCH_SEND],
          startMs: lost.find((s) => s.spanId === ANALYSIS_RECEIVE)!.startMs,
        },
        agents: ['research', 'analysis'],
        taskId: 'research-lost-trace-context',
      },
    ]);
    expect(result.checked).toBe(4);
    expect(result.notEvaluated).toEqual([]);
  });

  it('reports it as carrying no trace context when its send is not in the data either', () => {
    const findings = detectUnlinkedHandoffs(graphOf(withoutSpans(lost, [RESEARCH_SEND]))).findings;
    expect(findings.map((f) => [f.message, f.evidence])).toEqual([
      [
        `analysis received handoff ${handoffId} from research unlinked: it carries no trace context and no matching send is in its trace`,
        { traceId: RECEIVE_TRACE, traceIds: [RECEIVE_TRACE], spanIds: [ANALYSIS_RECEIVE], startMs: lost.find((s) => s.spanId === ANALYSIS_RECEIVE)!.startMs },
      ],
    ]);
  });

  it('finds nothing on the clean fixture (receives parented to their sends), having checked all four', () => {
    expect(detectUnlinkedHandoffs(graphOf(clean))).toEqual({ findings: [], checked: 4, notEvaluated: [] });
  });

  it('accepts a receive linked to its send by a span link across traces', () => {
    const { spans, send, receive } = linkedBySpanLink();
    expect(receive.traceId).not.toBe(send.traceId);
    expect(receive.links).toEqual([{ traceId: send.traceId, spanId: send.spanId }]);
    expect(detectUnlinkedHandoffs(graphOf(spans))).toEqual({ findings: [], checked: 1, notEvaluated: [] });
  });

  it('does not blame a receive that links to a send outside the data', () => {
    const { spans, send } = linkedBySpanLink();
    expect(detectUnlinkedHandoffs(graphOf(withoutSpans(spans, [send.spanId])))).toEqual({ findings: [], checked: 1, notEvaluated: [] });
  });

  it('does not blame a receive parented under a send outside the data (an export of the receiving side only)', () => {
    // 250ae4a1cca5565f: writer's handoff.send to reviewer; reviewer's receive is its child via the envelope's traceparent.
    const writerSend = clean.find((s) => s.spanId === '250ae4a1cca5565f')!;
    expect(writerSend.attributes['baton.operation']).toBe(BatonOperation.HandoffSend);
    expect(detectUnlinkedHandoffs(graphOf(withoutSpans(clean, [writerSend.spanId]))).findings).toEqual([]);
  });

  it('takes a resent handoff as one: a receive of the second send is linked, whatever the span order', async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const envelope = {
      task_id: 't-resend',
      source_agent: 'a',
      target_agent: 'b',
      status: 'completed',
      output: { summary: 's', artifacts: [], confidence: 0.9 },
      context: { original_goal: 'g', constraints: ['c'], decisions_made: ['d'] },
      metadata: { started_at: new Date().toISOString(), completed_at: new Date().toISOString(), token_count: 10, model: 'm' },
    };
    const wire = baton.runAgent('a', () => {
      const first = baton.send(envelope as never, { timeoutBudgetMs: 60_000 });
      return JSON.stringify(baton.send(first, { attempt: 2 }));
    });
    context.with(ROOT_CONTEXT, () => baton.receive(wire, { agent: 'b' }));
    const spans = toSpanRecords(otel.spans());
    expect(spansOf(spans, BatonOperation.HandoffSend)).toHaveLength(2);
    for (const order of [spans, [...spans].reverse()]) {
      expect(detectUnlinkedHandoffs(graphOf(order)).findings).toEqual([]);
      const report = await auditOne(order);
      expect(report.edges.map((e) => [e.source, e.target, e.handoffs, e.retries])).toEqual([['a', 'b', 1, 1]]);
    }
  });

  describe('when the data holds no receive', () => {
    it('checks nothing, and the audit says the rule could not run rather than that every handoff was linked', async () => {
      const spans = clean.filter((s) => !isOperation(BatonOperation.HandoffReceive)(s));
      expect(detectUnlinkedHandoffs(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [] });
      expectCouldNotRun(await auditOne(spans, { only: [RULE] }), RULE, []);
    });
  });

  describe('through auditSpans', () => {
    it('joins the two traces of lost-trace-context.json into one group and reports what the detector reports', async () => {
      const report = await auditOne(lost, { only: [RULE] });
      expect(report.inputs).toMatchObject({ traces: 2, traceGroups: 1 });
      expect(report.findings).toEqual(detectUnlinkedHandoffs(graphOf(lost)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 4, couldNotRun: false });
    });
  });
});
