/**
 * Python multi-agent frameworks, as their own tracing code writes them
 * (fixtures/frameworks/python/: Google ADK, Strands Agents, Pydantic AI v2 and v5
 * instrumentation, CrewAI and the OpenAI Agents SDK via OpenInference, LangGraph and CrewAI
 * via OpenLLMetry, an AutoGen AgentChat Swarm, AG2's own instrumentation; constructed from each framework's
 * published source, since PyPI is out of reach). Each recorded run is audited in
 * every encoding it was written in and held to the program's own log; then each
 * behaviour those runs needed is checked on a small trace that must trigger it
 * and on a near miss that must not, written with the same Python-style spans
 * through the real OTel SDK.
 */
import { basename } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { SpanKind, type Attributes, type Tracer } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { Auditor, auditSpans } from '../../../src/analyze/audit.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import type { HandoffModel } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import { renderJson } from '../../../src/report/json.js';
import { renderText } from '../../../src/report/text.js';
import { pyEvent, PyError, pySpan } from '../../../fixtures/frameworks/python/py-span.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';
import { edgeCounts } from '../../../fixtures/frameworks/log.js';
import { auditFile, encodingsOf, expectReportMatchesLog, FRAMEWORKS_DIR, logOf, reportEdges } from './framework-fixtures.js';

const DIR = 'python';
/** The dialects that read each framework's runs (AutoGen: the runtime's manager, AgentChat's invoke_agent spans). */
const DIALECTS_OF: Record<string, readonly string[]> = {
  'google-adk': ['otel-genai'],
  strands: ['otel-genai'],
  'pydantic-ai': ['otel-genai'],
  crewai: ['crewai'],
  'openai-agents': ['openai-agents'],
  autogen: ['autogen', 'otel-genai'],
  'langgraph-openllmetry': ['openllmetry'],
  'crewai-openllmetry': ['openllmetry'],
  'traceloop-sdk': ['openllmetry'],
  ag2: ['ag2'],
  'ag2-openinference': ['ag2'],
  'ag2-beta': ['ag2'],
  'ag2-network': ['ag2'],
};

const scenarios = (await readdir(`${FRAMEWORKS_DIR}${DIR}`)).filter((f) => f.endsWith('.log.json')).map((f) => basename(f, '.log.json')).sort();
const cases = (await Promise.all(scenarios.map(async (s) => (await encodingsOf(DIR, s)).map((file) => [s, basename(file), file] as const)))).flat();

/** Every framework run in fixtures/frameworks/, recorded or constructed (its OTLP/JSON encoding). */
const allRuns = (await Promise.all(['langgraph', 'topologies', 'openai-agents', 'vercel-ai', 'autogen', 'agent-framework', 'mastra', DIR].map(async (dir) => (await readdir(`${FRAMEWORKS_DIR}${dir}`)).filter((f) => f.endsWith('.otlp.json')).map((f) => `${dir}/${f}`)))).flat();

async function spansOf(file: string): Promise<SpanRecord[]> {
  const out: SpanRecord[] = [];
  for await (const batch of readTraceInputs([file])) for (const span of batch) out.push(span);
  return out;
}

