/**
 * The Auditor: spans in, findings and coordination cost out, for a file audit
 * and a live view alike (one path, tested both ways).
 *
 * Spans are assembled into trace groups as they stream in (traces joined by
 * span links, as a receive links to its send in another trace). A group closes
 * when nothing of it has ended within `idleMs` of the clock (the newest span
 * seen, or the time given to `advance`), like the Collector's tail sampler
 * waits `decision_wait`, or when the input ends. Each closed group is read by
 * the dialects, assembled into a model, and given to every rule; rules about
 * shared state index the whole input and report once the data before a time
 * is complete. Only results are kept: spans of closed groups are dropped, the
 * sets of closed traces and counted handoffs are forgotten after
 * `retentionMs` of data time, latencies live in mergeable sketches and every
 * list is capped, so memory stays bounded over hours.
 *
 * "Now", for checks that depend on it (never-acknowledged handoffs), is the
 * end of all input (the watermark) unless `now` is given.
 */
import {
  AUDIT_REPORT_VERSION,
  type AuditReport,
  type DialectSummary,
  type InputProblem,
  type RuleSummary,
  type TaskSummary,
  type TraceExplanation,
} from '../model/audit-report.js';
import { compareFindings, SEVERITY_RANK, type DetectorResult, type Finding, type Severity } from '../model/finding.js';
import type { HandoffGraph, HandoffModel } from '../model/handoff-model.js';
import { AttributeShapes } from '../model/attribute-shapes.js';
import { StatusCodeNumber, type AttributeValue, type SpanRecord } from '../model/span-record.js';
import { FORGET_AFTER_MS, FORGET_EVERY_MS, forgetOldest } from './bounded.js';
import { buildHandoffGraph, forEachAgentOf, handoffEdgesOf } from './build-graph.js';
import { buildHandoffModel } from './build-model.js';
import type { Dialect } from './dialects/dialect.js';
import { DIALECTS, DIALECT_IDS, dialectById } from './dialects/index.js';
import { DETECTORS, RULE_IDS, type RuleId, type RuleOptionsMap } from './detectors/index.js';
import { ExplainRecorder } from './explain.js';
import { readsNothingIn, type ModelList, type RuleRun } from './detectors/rule.js';
import { criticalPath, EdgeStatsAccumulator, newLatencySketch, summarizeSketch, summarizeTask, type EdgeDelta } from './latency.js';
import type { LatencySketch } from './latency-sketch.js';

/** Per-rule settings: `false` turns a rule off; an object passes its options. */
export type RuleSettings = { readonly [R in RuleId]?: false | RuleOptionsMap[R] };

/** What the Auditor pushes as results become known. */
export type AuditUpdate =
  | {
      /** A trace group closed and was analyzed. */
      readonly kind: 'group';
      readonly traceIds: readonly string[];
      readonly spans: number;
      /** Findings of the rules that look at one group at a time. */
      readonly findings: readonly Finding[];
      /** What each edge gained. */
      readonly edges: readonly EdgeDelta[];
      readonly task: TaskSummary | null;
    }
  | {
      /** Findings settled by time passing or the input ending (state rules, acknowledgements). */
      readonly kind: 'findings';
      readonly findings: readonly Finding[];
    };

/** Options of {@link Auditor}. */
export interface AuditOptions {
  readonly rules?: RuleSettings;
  /** Run only these rules (after `rules` settings); the others are reported as off. Default: all. */
  readonly only?: readonly RuleId[];
  /**
   * The time "now" for checks that depend on it (never-acknowledged handoffs),
   * ms since the epoch. Default: the end of all input (the latest span end, or
   * the latest time given to `advance`).
   */
  readonly now?: number;
  /** Read every trace group with this dialect only (an id of `dialects`). Default: detect per span. */
  readonly dialect?: string;
  /** The dialects to read with, in priority order. Default: every registered one (DIALECTS). */
  readonly dialects?: readonly Dialect[];
  /**
   * Record, per trace group, how it was read (the report's `explain`): the dialect chosen,
   * the spans interpreted and ignored with the reason, how each edge was known. Off by
   * default: it keeps a record per group. At most `maxExplainedGroups` (default 1000) are kept.
   */
  readonly explain?: boolean;
  readonly maxExplainedGroups?: number;
  /** Close a group after this long (data time, or the clock of `advance`) with nothing new. Default 300 000 (5 min). */
  readonly idleMs?: number;
  /**
   * Once more than `softOpenSpans` spans were open (default 100 000), the input is dense
   * (a busy service): groups that look complete (every trace in them has its root span
   * and misses no parent) close after `completeIdleMs` with nothing new (default 10 000),
   * and the state rules take the data older than that as complete, so memory follows
   * seconds of data rather than minutes. A late span is still audited, as a piece of its
   * own, and counted in `inputs.splitTraces`.
   */
  readonly completeIdleMs?: number;
  readonly softOpenSpans?: number;
  /**
   * Live: a group closes no sooner than this after its last span arrived, and the state rules
   * take as complete only data that arrived at least this long ago, when addSpans is told the
   * arrival time. Data can arrive long after it ended (a followed file of old runs, an exporter
   * emptying its backlog after a restart): judged by its span times alone it would look settled
   * on arrival, and a trace whose spans came in two requests would be cut in two. Default 2 000.
   */
  readonly arrivalQuietMs?: number;
  /**
   * Close the oldest groups early when more spans than this are open (memory
   * bound). A trace cut this way is counted in `inputs.splitTraces`. Default 2 000 000.
   */
  readonly maxOpenSpans?: number;
  /** How long (data time) closed traces and counted handoffs are remembered, to join late spans. Default 3 600 000 (1 h). */
  readonly retentionMs?: number;
  /** Findings kept in the report (rule counts stay exact). Default 10 000. */
  readonly maxFindings?: number;
  /** Tasks kept in detail, slowest first. Default 20. */
  readonly slowestTasks?: number;
  /** Called with each result as it becomes known (live views). */
  readonly onUpdate?: (update: AuditUpdate) => void;
}

