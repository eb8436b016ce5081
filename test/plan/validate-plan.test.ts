import fc from 'fast-check';
import { DirectedGraph } from 'graphology';
import { hasCycle } from 'graphology-dag';
import { describe, expect, it } from 'vitest';
import { edgeListHasCycle, findCyclePath } from '../../src/graph/cycle-path.js';
import { PlanCycleError, PlanInvalidError } from '../../src/model/errors.js';
import { findPlanCycle, validatePlan, type DependencyPlan } from '../../src/plan/validate-plan.js';

/** Random plans over up to 8 agents: each agent depends on a random subset of the others (or itself). */
const planArb = fc
  .integer({ min: 1, max: 8 })
  .chain((n) =>
    fc.array(fc.subarray(Array.from({ length: n }, (_, i) => `agent${i}`)), { minLength: n, maxLength: n }).map((deps) =>
      Object.fromEntries(deps.map((d, i) => [`agent${i}`, d])),
    ),
  );

describe('validatePlan', () => {
  it.each([
    ['a non-object', 42, /expected an object/],
    ['dependencies that are not an array', { a: 'b' }, /dependencies of "a" must be an array/],
    ['a dependency that is not a name', { a: [1] }, /must be agent names, got 1/],
    ['an undeclared agent', { a: ['ghost'] }, /"a" depends on undeclared agent "ghost"/],
  ])('refuses %s with PlanInvalidError', (_label, plan, message) => {
    expect(() => validatePlan(plan as unknown as DependencyPlan)).toThrow(PlanInvalidError);
    expect(() => validatePlan(plan as unknown as DependencyPlan)).toThrow(message);
  });

  it('returns an order with every dependency before its dependent', () => {
    const plan = { writer: ['analysis'], triage: [], research: ['triage'], analysis: ['research', 'triage'] };
    const order = validatePlan(plan);
    expect(new Set(order)).toEqual(new Set(Object.keys(plan)));
    for (const [agent, deps] of Object.entries(plan)) for (const dep of deps) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(agent));
  });

  it('refuses a cycle, naming its path in the error', () => {
    const plan = { triage: [], research: ['triage', 'reviewer'], analysis: ['research'], writer: ['analysis'], reviewer: ['writer'] };
    let error: PlanCycleError | undefined;
    try {
      validatePlan(plan);
    } catch (e) {
      error = e as PlanCycleError;
    }
    expect(error).toBeInstanceOf(PlanCycleError);
    expect(error!.code).toBe('BATON_PLAN_CYCLE');
    expect(error!.cycle[0]).toBe(error!.cycle.at(-1));
    expect(new Set(error!.cycle)).toEqual(new Set(['research', 'reviewer', 'writer', 'analysis']));
    expect(error!.message).toBe(`dependency plan has a cycle: ${error!.cycle.join(' → ')}`);
  });

  it('property: refuses exactly the plans graphology-dag finds a cycle in, and the path it names is a real cycle', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const graph = new DirectedGraph();
        for (const agent of Object.keys(plan)) graph.mergeNode(agent);
        for (const [agent, deps] of Object.entries(plan)) for (const dep of deps) graph.mergeEdge(agent, dep);
        const cyclic = hasCycle(graph);
        const cycle = findPlanCycle(plan);
        expect(cycle !== null).toBe(cyclic);
        if (cyclic) {
          expect(() => validatePlan(plan)).toThrow(PlanCycleError);
          expect(cycle![0]).toBe(cycle!.at(-1));
          for (let i = 0; i + 1 < cycle!.length; i++) expect(plan[cycle![i]!]).toContain(cycle![i + 1]);
        } else {
          expect(validatePlan(plan)).toHaveLength(Object.keys(plan).length);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('findCyclePath', () => {
  it('returns null on a DAG with merging paths, quickly (no exponential walk)', () => {
    // 40 layers of 2 nodes, each node feeding both nodes of the next layer: 2^40 paths.
    const graph = new DirectedGraph();
    for (let layer = 0; layer < 40; layer++) for (const a of ['x', 'y']) for (const b of ['x', 'y']) graph.mergeEdge(`${a}${layer}`, `${b}${layer + 1}`);
    expect(findCyclePath(graph)).toBeNull();
    graph.mergeEdge('x40', 'y0');
    const cycle = findCyclePath(graph)!;
    expect(cycle[0]).toBe(cycle.at(-1));
    for (let i = 0; i + 1 < cycle.length; i++) expect(graph.hasDirectedEdge(cycle[i]!, cycle[i + 1]!)).toBe(true);
  });

  it('finds a self-loop', () => {
    const graph = new DirectedGraph();
    graph.mergeEdge('a', 'a');
    expect(findCyclePath(graph)).toEqual(['a', 'a']);
  });
});

describe('edgeListHasCycle', () => {
  it('property: agrees with graphology-dag hasCycle on random edge lists', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)), { maxLength: 14 }), (edges) => {
        const graph = new DirectedGraph();
        for (const [from, to] of edges) graph.mergeEdge(from, to);
        expect(edgeListHasCycle(edges)).toBe(hasCycle(graph));
      }),
      { numRuns: 1000 },
    );
  });
});
