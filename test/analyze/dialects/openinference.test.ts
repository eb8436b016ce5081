/**
 * The openinference dialect on real LangGraph runs (fixtures/frameworks/langgraph/,
 * recorded from @langchain/langgraph, -swarm and -supervisor through the OpenInference
 * LangChain instrumentation with a scripted model), read back in every encoding: the
 * agents, edges with exact counts, order, retries, cycle and per-handoff latency must be
 * what the program itself logged (LangChain's callback stream), never what the trace
 * says. Then the near misses (ParentCommand errors, a tool named like a transfer, two
 * transfers in one step, a transfer the graph never followed) and LangSmith-shaped spans
 * written through the OTel SDK. The `delegation` run is one ReAct agent calling two
 * others as tools: the graph is one agent (named by createReactAgent), not its
 * `agent` / `tools` nodes.
 */
import { SpanStatusCode, trace, context, type Attributes } from '@opentelemetry/api';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { commandGotoOf, langGraphMetaOf, openInferenceDialect } from '../../../src/analyze/dialects/openinference.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';
import { auditRecorded, ENCODINGS, expectReportMatchesRuns, modelsByTrace, readRecordedSpans, readRunLog } from '../../helpers/framework-fixtures.js';

interface LoggedHandoff {
  readonly source: string;
  readonly target: string;
  readonly via: string;
  readonly attempts: number;
  readonly latencyMs: number;
}
interface LoggedRun {
  readonly threadId: string;
  readonly outcome: string;
  readonly agentsInOrder: readonly string[];
  readonly handoffs: readonly LoggedHandoff[];
  readonly notFollowed: readonly { agent: string; tool: string; failed: boolean; returnedCommand: boolean }[];
}
interface RunLog {
  readonly runs: readonly LoggedRun[];
}

const FRAMEWORK = 'langgraph';
const SCENARIOS = ['chain', 'supervisor', 'circular', 'retry', 'delegation', 'concurrent'] as const;
/**
 * Span starts are the SDK's Date.now() at the OpenInference handler's turn of a
 * callback, the log's the program's own handler's turn of the same callback (run
 * inline: LANGCHAIN_CALLBACKS_BACKGROUND=false): both whole milliseconds, at most a
 * tick apart.
 */
const LATENCY_TOLERANCE_MS = 2;

const cases = SCENARIOS.flatMap((scenario) => ENCODINGS.map((encoding) => [scenario, encoding] as const));

