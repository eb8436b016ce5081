/**
 * dependency-cycle: agents of one task that wait on each other (declared
 * `baton.agent.depends_on` forming a cycle: a deadlock when none of them
 * completed), and circular delegation in the handoffs. Wait-for cycles are
 * also checked per task across trace groups (createDependencyCycleRun): the
 * agents of a deadlock hand nothing to each other, so their traces are apart.
 *
 * A round trip is not a loop. Handoffs are followed as a delegation stack,
 * per task and along the chain of hops (the hop into an agent before it handed
 * on, see ../chains.ts):
 * - X → Y where Y handed the work to X is a *return* (the stack pops): a
 *   supervisor and its worker, a planner and its coder, request and reply;
 *   except when both are calls (`return_to_caller`, an agent used as a tool)
 *   and X's call had not returned: the reply to a call is the call returning,
 *   never a handoff, so X calling Y back is Y called again while its first
 *   call still waits, a circular delegation;
 * - X → Y where Y is deeper on the stack (Y handed on, the work went on
 *   through others and comes back to Y without returning the way it came) is
 *   a *circular delegation*: one lap of the cycle Y → … → X → Y;
 * - anything else pushes Y.
 * A pair that round-trips again and again (Y hands to X again right after X
 * returned) is a revision loop: reported when a return sent the work back
 * for rework (an envelope status other than complete), or past
 * `maxRoundTrips` laps. docs/conventions.md gives examples. Hubs and
 * request/reply are clean by default; `allowedLoops` declares bounded loops.
 *
 * Wait-for cycles: a plain DFS over the edge list rules out the common
 * acyclic task; for the rest graphology-dag's hasCycle is the gate and
 * findCyclePath names each cycle (willCreateCycle is avoided: exponential on
 * merging DAGs in graphology-dag 0.4.1).
 */
import { DirectedGraph } from 'graphology';
import { hasCycle } from 'graphology-dag';
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { AgentRunRecord, Handoff, HandoffGraph } from '../../model/handoff-model.js';
import { edgeListHasCycle, findCyclePath } from '../../graph/cycle-path.js';
import { nodeKey, nodeName } from '../../graph/node-keys.js';
import { chainIndexOf, handoffStartMs, type ChainIndex } from '../chains.js';
import { assertGraph, evidenceOf, MAX_EVIDENCE_SPANS } from './evidence.js';
import { FORGET_AFTER_MS, FORGET_EVERY_MS, forgetOldest, MAX_REMEMBERED } from '../bounded.js';
import type { RuleDefinition, RuleRun } from './rule.js';

export const RULE = 'dependency-cycle' as const;

/** A loop the user allows: the set of agents on it and how many laps are fine. */
export interface AllowedLoop {
  readonly agents: readonly string[];
  /** Default: any number of laps. */
  readonly maxLaps?: number;
}

export interface DependencyCycleOptions {
  readonly allowedLoops?: readonly AllowedLoop[];
  /**
   * Round trips between one pair beyond which, even with no sign of rework,
   * the ping-pong is reported as a revision loop. Default 5.
   */
  readonly maxRoundTrips?: number;
}

const HINT_DEADLOCK =
  'Validate the dependency graph as a DAG before execution starts (validatePlan from baton-sdk/plan); any cycle is a deadlock waiting to happen.';
const HINT_LOOP =
  'Bound the loop explicitly (a revision budget) and declare it in baton.config.json rules.dependency-cycle.allowedLoops, or break it.';
const NO_DEPENDS_ON = 'tasks whose agent runs declare no baton.agent.depends_on: wait-for cycles not checked';

/** Envelope statuses that hand work on or back as done; any other status on a return sends it back for rework. */
const DONE_STATUSES: ReadonlySet<string> = new Set(['complete', 'completed', 'success', 'succeeded', 'ok', 'done']);

/** Finds up to `limit` distinct cycles by removing one edge of each found cycle and searching again. */
function cyclesOf(edges: readonly (readonly [string, string])[], limit: number): string[][] {
  const cycles: string[][] = [];
  // Most tasks have no cycle: a plain DFS says so before any graphology graph is built.
  if (limit <= 0 || !edgeListHasCycle(edges)) return cycles;
  const work = new DirectedGraph();
  for (const [from, to] of edges) work.mergeEdge(nodeKey(from), nodeKey(to));
  while (cycles.length < limit && hasCycle(work)) {
    const path = findCyclePath(work);
    if (!path || path.length < 2) break;
    cycles.push(path.map(nodeName));
    work.dropEdge(path[path.length - 2]!, path[path.length - 1]!);
  }
  return cycles;
}

