/**
 * The openllmetry dialect on OpenLLMetry's traces: the real OpenAI Agents SDK's runs written through
 * OpenLLMetry's Python processor (fixtures/frameworks/openai-agents/<scenario>.openllmetry.*,
 * constructed from its `_hooks.py` and fed the SDK's span events), and the Python LangGraph and
 * CrewAI programs of fixtures/frameworks/python/openllmetry.ts (their log-held checks are in
 * python-frameworks.test.ts). Every expectation comes from the programs' own logs; each behaviour
 * has a near miss that must not trigger it, made by editing a copy of the spans.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createAgentSpan, createFunctionSpan, createHandoffSpan, setTraceProcessors, setTracingDisabled, withTrace, type Span as AgentsSpan } from '@openai/agents';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import type { IgnoredSpan } from '../../../src/analyze/dialects/dialect.js';
import { dialectById } from '../../../src/analyze/dialects/index.js';
import { openLlmetryDialect } from '../../../src/analyze/dialects/traceloop.js';
import { readTraceInputs } from '../../../src/ingest/read-trace-inputs.js';
import type { HandoffModel } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { stripAttributes } from '../../helpers/analyze.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';
import { edgeCounts, newLog, ran, type ProgramLog } from '../../../fixtures/frameworks/log.js';
import { OPENLLMETRY_OPENAI_AGENTS_SCOPE, OPENLLMETRY_OPENAI_AGENTS_VERSION, OpenLlmetryShapedProcessor } from '../../../fixtures/frameworks/openai-agents/openllmetry-processor.js';
import { CrewTrace, DecoratedApp, OPENLLMETRY_CREWAI_SCOPE, TRACELOOP_SDK_SCOPE } from '../../../fixtures/frameworks/python/openllmetry.js';
import { logOf } from './framework-fixtures.js';

const AGENTS_DIR = fileURLToPath(new URL('../../../fixtures/frameworks/openai-agents/', import.meta.url));
const PYTHON_DIR = fileURLToPath(new URL('../../../fixtures/frameworks/python/', import.meta.url));
const ENCODINGS = ['openllmetry.otlp.json', 'openllmetry.collector.jsonl', 'openllmetry.pb'] as const;
const SCENARIOS = ['chain', 'hub', 'cycle', 'retry', 'multiple-handoffs', 'concurrent', 'parallel'] as const;

/** The OpenAI Agents program's log (fixtures/frameworks/openai-agents/generate.ts RunLog). */
interface RunLog {
  agents: string[];
  handoffs: { from: string; to: string }[];
  toolAttempts: { agent: string; tool: string; ok: boolean }[];
  delegations: { from: string; to: string; ok: boolean }[];
  requestedTogether: string[][];
  outcome: 'completed' | 'max_turns' | 'error';
  chains?: string[][];
}

function runsOf(scenario: string): RunLog[] {
  return (JSON.parse(readFileSync(`${AGENTS_DIR}${scenario}.log.json`, 'utf8')) as { runs: RunLog[] }).runs;
}

async function read(file: string): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  for await (const batch of readTraceInputs([file])) spans.push(...batch);
  return spans;
}

const agentsSpans = (scenario: string, encoding: string = ENCODINGS[0]): Promise<SpanRecord[]> => read(`${AGENTS_DIR}${scenario}.${encoding}`);
const pythonSpans = (scenario: string): Promise<SpanRecord[]> => read(`${PYTHON_DIR}${scenario}.otlp.json`);

