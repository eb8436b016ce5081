/**
 * Checks a declared agent dependency plan before a pipeline runs: every dependency
 * graph must be a DAG, since any cycle is a deadlock waiting to happen.
 * Lives apart from the SDK entry point so hosts that never check plans never load graphology.
 */
import { DirectedGraph } from 'graphology';
import { hasCycle, topologicalSort } from 'graphology-dag';
import { PlanCycleError, PlanInvalidError } from '../model/errors.js';
import { findCyclePath } from '../graph/cycle-path.js';

/** Agent name → the agents it waits on. */
export type DependencyPlan = Readonly<Record<string, readonly string[]>>;

/** Options of {@link validatePlan}. */
export interface ValidatePlanOptions {
  /** Allow dependencies on agents the plan does not declare (external services). Default false. */
  readonly allowUndeclared?: boolean;
}

function buildPlanGraph(plan: DependencyPlan, options: ValidatePlanOptions): DirectedGraph {
  if (plan === null || typeof plan !== 'object' || Array.isArray(plan)) {
    throw new PlanInvalidError('expected an object mapping each agent to the agents it depends on');
  }
  const graph = new DirectedGraph();
  for (const agent of Object.keys(plan)) graph.addNode(agent);
  for (const [agent, deps] of Object.entries(plan)) {
    if (!Array.isArray(deps)) throw new PlanInvalidError(`dependencies of "${agent}" must be an array of agent names`);
    for (const dep of deps) {
      if (typeof dep !== 'string' || dep.length === 0) {
        throw new PlanInvalidError(`dependencies of "${agent}" must be agent names, got ${JSON.stringify(dep)}`);
      }
      if (!graph.hasNode(dep)) {
        if (!options.allowUndeclared) throw new PlanInvalidError(`"${agent}" depends on undeclared agent "${dep}"`);
        graph.addNode(dep);
      }
      // Edge from the waiting agent to what it waits on: a cycle here is agents waiting on each other.
      graph.mergeEdge(agent, dep);
    }
  }
  return graph;
}

/**
 * Validates a dependency plan and returns an execution order (dependencies first).
 * Throws PlanCycleError naming the cycle (`a → b → c → a`), or PlanInvalidError.
 *
 * ```ts
 * validatePlan({ triage: [], research: ['triage'], writer: ['research'] });
 * // → ['triage', 'research', 'writer']
 * ```
 */
export function validatePlan(plan: DependencyPlan, options: ValidatePlanOptions = {}): string[] {
  const graph = buildPlanGraph(plan, options);
  if (hasCycle(graph)) {
    const cycle = findCyclePath(graph);
    // hasCycle and the DFS agree by construction; the fallback keeps the error honest if they ever do not.
    throw new PlanCycleError(cycle ?? ['(cycle)']);
  }
  return topologicalSort(graph).reverse();
}

/** Like {@link validatePlan} but returns the cycle path instead of throwing, or null for a DAG. */
export function findPlanCycle(plan: DependencyPlan, options: ValidatePlanOptions = {}): string[] | null {
  const graph = buildPlanGraph(plan, options);
  return hasCycle(graph) ? findCyclePath(graph) : null;
}
