/**
 * The audit: assembles spans into trace groups as they stream in, analyzes each
 * group once it is complete (detectors, edge latency, task summary), and keeps
 * only results, so memory is bounded by the open traces, not the input size.
 *
 * A group is the traces joined by span links (a receive that links to its send
 * in another trace). A group is complete when the input ends, or, while
 * streaming, when nothing of it has ended within `idleMs` of the newest span
 * seen (like the Collector's tail sampler waits `decision_wait`).
 */
import { DirectedGraph } from 'graphology';
import { hasCycle } from 'graphology-dag';
import {
  AUDIT_REPORT_VERSION,
  type AuditReport,
  type InputProblem,
  type RuleSummary,
  type TaskSummary,
} from '../model/audit-report.js';
import { BATON_OPERATION } from '../model/attributes.js';
import { compareFindings, SEVERITY_RANK, type Finding, type NotEvaluated, type Severity } from '../model/finding.js';
import type { HandoffGraph } from '../model/handoff-model.js';
import type { SpanRecord } from '../model/span-record.js';
import { findCyclePath } from '../graph/cycle-path.js';
import { buildHandoffGraph } from './build-graph.js';
import { buildHandoffModel } from './build-model.js';
import { DETECTORS, RULE_IDS, type RuleId, type RuleOptionsMap } from './detectors/index.js';
import { EdgeStatsAccumulator, SampleBuffer, summarizeTask } from './latency.js';

/** Per-rule settings: `false` turns a rule off; an object passes its options. */
export type RuleSettings = { readonly [R in RuleId]?: false | RuleOptionsMap[R] };

/** Options of {@link Auditor}. */
export interface AuditOptions {
  readonly rules?: RuleSettings;
  /** Run only these rules (after `rules` settings). Default: all. */
  readonly only?: readonly RuleId[];
  /**
   * The time "now" for checks that depend on it (never-acknowledged handoffs).
   * Default: each group's own horizon end, so a file audits the same whenever it runs.
   */
  readonly now?: number;
  readonly dialect?: string;
  /** Close a streaming group after this long (trace time) with nothing new. Default 300 000 (5 min). */
  readonly idleMs?: number;
  /** Close the oldest groups early when more spans than this are open. Default 1 000 000. */
  readonly maxOpenSpans?: number;
  /** Findings kept in the report (rule counts stay exact). Default 10 000. */
  readonly maxFindings?: number;
  /** Tasks kept in detail, slowest first. Default 20. */
  readonly slowestTasks?: number;
}

interface OpenTrace {
  spans: SpanRecord[];
  maxEndMs: number;
}

interface RuleTally {
  findings: number;
  checked: number;
  notEvaluated: Map<string, number>;
}

/** Union-find over trace ids, for grouping traces joined by links. */
class TraceUnion {
  readonly #parent = new Map<string, string>();

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

  add(id: string): void {
    if (!this.#parent.has(id)) this.#parent.set(id, id);
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.#parent.set(rb, ra);
  }

  forget(id: string): void {
    this.#parent.delete(id);
  }
}

/** Streams spans in, produces an AuditReport at the end. Pure: no I/O, no clock. */
export class Auditor {
  readonly #options: AuditOptions;
  readonly #rules: { id: RuleId; options: object }[] = [];
  readonly #open = new Map<string, OpenTrace>();
  readonly #union = new TraceUnion();
  readonly #closed = new Set<string>();
  readonly #edges = new EdgeStatsAccumulator();
  readonly #tallies = new Map<RuleId, RuleTally>();
  readonly #findings: Finding[] = [];
  readonly #severityCounts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  readonly #shares = new SampleBuffer();
  readonly #slowest: TaskSummary[] = [];
  readonly #agents = new Set<string>();
  readonly #globalEdges = new DirectedGraph();
  readonly #handoffEdges = new Set<string>();
  readonly #dependencyEdges = new Map<string, { readonly source: string; readonly target: string }>();
  readonly #versions = new Set<string>();
  readonly #problems: InputProblem[] = [];
  #findingsTruncated = 0;
  #openSpans = 0;
  #watermarkMs = Number.NEGATIVE_INFINITY;
  #spans = 0;
  #batonSpans = 0;
  #groups = 0;
  #traces = 0;
  #tasks = 0;
  #batchesSinceSweep = 0;

