/**
 * dependency-cycle: agents of one task that wait on each other (declared
 * `baton.agent.depends_on` forming a cycle: a deadlock when none of them
 * completed), and circular delegation in the handoffs. Wait-for cycles are
 * also checked per task across trace groups (createDependencyCycleRun): the
 * agents of a deadlock hand nothing to each other, so their traces are apart.
 * Loops are too: when each hop of a task is its own trace, the task's handoffs
 * are kept (slim, bounded) and walked together once it settles.
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
import type { AgentRunRecord, Handoff, HandoffGraph, HandoffReceive, HandoffSend } from '../../model/handoff-model.js';
import { edgeListHasCycle, findCyclePath } from '../../graph/cycle-path.js';
import { nodeKey, nodeName } from '../../graph/node-keys.js';
import { ChainIndex, chainIndexOf, handoffArrivalMs, handoffStartMs } from '../chains.js';
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

/**
 * Turns a task's loops into findings (round trips under the limit, loops within their allowance
 * left out); `skip` leaves out loops already reported, `onReported` hears each loop's key.
 */
function reportLoops(
  task: string,
  loops: ReadonlyMap<string, LoopTally>,
  options: DependencyCycleOptions,
  findings: Finding[],
  onReported?: (task: string, key: string) => void,
  skip?: ReadonlySet<string>,
): void {
  const maxRoundTrips = options.maxRoundTrips ?? 5;
  for (const [key, loop] of loops) {
    if (loop.kind === 'round-trip' && !loop.rework && loop.laps <= maxRoundTrips) continue;
    const allowed = options.allowedLoops?.find((a) => sameAgents(loop.path, a.agents));
    if (allowed && (allowed.maxLaps === undefined || loop.laps <= allowed.maxLaps)) continue;
    if (skip?.has(key)) continue;
    onReported?.(task, key);
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

/** Reports wait-for deadlocks and circular delegation per task. Pure. */
export function detectDependencyCycles(handoffGraph: HandoffGraph, options: DependencyCycleOptions = {}): DetectorResult {
  return detectInGroup(handoffGraph, options);
}

/** detectDependencyCycles, telling `onLoopReported` the key of each loop it reports. */
function detectInGroup(
  handoffGraph: HandoffGraph,
  options: DependencyCycleOptions,
  onLoopReported?: (task: string, key: string) => void,
): DetectorResult {
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
      reportLoops(task, findLoops(handoffs, chains), options, findings, onLoopReported);
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
  /** Cycles (agents joined by NUL) already reported for this task, kept past its settling. */
  readonly reported: Set<string>;
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
    const key = cycleKey(cycle);
    if (waits.reported.has(key)) continue;
    waits.reported.add(key);
    findings.push(waitCycleFinding(task, cycle, waits.runs));
  }
  return findings;
}

/** The same cycle whichever agent it was entered at: rotated to start at its least name. */
function cycleKey(cycle: readonly string[]): string {
  const ring = cycle.slice(0, -1);
  let start = 0;
  for (let i = 1; i < ring.length; i++) if (ring[i]! < ring[start]!) start = i;
  return [...ring.slice(start), ...ring.slice(0, start)].join('\u0000');
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

/** A task's handoffs kept across trace groups (slim copies, by handoff id), for loops no one group shows. */
interface TaskHandoffs {
  readonly byId: Map<string, Handoff>;
  readonly groups: Set<number>;
  /** Keys of the loops some group already reported for this task. */
  readonly reported: Set<string>;
  lastMs: number;
  /** Handoffs left out past MAX_HANDOFFS_PER_TASK. */
  cut: boolean;
}

/** Handoffs kept per task across groups; the walk over them is n log n, memory is the bound. */
const MAX_HANDOFFS_PER_TASK = 1_000;
/** Handoffs kept across groups in all (slim copies): past it the tasks kept longest are settled early. */
const MAX_KEPT_HANDOFFS = MAX_REMEMBERED;
const LOOP_HANDOFFS_CUT = `tasks with more than ${MAX_HANDOFFS_PER_TASK} handoffs across trace groups: loops across groups checked on the first ${MAX_HANDOFFS_PER_TASK} only`;
const LOOP_TASKS_CUT = `tasks settled early (more than ${MAX_KEPT_HANDOFFS} handoffs kept across trace groups): later hops not checked for loops across groups`;

/**
 * The fields of a handoff the loop walk and its evidence read, so that a task kept across
 * groups holds no envelope facts, acks or links of its hops.
 */
function slimHandoff(handoff: Handoff): Handoff {
  const send = handoff.send;
  const receive = handoff.receives[0];
  const slim: { -readonly [K in keyof Handoff]: Handoff[K] } = {
    id: handoff.id,
    taskId: handoff.taskId,
    source: handoff.source,
    target: handoff.target,
    send: send && ({ traceId: send.traceId, spanId: send.spanId, startMs: send.startMs, endMs: send.endMs, status: send.status } as HandoffSend),
    sendCount: handoff.sendCount,
    receives: receive ? [{ traceId: receive.traceId, spanId: receive.spanId, startMs: receive.startMs, endMs: receive.endMs } as HandoffReceive] : [],
    acks: [],
    kind: handoff.kind,
    dialect: handoff.dialect,
    inferred: handoff.inferred,
  };
  // Set after the others (the key order a spread gave): every framework handoff has a mode, and a
  // spread per handoff kept was the detector's largest cost on framework traces.
  if (handoff.mode !== undefined) slim.mode = handoff.mode;
  return slim;
}

/** One handoff seen in two groups: the earliest send and the earliest receive of both. */
function mergeHandoffs(a: Handoff, b: Handoff): Handoff {
  const send = a.send && b.send ? (b.send.startMs < a.send.startMs ? b.send : a.send) : (a.send ?? b.send);
  const ra = a.receives[0];
  const rb = b.receives[0];
  const receives = ra && rb ? (rb.startMs < ra.startMs ? b.receives : a.receives) : ra ? a.receives : b.receives;
  const merged: Handoff = { ...a, send, receives, sendCount: Math.max(a.sendCount, b.sendCount) };
  return a.mode === undefined && b.mode !== undefined ? { ...merged, mode: b.mode } : merged;
}

/** Start order, then id: the same order whatever order the groups arrived in. */
function compareHandoffs(a: Handoff, b: Handoff): number {
  return handoffStartMs(a) - handoffStartMs(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Loops of a task whose hops are in several trace groups (each hop its own trace, the
 * receiver handing on outside the receive): the task's handoffs walked together, as one
 * group would be. A loop a group already reported is not reported again.
 */
function crossGroupLoopFindings(task: string, kept: TaskHandoffs, options: DependencyCycleOptions, findings: Finding[]): void {
  if (kept.groups.size < 2) return;
  const handoffs = [...kept.byId.values()].sort(compareHandoffs);
  const reported = kept.reported;
  reportLoops(task, findLoops(handoffs, new ChainIndex({ handoffs })), options, findings, (_task, key) => reported.add(key), reported);
}

/**
 * Per group: what detectDependencyCycles reports. Across groups: the runs of each
 * task that declares waits, checked for a wait-for cycle no one group shows once the
 * task has been quiet for an hour of data time, or at the end of the input; and the
 * handoffs of each task with a task id, walked together for loops no one group showed,
 * at the same times.
 */
export function createDependencyCycleRun(options: DependencyCycleOptions = {}): RuleRun {
  const tasks = new Map<string, TaskWaits>();
  const loopTasks = new Map<string, TaskHandoffs>();
  // What was reported for a task already settled: a task that goes quiet for the settling hour and then
  // resumes the same loop or wait must not be reported for it again (bounded like the other seen-sets).
  const settledLoops = new Map<string, Set<string>>();
  const settledWaits = new Map<string, Set<string>>();
  const remember = (settled: Map<string, Set<string>>, task: string, reported: Set<string>): void => {
    if (reported.size === 0) return;
    settled.set(task, reported);
    forgetOldest(settled, MAX_REMEMBERED);
  };
  const recall = (settled: Map<string, Set<string>>, task: string): Set<string> => {
    const reported = settled.get(task);
    if (!reported) return new Set();
    settled.delete(task);
    return reported;
  };
  let groupCount = 0;
  let lastWalkMs = Number.NEGATIVE_INFINITY;
  let pending: Finding[] = [];
  let handoffsCut = 0;
  let tasksCut = 0;
  const settle = (task: string, waits: TaskWaits): void => {
    const found = crossGroupWaitFindings(task, waits);
    for (let i = 0; i < found.length; i++) pending.push(found[i]!);
    remember(settledWaits, task, waits.reported);
  };
  const settleLoops = (task: string, kept: TaskHandoffs): void => {
    keptHandoffs -= kept.byId.size;
    if (kept.cut) handoffsCut++;
    crossGroupLoopFindings(task, kept, options, pending);
    remember(settledLoops, task, kept.reported);
  };
  let keptHandoffs = 0;
  const drain = (): DetectorResult => {
    const findings = pending;
    pending = [];
    const notEvaluated: { count: number; reason: string }[] = [];
    if (handoffsCut > 0) notEvaluated.push({ count: handoffsCut, reason: LOOP_HANDOFFS_CUT });
    if (tasksCut > 0) notEvaluated.push({ count: tasksCut, reason: LOOP_TASKS_CUT });
    handoffsCut = 0;
    tasksCut = 0;
    return { findings, checked: 0, notEvaluated };
  };
  /** Keeps the group's handoffs of each task (with a task id: only a task id joins groups). */
  const keepHandoffs = (handoffGraph: HandoffGraph, group: number, reported: Map<string, string[]> | undefined): void => {
    const handoffs = handoffGraph.model.handoffs;
    for (let i = 0; i < handoffs.length; i++) {
      const handoff = handoffs[i]!;
      const task = handoff.taskId;
      if (task === undefined || (handoff.source === 'unknown' && handoff.target === 'unknown')) continue;
      let kept = loopTasks.get(task);
      if (!kept) {
        loopTasks.set(task, (kept = { byId: new Map(), groups: new Set(), reported: recall(settledLoops, task), lastMs: Number.NEGATIVE_INFINITY, cut: false }));
      }
      kept.groups.add(group);
      const endMs = Math.max(handoffArrivalMs(handoff), handoff.receives[0]?.endMs ?? Number.NEGATIVE_INFINITY);
      if (endMs > kept.lastMs) kept.lastMs = endMs;
      const before = kept.byId.get(handoff.id);
      if (before) {
        // One handoff in two groups (a late span): its sides merged, the earliest of each, whichever came first.
        kept.byId.set(handoff.id, mergeHandoffs(before, slimHandoff(handoff)));
        continue;
      }
      if (kept.byId.size >= MAX_HANDOFFS_PER_TASK) {
        kept.cut = true;
        continue;
      }
      kept.byId.set(handoff.id, slimHandoff(handoff));
      keptHandoffs++;
    }
    if (reported) {
      for (const [task, keys] of reported) {
        const kept = loopTasks.get(task);
        if (kept) for (const key of keys) kept.reported.add(key);
      }
    }
    // Over the budget, the tasks kept longest (insertion order) settle now, the task of this group last.
    for (const [task, kept] of loopTasks) {
      if (keptHandoffs <= MAX_KEPT_HANDOFFS) break;
      tasksCut++;
      settleLoops(task, kept);
      loopTasks.delete(task);
    }
  };
  return {
    group(handoffGraph): DetectorResult {
      let reported: Map<string, string[]> | undefined;
      const result = detectInGroup(handoffGraph, options, (task, key) => {
        reported ??= new Map();
        let keys = reported.get(task);
        if (!keys) reported.set(task, (keys = []));
        keys.push(key);
      });
      const group = groupCount++;
      keepHandoffs(handoffGraph, group, reported);
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
        if (!waits) tasks.set(run.taskId, (waits = { runs: [], groupOf: [], groups: new Set(), reported: recall(settledWaits, run.taskId), lastEndMs: run.endMs }));
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
      for (const [task, kept] of loopTasks) {
        if (kept.lastMs >= before) continue;
        settleLoops(task, kept);
        loopTasks.delete(task);
      }
      return drain();
    },
    finish(): DetectorResult {
      for (const [task, waits] of tasks) settle(task, waits);
      tasks.clear();
      for (const [task, kept] of loopTasks) settleLoops(task, kept);
      loopTasks.clear();
      settledWaits.clear();
      settledLoops.clear();
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
