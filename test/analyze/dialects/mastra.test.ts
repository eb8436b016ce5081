/**
 * Mastra, as its OTel exporter writes it (fixtures/frameworks/mastra/: real runs of
 * @mastra/core 1.71 through @mastra/otel-exporter 1.4 with scripted models, recorded by
 * record.mjs). Mastra writes the GenAI agent spans (`invoke_agent {name}`, `execute_tool
 * agent-{key}` for a sub-agent called as a tool, the sub-agent's run nested in it), so the
 * generic `otel-genai` dialect reads them. Each run is audited in every encoding it was
 * written in and held to the program's own log; each behaviour has a near miss in another
 * run that must not trigger it. Workflow shapes the runs do not cover (loops, conditionals, a
 * workflow inside an agent's run or tool) are written as Mastra's exporter writes them, through
 * the real OTel SDK.
 */
import { basename } from 'node:path';
import { readdir } from 'node:fs/promises';
import { context, trace, type Attributes } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { AuditReport } from '../../../src/model/audit-report.js';
import type { ProgramLog } from '../../../fixtures/frameworks/log.js';
import { encodingsOf, expectReportMatchesLog, FRAMEWORKS_DIR, logOf, reportEdges } from './framework-fixtures.js';

const DIR = 'mastra';

/** What record.mjs adds to the shared log: per delegation, the program's bound on its latency. */
interface MastraLog extends ProgramLog {
  readonly latencies: { source: string; target: string; maxMs: number }[];
  readonly recordedWith: string[];
}

const scenarios = (await readdir(`${FRAMEWORKS_DIR}${DIR}`)).filter((f) => f.endsWith('.log.json')).map((f) => basename(f, '.log.json')).sort();
/** The runs whose handoffs are in the trace: every one but the network (below). */
const delegating = scenarios.filter((s) => s !== 'network');
const cases = (await Promise.all(delegating.map(async (s) => (await encodingsOf(DIR, s)).map((file) => [s, basename(file), file] as const)))).flat();

async function audit(scenario: string, encoding = 'otlp.json'): Promise<AuditReport> {
  return auditSpans(readTraceInputs([`${FRAMEWORKS_DIR}${DIR}/${scenario}.${encoding}`]), { idleMs: 3_600_000, explain: true });
}

async function mastraLog(scenario: string): Promise<MastraLog> {
  return (await logOf(DIR, scenario)) as MastraLog;
}

