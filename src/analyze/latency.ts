/**
 * Coordination cost: latency per source → target edge (send → receive, send →
 * ack, validation time; p50/p95/p99/max), and per task the share of wall time
 * spent coordinating versus inside agents, with the critical path.
 */
import type { CriticalPathSegment, EdgeStats, LatencySummary, TaskSummary } from '../model/audit-report.js';
import { forgetOldest } from './bounded.js';
import { handoffEdgesOf } from './build-graph.js';
import { LatencySketch } from './latency-sketch.js';
import type { AgentRunRecord, Handoff, HandoffGraph, HandoffModel, TimedSpan } from '../model/handoff-model.js';
import { chainIndexOf, handoffArrivalMs, handoffStartMs } from './chains.js';
import { spanIndexOfModel, type SpanIndex } from './span-index.js';

/** Relative accuracy of every latency sketch: percentiles are within 1% of the exact nearest-rank value. */
export const LATENCY_RELATIVE_ACCURACY = 0.01;

/** A LatencySketch's summary in the report's shape (milliseconds, signed). */
export function summarizeSketch(sketch: LatencySketch): LatencySummary | null {
  // What sketch.summarize() gives, read directly: one object per summary, not two (one per edge and kind).
  const count = sketch.count;
  if (count === 0) return null;
  return {
    count,
    min: sketch.min,
    p50: sketch.quantile(0.5),
    p95: sketch.quantile(0.95),
    p99: sketch.quantile(0.99),
    max: sketch.max,
    relativeError: sketch.relativeAccuracy,
  };
}