describe.each(cases)('LangGraph %s (%s)', (scenario, encoding) => {
  it('finds the agents, directed edges with exact counts and retries the program logged', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, scenario);
    expectReportMatchesRuns(await auditRecorded(FRAMEWORK, scenario, encoding), log.runs, 'openinference');
  });

  it('reads each run as one trace: handoffs in the logged order, with the logged attempts and latency, every agent run completed', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, scenario);
    const models = modelsByTrace(await readRecordedSpans(FRAMEWORK, scenario, encoding));
    expect(models).toHaveLength(log.runs.length);
    const byThread = new Map(models.map((m) => [m.agentRuns[0]!.taskId, m]));
    for (const run of log.runs) {
      const model = byThread.get(run.threadId)!;
      expect(model.agentRuns.map((r) => r.agent)).toEqual(run.agentsInOrder);
      // ParentCommand ends every sender's node span in ERROR: still a completed run.
      expect(model.agentRuns.map((r) => r.outcome)).toEqual(run.agentsInOrder.map(() => 'completed'));
      expect(model.handoffs.map((h) => `${h.source} → ${h.target} ×${h.sendCount}`)).toEqual(run.handoffs.map((h) => `${h.source} → ${h.target} ×${h.attempts}`));
      // A Command's goto is declared; a graph edge and an agent called from a tool are inferred from structure.
      expect(model.handoffs.map((h) => h.inferred)).toEqual(run.handoffs.map((h) => h.via === 'graph edge' || h.via === 'agent as tool'));
      expect(model.handoffs.map((h) => h.mode)).toEqual(
        run.handoffs.map((h) => (h.via === 'graph edge' ? undefined : h.via === 'agent as tool' ? 'return_to_caller' : 'pass_control')),
      );
      for (let i = 0; i < run.handoffs.length; i++) {
        const handoff = model.handoffs[i]!;
        expect(handoff.kind).toBe('transfer');
        expect(handoff.dialect).toBe('openinference');
        expect(handoff.taskId).toBe(run.threadId);
        expect(handoff.receives).toHaveLength(1);
        const latency = handoff.receives[0]!.startMs - handoff.send!.startMs;
        expect(Math.abs(latency - run.handoffs[i]!.latencyMs)).toBeLessThanOrEqual(LATENCY_TOLERANCE_MS);
      }
    }
  });

  it('reports a circular delegation exactly when the logged agents came back around, with its path and laps', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, scenario);
    const report = await auditRecorded(FRAMEWORK, scenario, encoding);
    const cycles = report.findings.filter((f) => f.ruleId === 'dependency-cycle');
    const expected = log.runs.flatMap((run) => {
      // The first agent handed on and got the work back, not by a return: one lap per comeback.
      const order = run.agentsInOrder;
      const first = order[0]!;
      const comebacks = order.filter((a) => a === first).length - 1;
      const hub = run.handoffs.every((h, i) => (i % 2 === 1 ? h.target === first : h.source === first));
      if (comebacks === 0 || hub) return [];
      const path = [...order.slice(0, order.indexOf(first, 1)), first];
      return [{ path, laps: comebacks }];
    });
    expect(cycles.map((f) => ({ path: f.path, laps: Number(/ran (\d+) lap/.exec(f.message)![1]) }))).toEqual(expected);
  });

  it('reports what LangGraph cannot show as not evaluated for openinference, never as passed', async () => {
    const report = await auditRecorded(FRAMEWORK, scenario, encoding);
    const ack = report.rules.find((r) => r.ruleId === 'ack-timeout')!;
    expect(ack.notEvaluated.map((n) => n.reason)).toContain('in-process transfers: openinference does not record acknowledgements');
    const drift = report.rules.find((r) => r.ruleId === 'schema-drift')!;
    expect(drift.notEvaluated.map((n) => n.reason)).toContain('in-process transfers: openinference does not record envelope schema versions');
  });
});

