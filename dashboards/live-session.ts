/**
 * The live session behind `baton watch`: spans in (from the OTLP receivers, a
 * followed file or a replay), the streaming Auditor driven by a clock, and the
 * view the dashboard draws.
 *
 * Receivers never wait on analysis: each request's spans go to a bounded queue
 * and the reply goes out at once; the queue is drained in short slices so the
 * event loop keeps serving sockets and drawing frames. When the queue is full
 * the receivers answer "busy, retry later" (429 / RESOURCE_EXHAUSTED) and the
 * spans are counted as throttled: the exporter sends them again. Every span is
 * counted exactly once as accepted, rejected or throttled; of the accepted, those
 * that arrive after the retention window are counted as aged out instead of
 * being analyzed, so nothing is ever dropped silently.
 *
 * Groups close as soon as their evidence is complete: once a trace's root has
 * arrived and no parent is missing, `settleMs` after its last span ended (time
 * for exporters still holding spans in a batch); an incomplete group waits
 * `idleMs`. Time-settled findings ("never acknowledged") appear when the clock
 * passes the budget. Memory stays bounded: the Auditor keeps only aggregates
 * and forgets closed traces after `retentionMs`, and every list here is capped.
 */
import { Auditor, type AuditOptions, type AuditUpdate } from '../src/analyze/audit.js';
import type { AuditReport } from '../src/model/audit-report.js';
import {
  BATON_HANDOFF_ID,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_AGENT_OUTCOME,
  BATON_OPERATION,
  BATON_TASK_ID,
  BatonOperation,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
} from '../src/model/attributes.js';
import type { Finding } from '../src/model/finding.js';
import { formatMs } from '../src/report/format.js';
import type { SpanRecord } from '../src/model/span-record.js';
import type { IntakeResult, RequestOrigin, SpanIntake } from '../src/receiver/intake.js';
import type { LiveCounters } from '../src/receiver/prometheus-metrics.js';
import type { AgentRow, AgentState, EdgeRow, FindingRow, LiveMode, LiveView, RecentHandoff } from './view-model.js';

/** Options of {@link LiveSession}. */
export interface LiveSessionOptions {
  readonly mode: LiveMode;
  /** The command the header names (`baton demo`); default `baton watch`. */
  readonly title?: string;
  /** What the header names as the sources (receiver URLs, file names). */
  readonly sources?: readonly string[];
  /** The clock: wall time by default; a replay passes its replayed time. */
  readonly clock?: () => number;
  /** Rules, dialect and finding cap of the Auditor. */
  readonly audit?: Pick<AuditOptions, 'rules' | 'only' | 'dialect' | 'maxFindings'>;
  /** A complete-looking group closes this long after its last span ended. Default 6 000 (exporters batch spans for up to 5 s). */
  readonly settleMs?: number;
  /** An incomplete group closes after this long with nothing new. Default 60 000. */
  readonly idleMs?: number;
  /** How long closed traces are remembered to join late spans; older spans are aged out. Default 3 600 000 (1 h). */
  readonly retentionMs?: number;
  /** Spans queued for analysis before receivers answer "busy". Default 200 000. */
  readonly maxQueuedSpans?: number;
  /** An agent with a span this recent, in a trace not yet analyzed, is working. Default 10 000. */
  readonly activeMs?: number;
  /** Longest analysis slice before yielding to the event loop. Default 12 ms. */
  readonly sliceMs?: number;
  /**
   * Analyze each batch as it is offered, on the caller's stack (a slice at most; the rest in later
   * turns), instead of in a later turn. For a caller whose own queue is the backlog: the analysis
   * worker, whose bodies wait encoded in its message port. Queued in a later turn, every body was
   * decoded as it arrived, ahead of the analysis: the queue filled with decoded spans that V8 then
   * promoted (garbage collection was a quarter of the thread), and once full it refused bodies
   * already decoded. Default false: receivers on this thread answer before any analysis.
   */
  readonly analyzeOnOffer?: boolean;
  /** Called with every accepted batch (the --record writer). */
  readonly onAccepted?: (spans: readonly SpanRecord[]) => void;
  /** Called with each result of the analysis as it becomes known (the --metrics-port instruments). */
  readonly onAnalysis?: (update: AuditUpdate) => void;
}