describe('Mastra runs recorded through @mastra/otel-exporter', () => {
  it('has every scenario in three encodings, recorded with the versions the docs name', async () => {
    expect(scenarios).toEqual(['failed', 'loop', 'network', 'supervisor', 'supervisor-internal', 'workflow', 'workflow-tool']);
    expect(cases).toHaveLength(delegating.length * 3);
    for (const scenario of scenarios) {
      expect((await mastraLog(scenario)).recordedWith).toEqual(['@mastra/core@1.71.0', '@mastra/observability@1.17.9', '@mastra/otel-exporter@1.4.0']);
    }
  });

  it.each(cases)('%s (%s): agents, directed edges with counts, loops and runs are what the program logged', async (_scenario, _name, file) => {
    const scenario = _scenario;
    const report = await auditSpans(readTraceInputs([file]), { idleMs: 3_600_000 });
    expectReportMatchesLog(report, await mastraLog(scenario));
  });

  it('reads every run through otel-genai: the sub-agent tools are transfers, a plain tool is not', async () => {
    const report = await audit('supervisor');
    const explained = report.explain!;
    expect(explained).toHaveLength(1);
    expect(explained[0]!.dialect).toBe('otel-genai');
    const transfers = explained[0]!.interpreted.filter((s) => s.readAs === 'transfer').map((s) => s.name).sort();
    expect(transfers).toEqual(['execute_tool agent-math', 'execute_tool agent-research']);
    // research's own tool (lookup) ran no agent: ignored with the reason, no edge research → lookup.
    const lookup = explained[0]!.ignored.find((s) => s.name === 'execute_tool lookup');
    expect(lookup?.reason).toContain('is not a transfer');
    expect(Object.keys(reportEdges(report)).some((edge) => edge.includes('lookup'))).toBe(false);
  });

  it('marks the delegations inferred (Mastra declares no transfer: the sub-agent run nests in the tool call)', async () => {
    const report = await audit('supervisor');
    for (const edge of report.explain![0]!.edges) expect([edge.declared, edge.inferred]).toEqual([0, edge.handoffs]);
    expect(report.edges.every((edge) => edge.transfers === edge.handoffs)).toBe(true);
  });

  it('A → B → A → B through sub-agent tools is circular delegation with its laps; a supervisor calling two agents in turn is not', async () => {
    const loop = await audit('loop');
    const log = await mastraLog('loop');
    const cycle = loop.findings.filter((f) => f.ruleId === 'dependency-cycle');
    expect(cycle).toHaveLength(1);
    expect(cycle[0]!.message).toContain(`ran ${log.cycle!.laps} lap:`);
    expect(reportEdges(loop)).toEqual({ 'planner → coder': 2, 'coder → planner': 1 });
    const supervisor = await audit('supervisor');
    expect(supervisor.findings.filter((f) => f.ruleId === 'dependency-cycle')).toEqual([]);
  });

  it('a sub-agent whose model failed is a failed run, its delegation still a handoff; the supervisor that went on completed', async () => {
    const report = await audit('failed');
    const log = await mastraLog('failed');
    const failedAgents = report.agentRuns.filter((a) => a.failed > 0).map((a) => a.agent);
    expect(failedAgents).toEqual(log.failures);
    const runsOf = (agent: string) => report.agentRuns.find((a) => a.agent === agent)!;
    expect(runsOf('flaky')).toMatchObject({ runs: 1, failed: 1, completed: 0 });
    expect(runsOf('supervisor')).toMatchObject({ runs: 1, failed: 0, completed: 1 });
    expect(reportEdges(report)['supervisor → flaky']).toBe(1);
    // Near miss: the clean supervisor run has no failed agent.
    const clean = await audit('supervisor');
    expect(clean.agentRuns.filter((a) => a.failed > 0)).toEqual([]);
  });

  it.each(delegating)('%s: each edge has one latency sample per handoff, within the bound from the program’s clock', async (scenario) => {
    const report = await audit(scenario);
    const log = await mastraLog(scenario);
    const bound = new Map<string, number>();
    for (const l of log.latencies) bound.set(`${l.source} → ${l.target}`, Math.max(bound.get(`${l.source} → ${l.target}`) ?? 0, l.maxMs));
    expect(report.edges.length).toBeGreaterThan(0);
    for (const edge of report.edges) {
      const key = `${edge.source} → ${edge.target}`;
      expect(edge.latencyMs?.count).toBe(edge.handoffs);
      expect(edge.latencyMs!.min).toBeGreaterThanOrEqual(0);
      // Tool span start → sub-agent run start lies inside emission → the sub-agent's first model call.
      expect(edge.latencyMs!.max).toBeLessThanOrEqual(bound.get(key)!);
    }
  });

  it('an agent network’s routing is not observable: its runs are counted, no edge is inferred from the shared thread or their order', async () => {
    const report = await audit('network');
    const log = await mastraLog('network');
    // The program routed coordinator → research, then → math ...
    expect(log.handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(['coordinator → research', 'coordinator → math']);
    // ... but Mastra records no span for the routing agent and starts each chosen agent's run as a
    // trace of its own: two traces, one run each, joined only by the memory thread (one task).
    expect([...report.agents].sort()).toEqual([...log.agents].sort());
    expect(report.explain!.map((g) => g.traceIds.length)).toEqual([1, 1]);
    expect(report.tasks.count).toBe(log.runs);
    expect(report.edges).toEqual([]);
    expect(report.agents).not.toContain('coordinator');
  });

  it('a workflow hands each agent step the work of the agent steps before it, through map and parallel steps; a plain step after the last agent gets none', async () => {
    const report = await audit('workflow');
    const log = await mastraLog('workflow');
    expect(reportEdges(report)).toEqual(Object.fromEntries(log.handoffs.map((h) => [`${h.source} → ${h.target}`, 1])));
    const group = report.explain![0]!;
    // The hand-on's evidence is the first span after the sender's step (the map step), not the sender or the receiver.
    expect(group.interpreted.filter((s) => s.readAs === 'transfer').map((s) => s.name).sort()).toEqual(['workflow_step mapping_article_0', 'workflow_step mapping_article_1']);
    const reasons = Object.fromEntries(group.ignored.map((s) => [s.name, s.reason]));
    expect(reasons['workflow_step publish']).toContain('ran no agent');
    expect(reasons['workflow_step research']).toContain('no agent step ran before it');
    expect(reasons['parallel 2 branches']).toContain('container');
    for (const edge of group.edges) expect([edge.declared, edge.inferred]).toEqual([0, 1]);
  });

  it('a workflow called as a tool is delegated to its first agent; the next agent is handed the first one’s work, not the caller’s', async () => {
    const report = await audit('workflow-tool');
    const log = await mastraLog('workflow-tool');
    expect(reportEdges(report)).toEqual({ 'planner → research': 1, 'research → writer': 1 });
    expect(log.handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(Object.keys(reportEdges(report)).sort());
    expect(reportEdges(report)['planner → writer']).toBeUndefined();
  });

  it('the workflows inside an agent’s own run (includeInternalSpans) add no edge: the same edges as without them', async () => {
    const internal = await audit('supervisor-internal');
    expect(reportEdges(internal)).toEqual(reportEdges(await audit('supervisor')));
    const reasons = internal.explain![0]!.ignored.map((s) => s.reason ?? '');
    expect(reasons.filter((r) => r.includes("own run (Mastra's internal spans)")).length).toBeGreaterThan(0);
  });
});

/** Mastra's exporter's shapes (observability/otel-exporter src/gen-ai-semantics.ts): name, operation, span type. */
interface Node {
  readonly name: string;
  readonly attributes: Attributes;
  readonly children?: readonly Node[];
}

const mastraType = (type: string, extra: Attributes = {}): Attributes => ({ 'gen_ai.operation.name': type, 'mastra.span.type': type, ...extra });
const workflowRun = (id: string, children: Node[]): Node => ({ name: `invoke_workflow ${id}`, attributes: { 'gen_ai.operation.name': 'invoke_workflow', 'mastra.span.type': 'workflow_run' }, children });
const agentRun = (agent: string, children: Node[] = []): Node => ({ name: `invoke_agent ${agent}`, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'mastra.span.type': 'agent_run', 'gen_ai.agent.name': agent, 'gen_ai.agent.id': agent }, children });
const step = (id: string, children: Node[] = []): Node => ({ name: `workflow_step ${id}`, attributes: mastraType('workflow_step', { 'mastra.workflow_step.step_id': id }), children });
const agentStep = (agent: string): Node => step(agent, [agentRun(agent)]);
const loop = (children: Node[]): Node => ({ name: 'loop dountil', attributes: mastraType('workflow_loop'), children });
const conditional = (children: Node[]): Node => ({ name: `conditional ${children.length} conditions`, attributes: mastraType('workflow_conditional'), children });
const toolCall = (tool: string, children: Node[]): Node => ({ name: `execute_tool ${tool}`, attributes: { 'gen_ai.operation.name': 'execute_tool', 'mastra.span.type': 'tool_call', 'gen_ai.tool.name': tool }, children });

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.shutdown();
});

