/**
 * The dialect contract suite: every scenario of ./scenarios.ts, materialized in
 * every dialect's vocabulary by real instrumentation (the Baton SDK, the OTel
 * SDK writing GenAI agent spans), must assemble through buildHandoffModel to
 * the model the spec describes: the same agents, edges with exact counts,
 * handoff order, retries, arrivals and run outcomes. What differs by dialect
 * (the handoff kind, the dialect id, declared or inferred, the mode) is checked
 * against the materializer's entry. A new dialect passes this suite by adding
 * one entry to MATERIALIZERS, before it has tests of its own.
 *
 * Only Date is faked, advanced a second per step: spans start in a known order
 * and no assertion depends on real time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import type { HandoffModel } from '../../../src/model/handoff-model.js';
import { checkScenario, expectedProjection, MATERIALIZERS, projectModel, SCENARIOS, stepsOf, type Materializer, type Scenario } from './scenarios.js';

const START_MS = Date.UTC(2030, 0, 1);
let nowMs = START_MS;

function tick(): void {
  nowMs += 1000;
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

async function modelOf(materializer: Materializer, scenario: Scenario): Promise<HandoffModel> {
  return buildHandoffModel(await materializer.materialize(scenario, tick));
}

describe('scenarios', () => {
  it.each(SCENARIOS.map((s) => [s.id, s] as const))('%s is well formed and has handoffs', (_id, scenario) => {
    expect(() => checkScenario(scenario)).not.toThrow();
    expect(stepsOf(scenario).length).toBeGreaterThan(0);
  });
});

describe.each(MATERIALIZERS.map((m) => [m.name, m] as const))('%s', (_name, materializer) => {
  const expressible = SCENARIOS.filter((s) => materializer.supports?.(s) ?? true);
  it('expresses at least one scenario', () => {
    expect(expressible.length).toBeGreaterThan(0);
  });

  describe.each(expressible.map((s) => [s.id, s] as const))('scenario %s', (_id, scenario) => {
    it('assembles to the model the spec describes: agents, edges and counts, order, retries, arrivals, run outcomes', async () => {
      const model = await modelOf(materializer, scenario);
      expect(projectModel(model)).toEqual(expectedProjection(scenario));
    });

    it(`reads every handoff and run with its own dialect, as ${materializer.kind} handoffs with the expected flags and modes`, async () => {
      const model = await modelOf(materializer, scenario);
      const steps = stepsOf(scenario);
      expect(model.handoffs).toHaveLength(steps.length);
      expect(model.handoffs.map((h) => h.dialect)).toEqual(steps.map(() => materializer.dialect));
      expect(model.handoffs.map((h) => h.kind)).toEqual(steps.map(() => materializer.kind));
      const inferred = materializer.inferred;
      expect(model.handoffs.map((h) => h.inferred)).toEqual(steps.map(({ step }) => (typeof inferred === 'function' ? inferred(step) : inferred)));
      expect(model.handoffs.map((h) => h.mode)).toEqual(steps.map(({ step }) => materializer.modeOf(step)));
      expect(new Set(model.agentRuns.map((r) => r.dialect))).toEqual(new Set([materializer.dialect]));
      expect(model.dialects.map((d) => d.id)).toEqual([materializer.dialect]);
    });

    it('gives every handoff its evidence: a send span in the data and an arrival in the target agent', async () => {
      const spans = await materializer.materialize(scenario, tick);
      const ids = new Set(spans.map((s) => s.spanId));
      const model = buildHandoffModel(spans);
      for (const handoff of model.handoffs) {
        expect(ids.has(handoff.send!.spanId)).toBe(true);
        for (const receive of handoff.receives) {
          expect(ids.has(receive.spanId)).toBe(true);
          expect(receive.agent).toBe(handoff.target);
          expect(receive.startMs).toBeGreaterThanOrEqual(handoff.send!.startMs);
        }
      }
    });
  });
});

describe('across dialects', () => {
  it.each(SCENARIOS.map((s) => [s.id, s] as const))('%s: every materializer yields the same projection', async (_id, scenario) => {
    const projections = [];
    for (const materializer of MATERIALIZERS) {
      if (!(materializer.supports?.(scenario) ?? true)) continue;
      nowMs = START_MS;
      vi.setSystemTime(nowMs);
      projections.push(projectModel(await modelOf(materializer, scenario)));
    }
    for (const projection of projections.slice(1)) expect(projection).toEqual(projections[0]);
  });
});