describe('constructed Python framework runs', () => {
  it('has every scenario in three encodings, four also as Jaeger JSON', () => {
    expect(scenarios).toEqual([
      'adk-circular',
      'adk-failed-transfer',
      'adk-no-content',
      'adk-support',
      'ag2-auto-pattern-a2a',
      'ag2-beta-subagents',
      'ag2-failed-transfer',
      'ag2-group-loop',
      'ag2-nested-chat',
      'ag2-network-chain',
      'ag2-network-concurrent',
      'ag2-network-loop',
      'ag2-network-retry',
      'ag2-sequential-chats',
      'ag2-two-agent-chat',
      'autogen-swarm',
      'crewai-delegation-wrapper',
      'crewai-event-listener',
      'crewai-hierarchical',
      'crewai-sequential',
      'openai-agents-py-openinference',
      'openinference-ag2-chain',
      'openinference-ag2-concurrent',
      'openinference-ag2-failed-transfer',
      'openinference-ag2-loop',
      'openinference-ag2-supervisor',
      'openllmetry-crewai-hierarchical',
      'openllmetry-crewai-sequential',
      'openllmetry-decorators',
      'openllmetry-langgraph-pipeline',
      'openllmetry-langgraph-swarm',
      'openllmetry-langgraph-swarm-no-content',
      'pydantic-ai-call-back',
      'pydantic-ai-v2-delegation',
      'pydantic-ai-v5-delegation',
      'strands-graph',
      'strands-graph-loop',
      'strands-swarm',
      'strands-swarm-loop',
    ]);
    expect(cases).toHaveLength(scenarios.length * 3 + 4);
  });

  it.each(cases)('%s (%s): agents, edges with counts, retries, loops, undelivered handoffs and runs are what the program logged', async (scenario, _name, file) => {
    expectReportMatchesLog(await auditFile(file), await logOf(DIR, scenario));
  });

  it.each(cases)('%s (%s): the failed runs are the ones the program logged, every run read by the framework’s dialect', async (scenario, _name, file) => {
    const log = await logOf(DIR, scenario);
    const model = buildHandoffModel(await spansOf(file));
    expect(model.agentRuns.filter((r) => r.outcome === 'failed').map((r) => r.agent).sort()).toEqual([...log.failures].sort());
    expect(new Set(model.agentRuns.map((r) => r.dialect))).toEqual(new Set(DIALECTS_OF[log.framework]));
  });

  it.each(cases.filter(([, name]) => name.endsWith('.otlp.json')))('%s (%s): the JSON report, --explain included, is valid against docs/audit-report.schema.json', async (_scenario, _name, file) => {
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    const schema = JSON.parse(await readFile(fileURLToPath(new URL('../../../docs/audit-report.schema.json', import.meta.url)), 'utf8')) as object;
    const validate = ajv.compile(schema);
    const report = JSON.parse(renderJson(await auditSpans(readTraceInputs([file]), { idleMs: 3_600_000, explain: true }))) as unknown;
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(cases)('%s (%s): each message the program could not deliver is one undelivered-handoff error from its source, and the text names it', async (scenario, _name, file) => {
    const log = await logOf(DIR, scenario);
    const report = await auditFile(file);
    const undelivered = report.findings.filter((f) => f.ruleId === 'undelivered-handoff');
    expect(undelivered.map((f) => [f.severity, f.agents?.[0]])).toEqual(log.undelivered.map((u) => ['error', u.source]));
    const text = renderText(report, { color: false, width: 200 });
    for (const u of log.undelivered) expect(text).toContain(`handoff ${u.source} → its target never arrived: refused:`);
  });
});

describe('CrewAI as other OpenInference versions and modes write it', () => {
  /** The hierarchical crew's OTLP/JSON, each span passed through `edit`, as SpanRecords. */
  async function variant(edit: (span: Record<string, unknown>, scope: { name: string }) => void): Promise<SpanRecord[]> {
    const doc = JSON.parse(await readFile(`${FRAMEWORKS_DIR}${DIR}/crewai-hierarchical.otlp.json`, 'utf8')) as {
      resourceSpans: { scopeSpans: { scope: { name: string }; spans: Record<string, unknown>[] }[] }[];
    };
    for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) edit(span, ss.scope);
    const { parseOtlpJsonRequest } = await import('../../../src/ingest/otlp-json.js');
    return parseOtlpJsonRequest(doc, 'variant.json');
  }

  it('reads the event-listener mode, whose tracer is named after its module', async () => {
    const spans = await variant((_span, scope) => {
      scope.name = 'openinference.instrumentation.crewai._event_listener';
    });
    expectReportMatchesLog(await auditSpans([spans], { idleMs: 3_600_000 }), await logOf(DIR, 'crewai-hierarchical'));
    // Near miss: a scope that only starts with the same letters is not CrewAI's.
    const other = await variant((_span, scope) => {
      scope.name = 'openinference.instrumentation.crewaiX';
    });
    expect(new Set(buildHandoffModel(other).agentRuns.map((r) => r.dialect)).has('crewai')).toBe(false);
  });

  it('reads delegations of instrumentation that traced ToolUsage._use, whose arguments sit under calling.arguments', async () => {
    const spans = await variant((span) => {
      const attributes = span.attributes as { key: string; value: { stringValue?: string } }[];
      const input = attributes.find((a) => a.key === 'input.value');
      if (input?.value.stringValue === undefined || !input.value.stringValue.includes('coworker')) return;
      const args = JSON.parse(input.value.stringValue) as Record<string, unknown>;
      input.value.stringValue = JSON.stringify({ tool_string: 'Action: Delegate work to coworker', calling: { tool_name: 'Delegate work to coworker', arguments: args } });
    });
    expectReportMatchesLog(await auditSpans([spans], { idleMs: 3_600_000 }), await logOf(DIR, 'crewai-hierarchical'));
  });
});

describe('CrewAI wrapper mode: the coworker’s work inside the delegation tool', () => {
  const wrapperSpans = () => spansOf(`${FRAMEWORKS_DIR}${DIR}/crewai-delegation-wrapper.otlp.json`);
  const delegationsOf = (spans: SpanRecord[]) => spans.filter((s) => s.name === 'Delegate work to coworker.run' || s.name === 'Ask question to coworker.run').sort((a, b) => a.startMs - b.startMs);

  it('arrives at the first span inside the tool (the coworker’s first model call), as the coworker', async () => {
    const spans = await wrapperSpans();
    const model = buildHandoffModel(spans);
    const tools = delegationsOf(spans);
    expect(tools).toHaveLength(2);
    const firstInside = tools.map((t) => spans.filter((s) => s.parentSpanId === t.spanId).sort((a, b) => a.startMs - b.startMs)[0]!);
    expect(firstInside.map((s) => s.name)).toEqual(['ChatCompletion', 'ChatCompletion']);
    expect(model.handoffs.map((h) => [h.target, h.receives.map((r) => [r.spanId, r.agent])])).toEqual([
      ['Researcher', [[firstInside[0]!.spanId, 'Researcher']]],
      ['Writer', [[firstInside[1]!.spanId, 'Writer']]],
    ]);
    const report = await auditFile(`${FRAMEWORKS_DIR}${DIR}/crewai-delegation-wrapper.otlp.json`);
    expect(report.edges.map((e) => e.latencyMs?.count)).toEqual([1, 1]);
  });

  it('near miss: without an LLM instrumentation, the coworker’s own tool is the first span inside; with nothing inside, no arrival', async () => {
    const spans = (await wrapperSpans()).filter((s) => s.scopeName !== 'openinference.instrumentation.openai');
    const model = buildHandoffModel(spans);
    const search = spans.find((s) => s.name === 'search_web.run')!;
    expect(model.handoffs.map((h) => [h.target, h.receives.map((r) => r.spanId)])).toEqual([
      ['Researcher', [search.spanId]],
      ['Writer', []],
    ]);
  });

  it('reads a delegation nested in another (no run span between) as the coworker delegating on', async () => {
    const original = await wrapperSpans();
    const [toResearcher, toWriter] = delegationsOf(original);
    // Researcher, working inside its delegation, asks Writer (CrewAI gives coworkers with allow_delegation the same tools).
    const spans = original.map((s): SpanRecord => (s.spanId === toWriter!.spanId ? { ...s, parentSpanId: toResearcher!.spanId } : s));
    expect(buildHandoffModel(spans).handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(['Crew Manager → Researcher', 'Researcher → Writer']);
    // Near miss: beside it, the manager is the one asking.
    expect(buildHandoffModel(original).handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(['Crew Manager → Researcher', 'Crew Manager → Writer']);
  });
});

describe('every framework run through a busy auditor', () => {
  // A busy auditor reduces long-open spans to what the dialects read: the events and status
  // messages they need (Strands' arguments, LangGraph's ParentCommand) must survive it.
  const summary = (report: { edges: readonly { source: string; target: string; handoffs: number; retries: number }[]; agentRuns: readonly { agent: string; failed: number; runs: number }[] }) => ({
    edges: report.edges.map((e) => `${e.source} → ${e.target} ×${e.handoffs} (${e.retries} retried)`).sort(),
    runs: report.agentRuns.map((a) => `${a.agent} ${a.failed} of ${a.runs} failed`).sort(),
  });

  it.each(allRuns)('%s: reads the same agents, edges, retries and failed runs as an idle one', async (file) => {
    const spans = await spansOf(`${FRAMEWORKS_DIR}${file}`);
    const lastEndMs = Math.max(...spans.map((s) => s.endMs));
    const busy = new Auditor({ idleMs: 3_600_000, softOpenSpans: 4 });
    busy.addSpans(spans);
    // The first sweep marks what is open; the second reduces what outlived it.
    busy.advance(lastEndMs);
    busy.advance(lastEndMs + 1);
    expect(summary(busy.finish())).toEqual(summary(await auditSpans([spans], { idleMs: 3_600_000 })));
  });
});

// ---------------------------------------------------------------------------------------------
// Each behaviour on a small trace, and its near miss.

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.shutdown();
});

/** A tracer of `scope` on a fresh provider; `read` returns what it finished as the analyzer reads it. */
function tracerOf(scope: string): { tracer: Tracer; read: () => SpanRecord[] } {
  const otel = createOtelHarness();
  harnesses.push(otel);
  return { tracer: otel.provider.getTracer(scope), read: () => toSpanRecords(otel.spans()) };
}

function edgesOf(model: HandoffModel): string[] {
  return model.handoffs.map((h) => `${h.source} → ${h.target} ×${h.sendCount}`);
}

function ignoredReasons(spans: readonly SpanRecord[]): Record<string, string> {
  const out: Record<string, string> = {};
  buildHandoffModel(spans, { onIgnored: (_d, ignored) => void (out[ignored.span.name] = ignored.reason) });
  return out;
}

const invoke = (agent: string, extra: Attributes = {}): Attributes => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': agent, ...extra });
const execute = (tool: string, extra: Attributes = {}): Attributes => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, ...extra });

