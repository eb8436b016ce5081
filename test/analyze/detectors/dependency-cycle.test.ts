/**
 * detectDependencyCycles (rule dependency-cycle) on the committed fixtures:
 * the deadlock of `cycle.json` (declared waits), the handoff loop of
 * `revision-loop.json`, allowedLoops, and what the rule says when the data does
 * not declare who waits on whom. A fast-check property ties the handoff-loop
 * answer to graphology-dag's own: a loop is reported ⇔ topologicalSort throws.
 *
 * Evidence ids are the seeded span ids of the fixtures (fixtures/generate.ts).
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import fc from 'fast-check';
import { DirectedGraph } from 'graphology';
import { topologicalSort } from 'graphology-dag';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectDependencyCycles, RULE } from '../../../src/analyze/detectors/dependency-cycle.js';
import { BATON_AGENT_DEPENDS_ON, BATON_AGENT_OUTCOME, BatonOperation } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { Baton } from '../../../src/sdk/baton.js';
import {
  auditOne,
  graphOf,
  invalidGraphs,
  isOperation,
  ruleOf,
  setAttributes,
  stripAttributes,
  withoutSpans,
} from '../../helpers/analyze.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

const CYCLE_TRACE = '2ef41ca7c67d24bb489edbb7d1ff8072';
// cycle.json: the four blocked `agent.run` spans (baton.agent.outcome = blocked), in
// the order the detector lists them (blocked runs by start time, then span id; all
// four start in the same millisecond, so span id decides).
const REVIEWER_RUN = '61cba69d8ca8b7ea'; // agent.run reviewer, depends_on [writer]
const ANALYSIS_RUN = '808528cd7b037d55'; // agent.run analysis, depends_on [research]
const RESEARCH_RUN = 'e4a42b7372810ddb'; // agent.run research, depends_on [triage, reviewer]
const WRITER_RUN = 'eac6c5bbe1d3ca56'; // agent.run writer, depends_on [analysis]

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
        message: 'deadlock: reviewer → writer → analysis → research → reviewer wait on each other and none of them completed',
        hint: expect.stringContaining('validatePlan'),
        evidence: {
          traceId: CYCLE_TRACE,
          spanIds: [REVIEWER_RUN, ANALYSIS_RUN, RESEARCH_RUN, WRITER_RUN],
          startMs: expect.any(Number),
        },
        agents: ['reviewer', 'writer', 'analysis', 'research'],
        taskId: 'research-cycle',
      },
    ]);
    // One task checked for wait-for cycles, one for handoff loops.
    expect(result.checked).toBe(2);
    expect(result.notEvaluated).toEqual([]);
  });

  it('downgrades a declared cycle to a warning when one of its agents completed anyway, completed runs last in evidence', () => {
    const spans = setAttributes(cycle, RESEARCH_RUN, { [BATON_AGENT_OUTCOME]: 'completed' });
    const [finding, ...rest] = detectDependencyCycles(graphOf(spans)).findings;
    expect(rest).toEqual([]);
    expect(finding!.severity).toBe('warning');
    expect(finding!.message).toBe(
      'dependency cycle reviewer → writer → analysis → research → reviewer (declared waits); research completed, so it did not deadlock this time',
    );
    expect(finding!.evidence.spanIds).toEqual([REVIEWER_RUN, ANALYSIS_RUN, WRITER_RUN, RESEARCH_RUN]);
  });

  it('reports the revision loop of revision-loop.json as a warning with its lap count and every send on the loop', () => {
    const result = detectDependencyCycles(graphOf(revisionLoop));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'warning',
        message: 'handoff loop writer → reviewer → writer ran 2 laps',
        hint: expect.stringContaining('allowedLoops'),
        evidence: { traceId: LOOP_TRACE, spanIds: LOOP_SENDS, startMs: expect.any(Number) },
        agents: ['writer', 'reviewer'],
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
      expect(finding!.message).toBe('handoff loop writer → reviewer → writer ran 2 laps, over its allowed 1');
      expect(finding!.evidence.spanIds).toEqual(LOOP_SENDS);
    });

    it('does not accept a loop over a different set of agents', () => {
      for (const agents of [['writer'], ['writer', 'reviewer', 'analysis']]) {
        const findings = detectDependencyCycles(graphOf(revisionLoop), { allowedLoops: [{ agents }] }).findings;
        expect(findings.map((f) => f.message)).toEqual(['handoff loop writer → reviewer → writer ran 2 laps']);
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
      const rule = ruleOf(await auditOne(spans, { only: [RULE] }), RULE);
      expect(rule).toEqual({
        ruleId: RULE,
        findings: 0,
        checked: 0,
        notEvaluated: [{ count: 1, reason: NO_DEPENDS_ON }],
        couldNotRun: true,
      });
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

  it('reports a handoff loop exactly when graphology-dag cannot sort the handoff edges (SDK-made handoffs)', () => {
    const agents = ['a', 'b', 'c', 'd', 'e'];
    const edge = fc.tuple(fc.constantFrom(...agents), fc.constantFrom(...agents)).filter(([s, t]) => s !== t);
    fc.assert(
      fc.property(fc.uniqueArray(edge, { minLength: 1, maxLength: 8, selector: ([s, t]) => `${s}>${t}` }), (edges) => {
        const spans = handoffSpans(edges);
        const reference = new DirectedGraph();
        for (const [s, t] of edges) reference.mergeEdge(s, t);
        let sortable = true;
        try {
          topologicalSort(reference);
        } catch {
          sortable = false;
        }
        const findings = detectDependencyCycles(graphOf(spans)).findings;
        expect(findings.length > 0).toBe(!sortable);
        for (const finding of findings) {
          // Every agent named is on the loop: each consecutive pair in the message is a real edge.
          const path = finding.message
            .replace(/^handoff loop /, '')
            .replace(/ ran \d+ laps?$/, '')
            .split(' → ');
          for (let i = 0; i + 1 < path.length; i++) expect(edges).toContainEqual([path[i], path[i + 1]]);
          expect(path[0]).toBe(path[path.length - 1]);
        }
      }),
      { numRuns: 40 },
    );
  });
});

/** One task's handoffs along `edges`, sent and received (as another process) through the real SDK. */
function handoffSpans(edges: readonly (readonly [string, string])[]): SpanRecord[] {
  const otel = createOtelHarness();
  const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  for (const [source, target] of edges) {
    const sent = baton.send({
      task_id: 'loop-task',
      source_agent: source,
      target_agent: target,
      status: 'complete',
      output: { summary: `${source} done` },
      context: { original_goal: 'g', decisions_made: [], constraints: [] },
      metadata: { started_at: new Date(0).toISOString() },
    });
    const wire = JSON.stringify(sent);
    context.with(ROOT_CONTEXT, () => baton.receive(wire));
  }
  return toSpanRecords(otel.spans());
}
