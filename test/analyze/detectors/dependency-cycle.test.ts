/**
 * detectDependencyCycles (rule dependency-cycle) on the committed fixtures:
 * the deadlock of `cycle.json` (declared waits), the handoff loop of
 * `revision-loop.json`, allowedLoops, and what the rule says when the data does
 * not declare who waits on whom. fast-check properties over SDK-made handoffs
 * state the delegation-stack definition of a loop: round trips (any nesting,
 * any hub) are never one, and a circular delegation a1 → … → ak → a1 always is,
 * once per lap.
 *
 * Evidence ids are the seeded span ids of the fixtures (fixtures/generate.ts).
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Auditor } from '../../../src/analyze/audit.js';
import { detectDependencyCycles, RULE } from '../../../src/analyze/detectors/dependency-cycle.js';
import { BATON_AGENT_DEPENDS_ON, BATON_AGENT_OUTCOME, BATON_HANDOFF_ID, BatonOperation } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import {
  auditOne,
  graphOf,
  invalidGraphs,
  isOperation,
  ruleOf,
  expectCouldNotRun,
  spansOf,
  setAttributes,
  stripAttributes,
  withoutSpans,
} from '../../helpers/analyze.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

const CYCLE_TRACE = '2ef41ca7c67d24bb489edbb7d1ff8072';
// cycle.json: the four blocked `agent.run` spans (baton.agent.outcome = blocked), in
// the order the detector lists them (blocked runs by start time, then span id): the
// order the pipeline started them in (#deadlock), tens of µs apart within one millisecond.
const RESEARCH_RUN = 'e4a42b7372810ddb'; // agent.run research, depends_on [triage, reviewer]
const ANALYSIS_RUN = '808528cd7b037d55'; // agent.run analysis, depends_on [research]
const WRITER_RUN = 'eac6c5bbe1d3ca56'; // agent.run writer, depends_on [analysis]
const REVIEWER_RUN = '61cba69d8ca8b7ea'; // agent.run reviewer, depends_on [writer]

const LOOP_TRACE = '46f47a1b2ad45927ed7e61514b20c483';
// revision-loop.json: the `handoff.send` spans on the writer ⇄ reviewer loop, by send start.
const LOOP_SENDS = [
  'bb44ee300668aef8', // writer → reviewer (first draft)
  'a753d536acadfd69', // reviewer → writer (revision round 1)
  'c00637f7cf827bac', // writer → reviewer (revised draft 1)
  '24474df3daa36aae', // reviewer → writer (revision round 2)
  '29185d2b04128012', // writer → reviewer (revised draft 2)
];
// The receives of the two reviewer → writer handoffs (children of the sends above).
const BACK_EDGE_RECEIVES = ['e7dcde8251a5c5c9', 'e2b6e1478e35c22d'];

const NO_DEPENDS_ON = 'tasks whose agent runs declare no baton.agent.depends_on: wait-for cycles not checked';

let clean: SpanRecord[];
let cycle: SpanRecord[];
let revisionLoop: SpanRecord[];

beforeAll(async () => {
  [clean, cycle, revisionLoop] = await Promise.all([loadFixture('clean'), loadFixture('cycle'), loadFixture('revision-loop')]);
});

describe('detectDependencyCycles', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "dependency-cycle:" for %s', (_label, input) => {
    expect(() => detectDependencyCycles(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectDependencyCycles(input as HandoffGraph)).toThrow(/^dependency-cycle: expected a HandoffGraph/);
  });

  it('reports the deadlock of cycle.json as an error naming the four blocked agents, with their runs as evidence', () => {
    const result = detectDependencyCycles(graphOf(cycle));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        // The cycle is walked from the first-started run's waits: research's. It is the
        // cycle the generator logged (validatePlan would refuse: research → reviewer → …).
        message: 'deadlock: research → reviewer → writer → analysis → research wait on each other and none of them completed',
        hint: expect.stringContaining('validatePlan'),
        evidence: {
          traceId: CYCLE_TRACE,
          traceIds: [CYCLE_TRACE],
          spanIds: [RESEARCH_RUN, ANALYSIS_RUN, WRITER_RUN, REVIEWER_RUN],
          startMs: cycle.find((s) => s.spanId === RESEARCH_RUN)!.startMs,
        },
        agents: ['research', 'reviewer', 'writer', 'analysis'],
        // Waiter → awaited: research waits on reviewer.
        path: ['research', 'reviewer', 'writer', 'analysis', 'research'],
        taskId: 'research-cycle',
      },
    ]);
    // One task checked for wait-for cycles, one for handoff loops.
    expect(result.checked).toBe(2);
    expect(result.notEvaluated).toEqual([]);
  });

  it('names in the deadlock hint an entry point the baton-sdk package exports, where validatePlan is', async () => {
    const hint = detectDependencyCycles(graphOf(cycle)).findings[0]!.hint;
    const entry = /validatePlan from ([\w@/.-]+)\)/.exec(hint)?.[1];
    const { name, exports } = JSON.parse(readFileSync(new URL('../../../packages/sdk/package.json', import.meta.url), 'utf8')) as {
      name: string;
      exports: Record<string, unknown>;
    };
    expect(entry).toBe(`${name}/plan`);
    expect(Object.keys(exports)).toContain(`./${entry!.slice(name.length + 1)}`);
    const plan = (await import('../../../src/plan/index.js')) as Record<string, unknown>;
    expect(typeof plan.validatePlan).toBe('function');
  });

  it('downgrades a declared cycle to a warning when one of its agents completed anyway, completed runs last in evidence', () => {
    const spans = setAttributes(cycle, RESEARCH_RUN, { [BATON_AGENT_OUTCOME]: 'completed' });
    const [finding, ...rest] = detectDependencyCycles(graphOf(spans)).findings;
    expect(rest).toEqual([]);
    expect(finding!.severity).toBe('warning');
    expect(finding!.message).toBe(
      'dependency cycle research → reviewer → writer → analysis → research (declared waits); research completed, so it did not deadlock this time',
    );
    expect(finding!.evidence.spanIds).toEqual([ANALYSIS_RUN, WRITER_RUN, REVIEWER_RUN, RESEARCH_RUN]);
  });

  it('reports the revision loop of revision-loop.json as a warning with its lap count and every send on the loop', () => {
    const result = detectDependencyCycles(graphOf(revisionLoop));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'warning',
        // Both of the reviewer's returns carried status needs_review: rework, whatever the lap count.
        message: 'revision loop writer → reviewer → writer ran 2 laps: the work was sent back for rework',
        hint: expect.stringContaining('allowedLoops'),
        // From the first draft the reviewer sent back, through every send on the loop.
        evidence: {
          traceId: LOOP_TRACE,
          traceIds: [LOOP_TRACE],
          spanIds: LOOP_SENDS,
          startMs: revisionLoop.find((s) => s.spanId === LOOP_SENDS[0])!.startMs,
        },
        agents: ['writer', 'reviewer'],
        path: ['writer', 'reviewer', 'writer'],
        taskId: 'research-revision-loop',
      },
    ]);
    expect(result.checked).toBe(2);
  });

  it('finds no loop once the reviewer → writer handoffs are removed (the same trace, one edge flipped off)', () => {
    const backEdges = [LOOP_SENDS[1]!, LOOP_SENDS[3]!, ...BACK_EDGE_RECEIVES];
    const result = detectDependencyCycles(graphOf(withoutSpans(revisionLoop, backEdges)));
    expect(result.findings).toEqual([]);
    expect(result.checked).toBe(2);
  });

  it('finds nothing on the clean fixture, having checked its declared waits and its handoffs', () => {
    const result = detectDependencyCycles(graphOf(clean));
    expect(result).toEqual({ findings: [], checked: 2, notEvaluated: [] });
  });

  describe('allowedLoops', () => {
    it('accepts a declared loop whatever order its agents are listed in', () => {
      const result = detectDependencyCycles(graphOf(revisionLoop), { allowedLoops: [{ agents: ['reviewer', 'writer'] }] });
      expect(result.findings).toEqual([]);
      expect(result.checked).toBe(2);
    });

    it('accepts the loop up to maxLaps and reports it, naming the limit, past it', () => {
      expect(
        detectDependencyCycles(graphOf(revisionLoop), { allowedLoops: [{ agents: ['writer', 'reviewer'], maxLaps: 2 }] }).findings,
      ).toEqual([]);
      const [finding, ...rest] = detectDependencyCycles(graphOf(revisionLoop), {
        allowedLoops: [{ agents: ['writer', 'reviewer'], maxLaps: 1 }],
      }).findings;
      expect(rest).toEqual([]);
      expect(finding!.message).toBe('revision loop writer → reviewer → writer ran 2 laps, over its allowed 1');
      expect(finding!.evidence.spanIds).toEqual(LOOP_SENDS);
    });

    it('does not accept a loop over a different set of agents', () => {
      for (const agents of [['writer'], ['writer', 'reviewer', 'analysis']]) {
        const findings = detectDependencyCycles(graphOf(revisionLoop), { allowedLoops: [{ agents }] }).findings;
        expect(findings.map((f) => f.message)).toEqual(['revision loop writer → reviewer → writer ran 2 laps: the work was sent back for rework']);
      }
    });

    it('never excuses a deadlock of declared waits', () => {
      const findings = detectDependencyCycles(graphOf(cycle), {
        allowedLoops: [{ agents: ['research', 'analysis', 'writer', 'reviewer'] }],
      }).findings;
      expect(findings.map((f) => f.severity)).toEqual(['error']);
    });
  });

  describe('when the data cannot show a cycle', () => {
    it('says wait-for cycles were not checked when no run declares baton.agent.depends_on, rather than passing', () => {
      const result = detectDependencyCycles(graphOf(stripAttributes(cycle, [BATON_AGENT_DEPENDS_ON])));
      expect(result.findings).toEqual([]);
      // Only the handoff-loop check of the one task ran.
      expect(result.checked).toBe(1);
      expect(result.notEvaluated).toEqual([{ count: 1, reason: NO_DEPENDS_ON }]);
    });

    it('checks nothing without declared waits and without handoffs, and the audit says the rule could not run', async () => {
      const spans = stripAttributes(cycle, [BATON_AGENT_DEPENDS_ON]).filter(
        (s) => !isOperation(BatonOperation.HandoffSend, BatonOperation.HandoffReceive)(s),
      );
      expect(detectDependencyCycles(graphOf(spans))).toEqual({
        findings: [],
        checked: 0,
        notEvaluated: [{ count: 1, reason: NO_DEPENDS_ON }],
      });
      expectCouldNotRun(await auditOne(spans, { only: [RULE] }), RULE, [{ count: 1, reason: NO_DEPENDS_ON }]);
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model, for the deadlock and the loop', async () => {
      for (const spans of [cycle, revisionLoop]) {
        const report = await auditOne(spans, { only: [RULE] });
        expect(report.findings).toEqual(detectDependencyCycles(graphOf(spans)).findings);
        expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 2, couldNotRun: false });
      }
    });

    it('passes rules.dependency-cycle options to the detector', async () => {
      const report = await auditOne(revisionLoop, {
        rules: { 'dependency-cycle': { allowedLoops: [{ agents: ['writer', 'reviewer'], maxLaps: 2 }] } },
      });
      expect(report.findings).toEqual([]);
      expect(report.severityCounts).toEqual({ error: 0, warning: 0, info: 0 });
    });
  });

  describe('across trace groups (one task, agents in processes that hand nothing to each other)', () => {
    /**
     * Each run is a root span of its own trace, as in two processes: nothing links them.
     * Returns the spans and the program's log of who waited on whom.
     */
    function separateRuns(runs: readonly { agent: string; task: string; waitsOn: string; completes: boolean }[]) {
      const otel = createOtelHarness();
      const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
      const log: string[] = [];
      for (const r of runs) {
        context.with(ROOT_CONTEXT, () =>
          baton.runAgent(r.agent, (run) => {
            if (!r.completes) run.block(`waiting on ${r.waitsOn}`);
          }, { taskId: r.task, dependsOn: [r.waitsOn] }),
        );
        log.push(`${r.task}: ${r.agent} waits on ${r.waitsOn}${r.completes ? ', completed' : ', blocked'}`);
      }
      const spans = toSpanRecords(otel.spans());
      return { spans, log, traces: new Set(spans.map((x) => x.traceId)).size };
    }

    it('reports the deadlock of two agents in two traces waiting on each other, once, with both runs as evidence', async () => {
      const { spans, log, traces } = separateRuns([
        { agent: 'fact-checker', task: 'post-2', waitsOn: 'editor', completes: false },
        { agent: 'editor', task: 'post-2', waitsOn: 'fact-checker', completes: false },
      ]);
      expect(traces).toBe(2);
      expect(log).toEqual(['post-2: fact-checker waits on editor, blocked', 'post-2: editor waits on fact-checker, blocked']);
      // Each trace alone shows half the cycle.
      expect(detectDependencyCycles(graphOf(spans.slice(0, 1))).findings).toEqual([]);
      const report = await auditOne(spans, { only: [RULE] });
      expect(report.findings).toEqual([
        expect.objectContaining({
          severity: 'error',
          message: 'deadlock: fact-checker → editor → fact-checker wait on each other and none of them completed',
          path: ['fact-checker', 'editor', 'fact-checker'],
          taskId: 'post-2',
          evidence: expect.objectContaining({ spanIds: spans.map((x) => x.spanId), traceIds: spans.map((x) => x.traceId) }),
        }),
      ]);
    });

    it('says the cycle did not deadlock when one of its agents completed in its own trace', async () => {
      const { spans } = separateRuns([
        { agent: 'a', task: 't', waitsOn: 'b', completes: false },
        { agent: 'b', task: 't', waitsOn: 'a', completes: true },
      ]);
      const report = await auditOne(spans, { only: [RULE] });
      expect(report.findings.map((f) => [f.severity, f.message])).toEqual([
        ['warning', 'dependency cycle a → b → a (declared waits); b completed, so it did not deadlock this time'],
      ]);
    });

    it('reports the deadlock of a task once when the same wait recurs after the task was quiet past the settling hour', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const pair = (task: string) => [
          { agent: 'fact-checker', task, waitsOn: 'editor', completes: false },
          { agent: 'editor', task, waitsOn: 'fact-checker', completes: false },
        ];
        vi.setSystemTime(Date.UTC(2030, 0, 1));
        const first = separateRuns(pair('post-2'));
        vi.setSystemTime(Date.UTC(2030, 0, 1, 2));
        const again = separateRuns(pair('post-2'));
        const report = await auditOne([...first.spans, ...again.spans], { only: [RULE] });
        expect([...first.log, ...again.log].filter((line) => line.endsWith('blocked'))).toHaveLength(4);
        expect(report.findings.map((f) => f.taskId)).toEqual(['post-2']);
        expect(report.findings[0]!.message).toMatch(/^deadlock: (fact-checker → editor → fact-checker|editor → fact-checker → editor) wait on each other/);
        // Near miss: the recurrence in another task is that task's own deadlock.
        vi.setSystemTime(Date.UTC(2030, 0, 1, 4));
        const other = separateRuns(pair('post-3'));
        const both = await auditOne([...first.spans, ...other.spans], { only: [RULE] });
        expect(both.findings.map((f) => f.taskId)).toEqual(['post-2', 'post-3']);
      } finally {
        vi.useRealTimers();
      }
    });

    it('finds nothing when the waits across traces form a chain, or the two halves belong to different tasks', async () => {
      const chain = separateRuns([
        { agent: 'a', task: 't', waitsOn: 'b', completes: false },
        { agent: 'b', task: 't', waitsOn: 'c', completes: false },
      ]);
      const twoTasks = separateRuns([
        { agent: 'a', task: 't1', waitsOn: 'b', completes: false },
        { agent: 'b', task: 't2', waitsOn: 'a', completes: false },
      ]);
      for (const { spans } of [chain, twoTasks]) expect((await auditOne(spans, { only: [RULE] })).findings).toEqual([]);
    });
  });

  describe('on SDK-made handoffs', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('never reports round trips as a loop, whatever the nesting and hubs, until a pair re-runs past maxRoundTrips', () => {
      const pool = ['a', 'b', 'c', 'd', 'e'];
      fc.assert(
        fc.property(fc.array(fc.nat({ max: 60 }), { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (choices, maxRoundTrips) => {
          const { edges, laps } = roundTrips(choices, pool);
          fc.pre(edges.length > 0);
          const { spans } = handoffSpans(edges);
          const result = detectDependencyCycles(graphOf(spans), { maxRoundTrips });
          // Only a pair whose work went back and forth past the limit is a (revision) loop; never a circular delegation.
          const expected = [...laps]
            .filter(([, n]) => n > maxRoundTrips)
            .map(([pair, n]) => `revision loop ${pair} ran ${n} laps, over ${maxRoundTrips} round trips`)
            .sort();
          expect(result.findings.map((f) => f.message).sort()).toEqual(expected);
          expect(detectDependencyCycles(graphOf(spans), { maxRoundTrips: 1000 }).findings).toEqual([]);
          expect(result.checked).toBe(1);
        }),
        { numRuns: 40 },
      );
    });

    it('reports a circular delegation a1 → … → ak → a1 (k ≥ 3) exactly once, with its path, laps and every hop on it', () => {
      const helpers = ['h1', 'h2', 'h3'];
      fc.assert(
        fc.property(
          fc.shuffledSubarray(['p', 'q', 'r', 's', 't'], { minLength: 3, maxLength: 5 }),
          fc.integer({ min: 1, max: 3 }),
          fc.array(fc.array(fc.nat({ max: 30 }), { maxLength: 6 }), { minLength: 15, maxLength: 15 }),
          (cycle, laps, detours) => {
            // The work handed on around the cycle `laps` times; before each hop its holder may make round trips to helpers.
            const edges: [string, string][] = [];
            const onCycle: number[] = [];
            let step = 0;
            for (let lap = 0; lap < laps; lap++) {
              for (let i = 0; i < cycle.length; i++) {
                const holder = cycle[i]!;
                edges.push(...roundTrips(detours[step++]!, [holder, ...helpers]).edges);
                onCycle.push(edges.length);
                edges.push([holder, cycle[(i + 1) % cycle.length]!]);
              }
            }
            const { spans, sendIds } = handoffSpans(edges);
            const findings = detectDependencyCycles(graphOf(spans)).findings;
            const circular = findings.filter((f) => f.message.startsWith('circular delegation'));
            // Helpers' round trips are no loop (a pair past maxRoundTrips would be a revision loop, never a circular one).
            for (const f of findings) {
              if (!circular.includes(f)) expect(f.message).toMatch(/^revision loop \w+ → h\d → \w+ ran \d+ laps, over 5 round trips$/);
            }
            const path = [...cycle, cycle[0]!];
            expect(circular).toEqual([
              {
                ruleId: RULE,
                severity: 'warning',
                message: `circular delegation ${path.join(' → ')} ran ${laps} lap${laps === 1 ? '' : 's'}: the work came back to an agent that had handed it on`,
                hint: expect.stringContaining('allowedLoops'),
                evidence: expect.objectContaining({ spanIds: onCycle.map((i) => sendIds[i]) }),
                agents: cycle,
                path,
                taskId: 'loop-task',
              },
            ]);
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe('loops across trace groups (each hop of a task its own trace)', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    interface Hop {
      readonly source: string;
      readonly target: string;
      readonly status?: string;
      readonly task?: string;
      /** Data time passed before this hop (a task that goes quiet, then resumes). */
      readonly pauseMs?: number;
    }

    /**
     * Sends and receives each hop through the real SDK, a second apart. Each send starts at the root
     * (the receiver hands on outside its receive, as another process would), so each hop is its own
     * trace, except the first `shared` hops, sent inside one `pipeline` span. Returns the spans, the
     * send span id of each hop and the program's log.
     */
    function hopTraces(hops: readonly Hop[], shared = 0) {
      const otel = createOtelHarness();
      const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
      let nowMs = Date.UTC(2030, 0, 1);
      const handoffIds: string[] = [];
      const log: string[] = [];
      const hop = (h: Hop) => {
        vi.setSystemTime((nowMs += 1000 + (h.pauseMs ?? 0)));
        const status = h.status ?? 'complete';
        const sent = baton.send({
          task_id: h.task ?? 'post-7',
          source_agent: h.source,
          target_agent: h.target,
          status,
          output: { summary: `${h.source} done` },
          context: { original_goal: 'g', decisions_made: [], constraints: [] },
          metadata: { started_at: new Date(0).toISOString() },
        });
        handoffIds.push(sent.handoff.id);
        vi.setSystemTime((nowMs += 1000));
        context.with(ROOT_CONTEXT, () => baton.receive(JSON.stringify(sent)));
        log.push(`${h.task ?? 'post-7'}: ${h.source} → ${h.target} (${status})`);
      };
      if (shared > 0) {
        context.with(ROOT_CONTEXT, () =>
          otel.tracer.startActiveSpan('pipeline', (span) => {
            for (const h of hops.slice(0, shared)) hop(h);
            span.end();
          }),
        );
      }
      for (const h of hops.slice(shared)) context.with(ROOT_CONTEXT, () => hop(h));
      const spans = toSpanRecords(otel.spans());
      const sends = spansOf(spans, BatonOperation.HandoffSend);
      const sendIds = handoffIds.map((id) => sends.find((s) => s.attributes[BATON_HANDOFF_ID] === id)!.spanId);
      const traceIds = [...new Set(spans.map((x) => x.traceId))];
      return { spans, sendIds, traceIds, log };
    }

    /** The findings of every trace audited alone (what each group reports by itself). */
    async function perTrace(spans: readonly SpanRecord[], traceIds: readonly string[], options: Parameters<typeof auditOne>[1]) {
      const found: string[] = [];
      for (const t of traceIds) for (const f of (await auditOne(spans.filter((x) => x.traceId === t), options)).findings) found.push(f.message);
      return found;
    }

    it('reports a writer ⇄ reviewer revision loop past its allowedLoops once, with its laps and every hop', async () => {
      const sendBack = { source: 'reviewer', target: 'writer', status: 'needs_review' };
      const draft = { source: 'writer', target: 'reviewer' };
      const { spans, sendIds, traceIds, log } = hopTraces([draft, sendBack, draft, sendBack, draft, sendBack, draft]);
      // Laps, from the program's log: each time the reviewer sent the draft back and the writer resubmitted it.
      const laps = log.filter((line, i) => line.endsWith('(needs_review)') && log[i + 1]?.includes('writer → reviewer')).length;
      expect(laps).toBe(3);
      expect(traceIds).toHaveLength(7);
      const options = { only: [RULE], rules: { [RULE]: { allowedLoops: [{ agents: ['writer', 'reviewer'], maxLaps: 2 }] } } };
      expect(await perTrace(spans, traceIds, options)).toEqual([]);
      const report = await auditOne(spans, options);
      expect(report.inputs.traceGroups).toBe(7);
      expect(report.findings).toEqual([
        expect.objectContaining({
          ruleId: RULE,
          severity: 'warning',
          message: `revision loop writer → reviewer → writer ran ${laps} laps, over its allowed 2`,
          path: ['writer', 'reviewer', 'writer'],
          taskId: 'post-7',
          evidence: expect.objectContaining({ spanIds: sendIds, traceIds }),
        }),
      ]);
      // Within its allowance: nothing.
      const allowed = { only: [RULE], rules: { [RULE]: { allowedLoops: [{ agents: ['writer', 'reviewer'], maxLaps: laps }] } } };
      expect((await auditOne(spans, allowed)).findings).toEqual([]);
    });

    it('reports an A → B → C → A circular delegation across three traces', async () => {
      const { spans, sendIds, traceIds } = hopTraces([
        { source: 'triage', target: 'billing' },
        { source: 'billing', target: 'refunds' },
        { source: 'refunds', target: 'triage' },
      ]);
      expect(traceIds).toHaveLength(3);
      expect(await perTrace(spans, traceIds, { only: [RULE] })).toEqual([]);
      const report = await auditOne(spans, { only: [RULE] });
      expect(report.findings).toEqual([
        expect.objectContaining({
          message: 'circular delegation triage → billing → refunds → triage ran 1 lap: the work came back to an agent that had handed it on',
          path: ['triage', 'billing', 'refunds', 'triage'],
          agents: ['triage', 'billing', 'refunds'],
          taskId: 'post-7',
          evidence: expect.objectContaining({ spanIds: sendIds, traceIds }),
        }),
      ]);
      expect(ruleOf(report, RULE).notEvaluated).toEqual([]);
    });

    it('finds nothing in a round trip across two traces, or the same hops in different tasks', async () => {
      const roundTrip = hopTraces([
        { source: 'supervisor', target: 'worker' },
        { source: 'worker', target: 'supervisor' },
      ]);
      const threeTasks = hopTraces([
        { source: 'triage', target: 'billing', task: 't1' },
        { source: 'billing', target: 'refunds', task: 't2' },
        { source: 'refunds', target: 'triage', task: 't3' },
      ]);
      expect(roundTrip.traceIds).toHaveLength(2);
      expect(threeTasks.traceIds).toHaveLength(3);
      for (const { spans } of [roundTrip, threeTasks]) expect((await auditOne(spans, { only: [RULE] })).findings).toEqual([]);
    });

    it('gives the same report whatever order the hop traces arrive in, together, one by one or interleaved', async () => {
      const draft = { source: 'writer', target: 'reviewer' };
      const sendBack = { source: 'reviewer', target: 'writer', status: 'needs_review' };
      const loop = hopTraces([draft, sendBack, draft, sendBack, draft, { source: 'reviewer', target: 'publisher' }]);
      const cycle = hopTraces([
        { source: 'triage', target: 'billing', task: 'ticket-9' },
        { source: 'billing', target: 'refunds', task: 'ticket-9' },
        { source: 'refunds', target: 'triage', task: 'ticket-9' },
      ]);
      const all = [...loop.spans, ...cycle.spans];
      const options = { only: [RULE], rules: { [RULE]: { allowedLoops: [{ agents: ['writer', 'reviewer'], maxLaps: 1 }] } } };
      const expected = await auditOne(all, options);
      expect(expected.findings.map((f) => f.path)).toEqual(
        expect.arrayContaining([
          ['writer', 'reviewer', 'writer'],
          ['triage', 'billing', 'refunds', 'triage'],
        ]),
      );
      expect(expected.findings).toHaveLength(2);
      fc.assert(
        fc.property(
          fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
          fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
          (shuffled, cuts) => {
            const auditor = new Auditor(options);
            let batch: SpanRecord[] = [];
            for (let i = 0; i < shuffled.length; i++) {
              batch.push(shuffled[i]!);
              if (cuts[i]) {
                auditor.addSpans(batch);
                batch = [];
              }
            }
            auditor.addSpans(batch);
            expect(auditor.finish()).toEqual(expected);
          },
        ),
        { numRuns: 30 },
      );
    });

    it('says so in notEvaluated when a task has more handoffs across groups than it keeps', async () => {
      // A hub handing work to 501 workers, each returning it: 1002 hops, each its own trace, no loop.
      const hops: Hop[] = [];
      for (let i = 0; i < 501; i++) hops.push({ source: 'supervisor', target: `worker-${i}` }, { source: `worker-${i}`, target: 'supervisor' });
      const { spans } = hopTraces(hops);
      const report = await auditOne(spans, { only: [RULE] });
      expect(report.findings).toEqual([]);
      expect(ruleOf(report, RULE).notEvaluated).toEqual([
        { count: 1, reason: expect.stringContaining('tasks with more than 1000 handoffs across trace groups') },
      ]);
      // Within the cap (the first 1000 hops): nothing cut.
      const within = hopTraces(hops.slice(0, 1000));
      expect(ruleOf(await auditOne(within.spans, { only: [RULE] }), RULE).notEvaluated).toEqual([]);
    });

    it('reports the loop of a task once when the task goes quiet past the settling hour and resumes the same loop', async () => {
      const cycle = [
        { source: 'triage', target: 'billing' },
        { source: 'billing', target: 'refunds' },
        { source: 'refunds', target: 'triage' },
      ];
      const { spans, log } = hopTraces([...cycle, { ...cycle[0]!, pauseMs: 2 * 3_600_000 }, cycle[1]!, cycle[2]!]);
      expect(log.filter((line) => line.includes('refunds → triage'))).toHaveLength(2);
      const report = await auditOne(spans, { only: [RULE] });
      expect(report.findings.map((f) => f.message)).toEqual([
        'circular delegation triage → billing → refunds → triage ran 1 lap: the work came back to an agent that had handed it on',
      ]);
      // Near miss: the same resumed hops in another task are that task's own loop.
      const other = hopTraces([...cycle, { ...cycle[0]!, pauseMs: 2 * 3_600_000, task: 'post-8' }, { ...cycle[1]!, task: 'post-8' }, { ...cycle[2]!, task: 'post-8' }]);
      expect((await auditOne(other.spans, { only: [RULE] })).findings.map((f) => f.taskId)).toEqual(['post-7', 'post-8']);
    });

    it('reports a loop inside one trace group once, not again across the groups of its task', async () => {
      const { spans, traceIds } = hopTraces(
        [
          { source: 'triage', target: 'billing' },
          { source: 'billing', target: 'refunds' },
          { source: 'refunds', target: 'triage' },
          { source: 'triage', target: 'archive' },
        ],
        3,
      );
      const report = await auditOne(spans, { only: [RULE] });
      expect(report.inputs.traceGroups).toBe(2);
      expect(traceIds.length).toBeGreaterThanOrEqual(2);
      expect(report.findings.map((f) => f.message)).toEqual([
        'circular delegation triage → billing → refunds → triage ran 1 lap: the work came back to an agent that had handed it on',
      ]);
    });
  });
});

/**
 * Round trips only: from `pool[0]`, each choice either returns the work to the agent that handed it over
 * (choice % 3 = 0) or delegates it to `pool[choice % pool.length]` unless that agent holds it already; at
 * the end every agent returns. Counts, per pair `x → y → x`, how often x handed y the work again right
 * after y returned it (the laps of a revision loop).
 */
function roundTrips(choices: readonly number[], pool: readonly string[]): { edges: [string, string][]; laps: Map<string, number> } {
  const stack = [pool[0]!];
  const edges: [string, string][] = [];
  const lastInto = new Map<string, { source: string; returned: boolean }>();
  const laps = new Map<string, number>();
  const send = (source: string, target: string, returned: boolean) => {
    const last = lastInto.get(source);
    if (!returned && last?.returned && last.source === target) {
      const pair = `${source} → ${target} → ${source}`;
      laps.set(pair, (laps.get(pair) ?? 0) + 1);
    }
    edges.push([source, target]);
    lastInto.set(target, { source, returned });
  };
  for (const choice of choices) {
    const holder = stack[stack.length - 1]!;
    if (choice % 3 === 0 && stack.length > 1) {
      send(holder, stack[stack.length - 2]!, true);
      stack.pop();
      continue;
    }
    const target = pool[choice % pool.length]!;
    if (stack.includes(target)) continue;
    send(holder, target, false);
    stack.push(target);
  }
  while (stack.length > 1) {
    send(stack[stack.length - 1]!, stack[stack.length - 2]!, true);
    stack.pop();
  }
  return { edges, laps };
}

/**
 * One task's handoffs along `edges`, in order, sent and received (as another process) through the real SDK,
 * each step a second after the last on the faked Date so the chain order is the time order. Returns the spans
 * and the span id of each edge's send.
 */
function handoffSpans(edges: readonly (readonly [string, string])[]): { spans: SpanRecord[]; sendIds: string[] } {
  const otel = createOtelHarness();
  const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  let nowMs = Date.UTC(2030, 0, 1);
  const handoffIds: string[] = [];
  for (const [source, target] of edges) {
    vi.setSystemTime((nowMs += 1000));
    const sent = baton.send({
      task_id: 'loop-task',
      source_agent: source,
      target_agent: target,
      status: 'complete',
      output: { summary: `${source} done` },
      context: { original_goal: 'g', decisions_made: [], constraints: [] },
      metadata: { started_at: new Date(0).toISOString() },
    });
    handoffIds.push(sent.handoff.id);
    const wire = JSON.stringify(sent);
    vi.setSystemTime((nowMs += 1000));
    context.with(ROOT_CONTEXT, () => baton.receive(wire));
  }
  const spans = toSpanRecords(otel.spans());
  const sends = spansOf(spans, BatonOperation.HandoffSend);
  const sendIds = handoffIds.map((id) => sends.find((s) => s.attributes[BATON_HANDOFF_ID] === id)!.spanId);
  return { spans, sendIds };
}
