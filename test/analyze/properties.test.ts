/**
 * Properties of the whole analyzer on traces the real SDK makes: random valid
 * handoff chains (2 to 8 agents with random names, 1 to 3 tasks, automatic or
 * manual acks; see test/helpers/handoff-chains.ts) go through send → JSON →
 * receive in a fresh root context → ack, with versioned state writes, reads and
 * completion events, then through OTLP/JSON and auditSpans.
 *
 *   (a) a clean chain yields no finding, and every rule had something to check;
 *   (b) one planted fault is always found, by its rule, naming the right agents,
 *       task and evidence, and nothing else is reported;
 *   (c) each edge's handoff count is the number of handoffs sent along it;
 *   (d) the report does not depend on the order and batching of the spans.
 *
 * Only Date is faked (the span clock's start times and the envelopes' sent_at),
 * and advanced a second per step: spans start in a known order whatever the
 * machine's speed, and no assertion depends on real time.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Auditor, auditSpans } from '../../src/analyze/audit.js';
import { BATON_HANDOFF_ID, BATON_IDEMPOTENCY_KEY, BATON_STATE_KEY, BATON_STEP, BatonOperation } from '../../src/model/attributes.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { Finding } from '../../src/model/finding.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { spansOf } from '../helpers/analyze.js';
import {
  edgeKey,
  generateChains,
  MONITOR,
  taskIdOf,
  TIGHT_BUDGET_MS,
  type ChainPlan,
  type GeneratedChains,
  type PlantedFault,
} from '../helpers/handoff-chains.js';

const START_MS = Date.UTC(2030, 0, 1);
let nowMs = START_MS;

/** Advances the faked Date by `ms` (default one second). */
function tick(ms = 1000): void {
  nowMs += ms;
  vi.setSystemTime(nowMs);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  nowMs = START_MS;
  vi.setSystemTime(nowMs);
});

afterEach(() => {
  vi.useRealTimers();
});

const agentName = fc.stringMatching(/^[a-z][a-z0-9]{1,9}$/).filter((name) => name !== MONITOR && name !== 'unknown');

const planArb: fc.Arbitrary<ChainPlan> = fc.record({
  agents: fc.uniqueArray(agentName, { minLength: 2, maxLength: 8 }),
  tasks: fc.integer({ min: 1, max: 3 }),
  ackManually: fc.array(fc.boolean(), { minLength: 1, maxLength: 24 }),
});

function faultArb(agents: number, tasks: number): fc.Arbitrary<PlantedFault> {
  const task = fc.integer({ min: 0, max: tasks - 1 });
  const hop = fc.integer({ min: 0, max: agents - 2 });
  const agent = fc.integer({ min: 0, max: agents - 1 });
  // Handing back to agents[n - 2], who handed the last agent the work, is a return, not a loop: a circular
  // delegation needs three agents or more on it, so backTo ≤ n - 3.
  const cycle =
    agents >= 3 ? [fc.record({ kind: fc.constant('dependency-cycle' as const), task, backTo: fc.integer({ min: 0, max: agents - 3 }) })] : [];
  return fc.oneof(
    fc.record({ kind: fc.constant('context-loss' as const), task, hop }),
    fc.record({ kind: fc.constant('schema-drift' as const), task, hop }),
    fc.record({ kind: fc.constant('unlinked-handoff' as const), task, hop }),
    fc.record({ kind: fc.constant('ack-timeout' as const), task, hop }),
    fc.record({ kind: fc.constant('partial-handoff' as const), task, agent }),
    fc.record({ kind: fc.constant('duplicate-write' as const), task, agent }),
    fc.record({ kind: fc.constant('stale-epoch-read' as const), task, agent: fc.integer({ min: 1, max: agents - 1 }) }),
    fc.record({ kind: fc.constant('lost-update' as const), task, agent: fc.integer({ min: 1, max: agents - 1 }) }),
    ...cycle,
  );
}

const faultyPlanArb: fc.Arbitrary<ChainPlan & { fault: PlantedFault }> = planArb.chain((plan) =>
  faultArb(plan.agents.length, plan.tasks).map((fault) => ({ ...plan, fault })),
);