/** One model per trace (OpenLLMetry's OTel trace ids are its own: runs are matched by their first agent). */
function modelsOf(spans: readonly SpanRecord[], ignored?: IgnoredSpan[]): HandoffModel[] {
  const traces = new Map<string, SpanRecord[]>();
  for (const span of spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
  return [...traces.values()].map((group) => buildHandoffModel(group, { onIgnored: ignored ? (_d, i) => ignored.push(i) : undefined }));
}

function modelFor(run: RunLog, models: readonly HandoffModel[]): HandoffModel {
  const model = models.find((m) => m.agentRuns.length > 0 && m.agentRuns[0]!.agent === run.agents[0]);
  if (!model) throw new Error(`no trace starts with ${run.agents[0]}`);
  return model;
}

/** Every handoff and every delegation the run made, a failed attempt and its retry being one. */
function loggedEdges(run: RunLog): [string, number][] {
  const edges = new Map<string, number>();
  const add = (from: string, to: string) => edges.set(`${from} → ${to}`, (edges.get(`${from} → ${to}`) ?? 0) + 1);
  for (const h of run.handoffs) add(h.from, h.to);
  let retrying = false;
  for (const d of run.delegations) {
    if (!retrying) add(d.from, d.to);
    retrying = !d.ok;
  }
  return [...edges].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function modelEdges(model: HandoffModel): [string, number][] {
  const edges = new Map<string, number>();
  for (const h of model.handoffs) edges.set(`${h.source} → ${h.target}`, (edges.get(`${h.source} → ${h.target}`) ?? 0) + 1);
  return [...edges].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

const edgeList = (model: HandoffModel): string[] => model.handoffs.map((h) => `${h.source} → ${h.target}`);

describe.each(ENCODINGS.map((e) => [e] as const))('OpenLLMetry OpenAI Agents runs as %s', (encoding) => {
  it.each(SCENARIOS.map((s) => [s] as const))('%s: agents, edges and counts, handoff order and arrivals as the run logged them, all read as openllmetry', async (scenario) => {
    const models = modelsOf(await agentsSpans(scenario, encoding));
    for (const run of runsOf(scenario)) {
      const model = modelFor(run, models);
      expect(model.dialects.map((d) => d.id)).toEqual(['openllmetry']);
      expect(model.agentRuns.map((r) => r.agent).sort()).toEqual([...run.agents].sort());
      expect(modelEdges(model)).toEqual(loggedEdges(run));
      const handoffs = model.handoffs.filter((h) => h.mode === 'pass_control');
      expect(handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(run.handoffs.map((h) => `${h.from} → ${h.to}`));
      for (const h of handoffs) expect(h.inferred).toBe(false);
      // The last handoff of a run stopped by maxTurns never arrived: no latency sample for it.
      const arrived = handoffs.map((h) => h.receives.length > 0);
      expect(arrived).toEqual(run.handoffs.map((_h, k) => run.outcome !== 'max_turns' || k < run.handoffs.length - 1));
      for (const h of model.handoffs) for (const receive of h.receives) expect(receive.startMs).toBeGreaterThanOrEqual(h.send!.startMs);
    }
  });
});

describe('OpenLLMetry OpenAI Agents runs: each behaviour and its near miss', () => {
  it('cycle: circular delegation bounded by maxTurns is found with its laps; hub round trips are not (near miss)', async () => {
    const [run] = runsOf('cycle');
    const report = await auditSpans([await agentsSpans('cycle')]);
    const cycles = report.findings.filter((f) => f.ruleId === 'dependency-cycle');
    expect(cycles).toHaveLength(1);
    const first = run!.agents[0]!;
    expect(cycles[0]!.message).toContain(run!.agents.slice(0, run!.agents.indexOf(first, 1) + 1).join(' → '));
    expect(cycles[0]!.message).toContain(`${run!.agents.filter((a, i) => i > 0 && a === first).length} laps`);
    const hub = await auditSpans([await agentsSpans('hub')]);
    expect(hub.findings.filter((f) => f.ruleId === 'dependency-cycle')).toEqual([]);
  });

  it('retry: a failed run as a tool and its retry are one inferred delegation with the logged attempts; the failed run stays failed; a plain tool is no handoff', async () => {
    const [run] = runsOf('retry');
    const ignored: IgnoredSpan[] = [];
    const model = modelFor(run!, modelsOf(await agentsSpans('retry'), ignored));
    const delegations = model.handoffs.filter((h) => h.mode === 'return_to_caller');
    expect(delegations.map((h) => [`${h.source} → ${h.target}`, h.sendCount, h.inferred])).toEqual([['orchestrator → researcher', run!.delegations.length, true]]);
    expect(model.agentRuns.filter((r) => r.agent === 'researcher').map((r) => r.outcome)).toEqual(run!.delegations.map((d) => (d.ok ? 'completed' : 'failed')));
    const tool = run!.toolAttempts[0]!.tool;
    expect(ignored.filter((i) => i.reason === `tool ${tool} ran no agent: not a handoff (OpenLLMetry records handoffs as their own spans)`)).toHaveLength(run!.toolAttempts.length);
  });

  it('retry (near miss): a run that outlives the tool call it started in is no delegation through it', async () => {
    const spans = await agentsSpans('retry');
    const calls = spans.filter((s) => s.name === 'ask_researcher.tool');
    const lastEnd = Math.max(...spans.map((s) => s.endMs));
    // The researcher's runs end after everything else: nothing contains them any more.
    const moved = spans.map((s) => (s.name === 'researcher.agent' ? { ...s, endMs: lastEnd + 5 } : s));
    const [run] = runsOf('retry');
    const model = modelFor(run!, modelsOf(moved));
    expect(calls).toHaveLength(2);
    expect(model.handoffs.filter((h) => h.target === 'researcher')).toEqual([]);
    expect(edgeList(model)).toEqual(run!.handoffs.map((h) => `${h.from} → ${h.to}`));
  });

  it('chain: the plain tool named like a handoff tool is no handoff (near miss)', async () => {
    const [run] = runsOf('chain');
    const ignored: IgnoredSpan[] = [];
    const model = modelFor(run!, modelsOf(await agentsSpans('chain'), ignored));
    expect(model.handoffs.some((h) => h.target.includes('savings'))).toBe(false);
    expect(ignored.filter((i) => i.reason.startsWith('tool transfer_to_savings_account ran no agent'))).toHaveLength(1);
  });

  it('multiple-handoffs: one handoff to the agent the SDK ran; the dropped request is explained from the Python repr', async () => {
    const [run] = runsOf('multiple-handoffs');
    const ignored: IgnoredSpan[] = [];
    const model = modelFor(run!, modelsOf(await agentsSpans('multiple-handoffs'), ignored));
    expect(edgeList(model)).toEqual(run!.handoffs.map((h) => `${h.from} → ${h.to}`));
    expect(model.handoffs[0]!.sendCount).toBe(1);
    expect(ignored.filter((i) => i.reason.startsWith('one response asked for several handoffs')).map((i) => i.reason)).toEqual([expect.stringContaining(run!.requestedTogether[0]!.join(', '))]);
  });

  it('a handoff span without gen_ai.handoff.to_agent is ignored with the reason, and no edge is made up (near miss)', async () => {
    const spans = stripAttributes(await agentsSpans('chain'), ['gen_ai.handoff.to_agent']);
    const ignored: IgnoredSpan[] = [];
    const [model] = modelsOf(spans, ignored);
    expect(model!.handoffs).toEqual([]);
    expect(ignored.filter((i) => i.reason.startsWith('handoff without gen_ai.handoff.to_agent'))).toHaveLength(runsOf('chain')[0]!.handoffs.length);
  });

  it('concurrent runs in one file stay apart: each trace has only its own agents', async () => {
    const models = modelsOf(await agentsSpans('concurrent'));
    for (const run of runsOf('concurrent')) expect(new Set(modelFor(run, models).agentRuns.map((r) => r.agent))).toEqual(new Set(run.agents));
  });

  it('reports what the processor cannot show as not evaluated for openllmetry, never as passed', async () => {
    const report = await auditSpans([await agentsSpans('chain')]);
    expect(report.findings).toEqual([]);
    const reasons = report.rules.flatMap((r) => r.notEvaluated.map((n) => n.reason));
    expect(reasons).toEqual(expect.arrayContaining(['in-process transfers: openllmetry does not record acknowledgements']));
  });
});

describe('OpenLLMetry LangGraph runs: each behaviour and its near miss', () => {
  it('swarm: the transfers are declared by their goto spans; without them (near miss) they are inferred from the tool names, with the same edges', async () => {
    const log = await logOf('python', 'openllmetry-langgraph-swarm-no-content');
    const spans = await pythonSpans('openllmetry-langgraph-swarm-no-content');
    const declared = buildHandoffModel(spans);
    const logged = log.handoffs.map((h) => `${h.source} → ${h.target}`);
    expect(edgeList(declared)).toEqual(logged);
    expect(declared.handoffs.map((h) => h.inferred)).toEqual(logged.map(() => false));
    const withoutGoto = buildHandoffModel(spans.filter((s) => s.attributes['gen_ai.operation.name'] !== 'goto'));
    expect(edgeList(withoutGoto)).toEqual(logged);
    expect(withoutGoto.handoffs.map((h) => h.inferred)).toEqual(logged.map(() => true));
  });

  it('swarm: a handoff ends the sender in ParentCommand, a completed run; an error of another type fails it (near miss)', async () => {
    const spans = await pythonSpans('openllmetry-langgraph-swarm');
    expect(buildHandoffModel(spans).agentRuns.map((r) => r.outcome)).toEqual(['completed', 'completed', 'completed']);
    const failing = spans.map((s) => (s.attributes['error.type'] === 'ParentCommand' ? { ...s, attributes: { ...s.attributes, 'error.type': 'ValueError' }, events: [] } : s));
    expect(buildHandoffModel(failing).agentRuns.map((r) => `${r.agent}: ${r.outcome}`)).toEqual(['alice: failed', 'bob: failed', 'alice: completed']);
  });

  it('swarm: a tool named like a transfer that returned no Command is explained, not an edge (near miss)', async () => {
    const ignored: IgnoredSpan[] = [];
    buildHandoffModel(await pythonSpans('openllmetry-langgraph-swarm'), { onIgnored: (_d, i) => ignored.push(i) });
    expect(ignored.filter((i) => i.span.name === 'execute_tool transfer_to_savings').map((i) => i.reason)).toEqual(['tool transfer_to_savings is named like a transfer but returned no LangGraph Command: not a handoff']);
  });

  it('pipeline: a node that returned a Command is the declared sender; plain edges are inferred; without the goto span and output (near miss) all are inferred', async () => {
    const log = await logOf('python', 'openllmetry-langgraph-pipeline');
    const spans = await pythonSpans('openllmetry-langgraph-pipeline');
    const model = buildHandoffModel(spans);
    expect(model.handoffs.map((h) => [`${h.source} → ${h.target}`, h.inferred])).toEqual(log.handoffs.map((h) => [`${h.source} → ${h.target}`, h.source !== 'reviewer']));
    const bare = stripAttributes(
      spans.filter((s) => s.attributes['gen_ai.operation.name'] !== 'goto'),
      ['traceloop.entity.output', 'gen_ai.task.output'],
    );
    expect(buildHandoffModel(bare).handoffs.map((h) => [`${h.source} → ${h.target}`, h.inferred])).toEqual(log.handoffs.map((h) => [`${h.source} → ${h.target}`, true]));
  });

  it.each(['otlp.json', 'collector.jsonl', 'pb'])(
    'the JS LangChain instrumentation (a real LangGraph JS swarm, %s): the logged agents and handoffs are not observable, every span explained; the Python one (near miss) shows them',
    async (encoding) => {
      const log = await logOf('openllmetry-js', 'langgraph-swarm');
      expect(log.agents.length).toBeGreaterThan(0);
      expect(log.handoffs.length).toBeGreaterThan(0);
      const spans = await read(fileURLToPath(new URL(`../../../fixtures/frameworks/openllmetry-js/langgraph-swarm.${encoding}`, import.meta.url)));
      const ignored: IgnoredSpan[] = [];
      const models = modelsOf(spans, ignored);
      expect(models.flatMap((m) => m.agentRuns)).toEqual([]);
      expect(models.flatMap((m) => m.handoffs)).toEqual([]);
      const claimed = spans.filter((s) => openLlmetryDialect.claims(s));
      expect(claimed.length).toBeGreaterThan(0);
      expect(ignored.filter((i) => i.reason.startsWith("OpenLLMetry's JS LangChain instrumentation records no LangGraph node metadata")).map((i) => i.span.spanId).sort()).toEqual(claimed.map((s) => s.spanId).sort());
      // Every span is a trace of its own: the handler starts spans without their run's parent.
      expect(new Set(spans.map((s) => s.traceId)).size).toBe(spans.length);
      const python = buildHandoffModel(await pythonSpans('openllmetry-langgraph-swarm'));
      expect(python.handoffs.length).toBeGreaterThan(0);
    },
  );
});

describe('OpenLLMetry CrewAI runs: each behaviour and its near miss', () => {
  it('hierarchical: the coworkers nested in the manager are inferred delegations; a run nested in a run of the same agent is its retry, no self-handoff (near miss)', async () => {
    const log = await logOf('python', 'openllmetry-crewai-hierarchical');
    const ignored: IgnoredSpan[] = [];
    const model = buildHandoffModel(await pythonSpans('openllmetry-crewai-hierarchical'), { onIgnored: (_d, i) => ignored.push(i) });
    expect(model.handoffs.map((h) => [`${h.source} → ${h.target}`, h.mode, h.inferred])).toEqual(log.handoffs.map((h) => [`${h.source} → ${h.target}`, 'return_to_caller', true]));
    expect(model.handoffs.some((h) => h.source === h.target)).toBe(false);
    expect(ignored.filter((i) => i.reason.startsWith('a run of Researcher inside its own run'))).toHaveLength(1);
  });

  it('hierarchical: the retried task’s inner run is read as part of the run it retried in (one run per delegation, its tokens added); a coworker’s run (near miss) stays a run of its own', async () => {
    const log = await logOf('python', 'openllmetry-crewai-hierarchical');
    const spans = await pythonSpans('openllmetry-crewai-hierarchical');
    const ignored: IgnoredSpan[] = [];
    const model = buildHandoffModel(spans, { onIgnored: (_d, i) => ignored.push(i) });
    for (const agent of ['Researcher', 'Writer']) {
      expect(model.agentRuns.filter((r) => r.agent === agent)).toHaveLength(log.handoffs.filter((h) => h.target === agent).length);
    }
    const researcherSpans = spans.filter((s) => s.name === 'Researcher.agent');
    expect(researcherSpans).toHaveLength(2);
    const [outer, inner] = researcherSpans.sort((a, b) => a.startMs - b.startMs);
    const run = model.agentRuns.find((r) => r.agent === 'Researcher')!;
    expect(run.spanId).toBe(outer!.spanId);
    expect(run.inputTokens).toBe(Number(outer!.attributes['gen_ai.usage.input_tokens']) + Number(inner!.attributes['gen_ai.usage.input_tokens']));
    expect(ignored.find((i) => i.span.spanId === inner!.spanId)?.reason).toContain(`read as part of run ${outer!.spanId}`);
    const report = await auditSpans([spans]);
    expect(report.agentRuns.map((a) => [a.agent, a.runs])).toEqual(log.agents.map((a) => [a, 1]).sort());
  });

  it('sequential: consecutive tasks of different agents hand on; tasks of one agent do not; a hierarchical process (near miss) hands on nothing in order', async () => {
    const log = await logOf('python', 'openllmetry-crewai-sequential');
    const spans = await pythonSpans('openllmetry-crewai-sequential');
    const model = buildHandoffModel(spans);
    expect(model.handoffs.map((h) => [`${h.source} → ${h.target}`, h.mode, h.inferred])).toEqual(log.handoffs.map((h) => [`${h.source} → ${h.target}`, 'pass_control', true]));
    expect(model.agentRuns.filter((r) => r.outcome === 'failed').map((r) => r.agent)).toEqual(log.failures);
    const hierarchical = spans.map((s) => (s.name === 'crewai.workflow' ? { ...s, attributes: { ...s.attributes, 'crewai.crew.process': 'Process.hierarchical' } } : s));
    expect(buildHandoffModel(hierarchical).handoffs).toEqual([]);
  });
});

describe('Traceloop SDK decorators: each behaviour and its near miss', () => {
  it('an @agent run inside another agent\'s @tool is a delegation sent through that tool; a failed run asked again is one handoff with the logged attempts', async () => {
    const log = await logOf('python', 'openllmetry-decorators');
    const spans = await pythonSpans('openllmetry-decorators');
    const model = buildHandoffModel(spans);
    const names = new Map(spans.map((s) => [s.spanId, s.name]));
    expect(model.handoffs.map((h) => [`${h.source} → ${h.target}`, h.sendCount, h.mode, h.inferred, names.get(h.send!.spanId)])).toEqual(
      log.handoffs.map((h) => [`${h.source} → ${h.target}`, h.attempts, 'return_to_caller', true, `ask_${h.target}.tool`]),
    );
    expect(model.agentRuns.filter((r) => r.outcome === 'failed').map((r) => r.agent)).toEqual(log.failures);
  });

  it('near miss: the same agent runs moved out of the tools (siblings under the workflow) are no delegations; decorated runs are never read from time', async () => {
    const spans = await pythonSpans('openllmetry-decorators');
    const workflow = spans.find((s) => s.name === 'support_flow.workflow')!;
    const moved = spans.map((s) => (s.name === 'billing.agent' || s.name === 'refunds.agent' ? { ...s, parentSpanId: workflow.spanId } : s));
    const model = buildHandoffModel(moved);
    expect(model.handoffs).toEqual([]);
    expect(model.agentRuns.map((r) => r.agent).sort()).toEqual(['billing', 'billing', 'refunds', 'triage']);
  });
});

/** The model's edges with their counts, as `source → target` keys (edgeCounts of the log is the expectation). */
function edgeCountsOf(model: HandoffModel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of model.handoffs) out[`${h.source} → ${h.target}`] = (out[`${h.source} → ${h.target}`] ?? 0) + 1;
  return out;
}

describe('a workflow run inside an agent’s run (OpenAI Agents Runner.run in an @agent, a crew kicked off in a @tool)', () => {
  const START_MS = Date.UTC(2030, 0, 1);
  let nowMs = START_MS;
  /** One second later: every stamp distinct, on the clock both SDKs read. */
  const tick = (): number => {
    nowMs += 1000;
    vi.setSystemTime(nowMs);
    return nowMs;
  };
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    nowMs = START_MS;
    vi.setSystemTime(nowMs);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * triage hands off to billing in one OpenAI Agents run (the SDK's tracing API into OpenLLMetry's
   * processor, whose `Agent Workflow` root starts in the current context), run by `@agent planner`
   * when `wrapped`, else at the top.
   */
  async function runnerTrace(wrapped: boolean): Promise<{ spans: SpanRecord[]; log: ProgramLog }> {
    const otel = createOtelHarness();
    const log = newLog('openllmetry', 'decorated-runner', 'an @agent planner running an OpenAI Agents run: triage → billing by handoff');
    log.runs = 1;
    const app = new DecoratedApp(otel.provider.getTracer(TRACELOOP_SDK_SCOPE), log, tick);
    setTracingDisabled(false);
    setTraceProcessors([new OpenLlmetryShapedProcessor(otel.provider.getTracer(OPENLLMETRY_OPENAI_AGENTS_SCOPE, OPENLLMETRY_OPENAI_AGENTS_VERSION))]);
    const open = <T extends AgentsSpan<any>>(span: T): T => {
      tick();
      span.start();
      return span;
    };
    const close = (span: AgentsSpan<any>): void => {
      tick();
      span.end();
    };
    const runner = (): Promise<void> =>
      withTrace('support', async (agentsTrace) => {
        ran(log, 'triage');
        const triage = open(createAgentSpan({ data: { name: 'triage' } }, agentsTrace));
        log.handoffs.push({ source: 'triage', target: 'billing', attempts: 1 });
        close(open(createHandoffSpan({ data: { from_agent: 'triage', to_agent: 'billing' } }, triage)));
        close(triage);
        ran(log, 'billing');
        close(open(createAgentSpan({ data: { name: 'billing' } }, agentsTrace)));
      });
    if (wrapped) {
      await app.entity('agent', 'planner', 'the customer’s request', async () => {
        log.handoffs.push({ source: 'planner', target: 'triage', attempts: 1 });
        await runner();
      });
    } else {
      await runner();
    }
    setTraceProcessors([]);
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    return { spans, log };
  }

  it('an @agent around Runner.run delegates to the run’s first agent only, sent on the workflow; the handoff inside is still the handoff (no edge from the outer agent to its target)', async () => {
    const { spans, log } = await runnerTrace(true);
    const model = buildHandoffModel(spans);
    expect(edgeCountsOf(model)).toEqual(edgeCounts(log));
    const root = spans.find((s) => s.name === 'Agent Workflow')!;
    expect(spans.find((s) => s.spanId === root.parentSpanId)?.name).toBe('planner.agent');
    const delegation = model.handoffs.find((h) => h.source === 'planner')!;
    expect([delegation.target, delegation.mode, delegation.inferred, delegation.send?.spanId]).toEqual(['triage', 'return_to_caller', true, root.spanId]);
    expect(model.handoffs.find((h) => h.source === 'triage')!.inferred).toBe(false);
  });

  it('an agent as a tool whose call failed twice before one reached it: one delegation of three attempts; a plain tool that failed (near miss) is no attempt', async () => {
    const otel = createOtelHarness();
    const log = newLog('openllmetry', 'tool-retried', 'orchestrator asks researcher as a tool: two calls fail, the third reaches it');
    setTracingDisabled(false);
    setTraceProcessors([new OpenLlmetryShapedProcessor(otel.provider.getTracer(OPENLLMETRY_OPENAI_AGENTS_SCOPE, OPENLLMETRY_OPENAI_AGENTS_VERSION))]);
    const open = <T extends AgentsSpan<any>>(span: T): T => {
      tick();
      span.start();
      return span;
    };
    const close = (span: AgentsSpan<any>): void => {
      tick();
      span.end();
    };
    await withTrace('research', async (agentsTrace) => {
      ran(log, 'orchestrator');
      const orchestrator = open(createAgentSpan({ data: { name: 'orchestrator' } }, agentsTrace));
      const lookup = open(createFunctionSpan({ data: { name: 'lookup', input: '{}', output: '' } }, orchestrator));
      lookup.setError({ message: 'Error running tool (non-fatal)' });
      close(lookup);
      const delegation = { source: 'orchestrator', target: 'researcher', attempts: 0 };
      log.handoffs.push(delegation);
      for (let attempt = 1; attempt <= 3; attempt++) {
        delegation.attempts++;
        const call = open(createFunctionSpan({ data: { name: 'ask_researcher', input: '{}', output: '' } }, orchestrator));
        if (attempt < 3) call.setError({ message: 'Error running tool (non-fatal)' });
        else {
          ran(log, 'researcher');
          close(open(createAgentSpan({ data: { name: 'researcher' } }, call)));
        }
        close(call);
      }
      close(orchestrator);
    });
    setTraceProcessors([]);
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    const ignored: IgnoredSpan[] = [];
    const model = buildHandoffModel(spans, { onIgnored: (_d, i) => ignored.push(i) });
    expect(model.handoffs.map((h) => [`${h.source} → ${h.target}`, h.sendCount])).toEqual(log.handoffs.map((h) => [`${h.source} → ${h.target}`, h.attempts]));
    const calls = spans.filter((s) => s.name === 'ask_researcher.tool').sort((a, b) => a.startMs - b.startMs);
    expect(model.handoffs[0]!.send?.spanId).toBe(calls[0]!.spanId);
    expect(ignored.filter((i) => i.reason.startsWith('tool lookup ran no agent'))).toHaveLength(1);
  });

  it('near miss: the same run at the top has only its handoff', async () => {
    const { spans, log } = await runnerTrace(false);
    expect(edgeCountsOf(buildHandoffModel(spans))).toEqual(edgeCounts(log));
    expect(edgeCounts(log)).toEqual({ 'triage → billing': 1 });
  });

  /** A sequential crew Researcher → Writer kicked off by `@agent boss` through `@tool run_crew` (`inTool`), else directly in the agent's run. */
  async function crewTrace(inTool: boolean): Promise<{ spans: SpanRecord[]; log: ProgramLog }> {
    vi.useRealTimers(); // both tracers stamp from Python's clock
    const otel = createOtelHarness();
    const log = newLog('openllmetry', 'crew-in-tool', 'an @agent boss kicking off a sequential crew');
    const app = new DecoratedApp(otel.provider.getTracer(TRACELOOP_SDK_SCOPE), log);
    const crew = new CrewTrace(otel.provider.getTracer(OPENLLMETRY_CREWAI_SCOPE), log, 'crew-in-tool');
    const tasks = [
      { description: 'Research heat pumps', agent: 'Researcher' },
      { description: 'Write the brief', agent: 'Writer' },
    ];
    const kickoff = (): Promise<void> =>
      crew.kickoff('sequential', ['Researcher', 'Writer'], tasks, async () => {
        await crew.task(tasks[0]!.description, 'Researcher', () => crew.agent('Researcher', () => crew.llm()));
        log.handoffs.push({ source: 'Researcher', target: 'Writer', attempts: 1 });
        await crew.task(tasks[1]!.description, 'Writer', () => crew.agent('Writer', () => crew.llm()));
      });
    await app.entity('agent', 'boss', 'a brief on heat pumps', async () => {
      log.handoffs.push({ source: 'boss', target: 'Researcher', attempts: 1 });
      await (inTool ? app.entity('tool', 'run_crew', 'heat pumps', kickoff) : kickoff());
    });
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    return { spans, log };
  }

  it('a crew kicked off in a @tool: one delegation to its first agent, sent on the tool; the crew’s own hand-on between its tasks stays', async () => {
    const { spans, log } = await crewTrace(true);
    const ignored: IgnoredSpan[] = [];
    const model = buildHandoffModel(spans, { onIgnored: (_d, i) => ignored.push(i) });
    expect(edgeCountsOf(model)).toEqual(edgeCounts(log));
    const tool = spans.find((s) => s.name === 'run_crew.tool')!;
    expect(model.handoffs.find((h) => h.source === 'boss')!.send?.spanId).toBe(tool.spanId);
    expect(model.handoffs.find((h) => h.source === 'Researcher')!.mode).toBe('pass_control');
    expect(ignored.filter((i) => i.span.spanId === tool.spanId)).toEqual([]);
  });

  it('the crew kicked off in the agent’s run itself: the same delegation, sent on the crew’s span', async () => {
    const { spans, log } = await crewTrace(false);
    const model = buildHandoffModel(spans);
    expect(edgeCountsOf(model)).toEqual(edgeCounts(log));
    expect(model.handoffs.find((h) => h.source === 'boss')!.send?.spanId).toBe(spans.find((s) => s.name === 'crewai.workflow')!.spanId);
  });
});

describe('openllmetry claims', () => {
  it('claims its own spans and leaves other instrumentations’ spans that carry only the SDK’s context attributes (near miss)', async () => {
    const spans = await agentsSpans('chain');
    const agent = spans.find((s) => s.name.endsWith('.agent'))!;
    expect(openLlmetryDialect.claims(agent)).toBe(true);
    // The Traceloop SDK's span processor writes traceloop.workflow.name and gen_ai.agent.name on every span of the context.
    const other = { ...agent, scopeName: 'some.other.instrumentation', attributes: { 'traceloop.workflow.name': 'support', 'gen_ai.agent.name': 'triage', 'gen_ai.operation.name': 'invoke_agent' } };
    expect(openLlmetryDialect.claims(other)).toBe(false);
    expect(dialectById('openllmetry')).toBe(openLlmetryDialect);
  });
});