describe('Google ADK: transfer_to_agent', () => {
  /** triage's call_llm runs `tool`, then (as ADK does) `next` under the same call_llm. */
  async function adkTransfer(toolAttributes: Attributes, next: 'sibling' | 'elsewhere' = 'sibling'): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('gcp.vertex.agent');
    await pySpan(tracer, 'invocation', {}, () =>
      pySpan(tracer, 'invoke_agent triage', { attributes: invoke('triage') }, async () => {
        await pySpan(tracer, 'call_llm', {}, async () => {
          await pySpan(tracer, 'execute_tool transfer_to_agent', { attributes: execute('transfer_to_agent', toolAttributes) }, async () => undefined);
          if (next === 'sibling') await pySpan(tracer, 'invoke_agent billing', { attributes: invoke('billing') }, async () => undefined);
        });
        if (next === 'elsewhere') await pySpan(tracer, 'call_llm', {}, () => pySpan(tracer, 'invoke_agent billing', { attributes: invoke('billing') }, async () => undefined));
      }),
    );
    return read();
  }

  it('reads the target from gcp.vertex.agent.tool_call_args, where ADK writes the arguments', async () => {
    const model = buildHandoffModel(await adkTransfer({ 'gcp.vertex.agent.tool_call_args': '{"agent_name": "billing"}' }, 'elsewhere'));
    expect(edgesOf(model)).toEqual(['triage → billing ×1']);
  });

  it('near miss: an ordinary tool whose ADK arguments name an agent is no transfer', async () => {
    const { tracer, read } = tracerOf('gcp.vertex.agent');
    await pySpan(tracer, 'invoke_agent triage', { attributes: invoke('triage') }, async () => {
      await pySpan(tracer, 'execute_tool lookup', { attributes: execute('lookup', { 'gcp.vertex.agent.tool_call_args': '{"agent_name": "billing"}' }) }, async () => undefined);
    });
    await pySpan(tracer, 'invoke_agent billing', { attributes: invoke('billing') }, async () => undefined);
    const spans = read();
    expect(buildHandoffModel(spans).handoffs).toEqual([]);
    expect(ignoredReasons(spans)['execute_tool lookup']).toMatch(/^tool lookup is not a transfer/);
  });

  it('without recorded arguments, takes the target from the agent run ADK starts right after the tool, under the same call_llm', async () => {
    const model = buildHandoffModel(await adkTransfer({}));
    expect(edgesOf(model)).toEqual(['triage → billing ×1']);
    expect(model.handoffs[0]!.inferred).toBe(true);
  });

  it('near miss: without arguments and with the next run elsewhere, names no target and says where it looked', async () => {
    const spans = await adkTransfer({}, 'elsewhere');
    expect(buildHandoffModel(spans).handoffs).toEqual([]);
    expect(ignoredReasons(spans)['execute_tool transfer_to_agent']).toMatch(/names no target: no agent in gen_ai\.tool\.call\.arguments, gcp\.vertex\.agent\.tool_call_args .*content capture off/);
  });
});

describe('Strands Agents: handoff_to_agent arguments in span events', () => {
  async function strandsHandoff(event: { name: string; attributes: Attributes }, target = 'coder'): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    await pySpan(tracer, 'invoke_swarm', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'invoke_swarm', 'gen_ai.agent.name': 'swarm' } }, async () => {
      await pySpan(tracer, 'invoke_agent researcher', { attributes: invoke('researcher') }, () =>
        pySpan(tracer, 'execute_event_loop_cycle', {}, () =>
          pySpan(tracer, 'execute_tool handoff_to_agent', { attributes: execute('handoff_to_agent') }, async (span) => pyEvent(span, event.name, event.attributes)),
        ),
      );
      await pySpan(tracer, `invoke_agent ${target}`, { attributes: invoke(target) }, async () => undefined);
    });
    return read();
  }

  it('reads the target from the gen_ai.tool.message event (the default conventions)', async () => {
    const spans = await strandsHandoff({ name: 'gen_ai.tool.message', attributes: { role: 'tool', content: '{"agent_name": "coder", "message": "implement it"}', id: 'tooluse_1' } });
    expect(edgesOf(buildHandoffModel(spans))).toEqual(['researcher → coder ×1']);
  });

  it('reads it from the operation-details event (OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental)', async () => {
    const messages = '[{"role": "tool", "parts": [{"type": "tool_call", "name": "handoff_to_agent", "id": "tooluse_1", "arguments": {"agent_name": "coder", "message": "go"}}]}]';
    const spans = await strandsHandoff({ name: 'gen_ai.client.inference.operation.details', attributes: { 'gen_ai.input.messages': messages } });
    expect(edgesOf(buildHandoffModel(spans))).toEqual(['researcher → coder ×1']);
  });

  it('near miss: an agent named only in the tool’s result event is no target', async () => {
    const spans = await strandsHandoff({ name: 'gen_ai.choice', attributes: { message: '[{"text": "Handing off to coder"}]', agent_name: 'coder' } });
    expect(buildHandoffModel(spans).handoffs).toEqual([]);
    expect(ignoredReasons(spans)['execute_tool handoff_to_agent']).toMatch(/^transfer tool handoff_to_agent names no target/);
  });
});