interface OpenTrace {
  spans: SpanRecord[];
  /** Spans before this index have been reduced to what the dialects read. */
  compacted: number;
  /** How many spans the trace had at the last sweep: only spans that outlived a sweep are compacted. */
  atLastSweep: number;
  /**
   * Set once the trace stayed open through two sweeps of a large input: from then on its spans are
   * reduced as they arrive, while still young. Reduced at a later sweep instead, each would first be
   * copied into the old generation whole, then again reduced, and leave the whole copy there as
   * garbage for a full GC: on one 300k-span trace, a quarter of the audit was garbage collection.
   */
  compactOnAdd: boolean;
  minStartMs: number;
  maxEndMs: number;
  /** When its last span arrived (the time given to addSpans), or -Infinity when not told. */
  arrivedMs: number;
  /**
   * Span ids seen, and parent ids referred to but not seen yet: a trace whose root ended and
   * that misses no parent looks complete. Only dense input closes groups that look complete, so
   * both sets are kept only once the input is dense (#noteSpanIds): before, they would cost
   * three set operations per span for nothing. Even then they are made only when needed: most
   * traces of a busy service are one span (a health check, a cache hit), and two sets each would
   * be most of what such a trace costs while open.
   */
  ids: Set<string> | undefined;
  missingParents: Set<string> | undefined;
  rootEnded: boolean;
}

/** Open traces joined by links, as one sweep sees them. */
interface OpenGroup {
  readonly traces: string[];
  maxEndMs: number;
  arrivedMs: number;
  minStartMs: number;
  spans: number;
  complete: boolean;
}

interface RuleState {
  readonly id: RuleId;
  readonly run: RuleRun | undefined;
  /** The model lists the rule's group() reads (its definition's `reads`): skipped in a group where all are empty. */
  readonly reads: readonly ModelList[] | undefined;
  findings: number;
  checked: number;
  readonly notEvaluated: Map<string, number>;
}

/** A handoff that closed without an acknowledgement and has a budget: a failure of its edge if none comes in time. */
interface Unacked {
  readonly source: string;
  readonly target: string;
  readonly deadlineMs: number;
  readonly budgetMs: number;
}

/**
 * Union-find over trace ids, for grouping traces joined by links. A trace no link
 * touched is not stored at all (it is its own group), so only linked traces cost
 * an entry.
 */
class TraceUnion {
  readonly #parent = new Map<string, string>();

  /** True when a link joined `id` to some trace. */
  has(id: string): boolean {
    return this.#parent.has(id);
  }