function sameAgents(cycle: readonly string[], allowed: readonly string[]): boolean {
  const members = new Set(cycle);
  return members.size === new Set(allowed).size && allowed.every((a) => members.has(a));
}

/** One frame of the delegation stack: an agent holding the work, and who handed it to it. */
interface Frame {
  readonly agent: string;
  readonly below: Frame | null;
  /** The handoff that gave the agent the work (none for the bottom of a stack). */
  readonly via?: Handoff;
}

/** A loop found in one task: circular delegation, or a pair's repeated round trips. */
interface LoopTally {
  readonly kind: 'circular' | 'round-trip';
  /** The cycle as a path, first agent repeated at the end. */
  readonly path: string[];
  laps: number;
  rework: boolean;
  readonly handoffs: Handoff[];
}

/**
 * Whether `handoff` (X → Y) calls back the agent Y that called X (`previous`,
 * Y → X): both calls, made while X's run from Y's call was still going.
 */
function isCallBack(handoff: Handoff, previous: Handoff | undefined): boolean {
  if (handoff.mode !== 'return_to_caller' || previous?.mode !== 'return_to_caller') return false;
  const run = previous.receives[0];
  return run === undefined || run.endMs >= handoffStartMs(handoff);
}

/**
 * Follows the delegation stack through one task's handoffs (in start order).
 * The stack of the chain's tip is kept mutable with an agent → frame map, so a
 * sequential task costs O(1) per handoff; a hop from another branch (fan-out)
 * rebuilds the map from that branch's frames.
 */
function findLoops(handoffs: readonly Handoff[], chains: ChainIndex): Map<string, LoopTally> {
  const loops = new Map<string, LoopTally>();
  const stackAfter = new Map<Handoff, Frame>();
  const returned = new Set<Handoff>();
  let tip: Frame | null = null;
  const onTip = new Map<string, Frame>();
  const moveTip = (frame: Frame) => {
    onTip.clear();
    for (let f: Frame | null = frame; f; f = f.below) if (!onTip.has(f.agent)) onTip.set(f.agent, f);
    tip = frame;
  };
  const tally = (key: string, kind: LoopTally['kind'], path: () => string[], handoff: Handoff, extra?: Handoff) => {
    let loop = loops.get(key);
    if (!loop) loops.set(key, (loop = { kind, path: path(), laps: 0, rework: false, handoffs: [] }));
    loop.laps++;
    if (extra && loop.handoffs.length < MAX_EVIDENCE_SPANS) loop.handoffs.push(extra);
    if (loop.handoffs.length < MAX_EVIDENCE_SPANS) loop.handoffs.push(handoff);
    return loop;
  };

  for (const handoff of handoffs) {
    const source = handoff.source;
    const target = handoff.target;
    const previous = chains.previousHop(handoff);
    let base = previous ? stackAfter.get(previous) : undefined;
    if (!base || base.agent !== source) base = { agent: source, below: null };
    if (base !== tip) moveTip(base);
    if (base.below && base.below.agent === target && !isCallBack(handoff, previous)) {
      // A return: the work goes back the way it came.
      onTip.delete(source);
      tip = base.below;
      stackAfter.set(handoff, base.below);
      returned.add(handoff);
      continue;
    }
    const deeper = onTip.get(target);
    if (deeper) {
      // Back to an agent that already handed the work on, not along the way it came: one lap.
      const path: string[] = [];
      for (let f: Frame | null = base; f && f !== deeper; f = f.below) path.push(f.agent);
      path.push(target);
      path.reverse();
      path.push(target);
      const members = [...path.slice(0, -1)];
      const start = members.indexOf([...members].sort()[0]!);
      const canonical = [...members.slice(start), ...members.slice(0, start)];
      const loop = tally(`c\u0000${canonical.join('\u0000')}`, 'circular', () => path, handoff);
      // The lap's evidence is every hop on it, not only the one that closed it.
      for (let f: Frame | null = base; f && f !== deeper && loop.handoffs.length < MAX_EVIDENCE_SPANS; f = f.below) {
        if (f.via) loop.handoffs.push(f.via);
      }
      for (let f: Frame | null = base; f && f !== deeper; f = f.below) onTip.delete(f.agent);
      tip = deeper;
      stackAfter.set(handoff, deeper);
      continue;
    }
    // Handing to the agent that just returned the work: another round trip of the pair.
    if (previous && returned.has(previous) && previous.source === target) {
      if (!loops.has(`r\u0000${source}\u0000${target}`)) {
        // The first lap's evidence starts with the delegation that the return answered.
        const first = chains.previousHop(previous);
        if (first) tally(`r\u0000${source}\u0000${target}`, 'round-trip', () => [source, target, source], first).laps--;
      }
      const loop = tally(`r\u0000${source}\u0000${target}`, 'round-trip', () => [source, target, source], handoff, previous);
      const status = previous.send?.status;
      if (status !== undefined && !DONE_STATUSES.has(status)) loop.rework = true;
    }
    const pushed: Frame = { agent: target, below: base, via: handoff };
    onTip.set(target, pushed);
    tip = pushed;
    stackAfter.set(handoff, pushed);
  }
  return loops;
}