describe('Strands multi-agent containers', () => {
  it.each([
    ['invoke_graph', /^a Strands graph, a container of its nodes' runs; its edges are read from each node's input \(Inputs from previous nodes: From <node>:\): 2 entry node runs \(the graph's task, no edge\)$/],
    ['invoke_swarm', /^a Strands swarm, a container of its agents' runs; its handoffs are the handoff_to_agent calls inside them$/],
  ] as const)('%s: --explain says what the container hides, and no edge is made up between its nodes (one batch of two, no messages recorded)', async (operation, reason) => {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    await pySpan(tracer, operation, { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': operation, 'gen_ai.agent.name': operation.slice(7) } }, async () => {
      await Promise.all([
        pySpan(tracer, 'invoke_agent research', { attributes: invoke('research') }, async () => undefined),
        pySpan(tracer, 'invoke_agent report', { attributes: invoke('report') }, async () => undefined),
      ]);
    });
    const spans = read();
    expect(ignoredReasons(spans)[operation]).toMatch(reason);
    expect(buildHandoffModel(spans).handoffs).toEqual([]);
  });
});

describe('Strands Graph: the edges a node was started by, from its input', () => {
  /** The blocks `Graph._build_node_input` gives a node with these dependencies. */
  const nodeInput = (deps: readonly string[]) => [{ text: 'Original Task: t' }, { text: '\nInputs from previous nodes:' }, ...deps.flatMap((d) => [{ text: `\nFrom ${d}:` }, { text: `  - ${d}: done` }])];
  /** research, then report with `input` as its gen_ai.user.message content, inside `container`. */
  async function graph(input: unknown, container = 'invoke_graph', latest = false): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    await pySpan(tracer, container, { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': container, 'gen_ai.agent.name': container.slice(7) } }, async () => {
      await pySpan(tracer, 'invoke_agent research', { attributes: invoke('research') }, async (span) => pyEvent(span, 'gen_ai.user.message', { content: '[{"text": "t"}]' }));
      await pySpan(tracer, 'invoke_agent report', { attributes: invoke('report') }, async (span) => {
        if (latest) pyEvent(span, 'gen_ai.client.inference.operation.details', { 'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: (input as { text: string }[]).map((b) => ({ type: 'text', content: b.text })) }]) });
        else pyEvent(span, 'gen_ai.user.message', { content: JSON.stringify(input) });
      });
    });
    return read();
  }

  it.each([false, true])('reads a dependency named in the node’s input as an edge arriving at its run (latest conventions: %s)', async (latest) => {
    const spans = await graph(nodeInput(['research']), 'invoke_graph', latest);
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['research → report ×1']);
    expect(model.handoffs[0]!.mode).toBe('pass_control');
    expect(model.handoffs[0]!.receives.map((r) => r.spanId)).toEqual([spans.find((s) => s.name === 'invoke_agent report')!.spanId]);
  });

  it.each([
    ['gen_ai.choice', false],
    ['the operation-details event’s gen_ai.output.messages', true],
  ] as const)('matches a node id that is no agent’s name by the run whose answer (%s) is the result the input gives', async (_where, latest) => {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    const answer = (span: import('@opentelemetry/api').Span, text: string) =>
      latest
        ? pyEvent(span, 'gen_ai.client.inference.operation.details', { 'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: text }] }]) })
        : pyEvent(span, 'gen_ai.choice', { message: text, finish_reason: 'end_turn' });
    const input = [{ text: 'Original Task: t' }, { text: '\nInputs from previous nodes:' }, { text: '\nFrom research:' }, { text: '  - Agent: the facts\n' }];
    await pySpan(tracer, 'invoke_graph', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'invoke_graph', 'gen_ai.agent.name': 'graph' } }, async () => {
      await pySpan(tracer, 'invoke_agent researcher', { attributes: invoke('researcher') }, async (span) => answer(span, 'the facts\n'));
      await pySpan(tracer, 'invoke_agent other', { attributes: invoke('other') }, async (span) => answer(span, 'other facts\n'));
      await pySpan(tracer, 'invoke_agent report', { attributes: invoke('report') }, async (span) => pyEvent(span, 'gen_ai.user.message', { content: JSON.stringify(input) }));
      // Near miss: a run answering the same text after report started is not its dependency.
      await pySpan(tracer, 'invoke_agent late', { attributes: invoke('late') }, async (span) => answer(span, 'the facts\n'));
    });
    expect(edgesOf(buildHandoffModel(read()))).toEqual(['researcher → report ×1']);
  });

  it.each([true, false])('a swarm as a graph node: the edge into it arrives at its first run, the edge out of it leaves its run that gave the result (in a graph: %s)', async (inGraph) => {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    const choice = (span: import('@opentelemetry/api').Span, text: string) => pyEvent(span, 'gen_ai.choice', { message: text, finish_reason: 'end_turn' });
    const inputFrom = (node: string, results: string[]) => JSON.stringify([{ text: 'Original Task: t' }, { text: '\nInputs from previous nodes:' }, { text: `\nFrom ${node}:` }, ...results.map((r) => ({ text: `  - Agent: ${r}\n` }))]);
    const container = inGraph ? 'invoke_graph' : 'invoke_workflow';
    await pySpan(tracer, container, { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': container, 'gen_ai.agent.name': 'graph' } }, async () => {
      await pySpan(tracer, 'invoke_agent researcher', { attributes: invoke('researcher') }, async (span) => choice(span, 'facts\n'));
      await pySpan(tracer, 'invoke_swarm', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'invoke_swarm', 'gen_ai.agent.name': 'swarm' } }, async (span) => {
        pyEvent(span, 'gen_ai.user.message', { content: inputFrom('research', ['facts']) });
        await pySpan(tracer, 'invoke_agent drafter', { attributes: invoke('drafter') }, async (run) => choice(run, 'draft\n'));
        await pySpan(tracer, 'invoke_agent polisher', { attributes: invoke('polisher') }, async (run) => choice(run, 'polished\n'));
      });
      await pySpan(tracer, 'invoke_agent publisher', { attributes: invoke('publisher') }, async (span) => pyEvent(span, 'gen_ai.user.message', { content: inputFrom('team', ['draft', 'polished']) }));
    });
    expect(edgesOf(buildHandoffModel(read()))).toEqual(inGraph ? ['researcher → drafter ×1', 'polisher → publisher ×1'] : []);
  });

  it.each([
    ['the input names no dependency (an entry node)', [{ text: 't' }], 'invoke_graph'],
    ['"From research:" is not under "Inputs from previous nodes:"', [{ text: 'Original Task: t' }, { text: '\nFrom research:' }], 'invoke_graph'],
    ['the dependency ran no run in the graph (a node id that is not its agent’s name, and no run answered its result)', nodeInput(['research_node']), 'invoke_graph'],
    ['the runs are in a swarm, not a graph', nodeInput(['research']), 'invoke_swarm'],
  ] as const)('near miss: no edge when %s', async (_what, input, container) => {
    expect(buildHandoffModel(await graph(input, container)).handoffs).toEqual([]);
  });
});

describe('Strands Graph: nodes whose input is not recorded (no span events kept)', () => {
  /** The constructed graph fixtures as an SDK keeping no span events writes them (`OTEL_SPAN_EVENT_COUNT_LIMIT=0`). */
  async function withoutEvents(scenario: string): Promise<SpanRecord[]> {
    return (await spansOf(`${FRAMEWORKS_DIR}${DIR}/${scenario}.otlp.json`)).map((s) => ({ ...s, events: [] }));
  }
  /** The log's handoffs whose target ran right after a batch that was one node: the edges the batches still show. */
  function recoverable(log: Awaited<ReturnType<typeof logOf>>, spans: SpanRecord[]): string[] {
    const runs = spans.filter((s) => s.name.startsWith('invoke_agent ')).sort((a, b) => a.startMs - b.startMs);
    const batches: SpanRecord[][] = [];
    for (const run of runs) {
      const last = batches[batches.length - 1];
      if (last && run.startMs < Math.max(...last.map((r) => r.endMs))) last.push(run);
      else batches.push([run]);
    }
    const seen = new Map<string, number>();
    const out: string[] = [];
    for (let b = 1; b < batches.length; b++) {
      if (batches[b - 1]!.length !== 1) continue;
      const from = batches[b - 1]![0]!.attributes['gen_ai.agent.name'];
      for (const run of batches[b]!) out.push(`${from} → ${run.attributes['gen_ai.agent.name']}`);
    }
    for (const h of log.handoffs) seen.set(`${h.source} → ${h.target}`, (seen.get(`${h.source} → ${h.target}`) ?? 0) + 1);
    // Every edge the batches show is one the program took.
    for (const edge of out) expect(seen.get(edge) ?? 0, edge).toBeGreaterThan(0);
    return out;
  }
  const counted = (edges: string[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const e of edges) out[e] = (out[e] ?? 0) + 1;
    return out;
  };

  it('strands-graph: the edges out of the one-node batch are read (inferred), the ones into report_writer after a batch of two are not observable, and --explain says both', async () => {
    const log = await logOf(DIR, 'strands-graph');
    const spans = await withoutEvents('strands-graph');
    const model = buildHandoffModel(spans);
    const expected = counted(recoverable(log, spans));
    expect(expected).toEqual({ 'researcher → analyst': 1, 'researcher → fact_checker': 1 });
    expect(counted(model.handoffs.map((h) => `${h.source} → ${h.target}`))).toEqual(expected);
    expect(model.handoffs.every((h) => h.inferred && h.mode === 'pass_control' && h.receives.length === 1)).toBe(true);
    expect(ignoredReasons(spans)['invoke_graph']).toBe(
      "a Strands graph, a container of its nodes' runs; its edges are read from each node's input (Inputs from previous nodes: From <node>:): 1 entry node run (the graph's task, no edge); 2 without a recorded input took their edges from the one node of the batch before (inferred: only an edge from that batch makes a node ready); 1 without a recorded input ran after a batch of several nodes or a nested swarm or graph: which of them fed it is not observable, no edge read",
    );
  });

  it('strands-graph-loop: every batch is one node, so every edge the program took is read, and the loop with its laps', async () => {
    const log = await logOf(DIR, 'strands-graph-loop');
    const spans = await withoutEvents('strands-graph-loop');
    const report = await auditSpans((async function* () { yield spans; })(), { idleMs: 3_600_000 });
    expect(reportEdges(report)).toEqual(edgeCounts(log));
    expect(counted(recoverable(log, spans))).toEqual(edgeCounts(log));
    const cycle = report.findings.find((f) => f.ruleId === 'dependency-cycle')!;
    expect(cycle.message).toContain(`ran ${log.cycle!.laps} lap`);
  });

  it('near miss: with the events kept, the same graph is read from the inputs, and nothing from the batches', async () => {
    const log = await logOf(DIR, 'strands-graph');
    const spans = await spansOf(`${FRAMEWORKS_DIR}${DIR}/strands-graph.otlp.json`);
    expect(counted(buildHandoffModel(spans).handoffs.map((h) => `${h.source} → ${h.target}`))).toEqual(edgeCounts(log));
    expect(ignoredReasons(spans)['invoke_graph']).toBe("a Strands graph, a container of its nodes' runs; its edges are read from each node's input (Inputs from previous nodes: From <node>:): 3 node runs named their inputs; 1 entry node run (the graph's task, no edge)");
  });

  it('near miss: a node that recorded messages but no dependency is an entry node, even right after a one-node batch', async () => {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    await pySpan(tracer, 'invoke_graph', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'invoke_graph', 'gen_ai.agent.name': 'graph' } }, async () => {
      await pySpan(tracer, 'invoke_agent research', { attributes: invoke('research') }, async () => undefined);
      await pySpan(tracer, 'invoke_agent report', { attributes: invoke('report') }, async (span) => pyEvent(span, 'gen_ai.user.message', { content: '[{"text": "t"}]' }));
    });
    expect(buildHandoffModel(read()).handoffs).toEqual([]);
  });

  it('near miss: runs in a swarm, not a graph, get no edge from their order', async () => {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    await pySpan(tracer, 'invoke_swarm', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'invoke_swarm', 'gen_ai.agent.name': 'swarm' } }, async () => {
      await pySpan(tracer, 'invoke_agent research', { attributes: invoke('research') }, async () => undefined);
      await pySpan(tracer, 'invoke_agent report', { attributes: invoke('report') }, async () => undefined);
    });
    expect(buildHandoffModel(read()).handoffs).toEqual([]);
  });
});