/** A new sketch with the report's accuracy. */
export function newLatencySketch(): LatencySketch {
  return new LatencySketch({ relativeAccuracy: LATENCY_RELATIVE_ACCURACY });
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

interface EdgeAccumulator {
  readonly source: string;
  readonly target: string;
  handoffs: number;
  transfers: number;
  /**
   * Made on an edge's first value of each kind: an edge seen once (a chain of distinct agents has
   * one per hop) would otherwise carry three sketches, most of them empty.
   */
  latency: LatencySketch | undefined;
  ack: LatencySketch | undefined;
  validation: LatencySketch | undefined;
  failures: number;
  retries: number;
  skewed: number;
}

/** A handoff as an edge delta: what one closed group added to one edge. */
export interface EdgeDelta {
  readonly source: string;
  readonly target: string;
  readonly handoffs: number;
  /** Send → receive latencies of the handoffs counted, in milliseconds (signed). */
  readonly latenciesMs: readonly number[];
}

/**
 * Accumulates edge statistics over any number of trace groups, in mergeable
 * sketches (bounded memory, stated relative error), keeping the sign of every
 * latency: a negative one is clock skew, counted per edge, never folded into 0.
 *
 * Each handoff id is counted once. A handoff whose trace context was lost arrives
 * as two groups (its send, its receive); the group with the send counts it, in
 * whatever order they come, and a receive-only handoff counts only if no send of
 * it is seen before it settles, so results do not depend on input order. Ids
 * already counted are forgotten once settled (`settle`), so memory stays bounded.
 */
export class EdgeStatsAccumulator {
  readonly #edges = new Map<string, EdgeAccumulator>();
  /** Handoff ids already counted, with the time they were seen (for forgetting). */
  readonly #counted = new Map<string, number>();
  /** Handoffs counted from a group where no receive of theirs was, by id: a retry in a later group may deliver them. */
  readonly #unreceived = new Map<string, number>();
  /** Receive-only handoffs, by id, waiting to learn whether a send of theirs turns up. */
  readonly #receiveOnly = new Map<string, { readonly source: string; readonly target: string; readonly handoff: Handoff; readonly atMs: number }>();

  /** Adds one closed group's handoffs; returns what each edge gained when `deltas` is asked for (else []). */
  add(handoffGraph: HandoffGraph, deltas = false): EdgeDelta[] {
    const out: EdgeDelta[] = [];
    const edges = handoffEdgesOf(handoffGraph);
    for (let e = 0; e < edges.length; e++) {
      const { source, target, handoffs } = edges[e]!;
      let counted = 0;
      const latencies: number[] | undefined = deltas ? [] : undefined;
      for (let i = 0; i < handoffs.length; i++) {
        const h = handoffs[i]!;
        const atMs = h.send?.startMs ?? h.receives[0]?.startMs ?? 0;
        if (h.id.startsWith('span:') || h.kind === 'transfer') {
          counted++;
          this.#count(source, target, h, latencies);
        } else if (h.send) {
          if (this.#counted.has(h.id)) {
            // First counted from a group that never saw it received (an attempt lost on the way), delivered by a
            // retry in this one (its own trace): its latency and retry now, as when the retry's group comes first.
            if (h.receives.length > 0 && this.#unreceived.delete(h.id)) this.#count(source, target, h, latencies, false);
            continue;
          }
          this.#counted.set(h.id, atMs);
          this.#receiveOnly.delete(h.id);
          counted++;
          this.#count(source, target, h, latencies);
          if (h.receives.length === 0) this.#unreceived.set(h.id, atMs);
        } else if (!this.#counted.has(h.id)) {
          const held = this.#receiveOnly.get(h.id);
          // Of several receive-only sightings, the earliest stands in: deterministic whatever the order.
          if (!held || atMs < held.atMs) this.#receiveOnly.set(h.id, { source, target, handoff: h, atMs });
        }
      }
      if (latencies && (counted > 0 || latencies.length > 0)) out.push({ source, target, handoffs: counted, latenciesMs: latencies });
    }
    forgetOldest(this.#counted);
    forgetOldest(this.#unreceived);
    // A receive-only handoff forgotten early counts now: its send is unlikely to come this late.
    forgetOldest(this.#receiveOnly, undefined, (id, held) => {
      this.#count(held.source, held.target, held.handoff, undefined);
    });
    return out;
  }

  /** Counts a handoff that was never acknowledged within its budget as a failure of its edge. */
  addFailure(source: string, target: string): void {
    const acc = this.#edges.get(`${source}\u0000${target}`);
    if (acc) acc.failures++;
  }

  #edge(source: string, target: string): EdgeAccumulator {
    const key = `${source}\u0000${target}`;
    let acc = this.#edges.get(key);
    if (!acc) {
      acc = {
        source,
        target,
        handoffs: 0,
        transfers: 0,
        latency: undefined,
        ack: undefined,
        validation: undefined,
        failures: 0,
        retries: 0,
        skewed: 0,
      };
      this.#edges.set(key, acc);
    }
    return acc;
  }

  /** Adds a handoff's facts to its edge; `another` false: a later sighting of one already counted (no second handoff). */
  #count(source: string, target: string, h: Handoff, latencies: number[] | undefined, another = true): void {
    const acc = this.#edge(source, target);
    if (another) acc.handoffs++;
    if (another && h.kind === 'transfer') acc.transfers++;
    const send = h.send;
    const receive = h.receives[0];
    let skewed = false;
    if (send && receive) {
      const latency = receive.startMs - send.startMs;
      (acc.latency ??= newLatencySketch()).add(latency);
      latencies?.push(latency);
      if (latency < 0) skewed = true;
    }
    const ack = h.acks[0];
    if (ack && (ack.delayMs !== undefined || send)) {
      const delay = ack.delayMs ?? ack.atMs - send!.startMs;
      (acc.ack ??= newLatencySketch()).add(delay);
      if (delay < 0) skewed = true;
    }
    if (skewed) acc.skewed++;
    const v = (send?.validation?.durationMs ?? 0) + (receive?.validation?.durationMs ?? 0);
    if (send?.validation?.durationMs !== undefined || receive?.validation?.durationMs !== undefined) (acc.validation ??= newLatencySketch()).add(v);
    let invalid = send?.validation !== undefined && send.validation.result !== 'valid';
    for (let i = 0; !invalid && i < h.receives.length; i++) {
      const r = h.receives[i]!;
      invalid = r.validation !== undefined && r.validation.result !== 'valid';
    }
    const budget = send?.timeoutBudgetMs;
    const delay = ack?.delayMs ?? (ack && send ? ack.atMs - send.startMs : undefined);
    const late = ack?.withinBudget === false || (budget !== undefined && ack?.withinBudget === undefined && delay !== undefined && delay > budget);
    if (invalid || late) acc.failures++;
    if ((send?.attempt ?? 1) > 1 || h.sendCount > 1 || h.receives.length > 1) acc.retries++;
  }

  /**
   * Receive-only handoffs seen before `beforeMs` count now (their send did not
   * turn up), and counted ids older than that are forgotten.
   */
  settle(beforeMs: number): void {
    for (const [id, held] of this.#receiveOnly) {
      if (held.atMs >= beforeMs) continue;
      this.#receiveOnly.delete(id);
      this.#counted.set(id, held.atMs);
      this.#count(held.source, held.target, held.handoff, undefined);
    }
    for (const [id, atMs] of this.#counted) if (atMs < beforeMs) this.#counted.delete(id);
    for (const [id, atMs] of this.#unreceived) if (atMs < beforeMs) this.#unreceived.delete(id);
  }

  /**
   * Edge statistics so far, sorted by source then target. `final` first counts
   * every receive-only handoff still held; otherwise (a snapshot) they wait, unchanged.
   */
  summarize(final = false): EdgeStats[] {
    if (final) this.settle(Number.POSITIVE_INFINITY);
    const out: EdgeStats[] = [];
    // forEach, not an iterator: with an edge per hop of a long chain this walks many, once.
    this.#edges.forEach((acc) => {
      out.push({
        source: acc.source,
        target: acc.target,
        handoffs: acc.handoffs,
        latencyMs: acc.latency ? summarizeSketch(acc.latency) : null,
        ackLatencyMs: acc.ack ? summarizeSketch(acc.ack) : null,
        validationMs: acc.validation ? summarizeSketch(acc.validation) : null,
        failures: acc.failures,
        retries: acc.retries,
        transfers: acc.transfers,
        skewedSamples: acc.skewed,
      });
    });
    return out.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }
}

const COORDINATION_ROLES: ReadonlySet<string> = new Set(['send', 'receive', 'ack', 'transfer', 'state-read', 'state-write', 'publish', 'consume']);

/** The union of [start, end) intervals, as sorted disjoint intervals. Sorts its argument. */
function mergeIntervals(intervals: [number, number][]): [number, number][] {
  intervals.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  // Indexed loops here and below: for one large trace group these run once, before V8 optimizes
  // them, and an iterator there allocates a result object per element.
  for (let i = 0; i < intervals.length; i++) {
    const s = intervals[i]![0];
    const e = intervals[i]![1];
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) {
      if (e > last[1]) last[1] = e;
    } else if (e > s) merged.push([s, e]);
  }
  return merged;
}

