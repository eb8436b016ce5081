/**
 * detectUndeliveredHandoffs (rule undelivered-handoff) on the constructed Agent
 * Framework workflows: the refund no route accepted (positive, as the program
 * logged it), the fan-in that buffered and then delivered (the near miss), a
 * fan-in left buffered when the data ends, a condition-only drop (a warning),
 * and vocabularies that record no routing (not evaluated, never passed).
 */
import { describe, expect, it } from 'vitest';
import { DETECTORS } from '../../../src/analyze/detectors/index.js';
import { detectUndeliveredHandoffs, RULE } from '../../../src/analyze/detectors/undelivered-handoff.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { graphOf, invalidGraphs } from '../../helpers/analyze.js';
import { encodingsOf, logOf } from '../dialects/framework-fixtures.js';
import { runPipelineSpans, toSpanRecords } from '../../helpers/traces.js';

async function fixture(scenario: string): Promise<SpanRecord[]> {
  const [file] = await encodingsOf('agent-framework', scenario);
  const spans: SpanRecord[] = [];
  for await (const batch of readTraceInputs([file!])) spans.push(...batch);
  return spans;
}

describe('detectUndeliveredHandoffs', () => {
  it.each(invalidGraphs())('rejects %s with a message naming the rule', (_what, value) => {
    expect(() => detectUndeliveredHandoffs(value as never)).toThrow(/^undelivered-handoff: /);
  });

  it('is registered with its description, severity and hint', () => {
    expect(DETECTORS[RULE].description).toMatch(/never reaching its target/);
    expect(DETECTORS[RULE].maxSeverity).toBe('error');
  });

  it('reports the refund that no route accepted, from the router, with the send and the three routers as evidence', async () => {
    const spans = await fixture('dropped');
    const log = await logOf('agent-framework', 'dropped');
    const result = detectUndeliveredHandoffs(graphOf(spans));
    expect(result.findings.map((f) => f.agents)).toEqual(log.undelivered.map((u) => [u.source]));
    const [finding] = result.findings;
    const send = spans.find((s) => s.name === 'message.send' && s.attributes['message.type'] === 'Refund')!;
    const routers = spans.filter((s) => s.name.startsWith('edge_group.process') && s.links.some((l) => l.spanId === send.spanId)).sort((a, b) => a.startMs - b.startMs);
    expect(finding!).toMatchObject({ ruleId: RULE, severity: 'error', taskId: 'conv-refund-3' });
    expect(finding!.evidence.spanIds).toEqual([send.spanId, ...routers.map((r) => r.spanId)]);
    expect(finding!.hint).toMatch(/edge conditions/);
    // Two sends, each routed: both checked.
    expect(result.checked).toBe(2);
  });

  it('finds nothing in the fan-out whose fan-in buffered two findings and delivered all three', async () => {
    const result = detectUndeliveredHandoffs(graphOf(await fixture('fan-out')));
    expect(result.findings).toEqual([]);
    expect(result.checked).toBe(6);
  });

  it('reports a fan-in left buffered when the data ends (its last source never sent), as a warning', async () => {
    const spans = await fixture('fan-out');
    // Cut the run before the last specialist's finding reached the fan-in: its delivery and the aggregator are gone.
    const fanIn = spans.filter((s) => s.name === 'edge_group.process FanInEdgeGroup').sort((a, b) => a.startMs - b.startMs);
    const cut = fanIn[fanIn.length - 1]!.startMs;
    const truncated = spans.filter((s) => s.startMs < cut);
    const result = detectUndeliveredHandoffs(graphOf(truncated));
    expect(result.findings).toHaveLength(2);
    for (const finding of result.findings) {
      expect(finding.severity).toBe('warning');
      expect(finding.message).toMatch(/was buffered \(buffered at FanInEdgeGroup\) and never delivered/);
    }
  });

  it('says a drop by condition alone is a warning: the route may filter on purpose', async () => {
    const spans = (await fixture('dropped')).map((s) =>
      s.attributes['edge_group.delivery_status'] === 'dropped type mismatch' ? { ...s, attributes: { ...s.attributes, 'edge_group.delivery_status': 'dropped condition evaluated to false' } } : s,
    );
    const findings = detectUndeliveredHandoffs(graphOf(spans)).findings;
    expect(findings.map((f) => f.severity)).toEqual(['warning']);
  });

  it('reports not evaluated, never passed, for handoffs whose vocabulary records no routing', async () => {
    const { spans } = await runPipelineSpans();
    const result = detectUndeliveredHandoffs(graphOf(toSpanRecords(spans)));
    expect(result.checked).toBe(0);
    expect(result.findings).toEqual([]);
    expect(result.notEvaluated.map((n) => n.reason)).toEqual(['handoffs whose routing is not recorded (baton): a drop between send and receive is not visible']);
  });
});