/** Writes the tree through the OTel SDK, one millisecond per span start and end, children in order. */
function spansOf(root: Node): SpanRecord[] {
  const otel = createOtelHarness();
  harnesses.push(otel);
  const tracer = otel.provider.getTracer('@mastra/otel-exporter');
  let clock = Date.UTC(2030, 0, 1);
  const write = (node: Node, parent: ReturnType<typeof context.active>): void => {
    const span = tracer.startSpan(node.name, { attributes: node.attributes, startTime: clock++ }, parent);
    const inside = trace.setSpan(parent, span);
    for (const child of node.children ?? []) write(child, inside);
    span.end(clock++);
  };
  write(root, context.active());
  return toSpanRecords(otel.spans());
}

function edgesOf(spans: readonly SpanRecord[]): string[] {
  return buildHandoffModel(spans).handoffs.map((h) => `${h.source} → ${h.target}`);
}

describe('Mastra workflow shapes (constructed as the exporter writes them)', () => {
  it('a loop over two agent steps hands work back and forth; a loop over one agent step hands nothing to another agent', () => {
    expect(edgesOf(spansOf(workflowRun('revise', [loop([agentStep('writer'), agentStep('critic'), agentStep('writer'), agentStep('critic')])])))).toEqual([
      'writer → critic',
      'critic → writer',
      'writer → critic',
    ]);
    expect(edgesOf(spansOf(workflowRun('polish', [agentStep('writer'), loop([agentStep('editor'), agentStep('editor'), agentStep('editor')])])))).toEqual(['writer → editor']);
  });

  it('a conditional hands the step before it to the branch it took, and that branch to the step after', () => {
    expect(edgesOf(spansOf(workflowRun('triage', [agentStep('classifier'), conditional([agentStep('billing')]), agentStep('closer')])))).toEqual([
      'classifier → billing',
      'billing → closer',
    ]);
  });

  it('a workflow run as an agent’s tool is a workflow of agents; one inside an agent’s run with no tool between is the agent’s own machinery', () => {
    const asTool = spansOf(agentRun('planner', [toolCall('workflow-pipeline', [workflowRun('pipeline', [agentStep('research'), agentStep('writer')])])]));
    // The planner hands the work to the workflow's first agent; writer gets research's output, not the planner's.
    expect(edgesOf(asTool).sort()).toEqual(['planner → research', 'research → writer']);
    const own = spansOf(agentRun('planner', [workflowRun('execution-workflow', [agentStep('research'), agentStep('writer')])]));
    expect(edgesOf(own)).toEqual([]);
  });

  it('steps whose workflow run is not in the data hand nothing on; neither do spans named like Mastra’s without its span type', () => {
    const orphan = spansOf({ name: 'handler', attributes: {}, children: [agentStep('research'), agentStep('writer')] });
    expect(edgesOf(orphan)).toEqual([]);
    const reasons: string[] = [];
    buildHandoffModel(orphan, { onIgnored: (_dialect, ignored) => void reasons.push(ignored.reason) });
    expect(reasons.some((r) => r.includes('is not in the data'))).toBe(true);
    const foreign = spansOf(workflowRun('other', [
      { name: 'workflow_step a', attributes: { 'gen_ai.operation.name': 'workflow_step' }, children: [agentRun('research')] },
      { name: 'workflow_step b', attributes: { 'gen_ai.operation.name': 'workflow_step' }, children: [agentRun('writer')] },
    ]));
    expect(edgesOf(foreign)).toEqual([]);
    expect(edgesOf(spansOf(workflowRun('same', [agentStep('research'), agentStep('writer')])))).toEqual(['research → writer']);
  });
});