  constructor(options: AuditOptions = {}) {
    this.#options = options;
    for (const id of RULE_IDS) {
      const setting = options.rules?.[id];
      if (setting === false) continue;
      if (options.only && !options.only.includes(id)) continue;
      this.#rules.push({ id, options: setting ?? {} });
      this.#tallies.set(id, { findings: 0, checked: 0, notEvaluated: new Map() });
    }
  }

  /** Records an input that could not be read, for the report. */
  addProblem(problem: InputProblem): void {
    this.#problems.push(problem);
  }

  /** Adds a batch of spans; may analyze groups that became complete. */
  addSpans(batch: readonly SpanRecord[]): void {
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i]!;
      this.#spans++;
      if (span.attributes[BATON_OPERATION] !== undefined) this.#batonSpans++;
      if (this.#closed.has(span.traceId)) {
        // A late span of an analyzed trace: analyze it as its own group rather than lose it.
        this.#closed.delete(span.traceId);
      }
      let trace = this.#open.get(span.traceId);
      if (!trace) {
        trace = { spans: [], maxEndMs: span.endMs };
        this.#open.set(span.traceId, trace);
        this.#union.add(span.traceId);
      }
      trace.spans.push(span);
      if (span.endMs > trace.maxEndMs) trace.maxEndMs = span.endMs;
      if (span.endMs > this.#watermarkMs) this.#watermarkMs = span.endMs;
      this.#openSpans++;
      const links = span.links;
      for (let j = 0; j < links.length; j++) {
        const linked = links[j]!.traceId;
        if (linked === span.traceId || this.#closed.has(linked)) continue;
        this.#union.add(linked);
        this.#union.union(span.traceId, linked);
      }
    }
    // Sweeping costs a pass over open traces; do it every few batches or under memory pressure.
    if (++this.#batchesSinceSweep >= 64 || this.#openSpans > (this.#options.maxOpenSpans ?? 1_000_000)) {
      this.#batchesSinceSweep = 0;
      this.#sweep(false);
    }
  }