  find(id: string): string {
    let root = id;
    for (let p = this.#parent.get(root); p !== undefined && p !== root; p = this.#parent.get(root)) root = p;
    // Path compression keeps later finds near O(1).
    for (let node = id; node !== root; ) {
      const next = this.#parent.get(node)!;
      this.#parent.set(node, root);
      node = next;
    }
    return root;
  }

  union(a: string, b: string): void {
    if (!this.#parent.has(a)) this.#parent.set(a, a);
    if (!this.#parent.has(b)) this.#parent.set(b, b);
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.#parent.set(rb, ra);
  }

  /** Forgets a whole closed group at once (all its members are leaving). */
  forget(ids: readonly string[]): void {
    for (const id of ids) this.#parent.delete(id);
  }
}

/**
 * Streams spans in; `advance` moves the clock, `snapshot` reports without
 * closing anything, `finish` ends the input and reports. Pure: no I/O, no clock
 * of its own.
 */
export class Auditor {
  readonly #options: AuditOptions;
  readonly #dialects: readonly Dialect[];
  readonly #keepAttribute: (name: string) => boolean;
  /** Whether some dialect reads span events of this name (Strands' tool arguments): kept on compacted spans. */
  readonly #keepEvent: (name: string, span: SpanRecord) => boolean;
  readonly #sharedValues = new Map<string, string>();
  /** Attribute maps of reduced spans (#compactSpan). */
  readonly #attributeShapes = new AttributeShapes();
  readonly #rules: RuleState[] = [];
  readonly #open = new Map<string, OpenTrace>();
  readonly #union = new TraceUnion();
  /** Closed traces, with the data time they closed at (forgotten after retentionMs). */
  readonly #closed = new Map<string, number>();
  readonly #split = new Set<string>();
  readonly #edges = new EdgeStatsAccumulator();
  readonly #unacked = new Map<string, Unacked>();
  readonly #findings: Finding[] = [];
  readonly #severityCounts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  readonly #shares: LatencySketch = newLatencySketch();
  readonly #slowest: TaskSummary[] = [];
  readonly #agents = new Set<string>();
  /** Agent → its runs and their outcomes, over every group analyzed (the report's `agentRuns`). */
  readonly #agentRuns = new Map<string, { runs: number; completed: number; failed: number; blocked: number }>();
  readonly #handoffEdges = new Set<string>();
  readonly #dependencyEdges = new Map<string, { readonly source: string; readonly target: string }>();
  readonly #cycles = new Map<string, readonly string[]>();
  readonly #versions = new Set<string>();
  readonly #dialectUsage = new Map<string, { spans: number; interpreted: number; traceGroups: number }>();
  /** Task ids seen, with the data time last seen (forgotten after retentionMs; the count stays). */
  readonly #taskIds = new Map<string, number>();
  readonly #problems: InputProblem[] = [];
  readonly #explained: TraceExplanation[] = [];
  #explainTruncated = 0;
  #tasks = 0;
  #findingsTruncated = 0;
  #openSpans = 0;
  #watermarkMs = Number.NEGATIVE_INFINITY;
  #clockMs = Number.NEGATIVE_INFINITY;
  /** The earliest start among spans that arrived within arrivalQuietMs: the state rules wait for data that late. */
  readonly #arrivals = new RecentMinimum();
  #startMs = Number.POSITIVE_INFINITY;
  #spans = 0;
  #wholeMsSpans = 0;
  #groups = 0;
  #traces = 0;
  #spansSinceSweep = 0;
  /** Set once more than softOpenSpans spans were open at a sweep. */
  #dense = false;
  #lastSweepWatermarkMs = Number.NEGATIVE_INFINITY;
  /** Data time of the last pass that forgot settled state (seen-sets, rule indexes). */
  #lastForgetMs = Number.NEGATIVE_INFINITY;
  #finished = false;

  constructor(options: AuditOptions = {}) {
    this.#options = options;
    const available = options.dialects ?? DIALECTS;
    if (options.dialect !== undefined) {
      const dialect = options.dialects ? available.find((d) => d.id === options.dialect) : dialectById(options.dialect);
      if (!dialect) throw new TypeError(`Auditor: unknown dialect "${options.dialect}"; one of ${(options.dialects ? available.map((d) => d.id) : DIALECT_IDS).join(', ')}`);
      this.#dialects = [dialect];
    } else {
      this.#dialects = available;
    }
    const dialects = this.#dialects;
    // Asked for every attribute of every compacted span, of a few dozen names: answered once per name.
    const kept = new Map<string, boolean>();
    this.#keepAttribute = (name) => {
      let keep = kept.get(name);
      if (keep === undefined) {
        keep = false;
        for (let i = 0; i < dialects.length && !keep; i++) keep = dialects[i]!.readsAttribute(name);
        if (kept.size >= 4096) kept.clear();
        kept.set(name, keep);
      }
      return keep;
    };
    const eventReaders = dialects.filter((d) => d.readsEvent !== undefined);
    this.#keepEvent = (name, span) => {
      for (let i = 0; i < eventReaders.length; i++) if (eventReaders[i]!.readsEvent!(name, span)) return true;
      return false;
    };
    for (const id of RULE_IDS) {
      const setting = options.rules?.[id];
      const on = setting !== false && (!options.only || options.only.includes(id));
      const ruleOptions = (setting || {}) as never;
      this.#rules.push({
        id,
        run: on ? (DETECTORS[id].rule.create as (o: never) => RuleRun)(ruleOptions) : undefined,
        reads: DETECTORS[id].rule.reads,
        findings: 0,
        checked: 0,
        notEvaluated: new Map(),
      });
    }
  }

  /** Records an input that could not be read, for the report. */
  addProblem(problem: InputProblem): void {
    this.#problems.push(problem);
  }

  /**
   * Adds a batch of spans; may analyze groups that became complete. A live caller passes
   * `arrivedAtMs`, its clock's time now (see `arrivalQuietMs`).
   */
  addSpans(batch: readonly SpanRecord[], arrivedAtMs?: number): void {
    if (this.#finished) throw new Error('Auditor: addSpans after finish()');
    // Checked once per batch: a single span (or `auditSpans(spans)` given the spans, not batches of them) has no
    // length, and would be read as an empty batch, a report of nothing with no word why.
    if (!Array.isArray(batch))
      throw new TypeError(
        `Auditor: addSpans takes a batch, an array of spans, not ${batch === null ? 'null' : typeof batch}; auditSpans takes an iterable of batches, as readTraceInputs yields them ([spans] for one)`,
      );
    const arrived = arrivedAtMs ?? Number.NEGATIVE_INFINITY;
    let batchStartMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i]!;
      this.#spans++;
      if (span.startMs === Math.floor(span.startMs) && span.endMs === Math.floor(span.endMs)) this.#wholeMsSpans++;
      if (span.startMs < this.#startMs) this.#startMs = span.startMs;
      if (span.startMs < batchStartMs) batchStartMs = span.startMs;
      let trace = this.#open.get(span.traceId);
      if (!trace) {
        if (this.#closed.has(span.traceId)) {
          // A late span of an analyzed trace: analyzed as a group of its own rather than lost, and said.
          this.#closed.delete(span.traceId);
          this.#split.add(span.traceId);
        }
        trace = {
          // An array literal of one: `[]` then push would reserve 17 slots for what is most often one span.
          spans: [span],
          compacted: 0,
          atLastSweep: 0,
          compactOnAdd: false,
          minStartMs: span.startMs,
          maxEndMs: span.endMs,
          arrivedMs: arrived,
          ids: undefined,
          missingParents: undefined,
          rootEnded: false,
        };
        this.#open.set(span.traceId, trace);
      } else if (trace.compactOnAdd) {
        trace.spans.push(this.#compactSpan(span, trace.spans[0]!.traceId));
        trace.compacted = trace.atLastSweep = trace.spans.length;
      } else {
        trace.spans.push(span);
      }
      if (span.parentSpanId === '') trace.rootEnded = true;
      trace.arrivedMs = arrived;
      if (this.#dense) noteSpanIds(trace, span, trace.spans.length - 1);
      if (span.endMs > trace.maxEndMs) trace.maxEndMs = span.endMs;
      if (span.startMs < trace.minStartMs) trace.minStartMs = span.startMs;
      if (span.endMs > this.#watermarkMs) this.#watermarkMs = span.endMs;
      this.#openSpans++;
      const links = span.links;
      for (let j = 0; j < links.length; j++) {
        const linked = links[j]!.traceId;
        if (linked === span.traceId || this.#closed.has(linked)) continue;
        this.#union.union(span.traceId, linked);
      }
    }
    // A sweep costs a pass over the open traces: do it once enough new spans have come to pay for
    // it (an eighth of those open, at least 4096), or under memory pressure. Small export batches
    // (a busy service's 32-span lines) would otherwise sweep the same open traces over and over.
    // Data time moving on by a quiet period can close groups too, so it also triggers one.
    if (arrivedAtMs !== undefined && batch.length > 0) this.#arrivals.push(arrivedAtMs, batchStartMs);
    this.#spansSinceSweep += batch.length;
    const quietMs = this.#options.idleMs ?? 300_000;
    if (
      this.#spansSinceSweep >= Math.max(4096, this.#openSpans >> 3) ||
      this.#watermarkMs - this.#lastSweepWatermarkMs >= quietMs ||
      this.#openSpans > this.#maxOpenSpans()
    ) {
      this.#spansSinceSweep = 0;
      this.#lastSweepWatermarkMs = this.#watermarkMs;
      this.#sweep(false);
    }
  }

  /**
   * Moves the clock to `nowMs` (a live view calls this every few hundred ms):
   * closes groups idle for `idleMs`, and reports what time settles
   * (handoffs whose budget ran out unacknowledged).
   */
  advance(nowMs: number): void {
    if (this.#finished) return;
    if (nowMs > this.#clockMs) this.#clockMs = nowMs;
    this.#sweep(false);
  }

  /** The report so far: a copy that later spans do not change; closes nothing. */
  snapshot(): AuditReport {
    return this.#report(false);
  }

  /** Ends the input: analyzes every open group, settles every rule and returns the final report. */
  finish(): AuditReport {
    if (!this.#finished) {
      this.#sweep(true);
      const now = this.#nowMs();
      for (const rule of this.#rules) if (rule.run?.finish) this.#tally(rule, rule.run.finish(now), true);
      for (const [, u] of this.#unacked) if (u.deadlineMs < now) this.#edges.addFailure(u.source, u.target);
      this.#unacked.clear();
      this.#finished = true;
      this.#finalEdges = this.#edges.summarize(true);
    }
    return this.#report(true);
  }

  #finalEdges: ReturnType<EdgeStatsAccumulator['summarize']> | undefined;

  #maxOpenSpans(): number {
    return this.#options.maxOpenSpans ?? 2_000_000;
  }

  /** The time checks take as now: `now` if given, else the end of all input seen (or the clock, if later). */
  #nowMs(): number {
    if (this.#options.now !== undefined) return this.#options.now;
    const t = Math.max(this.#watermarkMs, this.#clockMs);
    return Number.isFinite(t) ? t : 0;
  }

  #report(final: boolean): AuditReport {
    const rules: RuleSummary[] = [];
    for (const rule of this.#rules) {
      const entry = DETECTORS[rule.id];
      const notEvaluated: { count: number; reason: string }[] = [];
      for (const [reason, count] of rule.notEvaluated) notEvaluated.push({ reason, count });
      const status = rule.run === undefined ? 'off' : rule.checked === 0 ? 'could-not-run' : 'ran';
      rules.push({
        ruleId: rule.id,
        description: entry.description,
        severity: entry.maxSeverity,
        status,
        findings: rule.findings,
        checked: rule.checked,
        notEvaluated,
        couldNotRun: status === 'could-not-run',
      });
    }
    const dialects: DialectSummary[] = [];
    // Every dialect tried, those that read nothing too: "no span in any known vocabulary" can name them.
    for (const dialect of this.#dialects) {
      const usage = this.#dialectUsage.get(dialect.id) ?? { spans: 0, interpreted: 0, traceGroups: 0 };
      dialects.push({ id: dialect.id, spans: usage.spans, interpreted: usage.interpreted, traceGroups: usage.traceGroups });
    }
    const cycles = [...this.#cycles.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, path]) => [...path]);
    const hasData = this.#spans > 0;
    return {
      reportVersion: AUDIT_REPORT_VERSION,
      inputs: {
        spans: this.#spans,
        traces: this.#traces,
        traceGroups: this.#groups,
        dialects,
        conventionsVersions: [...this.#versions].sort(),
        problems: [...this.#problems],
        horizon: hasData ? { startMs: this.#startMs, endMs: this.#watermarkMs } : null,
        nowMs: hasData || this.#options.now !== undefined ? this.#nowMs() : null,
        wholeMsSpans: this.#wholeMsSpans,
        splitTraces: this.#split.size,
      },
      findings: [...this.#findings].sort(compareFindings),
      findingsTruncated: this.#findingsTruncated,
      rules,
      edges: final && this.#finalEdges ? this.#finalEdges : this.#edges.summarize(false),
      agents: [...this.#agents].sort(),
      agentRuns: [...this.#agentRuns]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([agent, tally]) => ({ agent, ...tally })),
      dependencies: [...this.#dependencyEdges]
        .filter(([key]) => !this.#handoffEdges.has(key))
        .map(([, edge]) => edge)
        .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0)),
      cycles,
      tasks: {
        count: this.#tasks,
        coordinationShare: summarizeSketch(this.#shares),
        slowest: [...this.#slowest],
      },
      severityCounts: { ...this.#severityCounts },
      ...(this.#options.explain ? { explain: [...this.#explained], explainTruncated: this.#explainTruncated } : {}),
    };
  }

  #sweep(all: boolean): void {
    const idle = this.#options.idleMs ?? 300_000;
    const clock = Math.max(this.#watermarkMs, this.#clockMs);
    const cutoff = clock - idle;
    // With many spans open, a group whose every trace has its root span and misses no parent looks
    // complete (exporters send a span when it ends, and a root ends last): it closes after the short
    // quiet time, not the long one. Below that many, every group waits the full idle time, so input
    // order within it never matters.
    // Once that many were open, the input is dense (a busy service): it stays so for the rest of the run.
    if (!all && !this.#dense && this.#openSpans > (this.#options.softOpenSpans ?? 100_000)) {
      this.#dense = true;
      // From now on completeness decides when groups close: work it out for the traces already open.
      for (const trace of this.#open.values()) {
        const spans = trace.spans;
        for (let i = 0; i < spans.length; i++) noteSpanIds(trace, spans[i]!, i);
      }
    }
    const pressed = !all && this.#dense;
    const quickMs = Math.min(idle, this.#options.completeIdleMs ?? 10_000);
    const completeCutoff = pressed ? clock - quickMs : Number.NEGATIVE_INFINITY;
    // Live, spans that arrived just now may be followed by more of the same data, however old it is.
    const arrivalCutoff = clock - (this.#options.arrivalQuietMs ?? 2_000);
    // With many spans open, what stays open is reduced to what the dialects read, so in-flight traces
    // cost little; with few, copying them would cost more time than the memory is worth.
    const compactRest = !all && this.#openSpans > (this.#options.softOpenSpans ?? 100_000) / 4;
    // Over the memory cap, the oldest groups close too (below): then every open group needs a record.
    const cap = this.#maxOpenSpans();
    const overCap = !all && this.#openSpans > cap;
    // Traces no link joined are groups of their own, decided here without a group record unless they
    // close: a sweep over a million open one-span traces allocates nothing for those that stay open.
    const groups = new Map<string, OpenGroup>();
    const ready: OpenGroup[] = [];
    const rest: OpenGroup[] = [];
    let restMinStartMs = Number.POSITIVE_INFINITY;
    for (const [traceId, trace] of this.#open) {
      if (!this.#union.has(traceId)) {
        const complete = trace.rootEnded && (trace.missingParents === undefined || trace.missingParents.size === 0);
        if (all || isQuiet(trace, complete, cutoff, completeCutoff, arrivalCutoff)) {
          ready.push({ traces: [traceId], maxEndMs: trace.maxEndMs, arrivedMs: trace.arrivedMs, minStartMs: trace.minStartMs, spans: trace.spans.length, complete });
          continue;
        }
        if (overCap) {
          rest.push({ traces: [traceId], maxEndMs: trace.maxEndMs, arrivedMs: trace.arrivedMs, minStartMs: trace.minStartMs, spans: trace.spans.length, complete });
        }
        else if (compactRest) this.#compact(trace);
        if (trace.minStartMs < restMinStartMs) restMinStartMs = trace.minStartMs;
        continue;
      }
      const root = this.#union.find(traceId);
      let group = groups.get(root);
      if (!group) {
        groups.set(
          root,
          (group = { traces: [], maxEndMs: Number.NEGATIVE_INFINITY, arrivedMs: Number.NEGATIVE_INFINITY, minStartMs: Number.POSITIVE_INFINITY, spans: 0, complete: true }),
        );
      }
      group.traces.push(traceId);
      group.spans += trace.spans.length;
      if (!trace.rootEnded || (trace.missingParents !== undefined && trace.missingParents.size > 0)) group.complete = false;
      if (trace.maxEndMs > group.maxEndMs) group.maxEndMs = trace.maxEndMs;
      if (trace.arrivedMs > group.arrivedMs) group.arrivedMs = trace.arrivedMs;
      if (trace.minStartMs < group.minStartMs) group.minStartMs = trace.minStartMs;
    }
    for (const group of groups.values()) {
      (all || isQuiet(group, group.complete, cutoff, completeCutoff, arrivalCutoff) ? ready : rest).push(group);
    }
    // Over the memory cap: close the oldest groups too, until under half the cap, and say so.
    if (overCap) {
      rest.sort((a, b) => a.maxEndMs - b.maxEndMs);
      let open = this.#openSpans;
      for (const g of ready) open -= g.spans;
      let kept = 0;
      for (; kept < rest.length && open > cap / 2; kept++) {
        // Cut early: if more of these traces arrives, it is analyzed as a piece of its own and counted split.
        ready.push(rest[kept]!);
        open -= rest[kept]!.spans;
      }
      rest.splice(0, kept);
      restMinStartMs = Number.POSITIVE_INFINITY;
    }
    // Sorted so results do not depend on the order groups were found in.
    ready.sort((a, b) => a.minStartMs - b.minStartMs || (a.traces[0]! < b.traces[0]! ? -1 : 1));
    for (const group of ready) this.#analyzeGroup(group.traces);
    if (all) return;
    for (const group of rest) {
      if (group.minStartMs < restMinStartMs) restMinStartMs = group.minStartMs;
      if (compactRest) for (const t of group.traces) this.#compact(this.#open.get(t)!);
    }
    // Everything ending before this has been seen: no open group starts earlier, and late data is bounded by idleMs.
    // Dense input: the data before the short quiet time counts as complete, so the rules settle (and forget)
    // what is older than seconds, not minutes; a group still open from earlier does not hold them back.
    let completeBefore = pressed ? clock - quickMs : cutoff;
    if (!pressed && restMinStartMs < completeBefore) completeBefore = restMinStartMs;
    const lateStartMs = this.#arrivals.minSince(arrivalCutoff);
    if (lateStartMs < completeBefore) completeBefore = lateStartMs;
    if (!Number.isFinite(completeBefore)) return;
    if (this.#options.now === undefined || completeBefore < this.#options.now) {
      for (const rule of this.#rules) if (rule.run?.advance) this.#tally(rule, rule.run.advance(completeBefore), true);
    }
    for (const [id, u] of this.#unacked) {
      // One budget of grace, as ack-timeout gives: a retry acknowledged in a later trace settles the handoff.
      if (u.deadlineMs + u.budgetMs >= completeBefore) continue;
      this.#edges.addFailure(u.source, u.target);
      this.#unacked.delete(id);
    }
    // Forgetting walks every remembered id: at most once a minute of data time.
    if (completeBefore - this.#lastForgetMs < FORGET_EVERY_MS) return;
    this.#lastForgetMs = completeBefore;
    const retention = this.#options.retentionMs ?? FORGET_AFTER_MS;
    const forgetBefore = completeBefore - retention;
    this.#edges.settle(forgetBefore);
    for (const [id, at] of this.#closed) if (at < forgetBefore) this.#closed.delete(id);
    for (const [id, at] of this.#taskIds) if (at < forgetBefore) this.#taskIds.delete(id);
  }

  #compact(trace: OpenTrace): void {
    const spans = trace.spans;
    // One trace id string for the whole trace, not one per span.
    const traceId = spans[0]?.traceId ?? '';
    // Only traces that were already open at the last sweep: a batch that closes at once (a whole
    // file read as one document) is never copied. Such a trace is long-lived: all of it is reduced
    // now, and what it gets later as it arrives (compactOnAdd).
    if (trace.atLastSweep === 0) {
      trace.atLastSweep = spans.length;
      return;
    }
    for (let i = trace.compacted; i < spans.length; i++) spans[i] = this.#compactSpan(spans[i]!, traceId);
    trace.compacted = trace.atLastSweep = spans.length;
    trace.compactOnAdd = true;
  }

  /**
   * The span with only the attributes and events some dialect reads, the start of a failed
   * span's status message, and no resource.
   * Its attribute map keeps Object's prototype and, unlike a prototype-free one, stays in
   * V8's compact fast mode: about a third of the memory per open span.
   */
  #compactSpan(span: SpanRecord, traceId: string): SpanRecord {
    // Built by shape: the kept attributes of one instrumentation's spans are the same keys in the same order.
    const shapes = this.#attributeShapes;
    shapes.start();
    let kept = false;
    for (const name in span.attributes) {
      if (!this.#keepAttribute(name)) continue;
      shapes.add(name, this.#shared(span.attributes[name]!));
      kept = true;
    }
    const attributes = kept ? shapes.finish() : undefined;
    return {
      traceId: span.traceId === traceId ? traceId : span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      name: this.#shared(span.name) as string,
      kind: span.kind,
      startMs: span.startMs,
      endMs: span.endMs,
      statusCode: span.statusCode,
      // Dialects read why a span failed (LangGraph's ParentCommand is control flow, not a failure; a
      // refused transfer's reason): its start is kept, bounded (Python's messages carry a traceback).
      statusMessage: span.statusCode === StatusCodeNumber.Error ? span.statusMessage.slice(0, MAX_KEPT_STATUS_CHARS) : '',
      attributes: attributes ?? EMPTY,
      links: span.links.length === 0 ? NO_LINKS : span.links,
      events: span.events.length === 0 ? NO_EVENTS : this.#eventsKept(span),
      resource: EMPTY,
      scopeName: span.scopeName,
      source: span.source,
    };
  }

  #eventsKept(span: SpanRecord): SpanRecord['events'] {
    const events = span.events;
    let kept: SpanRecord['events'][number][] | undefined;
    for (let i = 0; i < events.length; i++) if (this.#keepEvent(events[i]!.name, span)) (kept ??= []).push(events[i]!);
    return kept ?? NO_EVENTS;
  }

  /**
   * One string per distinct short value among compacted spans. JSON.parse makes a new string for
   * every value longer than a few characters, so each open span held its own copy of the task id,
   * the operation, the schema id, the agent names: most of what a compacted span weighs.
   * Bounded: emptied when full, so unique values (handoff ids) cost only churn.
   */
  #shared(value: AttributeValue): AttributeValue {
    if (typeof value !== 'string' || value.length > MAX_SHARED_LENGTH) return value;
    const known = this.#sharedValues.get(value);
    if (known !== undefined) return known;
    if (this.#sharedValues.size >= MAX_SHARED_VALUES) this.#sharedValues.clear();
    this.#sharedValues.set(value, value);
    return value;
  }

  #analyzeGroup(traceIds: readonly string[]): void {
    let spans: SpanRecord[];
    if (traceIds.length === 1) {
      spans = this.#open.get(traceIds[0]!)!.spans;
    } else {
      spans = [];
      for (const id of traceIds) {
        const list = this.#open.get(id)!.spans;
        for (let i = 0; i < list.length; i++) spans.push(list[i]!);
      }
    }
    const closedAt = Number.isFinite(this.#watermarkMs) ? this.#watermarkMs : 0;
    for (const id of traceIds) {
      this.#openSpans -= this.#open.get(id)!.spans.length;
      this.#open.delete(id);
      this.#closed.set(id, closedAt);
    }
    this.#union.forget(traceIds);
    forgetOldest(this.#closed);
    forgetOldest(this.#taskIds);
    this.#groups++;
    this.#traces += traceIds.length;
    if (!this.#options.explain && !this.#claimsAny(spans)) {
      // Nothing in a known vocabulary (a health check, a database call of another service): no model,
      // graph or rule run, which would all be empty, only the count. Busy services send mostly these.
      this.#options.onUpdate?.({ kind: 'group', traceIds: [...traceIds], spans: spans.length, findings: [], edges: [], task: null });
      return;
    }
    const recorder = this.#options.explain ? new ExplainRecorder() : undefined;
    let model: HandoffGraph['model'];
    let graph: HandoffGraph;
    try {
      model = buildHandoffModel(spans, recorder ? { dialects: this.#dialects, onInterpreted: recorder.onInterpreted } : { dialects: this.#dialects });
      graph = buildHandoffGraph(model);
    } catch (error) {
      // One group that cannot be read (a dialect's fault on data it did not expect) never hides the others.
      const reason = error instanceof Error ? error.message : String(error);
      this.#problems.push({ location: groupLocation(traceIds, spans), message: `could not be analyzed (${reason}); the other traces were audited` });
      if (recorder) this.#keepExplanation(recorder.explain(spans, traceIds, undefined, reason));
      return;
    }
    if (recorder) this.#keepExplanation(recorder.explain(spans, traceIds, model));
    for (const v of model.conventionsVersions) this.#versions.add(v);
    for (const usage of model.dialects) {
      let total = this.#dialectUsage.get(usage.id);
      if (!total) this.#dialectUsage.set(usage.id, (total = { spans: 0, interpreted: 0, traceGroups: 0 }));
      total.spans += usage.spans;
      total.interpreted += usage.interpreted;
      total.traceGroups++;
    }
    try {
      this.#analyzeGraph(graph, traceIds);
    } catch (error) {
      this.#problems.push({
        location: groupLocation(traceIds, spans),
        message: `could not be checked (${error instanceof Error ? error.message : String(error)}); the other traces were audited`,
      });
    }
  }

  #keepExplanation(explanation: TraceExplanation): void {
    if (this.#explained.length < (this.#options.maxExplainedGroups ?? 1000)) this.#explained.push(explanation);
    else this.#explainTruncated++;
  }

  #claimsAny(spans: readonly SpanRecord[]): boolean {
    const dialects = this.#dialects;
    for (let i = 0; i < spans.length; i++) {
      for (let d = 0; d < dialects.length; d++) if (dialects[d]!.claims(spans[i]!)) return true;
    }
    return false;
  }

  readonly #addAgent = (agent: string): void => void this.#agents.add(agent);

  #analyzeGraph(handoffGraph: HandoffGraph, traceIds: readonly string[]): void {
    const { model } = handoffGraph;
    forEachAgentOf(handoffGraph, this.#addAgent);
    const edges = handoffEdgesOf(handoffGraph);
    for (let i = 0; i < edges.length; i++) this.#handoffEdges.add(`${edges[i]!.source}\u0000${edges[i]!.target}`);
    // Declared dependencies are wait-for edges (dependency → dependent, the way data flows):
    // a deadlock is a cycle of them even when no handoff on it ever happened.
    // Indexed loops over the model's lists: for one large group this runs once, before V8 optimizes
    // it, and an iterator there allocates a result per element.
    const runs = model.agentRuns;
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      let tally = this.#agentRuns.get(run.agent);
      if (tally === undefined) this.#agentRuns.set(run.agent, (tally = { runs: 0, completed: 0, failed: 0, blocked: 0 }));
      tally.runs++;
      if (run.outcome !== undefined) tally[run.outcome]++;
      for (let j = 0; j < run.dependsOn.length; j++) {
        const dependency = run.dependsOn[j]!;
        if (dependency === run.agent) continue;
        this.#agents.add(dependency);
        this.#dependencyEdges.set(`${dependency}\u0000${run.agent}`, { source: dependency, target: run.agent });
      }
    }
    const edgeDeltas = this.#edges.add(handoffGraph, this.#options.onUpdate !== undefined);
    const handoffs = model.handoffs;
    for (let i = 0; i < handoffs.length; i++) {
      const handoff = handoffs[i]!;
      if (handoff.acks.length > 0) {
        this.#unacked.delete(handoff.id);
        continue;
      }
      const budget = handoff.send?.timeoutBudgetMs;
      if (handoff.kind !== 'message' || !handoff.send || budget === undefined) continue;
      this.#unacked.set(handoff.id, { source: handoff.source, target: handoff.target, deadlineMs: handoff.send.startMs + budget, budgetMs: budget });
    }
    const now = this.#nowMs();
    const groupFindings: Finding[] = [];
    for (const rule of this.#rules) {
      if (!rule.run) continue;
      // A rule whose lists are all empty here would return nothing and remember nothing (rule.ts `reads`).
      if (rule.reads !== undefined && readsNothingIn(model, rule.reads)) continue;
      const result = rule.run.group(handoffGraph, now);
      this.#tally(rule, result, false);
      for (const finding of result.findings) groupFindings.push(finding);
    }
    let task: TaskSummary | null = null;
    if (model.agentRuns.length > 0 || model.handoffs.length > 0) {
      // A live view gets every task with its critical path; otherwise only the slowest tasks are
      // kept, so only theirs is worked out (#keepSlowest).
      const live = this.#options.onUpdate !== undefined;
      // Every task the group holds counts: two tasks run under one trace (a batch job's span over both, two runs of
      // one app span at once) are two, with one summary. A run inside another's (an agent called as a tool, in a
      // session of its own) works for the enclosing run's task, whatever id it carries.
      const endMs = model.horizon.endMs;
      task = summarizeTask(model, live, (id) => this.#countTask(id, endMs));
      if (task) {
        this.#countTask(task.taskId, endMs);
        this.#shares.add(task.coordinationShare);
        this.#keepSlowest(task, live ? undefined : model);
      }
    }
    this.#options.onUpdate?.({ kind: 'group', traceIds: [...traceIds], spans: model.spanCount, findings: groupFindings, edges: edgeDeltas, task });
  }

  /** Tasks are keyed by task id across groups: a task whose trace context was lost counts once. */
  #countTask(taskId: string | null, atMs: number): void {
    if (taskId === null) {
      this.#tasks++;
      return;
    }
    if (!this.#taskIds.has(taskId)) this.#tasks++;
    this.#taskIds.set(taskId, atMs);
  }

  #tally(rule: RuleState, result: DetectorResult, push: boolean): void {
    rule.checked += result.checked;
    rule.findings += result.findings.length;
    for (const ne of result.notEvaluated) rule.notEvaluated.set(ne.reason, (rule.notEvaluated.get(ne.reason) ?? 0) + ne.count);
    const maxFindings = this.#options.maxFindings ?? 10_000;
    for (const finding of result.findings) {
      this.#severityCounts[finding.severity]++;
      if (this.#findings.length < maxFindings) this.#findings.push(finding);
      else this.#findingsTruncated++;
      if (finding.path && this.#cycles.size < 20) {
        const key = finding.path.join('\u0000');
        if (!this.#cycles.has(key)) this.#cycles.set(key, finding.path);
      }
    }
    if (push && result.findings.length > 0) this.#options.onUpdate?.({ kind: 'findings', findings: [...result.findings] });
  }

  /** Keeps the task if it is among the slowest; `model` given: its critical path is still to be added. */
  #keepSlowest(summary: TaskSummary, model: HandoffModel | undefined): void {
    const limit = this.#options.slowestTasks ?? 20;
    if (limit <= 0) return;
    const kept = this.#slowest.length < limit || compareSlowestFirst(summary, this.#slowest[this.#slowest.length - 1]!) < 0;
    if (!kept) return;
    const task = model ? { ...summary, criticalPath: criticalPath(model) } : summary;
    if (this.#slowest.length < limit) {
      this.#slowest.push(task);
    } else {
      this.#slowest[this.#slowest.length - 1] = task;
    }
    this.#slowest.sort(compareSlowestFirst);
  }
}

/**
 * Records the `at`-th span of an open trace (in arrival order) in its sets of span ids seen and
 * parents missing. The id set is made at the second span: a one-span trace needs none.
 */
function noteSpanIds(trace: OpenTrace, span: SpanRecord, at: number): void {
  let ids = trace.ids;
  if (ids === undefined && at > 0) ids = trace.ids = new Set([trace.spans[0]!.spanId]);
  if (ids !== undefined) ids.add(span.spanId);
  if (trace.missingParents !== undefined) trace.missingParents.delete(span.spanId);
  const parent = span.parentSpanId;
  if (parent !== '' && (ids === undefined ? parent !== span.spanId : !ids.has(parent))) (trace.missingParents ??= new Set()).add(parent);
}

/** `trace 4bf9… (file.json:3)`, with how many linked traces share the group. */
function groupLocation(traceIds: readonly string[], spans: readonly SpanRecord[]): string {
  const first = [...traceIds].sort()[0] ?? '';
  const source = spans[0]?.source;
  const others = traceIds.length > 1 ? ` and ${traceIds.length - 1} linked` : '';
  return `trace ${first}${others}${source ? ` (${source})` : ''}`;
}

/** Values shared by compaction (#shared): short ones only, where a copy per span costs the most relative to its length. */
const MAX_SHARED_LENGTH = 64;
const MAX_SHARED_VALUES = 65_536;

const EMPTY: Readonly<Record<string, AttributeValue>> = Object.freeze(Object.create(null) as Record<string, AttributeValue>);
const NO_LINKS: SpanRecord['links'] = Object.freeze([]);
const NO_EVENTS: SpanRecord['events'] = Object.freeze([]);
/** How much of a failed span's status message a reduced span keeps. */
const MAX_KEPT_STATUS_CHARS = 512;

/** Audits a stream of span batches (from ingest) and returns the report. */
export async function auditSpans(
  batches: AsyncIterable<readonly SpanRecord[]> | Iterable<readonly SpanRecord[]>,
  options: AuditOptions = {},
): Promise<AuditReport> {
  const auditor = new Auditor(options);
  for await (const batch of batches) auditor.addSpans(batch);
  return auditor.finish();
}

/** True when the report has a finding at or above `threshold`. */
export function hasFindingsAtOrAbove(report: AuditReport, threshold: Severity): boolean {
  const rank = SEVERITY_RANK[threshold];
  for (const severity of ['error', 'warning', 'info'] as const) {
    if (SEVERITY_RANK[severity] >= rank && report.severityCounts[severity] > 0) return true;
  }
  return false;
}

/** Slowest first; ties by trace id, so the report does not depend on the order groups close in. */
function compareSlowestFirst(a: TaskSummary, b: TaskSummary): number {
  return b.wallMs - a.wallMs || (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0);
}

/**
 * Whether an open trace or group has been quiet long enough to close: nothing ended within the idle
 * time (or, looking complete, the short one), and, when arrival times are known, nothing arrived
 * within the incomplete group's idle time or the complete one's arrival quiet time.
 */
function isQuiet(
  open: { readonly maxEndMs: number; readonly arrivedMs: number },
  complete: boolean,
  cutoff: number,
  completeCutoff: number,
  arrivalCutoff: number,
): boolean {
  if (open.maxEndMs < cutoff && open.arrivedMs < cutoff) return true;
  return complete && open.maxEndMs < completeCutoff && open.arrivedMs < arrivalCutoff;
}

/**
 * The smallest value pushed at or after a time, over a window that only moves forward (a
 * monotonic queue: each entry is pushed and dropped once).
 */
class RecentMinimum {
  readonly #at: number[] = [];
  readonly #value: number[] = [];
  #head = 0;

  push(atMs: number, value: number): void {
    while (this.#at.length > this.#head && this.#value[this.#value.length - 1]! >= value) {
      this.#at.pop();
      this.#value.pop();
    }
    this.#at.push(atMs);
    this.#value.push(value);
  }

  /** The smallest value pushed at `sinceMs` or later (+Infinity if none); forgets older entries. */
  minSince(sinceMs: number): number {
    while (this.#head < this.#at.length && this.#at[this.#head]! < sinceMs) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#at.length) {
      this.#at.splice(0, this.#head);
      this.#value.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#head < this.#at.length ? this.#value[this.#head]! : Number.POSITIVE_INFINITY;
  }
}
