/**
 * A round trip is not a loop: supervisors, planners and request/reply are the
 * normal design and must audit clean with no config, while circular delegation
 * and rework ping-pong are found with their lap counts. Each case is a real
 * program: agents in their own processes handing envelopes through the real
 * Baton SDK; the expected laps come from what the program did.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import type { Finding } from '../../../src/model/finding.js';
import { Baton } from '../../../src/sdk/baton.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.shutdown()));
});

/**
 * Runs a scripted conversation: each step is `source → target` (with an optional
 * envelope status), carried as a real envelope from the source's process to the
 * target's. Every agent is a process of its own; the task id is shared.
 */
function converse(steps: readonly (readonly [string, string, string?])[], taskId = 'task-1'): { spans: ReturnType<typeof toSpanRecords>; log: string[] } {
  const harness = createOtelHarness();
  harnesses.push(harness);
  const baton = new Baton({ tracer: harness.tracer, meter: harness.meter });
  const log: string[] = [];
  let inbox: string | undefined;
  for (const [source, target, status] of steps) {
    const wire: string = context.with(ROOT_CONTEXT, () =>
      baton.runAgent(
        source,
        () => {
          if (inbox) baton.receive(inbox, { agent: source });
          const sent = baton.send({
            task_id: taskId,
            source_agent: source,
            target_agent: target,
            status: status ?? 'complete',
            output: { summary: `${source} to ${target}`, artifacts: [] },
            context: { original_goal: 'g', constraints: ['c'], decisions_made: ['d'] },
            metadata: { started_at: new Date().toISOString(), token_count: 10, model: 'm' },
          });
          return JSON.stringify(sent);
        },
        { taskId },
      ),
    );
    log.push(`${source}→${target}`);
    inbox = wire;
  }
  // The last target takes its handoff.
  const last = steps[steps.length - 1]!;
  context.with(ROOT_CONTEXT, () => baton.runAgent(last[1], () => baton.receive(inbox!, { agent: last[1] }), { taskId }));
  return { spans: toSpanRecords(harness.spans()), log };
}

async function loopFindings(steps: readonly (readonly [string, string, string?])[]): Promise<Finding[]> {
  const { spans, log } = converse(steps);
  expect(log).toHaveLength(steps.length);
  const report = await auditSpans([spans]);
  // Every handoff the program made is an edge count in the report.
  expect(report.edges.reduce((n, e) => n + e.handoffs, 0)).toBe(steps.length);
  return report.findings.filter((f) => f.ruleId === 'dependency-cycle');
}

describe('round trips are clean by default', () => {
  it.each([
    ['a supervisor and its worker', [['supervisor', 'worker'], ['worker', 'supervisor']]],
    ['a planner that delegates to a coder and resumes, then to a tester', [['planner', 'coder'], ['coder', 'planner'], ['planner', 'tester'], ['tester', 'planner']]],
    ['a hub over three workers', [['hub', 'a'], ['a', 'hub'], ['hub', 'b'], ['b', 'hub'], ['hub', 'c'], ['c', 'hub']]],
    ['nested delegation unwinding the way it came', [['ceo', 'cto'], ['cto', 'dev'], ['dev', 'cto'], ['cto', 'ceo']]],
    ['request and reply, five times over (within maxRoundTrips)', Array.from({ length: 5 }, () => [['client', 'server'], ['server', 'client']] as [string, string][]).flat()],
    ['a pipeline that passes work on', [['triage', 'research'], ['research', 'analysis'], ['analysis', 'writer']]],
  ] as const)('%s', async (_name, steps) => {
    expect(await loopFindings(steps)).toEqual([]);
  });
});

describe('loops are found, with their laps', () => {
  it('finds circular delegation: the work comes back to an agent that handed it on', async () => {
    const findings = await loopFindings([
      ['triage', 'billing'],
      ['billing', 'refunds'],
      ['refunds', 'triage'],
    ]);
    expect(findings.map((f) => [f.message, f.path])).toEqual([
      ['circular delegation triage → billing → refunds → triage ran 1 lap: the work came back to an agent that had handed it on', ['triage', 'billing', 'refunds', 'triage']],
    ]);
  });

  it('counts each time round the same cycle as a lap', async () => {
    const steps: [string, string][] = [];
    for (let lap = 0; lap < 3; lap++) steps.push(['a', 'b'], ['b', 'c'], ['c', 'a']);
    const findings = await loopFindings(steps);
    expect(findings.map((f) => f.message)).toEqual([expect.stringMatching(/^circular delegation a → b → c → a ran 3 laps/)]);
  });

  it('finds a revision loop when a return sends the work back for rework', async () => {
    const findings = await loopFindings([
      ['writer', 'reviewer'],
      ['reviewer', 'writer', 'needs_review'],
      ['writer', 'reviewer'],
      ['reviewer', 'writer', 'needs_review'],
      ['writer', 'reviewer'],
    ]);
    expect(findings.map((f) => f.message)).toEqual(['revision loop writer → reviewer → writer ran 2 laps: the work was sent back for rework']);
  });

  it('finds request/reply ping-pong past maxRoundTrips, and honours a higher limit', async () => {
    const steps = Array.from({ length: 7 }, () => [['client', 'server'], ['server', 'client']] as [string, string][]).flat();
    expect((await loopFindings(steps)).map((f) => f.message)).toEqual(['revision loop client → server → client ran 6 laps, over 5 round trips']);
    const { spans } = converse(steps);
    const report = await auditSpans([spans], { rules: { 'dependency-cycle': { maxRoundTrips: 6 } } });
    expect(report.findings).toEqual([]);
  });

  it('accepts a declared loop up to its laps', async () => {
    const { spans } = converse([
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'a'],
    ]);
    const report = await auditSpans([spans], { rules: { 'dependency-cycle': { allowedLoops: [{ agents: ['c', 'a', 'b'], maxLaps: 1 }] } } });
    expect(report.findings).toEqual([]);
    expect(report.cycles).toEqual([]);
  });

  it('lists each loop found in report.cycles, in the direction the work went', async () => {
    const { spans } = converse([
      ['triage', 'billing'],
      ['billing', 'refunds'],
      ['refunds', 'triage'],
    ]);
    const report = await auditSpans([spans]);
    expect(report.cycles).toEqual([['triage', 'billing', 'refunds', 'triage']]);
  });
});
