/**
 * The framework dialects on topologies their fixtures were not built from
 * (fixtures/frameworks/topologies/: LangGraph hierarchical supervisors, Command
 * handoffs from nodes (and from a subgraph's node to its parent), a four-agent swarm
 * with a hand-back loop, a swarm ring run twice round, a subgraph node, parallel
 * branches, Send and Command fan-out, a node retried by its RetryPolicy, agents as
 * tools calling back, the multi-agent network (ReAct agents inside nodes routing by
 * Command), parallel branches each routing by its own Command, the functional API (an
 * entrypoint running agent tasks in turn, at once and retried; a ReAct agent's model and
 * tool tasks as the near miss; agent tasks called from a graph node); Vercel AI streamText trees three deep, a callee that throws
 * and is retried, ToolLoopAgents (generate and stream), two delegations in one step, an agent called back
 * by its callee, a callee whose telemetry names no agent, one delegation tool called three times at once; OpenAI Agents handoffs with an inputFilter, an agent as a tool
 * inside a handoff chain and one handing off inside its call, an agent called back
 * by its callee, parallel runs in one trace and in two, a guardrail tripwire, handoffs that
 * raise (an onHandoff that throws, arguments failing the inputType) beside one that arrives, an agent
 * as a tool called twice in one response (one call's run failing while the other runs), and
 * agents run one after another by the program's own code, which records no handoff). Each run was recorded from the real framework with a scripted model;
 * the expectations are the program's own log, read in every encoding written.
 */
import { basename } from 'node:path';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { renderText } from '../../../src/report/text.js';
import { auditFile, encodingsOf, expectReportMatchesLog, FRAMEWORKS_DIR, logOf } from './framework-fixtures.js';

const DIR = 'topologies';
const DIALECT_OF: Record<string, string> = { langgraph: 'openinference', 'vercel-ai': 'vercel-ai', 'openai-agents': 'openai-agents' };

const scenarios = (await readdir(`${FRAMEWORKS_DIR}${DIR}`)).filter((f) => f.endsWith('.log.json')).map((f) => basename(f, '.log.json')).sort();
const cases = (await Promise.all(scenarios.map(async (s) => (await encodingsOf(DIR, s)).map((file) => [s, basename(file), file] as const)))).flat();

async function spansOf(file: string): Promise<SpanRecord[]> {
  const out: SpanRecord[] = [];
  for await (const batch of readTraceInputs([file])) for (const span of batch) out.push(span);
  return out;
}