/** The span and trace counters of the header (declared by the metrics endpoint, which reads them at each scrape). */
export type { LiveCounters };

/** Edge statistics kept here besides the Auditor's sketches: what the detail view and rate need. */
interface EdgeActivity {
  readonly latencies: number[];
  readonly handoffs: RecentHandoff[];
  /** Clock times of recent handoffs (for the per-minute rate), oldest first. */
  readonly times: number[];
}

interface AgentActivity {
  lastSeenMs: number;
  /** The trace of its latest span: the agent is at work while that trace is still open. */
  traceId: string;
  task: string | null;
  failed: boolean;
}

interface Sent {
  readonly source: string;
  readonly target: string;
  readonly sentMs: number;
}

const RECENT_LATENCIES = 120;
const RECENT_HANDOFFS = 12;
const RECENT_TIMES = 2_000;
const MAX_FINDING_ROWS = 500;
const MAX_IN_FLIGHT = 20_000;
const MAX_AGENTS = 2_000;
const RATE_WINDOW_S = 5;

/** Spans in, a LiveView out. Implements the receivers' intake. */
export class LiveSession implements SpanIntake {
  readonly #options: LiveSessionOptions;
  readonly #clock: () => number;
  readonly #auditor: Auditor;
  readonly #queue: SpanRecord[][] = [];
  #queued = 0;
  #draining = false;
  #closing = false;
  #finalReport: AuditReport | undefined;
  readonly #listeners = new Set<() => void>();
  #version = 0;
  #accepted = 0;
  #rejected = 0;
  #throttled = 0;
  #agedOut = 0;
  #badRequests = 0;
  #notice: string | null = null;
  #agedOutSaid = false;
  /** Accepted spans per clock second, for the rate: second → count. */
  readonly #perSecond = new Map<number, number>();
  readonly #openTraces = new Set<string>();
  #tracesAnalyzed = 0;
  readonly #edges = new Map<string, EdgeActivity>();
  readonly #agents = new Map<string, AgentActivity>();
  readonly #inFlight = new Map<string, Sent>();
  /** Handoff ids received (data time), so a send whose span arrives after its receive is not counted in flight. */
  readonly #received = new Map<string, number>();
  readonly #findings: FindingRow[] = [];
  #findingsTotal = 0;
  #findingId = 0;
  #recording: { path: string; spans: number } | null = null;
  #tickTimer: NodeJS.Timeout | undefined;
  /** Spans given to the Auditor since it last moved to the clock. */
  #sinceAdvance = 0;

