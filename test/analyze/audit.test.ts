/**
 * The streaming Auditor and auditSpans on the committed fixtures: the report does
 * not depend on how spans are batched or ordered (fast-check shuffles and splits
 * real traces), traces joined by span links are one group, idle groups close
 * while streaming, findings are capped with exact counts, rules are selected
 * with `only` and `rules`, and the clean pipeline's report in full.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIALECT_IDS } from '../../src/analyze/dialects/index.js';
import { Auditor, auditSpans, hasFindingsAtOrAbove } from '../../src/analyze/audit.js';
import { DETECTORS, RULE_IDS, type RuleId } from '../../src/analyze/detectors/index.js';
import { MESSAGING_DESTINATION_NAME, MESSAGING_MESSAGE_ID } from '../../src/model/attributes.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { auditOne, withoutSpans } from '../helpers/analyze.js';
import { SCENARIOS, type Scenario } from '../../fixtures/generate.js';
import { RULES_OF_FAULT } from '../helpers/fault-rules.js';
import { loadFixture } from '../helpers/traces.js';

/** Every registered dialect's usage entry: `read` for those that read spans, zero for the rest (a new dialect adds a zero entry). */
function dialectUsage(read: Readonly<Record<string, { spans: number; interpreted: number; traceGroups: number }>>): { id: string; spans: number; interpreted: number; traceGroups: number }[] {
  return DIALECT_IDS.map((id) => ({ id, ...(read[id] ?? { spans: 0, interpreted: 0, traceGroups: 0 }) }));
}


/** The rules each fixture triggers (the known behaviour of the committed fixtures). */
const EXPECTED_RULES: Readonly<Record<Scenario, readonly string[]>> = { clean: [], ...RULES_OF_FAULT };

// clean.json: the coordinator's event.consume of task.reviewer.complete, the last span to end but one.
const CLEAN_LAST_CONSUME = 'd699b2c70d4df08b';
// clean.json: reviewer's event.publish of task.reviewer.complete, the event that consume consumed.
const CLEAN_REVIEWER_PUBLISH = 'a72dce051651aea9';

const fixtures = {} as Record<Scenario, SpanRecord[]>;
let all: SpanRecord[];

beforeAll(async () => {
  await Promise.all(SCENARIOS.map(async (name) => (fixtures[name] = await loadFixture(name))));
  all = SCENARIOS.flatMap((name) => fixtures[name]);
});

/** Feeds `batches` to a fresh Auditor and returns its report. */
function stream(batches: readonly (readonly SpanRecord[])[], options: ConstructorParameters<typeof Auditor>[0] = {}): AuditReport {
  const auditor = new Auditor(options);
  for (const batch of batches) auditor.addSpans(batch);
  return auditor.finish();
}

/** `spans` cut after every index where `cuts` is true. */
function split<T>(spans: readonly T[], cuts: readonly boolean[]): T[][] {
  const batches: T[][] = [[]];
  spans.forEach((span, i) => {
    batches[batches.length - 1]!.push(span);
    if (cuts[i] && i < spans.length - 1) batches.push([]);
  });
  return batches;
}

const sortedRuleIds = (report: AuditReport) => [...new Set(report.findings.map((f) => f.ruleId))].sort();

