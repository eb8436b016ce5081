/**
 * dependency-cycle: agents of one task that wait on each other (declared
 * `baton.agent.depends_on` forming a cycle), or handoffs that go round in a loop.
 *
 * A plain DFS over the edge list first rules out the common acyclic task without
 * building a graph; for the rest graphology-dag's hasCycle is the gate and
 * findCyclePath names each cycle. A
 * wait-for cycle in which no agent completed is a deadlock (error). A handoff
 * loop is a warning with its lap count, unless the user declared it allowed
 * (a bounded revision loop). willCreateCycle is avoided: it is exponential on
 * DAGs with merging paths in graphology-dag 0.4.1.
 */
import { DirectedGraph } from 'graphology';
import { hasCycle } from 'graphology-dag';
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { AgentRunRecord, Handoff, HandoffGraph } from '../../model/handoff-model.js';
import { edgeListHasCycle, findCyclePath } from '../../graph/cycle-path.js';
import { assertGraph, evidenceOf } from './evidence.js';

export const RULE = 'dependency-cycle' as const;

/** A loop the user allows: the set of agents on it and how many laps are fine. */
export interface AllowedLoop {
  readonly agents: readonly string[];
  /** Default: any number of laps. */
  readonly maxLaps?: number;
}

export interface DependencyCycleOptions {
  readonly allowedLoops?: readonly AllowedLoop[];
}

const HINT_DEADLOCK =
  'Validate the dependency graph as a DAG before execution starts (validatePlan from baton/plan); any cycle is a deadlock waiting to happen.';
const HINT_LOOP =
  'Bound the loop explicitly (a revision budget) and declare it in baton.config.json rules.dependency-cycle.allowedLoops, or break it.';

/** Finds up to `limit` distinct cycles by removing one edge of each found cycle and searching again. */
function cyclesOf(edges: readonly (readonly [string, string])[], limit: number): string[][] {
  const cycles: string[][] = [];
  // Most tasks have no cycle: a plain DFS says so before any graphology graph is built.
  if (limit <= 0 || !edgeListHasCycle(edges)) return cycles;
  const work = new DirectedGraph();
  for (const [from, to] of edges) work.mergeEdge(from, to);
  while (cycles.length < limit && hasCycle(work)) {
    const path = findCyclePath(work);
    if (!path || path.length < 2) break;
    cycles.push(path);
    work.dropEdge(path[path.length - 2]!, path[path.length - 1]!);
  }
  return cycles;
}

function sameAgents(cycle: readonly string[], allowed: readonly string[]): boolean {
  const members = new Set(cycle);
  return members.size === new Set(allowed).size && allowed.every((a) => members.has(a));
}

/** Reports wait-for deadlocks and handoff loops per task. Pure. */
export function detectDependencyCycles(handoffGraph: HandoffGraph, options: DependencyCycleOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const findings: Finding[] = [];
  const runsByTask = new Map<string, AgentRunRecord[]>();
  for (const run of model.agentRuns) {
    const key = run.taskId ?? '';
    let list = runsByTask.get(key);
    if (!list) runsByTask.set(key, (list = []));
    list.push(run);
  }
  const handoffsByTask = new Map<string, Handoff[]>();
  for (const handoff of model.handoffs) {
    const key = handoff.taskId ?? '';
    let list = handoffsByTask.get(key);
    if (!list) handoffsByTask.set(key, (list = []));
    list.push(handoff);
  }
  let checked = 0;
  let withoutDependencies = 0;

  for (const [task, runs] of runsByTask) {
    const waitEdges: [string, string][] = [];
    let declared = false;
    for (const run of runs) {
      if (run.dependsOn.length === 0) continue;
      declared = true;
      for (const dep of run.dependsOn) waitEdges.push([run.agent, dep]);
    }
    if (!declared) {
      withoutDependencies++;
      continue;
    }
    checked++;
    for (const cycle of cyclesOf(waitEdges, 10)) {
      const members = new Set(cycle);
      const cycleRuns = runs.filter((r) => members.has(r.agent));
      const completed = cycleRuns.filter((r) => r.outcome === 'completed').map((r) => r.agent);
      const blocked = cycleRuns.filter((r) => r.outcome === 'blocked' || r.outcome === 'failed' || r.outcome === undefined);
      const ordered = [...blocked, ...cycleRuns.filter((r) => r.outcome === 'completed')];
      const deadlock = completed.length === 0;
      findings.push({
        ruleId: RULE,
        severity: deadlock ? 'error' : 'warning',
        message: deadlock
          ? `deadlock: ${cycle.join(' → ')} wait on each other and none of them completed`
          : `dependency cycle ${cycle.join(' → ')} (declared waits); ${[...new Set(completed)].join(', ')} completed, so it did not deadlock this time`,
        hint: HINT_DEADLOCK,
        evidence: evidenceOf(ordered),
        agents: [...members],
        ...(task ? { taskId: task } : {}),
      });
    }
  }

  for (const [task, handoffs] of handoffsByTask) {
    checked++;
    const edges: [string, string][] = [];
    const count = new Map<string, Handoff[]>();
    for (const handoff of handoffs) {
      if (handoff.source === handoff.target && handoff.source === 'unknown') continue;
      edges.push([handoff.source, handoff.target]);
      const key = `${handoff.source}\u0000${handoff.target}`;
      let list = count.get(key);
      if (!list) count.set(key, (list = []));
      list.push(handoff);
    }
    for (const cycle of cyclesOf(edges, 10)) {
      let laps = Number.POSITIVE_INFINITY;
      const onCycle: Handoff[] = [];
      for (let i = 0; i + 1 < cycle.length; i++) {
        const list = count.get(`${cycle[i]}\u0000${cycle[i + 1]}`) ?? [];
        laps = Math.min(laps, list.length);
        onCycle.push(...list);
      }
      const allowed = options.allowedLoops?.find((loop) => sameAgents(cycle, loop.agents));
      if (allowed && (allowed.maxLaps === undefined || laps <= allowed.maxLaps)) continue;
      onCycle.sort((a, b) => (a.send?.startMs ?? 0) - (b.send?.startMs ?? 0));
      findings.push({
        ruleId: RULE,
        severity: 'warning',
        message: allowed
          ? `handoff loop ${cycle.join(' → ')} ran ${laps} laps, over its allowed ${allowed.maxLaps}`
          : `handoff loop ${cycle.join(' → ')} ran ${laps} lap${laps === 1 ? '' : 's'}`,
        hint: HINT_LOOP,
        evidence: evidenceOf(onCycle.map((h) => h.send ?? h.receives[0])),
        agents: [...new Set(cycle)],
        ...(task ? { taskId: task } : {}),
      });
    }
  }

  return {
    findings,
    checked,
    notEvaluated:
      withoutDependencies > 0
        ? [{ count: withoutDependencies, reason: 'tasks whose agent runs declare no baton.agent.depends_on: wait-for cycles not checked' }]
        : [],
  };
}