describe('Pydantic AI instrumentation v2 names', () => {
  async function v2Run(runAttributes: Attributes): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('pydantic-ai');
    await pySpan(tracer, 'agent run', { attributes: runAttributes }, () =>
      pySpan(tracer, 'running tools', { attributes: { tools: ['ask_billing'] } }, () =>
        pySpan(tracer, 'running tool', { attributes: { 'gen_ai.tool.name': 'ask_billing', tool_arguments: '{"q":"why"}' } }, () =>
          pySpan(tracer, 'agent run', { attributes: { agent_name: 'billing_agent', model_name: 'gpt-4o' } }, async () => undefined),
        ),
      ),
    );
    return read();
  }

  it('reads `agent run` spans by agent_name (older releases write no gen_ai.agent.name) and `running tool` as the delegating tool', async () => {
    const model = buildHandoffModel(await v2Run({ agent_name: 'router_agent', 'gen_ai.agent.name': 'router_agent' }));
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['router_agent', 'billing_agent']);
    expect(edgesOf(model)).toEqual(['router_agent → billing_agent ×1']);
    expect(model.handoffs[0]!.mode).toBe('return_to_caller');
  });

  it('near miss: a span named `agent run` naming no agent is not an agent run', async () => {
    const model = buildHandoffModel(await v2Run({ model_name: 'gpt-4o' }));
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['billing_agent']);
    expect(model.handoffs).toEqual([]);
  });
});