  constructor(options: LiveSessionOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#auditor = new Auditor({
      ...options.audit,
      idleMs: options.idleMs ?? 60_000,
      completeIdleMs: options.settleMs ?? 6_000,
      // Live, every group that looks complete closes after settleMs: findings as soon as the evidence is in.
      softOpenSpans: 0,
      retentionMs: options.retentionMs ?? 3_600_000,
      maxFindings: options.audit?.maxFindings ?? 2_000,
      onUpdate: (update) => this.#onUpdate(update),
    });
  }

  // ---- intake --------------------------------------------------------------------------------

  offer(spans: SpanRecord[], _origin: RequestOrigin): IntakeResult {
    if (this.#closing) {
      this.#throttled += spans.length;
      return { status: 'unavailable', retryAfterMs: 5_000 };
    }
    // An empty queue takes any batch: one larger than the queue must not be refused for ever.
    if (this.#queued > 0 && this.#queued + spans.length > this.#maxQueued()) {
      this.#throttled += spans.length;
      // About how long the queue takes to drain at the recent rate; at least a second.
      const rate = Math.max(1, this.#rate());
      return { status: 'busy', retryAfterMs: Math.min(30_000, Math.max(1_000, Math.ceil((this.#queued / rate) * 1000))) };
    }
    this.#enqueue(spans);
    return { status: 'accepted', rejected: 0 };
  }

  spansRefused(count: number, reason: string): void {
    this.#rejected += count;
    this.#notice = `refused ${count} span${count === 1 ? '' : 's'}: ${reason}`;
    this.#changed();
  }

  requestRefused(reason: string): void {
    this.#badRequests++;
    this.#notice = reason;
    this.#changed();
  }

  /** For file sources: waits while the queue is full (they can wait; exporters cannot), then queues. */
  async push(spans: SpanRecord[]): Promise<void> {
    while (this.#queued > 0 && this.#queued + spans.length > this.#maxQueued()) {
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
    }
    this.#enqueue(spans);
  }

  /** Counts spans a file source could not read (a bad line), with why. */
  addRejected(count: number, reason: string): void {
    this.spansRefused(count, reason);
  }

  /** Names the --record file; `recorded` is called for each batch written. */
  setRecording(path: string): void {
    this.#recording = { path, spans: 0 };
  }

  recorded(spans: number): void {
    if (this.#recording) this.#recording.spans += spans;
  }

  /** Shows a one-line problem in the header (and the plain output). */
  notify(notice: string): void {
    this.#notice = notice;
    this.#changed();
  }

  #maxQueued(): number {
    return this.#options.maxQueuedSpans ?? 200_000;
  }

  #enqueue(spans: SpanRecord[]): void {
    if (spans.length === 0) return;
    this.#accepted += spans.length;
    const second = Math.floor(this.#clock() / 1000);
    this.#perSecond.set(second, (this.#perSecond.get(second) ?? 0) + spans.length);
    this.#queue.push(spans);
    this.#queued += spans.length;
    this.#options.onAccepted?.(spans);
    if (!this.#draining) {
      this.#draining = true;
      if (this.#options.analyzeOnOffer) this.#drain();
      else setImmediate(() => this.#drain());
    }
  }

  /** Analyzes queued batches for at most sliceMs, then yields to the event loop. */
  #drain(): void {
    const until = performance.now() + (this.#options.sliceMs ?? 12);
    while (this.#queue.length > 0 && performance.now() < until) this.#process(this.#queue.shift()!);
    if (this.#queue.length > 0) {
      setImmediate(() => this.#drain());
      return;
    }
    this.#draining = false;
    // Groups that settled close as soon as the queue is empty, not at the next tick: their spans are
    // then garbage before V8's young generation copies them again (at 20k spans/s, waiting for the
    // tick or the Auditor's own 4096-span sweep kept thousands alive through every scavenge, and GC
    // was a fifth of the monitor's CPU, a twentieth of a bare decoding server's). A sweep visits
    // every open trace, so it waits until an eighth as many spans as traces are open have come:
    // each span pays for at most eight visits.
    if (this.#sinceAdvance >= this.#openTraces.size >> 3) this.#advance();
    this.#changed();
  }

  #advance(): void {
    this.#sinceAdvance = 0;
    this.#auditor.advance(this.#clock());
  }

  #process(batch: SpanRecord[]): void {
    this.#queued -= batch.length;
    if (this.#finalReport) return;
    const oldestMs = this.#clock() - (this.#options.retentionMs ?? 3_600_000);
    let kept: SpanRecord[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i]!;
      if (span.endMs < oldestMs) {
        // Too late to join anything the Auditor still remembers: counted, not analyzed as a stray piece.
        if (kept === undefined) kept = batch.slice(0, i);
        this.#agedOut++;
        continue;
      }
      kept?.push(span);
      this.#observe(span);
    }
    if (kept !== undefined && !this.#agedOutSaid) {
      // Once: a followed file of old runs would otherwise show only a growing count.
      this.#agedOutSaid = true;
      this.#notice = `spans that ended over ${formatMs(this.#options.retentionMs ?? 3_600_000)} ago are aged out, not analyzed (--retention-ms): baton audit reads old files whole, baton watch <file> replays them`;
    }
    // Told when the spans came, the Auditor waits for more of a trace that arrives in pieces however old it is.
    this.#auditor.addSpans(kept ?? batch, this.#clock());
    this.#sinceAdvance += batch.length;
  }

  /** What one span says right away about its agent and the handoffs in flight (the Auditor says the rest when the group closes). */
  #observe(span: SpanRecord): void {
    this.#openTraces.add(span.traceId);
    const attrs = span.attributes;
    const operation = attrs[BATON_OPERATION];
    // Handoff spans of conventions 2 name their agent only in the edge: the sender's on a send, the receiver's on a receive.
    const agent =
      attrs[GEN_AI_AGENT_NAME] ??
      (operation === BatonOperation.HandoffSend
        ? attrs[BATON_HANDOFF_SOURCE_AGENT]
        : operation === BatonOperation.HandoffReceive
          ? attrs[BATON_HANDOFF_TARGET_AGENT]
          : undefined);
    if (typeof agent === 'string' && agent !== '') {
      let activity = this.#agents.get(agent);
      if (!activity) {
        if (this.#agents.size >= MAX_AGENTS) this.#agents.delete(this.#agents.keys().next().value!);
        this.#agents.set(agent, (activity = { lastSeenMs: span.endMs, traceId: span.traceId, task: null, failed: false }));
      }
      if (span.endMs >= activity.lastSeenMs) {
        activity.lastSeenMs = span.endMs;
        activity.traceId = span.traceId;
        const task = attrs[BATON_TASK_ID] ?? attrs[GEN_AI_CONVERSATION_ID];
        if (typeof task === 'string' && task !== '') activity.task = task;
        // An agent run says how the agent is: failed, or well again.
        if (operation === BatonOperation.AgentRun || attrs[GEN_AI_OPERATION_NAME] === 'invoke_agent') {
          activity.failed = span.statusCode === 2 || attrs[BATON_AGENT_OUTCOME] === 'failed';
        }
      }
    }
    const handoffId = attrs[BATON_HANDOFF_ID];
    if (typeof handoffId !== 'string') return;
    if (operation === BatonOperation.HandoffSend) {
      const source = attrs[BATON_HANDOFF_SOURCE_AGENT];
      const target = attrs[BATON_HANDOFF_TARGET_AGENT];
      if (typeof source === 'string' && typeof target === 'string' && !this.#inFlight.has(handoffId) && !this.#received.has(handoffId)) {
        if (this.#inFlight.size >= MAX_IN_FLIGHT) this.#inFlight.delete(this.#inFlight.keys().next().value!);
        this.#inFlight.set(handoffId, { source, target, sentMs: span.startMs });
      }
    } else if (operation === BatonOperation.HandoffReceive || operation === BatonOperation.HandoffAck) {
      this.#inFlight.delete(handoffId);
      if (this.#received.size >= MAX_IN_FLIGHT) this.#received.delete(this.#received.keys().next().value!);
      this.#received.set(handoffId, span.endMs);
    }
  }

  #onUpdate(update: AuditUpdate): void {
    this.#options.onAnalysis?.(update);
    const now = this.#clock();
    if (update.kind === 'group') {
      for (const id of update.traceIds) this.#openTraces.delete(id);
      this.#tracesAnalyzed += update.traceIds.length;
      for (const delta of update.edges) {
        const key = `${delta.source}\u0000${delta.target}`;
        let edge = this.#edges.get(key);
        if (!edge) this.#edges.set(key, (edge = { latencies: [], handoffs: [], times: [] }));
        for (const latency of delta.latenciesMs) {
          pushCapped(edge.latencies, latency, RECENT_LATENCIES);
          edge.handoffs.unshift({ traceId: update.traceIds[0] ?? '', latencyMs: latency, atMs: now });
          if (edge.handoffs.length > RECENT_HANDOFFS) edge.handoffs.pop();
        }
        for (let i = 0; i < delta.handoffs; i++) pushCapped(edge.times, now, RECENT_TIMES);
      }
    }
    for (const finding of update.findings) this.#addFinding(finding, now);
  }

  #addFinding(finding: Finding, now: number): void {
    this.#findingsTotal++;
    this.#findings.unshift({
      id: ++this.#findingId,
      ruleId: finding.ruleId,
      severity: finding.severity,
      message: finding.message,
      agents: finding.agents,
      traceId: finding.evidence.traceId,
      foundAtMs: now,
    });
    if (this.#findings.length > MAX_FINDING_ROWS) this.#findings.pop();
  }

  // ---- clock and lifecycle -------------------------------------------------------------------

  /** Moves the analysis to the clock's time: closes settled groups, reports budgets that ran out. */
  tick(): void {
    if (this.#finalReport) return;
    const now = this.#clock();
    this.#advance();
    // A handoff sent and never received stays in flight (it is) until the retention window forgets it.
    const stale = now - (this.#options.retentionMs ?? 3_600_000);
    for (const [id, sent] of this.#inFlight) if (sent.sentMs < stale) this.#inFlight.delete(id);
    // Sends come within seconds of their receive; a minute of memory is plenty.
    for (const [id, atMs] of this.#received) if (atMs < now - 60_000) this.#received.delete(id);
    for (const second of this.#perSecond.keys()) if (second < Math.floor(now / 1000) - 60) this.#perSecond.delete(second);
    this.#changed();
  }

  /** Ticks every `intervalMs` (unref'd: it never keeps the process alive) until finish. */
  start(intervalMs = 250): void {
    this.#tickTimer ??= setInterval(() => this.tick(), intervalMs);
    this.#tickTimer.unref();
  }

  /** Refuses new spans ("unavailable, retry") from now on: for shutting down. */
  close(): void {
    this.#closing = true;
  }

  /** True once finish() ran. */
  get finished(): boolean {
    return this.#finalReport !== undefined;
  }

  /** Waits for the queue to drain. */
  async drained(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining) await new Promise<void>((resolve) => setTimeout(resolve, 2));
  }

  /** Ends the input: analyzes the queue and every open group, settles every rule; returns the final report. */
  async finish(): Promise<AuditReport> {
    if (this.#tickTimer) clearInterval(this.#tickTimer);
    await this.drained();
    if (!this.#finalReport) {
      this.#finalReport = this.#auditor.finish();
      this.#openTraces.clear();
      this.#inFlight.clear();
      this.#changed();
    }
    return this.#finalReport;
  }

  // ---- the view ------------------------------------------------------------------------------

  /** Called (synchronously) whenever something changed; returns an unsubscribe. Views are built on demand, throttled by the caller. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Changes since the start: a view is stale when this moved. */
  get version(): number {
    return this.#version;
  }

  #changed(): void {
    this.#version++;
    for (const listener of this.#listeners) listener();
  }

  /** Accepted spans per second over the last full seconds. */
  #rate(): number {
    const current = Math.floor(this.#clock() / 1000);
    let sum = 0;
    for (let s = current - RATE_WINDOW_S; s < current; s++) sum += this.#perSecond.get(s) ?? 0;
    return sum / RATE_WINDOW_S;
  }

  /** The span and trace counters so far. */
  counters(): LiveCounters {
    return {
      accepted: this.#accepted,
      rejected: this.#rejected,
      throttled: this.#throttled,
      agedOut: this.#agedOut,
      badRequests: this.#badRequests,
      tracesOpen: this.#openTraces.size,
      tracesAnalyzed: this.#tracesAnalyzed,
    };
  }

  /**
   * The view as of now. Costs a report snapshot: call it per frame, not per span.
   * `report`: the snapshot to build it from, when the caller has just taken one (the analysis worker sends both).
   */
  view(report: AuditReport = this.report()): LiveView {
    const now = this.#clock();
    const inFlight = new Map<string, number>();
    const waitingOn = new Map<string, Set<string>>();
    for (const sent of this.#inFlight.values()) {
      const key = `${sent.source}\u0000${sent.target}`;
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      let targets = waitingOn.get(sent.source);
      if (!targets) waitingOn.set(sent.source, (targets = new Set()));
      targets.add(sent.target);
    }
    const edges: EdgeRow[] = [];
    const seen = new Set<string>();
    for (const stats of report.edges) {
      const key = `${stats.source}\u0000${stats.target}`;
      seen.add(key);
      const activity = this.#edges.get(key);
      edges.push({
        key,
        source: stats.source,
        target: stats.target,
        handoffs: stats.handoffs,
        perMinute: activity ? countSince(activity.times, now - 60_000) : 0,
        inFlight: inFlight.get(key) ?? 0,
        p50Ms: stats.latencyMs?.p50 ?? null,
        p95Ms: stats.latencyMs?.p95 ?? null,
        p99Ms: stats.latencyMs?.p99 ?? null,
        maxMs: stats.latencyMs?.max ?? null,
        relativeError: stats.latencyMs?.relativeError ?? 0,
        failures: stats.failures,
        retries: stats.retries,
        skewedSamples: stats.skewedSamples,
        recentLatenciesMs: activity ? [...activity.latencies] : [],
        recentHandoffs: activity ? [...activity.handoffs] : [],
      });
    }
    // Edges with handoffs in flight but none analyzed yet: shown, so work that never arrives is visible.
    for (const [key, count] of inFlight) {
      if (seen.has(key)) continue;
      const [source, target] = key.split('\u0000') as [string, string];
      edges.push({
        key, source, target, handoffs: 0, perMinute: 0, inFlight: count, p50Ms: null, p95Ms: null, p99Ms: null, maxMs: null,
        relativeError: 0, failures: 0, retries: 0, skewedSamples: 0, recentLatenciesMs: [], recentHandoffs: [],
      });
    }
    edges.sort(compareWorstFirst);
    const agents: AgentRow[] = [];
    const activeMs = this.#options.activeMs ?? 10_000;
    const named = new Set<string>(this.#agents.keys());
    for (const name of report.agents) named.add(name);
    for (const name of named) {
      const activity = this.#agents.get(name);
      const waiting = waitingOn.get(name);
      let state: AgentState = 'idle';
      if (activity?.failed) state = 'failed';
      else if (waiting && waiting.size > 0) state = 'waiting';
      // Working: seen lately, in a task (trace) not finished and analyzed yet.
      else if (activity && now - activity.lastSeenMs <= activeMs && this.#openTraces.has(activity.traceId)) state = 'working';
      agents.push({
        name,
        state,
        lastSeenMs: activity?.lastSeenMs ?? null,
        task: activity?.task ?? null,
        waitingOn: waiting ? [...waiting].sort() : [],
      });
    }
    agents.sort((a, b) => (b.lastSeenMs ?? 0) - (a.lastSeenMs ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      mode: this.#options.mode,
      title: this.#options.title ?? 'baton watch',
      sources: this.#options.sources ?? [],
      nowMs: now,
      counters: {
        accepted: this.#accepted,
        rejected: this.#rejected,
        throttled: this.#throttled,
        agedOut: this.#agedOut,
        badRequests: this.#badRequests,
        perSecond: this.#rate(),
        tracesOpen: this.#openTraces.size,
        tracesAnalyzed: this.#tracesAnalyzed,
        splitTraces: report.inputs.splitTraces,
        queued: this.#queued,
      },
      edges,
      agents,
      findings: [...this.#findings],
      findingsTotal: this.#findingsTotal,
      recording: this.#recording ? { ...this.#recording } : null,
      done: this.#finalReport !== undefined,
      notice: this.#notice,
    };
  }

  /** The audit so far (or the final one), for the summary printed on exit. */
  report(): AuditReport {
    return this.#finalReport ?? this.#auditor.snapshot();
  }
}

/** Worst first: highest p95, then most failures, then most handoffs; ties by name. */
export function compareWorstFirst(a: EdgeRow, b: EdgeRow): number {
  return (
    (b.p95Ms ?? Number.NEGATIVE_INFINITY) - (a.p95Ms ?? Number.NEGATIVE_INFINITY) ||
    b.failures - a.failures ||
    b.handoffs - a.handoffs ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

function pushCapped(list: number[], value: number, cap: number): void {
  list.push(value);
  if (list.length > cap) list.splice(0, list.length - cap);
}

/** How many of the ascending `times` are after `sinceMs`. */
function countSince(times: readonly number[], sinceMs: number): number {
  let n = 0;
  for (let i = times.length - 1; i >= 0 && times[i]! > sinceMs; i--) n++;
  return n;
}