/** Pushes the parts of [start, end] outside the sorted disjoint intervals `minus` onto `out`. */
function pushDifference(out: [number, number][], start: number, end: number, minus: readonly [number, number][]): void {
  let from = start;
  for (let i = 0; i < minus.length && from < end; i++) {
    const [s, e] = minus[i]!;
    if (e <= from) continue;
    if (s >= end) break;
    if (s > from) out.push([from, s]);
    if (e > from) from = e;
  }
  if (from < end) out.push([from, end]);
}

/** Total length of sorted disjoint intervals. */
function lengthOf(merged: readonly [number, number][]): number {
  let total = 0;
  for (let i = 0; i < merged.length; i++) total += merged[i]![1] - merged[i]![0];
  return total;
}

/**
 * The critical path through the handoff chain that arrives last: each agent's
 * working time between receiving and handing off, and each handoff's latency
 * (send start to receive start). The founding document's point: the hops
 * between agents are on this path as much as the agents are.
 */
export function criticalPath(model: HandoffModel): CriticalPathSegment[] {
  const index = chainIndexOf(model);
  let chain: Handoff[] | undefined;
  for (const candidate of index.chains()) {
    const last = candidate[candidate.length - 1]!;
    if (!chain || handoffArrivalMs(last) > handoffArrivalMs(chain[chain.length - 1]!)) chain = candidate;
  }
  if (!chain || chain.length === 0) return [];
  // Runs per agent in start order: the run holding a moment is the latest-started one still going.
  const runsByAgent = new Map<string, AgentRunRecord[]>();
  const agentRuns = model.agentRuns;
  for (let i = 0; i < agentRuns.length; i++) {
    const run = agentRuns[i]!;
    let list = runsByAgent.get(run.agent);
    if (!list) runsByAgent.set(run.agent, (list = []));
    list.push(run);
  }
  const runOf = (agent: string, atMs: number): AgentRunRecord | undefined => {
    const runs = runsByAgent.get(agent);
    if (!runs) return undefined;
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (runs[mid]!.startMs <= atMs) lo = mid + 1;
      else hi = mid;
    }
    // Nested or overlapping runs of one agent are few: a short walk back finds the enclosing one.
    for (let i = lo - 1, steps = 0; i >= 0 && steps < 64; i--, steps++) if (runs[i]!.endMs >= atMs) return runs[i];
    return undefined;
  };
  const segments: CriticalPathSegment[] = [];
  const push = (label: string, kind: CriticalPathSegment['kind'], ms: number) => {
    if (ms > 0) segments.push({ label, kind, ms });
  };
  const first = chain[0]!;
  const firstStart = handoffStartMs(first);
  push(first.source, 'agent', firstStart - (runOf(first.source, firstStart)?.startMs ?? firstStart));
  for (let i = 0; i < chain.length; i++) {
    const hop = chain[i]!;
    const arrived = handoffArrivalMs(hop);
    push(`${hop.source} → ${hop.target}`, 'coordination', arrived - handoffStartMs(hop));
    const next = chain[i + 1];
    const until = next ? handoffStartMs(next) : (runOf(hop.target, arrived)?.endMs ?? latestRunEnd(model, hop.target, arrived));
    push(hop.target, 'agent', until - arrived);
  }
  return elideMiddle(segments);
}

