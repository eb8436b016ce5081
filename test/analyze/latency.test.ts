/**
 * Coordination cost: nearest-rank percentiles (percentile), edge statistics over
 * trace groups in 1%-accurate sketches (EdgeStatsAccumulator; the sketch itself
 * is tested in latency-sketch.test.ts), and per task the critical
 * path and where its wall time went (criticalPath, summarizeTask), on the
 * committed fixtures. fast-check states the order properties of the summaries.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { criticalPath, EdgeStatsAccumulator, percentile, summarizeTask } from '../../src/analyze/latency.js';
import { buildHandoffGraph } from '../../src/analyze/build-graph.js';
import type { Handoff } from '../../src/model/handoff-model.js';
import { buildHandoffModel } from '../../src/analyze/build-model.js';
import {
  BATON_ACK_DELAY_MS,
  BATON_HANDOFF_ID,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_OPERATION,
  BatonOperation,
  GEN_AI_AGENT_NAME,
} from '../../src/model/attributes.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { graphOf, spansOf } from '../helpers/analyze.js';
import { loadFixture, toSpanRecords } from '../helpers/traces.js';
import { createOtelHarness } from '../helpers/otel.js';
import { Baton } from '../../src/sdk/baton.js';

/** Nearest rank by the textbook definition, in integer arithmetic: the ⌈q·n⌉-th smallest. */
function referencePercentile(sorted: readonly number[], numerator: number, denominator: number): number {
  const rank = Math.max(1, Math.floor((numerator * sorted.length + denominator - 1) / denominator));
  return sorted[rank - 1]!;
}

/** Latencies in ms, signed: a negative one is clock skew. */
const latencies = fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e7 }), { minLength: 1, maxLength: 300 });

/** Within the sketch's relative error of `exact` (plus a hair for float rounding). */
function expectWithinRelative(actual: number, exact: number, relativeError: number): void {
  expect(Math.abs(actual - exact)).toBeLessThanOrEqual(relativeError * Math.abs(exact) + 1e-9);
}

let clean: SpanRecord[];
let ackTimeout: SpanRecord[];
let schemaDrift: SpanRecord[];
let duplicateWrite: SpanRecord[];
let revisionLoop: SpanRecord[];
let lost: SpanRecord[];

beforeAll(async () => {
  [clean, ackTimeout, schemaDrift, duplicateWrite, revisionLoop, lost] = await Promise.all([
    loadFixture('clean'),
    loadFixture('ack-timeout'),
    loadFixture('schema-drift'),
    loadFixture('duplicate-write'),
    loadFixture('revision-loop'),
    loadFixture('lost-trace-context'),
  ]);
});

/** The send and first receive start of the handoff `source → target` in `spans`, from their span attributes. */
function handoffLatencyMs(spans: readonly SpanRecord[], source: string, target: string): number {
  const isEdge = (s: SpanRecord) =>
    s.attributes[BATON_HANDOFF_SOURCE_AGENT] === source && s.attributes[BATON_HANDOFF_TARGET_AGENT] === target;
  const send = spansOf(spans, BatonOperation.HandoffSend).find(isEdge)!;
  const receive = spansOf(spans, BatonOperation.HandoffReceive).find(isEdge)!;
  return receive.startMs - send.startMs;
}

/** The baton.ack.delay_ms the receiver stamped for the handoff `source → target`, on its receive (auto ack) or ack span. */
function ackDelayMs(spans: readonly SpanRecord[], source: string, target: string, operation: string = BatonOperation.HandoffReceive): number {
  const span = spansOf(spans, operation).find(
    (s) => s.attributes[BATON_HANDOFF_SOURCE_AGENT] === source && s.attributes[BATON_HANDOFF_TARGET_AGENT] === target,
  )!;
  const delay = span.attributes[BATON_ACK_DELAY_MS];
  if (typeof delay !== 'number') throw new Error(`${span.spanId} has no baton.ack.delay_ms`);
  return delay;
}