describe('a failed delegation the model calls again', () => {
  async function twoCalls(firstFails: boolean): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('pydantic-ai');
    const call = (fail: boolean) =>
      pySpan(tracer, 'execute_tool ask_refunds', { attributes: execute('ask_refunds', { 'gen_ai.tool.call.arguments': '{"invoice":"INV-1"}' }) }, async () => {
        await pySpan(tracer, 'invoke_agent refunds_agent', { attributes: invoke('refunds_agent') }, async () => {
          if (fail) throw new PyError('UnexpectedModelBehavior', 'Exceeded maximum retries');
        }).catch(() => undefined);
        if (fail) throw new PyError('ToolRetryError', 'try again');
      }).catch(() => undefined);
    await pySpan(tracer, 'invoke_agent billing_agent', { attributes: invoke('billing_agent') }, async () => {
      await call(firstFails);
      await call(false);
    });
    return read();
  }

  it('is one handoff attempted twice, arriving at the first run', async () => {
    const spans = await twoCalls(true);
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['billing_agent → refunds_agent ×2']);
    expect(model.handoffs[0]!.receives.map((r) => r.spanId)).toEqual([spans.filter((s) => s.name === 'invoke_agent refunds_agent')[0]!.spanId]);
    expect(Object.values(ignoredReasons(spans)).some((r) => r.startsWith('retry of the failed call on span'))).toBe(true);
  });

  it('near miss: two successful calls are two handoffs', async () => {
    expect(edgesOf(buildHandoffModel(await twoCalls(false)))).toEqual(['billing_agent → refunds_agent ×1', 'billing_agent → refunds_agent ×1']);
  });
});

describe('a transfer the framework refused', () => {
  async function handoffTo(target: string, outcome: { toolStatus?: string; senderFails?: boolean; worksOn?: boolean }): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('strands.telemetry.tracer');
    await pySpan(tracer, 'invoke_agent researcher', { attributes: invoke('researcher') }, async () => {
      await pySpan(tracer, 'execute_tool handoff_to_agent', { attributes: execute('handoff_to_agent', { 'gen_ai.tool.call.arguments': JSON.stringify({ agent_name: target }) }) }, async (span) => {
        if (outcome.toolStatus) span.setAttribute('gen_ai.tool.status', outcome.toolStatus);
      });
      // The run goes on (a model call) before it fails: the failure is not the transfer's.
      if (outcome.worksOn) await pySpan(tracer, 'chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat' } }, async () => undefined);
      if (outcome.senderFails) throw new PyError(outcome.worksOn ? 'RateLimitError' : 'ValueError', outcome.worksOn ? 'quota exceeded' : `Agent ${target} not found in the agent tree.`);
    }).catch(() => undefined);
    return read();
  }

  it.each([
    ['the tool reported an error', { toolStatus: 'error' }, /the tool reported an error \(gen_ai\.tool\.status\)/],
    ['the sender’s run failed', { senderFails: true }, /researcher's run failed right after it: ValueError: Agent analyst not found/],
  ] as const)('when %s and the agent never ran, is an undelivered handoff naming the agent asked for', async (_what, outcome, cause) => {
    const report = await auditSpans([await handoffTo('analyst', outcome)]);
    const findings = report.findings.filter((f) => f.ruleId === 'undelivered-handoff');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/^handoff researcher → its target never arrived: refused: no agent analyst ran; /);
    expect(findings[0]!.message).toMatch(cause);
    expect(report.edges.map((e) => `${e.source} → ${e.target}`)).toEqual(['researcher → unknown']);
  });

  it('near miss: a sender that went on working and failed later did not fail for the transfer: a handoff to that agent', async () => {
    const report = await auditSpans([await handoffTo('analyst', { senderFails: true, worksOn: true })]);
    expect(report.findings.filter((f) => f.ruleId === 'undelivered-handoff')).toEqual([]);
    expect(report.edges.map((e) => `${e.source} → ${e.target}`)).toEqual(['researcher → analyst']);
  });

  it('near miss: a successful call to an agent not in the data stays a handoff to that agent, not a drop', async () => {
    const report = await auditSpans([await handoffTo('analyst', { toolStatus: 'success' })]);
    expect(report.findings.filter((f) => f.ruleId === 'undelivered-handoff')).toEqual([]);
    expect(report.edges.map((e) => `${e.source} → ${e.target}`)).toEqual(['researcher → analyst']);
  });
});