describe('recorded topologies', () => {
  it('has a run of every topology the cross-check covers, each in three encodings', () => {
    expect(scenarios).toEqual([
      'langgraph-call-back',
      'langgraph-command-beside-edge',
      'langgraph-command-branches',
      'langgraph-command-fan-out',
      'langgraph-command-graph',
      'langgraph-functional-fan-out',
      'langgraph-functional-network',
      'langgraph-functional-react',
      'langgraph-hierarchical',
      'langgraph-network',
      'langgraph-node-retry',
      'langgraph-parallel',
      'langgraph-parent-command',
      'langgraph-send-fan-out',
      'langgraph-subgraph',
      'langgraph-swarm-laps',
      'langgraph-swarm-loop',
      'langgraph-task-in-node',
      'openai-agents-call-back',
      'openai-agents-deterministic',
      'openai-agents-failed-handoff',
      'openai-agents-filtered-chain',
      'openai-agents-judge-loop',
      'openai-agents-parallel',
      'openai-agents-same-tool-at-once',
      'openai-agents-separate-traces',
      'openai-agents-tool-with-handoff',
      'openai-agents-tripwire',
      'vercel-ai-callee-fails',
      'vercel-ai-parallel-tools',
      'vercel-ai-ping-pong',
      'vercel-ai-same-tool-at-once',
      'vercel-ai-stream-tree',
      'vercel-ai-streamed-agents',
      'vercel-ai-tool-loop-agent',
      'vercel-ai-unnamed-callee',
    ]);
    expect(cases).toHaveLength(scenarios.length * 3);
  });

  it.each(cases)('%s (%s): agents, edges with counts, retries, loops and runs are what the program logged', async (scenario, _name, file) => {
    expectReportMatchesLog(await auditFile(file), await logOf(DIR, scenario));
  });

  it.each(cases)('%s (%s): the agents that failed are the runs read as failed, each by the framework’s dialect', async (scenario, _name, file) => {
    const log = await logOf(DIR, scenario);
    const model = buildHandoffModel(await spansOf(file));
    expect(model.agentRuns.filter((r) => r.outcome === 'failed').map((r) => r.agent).sort()).toEqual([...log.failures].sort());
    expect(new Set(model.agentRuns.map((r) => r.dialect))).toEqual(new Set([DIALECT_OF[log.framework]]));
  });

  it.each(cases)('%s (%s): the report counts each agent’s failed runs as the program logged them, and the text names them', async (scenario, _name, file) => {
    const log = await logOf(DIR, scenario);
    const report = await auditFile(file);
    const failedRuns = new Map<string, number>();
    for (const agent of log.failures) failedRuns.set(agent, (failedRuns.get(agent) ?? 0) + 1);
    expect(new Map(report.agentRuns.filter((a) => a.failed > 0).map((a) => [a.agent, a.failed]))).toEqual(failedRuns);
    for (const agent of report.agentRuns) expect(agent.completed + agent.failed + agent.blocked).toBeLessThanOrEqual(agent.runs);
    const text = renderText(report, { color: false, width: 200 });
    for (const [agent, count] of failedRuns) expect(text).toMatch(new RegExp(`failed: .*${agent} ${count} of \\d+`));
    if (failedRuns.size === 0 && report.agentRuns.length > 0) expect(text).toContain('none failed or blocked');
  });

  it.each(cases.filter(([s]) => s === 'openai-agents-tripwire'))('%s (%s): --explain names the guardrail that tripped and stopped the run; the one that passed is a plain check', async (_s, _name, file) => {
    const reasons: Record<string, string> = {};
    buildHandoffModel(await spansOf(file), { onIgnored: (_d, ignored) => void (reasons[ignored.span.name] = ignored.reason) });
    expect(reasons['guardrail no_account_numbers_in_answers']).toMatch(/^a guardrail check that tripped .*: the SDK stopped the run here/);
    expect(reasons['guardrail is_a_support_request']).toBe('a guardrail check: no handoff meaning');
  });

  it.each(cases.filter(([s]) => s === 'openai-agents-failed-handoff'))('%s (%s): a handoff that raised is undelivered, naming the error; the one with valid arguments arrived', async (_s, _name, file) => {
    const report = await auditFile(file);
    const undelivered = report.findings.filter((f) => f.ruleId === 'undelivered-handoff');
    expect(undelivered.map((f) => f.message).sort()).toEqual([
      'handoff triage → its target never arrived: failed: the handoff raised before the SDK recorded its target (Invalid JSON provided)',
      'handoff triage → its target never arrived: failed: the handoff raised before the SDK recorded its target (billing system offline)',
    ]);
    for (const finding of undelivered) expect(finding.hint).toMatch(/^The handoff itself raised/);
    expect(report.edges.find((e) => e.target === 'billing')?.handoffs).toBe(1);
  });

  it.each(cases.filter(([s]) => s.startsWith('langgraph-functional-') || s === 'langgraph-task-in-node'))('%s (%s): agent tasks of an entrypoint hand on in turn (inferred); a node’s agent tasks are its delegations; other tasks and the entrypoint are explained', async (scenario, _name, file) => {
    const reasons: Record<string, string[]> = {};
    const model = buildHandoffModel(await spansOf(file), { onIgnored: (_d, ignored) => void (reasons[ignored.span.name] ??= []).push(ignored.reason) });
    for (const h of model.handoffs) expect(h.inferred).toBe(true);
    const modes = Object.fromEntries(model.handoffs.map((h) => [`${h.source} → ${h.target}`, h.mode ?? 'none']));
    if (scenario === 'langgraph-task-in-node') {
      expect(modes).toEqual({ 'intake → lead': 'none', 'lead → researcher': 'return_to_caller', 'lead → writer': 'return_to_caller', 'lead → publish': 'none' });
    } else if (scenario === 'langgraph-functional-react') {
      expect(reasons.callModel?.[0]).toBe('LangGraph task callModel of agent: a step of its run (no agent graph ran in it), not an agent');
      expect(reasons.callTool).toHaveLength(2);
    } else {
      const entry = scenario === 'langgraph-functional-network' ? 'network' : 'report_flow';
      expect(reasons[entry]).toContain(`LangGraph entrypoint ${entry}: its code ran agent tasks one after another (the functional API), passing the work between them: not an agent`);
    }
  });

  it.each(cases.filter(([s]) => s === 'vercel-ai-unnamed-callee'))('%s (%s): a tool that ran an unnamed model call is explained as a delegation not read, not as running no agent', async (_s, _name, file) => {
    const reasons: string[] = [];
    buildHandoffModel(await spansOf(file), { onIgnored: (_d, ignored) => void (ignored.span.attributes['ai.toolCall.name'] === 'ask_helper' && reasons.push(ignored.reason)) });
    expect(reasons).toEqual(['tool ask_helper ran a model call with no agent name (no ai.telemetry.functionId, no metadata.agent): a delegation to an agent that is not named, not read']);
  });

  it.each(cases.filter(([s]) => s.endsWith('-same-tool-at-once')))('%s (%s): calls of one delegation tool running at once are handoffs of their own, none a retry of a call that failed beside it', async (_s, _name, file) => {
    const reasons: string[] = [];
    const model = buildHandoffModel(await spansOf(file), { onIgnored: (_d, ignored) => void reasons.push(ignored.reason) });
    const delegations = model.handoffs.filter((h) => h.target !== 'unknown');
    expect(delegations).toHaveLength(2);
    for (const h of delegations) expect([h.sendCount, h.receives.length]).toEqual([1, 1]);
    expect(reasons.filter((r) => r.startsWith('retry of'))).toEqual([]);
    // Vercel: the call that threw before reaching its agent, while the others ran, is no attempt of theirs.
    if (_s.startsWith('vercel-ai')) expect(reasons).toContain('tool ask_worker failed and ran no agent: no delegation through it followed');
  });

  it.each(cases.filter(([s]) => s === 'langgraph-command-branches' || s === 'langgraph-command-graph' || s === 'langgraph-command-beside-edge'))('%s (%s): a node’s own Command is a declared handoff to the node it named; graph edges stay inferred', async (_s, _name, file) => {
    const model = buildHandoffModel(await spansOf(file));
    const log = await logOf(DIR, _s);
    // The program's Command handoffs: the nodes that returned a Command (billing, shipping; billing in command-graph).
    const byCommand = new Set(
      _s === 'langgraph-command-branches' ? ['billing → refunds', 'shipping → courier'] : _s === 'langgraph-command-graph' ? ['billing → tech'] : ['intake → notify'],
    );
    expect(model.handoffs.map((h) => `${h.source} → ${h.target}`).sort()).toEqual(log.handoffs.map((h) => `${h.source} → ${h.target}`).sort());
    for (const h of model.handoffs) expect([`${h.source} → ${h.target}`, h.inferred]).toEqual([`${h.source} → ${h.target}`, !byCommand.has(`${h.source} → ${h.target}`)]);
  });
});