/** Generates, audits and shuts down; the clock restarts for every run. */
async function auditPlan(plan: ChainPlan): Promise<{ generated: GeneratedChains; report: AuditReport }> {
  nowMs = START_MS;
  vi.setSystemTime(nowMs);
  const generated = generateChains(plan, tick);
  await generated.shutdown();
  return { generated, report: await auditSpans([generated.spans]) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The span of `operation` recorded for handoff `handoffId` (exactly one). */
function handoffSpan(spans: readonly SpanRecord[], operation: string, handoffId: string): SpanRecord {
  const found = spansOf(spans, operation).filter((s) => s.attributes[BATON_HANDOFF_ID] === handoffId);
  if (found.length !== 1) throw new Error(`expected one ${operation} of ${handoffId}, found ${found.length}`);
  return found[0]!;
}

interface ExpectedFinding {
  readonly ruleId: string;
  readonly severity: Finding['severity'];
  readonly agents: readonly string[];
  readonly message: string | RegExp;
  /** Exact evidence span ids, where the test can name them. */
  readonly spanIds?: readonly string[];
}

/** What the planted fault must produce. */
function expectedFinding(plan: ChainPlan, fault: PlantedFault, generated: GeneratedChains): ExpectedFinding {
  const { agents } = plan;
  const { spans } = generated;
  const taskId = taskIdOf(fault.task);
  const ids = generated.handoffIds[fault.task]!;
  switch (fault.kind) {
    case 'context-loss': {
      const [source, target] = [agents[fault.hop]!, agents[fault.hop + 1]!];
      const send = handoffSpan(spans, BatonOperation.HandoffSend, ids[fault.hop]!);
      const previous = fault.hop > 0 ? [handoffSpan(spans, BatonOperation.HandoffSend, ids[fault.hop - 1]!).spanId] : [];
      // The hop into the sender carried one decision per agent so far.
      const before = fault.hop > 0 ? ` (${fault.hop} before)` : '';
      return {
        ruleId: 'context-loss',
        severity: 'warning',
        agents: [source, target],
        message: `${source} → ${target} drops decisions_made${before}`,
        spanIds: [send.spanId, ...previous],
      };
    }
    case 'schema-drift': {
      const [source, target] = [agents[fault.hop]!, agents[fault.hop + 1]!];
      const id = ids[fault.hop]!;
      return {
        ruleId: 'schema-drift',
        severity: 'warning',
        agents: [source, target],
        message: `schema drift on ${source} → ${target}: sender on v1, receiver on v2; the receiver accepted it, so the difference is silent`,
        spanIds: [handoffSpan(spans, BatonOperation.HandoffReceive, id).spanId, handoffSpan(spans, BatonOperation.HandoffSend, id).spanId],
      };
    }
    case 'unlinked-handoff': {
      const [source, target] = [agents[fault.hop]!, agents[fault.hop + 1]!];
      const id = ids[fault.hop]!;
      // The receive started a trace of its own; its send is in the other group.
      return {
        ruleId: 'unlinked-handoff',
        severity: 'warning',
        agents: [source, target],
        message: `${target} received handoff ${id} from ${source} unlinked: it carries no trace context and no matching send is in its trace`,
        spanIds: [handoffSpan(spans, BatonOperation.HandoffReceive, id).spanId],
      };
    }
    case 'ack-timeout': {
      const [source, target] = [agents[fault.hop]!, agents[fault.hop + 1]!];
      const id = ids[fault.hop]!;
      return {
        ruleId: 'ack-timeout',
        severity: 'warning',
        agents: [source, target],
        message: `${target} acknowledged the handoff from ${source} after ${generated.lateAck!.delayMs} ms, over its ${TIGHT_BUDGET_MS} ms budget`,
        spanIds: [
          handoffSpan(spans, BatonOperation.HandoffSend, id).spanId,
          handoffSpan(spans, BatonOperation.HandoffAck, id).spanId,
          handoffSpan(spans, BatonOperation.HandoffReceive, id).spanId,
        ],
      };
    }
    case 'partial-handoff': {
      const agent = agents[fault.agent]!;
      const write = spansOf(spans, BatonOperation.StateWrite).find(
        (s) => s.attributes[BATON_IDEMPOTENCY_KEY] === `${taskId}:${agent}:output`,
      )!;
      return {
        ruleId: 'partial-handoff',
        severity: 'error',
        agents: [agent],
        message: `${agent} wrote ${taskId}/${agent} (version 2) in attempt 1 but never published task.${agent}.complete`,
        spanIds: [write.spanId],
      };
    }
    case 'duplicate-write': {
      const agent = agents[fault.agent]!;
      const writes = spansOf(spans, BatonOperation.StateWrite).filter(
        (s) => s.attributes[BATON_IDEMPOTENCY_KEY] === `${taskId}:${agent}:output` && s.attributes[BATON_STEP] === 'output',
      );
      return {
        ruleId: 'duplicate-write',
        severity: 'error',
        agents: [agent],
        message: `${taskId}/${agent} written 2 times by attempts 1, 2 (v2, v3) under idempotency key ${taskId}:${agent}:output`,
        spanIds: writes.map((w) => w.spanId),
      };
    }
    case 'stale-epoch-read': {
      const [reader, writer] = [agents[fault.agent]!, agents[fault.agent - 1]!];
      const handedOff = fault.agent < agents.length - 1 ? ', then handed off on it' : '';
      return {
        ruleId: 'stale-epoch-read',
        severity: 'error',
        agents: [reader, writer],
        message: new RegExp(
          `^${escapeRegExp(`${reader} read ${taskId}/${writer} at version 1 after version 2 was committed by ${writer}`)} \\((\\d+ ms|\\d+\\.\\d s) earlier\\)${escapeRegExp(handedOff)}$`,
        ),
      };
    }
    case 'lost-update': {
      const [editor, upstream] = [agents[fault.agent]!, agents[fault.agent - 1]!];
      const key = `${taskId}/${upstream}`;
      const writeBy = (idempotencyKey: string) =>
        spansOf(spans, BatonOperation.StateWrite).find((s) => s.attributes[BATON_IDEMPOTENCY_KEY] === idempotencyKey)!;
      const read = spansOf(spans, BatonOperation.StateRead).find((s) => s.attributes[BATON_STATE_KEY] === key)!;
      // The upstream wrote its draft (1) and output (2); the editor read 2; the revision committed 3; the edit 4.
      return {
        ruleId: 'lost-update',
        severity: 'error',
        agents: [editor, upstream],
        message: `${editor} overwrote ${upstream}'s update of ${key}: ${editor} wrote version 4 based on version 2 it had read, after ${upstream} had committed version 3`,
        spanIds: [writeBy(`${taskId}:${editor}:edit`).spanId, writeBy(`${taskId}:${upstream}:revision`).spanId, read.spanId],
      };
    }
    case 'dependency-cycle': {
      const loop = agents.slice(fault.backTo);
      return {
        ruleId: 'dependency-cycle',
        severity: 'warning',
        agents: loop,
        message: `circular delegation ${[...loop, loop[0]].join(' → ')} ran 1 lap: the work came back to an agent that had handed it on`,
        spanIds: ids.slice(fault.backTo).map((id) => handoffSpan(spans, BatonOperation.HandoffSend, id).spanId),
      };
    }
  }
}

/** Every finding names spans that are in the input, its trace being that of its first span. */
function expectEvidenceInInput(report: AuditReport, spans: readonly SpanRecord[]): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const finding of report.findings) {
    expect(finding.evidence.spanIds.length).toBeGreaterThan(0);
    for (const id of finding.evidence.spanIds) expect(byId.has(id)).toBe(true);
    expect(finding.evidence.traceId).toBe(byId.get(finding.evidence.spanIds[0]!)!.traceId);
  }
}