describe('OpenAI Agents SDK through OpenInference’s Python bridge', () => {
  it.each(cases.filter(([s]) => s === 'openai-agents-py-openinference'))('%s (%s): --explain names the handoff requests the SDK dropped, read from the status’s Python repr', async (_s, _name, file) => {
    expect(ignoredReasons(await spansOf(file))['handoff to billing']).toBe('Multiple handoffs requested: the SDK ran only the handoff to billing; the requests to refunds were dropped (read as one handoff)');
  });

  it('near miss: a handoff that failed otherwise is still the handoff, with no dropped requests', async () => {
    const { tracer, read } = tracerOf('openinference.instrumentation.openai_agents');
    await pySpan(tracer, 'Agent workflow', { attributes: { 'openinference.span.kind': 'AGENT' } }, async () => {
      await pySpan(tracer, 'triage', { attributes: { 'openinference.span.kind': 'AGENT', 'graph.node.id': 'triage' } }, () =>
        pySpan(tracer, 'handoff to billing', { attributes: { 'openinference.span.kind': 'TOOL', 'input.value': 'triage', 'output.value': 'billing' } }, async () => {
          throw new PyError('ModelBehaviorError', "{'requested_agents': ['billing', 'refunds']}");
        }).catch(() => undefined),
      );
      await pySpan(tracer, 'billing', { attributes: { 'openinference.span.kind': 'AGENT', 'graph.node.id': 'billing', 'graph.node.parent_id': 'triage' } }, async () => undefined);
    });
    const spans = read();
    expect(edgesOf(buildHandoffModel(spans))).toEqual(['triage → billing ×1']);
    expect(ignoredReasons(spans)['handoff to billing']).toBeUndefined();
  });
});

describe('CrewAI via OpenInference', () => {
  const CREW = 'crew-1';
  const task = (role: string, parent: string | undefined, crewId = CREW): Attributes => ({
    'openinference.span.kind': 'AGENT',
    'graph.node.id': role,
    crew_id: crewId,
    ...(parent ? { 'graph.node.parent_id': parent } : {}),
  });

  async function crew(body: (tracer: Tracer) => Promise<void>): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('openinference.instrumentation.crewai');
    await pySpan(tracer, 'Crew_1.kickoff', { attributes: { 'openinference.span.kind': 'CHAIN', crew_id: CREW, crew_agents: JSON.stringify([{ role: 'Researcher' }, { role: 'Writer' }]) } }, () => body(tracer));
    return read();
  }

  it('reads a sequential crew’s task context from graph.node.parent_id when that agent’s task ran before', async () => {
    const spans = await crew(async (t) => {
      await pySpan(t, 'Researcher.research._execute_core', { attributes: task('Researcher', undefined) }, async () => undefined);
      await pySpan(t, 'Writer.write._execute_core', { attributes: task('Writer', 'Researcher') }, async () => undefined);
    });
    expect(edgesOf(buildHandoffModel(spans))).toEqual(['Researcher → Writer ×1']);
  });

  it.each([
    ['the tasks ran in another order than the agents list', false],
    ['the parent ran in another crew', true],
  ] as const)('near miss: no edge when %s', async (_what, otherCrew) => {
    const spans = await crew(async (t) => {
      if (otherCrew) await pySpan(t, 'Researcher.research._execute_core', { attributes: task('Researcher', undefined, 'crew-2') }, async () => undefined);
      await pySpan(t, 'Writer.write._execute_core', { attributes: task('Writer', 'Researcher') }, async () => undefined);
      if (!otherCrew) await pySpan(t, 'Researcher.research._execute_core', { attributes: task('Researcher', undefined) }, async () => undefined);
    });
    const model = buildHandoffModel(spans);
    expect(model.handoffs).toEqual([]);
    expect(model.agentRuns.map((r) => r.agent).sort()).toEqual(['Researcher', 'Writer']);
  });

  it('reads a coworker delegation, matching the crew’s roster case-insensitively; a coworker outside it is refused', async () => {
    const tool = (name: string, coworker: string): Attributes => ({ 'openinference.span.kind': 'TOOL', 'tool.name': name, 'input.value': JSON.stringify({ task: 't', context: 'c', coworker }) });
    const spans = await crew(async (t) => {
      await pySpan(t, 'Crew Manager.plan._execute_core', { attributes: task('Crew Manager', undefined) }, async () => {
        await pySpan(t, 'Ask question to coworker.run', { attributes: tool('Ask question to coworker', 'writer') }, async () => undefined);
        await pySpan(t, 'Delegate work to coworker.run', { attributes: tool('Delegate work to coworker', 'Market Analyst') }, async () => undefined);
        await pySpan(t, 'Search the internet.run', { attributes: tool('Search the internet', 'Researcher') }, async () => undefined);
      });
    });
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['Crew Manager → Writer ×1', 'Crew Manager → unknown ×1']);
    expect(model.handoffs[0]!.mode).toBe('return_to_caller');
    expect(model.handoffs[1]!.deliveries?.[0]?.status).toBe("refused: no coworker Market Analyst; not one of the crew's agents (Researcher, Writer)");
    expect(ignoredReasons(spans)['Search the internet.run']).toMatch(/is not a delegation/);
  });

  it('a delegation to a crew member whose tool call failed is undelivered, naming the member, not "no coworker"', async () => {
    const tool: Attributes = { 'openinference.span.kind': 'TOOL', 'tool.name': 'Delegate work to coworker', 'input.value': JSON.stringify({ task: 't', context: 'c', coworker: 'writer' }) };
    const spans = await crew(async (t) => {
      await pySpan(t, 'Crew Manager.plan._execute_core', { attributes: task('Crew Manager', undefined) }, async () => {
        await pySpan(t, 'Delegate work to coworker.run', { attributes: tool }, async () => {
          throw new PyError('TimeoutError', 'the coworker did not answer');
        }).catch(() => undefined);
      });
    });
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['Crew Manager → unknown ×1']);
    expect(model.handoffs[0]!.deliveries?.[0]?.status).toBe('refused: the delegation to Writer failed; the tool call failed: TimeoutError: the coworker did not answer');
  });
});

