/**
 * The autogen dialect on traces constructed from AutoGen's tracing code
 * (fixtures/frameworks/autogen, see its README), in every encoding, held to
 * each program's own log; and on runs of the runtime model made here, for the
 * near misses (a resend after a success is no retry; a message from the
 * application is no handoff; the gRPC worker's process spans without a sender type).
 */
import { describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { autogenDialect, parseDestination, stripTeamSuffix } from '../../../src/analyze/dialects/autogen.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { AgentRuntime, HandlerError, type Message } from '../../../fixtures/frameworks/autogen/runtime.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';
import { auditFile, encodingsOf, expectReportMatchesLog, logOf } from './framework-fixtures.js';

const SCENARIOS = ['chain', 'selector-hub', 'circular', 'retry', 'concurrent'];

describe('autogen fixtures (constructed from autogen_core/_telemetry)', () => {
  describe.each(SCENARIOS)('%s', (scenario) => {
    it('is written in every encoding', async () => {
      const files = await encodingsOf('autogen', scenario);
      expect(files.length).toBeGreaterThanOrEqual(3);
    });

    it('audits, in every encoding, to the agents, edges and counts, retries, loop and runs the program logged', async () => {
      const log = await logOf('autogen', scenario);
      for (const file of await encodingsOf('autogen', scenario)) {
        const report = await auditFile(file);
        expect(report.inputs.dialects.find((d) => d.id === 'autogen')!.spans, file).toBeGreaterThan(0);
        expectReportMatchesLog(report, log);
      }
    });
  });

  it('reads the AgentChat hub as manager → speaker → manager round trips: no participant-to-participant edge, no loop', async () => {
    const log = await logOf('autogen', 'selector-hub');
    const report = await auditFile((await encodingsOf('autogen', 'selector-hub'))[0]!);
    for (const edge of report.edges) expect([edge.source, edge.target]).toContain('SelectorGroupChatManager');
    expect(report.findings).toEqual([]);
    // The team uuid is stripped from agent types and becomes the task id.
    expect(report.agents.some((a) => /_[0-9a-f]{8}-/.test(a))).toBe(false);
    expect(log.agents).toContain('SelectorGroupChatManager');
  });

  it('leaves the speakers\' runs to their AgentChat invoke_agent spans (otel-genai) and counts each once; the manager\'s runs are its process spans', async () => {
    const log = await logOf('autogen', 'selector-hub');
    const spans: SpanRecord[] = [];
    for await (const batch of readTraceInputs([(await encodingsOf('autogen', 'selector-hub'))[0]!])) spans.push(...batch);
    const model = buildHandoffModel(spans);
    const speakers = log.agents.filter((a) => a !== 'SelectorGroupChatManager');
    for (const speaker of speakers) {
      const runs = model.agentRuns.filter((r) => r.agent === speaker);
      expect(runs.map((r) => r.dialect), speaker).toEqual(['otel-genai']);
    }
    expect(new Set(model.agentRuns.filter((r) => r.agent === 'SelectorGroupChatManager').map((r) => r.dialect))).toEqual(new Set(['autogen']));
    // create_agent spans are otel-genai's to ignore: they define agents.
    expect(spans.filter((s) => s.name.startsWith('create_agent ')).length).toBe(speakers.length);
  });

  it('counts the retried RPC once, sent twice, with the failed attempt as a failed run of the worker', async () => {
    const log = await logOf('autogen', 'retry');
    const report = await auditFile((await encodingsOf('autogen', 'retry'))[0]!);
    const edge = report.edges.find((e) => e.source === 'coordinator' && e.target === 'worker')!;
    expect(edge.handoffs).toBe(1);
    expect(edge.retries).toBe(1);
    expect(log.handoffs[0]!.attempts).toBe(2);
    expect(log.failures).toEqual(['worker']);
  });
});

describe('parseDestination', () => {
  it.each([
    ['writer.(default)-A', { kind: 'agent', type: 'writer', key: 'default', team: undefined }],
    ['coder_a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13.(a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13)-A', { kind: 'agent', type: 'coder', key: 'a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13', team: 'a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13' }],
    ['group_topic_a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13.(x)-T', { kind: 'topic', type: 'group_topic', key: 'x', team: 'a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13' }],
    ['research.team.(s-1)-T', { kind: 'topic', type: 'research.team', key: 's-1', team: undefined }],
    ['MyInterventionHandler', { kind: 'other', type: 'MyInterventionHandler', key: '', team: undefined }],
  ])('%s', (text, expected) => {
    expect(parseDestination(text)).toEqual(expected);
  });

  it('keeps a type that only looks like a suffix, or is nothing but one', () => {
    expect(stripTeamSuffix('agent_v2')).toEqual({ name: 'agent_v2', team: undefined });
    expect(stripTeamSuffix('_a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13').name).toBe('_a3c9f0e2-5b1d-4c7e-9f21-7d4e8b6a0c13');
  });
});

const text = (type: string): Message => ({ type, body: { content: 'x' } });

/** Runs `program` on the runtime model and returns its spans as the analyzer reads them. */
async function runtimeSpans(program: (rt: AgentRuntime) => Promise<void>): Promise<SpanRecord[]> {
  const otel = createOtelHarness();
  await program(new AgentRuntime(otel.tracer));
  const spans = toSpanRecords(otel.spans());
  await otel.shutdown();
  return spans;
}

describe('autogenDialect', () => {
  it('claims only the runtime spans, never AutoGen GenAI spans (otel-genai reads those)', async () => {
    const spans = await runtimeSpans(async (rt) => {
      rt.register('a', 'A', async () => undefined);
      await rt.runUntil(() => rt.sendMessage(text('Ping'), { type: 'a', key: 'default' }));
    });
    expect(spans.length).toBeGreaterThan(0);
    for (const span of spans) expect(autogenDialect.claims(span)).toBe(span.name.startsWith('autogen '));
    expect(autogenDialect.claims({ ...spans[0]!, name: 'invoke_agent coder', attributes: { 'gen_ai.system': 'autogen' } })).toBe(false);
    expect(autogenDialect.claims({ ...spans[0]!, name: 'autogen frobnicate x' })).toBe(false);
  });

  it('a second message to the same agent after the first succeeded is a second handoff, not a retry', async () => {
    const spans = await runtimeSpans(async (rt) => {
      rt.register('boss', 'Boss', async (_m, _c, self) => {
        await self.sendMessage(text('Job'), { type: 'worker', key: 'k' });
        await self.sendMessage(text('Job'), { type: 'worker', key: 'k' });
        return undefined;
      });
      rt.register('worker', 'Worker', async () => text('Done'));
      await rt.runUntil(() => rt.sendMessage(text('Start'), { type: 'boss', key: 'k' }));
    });
    const model = buildHandoffModel(spans);
    expect(model.handoffs.map((h) => `${h.source}→${h.target}×${h.sendCount}`)).toEqual(['boss→worker×1', 'boss→worker×1']);
    expect(model.handoffs.every((h) => h.acks.length === 1)).toBe(true);
  });

  it('a resend after the first failed is one handoff sent twice', async () => {
    let calls = 0;
    const spans = await runtimeSpans(async (rt) => {
      rt.register('boss', 'Boss', async (_m, _c, self) => {
        try {
          await self.sendMessage(text('Job'), { type: 'worker', key: 'k' });
        } catch {
          await self.sendMessage(text('Job'), { type: 'worker', key: 'k' });
        }
        return undefined;
      });
      rt.register('worker', 'Worker', async () => {
        if (calls++ === 0) throw new HandlerError('ValueError', 'bad');
        return text('Done');
      });
      await rt.runUntil(() => rt.sendMessage(text('Start'), { type: 'boss', key: 'k' }));
    });
    const model = buildHandoffModel(spans);
    expect(model.handoffs.map((h) => `${h.source}→${h.target}×${h.sendCount}/${h.receives.length}`)).toEqual(['boss→worker×2/2']);
    expect(model.agentRuns.filter((r) => r.agent === 'worker').map((r) => r.outcome)).toEqual(['failed', 'completed']);
  });

  it('a message from the application is the task entry, ignored as a handoff with the reason', async () => {
    const spans = await runtimeSpans(async (rt) => {
      rt.register('solo', 'Solo', async () => undefined);
      await rt.runUntil(() => rt.sendMessage(text('Start'), { type: 'solo', key: 'default' }));
    });
    const ignored: string[] = [];
    const model = buildHandoffModel(spans, { onIgnored: (_d, i) => ignored.push(`${i.span.name}: ${i.reason}`) });
    expect(model.handoffs).toEqual([]);
    expect(model.agentRuns.map((r) => r.agent)).toEqual(['solo']);
    expect(ignored.some((r) => r.startsWith('autogen create solo.(default)-A: message created outside any agent handler'))).toBe(true);
  });

  it('finds the sender through the link to the create span when process spans carry no sender_agent_type (the gRPC worker)', async () => {
    const spans = await runtimeSpans(async (rt) => {
      rt.register('a', 'A', async (_m, _c, self) => {
        await self.publishMessage(text('Next'), { type: 'b', source: 's' });
        return undefined;
      });
      rt.register('b', 'B', async () => undefined);
      rt.subscribe('a', 'a');
      rt.subscribe('b', 'b');
      await rt.runUntil(() => rt.publishMessage(text('Go'), { type: 'a', source: 's' }));
    });
    const stripped = spans.map((s) => {
      const attributes = { ...s.attributes };
      delete attributes.sender_agent_type;
      delete attributes.recipient_agent_type;
      return { ...s, attributes };
    });
    expect(buildHandoffModel(stripped).handoffs.map((h) => `${h.source}→${h.target}`)).toEqual(['a→b']);
    // Without the link there is nothing to say who sent it: a run, and no edge.
    const unlinked = stripped.map((s) => (s.name.startsWith('autogen process') || s.name.startsWith('autogen publish') ? { ...s, links: [] } : s));
    const model = buildHandoffModel(unlinked);
    expect(model.handoffs.filter((h) => h.receives.length > 0)).toEqual([]);
    expect(model.agentRuns.map((r) => r.agent).sort()).toEqual(['a', 'b']);
  });
});