  /** Analyzes every open group and returns the report. */
  finish(): AuditReport {
    this.#sweep(true);
    const rules: RuleSummary[] = [];
    for (const { id } of this.#rules) {
      const tally = this.#tallies.get(id)!;
      const notEvaluated: NotEvaluated[] = [];
      for (const [reason, count] of tally.notEvaluated) notEvaluated.push({ reason, count });
      rules.push({
        ruleId: id,
        findings: tally.findings,
        checked: tally.checked,
        notEvaluated,
        couldNotRun: tally.checked === 0,
      });
    }
    this.#findings.sort(compareFindings);
    const cycles: string[][] = [];
    // Rebuilt in sorted order: which cycles are found must not depend on the order spans arrived in.
    const work = new DirectedGraph();
    for (const node of [...this.#globalEdges.nodes()].sort()) work.addNode(node);
    const edgeList: [string, string][] = [];
    this.#globalEdges.forEachEdge((_e, _a, source, target) => void edgeList.push([source, target]));
    edgeList.sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
    for (const [source, target] of edgeList) work.addDirectedEdge(source, target);
    while (cycles.length < 20 && hasCycle(work)) {
      const path = findCyclePath(work);
      if (!path) break;
      cycles.push(path);
      work.dropEdge(path[path.length - 2]!, path[path.length - 1]!);
    }
    return {
      reportVersion: AUDIT_REPORT_VERSION,
      inputs: {
        spans: this.#spans,
        traces: this.#traces,
        traceGroups: this.#groups,
        batonSpans: this.#batonSpans,
        conventionsVersions: [...this.#versions].sort(),
        problems: this.#problems,
      },
      findings: this.#findings,
      findingsTruncated: this.#findingsTruncated,
      rules,
      edges: this.#edges.summarize(),
      agents: [...this.#agents].sort(),
      dependencies: [...this.#dependencyEdges]
        .filter(([key]) => !this.#handoffEdges.has(key))
        .map(([, edge]) => edge)
        .sort((a, b) => a.source.localeCompare(b.source) || a.target.localeCompare(b.target)),
      cycles,
      tasks: {
        count: this.#tasks,
        coordinationShare: this.#shares.summarize(),
        slowest: this.#slowest,
      },
      severityCounts: { ...this.#severityCounts },
    };
  }

  #sweep(all: boolean): void {
    const idle = this.#options.idleMs ?? 300_000;
    const cutoff = this.#watermarkMs - idle;
    const groups = new Map<string, { traces: string[]; maxEndMs: number }>();
    for (const [traceId, trace] of this.#open) {
      const root = this.#union.find(traceId);
      let group = groups.get(root);
      if (!group) groups.set(root, (group = { traces: [], maxEndMs: Number.NEGATIVE_INFINITY }));
      group.traces.push(traceId);
      if (trace.maxEndMs > group.maxEndMs) group.maxEndMs = trace.maxEndMs;
    }
    const ready: { traces: string[]; maxEndMs: number }[] = [];
    for (const group of groups.values()) if (all || group.maxEndMs < cutoff) ready.push(group);
    // Over the memory cap: close the oldest groups too, until under half the cap.
    const cap = this.#options.maxOpenSpans ?? 1_000_000;
    if (!all && this.#openSpans > cap) {
      const rest = [...groups.values()].filter((g) => !ready.includes(g)).sort((a, b) => a.maxEndMs - b.maxEndMs);
      let open = this.#openSpans;
      for (const g of ready) for (const t of g.traces) open -= this.#open.get(t)!.spans.length;
      for (const g of rest) {
        if (open <= cap / 2) break;
        ready.push(g);
        for (const t of g.traces) open -= this.#open.get(t)!.spans.length;
      }
    }
    for (const group of ready) this.#analyzeGroup(group.traces);
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
    for (const id of traceIds) {
      this.#openSpans -= this.#open.get(id)!.spans.length;
      this.#open.delete(id);
      this.#union.forget(id);
      this.#closed.add(id);
    }
    this.#groups++;
    this.#traces += traceIds.length;
    const model = buildHandoffModel(spans);
    for (const v of model.conventionsVersions) this.#versions.add(v);
    const graph = buildHandoffGraph(model);
    this.#analyzeGraph(graph);
  }

  #analyzeGraph(handoffGraph: HandoffGraph): void {
    const { model, graph } = handoffGraph;
    graph.forEachNode((node) => {
      this.#agents.add(node);
      this.#globalEdges.mergeNode(node);
    });
    graph.forEachEdge((_e, _a, source, target) => {
      this.#globalEdges.mergeEdge(source, target);
      this.#handoffEdges.add(`${source}\u0000${target}`);
    });
    // Declared dependencies are wait-for edges (dependency → dependent, the way data flows):
    // a deadlock is a cycle of them even when no handoff on it ever happened.
    for (const run of model.agentRuns) {
      for (const dependency of run.dependsOn) {
        if (dependency === run.agent) continue;
        this.#agents.add(dependency);
        this.#globalEdges.mergeNode(dependency);
        this.#globalEdges.mergeNode(run.agent);
        this.#globalEdges.mergeEdge(dependency, run.agent);
        this.#dependencyEdges.set(`${dependency}\u0000${run.agent}`, { source: dependency, target: run.agent });
      }
    }
    this.#edges.add(handoffGraph);
    const maxFindings = this.#options.maxFindings ?? 10_000;
    for (const { id, options } of this.#rules) {
      const detectorOptions = id === 'ack-timeout' && this.#options.now !== undefined ? { now: this.#options.now, ...options } : options;
      const result = (DETECTORS[id].detect as (g: HandoffGraph, o: object) => ReturnType<(typeof DETECTORS)[typeof id]['detect']>)(
        handoffGraph,
        detectorOptions,
      );
      const tally = this.#tallies.get(id)!;
      tally.checked += result.checked;
      tally.findings += result.findings.length;
      for (const ne of result.notEvaluated) tally.notEvaluated.set(ne.reason, (tally.notEvaluated.get(ne.reason) ?? 0) + ne.count);
      for (const finding of result.findings) {
        this.#severityCounts[finding.severity]++;
        if (this.#findings.length < maxFindings) this.#findings.push(finding);
        else this.#findingsTruncated++;
      }
    }
    if (model.agentRuns.length > 0 || model.handoffs.length > 0) {
      const task = summarizeTask(model);
      if (task) {
        this.#tasks++;
        this.#shares.push(task.coordinationShare);
        this.#keepSlowest(task);
      }
    }
  }

  #keepSlowest(task: TaskSummary): void {
    const limit = this.#options.slowestTasks ?? 20;
    if (limit <= 0) return;
    if (this.#slowest.length < limit) {
      this.#slowest.push(task);
    } else if (compareSlowestFirst(task, this.#slowest[this.#slowest.length - 1]!) < 0) {
      this.#slowest[this.#slowest.length - 1] = task;
    } else {
      return;
    }
    this.#slowest.sort(compareSlowestFirst);
  }
}

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