describe('CrewAI: a coworker run nested in the delegation (event-listener mode)', () => {
  const CREW_AGENTS = JSON.stringify([{ role: 'Researcher' }, { role: 'Writer' }]);
  const agent = (role: string, parent?: string): Attributes => ({ 'openinference.span.kind': 'AGENT', 'graph.node.id': role, ...(parent ? { 'graph.node.parent_id': parent } : {}) });
  const tool = (name: string, coworker: string): Attributes => ({ 'openinference.span.kind': 'TOOL', 'tool.name': name, 'input.value': JSON.stringify({ task: 't', context: 'c', coworker }) });

  async function crew(body: (tracer: Tracer) => Promise<void>): Promise<SpanRecord[]> {
    const { tracer, read } = tracerOf('openinference.instrumentation.crewai._event_listener');
    await pySpan(tracer, 'crew.kickoff', { attributes: { 'openinference.span.kind': 'CHAIN', crew_agents: CREW_AGENTS } }, () =>
      pySpan(tracer, 'Crew Manager.plan.execute', { attributes: agent('Crew Manager') }, () => body(tracer)),
    );
    return read();
  }
  /** A coworker's run nested in a delegation tool span; `fails`: its run raises and the tool answers with CrewAI's error text. */
  const delegate = (t: Tracer, name: string, coworker: string, fails = false): Promise<void> =>
    pySpan(t, `${name}.run`, { attributes: tool(name, coworker) }, async (span) => {
      await pySpan(t, `${coworker}.t.execute`, { attributes: agent(coworker, coworker === 'Writer' ? 'Researcher' : undefined) }, async () => {
        if (fails) throw new PyError('TimeoutError', 'timed out');
      }).catch(() => span.setAttribute('output.value', `Error executing task with agent '${coworker.toLowerCase()}'. Error: timed out`));
    });

  it('reads a sequential crew’s task context without crew_id on the agent spans, from the enclosing kickoff’s crew_id; near miss: not across two crews', async () => {
    const { tracer, read } = tracerOf('openinference.instrumentation.crewai._event_listener');
    const kickoff = (crewId: string, body: () => Promise<void>) => pySpan(tracer, 'crew.kickoff', { attributes: { 'openinference.span.kind': 'CHAIN', crew_id: crewId, crew_agents: CREW_AGENTS } }, body);
    await kickoff('crew-a', async () => {
      await pySpan(tracer, 'Researcher.research.execute', { attributes: agent('Researcher') }, async () => undefined);
      await pySpan(tracer, 'Writer.write.execute', { attributes: agent('Writer', 'Researcher') }, async () => undefined);
    });
    await kickoff('crew-b', () => pySpan(tracer, 'Writer.write.execute', { attributes: agent('Writer', 'Researcher') }, async () => undefined));
    expect(edgesOf(buildHandoffModel(read()))).toEqual(['Researcher → Writer ×1']);
  });

  it('reads the sanitized tool names of CrewAI’s events, the nested run as the arrival, and no sequential edge from its graph.node.parent_id', async () => {
    const spans = await crew(async (t) => {
      await delegate(t, 'delegate_work_to_coworker', 'Researcher');
      await delegate(t, 'ask_question_to_coworker', 'Writer');
    });
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['Crew Manager → Researcher ×1', 'Crew Manager → Writer ×1']);
    const writerRun = spans.find((s) => s.name === 'Writer.t.execute')!;
    expect(model.handoffs[1]!.receives.map((r) => r.spanId)).toEqual([writerRun.spanId]);
  });

  it('near miss: a tool whose sanitized name is not a coworker tool is no delegation, and the runs nested in it keep their sequential edge', async () => {
    const spans = await crew(async (t) => {
      await pySpan(t, 'Researcher.t.execute', { attributes: agent('Researcher') }, async () => undefined);
      await delegate(t, 'delegate_work_to_coworkers_team', 'Writer');
    });
    expect(edgesOf(buildHandoffModel(spans))).toEqual(['Researcher → Writer ×1']);
    expect(ignoredReasons(spans)['delegate_work_to_coworkers_team.run']).toMatch(/is not a delegation/);
  });

  it('a delegation whose coworker failed, made again from the same run to the same coworker, is one handoff attempted twice', async () => {
    const spans = await crew(async (t) => {
      await delegate(t, 'delegate_work_to_coworker', 'Researcher', true);
      await delegate(t, 'Delegate work to coworker', 'Researcher');
    });
    const model = buildHandoffModel(spans);
    expect(edgesOf(model)).toEqual(['Crew Manager → Researcher ×2']);
    expect(model.agentRuns.filter((r) => r.outcome === 'failed').map((r) => r.agent)).toEqual(['Researcher']);
  });

  it.each([
    ['the first call succeeded', false, 'Researcher'],
    ['the next call goes to another coworker', true, 'Writer'],
  ] as const)('near miss: two handoffs, no retry, when %s', async (_what, firstFails, second) => {
    const spans = await crew(async (t) => {
      await delegate(t, 'delegate_work_to_coworker', 'Researcher', firstFails);
      await delegate(t, 'delegate_work_to_coworker', second);
    });
    const model = buildHandoffModel(spans);
    expect(model.handoffs.map((h) => h.sendCount)).toEqual([1, 1]);
    expect(model.handoffs.map((h) => h.target)).toEqual(['Researcher', second]);
  });
});
