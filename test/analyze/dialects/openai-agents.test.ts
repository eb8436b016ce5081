/**
 * The openai-agents dialect on runs of the real OpenAI Agents SDK
 * (fixtures/frameworks/openai-agents/, recorded by its generate.ts with a
 * scripted model), in every encoding the runs were written in: Baton's
 * processor through the OTel SDK (JS exporter JSON, Collector JSON Lines,
 * protobuf), OpenInference's processor (the same three), Logfire's shape
 * (constructed by generate.ts from Logfire's source), and the SDK's own JSON
 * (exporter payload, bare array, JSON Lines). Every expectation comes from the
 * program's own log (`<scenario>.log.json`: the SDK's lifecycle hooks and the
 * tools' own code), never from a trace.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import type { IgnoredSpan } from '../../../src/analyze/dialects/dialect.js';
import { readTraceInputs } from '../../../src/ingest/read-trace-inputs.js';
import type { HandoffModel } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { stripAttributes } from '../../helpers/analyze.js';

const DIR = fileURLToPath(new URL('../../../fixtures/frameworks/openai-agents/', import.meta.url));

const ENCODINGS = [
  'otlp.json',
  'collector.jsonl',
  'pb',
  'openinference.otlp.json',
  'openinference.collector.jsonl',
  'openinference.pb',
  // Constructed from Logfire's published integration (Python cannot run here), from the same runs.
  'logfire.otlp.json',
  'logfire.collector.jsonl',
  'logfire.pb',
  'native.json',
  'native-array.json',
  'native.jsonl',
] as const;

interface RunLog {
  workflow: string;
  traceId: string;
  groupId: string;
  agents: string[];
  handoffs: { from: string; to: string }[];
  toolAttempts: { agent: string; tool: string; ok: boolean }[];
  delegations: { from: string; to: string; ok: boolean }[];
  requestedTogether: string[][];
  outcome: 'completed' | 'max_turns' | 'error';
  maxTurns?: number;
  chains?: string[][];
}

function logOf(scenario: string): RunLog[] {
  return (JSON.parse(readFileSync(`${DIR}${scenario}.log.json`, 'utf8')) as { runs: RunLog[] }).runs;
}

async function spansOf(scenario: string, encoding: string): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  for await (const batch of readTraceInputs([`${DIR}${scenario}.${encoding}`])) for (const span of batch) spans.push(span);
  return spans;
}

/** The OTel trace id of a run: the SDK's `trace_<hex>` without its prefix (the processor and the encoding keep it; OpenInference makes its own). */
function byTrace(spans: readonly SpanRecord[]): Map<string, SpanRecord[]> {
  const traces = new Map<string, SpanRecord[]>();
  for (const span of spans) {
    let list = traces.get(span.traceId);
    if (!list) traces.set(span.traceId, (list = []));
    list.push(span);
  }
  return traces;
}

/** The model of the trace holding `run` (by its agents' names when the trace id is not the SDK's). */
function modelFor(run: RunLog, traces: Map<string, SpanRecord[]>, ignored?: IgnoredSpan[]): HandoffModel {
  const own = traces.get(run.traceId.slice('trace_'.length));
  const candidates = own ? [own] : [...traces.values()];
  for (const spans of candidates) {
    const model = buildHandoffModel(spans, { onIgnored: ignored ? (_d, i) => ignored.push(i) : undefined });
    if (model.agentRuns.some((r) => r.agent === run.agents[0])) return model;
  }
  throw new Error(`no trace holds a run of ${run.agents[0]}`);
}

/** The edges the run performed, with counts: every handoff, and every delegation to an agent as a tool (a failed attempt and its retry are one). */
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

/** Per logged handoff, in order: did the target start after it (the next agent the runner started)? That is when latency exists. */
function loggedArrivals(run: RunLog): boolean[] {
  // Agents start in log order; after the k-th handoff the next top-level agent is the (k+1)-th agent started outside delegations.
  const topLevel = run.agents.filter((agent) => !run.delegations.some((d) => d.to === agent));
  return run.handoffs.map((_h, k) => k + 1 < topLevel.length);
}

const SCENARIOS = ['chain', 'hub', 'cycle', 'retry', 'multiple-handoffs', 'concurrent', 'parallel'] as const;