describe('openInferenceDialect near misses in the recorded runs', () => {
  it('marks the senders’ node spans ERROR (ParentCommand) in the trace, and none of those runs failed', async () => {
    const spans = await readRecordedSpans(FRAMEWORK, 'chain', 'otlpJson');
    const [model] = modelsByTrace(spans);
    const senders = model!.handoffs.map((h) => spans.find((s) => s.spanId === model!.agentRuns.find((r) => r.agent === h.source)!.spanId)!);
    expect(senders.map((s) => s.statusCode)).toEqual(senders.map(() => 2));
    expect(senders.every((s) => s.statusMessage.includes('ParentCommand'))).toBe(true);
    expect(model!.agentRuns.every((r) => r.outcome === 'completed')).toBe(true);
    const report = await auditRecorded(FRAMEWORK, 'chain', 'otlpJson');
    expect(report.edges.every((e) => e.failures === 0)).toBe(true);
  });

  it('makes no edge from transfers the graph did not follow, and says why', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, 'retry');
    const ignored: { name: string; reason: string }[] = [];
    const spans = await readRecordedSpans(FRAMEWORK, 'retry', 'otlpJson');
    const [model] = modelsByTrace(spans, (_d, span, reason) => ignored.push({ name: span.name, reason }));
    const notFollowed = log.runs[0]!.notFollowed;
    expect(notFollowed.map((t) => t.tool).sort()).toEqual(['transfer_to_dave', 'transfer_to_savings']);
    for (const tool of notFollowed) {
      const target = tool.tool.slice('transfer_to_'.length);
      expect(model!.handoffs.some((h) => h.target === target)).toBe(false);
      expect(model!.agentRuns.some((r) => r.agent === target)).toBe(false);
      const reason = ignored.find((i) => i.name === tool.tool)!.reason;
      // A Command the graph did not follow (two transfers in one step) vs a plain tool with a transfer's name.
      expect(reason).toMatch(tool.returnedCommand ? /did not move there/ : /returned no LangGraph Command/);
    }
    expect(ignored.filter((i) => /retry of the transfer/.test(i.reason))).toHaveLength(1);
  });

  it('ignores the transfer the recursion limit stopped before its target ran', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, 'circular');
    expect(log.runs[0]!.outcome).toMatch(/GraphRecursionError/);
    const ignored: string[] = [];
    modelsByTrace(await readRecordedSpans(FRAMEWORK, 'circular', 'otlpJson'), (_d, span, reason) => {
      if (span.name.startsWith('transfer_to_')) ignored.push(`${span.name}: ${reason}`);
    });
    expect(ignored.map((i) => i.split(':')[0])).toEqual(log.runs[0]!.notFollowed.map((t) => t.tool));
  });

  it('claims no span of the OpenInference OpenAI Agents instrumentation, and no LLM span', () => {
    const base = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', name: 'x', kind: 1, startMs: 0, endMs: 1, statusCode: 0, statusMessage: '', links: [], events: [], resource: {}, source: 't' };
    const span = (scopeName: string, attributes: Record<string, string>): SpanRecord => ({ ...base, scopeName, attributes });
    expect(openInferenceDialect.claims(span('@arizeai/openinference-instrumentation-openai-agents', { 'openinference.span.kind': 'AGENT' }))).toBe(false);
    expect(openInferenceDialect.claims(span('openinference.instrumentation.openai_agents', { 'openinference.span.kind': 'TOOL' }))).toBe(false);
    expect(openInferenceDialect.claims(span('@arizeai/openinference-instrumentation-langchain', { 'openinference.span.kind': 'LLM' }))).toBe(false);
    expect(openInferenceDialect.claims(span('@arizeai/openinference-instrumentation-langchain', { 'openinference.span.kind': 'TOOL' }))).toBe(true);
    expect(openInferenceDialect.claims(span('langsmith', { 'langsmith.span.kind': 'chain' }))).toBe(true);
    expect(openInferenceDialect.claims(span('langsmith', { 'langsmith.span.kind': 'llm' }))).toBe(false);
  });
});

describe('commandGotoOf', () => {
  it.each([
    ['{"output":{"lg_name":"Command","update":{"messages":[]},"goto":["bob"]}}', ['bob']],
    ['{"output":{"lg_name":"Command","goto":"carol"}}', ['carol']],
    ['{"lg_name":"Command","goto":[{"lg_name":"Send","node":"worker","args":{"goto":"x"}}]}', ['worker']],
    ['{"lg_name":"Command","update":{"a":1},"goto":[]}', []],
    ['{"lg_name":"Command","goto":"__end__"}', []],
    ["Command(update={'messages': []}, goto='billing')", ['billing']],
    // OpenInference's Python encoder: the Command dataclass as JSON, a Send inside it as str().
    ['{"graph": "__parent__", "update": {"messages": [{"content": "Successfully transferred to billing", "type": "tool", "name": "transfer_to_billing"}], "active_agent": "billing"}, "resume": null, "goto": "billing"}', ['billing']],
    ['{"graph": null, "update": null, "resume": null, "goto": ["Send(node=\'researcher\', arg={\'q\': 1})", "Send(node=\'writer\', arg={})"]}', ['researcher', 'writer']],
    ['{"graph": null, "update": null, "resume": null, "goto": "Sender"}', ['Sender']],
    ['moved 10 to savings', undefined],
    ['{"goto": ', undefined],
    ['{"goto":["unterminated', undefined],
  ])('%s → %j', (text, expected) => {
    expect(commandGotoOf(text)).toEqual(expected);
  });
});