describe('auditSpans', () => {
  it.each(SCENARIOS)('finds exactly the rules fixture %s is known to trigger', async (name) => {
    const report = await auditOne(fixtures[name]);
    expect(sortedRuleIds(report)).toEqual([...EXPECTED_RULES[name]].sort());
    expect(report.findingsTruncated).toBe(0);
  });

  it('refuses spans given where batches of spans are expected, rather than reporting nothing', async () => {
    const spans = fixtures['context-loss'];
    // The mistake: the spans themselves, each then taken for a batch of no length.
    await expect(auditSpans(spans as never)).rejects.toThrow(/^Auditor: addSpans takes a batch, an array of spans, not object; auditSpans takes an iterable of batches/);
    expect(() => new Auditor().addSpans(null as never)).toThrow(TypeError);
    expect((await auditSpans([spans])).inputs.spans).toBe(spans.length);
  });

  it('reads async iterables of batches as it reads arrays', async () => {
    async function* batches() {
      yield fixtures['context-loss'].slice(0, 10);
      yield fixtures['context-loss'].slice(10);
    }
    expect(await auditSpans(batches())).toEqual(await auditOne(fixtures['context-loss']));
  });

  it('reports the clean pipeline in full: inputs, every rule clean but run, the four edges, one task', async () => {
    const report = await auditOne(fixtures.clean);
    expect(report.reportVersion).toBe('2');
    const startMs = Math.min(...fixtures.clean.map((s) => s.startMs));
    const endMs = Math.max(...fixtures.clean.map((s) => s.endMs));
    expect(report.inputs).toEqual({
      spans: 34,
      traces: 1,
      traceGroups: 1,
      dialects: dialectUsage({ baton: { spans: 34, interpreted: 34, traceGroups: 1 } }),
      conventionsVersions: ['1'],
      problems: [],
      horizon: { startMs, endMs },
      // No `now` given: the end of all input.
      nowMs: endMs,
      // The SDK's spans carry sub-millisecond times.
      wholeMsSpans: 0,
      splitTraces: 0,
    });
    expect(report.findings).toEqual([]);
    expect(report.findingsTruncated).toBe(0);
    expect(report.severityCounts).toEqual({ error: 0, warning: 0, info: 0 });
    expect(report.rules.map((r) => [r.ruleId, r.findings, r.checked, r.status, r.couldNotRun])).toEqual([
      ['dependency-cycle', 0, 2, 'ran', false],
      ['stale-epoch-read', 0, 8, 'ran', false],
      ['duplicate-write', 0, 6, 'ran', false],
      ['lost-update', 0, 6, 'ran', false],
      ['partial-handoff', 0, 10, 'ran', false],
      ['ack-timeout', 0, 4, 'ran', false],
      ['schema-drift', 0, 4, 'ran', false],
      ['context-blowup', 0, 1, 'ran', false],
      ['context-loss', 0, 4, 'ran', false],
      // Baton's handoffs go straight from send to receive: no router records a delivery to check.
      ['undelivered-handoff', 0, 0, 'could-not-run', true],
      ['unlinked-handoff', 0, 4, 'ran', false],
    ]);
    for (const rule of report.rules) {
      if (rule.ruleId === 'undelivered-handoff') expect(rule.notEvaluated).toEqual([{ count: 4, reason: 'handoffs whose routing is not recorded (baton): a drop between send and receive is not visible' }]);
      else expect(rule.notEvaluated).toEqual([]);
      // Each rule's identity comes from its own file.
      expect(rule.description).toBe(DETECTORS[rule.ruleId as RuleId].description);
      expect(rule.severity).toBe(DETECTORS[rule.ruleId as RuleId].maxSeverity);
    }
    // triage → research → analysis → writer → reviewer, sorted by source then target.
    expect(
      report.edges.map((e) => [
        e.source,
        e.target,
        e.handoffs,
        e.latencyMs?.count,
        e.ackLatencyMs?.count,
        e.failures,
        e.retries,
        e.transfers,
        e.skewedSamples,
      ]),
    ).toEqual([
      ['analysis', 'writer', 1, 1, 1, 0, 0, 0, 0],
      ['research', 'analysis', 1, 1, 1, 0, 0, 0, 0],
      ['triage', 'research', 1, 1, 1, 0, 0, 0, 0],
      ['writer', 'reviewer', 1, 1, 1, 0, 0, 0, 0],
    ]);
    expect(report.agents).toEqual(['analysis', 'coordinator', 'research', 'reviewer', 'triage', 'writer']);
    expect(report.cycles).toEqual([]);
    expect(report.tasks.count).toBe(1);
    expect(report.tasks.slowest.map((t) => [t.taskId, t.traceId])).toEqual([['research-clean', '8edbfa52334a8b41e747dacf2cf5f801']]);
    const share = report.tasks.slowest[0]!.coordinationShare;
    // One sample: min and max are exact, and the percentiles cannot lie outside them.
    expect(report.tasks.coordinationShare).toEqual({ count: 1, min: share, p50: share, p95: share, p99: share, max: share, relativeError: 0.01 });
  });

  it('names the revision loop among the graph cycles and counts its edges', async () => {
    const report = await auditOne(fixtures['revision-loop']);
    expect(report.cycles).toEqual([['writer', 'reviewer', 'writer']]);
    expect(report.edges.map((e) => [e.source, e.target, e.handoffs])).toEqual([
      ['analysis', 'writer', 1],
      ['research', 'analysis', 1],
      ['reviewer', 'writer', 2],
      ['triage', 'research', 1],
      ['writer', 'reviewer', 3],
    ]);
  });

  it('records input problems it is told about', async () => {
    const auditor = new Auditor();
    auditor.addProblem({ location: 'runs/a.jsonl:3:1', message: 'expected "resourceSpans"' });
    auditor.addSpans(fixtures.clean);
    expect(auditor.finish().inputs.problems).toEqual([{ location: 'runs/a.jsonl:3:1', message: 'expected "resourceSpans"' }]);
  });
});

