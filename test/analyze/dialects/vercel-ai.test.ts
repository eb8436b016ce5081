/**
 * The vercel-ai dialect on real Vercel AI SDK 6 runs (fixtures/frameworks/vercel-ai/,
 * recorded from `ai` with `experimental_telemetry` and MockLanguageModelV3), read back in
 * every encoding: agents, delegation edges with exact counts, order, attempts, the cycle
 * and per-delegation latency must be what the program itself logged. Then the near
 * misses (plain tools, an unnamed model call, a refused delegation) and spans written
 * through the OTel SDK for what the fixtures do not show (metadata-named agents, an
 * agent failing, a tool call outside any named run).
 */
import { context, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { detectDependencyCycles } from '../../../src/analyze/detectors/dependency-cycle.js';
import { graphOf } from '../../helpers/analyze.js';
import { vercelAgentOf, vercelAiDialect } from '../../../src/analyze/dialects/vercel-ai.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditRecorded, ENCODINGS, expectReportMatchesRuns, modelsByTrace, readRecordedSpans, readRunLog } from '../../helpers/framework-fixtures.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

interface LoggedRun {
  readonly threadId: string;
  readonly agentsInOrder: readonly string[];
  readonly handoffs: readonly { source: string; target: string; attempts: number; latencyMs: number; latencyBoundsMs: readonly [number, number] }[];
  readonly notes: readonly string[];
}
interface RunLog {
  readonly runs: readonly LoggedRun[];
}

const FRAMEWORK = 'vercel-ai';
const SCENARIOS = ['chain', 'supervisor', 'circular', 'retry', 'concurrent'] as const;
/**
 * The SDK stamps a span's start with Date.now() between two moments the program sees:
 * a tool call's after the scripted model emitted it and before onToolCallStart, a run's
 * after the program called generateText and before its first step (onStepStart). The
 * log holds those bounds; span-to-span latency must fall within them (whole ms, ±1).
 */
const CLOCK_MS = 1;

const cases = SCENARIOS.flatMap((scenario) => ENCODINGS.map((encoding) => [scenario, encoding] as const));

describe.each(cases)('Vercel AI SDK %s (%s)', (scenario, encoding) => {
  it('finds the agents, delegation edges with exact counts and retries the program logged', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, scenario);
    expectReportMatchesRuns(await auditRecorded(FRAMEWORK, scenario, encoding), log.runs, 'vercel-ai');
  });

  it('reads each run as one trace: delegations in the logged order, return_to_caller, with the logged attempts and latency', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, scenario);
    const models = modelsByTrace(await readRecordedSpans(FRAMEWORK, scenario, encoding));
    expect(models).toHaveLength(log.runs.length);
    const byTask = new Map(models.map((m) => [m.agentRuns[0]!.taskId, m]));
    for (const run of log.runs) {
      const model = byTask.get(run.threadId)!;
      expect(model.agentRuns.map((r) => r.agent)).toEqual(run.agentsInOrder);
      expect(model.agentRuns.every((r) => r.outcome === 'completed')).toBe(true);
      expect(model.handoffs.map((h) => `${h.source} → ${h.target} ×${h.sendCount}`)).toEqual(run.handoffs.map((h) => `${h.source} → ${h.target} ×${h.attempts}`));
      for (let i = 0; i < run.handoffs.length; i++) {
        const handoff = model.handoffs[i]!;
        expect([handoff.kind, handoff.dialect, handoff.mode, handoff.inferred, handoff.taskId]).toEqual(['transfer', 'vercel-ai', 'return_to_caller', true, run.threadId]);
        expect(handoff.receives).toHaveLength(1);
        const latency = handoff.receives[0]!.startMs - handoff.send!.startMs;
        const [low, high] = run.handoffs[i]!.latencyBoundsMs;
        expect(latency).toBeGreaterThanOrEqual(low - CLOCK_MS);
        expect(latency).toBeLessThanOrEqual(high + CLOCK_MS);
      }
    }
  });

  it('reports a circular delegation exactly when an agent was called again while its first call still waited, with path and laps', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, scenario);
    const report = await auditRecorded(FRAMEWORK, scenario, encoding);
    const cycles = report.findings.filter((f) => f.ruleId === 'dependency-cycle');
    const expected = log.runs.flatMap((run) => {
      // Every delegation here nests (none returns before the next): a repeat of the first agent is a lap.
      const order = run.agentsInOrder;
      const laps = order.filter((a) => a === order[0]).length - 1;
      const nested = run.handoffs.every((h, i) => i === 0 || h.source === run.handoffs[i - 1]!.target);
      if (laps === 0 || !nested) return [];
      return [{ path: [...order.slice(0, order.indexOf(order[0]!, 1)), order[0]], laps }];
    });
    expect(cycles.map((f) => ({ path: f.path, laps: Number(/ran (\d+) lap/.exec(f.message)![1]) }))).toEqual(expected);
  });

  it('reports what the AI SDK cannot show as not evaluated for vercel-ai, never as passed', async () => {
    const report = await auditRecorded(FRAMEWORK, scenario, encoding);
    expect(report.rules.find((r) => r.ruleId === 'ack-timeout')!.notEvaluated.map((n) => n.reason)).toContain('in-process transfers: vercel-ai does not record acknowledgements');
    expect(report.rules.find((r) => r.ruleId === 'context-loss')!.notEvaluated.map((n) => n.reason)).toContain(
      'in-process transfers: vercel-ai does not record the context passed (decisions, constraints)',
    );
  });
});