describe('langGraphMetaOf', () => {
  it('reads OpenInference metadata JSON and LangSmith flattened keys alike, and nothing from bad input', () => {
    expect(langGraphMetaOf({ metadata: '{"langgraph_node":"alice","langgraph_step":2,"langgraph_checkpoint_ns":"alice:1","thread_id":"t"}' })).toEqual({
      node: 'alice',
      step: 2,
      ns: 'alice:1',
      threadId: 't',
    });
    expect(langGraphMetaOf({ 'langsmith.metadata.langgraph_node': 'bob', 'langsmith.metadata.langgraph_step': '3', 'langsmith.metadata.thread_id': 'u' })).toEqual({
      node: 'bob',
      step: 3,
      ns: undefined,
      threadId: 'u',
    });
    expect(langGraphMetaOf({ metadata: '{"langgraph_node": 7}' })).toBeUndefined();
    expect(langGraphMetaOf({ metadata: '["langgraph_node"]' })).toBeUndefined();
    expect(langGraphMetaOf({ metadata: '{"langgraph_node":' })).toBeUndefined();
    expect(langGraphMetaOf({ metadata: '{"ls_integration":"langchain"}' })).toBeUndefined();
  });
});

/**
 * LangSmith's OTel export of a LangGraph swarm (langsmith SDK `_otel_exporter`: run
 * type in `langsmith.span.kind`, each metadata key as `langsmith.metadata.<key>`,
 * outputs in `gen_ai.completion`, no checkpoint namespace in older exports), written
 * through the real OTel SDK.
 */
describe('openInferenceDialect on LangSmith OTel spans', () => {
  const harnesses: OtelHarness[] = [];
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.shutdown();
  });

  function write(build: (node: (name: string, step: number, attrs: Attributes, body?: () => void, error?: string) => void) => void): SpanRecord[] {
    const otel = createOtelHarness('langsmith-test');
    harnesses.push(otel);
    let nowMs = Date.UTC(2030, 0, 1);
    const tracer = otel.tracer;
    const node = (name: string, step: number, attrs: Attributes, body?: () => void, error?: string): void => {
      const span = tracer.startSpan(name, { startTime: (nowMs += 1), attributes: { 'langsmith.span.kind': 'chain', 'langsmith.metadata.thread_id': 'ls-1', ...attrs } });
      context.with(trace.setSpan(context.active(), span), () => body?.());
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end((nowMs += 1));
    };
    const root = tracer.startSpan('LangGraph', { startTime: nowMs, attributes: { 'langsmith.span.kind': 'chain' } });
    context.with(trace.setSpan(context.active(), root), () => build(node));
    root.end((nowMs += 1));
    return toSpanRecords(otel.spans());
  }

  const lg = (node: string, step: number): Attributes => ({ 'langsmith.metadata.langgraph_node': node, 'langsmith.metadata.langgraph_step': step });

  it('reads node runs, a Command handoff and the graph edge back, with no checkpoint namespace', () => {
    const spans = write((node) => {
      node('supervisor', 1, lg('supervisor', 1), () => {
        node('tools', 2, lg('tools', 2), () =>
          node('transfer_to_billing', 2, { ...lg('tools', 2), 'langsmith.span.kind': 'tool', 'gen_ai.completion': "{\"output\": \"Command(goto='billing', graph='__parent__')\"}" }),
        '',
        );
      }, 'ParentCommand(Command(goto=billing))');
      node('billing', 2, lg('billing', 2), () => node('agent', 1, lg('agent', 1)), undefined);
      node('supervisor', 3, lg('supervisor', 3));
    });
    const model = buildHandoffModel(spans);
    expect(model.agentRuns.map((r) => `${r.agent}: ${r.outcome}`)).toEqual(['supervisor: completed', 'billing: completed', 'supervisor: completed']);
    expect(model.handoffs.map((h) => `${h.source} → ${h.target} ${h.inferred ? 'inferred' : 'declared'}`)).toEqual(['supervisor → billing declared', 'billing → supervisor inferred']);
    expect(model.handoffs.map((h) => h.taskId)).toEqual(['ls-1', 'ls-1']);
  });

  it('fails a node that ended in a real error, and pauses one a GraphInterrupt stopped', () => {
    const spans = write((node) => {
      node('alice', 1, lg('alice', 1), undefined, 'ValueError: bad input');
      node('bob', 2, lg('bob', 2), undefined, 'GraphInterrupt(value=approve?)');
    });
    const model = buildHandoffModel(spans);
    expect(model.agentRuns.map((r) => `${r.agent}: ${r.outcome}`)).toEqual(['alice: failed', 'bob: blocked']);
  });

  it('makes no handoff from a transfer_to_x tool when no x node ran in the next step', () => {
    const spans = write((node) => {
      node('alice', 1, lg('alice', 1), () => node('transfer_to_xavier', 1, { ...lg('tools', 1), 'langsmith.span.kind': 'tool' }));
      node('bob', 2, lg('bob', 2));
      node('xavier', 4, lg('xavier', 4));
    });
    const model = buildHandoffModel(spans, { dialects: [openInferenceDialect] });
    // alice → bob along the graph's edge; the transfer to xavier three steps later is not that handoff.
    expect(model.handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(['alice → bob']);
  });
});