describe('percentile', () => {
  it('is NaN on no samples', () => {
    expect(percentile([], 0.5)).toBeNaN();
    expect(percentile(new Float64Array(0), 0.99)).toBeNaN();
  });

  it.each([
    [0, 1],
    [0.1, 1],
    [0.5, 5],
    [0.51, 6],
    [0.95, 10],
    [0.99, 10],
    [1, 10],
  ])('is the nearest-rank value of 1..10 at q = %s: %s', (q, expected) => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sorted, q)).toBe(expected);
    expect(percentile(Float64Array.from(sorted), q)).toBe(expected);
  });

  it('agrees with the integer nearest-rank definition at p50, p95 and p99 for every sample count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), (n) => {
        const sorted = Array.from({ length: n }, (_, i) => i);
        expect(percentile(sorted, 0.5)).toBe(referencePercentile(sorted, 1, 2));
        expect(percentile(sorted, 0.95)).toBe(referencePercentile(sorted, 19, 20));
        expect(percentile(sorted, 0.99)).toBe(referencePercentile(sorted, 99, 100));
      }),
      { numRuns: 200 },
    );
  });
});

describe('EdgeStatsAccumulator', () => {
  it('summarizes no groups as no edges', () => {
    expect(new EdgeStatsAccumulator().summarize()).toEqual([]);
  });

  it('gives the four pipeline edges of the clean fixture, sorted by source then target, one handoff each', () => {
    const accumulator = new EdgeStatsAccumulator();
    accumulator.add(graphOf(clean));
    const edges = accumulator.summarize();
    expect(edges.map((e) => [e.source, e.target, e.handoffs, e.failures, e.retries])).toEqual([
      ['analysis', 'writer', 1, 0, 0],
      ['research', 'analysis', 1, 0, 0],
      ['triage', 'research', 1, 0, 0],
      ['writer', 'reviewer', 1, 0, 0],
    ]);
    const triage = edges.find((e) => e.source === 'triage')!;
    const latency = handoffLatencyMs(clean, 'triage', 'research');
    // One sample: count, min and max are exact, and the percentiles lie between them.
    expect(triage.latencyMs).toEqual({ count: 1, min: latency, p50: latency, p95: latency, p99: latency, max: latency, relativeError: 0.01 });
    // The receiver measured its ack against sent_at: its baton.ack.delay_ms, exact as the one sample.
    const ack = ackDelayMs(clean, 'triage', 'research');
    expect(triage.ackLatencyMs).toEqual({ count: 1, min: ack, p50: ack, p95: ack, p99: ack, max: ack, relativeError: 0.01 });
    for (const edge of edges) {
      expect(edge.validationMs?.count).toBe(1);
      expect([edge.transfers, edge.skewedSamples]).toEqual([0, 0]);
    }
  });

  it('accumulates over groups, counting each handoff id once (the same trace twice is still one of each)', () => {
    const accumulator = new EdgeStatsAccumulator();
    accumulator.add(graphOf(clean));
    accumulator.add(graphOf(clean));
    const edges = accumulator.summarize();
    expect(edges.map((e) => [e.handoffs, e.latencyMs?.count, e.ackLatencyMs?.count])).toEqual(Array(4).fill([1, 1, 1]));
  });

  it('counts a late ack and a failed validation as failures, a redelivery and a revision lap as retries', () => {
    const byEdge = (spans: SpanRecord[]) => {
      const accumulator = new EdgeStatsAccumulator();
      accumulator.add(graphOf(spans));
      return Object.fromEntries(accumulator.summarize().map((e) => [`${e.source}>${e.target}`, [e.handoffs, e.failures, e.retries]]));
    };
    expect(byEdge(ackTimeout)['writer>reviewer']).toEqual([1, 1, 0]);
    expect(byEdge(schemaDrift)['analysis>writer']).toEqual([1, 1, 0]);
    // research crashed and its inbound envelope was delivered again.
    expect(byEdge(duplicateWrite)['triage>research']).toEqual([1, 0, 1]);
    expect(byEdge(revisionLoop)).toEqual({
      'analysis>writer': [1, 0, 0],
      'research>analysis': [1, 0, 0],
      'reviewer>writer': [2, 0, 0],
      'triage>research': [1, 0, 0],
      'writer>reviewer': [3, 0, 0],
    });
  });

  it('measures the ack of the late handoff from the manual ack span (its baton.ack.delay_ms, over the 40 ms budget)', () => {
    const accumulator = new EdgeStatsAccumulator();
    accumulator.add(graphOf(ackTimeout));
    // reviewer acked in manual mode: the delay is on the handoff.ack span, the receive carries none.
    const ack = ackDelayMs(ackTimeout, 'writer', 'reviewer', BatonOperation.HandoffAck);
    expect(ack).toBeGreaterThan(40);
    expect(accumulator.summarize().find((e) => e.source === 'writer')!.ackLatencyMs).toEqual({
      count: 1,
      min: ack,
      p50: ack,
      p95: ack,
      p99: ack,
      max: ack,
      relativeError: 0.01,
    });
  });

  it('orders p50 ≤ p95 ≤ p99 ≤ max with min ≤ p50, exact count, min and max, percentiles within 1%, and counts skew', () => {
    const model = buildHandoffModel(clean);
    const template = model.handoffs.find((h) => h.source === 'triage')!;
    fc.assert(
      fc.property(latencies, (values) => {
        // One edge whose handoffs take exactly `values` from send to receive (negative: the receiver's clock is behind).
        const handoffs: Handoff[] = values.map((ms, i) => ({
          ...template,
          id: `h-${i}`,
          receives: [{ ...template.receives[0]!, startMs: template.send!.startMs + ms }],
        }));
        const accumulator = new EdgeStatsAccumulator();
        accumulator.add(buildHandoffGraph({ ...model, handoffs }));
        const [edge] = accumulator.summarize();
        const summary = edge!.latencyMs!;
        const sorted = [...values].map((ms) => template.send!.startMs + ms - template.send!.startMs).sort((a, b) => a - b);
        expect(edge!.handoffs).toBe(values.length);
        expect(summary.count).toBe(values.length);
        expect(summary.min).toBe(sorted[0]);
        expect(summary.max).toBe(sorted[sorted.length - 1]);
        expect(summary.min).toBeLessThanOrEqual(summary.p50);
        expect(summary.p50).toBeLessThanOrEqual(summary.p95);
        expect(summary.p95).toBeLessThanOrEqual(summary.p99);
        expect(summary.p99).toBeLessThanOrEqual(summary.max);
        expect(summary.relativeError).toBe(0.01);
        expectWithinRelative(summary.p50, referencePercentile(sorted, 1, 2), summary.relativeError);
        expectWithinRelative(summary.p95, referencePercentile(sorted, 19, 20), summary.relativeError);
        expectWithinRelative(summary.p99, referencePercentile(sorted, 99, 100), summary.relativeError);
        // Skew keeps its sign and is counted, never folded into zero.
        expect(edge!.skewedSamples).toBe(sorted.filter((ms) => ms < 0).length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('criticalPath', () => {
  it('is empty without handoffs', () => {
    expect(criticalPath(buildHandoffModel([]))).toEqual([]);
    expect(criticalPath(buildHandoffModel(clean.filter((s) => !String(s.attributes[BATON_OPERATION]).startsWith('handoff.'))))).toEqual([]);
  });

  it('walks the clean pipeline agent by agent, each handoff in between as coordination', () => {
    const path = criticalPath(buildHandoffModel(clean));
    expect(path.map((s) => [s.kind, s.label])).toEqual([
      ['agent', 'triage'],
      ['coordination', 'triage → research'],
      ['agent', 'research'],
      ['coordination', 'research → analysis'],
      ['agent', 'analysis'],
      ['coordination', 'analysis → writer'],
      ['agent', 'writer'],
      ['coordination', 'writer → reviewer'],
      ['agent', 'reviewer'],
    ]);
    // Each coordination segment is its handoff's send → receive latency.
    for (const [source, target] of [
      ['triage', 'research'],
      ['research', 'analysis'],
      ['analysis', 'writer'],
      ['writer', 'reviewer'],
    ] as const) {
      expect(path.find((s) => s.label === `${source} → ${target}`)!.ms).toBe(handoffLatencyMs(clean, source, target));
    }
    // Each agent segment, read off the fixture: from the agent's run start (the first) or the
    // receive that reached it, to its own send onwards (or, for the last, its run's end).
    const sendOf = (source: string) => spansOf(clean, BatonOperation.HandoffSend).find((s) => s.attributes[BATON_HANDOFF_SOURCE_AGENT] === source)!;
    const receiveBy = (target: string) =>
      spansOf(clean, BatonOperation.HandoffReceive).find((s) => s.attributes[BATON_HANDOFF_TARGET_AGENT] === target)!;
    const runOf = (agent: string) => spansOf(clean, BatonOperation.AgentRun).find((s) => s.attributes[GEN_AI_AGENT_NAME] === agent)!;
    expect(path.filter((s) => s.kind === 'agent').map((s) => [s.label, s.ms])).toEqual([
      ['triage', sendOf('triage').startMs - runOf('triage').startMs],
      ['research', sendOf('research').startMs - receiveBy('research').startMs],
      ['analysis', sendOf('analysis').startMs - receiveBy('analysis').startMs],
      ['writer', sendOf('writer').startMs - receiveBy('writer').startMs],
      ['reviewer', runOf('reviewer').endMs - receiveBy('reviewer').startMs],
    ]);
  });

  it('follows the chain that arrives last: through both revision laps of revision-loop.json', () => {
    const path = criticalPath(buildHandoffModel(revisionLoop));
    expect(path.filter((s) => s.kind === 'agent').map((s) => s.label)).toEqual([
      'triage',
      'research',
      'analysis',
      'writer',
      'reviewer',
      'writer', // revision 1
      'reviewer',
      'writer', // revision 2
      'reviewer',
    ]);
    // Every hop of the chain, in send order, each its send → receive latency read off the
    // fixture (receive paired to send by baton.handoff.id). With sub-millisecond span times
    // none is 0 ms, so none is left out.
    const receives = spansOf(revisionLoop, BatonOperation.HandoffReceive);
    const hops = spansOf(revisionLoop, BatonOperation.HandoffSend)
      .sort((a, b) => a.startMs - b.startMs)
      .map((send) => {
        const receive = receives.find((r) => r.attributes[BATON_HANDOFF_ID] === send.attributes[BATON_HANDOFF_ID])!;
        return [`${send.attributes[BATON_HANDOFF_SOURCE_AGENT]} → ${send.attributes[BATON_HANDOFF_TARGET_AGENT]}`, receive.startMs - send.startMs];
      });
    expect(hops.map(([label]) => label)).toEqual([
      'triage → research',
      'research → analysis',
      'analysis → writer',
      'writer → reviewer',
      'reviewer → writer', // revision 1
      'writer → reviewer',
      'reviewer → writer', // revision 2
      'writer → reviewer',
    ]);
    for (const [, ms] of hops) expect(ms).toBeGreaterThan(0);
    expect(path.filter((s) => s.kind === 'coordination').map((s) => [s.label, s.ms])).toEqual(hops);
  });

  it('tiles the time from the first agent run start to the last agent run end', () => {
    for (const spans of [clean, revisionLoop]) {
      const runs = spansOf(spans, BatonOperation.AgentRun);
      const triageStart = runs.find((r) => r.attributes[GEN_AI_AGENT_NAME] === 'triage')!.startMs;
      const reviewerEnd = Math.max(...runs.filter((r) => r.attributes[GEN_AI_AGENT_NAME] === 'reviewer').map((r) => r.endMs));
      const pathMs = criticalPath(buildHandoffModel(spans)).reduce((sum, s) => sum + s.ms, 0);
      expect(pathMs).toBeCloseTo(reviewerEnd - triageStart, 6);
    }
  });
});

describe('summarizeTask', () => {
  it('is null for a group without spans', () => {
    expect(summarizeTask(buildHandoffModel([]))).toBeNull();
  });

  it('splits the clean task wall time into agent and coordination time, share in [0, 1]', () => {
    const model = buildHandoffModel(clean);
    const task = summarizeTask(model)!;
    expect(task.taskId).toBe('research-clean');
    expect(task.traceId).toBe('8edbfa52334a8b41e747dacf2cf5f801');
    // Read off the fixture: the wall time from the first span start to the last span end; the
    // five agents' runs, one after another, each less the coordination spans it holds (its
    // sends, state reads and writes, publishes: its direct children with a coordination
    // operation) and less the part of any receive that overlaps it.
    const wallMs = Math.max(...clean.map((s) => s.endMs)) - Math.min(...clean.map((s) => s.startMs));
    const runs = spansOf(clean, BatonOperation.AgentRun).filter((r) => r.attributes[GEN_AI_AGENT_NAME] !== 'coordinator');
    expect(runs).toHaveLength(5);
    const sorted = [...runs].sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.startMs).toBeGreaterThanOrEqual(sorted[i - 1]!.endMs);
    const coordination = new Set<string>([
      BatonOperation.HandoffSend,
      BatonOperation.StateRead,
      BatonOperation.StateWrite,
      BatonOperation.EventPublish,
    ]);
    const overlap = (a: SpanRecord, b: SpanRecord) => Math.max(0, Math.min(a.endMs, b.endMs) - Math.max(a.startMs, b.startMs));
    let agentMs = 0;
    for (const run of runs) {
      agentMs += run.endMs - run.startMs;
      for (const child of clean) {
        if (child.parentSpanId === run.spanId && coordination.has(String(child.attributes[BATON_OPERATION]))) agentMs -= child.endMs - child.startMs;
      }
      // A receive is coordination too, where it overlaps a run (the receiving agent's run starts inside it).
      for (const receive of spansOf(clean, BatonOperation.HandoffReceive)) agentMs -= overlap(receive, run);
    }
    expect(task.wallMs).toBe(wallMs);
    expect(task.agentMs).toBeCloseTo(agentMs, 9);
    expect(task.coordinationMs).toBeCloseTo(wallMs - agentMs, 9);
    expect(task.coordinationShare).toBeCloseTo((wallMs - agentMs) / wallMs, 12);
    expect(task.criticalPath).toEqual(criticalPath(model));
    const pathMs = task.criticalPath.reduce((sum, s) => sum + s.ms, 0);
    expect(pathMs).toBeLessThanOrEqual(task.wallMs + 1e-6);
  });

  it("counts an agent's work inside a consume span as agent time, not coordination (a stream bus's handler)", async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    // The program's own log: how long the writer worked, by its own clock.
    let writerWorkMs = 0;
    const message = baton.runAgent('research', () => baton.publish({ topic: 'research.complete', taskId: 't-1' }), { taskId: 't-1' });
    await baton.consume(
      message,
      () =>
        baton.runAgent(
          'writer',
          async () => {
            const started = performance.now();
            await new Promise((resolve) => setTimeout(resolve, 120));
            writerWorkMs = performance.now() - started;
          },
          { taskId: 't-1' },
        ),
      { agent: 'writer' },
    );
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    const task = summarizeTask(buildHandoffModel(spans))!;
    expect(writerWorkMs).toBeGreaterThan(100);
    // Span starts are whole milliseconds: allow one either way, and the runs' own instrumentation.
    expect(task.agentMs).toBeGreaterThan(writerWorkMs - 2);
    expect(task.agentMs).toBeLessThanOrEqual(task.wallMs + 1e-9);
    expect(task.coordinationMs).toBeLessThan(task.wallMs - writerWorkMs + 2);
  });

  it('names the root trace of a group spanning two traces (lost-trace-context.json)', () => {
    const task = summarizeTask(buildHandoffModel(lost))!;
    // The coordinator's trace: the longest root span.
    expect(task.traceId).toBe('1ddf90447825d663e5281aece1a1ae89');
    expect(task.taskId).toBe('research-lost-trace-context');
  });

  it('never counts more agent time than the agent runs of any subset of a real trace last, nor than its wall time', () => {
    fc.assert(
      fc.property(fc.subarray(revisionLoop, { minLength: 1 }), (spans) => {
        const task = summarizeTask(buildHandoffModel(spans))!;
        const runMs = spansOf(spans, BatonOperation.AgentRun).reduce((sum, r) => sum + (r.endMs - r.startMs), 0);
        expect(task.agentMs).toBeLessThanOrEqual(runMs + 1e-6);
        expect(task.agentMs).toBeLessThanOrEqual(task.wallMs + 1e-6);
      }),
      { numRuns: 150 },
    );
  });
});