describe('vercelAiDialect near misses in the recorded runs', () => {
  it('makes no delegation of plain tools, an unnamed model call or a refused delegation, and says why', async () => {
    const ignored: { name: string; tool: unknown; reason: string }[] = [];
    const collect = (_d: string, span: SpanRecord, reason: string) => ignored.push({ name: span.name, tool: span.attributes['ai.toolCall.name'], reason });
    const retry = modelsByTrace(await readRecordedSpans(FRAMEWORK, 'retry', 'otlpJson'), collect)[0]!;
    expect(retry.agentRuns.map((r) => r.agent)).toEqual(['triage', 'billing']);
    expect(ignored.filter((i) => i.tool === 'lookup' || i.tool === 'summarize').map((i) => i.reason)).toEqual([
      'tool lookup ran no agent: not a delegation',
      // summarize's execute runs a model call with telemetry on and no functionId: a delegation Baton cannot name.
      'tool summarize ran a model call with no agent name (no ai.telemetry.functionId, no metadata.agent): a delegation to an agent that is not named, not read',
    ]);
    expect(ignored.filter((i) => i.name === 'ai.generateText').map((i) => i.reason)).toEqual([expect.stringMatching(/without ai\.telemetry\.functionId/)]);

    const log = await readRunLog<RunLog>(FRAMEWORK, 'circular');
    expect(log.runs[0]!.notes).toEqual([expect.stringMatching(/refused at depth/)]);
    ignored.length = 0;
    modelsByTrace(await readRecordedSpans(FRAMEWORK, 'circular', 'otlpJson'), collect);
    expect(ignored.map((i) => i.reason)).toEqual(['tool ask_coder ran no agent: not a delegation']);
  });

  it('keeps the failed attempt as the delegation’s send, and the logged retry as its second attempt', async () => {
    const log = await readRunLog<RunLog>(FRAMEWORK, 'retry');
    expect(log.runs[0]!.notes).toEqual([expect.stringMatching(/attempt 1 failed/)]);
    const spans = await readRecordedSpans(FRAMEWORK, 'retry', 'otlpJson');
    const [handoff] = modelsByTrace(spans)[0]!.handoffs;
    const send = spans.find((s) => s.spanId === handoff!.send!.spanId)!;
    expect([send.name, send.attributes['ai.toolCall.name'], send.statusCode]).toEqual(['ai.toolCall', 'ask_billing', 2]);
  });

  it('claims runs and tool calls, never model calls', () => {
    const base = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', name: 'x', kind: 1, startMs: 0, endMs: 1, statusCode: 0, statusMessage: '', links: [], events: [], resource: {}, source: 't', scopeName: 'ai' };
    const span = (op: string): SpanRecord => ({ ...base, attributes: { 'ai.operationId': op } });
    expect(['ai.generateText', 'ai.streamText', 'ai.generateObject', 'ai.streamObject', 'ai.toolCall'].map((op) => vercelAiDialect.claims(span(op)))).toEqual([true, true, true, true, true]);
    expect(['ai.generateText.doGenerate', 'ai.streamText.doStream', 'ai.embed', ''].map((op) => vercelAiDialect.claims(span(op)))).toEqual([false, false, false, false]);
  });
});