/** Segments kept at each end of a long critical path; the middle is summed into one, so a 10k-lap loop stays a short list. */
const CRITICAL_PATH_ENDS = 20;

function elideMiddle(segments: CriticalPathSegment[]): CriticalPathSegment[] {
  if (segments.length <= 2 * CRITICAL_PATH_ENDS + 1) return segments;
  const middle = segments.slice(CRITICAL_PATH_ENDS, segments.length - CRITICAL_PATH_ENDS);
  let ms = 0;
  for (const segment of middle) ms += segment.ms;
  return [
    ...segments.slice(0, CRITICAL_PATH_ENDS),
    { label: `… ${middle.length} more segments …`, kind: 'other', ms },
    ...segments.slice(segments.length - CRITICAL_PATH_ENDS),
  ];
}

function latestRunEnd(model: HandoffModel, agent: string, afterMs: number): number {
  let end = afterMs;
  const runs = model.agentRuns;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    if (run.agent === agent && run.startMs >= afterMs && run.endMs > end) end = run.endMs;
  }
  return end;
}

/**
 * The model's timed spans by id (the last of several copies, as a map filled in span order
 * keeps): through the span index the model was assembled with when its ids are unique, else a
 * map built here.
 */
class TimedSpansById {
  readonly #spans: readonly TimedSpan[];
  readonly #index: SpanIndex | undefined;
  readonly #byId: Map<string, TimedSpan> | undefined;
  /** Distinct span ids. */
  readonly size: number;

  constructor(model: HandoffModel) {
    const spans = model.spans;
    this.#spans = spans;
    const index = spanIndexOfModel(model);
    if (index !== undefined && index.unique && index.size === spans.length) {
      this.#index = index;
      this.size = spans.length;
    } else {
      const byId = new Map<string, TimedSpan>();
      for (let i = 0; i < spans.length; i++) byId.set(spans[i]!.spanId, spans[i]!);
      this.#byId = byId;
      this.size = byId.size;
    }
  }