const edgesOf = (report: AuditReport) => report.edges.map((e) => [edgeKey(e.source, e.target), e.handoffs] as const);
const sortedEntries = (map: ReadonlyMap<string, number>) => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('auditSpans on SDK-generated handoff chains', () => {
  it('(a, c) reports nothing on clean chains, every rule having checked something, and counts each edge exactly', async () => {
    await fc.assert(
      fc.asyncProperty(planArb, async (plan) => {
        const { generated, report } = await auditPlan(plan);
        expect(report.findings).toEqual([]);
        for (const rule of report.rules) {
          // The SDK records no router between send and receive: undelivered-handoff has nothing to check, and says so.
          if (rule.ruleId === 'undelivered-handoff') {
            expect(rule.couldNotRun).toBe(true);
            continue;
          }
          expect(rule.couldNotRun, rule.ruleId).toBe(false);
          expect(rule.notEvaluated, rule.ruleId).toEqual([]);
        }
        // One trace per task, each its own group.
        expect(report.inputs).toMatchObject({ traces: plan.tasks, traceGroups: plan.tasks });
        expect(report.tasks.count).toBe(plan.tasks);
        expect(report.cycles).toEqual([]);
        expect(report.agents).toEqual([...plan.agents].sort());
        // The chain's edges, each with one handoff per task.
        expect(sortedEntries(generated.handoffsPerEdge)).toEqual(
          plan.agents
            .slice(1)
            .map((target, i) => [edgeKey(plan.agents[i]!, target), plan.tasks] as const)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        );
        expect(edgesOf(report)).toEqual(expect.arrayContaining(sortedEntries(generated.handoffsPerEdge)));
        expect(report.edges).toHaveLength(generated.handoffsPerEdge.size);
        for (const edge of report.edges) expect([edge.failures, edge.retries]).toEqual([0, 0]);
      }),
      { numRuns: 30 },
    );
  });

  it('(b) finds a planted fault, by its rule, naming the right agents, task and evidence, and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(faultyPlanArb, async (plan) => {
        const { generated, report } = await auditPlan(plan);
        const expected = expectedFinding(plan, plan.fault, generated);
        expect(report.findings.map((f) => f.ruleId)).toEqual([expected.ruleId]);
        const finding = report.findings[0]!;
        expect(finding.severity).toBe(expected.severity);
        expect(finding.agents).toEqual(expected.agents);
        expect(finding.taskId).toBe(taskIdOf(plan.fault.task));
        if (typeof expected.message === 'string') expect(finding.message).toBe(expected.message);
        else expect(finding.message).toMatch(expected.message);
        if (expected.spanIds) expect(finding.evidence.spanIds).toEqual(expected.spanIds);
        if (plan.fault.kind === 'dependency-cycle') {
          expect(finding.path).toEqual([...expected.agents, expected.agents[0]]);
          expect(report.cycles).toEqual([finding.path]);
        }
        expectEvidenceInInput(report, generated.spans);
      }),
      { numRuns: 60 },
    );
  });

  it('(b) reports no loop when the last agent hands the work back to the one that handed it over (a return)', async () => {
    await fc.assert(
      fc.asyncProperty(planArb, fc.nat(), async (plan, t) => {
        const fault: PlantedFault = { kind: 'dependency-cycle', task: t % plan.tasks, backTo: plan.agents.length - 2 };
        const { generated, report } = await auditPlan({ ...plan, fault });
        expect(generated.handoffIds[fault.task]).toHaveLength(plan.agents.length);
        expect(report.findings).toEqual([]);
        expect(report.cycles).toEqual([]);
      }),
      { numRuns: 15 },
    );
  });

  it('(c) counts each edge exactly with a fault planted, the back edge of a loop included', async () => {
    await fc.assert(
      fc.asyncProperty(
        // A handoff whose trace context was lost is seen from both of the groups it split: excluded here.
        faultyPlanArb.filter((plan) => plan.fault.kind !== 'unlinked-handoff'),
        async (plan) => {
          const { generated, report } = await auditPlan(plan);
          expect(edgesOf(report)).toEqual(expect.arrayContaining(sortedEntries(generated.handoffsPerEdge)));
          expect(report.edges).toHaveLength(generated.handoffsPerEdge.size);
          const total = [...generated.handoffsPerEdge.values()].reduce((a, b) => a + b, 0);
          expect(total).toBe(plan.tasks * (plan.agents.length - 1) + (plan.fault.kind === 'dependency-cycle' ? 1 : 0));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('(d) gives the same report whatever order and batches the spans arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(planArb, faultyPlanArb), fc.integer(), async (plan, seed) => {
        const { generated, report } = await auditPlan(plan);
        const auditor = new Auditor();
        for (const batch of shuffleAndSplit(generated.spans, seed)) auditor.addSpans(batch);
        expect(auditor.finish()).toEqual(report);
      }),
      { numRuns: 20 },
    );
  });
});

/** A seeded permutation of `items` (Fisher–Yates over a 32-bit LCG), cut into batches of 1 to 8. */
function shuffleAndSplit<T>(items: readonly T[], seed: number): T[][] {
  let state = seed >>> 0;
  const next = (bound: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % bound;
  };
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = next(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const batches: T[][] = [];
  for (let i = 0; i < shuffled.length;) {
    const size = 1 + next(8);
    batches.push(shuffled.slice(i, i + size));
    i += size;
  }
  return batches;
}