describe('openInferenceDialect on hostile input', () => {
  it('reads the LangGraph fields in place exactly as JSON.parse would, for any metadata object', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 });
    fc.assert(
      fc.property(
        fc.record(
          { langgraph_node: text, langgraph_step: fc.integer({ min: -5, max: 1e6 }), langgraph_checkpoint_ns: text, thread_id: text, note: text, nested: fc.dictionary(text, text) },
          { requiredKeys: ['langgraph_node'] },
        ),
        fc.boolean(),
        (meta, pretty) => {
          const json = pretty ? JSON.stringify(meta, null, 1) : JSON.stringify(meta);
          const expected =
            meta.langgraph_node === ''
              ? undefined
              : {
                  node: meta.langgraph_node,
                  step: meta.langgraph_step,
                  ns: meta.langgraph_checkpoint_ns === '' ? undefined : meta.langgraph_checkpoint_ns,
                  threadId: meta.thread_id === '' ? undefined : meta.thread_id,
                };
          expect(langGraphMetaOf({ metadata: json })).toEqual(expected);
        },
      ),
    );
  });

  it('never throws on arbitrary metadata or tool output text', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        langGraphMetaOf({ metadata: value });
        langGraphMetaOf({ metadata: `{"langgraph_node":${value}` });
        commandGotoOf(value);
        commandGotoOf(`{"lg_name":"Command","goto":${value}`);
      }),
    );
  });

  it('survives a parent cycle and a span that is its own parent', () => {
    const span = (spanId: string, parentSpanId: string, attributes: Record<string, string>): SpanRecord => ({
      traceId: 'c'.repeat(32),
      spanId,
      parentSpanId,
      name: spanId,
      kind: 1,
      startMs: 1,
      endMs: 2,
      statusCode: 0,
      statusMessage: '',
      attributes,
      links: [],
      events: [],
      resource: {},
      scopeName: '@arizeai/openinference-instrumentation-langchain',
      source: 't',
    });
    const node = (id: string, parent: string, name: string, step: number) =>
      span(id, parent, { 'openinference.span.kind': 'CHAIN', metadata: JSON.stringify({ langgraph_node: name, langgraph_step: step, langgraph_checkpoint_ns: `${name}:${id}` }) });
    const spans = [
      node('a'.repeat(16), 'b'.repeat(16), 'alice', 1),
      node('b'.repeat(16), 'a'.repeat(16), 'bob', 2),
      node('d'.repeat(16), 'd'.repeat(16), 'carol', 3),
      span('e'.repeat(16), 'a'.repeat(16), { 'openinference.span.kind': 'TOOL', 'tool.name': 'transfer_to_bob', 'output.value': '{"lg_name":"Command","goto":"bob"}' }),
    ];
    expect(() => buildHandoffModel(spans, { dialects: [openInferenceDialect] })).not.toThrow();
  });
});