describe('Mastra workflow spans from a hostile trace', () => {
  it('containers that meet themselves again, or nest thousands deep, end the walk without an error', () => {
    const deep: Node = { name: 'loop dountil', attributes: mastraType('workflow_loop'), children: [] };
    let node = deep;
    for (let i = 0; i < 2000; i++) {
      const inner: Node = { name: 'loop dountil', attributes: mastraType('workflow_loop'), children: [] };
      (node.children as Node[]).push(inner);
      node = inner;
    }
    (node.children as Node[]).push(agentStep('writer'));
    const spans = spansOf(workflowRun('deep', [agentStep('research'), deep]));
    expect(() => buildHandoffModel(spans)).not.toThrow();
    const looped = spansOf(workflowRun('looped', [agentStep('research'), loop([loop([agentStep('writer')])])]));
    const outer = looped.find((s) => s.name === 'loop dountil' && looped.find((p) => p.spanId === s.parentSpanId)?.name.startsWith('invoke_workflow'))!;
    const inner = looped.find((s) => s.name === 'loop dountil' && s.parentSpanId === outer.spanId)!;
    // A copy of the outer loop exported again under the inner one: the walk meets it twice.
    const cyclic = [...looped, { ...outer, parentSpanId: inner.spanId }];
    expect(() => buildHandoffModel(cyclic)).not.toThrow();
  });
});