describe('Auditor', () => {
  describe('batching and order', () => {
    it('gives the one-batch report whatever the order and batch split of a real trace', async () => {
      const expected = new Map<Scenario, AuditReport>();
      for (const name of SCENARIOS) expected.set(name, await auditOne(fixtures[name]));
      fc.assert(
        fc.property(
          fc
            .constantFrom(...SCENARIOS)
            .chain((name) =>
              fc.tuple(
                fc.constant(name),
                fc.shuffledSubarray(fixtures[name], { minLength: fixtures[name].length, maxLength: fixtures[name].length }),
                fc.array(fc.boolean(), { minLength: fixtures[name].length, maxLength: fixtures[name].length }),
              ),
            ),
          ([name, shuffled, cuts]) => {
            expect(stream(split(shuffled, cuts))).toEqual(expected.get(name));
          },
        ),
        { numRuns: 60 },
      );
    });

    it('gives the one-batch report for all fixtures interleaved in any order and split', async () => {
      const expected = await auditOne(all);
      fc.assert(
        fc.property(
          fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
          fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
          (shuffled, cuts) => {
            const report = stream(split(shuffled, cuts));
            expect(report).toEqual(expected);
          },
        ),
        { numRuns: 15 },
      );
      expect(expected.inputs).toMatchObject({ spans: all.length, traces: 12, traceGroups: 11 });
    });
  });

  describe('trace groups', () => {
    it('joins traces linked by spans into one group, whichever trace arrives first', () => {
      const lost = fixtures['lost-trace-context'];
      const [first, second] = [...new Set(lost.map((s) => s.traceId))];
      for (const batches of [
        [lost.filter((s) => s.traceId === first), lost.filter((s) => s.traceId === second)],
        [lost.filter((s) => s.traceId === second), lost.filter((s) => s.traceId === first)],
      ]) {
        const report = stream(batches);
        expect(report.inputs).toMatchObject({ traces: 2, traceGroups: 1 });
        expect(report.findings.map((f) => f.ruleId)).toEqual(['unlinked-handoff']);
        expect(report.tasks.count).toBe(1);
      }
    });

    it('keeps the two traces apart without the spans that link them, counting their shared task id once', () => {
      // The coordinator's consumes link to the publishes in analysis's new trace.
      const linking = fixtures['lost-trace-context'].filter((s) => s.links.length > 0).map((s) => s.spanId);
      expect(linking.length).toBeGreaterThan(0);
      const report = stream([withoutSpans(fixtures['lost-trace-context'], linking)]);
      expect(report.inputs).toMatchObject({ traces: 2, traceGroups: 2 });
      // Two groups, each summarized, but one task: both traces carry task id research-lost-trace-context.
      expect(report.tasks.slowest.map((t) => t.taskId)).toEqual(['research-lost-trace-context', 'research-lost-trace-context']);
      expect(report.tasks.coordinationShare!.count).toBe(2);
      expect(report.tasks.count).toBe(1);
      // Still unlinked: the receive has no send in its own group.
      expect(report.findings.filter((f) => f.ruleId === 'unlinked-handoff').map((f) => f.evidence.spanIds)).toEqual([['2db3ba85facb5e4d']]);
      // And the removed consumes leave each of the five completion events unconsumed.
      const partial = report.findings.filter((f) => f.ruleId === 'partial-handoff');
      expect(partial).toHaveLength(linking.length);
      for (const f of partial) expect(f.message).toMatch(/^event task\.\w+\.complete \(.+\) published by \w+ was never consumed$/);
    });

    it('counts every task a group holds: two tasks run under one trace are two, with one summary', () => {
      const clean = fixtures.clean;
      const other = fixtures['context-loss'];
      const cleanIds = new Set(clean.map((s) => s.spanId));
      expect(other.filter((s) => cleanIds.has(s.spanId))).toEqual([]);
      const oneTrace = [...clean, ...other.map((s) => ({ ...s, traceId: clean[0]!.traceId }))];
      const report = stream([oneTrace]);
      expect(report.inputs).toMatchObject({ spans: 68, traces: 1, traceGroups: 1 });
      expect(report.tasks.count).toBe(2);
      expect(report.tasks.slowest).toHaveLength(1);
    });

    it('audits independent traces as separate groups', () => {
      const report = stream([fixtures.clean, fixtures['context-loss']]);
      expect(report.inputs).toMatchObject({ spans: 68, traces: 2, traceGroups: 2 });
      expect(report.tasks.count).toBe(2);
      expect(report.edges.map((e) => e.handoffs)).toEqual([2, 2, 2, 2]);
    });
  });

  describe('idleMs', () => {
    // The Auditor looks for idle groups every few batches, so these feed one span per batch.
    const lateConsumeScenario = () => {
      const late = fixtures.clean.find((s) => s.spanId === CLEAN_LAST_CONSUME)!;
      return [...withoutSpans(fixtures.clean, [CLEAN_LAST_CONSUME]), ...fixtures['context-loss'], late].map((s) => [s]);
    };

    it('closes a group nothing of which ended within idleMs of the newest span, and audits a late span on its own', () => {
      // context-loss.json starts about 1 s after clean.json ends (far more than idleMs).
      const report = stream(lateConsumeScenario(), { idleMs: 100 });
      expect(report.inputs).toMatchObject({ spans: 68, traces: 3, traceGroups: 3 });
      // Closed before the coordinator consumed the reviewer's event, clean.json now shows it unconsumed.
      // Its message id is a UUID drawn when the fixture was generated: read it off the publish span.
      const publish = fixtures.clean.find((s) => s.spanId === CLEAN_REVIEWER_PUBLISH)!;
      const messageId = publish.attributes[MESSAGING_MESSAGE_ID];
      expect(messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(publish.attributes[MESSAGING_DESTINATION_NAME]).toBe('task.reviewer.complete');
      expect(report.findings.map((f) => [f.ruleId, f.message])).toEqual([
        ['partial-handoff', `event task.reviewer.complete (${messageId}) published by reviewer was never consumed`],
        ['context-loss', 'writer → reviewer drops decisions_made (3 before) and constraints (2 before)'],
      ]);
    });

    it('keeps a group open while it may still grow (default idleMs: 5 min)', () => {
      const report = stream(lateConsumeScenario());
      expect(report.inputs).toMatchObject({ spans: 68, traces: 2, traceGroups: 2 });
      expect(report.findings.map((f) => f.ruleId)).toEqual(['context-loss']);
    });
  });

  describe('maxOpenSpans', () => {
    it('closes the oldest groups early under memory pressure without changing the findings of complete traces', () => {
      const batches = SCENARIOS.map((name) => fixtures[name]);
      const report = stream(batches, { maxOpenSpans: 40 });
      const expected = stream(batches);
      expect(expected.inputs.splitTraces).toBe(0);
      // Every trace was complete when the cap closed it early: nothing was cut in two.
      expect(report.inputs).toEqual(expected.inputs);
      expect(report.findings).toEqual(expected.findings);
      expect(report.rules).toEqual(expected.rules);
    });
  });

  describe('maxFindings', () => {
    it('keeps at most maxFindings findings and counts the rest, with rule and severity counts exact', () => {
      const full = stream([all]);
      expect(full.findings).toHaveLength(11);
      const capped = stream([all], { maxFindings: 3 });
      expect(capped.findings).toHaveLength(3);
      expect(capped.findingsTruncated).toBe(8);
      expect(capped.severityCounts).toEqual(full.severityCounts);
      expect(capped.rules).toEqual(full.rules);
      expect(capped.rules.reduce((sum, r) => sum + r.findings, 0)).toBe(11);
      for (const finding of capped.findings) expect(full.findings).toContainEqual(finding);
    });

    it('keeps none with maxFindings: 0, and still ranks the report by its counts', () => {
      const capped = stream([fixtures['schema-drift']], { maxFindings: 0 });
      expect(capped.findings).toEqual([]);
      expect(capped.findingsTruncated).toBe(1);
      expect(hasFindingsAtOrAbove(capped, 'error')).toBe(true);
    });
  });

  describe('rule selection', () => {
    it('runs only the rules named in `only`, in report order', () => {
      const report = stream([all], { only: ['context-loss', 'schema-drift'] });
      // Every rule is listed, in report order; those left out are off, and count nothing.
      expect(report.rules.map((r) => r.ruleId)).toEqual(RULE_IDS);
      expect(report.rules.filter((r) => r.status !== 'off').map((r) => r.ruleId)).toEqual(['schema-drift', 'context-loss']);
      expect(report.rules.filter((r) => r.status === 'ran').map((r) => r.ruleId)).toEqual(['schema-drift', 'context-loss']);
      for (const r of report.rules.filter((r) => r.status === 'off')) {
        expect([r.findings, r.checked, r.notEvaluated, r.couldNotRun]).toEqual([0, 0, [], false]);
      }
      expect(report.findings.map((f) => f.ruleId).sort()).toEqual(['context-loss', 'schema-drift']);
    });

    it('turns a rule off with rules: { id: false }', () => {
      const report = stream([fixtures['duplicate-write']], { rules: { 'partial-handoff': false } });
      expect(report.rules.map((r) => r.ruleId)).toEqual(RULE_IDS);
      expect(report.rules.filter((r) => r.status === 'off').map((r) => r.ruleId)).toEqual(['partial-handoff']);
      expect(report.rules.find((r) => r.ruleId === 'partial-handoff')).toMatchObject({ findings: 0, checked: 0, couldNotRun: false });
      expect(report.findings.map((f) => f.ruleId)).toEqual(['duplicate-write']);
    });

    it('applies `rules` before `only`: a rule both named and turned off does not run', () => {
      const report = stream([all], { only: ['partial-handoff'], rules: { 'partial-handoff': false } });
      expect(report.rules.map((r) => [r.ruleId, r.status, r.findings, r.checked])).toEqual(RULE_IDS.map((id) => [id, 'off', 0, 0]));
      expect(report.findings).toEqual([]);
    });

    it('lets a rule option override the audit-wide now', () => {
      const unacknowledged = withoutSpans(fixtures.clean, ['6c0eaf9b0221c256']); // reviewer's handoff.receive
      const sendStartMs = fixtures.clean.find((s) => s.spanId === '250ae4a1cca5565f')!.startMs; // writer's handoff.send
      expect(stream([unacknowledged], { now: sendStartMs + 6000 }).findings.map((f) => f.ruleId)).toEqual(['ack-timeout']);
      expect(stream([unacknowledged], { now: sendStartMs + 6000, rules: { 'ack-timeout': { now: sendStartMs } } }).findings).toEqual([]);
    });
  });

  describe('edge failures', () => {
    it('counts a handoff never acknowledged within its budget as a failure of its edge, once now is past the budget', () => {
      const unacknowledged = withoutSpans(fixtures.clean, ['6c0eaf9b0221c256']); // reviewer's handoff.receive
      const sendStartMs = fixtures.clean.find((s) => s.spanId === '250ae4a1cca5565f')!.startMs; // writer's handoff.send
      const failures = (report: AuditReport) => report.edges.map((e) => [`${e.source} → ${e.target}`, e.failures]);
      expect(failures(stream([unacknowledged], { now: sendStartMs + 6000 }))).toEqual([
        ['analysis → writer', 0],
        ['research → analysis', 0],
        ['triage → research', 0],
        ['writer → reviewer', 1],
      ]);
      // The input ends well within the budget: not a failure (yet).
      expect(stream([unacknowledged]).edges.map((e) => e.failures)).toEqual([0, 0, 0, 0]);
    });
  });

  describe('slowestTasks', () => {
    it('keeps the slowest tasks, slowest first', () => {
      const everything = stream([all], { slowestTasks: 100 });
      expect(everything.tasks.count).toBe(11);
      expect(everything.tasks.slowest).toHaveLength(11);
      const walls = everything.tasks.slowest.map((t) => t.wallMs);
      const top3 = [...walls].sort((a, b) => b - a).slice(0, 3);
      expect(stream([all], { slowestTasks: 3 }).tasks.slowest.map((t) => t.wallMs)).toEqual(top3);
      expect(stream([all], { slowestTasks: 0 }).tasks.slowest).toEqual([]);
      expect(everything.tasks.coordinationShare!.count).toBe(11);
    });
  });

  it('counts the spans a dialect read apart from other spans', () => {
    const foreign: SpanRecord = { ...fixtures.clean[0]!, spanId: 'f0f0f0f0f0f0f0f0', attributes: { 'http.request.method': 'GET' } };
    const report = stream([[...fixtures.clean, foreign]]);
    expect(report.inputs).toMatchObject({ spans: 35, dialects: dialectUsage({ baton: { spans: 34, interpreted: 34, traceGroups: 1 } }) });
  });

  it('takes nothing after finish(): addSpans throws, snapshot and finish repeat the final report', () => {
    const auditor = new Auditor();
    auditor.addSpans(fixtures['schema-drift']);
    const report = auditor.finish();
    expect(() => auditor.addSpans(fixtures.clean)).toThrow('Auditor: addSpans after finish()');
    expect(auditor.snapshot()).toEqual(report);
    expect(auditor.finish()).toEqual(report);
    expect(report.inputs.spans).toBe(fixtures['schema-drift'].length);
  });

  it('reports the given now, else the end of all input, as inputs.nowMs', () => {
    const endMs = Math.max(...fixtures.clean.map((s) => s.endMs));
    expect(stream([fixtures.clean]).inputs.nowMs).toBe(endMs);
    expect(stream([fixtures.clean], { now: endMs + 5000 }).inputs.nowMs).toBe(endMs + 5000);
  });

  it('audits no spans as an empty report in which every rule could not run', () => {
    const report = stream([]);
    expect(report.inputs).toEqual({
      spans: 0,
      traces: 0,
      traceGroups: 0,
      dialects: dialectUsage({}),
      conventionsVersions: [],
      problems: [],
      horizon: null,
      nowMs: null,
      wholeMsSpans: 0,
      splitTraces: 0,
    });
    expect(report.rules.map((r) => r.couldNotRun)).toEqual(RULE_IDS.map(() => true));
    expect(report.rules.map((r) => r.status)).toEqual(RULE_IDS.map(() => 'could-not-run'));
    expect(report.edges).toEqual([]);
    expect(report.tasks).toEqual({ count: 0, coordinationShare: null, slowest: [] });
  });
});

describe('hasFindingsAtOrAbove', () => {
  it.each([
    ['clean', 'info', false],
    ['clean', 'warning', false],
    ['clean', 'error', false],
    ['context-loss', 'info', true],
    ['context-loss', 'warning', true],
    ['context-loss', 'error', false],
    ['schema-drift', 'info', true],
    ['schema-drift', 'warning', true],
    ['schema-drift', 'error', true],
  ] as const)('on %s at %s: %s', async (name, threshold, expected) => {
    expect(hasFindingsAtOrAbove(await auditOne(fixtures[name]), threshold)).toBe(expected);
  });

  it('ignores findings of rules turned off', async () => {
    const report = await auditOne(fixtures['schema-drift'], { rules: { 'schema-drift': false } });
    expect(hasFindingsAtOrAbove(report, 'info')).toBe(false);
  });
});
