/**
 * Coordination cost: latency per source → target edge (send → receive, send →
 * ack, validation time; p50/p95/p99/max), and per task the share of wall time
 * spent coordinating versus inside agents, with the critical path.
 */
import type { CriticalPathSegment, EdgeStats, LatencySummary, TaskSummary } from '../model/audit-report.js';
import type { AgentRunRecord, Handoff, HandoffGraph, HandoffModel, TimedSpan } from '../model/handoff-model.js';
import { ChainIndex, handoffArrivalMs, handoffStartMs } from './chains.js';

/** A growable Float64Array: one number per sample, no per-sample objects. */
export class SampleBuffer {
  #data = new Float64Array(16);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  /** Nearest-rank percentiles over the samples so far; null when empty. */
  summarize(): LatencySummary | null {
    if (this.#length === 0) return null;
    const sorted = this.#data.slice(0, this.#length).sort();
    return {
      count: this.#length,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1]!,
    };
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

interface EdgeAccumulator {
  source: string;
  target: string;
  handoffs: number;
  latency: SampleBuffer;
  ack: SampleBuffer;
  validation: SampleBuffer;
  failures: number;
  retries: number;
}

/**
 * Accumulates edge statistics over any number of trace groups.
 *
 * Each handoff id is counted once. A handoff whose trace context was lost arrives
 * as two groups (its send, its receive); the group with the send counts it, in
 * whatever order they come, and a receive-only handoff counts only if no send of
 * it is ever seen (held until `summarize`), so results do not depend on input order.
 */
export class EdgeStatsAccumulator {
  readonly #edges = new Map<string, EdgeAccumulator>();
  /** Handoff ids already counted (about 100 bytes each: 10 MB per 100 000 handoffs). */
  readonly #counted = new Set<string>();
  /** Receive-only handoffs, by id, waiting to learn whether a send of theirs turns up. */
  readonly #receiveOnly = new Map<string, { readonly source: string; readonly target: string; readonly handoff: Handoff }>();

  add(handoffGraph: HandoffGraph): void {
    const { graph } = handoffGraph;
    graph.forEachEdge((_edge, attributes, source, target) => {
      const handoffs = attributes.handoffs;
      for (let i = 0; i < handoffs.length; i++) {
        const h = handoffs[i]!;
        if (h.id.startsWith('span:')) {
          this.#count(source, target, h);
        } else if (h.send) {
          if (this.#counted.has(h.id)) continue;
          this.#counted.add(h.id);
          this.#receiveOnly.delete(h.id);
          this.#count(source, target, h);
        } else if (!this.#counted.has(h.id)) {
          const held = this.#receiveOnly.get(h.id);
          // Of several receive-only sightings, the earliest stands in: deterministic whatever the order.
          if (!held || (h.receives[0]?.startMs ?? 0) < (held.handoff.receives[0]?.startMs ?? 0)) {
            this.#receiveOnly.set(h.id, { source, target, handoff: h });
          }
        }
      }
    });
  }

  #count(source: string, target: string, h: Handoff): void {
    const key = `${source}\u0000${target}`;
    let acc = this.#edges.get(key);
    if (!acc) {
      acc = {
        source,
        target,
        handoffs: 0,
        latency: new SampleBuffer(),
        ack: new SampleBuffer(),
        validation: new SampleBuffer(),
        failures: 0,
        retries: 0,
      };
      this.#edges.set(key, acc);
    }
    acc.handoffs++;
    const send = h.send;
    const receive = h.receives[0];
    if (send && receive) acc.latency.push(Math.max(0, receive.startMs - send.startMs));
    const ack = h.acks[0];
    if (ack && (ack.delayMs !== undefined || send)) acc.ack.push(ack.delayMs ?? Math.max(0, ack.atMs - send!.startMs));
    const v = (send?.validation?.durationMs ?? 0) + (receive?.validation?.durationMs ?? 0);
    if (send?.validation?.durationMs !== undefined || receive?.validation?.durationMs !== undefined) acc.validation.push(v);
    const invalid =
      (send?.validation !== undefined && send.validation.result !== 'valid') ||
      h.receives.some((r) => r.validation !== undefined && r.validation.result !== 'valid');
    const budget = send?.timeoutBudgetMs;
    const late = ack?.withinBudget === false || (budget !== undefined && ack?.delayMs !== undefined && ack.delayMs > budget);
    if (invalid || late) acc.failures++;
    if ((send?.attempt ?? 1) > 1 || h.sendCount > 1 || h.receives.length > 1) acc.retries++;
  }

  /** Edge statistics, sorted by source then target. */
  summarize(): EdgeStats[] {
    // Receive-only handoffs whose send never turned up count now.
    for (const [id, { source, target, handoff }] of this.#receiveOnly) {
      this.#counted.add(id);
      this.#count(source, target, handoff);
    }
    this.#receiveOnly.clear();
    const out: EdgeStats[] = [];
    for (const acc of this.#edges.values()) {
      out.push({
        source: acc.source,
        target: acc.target,
        handoffs: acc.handoffs,
        latencyMs: acc.latency.summarize(),
        ackLatencyMs: acc.ack.summarize(),
        validationMs: acc.validation.summarize(),
        failures: acc.failures,
        retries: acc.retries,
      });
    }
    return out.sort((a, b) => a.source.localeCompare(b.source) || a.target.localeCompare(b.target));
  }
}

const COORDINATION_ROLES: ReadonlySet<string> = new Set(['send', 'receive', 'ack', 'transfer', 'state-read', 'state-write', 'publish', 'consume']);

/** Total length of the union of [start, end) intervals. Sorts its argument. */
function unionLength(intervals: [number, number][]): number {
  intervals.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = Number.NEGATIVE_INFINITY;
  let curEnd = Number.NEGATIVE_INFINITY;
  for (const [s, e] of intervals) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) {
      curEnd = e;
    }
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/**
 * The critical path through the handoff chain that arrives last: each agent's
 * working time between receiving and handing off, and each handoff's latency
 * (send start to receive start). The founding document's point: the hops
 * between agents are on this path as much as the agents are.
 */
export function criticalPath(model: HandoffModel): CriticalPathSegment[] {
  const index = new ChainIndex(model);
  let chain: Handoff[] | undefined;
  for (const candidate of index.chains(model)) {
    const last = candidate[candidate.length - 1]!;
    if (!chain || handoffArrivalMs(last) > handoffArrivalMs(chain[chain.length - 1]!)) chain = candidate;
  }
  if (!chain || chain.length === 0) return [];
  const runOf = (agent: string, atMs: number): AgentRunRecord | undefined => {
    let found: AgentRunRecord | undefined;
    for (const run of model.agentRuns) if (run.agent === agent && run.startMs <= atMs && run.endMs >= atMs) found = run;
    return found;
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
  return segments;
}

function latestRunEnd(model: HandoffModel, agent: string, afterMs: number): number {
  let end = afterMs;
  for (const run of model.agentRuns) if (run.agent === agent && run.startMs >= afterMs && run.endMs > end) end = run.endMs;
  return end;
}

/**
 * Where one trace group's wall time went. Agent time is the union of leaf agent
 * runs (runs that contain no other run: an orchestrator wrapping everything is
 * not agent work) less the coordination spans inside them; the rest is coordination.
 */
export function summarizeTask(model: HandoffModel): TaskSummary | null {
  if (model.spans.length === 0) return null;
  const byId = new Map<string, TimedSpan>();
  for (const span of model.spans) byId.set(span.spanId, span);
  let root: TimedSpan | undefined;
  for (const span of model.spans) {
    if (span.parentSpanId && byId.has(span.parentSpanId)) continue;
    if (!root || span.endMs - span.startMs > root.endMs - root.startMs) root = span;
  }
  if (!root) return null;
  const runIds = new Set(model.agentRuns.map((r) => r.spanId));
  // The agent run a span belongs to: the nearest run above it, not crossing a receive
  // (past a receive the chain continues in another agent, as in another process).
  const ownerRun = (span: TimedSpan): string | undefined => {
    for (let id = span.parentSpanId; id; ) {
      if (runIds.has(id)) return id;
      const parent = byId.get(id);
      if (!parent || parent.role === 'receive' || parent.role === 'consume') return undefined;
      id = parent.parentSpanId;
    }
    return undefined;
  };
  const orchestrators = new Set<string>();
  for (const run of model.agentRuns) {
    const span = byId.get(run.spanId);
    const owner = span ? ownerRun(span) : undefined;
    if (owner) orchestrators.add(owner);
  }
  const leafRuns: [number, number][] = [];
  for (const run of model.agentRuns) if (!orchestrators.has(run.spanId)) leafRuns.push([run.startMs, run.endMs]);
  const inside: [number, number][] = [];
  for (const span of model.spans) {
    if (!COORDINATION_ROLES.has(span.role)) continue;
    const owner = ownerRun(span);
    if (owner && !orchestrators.has(owner)) inside.push([span.startMs, span.endMs]);
  }
  const wallMs = model.horizon.endMs - model.horizon.startMs;
  const agentMs = Math.max(0, unionLength(leafRuns) - unionLength(inside));
  const coordinationMs = Math.max(0, wallMs - agentMs);
  const counts = new Map<string, number>();
  for (const run of model.agentRuns) if (run.taskId) counts.set(run.taskId, (counts.get(run.taskId) ?? 0) + 1);
  for (const h of model.handoffs) if (h.taskId) counts.set(h.taskId, (counts.get(h.taskId) ?? 0) + 1);
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
    criticalPath: criticalPath(model),
  };
}