  get(spanId: string): TimedSpan | undefined {
    if (this.#byId !== undefined) return this.#byId.get(spanId);
    const at = this.#index!.positionOf(spanId);
    return at === -1 ? undefined : this.#spans[at];
  }
}

/**
 * Where one trace group's wall time went. Agent time is the union of leaf agent
 * runs (runs that contain no other run: an orchestrator wrapping everything is
 * not agent work) less the coordination spans inside them; the rest is coordination.
 * `withCriticalPath: false` leaves `criticalPath` empty.
 */
export function summarizeTask(
  model: HandoffModel,
  withCriticalPath = true,
  /** Told the task id of every agent run no other run of the group encloses: the tasks the group holds. */
  onTaskId?: (taskId: string) => void,
): TaskSummary | null {
  const spans = model.spans;
  if (spans.length === 0) return null;
  const byId = new TimedSpansById(model);
  let root: TimedSpan | undefined;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    if (span.parentSpanId && byId.get(span.parentSpanId) !== undefined) continue;
    if (!root || span.endMs - span.startMs > root.endMs - root.startMs) root = span;
  }
  if (!root) return null;
  const runIds = new Set(model.agentRuns.map((r) => r.spanId));
  // The agent run a span belongs to: the nearest run above it, not crossing a receive
  // (past a receive the chain continues in another agent, as in another process).
  // Memoized along each walked path, and bounded by the span count, so parent cycles and
  // million-deep chains cost O(spans) in all.
  const ownerOf = new Map<string, string | undefined>();
  const ownerRun = (span: TimedSpan): string | undefined => {
    const path: string[] = [];
    let found: string | undefined;
    let steps = byId.size + 1;
    for (let id = span.parentSpanId; id && steps-- > 0; ) {
      if (ownerOf.has(id)) {
        found = ownerOf.get(id);
        break;
      }
      if (runIds.has(id)) {
        found = id;
        break;
      }
      const parent = byId.get(id);
      if (!parent || parent.role === 'receive' || parent.role === 'consume') break;
      path.push(id);
      id = parent.parentSpanId;
    }
    for (let i = 0; i < path.length; i++) ownerOf.set(path[i]!, found);
    return found;
  };
  const orchestrators = new Set<string>();
  const agentRuns = model.agentRuns;
  for (let i = 0; i < agentRuns.length; i++) {
    const span = byId.get(agentRuns[i]!.spanId);
    const owner = span ? ownerRun(span) : undefined;
    if (owner) orchestrators.add(owner);
    else if (onTaskId !== undefined && agentRuns[i]!.taskId) onTaskId(agentRuns[i]!.taskId!);
  }
  // Coordination spans by the leaf run that owns them: a run is busy with its own work except while
  // it sends, waits on an ack, reads state or publishes. Only the owner's time comes off: a consume
  // or receive that another agent's run works inside (a stream bus's handler, an in-process
  // receive) is coordination for the run that owns it, not for the run inside it, and a concurrent
  // agent working while another sends is working all the same. A receive is owned by the sender's
  // run (it hangs under the send) yet runs after that run has ended: only what falls inside counts.
  const owned = new Map<string, [number, number][]>();
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    if (!COORDINATION_ROLES.has(span.role)) continue;
    const owner = ownerRun(span);
    if (owner === undefined || orchestrators.has(owner)) continue;
    let list = owned.get(owner);
    if (list === undefined) owned.set(owner, (list = []));
    list.push([span.startMs, span.endMs]);
  }
  const busy: [number, number][] = [];
  for (let i = 0; i < agentRuns.length; i++) {
    const run = agentRuns[i]!;
    if (orchestrators.has(run.spanId)) continue;
    const own = owned.get(run.spanId);
    if (own === undefined) busy.push([run.startMs, run.endMs]);
    else pushDifference(busy, run.startMs, run.endMs, mergeIntervals(own));
  }
  const wallMs = model.horizon.endMs - model.horizon.startMs;
  const agentMs = lengthOf(mergeIntervals(busy));
  const coordinationMs = Math.max(0, wallMs - agentMs);
  const counts = new Map<string, number>();
  for (let i = 0; i < agentRuns.length; i++) {
    const taskId = agentRuns[i]!.taskId;
    if (taskId) counts.set(taskId, (counts.get(taskId) ?? 0) + 1);
  }
  const handoffs = model.handoffs;
  for (let i = 0; i < handoffs.length; i++) {
    const taskId = handoffs[i]!.taskId;
    if (taskId) counts.set(taskId, (counts.get(taskId) ?? 0) + 1);
  }
  let taskId: string | null = null;
  let best = 0;
  for (const [id, n] of counts) if (n > best) [taskId, best] = [id, n];
  return {
    taskId,
    traceId: root.traceId,
    wallMs,
    agentMs,
    coordinationMs,
    coordinationShare: wallMs > 0 ? coordinationMs / wallMs : 0,
    // Left empty when asked: the Auditor keeps only the slowest tasks' paths and adds theirs (criticalPath).
    criticalPath: withCriticalPath ? criticalPath(model) : [],
  };
}
