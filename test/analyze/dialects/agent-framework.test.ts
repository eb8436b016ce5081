/**
 * The agent-framework dialect on workflow traces constructed from Agent
 * Framework's tracing code (fixtures/frameworks/agent-framework, see its
 * README), in every encoding, held to each program's own log; and on .NET's
 * shape (edge group spans without links, `message.source_id` on the send,
 * `dropped condition false`), rewritten from a Python one.
 */
import { describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { agentFrameworkDialect } from '../../../src/analyze/dialects/agent-framework.js';
import { SpanIndex } from '../../../src/analyze/span-index.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditFile, encodingsOf, expectReportMatchesLog, logOf } from './framework-fixtures.js';

const SCENARIOS = ['chain', 'fan-out', 'circular', 'retry', 'dropped', 'concurrent', 'handoff', 'group-chat', 'handoff-unknown', 'dotnet-handoff', 'dotnet-fan-in', 'dotnet-group-chat', 'dotnet-sequential'];

async function spansOf(file: string): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  for await (const batch of readTraceInputs([file])) spans.push(...batch);
  return spans;
}

describe('agent-framework fixtures (constructed from agent_framework/observability.py)', () => {
  describe.each(SCENARIOS)('%s', (scenario) => {
    it('audits, in every encoding, to the agents, edges and counts, retries, loop, undelivered messages and runs the program logged', async () => {
      const log = await logOf('agent-framework', scenario);
      const files = await encodingsOf('agent-framework', scenario);
      expect(files.length).toBeGreaterThanOrEqual(3);
      for (const file of files) {
        const report = await auditFile(file);
        expect(report.inputs.dialects.find((d) => d.id === 'agent-framework')!.spans, file).toBeGreaterThan(0);
        expectReportMatchesLog(report, log);
        const undelivered = report.findings.filter((f) => f.ruleId === 'undelivered-handoff');
        // The loop's last message was never routed (the runner stopped): no router said anything about it.
        const routedAndLost = log.undelivered.filter((u) => !u.reason.startsWith('pending when max_iterations'));
        expect(undelivered.map((f) => f.agents[0]), file).toEqual(routedAndLost.map((u) => u.source));
      }
    });
  });

  it('reports the dropped refund with its send and every router that dropped it as evidence, as an error', async () => {
    const [file] = await encodingsOf('agent-framework', 'dropped');
    const spans = await spansOf(file!);
    const report = await auditFile(file!);
    const refund = spans.find((s) => s.name === 'message.send' && s.attributes['message.type'] === 'Refund')!;
    const routers = spans.filter((s) => s.name.startsWith('edge_group.process') && s.links.some((l) => l.spanId === refund.spanId));
    expect(routers).toHaveLength(3);
    const findings = report.findings.filter((f) => f.ruleId === 'undelivered-handoff');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe('error');
    expect(findings[0]!.evidence.spanIds).toEqual([refund.spanId, ...routers.sort((a, b) => a.startMs - b.startMs).map((s) => s.spanId)]);
    expect(findings[0]!.message).toContain('dropped condition evaluated to false');
    expect(findings[0]!.message).toContain('dropped type mismatch');
  });

  it('does not report the audit record dropped by two routes and delivered by the third (routing, not loss)', async () => {
    const [file] = await encodingsOf('agent-framework', 'dropped');
    const model = buildHandoffModel(await spansOf(file!));
    const audit = model.handoffs.find((h) => h.target === 'auditor')!;
    expect(audit.deliveries!.map((d) => d.status).sort()).toEqual(['delivered', 'dropped type mismatch', 'dropped type mismatch']);
    expect(audit.receives).toHaveLength(1);
  });

  it('does not report fan-in messages that were buffered, then delivered (the near miss)', async () => {
    const [file] = await encodingsOf('agent-framework', 'fan-out');
    const model = buildHandoffModel(await spansOf(file!));
    const intoAggregator = model.handoffs.filter((h) => h.target === 'aggregator');
    expect(intoAggregator).toHaveLength(3);
    expect(intoAggregator.map((h) => h.deliveries!.map((d) => d.status).join()).sort()).toEqual(['buffered', 'buffered', 'delivered']);
    expect(intoAggregator.every((h) => h.receives.length === 1 && h.receives[0]!.spanId === intoAggregator[0]!.receives[0]!.spanId)).toBe(true);
    const report = await auditFile(file!);
    expect(report.findings.filter((f) => f.ruleId === 'undelivered-handoff')).toEqual([]);
    expect(report.rules.find((r) => r.ruleId === 'undelivered-handoff')!.checked).toBe(6);
  });

  it('reads .NET spans: edge groups without links, routed inside the send (its children), sources on the send, "dropped condition false"', async () => {
    const [file] = await encodingsOf('agent-framework', 'dropped');
    const python = await spansOf(file!);
    const byId = new Map(python.map((s) => [s.spanId, s]));
    const dotnet = python.map((s): SpanRecord => {
      if (s.name === 'workflow.run') return { ...s, name: 'workflow_invoke' };
      if (s.name === 'message.send') {
        const source = byId.get(s.parentSpanId)!.attributes['executor.id']!;
        return { ...s, attributes: { ...s.attributes, 'message.source_id': source } };
      }
      if (s.name.startsWith('edge_group.process')) {
        const status = s.attributes['edge_group.delivery_status'] === 'dropped condition evaluated to false' ? 'dropped condition false' : s.attributes['edge_group.delivery_status']!;
        // DirectEdgeRunner.ChaseEdgeAsync runs inside InProcessRunnerContext.SendMessageAsync's message.send activity.
        return { ...s, name: 'edge_group.process', parentSpanId: s.links[0]!.spanId, links: [], attributes: { ...s.attributes, 'edge_group.type': 'DirectEdgeRunner', 'edge_group.delivery_status': status } };
      }
      return s;
    });
    const model = buildHandoffModel(dotnet);
    const lost = model.handoffs.find((h) => h.target === 'unknown')!;
    expect(lost.source).toBe('router');
    expect(lost.deliveries!.map((d) => d.status).sort()).toEqual(['dropped condition false', 'dropped condition false', 'dropped type mismatch']);
    expect(lost.deliveries!.every((d) => d.router === 'DirectEdgeRunner')).toBe(true);
  });

  it('reads a HandoffBuilder run: the broadcasts of the conversation are ignored with the reason, the targeted requests are the handoffs', async () => {
    const [file] = await encodingsOf('agent-framework', 'handoff');
    const spans = await spansOf(file!);
    const result = agentFrameworkDialect.interpret(
      spans.filter((s) => agentFrameworkDialect.claims(s)),
      new SpanIndex(spans),
    );
    const broadcasts = spans.filter((s) => s.name === 'message.send' && s.attributes['message.destination_executor_id'] === undefined);
    const targeted = spans.filter((s) => s.name === 'message.send' && s.attributes['message.destination_executor_id'] !== undefined);
    expect(broadcasts.length).toBeGreaterThan(targeted.length);
    const reasons = new Map(result.ignored.map((i) => [i.span.spanId, i.reason]));
    for (const b of broadcasts) expect(reasons.get(b.spanId)).toMatch(/broadcasting the conversation/);
    expect(result.parts.filter((p) => p.type === 'send').map((p) => p.span.spanId).sort()).toEqual(targeted.map((s) => s.spanId).sort());
    // Each agent's turn is its invoke_agent span (otel-genai); the executor spans that only cached a broadcast are no runs.
    const model = buildHandoffModel(spans);
    expect(model.agentRuns.map((r) => `${r.agent}:${r.dialect}`).sort()).toEqual(['billing:otel-genai', 'refunds:otel-genai', 'triage:otel-genai', 'triage:otel-genai']);
  });

  it('near miss: the same untargeted messages, not AgentExecutorRequests, from executors that are not HandoffBuilder participants are handoffs (a fan-out)', async () => {
    const [file] = await encodingsOf('agent-framework', 'handoff');
    const rename = (attributes: SpanRecord['attributes']): SpanRecord['attributes'] => {
      const out = { ...attributes };
      if (out['executor.type'] === 'HandoffAgentExecutor') out['executor.type'] = 'SupportDeskExecutor';
      for (const key of ['message.type', 'message.payload_type']) if (out[key] === 'AgentExecutorRequest') out[key] = 'Ticket';
      return out;
    };
    const spans = (await spansOf(file!)).map((s): SpanRecord => ({ ...s, attributes: rename(s.attributes) }));
    const model = buildHandoffModel(spans);
    const broadcasts = spans.filter((s) => s.name === 'message.send' && s.attributes['message.destination_executor_id'] === undefined);
    // Every broadcast reached both other participants: two handoffs each, beside the three targeted ones.
    expect(model.handoffs).toHaveLength(broadcasts.length * 2 + 3);
  });

  it('reads a GroupChat run: the targeted requests its participants only cached are syncs, ignored with the reason; the speakers’ requests are the handoffs', async () => {
    const [file] = await encodingsOf('agent-framework', 'group-chat');
    const spans = await spansOf(file!);
    const result = agentFrameworkDialect.interpret(spans.filter((s) => agentFrameworkDialect.claims(s)), new SpanIndex(spans));
    const reasons = result.ignored.map((i) => i.reason);
    const cached = spans.filter((s) => s.name.startsWith('executor.process') && s.attributes['message.payload_type'] === 'AgentExecutorRequest' && !spans.some((c) => c.parentSpanId === s.spanId));
    expect(cached.length).toBeGreaterThan(0);
    expect(reasons.filter((r) => /only cached \(no agent run, nothing sent\)/.test(r))).toHaveLength(cached.length);
    expect(reasons.filter((r) => /^message\.send: a conversation sync/.test(r))).toHaveLength(cached.length);
  });

  it.each([
    ['the executor that got the request failed', (s: SpanRecord): SpanRecord => ({ ...s, statusCode: 2, statusMessage: 'ValueError: boom' })],
    ['the message is no AgentExecutorRequest', (s: SpanRecord): SpanRecord => ({ ...s, attributes: { ...s.attributes, 'message.payload_type': 'Draft' } })],
  ] as const)('near miss: a request an executor handled without running an agent is a handoff when %s', async (_what, edit) => {
    const [file] = await encodingsOf('agent-framework', 'group-chat');
    const original = await spansOf(file!);
    const spans = original.map((s) => (s.name.startsWith('executor.process') && s.attributes['message.payload_type'] === 'AgentExecutorRequest' && !original.some((c) => c.parentSpanId === s.spanId) ? edit(s) : s));
    const result = agentFrameworkDialect.interpret(spans.filter((s) => agentFrameworkDialect.claims(s)), new SpanIndex(spans));
    expect(result.ignored.filter((i) => /conversation sync|only cached/.test(i.reason))).toEqual([]);
    const log = await logOf('agent-framework', 'group-chat');
    expect(buildHandoffModel(spans).handoffs.length).toBeGreaterThan(log.handoffs.length);
  });

  it('reads a HandoffBuilder handoff to an unknown target (the workflow’s ValueError) as refused: target unknown, the asked-for name in the finding', async () => {
    const [file] = await encodingsOf('agent-framework', 'handoff-unknown');
    const report = await auditFile(file!);
    const findings = report.findings.filter((f) => f.ruleId === 'undelivered-handoff');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe('error');
    expect(findings[0]!.agents).toEqual(['billing']);
    expect(findings[0]!.message).toContain("no participant escalations");
    const model = buildHandoffModel(await spansOf(file!));
    const refused = model.handoffs.filter((h) => h.target === 'unknown');
    expect(refused.map((h) => [h.source, h.kind, h.inferred, h.receives.length])).toEqual([['billing', 'transfer', true, 0]]);
  });

  it('quotes the first line of the workflow’s error in the refusal, at most 200 characters (a traceback in the status stays out of the report)', async () => {
    const [file] = await encodingsOf('agent-framework', 'handoff-unknown');
    const original = await spansOf(file!);
    const raised = original.find((s) => s.statusMessage.includes('unknown target'))!;
    const traceback = `${raised.statusMessage}${' (context)'.repeat(40)}\nTraceback (most recent call last):\n  File "workflow.py", line 12`;
    const spans = original.map((s): SpanRecord => (s === raised ? { ...s, statusMessage: traceback } : s));
    const refused = buildHandoffModel(spans).handoffs.filter((h) => h.target === 'unknown');
    expect(refused).toHaveLength(1);
    const status = refused[0]!.deliveries![0]!.status;
    const quoted = status.split('the workflow raised ')[1]!;
    expect(quoted).toHaveLength(200);
    expect(quoted.startsWith(raised.statusMessage.split('\n')[0]!.slice(0, 100))).toBe(true);
    expect(quoted.endsWith('…')).toBe(true);
    expect(status).not.toContain('Traceback');
  });

  it('near miss: an executor that failed for another reason refused no handoff', async () => {
    const [file] = await encodingsOf('agent-framework', 'handoff-unknown');
    const spans = (await spansOf(file!)).map((s): SpanRecord => (s.statusMessage.includes('unknown target') ? { ...s, statusMessage: "ValueError: Agent 'billing' could not reach the model" } : s));
    expect(spans.filter((s) => s.statusCode === 2).length).toBeGreaterThan(0);
    const model = buildHandoffModel(spans);
    expect(model.handoffs.filter((h) => h.target === 'unknown')).toEqual([]);
    expect(model.handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(['triage → billing']);
  });

  describe('.NET (Microsoft.Agents.AI.Workflows, fixtures dotnet-*)', () => {
    const interpret = (spans: SpanRecord[]) => agentFrameworkDialect.interpret(spans.filter((s) => agentFrameworkDialect.claims(s)), new SpanIndex(spans));
    const retype = (spans: SpanRecord[], from: string, to: string): SpanRecord[] =>
      spans.map((s) => (s.attributes['executor.type'] === from ? { ...s, attributes: { ...s.attributes, 'executor.type': to } } : s));

    it('names an agent host executor `{Name}_{Id}` by its agent: from the invoke_agent inside it, else without the default 32-hex id', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-handoff');
      const spans = await spansOf(file!);
      const model = buildHandoffModel(spans);
      // triage and billing ran under OpenTelemetryAgent (their runs are its invoke_agent spans); refunds did not (its executor span is the run).
      expect(model.agentRuns.map((r) => `${r.agent}:${r.dialect}`).sort()).toEqual(['billing:otel-genai', 'refunds:agent-framework', 'triage:otel-genai', 'triage:otel-genai']);
      expect(spans.some((s) => s.attributes['executor.id'] === 'refunds_5f0c00039a1e4b7d8c2f6a3e1b0d0003')).toBe(true);
    });

    it('takes the agent’s own name (spaces and all) from the invoke_agent whose name and id make the executor id', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-handoff');
      const billing = 'billing_5f0c00029a1e4b7d8c2f6a3e1b0d0002';
      const renamed = 'Billing_Desk_5f0c00029a1e4b7d8c2f6a3e1b0d0002';
      const spans = (await spansOf(file!)).map((s): SpanRecord => {
        const attributes = { ...s.attributes };
        for (const key of ['executor.id', 'message.source_id', 'message.target_id']) if (attributes[key] === billing) attributes[key] = renamed;
        if (attributes['gen_ai.agent.name'] === 'billing') attributes['gen_ai.agent.name'] = 'Billing Desk';
        return { ...s, name: s.name.replace(billing, renamed), attributes };
      });
      const model = buildHandoffModel(spans);
      expect(model.handoffs.map((h) => `${h.source} → ${h.target}`).sort()).toEqual(['Billing Desk → refunds', 'refunds → triage', 'triage → Billing Desk']);
      // Near miss: an invoke_agent whose name and id do not make the executor id names nothing; the id loses its GUID only.
      const other = spans.map((s): SpanRecord => (s.attributes['gen_ai.agent.name'] === 'Billing Desk' ? { ...s, attributes: { ...s.attributes, 'gen_ai.agent.id': 'another-agent' } } : s));
      expect(buildHandoffModel(other).handoffs.map((h) => `${h.source} → ${h.target}`).sort()).toEqual(['Billing_Desk → refunds', 'refunds → triage', 'triage → Billing_Desk']);
    });

    it('near miss: an executor of the app’s own class keeps its id, `_` and 32 hex digits included', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-handoff');
      const spans = retype(await spansOf(file!), 'Microsoft.Agents.AI.Workflows.Specialized.HandoffAgentExecutor', 'SupportDesk.AgentStep');
      const agents = new Set(buildHandoffModel(spans).agentRuns.map((r) => r.agent));
      expect(agents.has('refunds_5f0c00039a1e4b7d8c2f6a3e1b0d0003')).toBe(true);
      expect(agents.has('refunds')).toBe(false);
    });

    it('reads HandoffStart and HandoffEnd as the orchestration’s entry and end of turn: no agents, their HandoffStates no handoffs, each ignored with the reason', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-handoff');
      const spans = await spansOf(file!);
      const result = interpret(spans);
      const reasonOf = new Map(result.ignored.map((i) => [i.span.spanId, i.reason]));
      const plumbing = spans.filter((s) => s.attributes['executor.id'] === 'HandoffStart' || s.attributes['executor.id'] === 'HandoffEnd');
      expect(plumbing).toHaveLength(3);
      for (const s of plumbing) expect(reasonOf.get(s.spanId)).toMatch(/handoff workflow's entry|workflow's end of a turn/);
      const fromStart = spans.filter((s) => s.name === 'message.send' && s.attributes['message.source_id'] === 'HandoffStart');
      expect(fromStart).toHaveLength(1);
      expect(reasonOf.get(fromStart[0]!.spanId)).toMatch(/task's entry/);
      expect(result.ignored.filter((i) => /turn ended without a handoff/.test(i.reason))).toHaveLength(1);
      // Every claimed span is accounted for: interpreted or ignored.
      const accounted = new Set([...result.parts.map((p) => p.span.spanId), ...result.ignored.map((i) => i.span.spanId)]);
      expect(spans.filter((s) => agentFrameworkDialect.claims(s) && !accounted.has(s.spanId))).toEqual([]);
    });

    it('near miss: executors of the app’s own classes named HandoffStart and HandoffEnd are agents, and what they send and receive are handoffs', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-handoff');
      let spans = retype(await spansOf(file!), 'Microsoft.Agents.AI.Workflows.Specialized.HandoffStartExecutor', 'Intake.HandoffStart');
      spans = retype(spans, 'Microsoft.Agents.AI.Workflows.Specialized.HandoffEndExecutor', 'Intake.HandoffEnd');
      const edges = new Set(buildHandoffModel(spans).handoffs.map((h) => `${h.source} → ${h.target}`));
      expect(edges.has('HandoffStart → triage')).toBe(true);
      expect(edges.has('triage → HandoffEnd')).toBe(true);
    });

    it('reads a .NET GroupChat: the chat messages the participants and the host only accumulate are syncs, the TurnTokens the handoffs; every claimed span accounted for', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-group-chat');
      const spans = await spansOf(file!);
      const result = interpret(spans);
      const chatOnly = spans.filter((s) => s.name.startsWith('executor.process') && String(s.attributes['message.type']).startsWith('System.Collections.Generic.List`1[[Microsoft.Extensions.AI.ChatMessage,'));
      expect(chatOnly.length).toBeGreaterThan(4);
      const reasonOf = new Map(result.ignored.map((i) => [i.span.spanId, i.reason]));
      for (const s of chatOnly) expect(reasonOf.get(s.spanId)).toMatch(/chat messages \(a \.NET chat-protocol executor takes its turn on a TurnToken\) it only cached/);
      const tokens = spans.filter((s) => s.name.startsWith('executor.process') && s.attributes['message.type'] === 'Microsoft.Agents.AI.Workflows.TurnToken' && s.links.length > 0);
      expect(buildHandoffModel(spans).handoffs.map((h) => h.receives[0]!.spanId).sort()).toEqual(tokens.map((s) => s.spanId).sort());
      const accounted = new Set([...result.parts.map((p) => p.span.spanId), ...result.ignored.map((i) => i.span.spanId)]);
      expect(spans.filter((s) => agentFrameworkDialect.claims(s) && !accounted.has(s.spanId))).toEqual([]);
    });

    it('near miss: the same chat messages reaching an executor of the app’s own class are handoffs', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-group-chat');
      const spans = retype(await spansOf(file!), 'Microsoft.Agents.AI.Workflows.Specialized.AIAgentHostExecutor', 'Studio.AgentStep');
      const log = await logOf('agent-framework', 'dotnet-group-chat');
      expect(interpret(spans).ignored.filter((i) => /chat-protocol/.test(i.reason) && !String(i.span.attributes['executor.id']).startsWith('GroupChatHost'))).toEqual([]);
      expect(buildHandoffModel(spans).handoffs.length).toBeGreaterThan(log.handoffs.length);
    });

    it('reads a .NET sequential workflow: the chat passed on is cached, the TurnTokens are the handoffs, the workflow’s input and OutputMessages are no runs, every claimed span accounted for', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-sequential');
      const spans = await spansOf(file!);
      const result = interpret(spans);
      const reasons = result.ignored.map((i) => i.reason);
      expect(reasons.filter((r) => /cached the workflow's input/.test(r))).toHaveLength(1);
      expect(reasons.filter((r) => /^executor\.process OutputMessages: the workflow's end of a turn/.test(r))).toHaveLength(3);
      expect(reasons.filter((r) => /went only to the workflow's end executor/.test(r))).toHaveLength(3);
      const accounted = new Set([...result.parts.map((p) => p.span.spanId), ...result.ignored.map((i) => i.span.spanId)]);
      expect(spans.filter((s) => agentFrameworkDialect.claims(s) && !accounted.has(s.spanId))).toEqual([]);
    });

    it('near miss: an executor of the app’s own class named OutputMessages is an agent, and the last agent hands to it', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-sequential');
      const spans = retype(await spansOf(file!), 'Microsoft.Agents.AI.Workflows.OutputMessagesExecutor', 'Publishing.OutputMessages');
      const edges = buildHandoffModel(spans).handoffs.map((h) => `${h.source} → ${h.target}`);
      expect(edges).toContain('editor → OutputMessages');
    });

    it('ignores the fan-in span that released its buffer (FanInEdgeRunner records no status there) and never reads it as a drop', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-fan-in');
      const spans = await spansOf(file!);
      const releases = spans.filter((s) => s.attributes['edge_group.type'] === 'FanInEdgeRunner' && s.attributes['edge_group.delivery_status'] === undefined);
      expect(releases).toHaveLength(2);
      const reasonOf = new Map(interpret(spans).ignored.map((i) => [i.span.spanId, i.reason]));
      for (const r of releases) expect(reasonOf.get(r.spanId)).toMatch(/fan-in releasing its buffer/);
      const intoAggregator = buildHandoffModel(spans).handoffs.filter((h) => h.target === 'aggregator');
      expect(intoAggregator).toHaveLength(6);
      expect(intoAggregator.every((h) => h.receives.length === 1 && (h.deliveries ?? []).every((d) => d.accepted))).toBe(true);
    });

    it('near miss: another runner without a status is an unknown outcome, not a fan-in release', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-fan-in');
      const spans = (await spansOf(file!)).map((s): SpanRecord => {
        if (s.attributes['edge_group.type'] !== 'FanInEdgeRunner' || s.attributes['edge_group.delivery_status'] !== undefined) return s;
        return { ...s, attributes: { ...s.attributes, 'edge_group.type': 'DirectEdgeRunner' } };
      });
      const reasons = interpret(spans).ignored.map((i) => i.reason);
      expect(reasons.filter((r) => /fan-in releasing/.test(r))).toEqual([]);
      expect(reasons.filter((r) => /the routing outcome is unknown/.test(r))).toHaveLength(2);
    });

    it('takes a dropped message’s target from the send, not from the sink a .NET runner names', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-fan-in');
      const spans = await spansOf(file!);
      const lost = buildHandoffModel(spans).handoffs.filter((h) => h.deliveries?.some((d) => d.status === 'dropped condition false') && h.receives.length === 0);
      expect(lost).toHaveLength(2);
      expect(lost.every((h) => h.target === 'unknown')).toBe(true);
      // Near miss: a targeted send names its target (message.target_id on the send itself).
      const targeted = spans.map((s): SpanRecord => (lost.some((h) => h.send?.spanId === s.spanId) ? { ...s, attributes: { ...s.attributes, 'message.target_id': 'escalation' } } : s));
      expect(buildHandoffModel(targeted).handoffs.filter((h) => h.target === 'escalation')).toHaveLength(2);
    });

    it('reads the task from session.id on workflow_invoke', async () => {
      const [file] = await encodingsOf('agent-framework', 'dotnet-fan-in');
      const tasks = new Set(buildHandoffModel(await spansOf(file!)).handoffs.map((h) => h.taskId));
      expect(tasks).toEqual(new Set(['3a9b1c7d0e2f4a6b', '7e4d2c1b0a9f8e6d']));
    });
  });

  it('claims the workflow spans and nothing else', () => {
    const base = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', kind: 1, startMs: 0, endMs: 1, statusCode: 0, statusMessage: '', attributes: {}, links: [], events: [], resource: {}, scopeName: '', source: 't' };
    const claims = (name: string) => agentFrameworkDialect.claims({ ...base, name });
    expect(['workflow.run', 'workflow_invoke', 'executor.process writer', 'message.send', 'edge_group.process FanInEdgeGroup', 'edge_group.process'].every(claims)).toBe(true);
    expect(['workflow.running', 'executor.processed x', 'invoke_agent writer', 'message.sender', 'workflow.run now'].some(claims)).toBe(false);
  });
});