describe.each(ENCODINGS.map((e) => [e] as const))('openai-agents fixtures as %s', (encoding) => {
  it.each(SCENARIOS.map((s) => [s] as const))('%s: agents, directed edges and counts, handoff order and arrivals as the run logged them', async (scenario) => {
    const traces = byTrace(await spansOf(scenario, encoding));
    for (const run of logOf(scenario)) {
      const model = modelFor(run, traces);
      expect(model.dialects.map((d) => d.id)).toEqual(['openai-agents']);
      expect([...new Set(model.agentRuns.map((r) => r.agent))].sort()).toEqual([...new Set(run.agents)].sort());
      expect(model.agentRuns).toHaveLength(run.agents.length);
      expect(modelEdges(model)).toEqual(loggedEdges(run));
      const handoffs = model.handoffs.filter((h) => h.mode === 'pass_control');
      expect(handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(run.handoffs.map((h) => `${h.from} → ${h.to}`));
      // Latency per edge exists exactly where the target started after the handoff.
      expect(handoffs.map((h) => h.receives.length > 0)).toEqual(loggedArrivals(run));
      for (const h of model.handoffs) {
        expect(h.kind).toBe('transfer');
        expect(h.dialect).toBe('openai-agents');
      }
    }
  });

  it('chain: a plain tool named like a handoff tool is no handoff (near miss), and model calls are timing only', async () => {
    const [run] = logOf('chain');
    const ignored: IgnoredSpan[] = [];
    const model = modelFor(run!, byTrace(await spansOf('chain', encoding)), ignored);
    const tool = run!.toolAttempts.find((t) => t.tool.startsWith('transfer_to_'))!.tool;
    expect(model.handoffs.some((h) => h.target.includes('savings'))).toBe(false);
    expect(ignored.filter((i) => i.reason === `tool ${tool} is not a handoff: no agent ran inside it`)).toHaveLength(1);
    // Every model call the runner made (one per agent turn here) is claimed and left to timing, with its reason.
    const modelCalls = ignored.filter((i) => i.reason.startsWith('a model call'));
    expect(modelCalls.length).toBeGreaterThanOrEqual(run!.agents.length);
  });

  it('cycle: circular delegation found with the path and laps the run logged, bounded by maxTurns', async () => {
    const [run] = logOf('cycle');
    expect(run!.outcome).toBe('max_turns');
    const report = await auditSpans([await spansOf('cycle', encoding)]);
    const cycles = report.findings.filter((f) => f.ruleId === 'dependency-cycle');
    expect(cycles).toHaveLength(1);
    const first = run!.agents[0]!;
    const lap = run!.agents.slice(0, run!.agents.indexOf(first, 1) + 1);
    expect(cycles[0]!.message).toContain(lap.join(' → '));
    const laps = run!.agents.filter((a, i) => i > 0 && a === first).length;
    expect(cycles[0]!.message).toContain(`${laps} laps`);
  });

  it('parallel: two runs side by side in one trace hand off each to its own receivers', async () => {
    const [run] = logOf('parallel');
    const spans = await spansOf('parallel', encoding);
    const model = modelFor(run!, byTrace(spans));
    const parentOf = new Map(spans.map((span) => [span.spanId, span.parentSpanId]));
    const runIds = new Set(model.agentRuns.map((r) => r.spanId));
    /** The agent run a span is in: its nearest ancestor that is one. */
    const runOf = (spanId: string): string | undefined => {
      for (let id = parentOf.get(spanId); id; id = parentOf.get(id)) if (runIds.has(id)) return id;
      return undefined;
    };
    const arrivals = model.handoffs.map((h) => h.receives[0]!.spanId);
    expect(new Set(arrivals).size).toBe(run!.handoffs.length);
    for (const h of model.handoffs) {
      const sender = runOf(h.send!.spanId);
      expect(sender).toBeDefined();
      expect(parentOf.get(h.receives[0]!.spanId)).toBe(parentOf.get(sender!));
    }
    // Each run's agents, as that run logged them, are one sibling group of agent spans.
    const groups = new Map<string, string[]>();
    for (const r of model.agentRuns) groups.set(r.parentSpanId, [...(groups.get(r.parentSpanId) ?? []), r.agent]);
    expect([...groups.values()].sort()).toEqual([...run!.chains!].sort());
  });

  it('hub: round trips through a supervisor are not circular delegation (near miss)', async () => {
    const report = await auditSpans([await spansOf('hub', encoding)]);
    expect(report.findings.filter((f) => f.ruleId === 'dependency-cycle')).toEqual([]);
  });

  it('retry: a failed delegation and its retry are one handoff with the logged attempts; the retried plain tool is no handoff', async () => {
    const [run] = logOf('retry');
    const ignored: IgnoredSpan[] = [];
    const model = modelFor(run!, byTrace(await spansOf('retry', encoding)), ignored);
    const delegation = model.handoffs.filter((h) => h.mode === 'return_to_caller');
    expect(delegation).toHaveLength(1);
    expect(delegation[0]!.sendCount).toBe(run!.delegations.length);
    expect(delegation[0]!.inferred).toBe(true);
    expect(model.agentRuns.filter((r) => r.agent === 'researcher').map((r) => r.outcome)).toEqual(run!.delegations.map((d) => (d.ok ? 'completed' : 'failed')));
    const tool = run!.toolAttempts[0]!.tool;
    expect(ignored.filter((i) => i.reason.includes(`tool ${tool} is not a handoff`))).toHaveLength(run!.toolAttempts.length);
    expect(ignored.some((i) => i.reason.startsWith('retry of the handoff'))).toBe(true);
  });

  it('multiple-handoffs: one handoff to the agent that ran; the dropped request is explained', async () => {
    const [run] = logOf('multiple-handoffs');
    const ignored: IgnoredSpan[] = [];
    const model = modelFor(run!, byTrace(await spansOf('multiple-handoffs', encoding)), ignored);
    expect(model.handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(run!.handoffs.map((h) => `${h.from} → ${h.to}`));
    const dropped = run!.requestedTogether[0]!.filter((a) => a !== run!.handoffs[0]!.to);
    expect(ignored.filter((i) => i.reason.startsWith('Multiple handoffs requested')).map((i) => i.reason)).toEqual([expect.stringContaining(dropped.join(', '))]);
  });

  it('reports what the SDK cannot show as not evaluated for openai-agents, never as passed', async () => {
    const report = await auditSpans([await spansOf('chain', encoding)]);
    expect(report.findings).toEqual([]);
    const reasons = report.rules.flatMap((r) => r.notEvaluated.map((n) => n.reason));
    expect(reasons).toEqual(expect.arrayContaining(['in-process transfers: openai-agents does not record acknowledgements', 'in-process transfers: openai-agents does not record envelope schema versions']));
  });
});

describe.each((['otlp.json', 'collector.jsonl', 'pb'] as const).map((e) => [e] as const))("Baton's processor output as %s", (encoding) => {
  it.each(SCENARIOS.map((s) => [s] as const))('%s: one workflow span per run, closed by the processor exactly when the run threw', async (scenario) => {
    const spans = await spansOf(scenario, encoding);
    for (const run of logOf(scenario)) {
      const workflows = spans.filter((s) => s.traceId === run.traceId.slice('trace_'.length) && s.attributes['openai_agents.span.type'] === 'trace');
      expect(workflows.map((w) => w.name)).toEqual([`invoke_workflow ${run.workflow}`]);
      expect(workflows[0]!.attributes['gen_ai.conversation.id']).toBe(run.groupId);
      expect(workflows[0]!.attributes['openai_agents.trace.ended'] === false).toBe(run.outcome !== 'completed');
    }
  });
});

describe('openai-agents fixtures across encodings', () => {
  it('the processor and the SDK JSON give the same span ids, derived from the SDK ids', async () => {
    const otel = new Set((await spansOf('chain', 'otlp.json')).map((s) => `${s.traceId}/${s.spanId}/${s.parentSpanId}`));
    const native = await spansOf('chain', 'native.json');
    expect(native.length).toBeGreaterThan(0);
    for (const span of native) {
      const parent = span.parentSpanId;
      // Top-level spans hang off the processor's workflow span; the JSON has no span for the trace.
      const match = [...otel].some((k) => k.startsWith(`${span.traceId}/${span.spanId}/`) && (parent === '' || k.endsWith(`/${parent}`)));
      expect(match).toBe(true);
    }
  });
});

describe('openai-agents dialect: what it does not infer, and its fallbacks', () => {
  it('infers nothing from order: agent spans one after another with every handoff span removed give no edge', async () => {
    const [run] = logOf('chain');
    const spans = (await spansOf('chain', 'native.json')).filter((s) => s.attributes['openai_agents.span.type'] !== 'handoff');
    const model = buildHandoffModel(spans);
    expect(model.agentRuns).toHaveLength(run!.agents.length);
    expect(model.handoffs).toEqual([]);
  });

  it('ignores a handoff span whose target was never set, with the reason', async () => {
    const spans = stripAttributes(await spansOf('chain', 'otlp.json'), ['openai_agents.handoff.to_agent', 'gen_ai.transfer.target.name']);
    const ignored: IgnoredSpan[] = [];
    const model = buildHandoffModel(spans, { onIgnored: (_d, i) => ignored.push(i) });
    expect(model.handoffs).toEqual([]);
    expect(ignored.filter((i) => i.reason.startsWith('handoff span without to_agent'))).toHaveLength(logOf('chain')[0]!.handoffs.length);
  });

  it("reads OpenInference's graph.node.parent_id when the handoff spans are missing", async () => {
    const [run] = logOf('chain');
    const spans = (await spansOf('chain', 'openinference.otlp.json')).filter((s) => !s.name.startsWith('handoff to '));
    const model = buildHandoffModel(spans);
    expect(model.handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(run!.handoffs.map((h) => `${h.from} → ${h.to}`));
    expect(model.handoffs.every((h) => h.receives.length === 1 && !h.inferred)).toBe(true);
  });

  it('reads a file mixing encodings line by line: the SDK JSON and OTLP from two runs, one trace group each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-oa-'));
    const path = join(dir, 'mixed.jsonl');
    writeFileSync(path, readFileSync(`${DIR}chain.native.jsonl`, 'utf8') + readFileSync(`${DIR}hub.collector.jsonl`, 'utf8'));
    const spans: SpanRecord[] = [];
    for await (const batch of readTraceInputs([path])) spans.push(...batch);
    const traces = byTrace(spans);
    for (const scenario of ['chain', 'hub']) {
      const [run] = logOf(scenario);
      expect(modelEdges(modelFor(run!, traces))).toEqual(loggedEdges(run!));
    }
  });
});
