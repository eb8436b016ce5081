/**
 * `explain` (AuditOptions.explain, `baton audit --explain`): per trace group
 * the dialect chosen, interpreted and ignored spans with the reason, and each
 * edge declared or inferred, on GenAI spans written by the contract suite's
 * materializers (declared transfer attributes vs transfer_to_<agent> tool
 * names) and on AutoGen's runtime; the text rendering escapes trace data.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { auditSpans } from '../../src/analyze/audit.js';
import type { TraceExplanation } from '../../src/model/audit-report.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { renderExplainText } from '../../src/report/explain.js';
import { MATERIALIZERS, SCENARIOS } from './dialects/scenarios.js';

let nowMs = Date.UTC(2030, 0, 1);
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(nowMs);
});
afterEach(() => {
  vi.useRealTimers();
});
const tick = () => {
  nowMs += 1000;
  vi.setSystemTime(nowMs);
};

async function explained(materializerName: RegExp, scenarioId: string): Promise<{ spans: SpanRecord[]; explain: readonly TraceExplanation[] }> {
  const materializer = MATERIALIZERS.find((m) => materializerName.test(m.name))!;
  const spans = await materializer.materialize(SCENARIOS.find((s) => s.id === scenarioId)!, tick);
  const report = await auditSpans([spans], { explain: true });
  return { spans, explain: report.explain! };
}

describe('explain', () => {
  it('is absent unless asked for', async () => {
    const materializer = MATERIALIZERS.find((m) => m.dialect === 'otel-genai')!;
    const report = await auditSpans([await materializer.materialize(SCENARIOS[0]!, tick)]);
    expect(report).not.toHaveProperty('explain');
  });

  it('says edges read from the draft transfer attributes are declared', async () => {
    const { explain } = await explained(/declared transfer attributes/, 'relay');
    expect(explain).toHaveLength(1);
    expect(explain[0]!.dialect).toBe('otel-genai');
    expect(explain[0]!.edges).toEqual([
      { source: 'research', target: 'analysis', handoffs: 1, declared: 1, inferred: 0, dialects: ['otel-genai'] },
      { source: 'triage', target: 'research', handoffs: 1, declared: 1, inferred: 0, dialects: ['otel-genai'] },
    ]);
  });

  it('says edges read from transfer_to_<agent> tool names are inferred, and why the workflow span and model calls carry none', async () => {
    const { spans, explain } = await explained(/transfer_to_<agent> tool names/, 'relay');
    const [group] = explain;
    expect(group!.edges.map((e) => [e.source, e.target, e.declared, e.inferred])).toEqual([
      ['research', 'analysis', 0, 1],
      ['triage', 'research', 0, 1],
    ]);
    const workflow = spans.find((s) => s.name.startsWith('invoke_workflow'))!;
    expect(group!.ignored).toContainEqual({ spanId: workflow.spanId, name: workflow.name, dialect: 'otel-genai', reason: 'invoke_workflow relay: a container of agent runs, no handoff of its own' });
    const transfers = spans.filter((s) => s.name.startsWith('execute_tool transfer_to_'));
    for (const t of transfers) expect(group!.interpreted).toContainEqual({ spanId: t.spanId, name: t.name, dialect: 'otel-genai', readAs: 'transfer' });
    // Model calls are no vocabulary's: kept for timing, named in the explanation.
    expect(group!.unclaimed.names).toEqual(['chat gpt-4.1']);
    expect(group!.unclaimed.count).toBe(spans.filter((s) => s.name === 'chat gpt-4.1').length);
  });

  it('lists the AutoGen runtime spans it read and the dispatch spans it ignored, across the linked traces of one group', async () => {
    const { spans, explain } = await explained(/^autogen/, 'relay');
    expect(explain).toHaveLength(1);
    const [group] = explain;
    expect(group!.traceIds.length).toBeGreaterThan(1);
    expect(group!.spans).toBe(spans.length);
    expect(group!.dialects).toEqual([{ id: 'autogen', claimed: spans.length, interpreted: group!.interpreted.length, ignored: group!.ignored.length }]);
    expect(group!.interpreted.length + group!.ignored.length).toBe(spans.length);
    expect(group!.ignored.filter((s) => s.name.startsWith('autogen publish')).every((s) => s.reason!.startsWith('the runtime dispatching a message'))).toBe(true);
  });
});

describe('renderExplainText', () => {
  it('escapes trace data: a hostile span name cannot break the layout or reach the terminal', () => {
    const text = renderExplainText([
      {
        traceIds: ['a'.repeat(32)],
        spans: 1,
        dialect: 'otel-genai',
        dialects: [{ id: 'otel-genai', claimed: 1, interpreted: 0, ignored: 1 }],
        interpreted: [],
        ignored: [{ spanId: 'b'.repeat(16), name: 'execute_tool x\n\u001b[31mfake', dialect: 'otel-genai', reason: 'tool x\u202e is not a transfer' }],
        unclaimed: { count: 0, names: [] },
        missingParents: { count: 0, spanIds: [] },
        edges: [{ source: 'a\tb', target: 'c', handoffs: 1, declared: 0, inferred: 1, dialects: ['otel-genai'] }],
        omitted: 0,
      },
    ]);
    expect(text).not.toMatch(/\u001b|\u202e/);
    expect(text).toContain('execute_tool x\\n\\u001b[31mfake: tool x\\u202e is not a transfer');
    expect(text).toContain('a\\tb → c  1 handoff, inferred (otel-genai)');
    expect(text.split('\n')[0]).toBe('Explain  1 trace group');
  });

  it('says why a group has no edges by what its listing shows: ignored spans, spans in no vocabulary, or only runs', () => {
    const group = (over: Partial<TraceExplanation>): TraceExplanation => ({
      traceIds: ['a'.repeat(32)],
      spans: 2,
      dialect: 'otel-genai',
      dialects: [{ id: 'otel-genai', claimed: 2, interpreted: 2, ignored: 0 }],
      interpreted: [{ spanId: 'b'.repeat(16), name: 'invoke_agent research', dialect: 'otel-genai', readAs: 'agent run research' }],
      ignored: [],
      unclaimed: { count: 0, names: [] },
      missingParents: { count: 0, spanIds: [] },
      edges: [],
      omitted: 0,
      ...over,
    });
    const edgesLine = (g: TraceExplanation) => renderExplainText([g]).split('\n').find((l) => l.startsWith('  edges:'));
    // Mastra's agent network: each routed agent's run alone, nothing ignored.
    expect(edgesLine(group({}))).toBe('  edges: none (no handoff was read; no span of this group was read as a handoff or a transfer)');
    expect(edgesLine(group({ ignored: [{ spanId: 'c'.repeat(16), name: 'execute_tool lookup', dialect: 'otel-genai', reason: 'not a transfer' }] }))).toBe(
      '  edges: none (no handoff was read; the ignored spans above say why)',
    );
    expect(edgesLine(group({ unclaimed: { count: 3, names: ['chat'] } }))).toBe('  edges: none (no handoff was read; no span was read as a handoff, and the others are in no known vocabulary)');
  });

  it('on a terminal narrower than a span line\'s hang, keeps words whole under a short hang', () => {
    const reason = 'the delegation names no coworker of the crew (are its inputs hidden?)';
    const group: TraceExplanation = {
      traceIds: ['a'.repeat(32)],
      spans: 1,
      dialect: 'crewai',
      dialects: [{ id: 'crewai', claimed: 1, interpreted: 0, ignored: 1 }],
      interpreted: [],
      ignored: [{ spanId: 'b'.repeat(16), name: 'Delegate work to coworker', dialect: 'crewai', reason }],
      unclaimed: { count: 0, names: [] },
      missingParents: { count: 0, spanIds: [] },
      edges: [],
      omitted: 0,
    };
    for (const width of [20, 30, 40]) {
      const lines = renderExplainText([group], { width }).split('\n');
      const words = lines.join(' ').split(/\s+/).filter((w) => w.length > 0);
      // Every word of the reason is still there, whole, and no line is a lone fragment.
      for (const word of reason.split(' ')) expect(words).toContain(word);
      for (const line of lines) if (line.trim().length > 0) expect(line.trim().length).toBeGreaterThan(2);
    }
    const wide = renderExplainText([group], { width: 200 }).split('\n');
    expect(wide.some((line) => line.includes(reason))).toBe(true);
  });
});