const MAX_WAIT_CYCLES = 10;

/** A cycle of declared waits among `runs` (of one task): a deadlock when none of its agents completed. */
function waitCycleFinding(task: string, cycle: string[], runs: readonly AgentRunRecord[]): Finding {
  const members = new Set(cycle);
  const cycleRuns = runs.filter((r) => members.has(r.agent));
  const completed = cycleRuns.filter((r) => r.outcome === 'completed').map((r) => r.agent);
  const blocked = cycleRuns.filter((r) => r.outcome === 'blocked' || r.outcome === 'failed' || r.outcome === undefined);
  const ordered = [...blocked, ...cycleRuns.filter((r) => r.outcome === 'completed')];
  const deadlock = completed.length === 0;
  return {
    ruleId: RULE,
    severity: deadlock ? 'error' : 'warning',
    message: deadlock
      ? `deadlock: ${cycle.join(' → ')} wait on each other and none of them completed`
      : `dependency cycle ${cycle.join(' → ')} (declared waits); ${[...new Set(completed)].join(', ')} completed, so it did not deadlock this time`,
    hint: HINT_DEADLOCK,
    evidence: evidenceOf(ordered),
    agents: [...members],
    path: cycle,
    ...(task ? { taskId: task } : {}),
  };
}

/** Reports wait-for deadlocks and circular delegation per task. Pure. */
export function detectDependencyCycles(handoffGraph: HandoffGraph, options: DependencyCycleOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const maxRoundTrips = options.maxRoundTrips ?? 5;
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
    if (handoff.source === 'unknown' && handoff.target === 'unknown') continue;
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
    for (const cycle of cyclesOf(waitEdges, MAX_WAIT_CYCLES)) findings.push(waitCycleFinding(task, cycle, runs));
  }

  if (handoffsByTask.size > 0) {
    const chains = chainIndexOf(model);
    for (const [task, handoffs] of handoffsByTask) {
      checked++;
      const loops = findLoops(handoffs, chains);
      for (const loop of loops.values()) {
        if (loop.kind === 'round-trip' && !loop.rework && loop.laps <= maxRoundTrips) continue;
        const allowed = options.allowedLoops?.find((a) => sameAgents(loop.path, a.agents));
        if (allowed && (allowed.maxLaps === undefined || loop.laps <= allowed.maxLaps)) continue;
        const evidence = [...loop.handoffs].sort((a, b) => (a.send?.startMs ?? 0) - (b.send?.startMs ?? 0));
        const laps = `${loop.laps} lap${loop.laps === 1 ? '' : 's'}`;
        const what = loop.kind === 'circular' ? 'circular delegation' : 'revision loop';
        findings.push({
          ruleId: RULE,
          severity: 'warning',
          message: allowed
            ? `${what} ${loop.path.join(' → ')} ran ${laps}, over its allowed ${allowed.maxLaps}`
            : loop.kind === 'circular'
              ? `circular delegation ${loop.path.join(' → ')} ran ${laps}: the work came back to an agent that had handed it on`
              : `revision loop ${loop.path.join(' → ')} ran ${laps}${loop.rework ? ': the work was sent back for rework' : `, over ${maxRoundTrips} round trips`}`,
          hint: HINT_LOOP,
          evidence: evidenceOf(evidence.map((h) => h.send ?? h.receives[0])),
          agents: [...new Set(loop.path)],
          path: loop.path,
          ...(task ? { taskId: task } : {}),
        });
      }
    }
  }

  return {
    findings,
    checked,
    notEvaluated: withoutDependencies > 0 ? [{ count: withoutDependencies, reason: NO_DEPENDS_ON }] : [],
  };
}

/** Runs of one task kept across trace groups, each with the group it came from. */
interface TaskWaits {
  readonly runs: AgentRunRecord[];
  readonly groupOf: number[];
  readonly groups: Set<number>;
  lastEndMs: number;
}