describe('vercelAgentOf', () => {
  it('names the agent by functionId, else by an agent key of the telemetry metadata', () => {
    expect(vercelAgentOf({ 'ai.telemetry.functionId': 'triage', 'ai.telemetry.metadata.agent': 'other' })).toBe('triage');
    expect(vercelAgentOf({ 'ai.telemetry.metadata.agentName': 'billing' })).toBe('billing');
    expect(vercelAgentOf({ 'ai.telemetry.metadata.agent_id': 'a-7' })).toBe('a-7');
    expect(vercelAgentOf({ 'ai.telemetry.functionId': '', 'ai.telemetry.metadata.userId': 'u' })).toBeUndefined();
    expect(vercelAgentOf({ 'ai.telemetry.functionId': 7 })).toBeUndefined();
  });
});

/** AI SDK 6-shaped spans through the real OTel SDK, for cases the recorded runs do not hold. */
describe('vercelAiDialect on constructed AI SDK spans', () => {
  const harnesses: OtelHarness[] = [];
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.shutdown();
  });

  function write(build: (span: (name: string, attrs: Attributes, body?: () => void, error?: boolean) => void) => void): SpanRecord[] {
    const otel = createOtelHarness('ai-test');
    harnesses.push(otel);
    let nowMs = Date.UTC(2030, 0, 1);
    const span = (name: string, attrs: Attributes, body?: () => void, error = false): void => {
      const s = otel.tracer.startSpan(name, { startTime: (nowMs += 1), attributes: { 'ai.operationId': name, ...attrs } });
      context.with(trace.setSpan(context.active(), s), () => body?.());
      if (error) s.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      s.end((nowMs += 1));
    };
    build(span);
    return toSpanRecords(otel.spans());
  }

  it('reads metadata-named agents, a failing callee, and usage tokens', () => {
    const spans = write((span) =>
      span('ai.generateText', { 'ai.telemetry.metadata.agent': 'router', 'ai.telemetry.metadata.sessionId': 's-1', 'ai.usage.inputTokens': 30, 'ai.usage.outputTokens': 5 }, () =>
        span('ai.toolCall', { 'ai.toolCall.name': 'ask_specialist', 'ai.telemetry.metadata.agent': 'router' }, () =>
          span('ai.streamText', { 'ai.telemetry.metadata.agent': 'specialist', 'ai.usage.promptTokens': 9 }, undefined, true),
        ),
      ),
    );
    const model = buildHandoffModel(spans);
    expect(model.agentRuns.map((r) => [r.agent, r.outcome, r.inputTokens])).toEqual([
      ['router', 'completed', 30],
      ['specialist', 'failed', 9],
    ]);
    expect(model.handoffs.map((h) => [h.source, h.target, h.sendCount, h.taskId])).toEqual([['router', 'specialist', 1, 's-1']]);
  });

  it('reads a delegation whose callee threw, called again through the same tool to the same agent, as one handoff attempted twice; nothing else', () => {
    const ask = (callee: string, failed: boolean) => (span: Parameters<Parameters<typeof write>[0]>[0]) =>
      span('ai.toolCall', { 'ai.toolCall.name': 'ask_billing' }, () => span('ai.generateText', { 'ai.telemetry.functionId': callee }, undefined, failed), failed);
    // Retried: the same caller run calls ask_billing again after billing threw.
    const retried = buildHandoffModel(write((span) => span('ai.generateText', { 'ai.telemetry.functionId': 'triage' }, () => (ask('billing', true)(span), ask('billing', false)(span)))));
    expect(retried.handoffs.map((h) => [h.source, h.target, h.sendCount])).toEqual([['triage', 'billing', 2]]);
    expect(retried.agentRuns.map((r) => [r.agent, r.outcome])).toEqual([['triage', 'completed'], ['billing', 'failed'], ['billing', 'completed']]);
    // Near misses: a failure never retried; a retry from another caller run; two successful calls; the same tool reaching another agent.
    const near = buildHandoffModel(
      write((span) => {
        span('ai.generateText', { 'ai.telemetry.functionId': 'triage' }, () => ask('billing', true)(span));
        span('ai.generateText', { 'ai.telemetry.functionId': 'triage' }, () => (ask('billing', false)(span), ask('billing', false)(span)));
        span('ai.generateText', { 'ai.telemetry.functionId': 'router' }, () => (ask('billing', true)(span), ask('refunds', false)(span)));
      }),
    );
    expect(near.handoffs.map((h) => [h.source, h.target, h.sendCount])).toEqual([
      ['triage', 'billing', 1],
      ['triage', 'billing', 1],
      ['triage', 'billing', 1],
      ['router', 'billing', 1],
      ['router', 'refunds', 1],
    ]);
  });

  it('reports an agent called back by its callee while its own call waits as a circular delegation; a call back after the call returned is not one', () => {
    const call = (span: Parameters<Parameters<typeof write>[0]>[0], caller: string, callee: string, inner?: () => void) =>
      span('ai.toolCall', { 'ai.toolCall.name': `ask_${callee}`, 'ai.telemetry.metadata.taskId': 't-1' }, () => span('ai.generateText', { 'ai.telemetry.functionId': callee }, inner));
    // writer → editor, and inside that call editor → writer: the writer is called again while it waits.
    const nested = write((span) => span('ai.generateText', { 'ai.telemetry.functionId': 'writer' }, () => call(span, 'writer', 'editor', () => call(span, 'editor', 'writer'))));
    const found = detectDependencyCycles(graphOf(nested)).findings;
    expect(found.map((f) => [f.ruleId, f.path])).toEqual([['dependency-cycle', ['writer', 'editor', 'writer']]]);
    // Near miss: writer's call of editor returns first; a later editor run (its own, not inside the call) asks writer.
    const after = write((span) => {
      span('ai.generateText', { 'ai.telemetry.functionId': 'writer' }, () => call(span, 'writer', 'editor'));
      span('ai.generateText', { 'ai.telemetry.functionId': 'editor' }, () => call(span, 'editor', 'writer'));
    });
    expect(buildHandoffModel(after).handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(['writer → editor', 'editor → writer']);
    expect(detectDependencyCycles(graphOf(after)).findings).toEqual([]);
  });

  it('takes the delegating agent from the tool call’s functionId when no named run encloses it, and ignores one with neither', () => {
    const ignored: string[] = [];
    const spans = write((span) => {
      span('ai.toolCall', { 'ai.toolCall.name': 'ask_b', 'ai.telemetry.functionId': 'a' }, () => span('ai.generateText', { 'ai.telemetry.functionId': 'b' }));
      span('ai.toolCall', { 'ai.toolCall.name': 'ask_c' }, () => span('ai.generateText', { 'ai.telemetry.functionId': 'c' }));
    });
    const model = buildHandoffModel(spans, { onIgnored: (_d, i) => ignored.push(i.reason) });
    expect(model.handoffs.map((h) => `${h.source} → ${h.target}`)).toEqual(['a → b']);
    expect(ignored).toEqual([expect.stringMatching(/ran agent c outside any named run/)]);
  });
});