/** Runs kept per task across groups: a task with more is a busy pipeline, not two processes waiting. */
const MAX_RUNS_PER_TASK = 1_000;

/**
 * Wait-for cycles of a task whose runs are in several trace groups: agents in two
 * processes, each waiting on the other, hand nothing off, so nothing links their
 * traces, and each group alone shows half the cycle. A cycle whose every wait one
 * group declared was already reported by that group.
 */
function crossGroupWaitFindings(task: string, waits: TaskWaits): Finding[] {
  if (waits.groups.size < 2) return [];
  const edges: [string, string][] = [];
  for (const run of waits.runs) for (const dep of run.dependsOn) edges.push([run.agent, dep]);
  const findings: Finding[] = [];
  for (const cycle of cyclesOf(edges, MAX_WAIT_CYCLES)) {
    if (oneGroupDeclares(cycle, waits)) continue;
    findings.push(waitCycleFinding(task, cycle, waits.runs));
  }
  return findings;
}

/** True when one group holds, for each hop a → b of the cycle, a run of a waiting on b. */
function oneGroupDeclares(cycle: readonly string[], waits: TaskWaits): boolean {
  for (const group of waits.groups) {
    let all = true;
    for (let i = 0; all && i + 1 < cycle.length; i++) {
      let found = false;
      for (let j = 0; !found && j < waits.runs.length; j++) {
        const run = waits.runs[j]!;
        found = waits.groupOf[j] === group && run.agent === cycle[i] && run.dependsOn.includes(cycle[i + 1]!);
      }
      all = found;
    }
    if (all) return true;
  }
  return false;
}

/**
 * Per group: what detectDependencyCycles reports. Across groups: the runs of each
 * task that declares waits, checked for a wait-for cycle no one group shows once the
 * task has been quiet for an hour of data time, or at the end of the input.
 */
export function createDependencyCycleRun(options: DependencyCycleOptions = {}): RuleRun {
  const tasks = new Map<string, TaskWaits>();
  let groupCount = 0;
  let lastWalkMs = Number.NEGATIVE_INFINITY;
  let pending: Finding[] = [];
  const settle = (task: string, waits: TaskWaits): void => {
    const found = crossGroupWaitFindings(task, waits);
    for (let i = 0; i < found.length; i++) pending.push(found[i]!);
  };
  const drain = (): DetectorResult => {
    const findings = pending;
    pending = [];
    return { findings, checked: 0, notEvaluated: [] };
  };
  return {
    group(handoffGraph): DetectorResult {
      const result = detectDependencyCycles(handoffGraph, options);
      const group = groupCount++;
      const runs = handoffGraph.model.agentRuns;
      // Only tasks that declare waits somewhere in this group are kept.
      let declaring: Set<string> | undefined;
      for (const run of runs) {
        if (run.taskId !== undefined && run.dependsOn.length > 0) (declaring ??= new Set()).add(run.taskId);
      }
      if (!declaring) return result;
      for (const run of runs) {
        if (run.taskId === undefined || !declaring.has(run.taskId)) continue;
        let waits = tasks.get(run.taskId);
        if (!waits) tasks.set(run.taskId, (waits = { runs: [], groupOf: [], groups: new Set(), lastEndMs: run.endMs }));
        if (waits.runs.length >= MAX_RUNS_PER_TASK) continue;
        waits.runs.push(run);
        waits.groupOf.push(group);
        waits.groups.add(group);
        if (run.endMs > waits.lastEndMs) waits.lastEndMs = run.endMs;
      }
      forgetOldest(tasks, MAX_REMEMBERED, settle);
      return result;
    },
    advance(completeBeforeMs): DetectorResult {
      // The walk visits every kept task: at most once a minute of data time.
      if (completeBeforeMs - lastWalkMs < FORGET_EVERY_MS) return drain();
      lastWalkMs = completeBeforeMs;
      const before = completeBeforeMs - FORGET_AFTER_MS;
      for (const [task, waits] of tasks) {
        if (waits.lastEndMs >= before) continue;
        settle(task, waits);
        tasks.delete(task);
      }
      return drain();
    },
    finish(): DetectorResult {
      for (const [task, waits] of tasks) settle(task, waits);
      tasks.clear();
      return drain();
    },
  };
}

export const dependencyCycleRule: RuleDefinition<DependencyCycleOptions> = {
  id: RULE,
  description: 'agents waiting on each other (deadlock), or circular delegation in the handoffs',
  severity: 'error',
  reads: ['agentRuns', 'handoffs'],
  create: createDependencyCycleRun,
};
