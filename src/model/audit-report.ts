/**
 * The result of an audit: findings, what each rule could and could not check,
 * coordination latency per edge, and per-task coordination share. This is the
 * shape `baton audit --format json` prints (docs/audit-report.schema.json).
 */
import type { Finding, NotEvaluated, Severity } from './finding.js';


/**
 * Version of this report shape; bumped on any breaking change.
 * 2: `inputs.dialects` replaces `inputs.batonSpans`; rules carry description,
 * severity and status (`off` rules are listed); latencies are signed with a
 * `min` and per-edge skew counts; sketch-based percentiles state their error.
 */
export const AUDIT_REPORT_VERSION = '2';

/**
 * A latency distribution in milliseconds. Percentiles come from a mergeable
 * sketch: each is within `relativeError` of the exact nearest-rank value;
 * count, min and max are exact. Values may be negative (clock skew).
 */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  /** Bound on the relative error of p50/p95/p99 (0 when exact). */
  readonly relativeError: number;
}

/** Coordination cost of one directed source → target edge. All times in milliseconds. */
export interface EdgeStats {
  readonly source: string;
  readonly target: string;
  readonly handoffs: number;
  /** Send start → (first) receive start. */
  readonly latencyMs: LatencySummary | null;
  /** Send start → acknowledgement. */
  readonly ackLatencyMs: LatencySummary | null;
  /** Send-side plus receive-side validation time per handoff. */
  readonly validationMs: LatencySummary | null;
  /** Handoffs with a validation failure or a late or missing acknowledgement. */
  readonly failures: number;
  /** Handoffs with attempt > 1 or received more than once. */
  readonly retries: number;
  /** Of `handoffs`, those passed in-process as one span (`transfer`), the rest being messages. */
  readonly transfers: number;
  /**
   * Latency samples (send → receive or send → ack) that were negative: the
   * receiver's clock is behind the sender's. Kept in the percentiles with their
   * sign, never folded into zero.
   */
  readonly skewedSamples: number;
}

export interface CriticalPathSegment {
  /** An agent name, `a → b` for a handoff, or the span name. */
  readonly label: string;
  readonly kind: 'agent' | 'coordination' | 'other';
  readonly ms: number;
}

/** One task (trace group): where its wall time went. */
export interface TaskSummary {
  readonly taskId: string | null;
  readonly traceId: string;
  readonly wallMs: number;
  readonly agentMs: number;
  readonly coordinationMs: number;
  /** coordinationMs / wallMs, 0..1. */
  readonly coordinationShare: number;
  readonly criticalPath: readonly CriticalPathSegment[];
}

/**
 * `ran`: the rule checked something; `could-not-run`: it was on but nothing in
 * the data let it check (its silence says nothing); `off`: switched off in the
 * config or left out by `--rule`.
 */
export type RuleStatus = 'ran' | 'could-not-run' | 'off';

export interface RuleSummary {
  readonly ruleId: string;
  readonly description: string;
  /** The worst severity the rule reports. */
  readonly severity: Severity;
  readonly status: RuleStatus;
  readonly findings: number;
  readonly checked: number;
  readonly notEvaluated: readonly NotEvaluated[];
  /** True when the rule was on and checked nothing at all (status `could-not-run`). */
  readonly couldNotRun: boolean;
}

/** How many spans one dialect claimed and interpreted over the whole input. */
export interface DialectSummary {
  readonly id: string;
  readonly spans: number;
  readonly interpreted: number;
  /** Trace groups it read. */
  readonly traceGroups: number;
}

/** A bad input that was skipped (other inputs were still audited). */
export interface InputProblem {
  readonly location: string;
  readonly message: string;
}

/** A span as `--explain` names it. */
export interface ExplainedSpan {
  readonly spanId: string;
  readonly name: string;
  /** The dialect that claimed it. */
  readonly dialect: string;
  /** What it was read as (`agent-run`, `send`, `receive`, `transfer`, `delivery`, …), for an interpreted span. */
  readonly readAs?: string;
  /** Why it was not used, for an ignored span. */
  readonly reason?: string;
}

/** One handoff edge of a trace group, and how it was known. */
export interface ExplainedEdge {
  readonly source: string;
  readonly target: string;
  readonly handoffs: number;
  /** Handoffs the spans declared (attributes, send and receive spans). */
  readonly declared: number;
  /** Handoffs the dialect inferred from span structure (a tool's name, nesting). */
  readonly inferred: number;
  readonly dialects: readonly string[];
}

/**
 * How one trace group was read, for `baton audit --explain`: which dialect read
 * it, what each claimed span became or why it was ignored, which spans no
 * dialect knew, and how each edge was known. Lists are capped; the counts are exact.
 */
export interface TraceExplanation {
  readonly traceIds: readonly string[];
  readonly spans: number;
  /** The dialect that claimed the most spans (null: none claimed any). */
  readonly dialect: string | null;
  readonly dialects: readonly { readonly id: string; readonly claimed: number; readonly interpreted: number; readonly ignored: number }[];
  readonly interpreted: readonly ExplainedSpan[];
  readonly ignored: readonly ExplainedSpan[];
  /** Spans no dialect claimed (kept for timing only), and up to 10 of their distinct names. */
  readonly unclaimed: { readonly count: number; readonly names: readonly string[] };
  /** Parent span ids referred to but not in the data (the parent was not exported, or is in another file), up to 10, and their count. */
  readonly missingParents: { readonly count: number; readonly spanIds: readonly string[] };
  readonly edges: readonly ExplainedEdge[];
  /** Interpreted and ignored spans left out of the lists past their cap. */
  readonly omitted: number;
  /** Set when the group could not be analyzed: why (the other groups were). */
  readonly error?: string;
}

/** How one agent's runs ended, over all the input. */
export interface AgentRunSummary {
  readonly agent: string;
  readonly runs: number;
  readonly completed: number;
  readonly failed: number;
  readonly blocked: number;
}

export interface AuditReport {
  readonly reportVersion: typeof AUDIT_REPORT_VERSION;
  readonly inputs: {
    readonly spans: number;
    readonly traces: number;
    readonly traceGroups: number;
    /** The dialects that read the input, in priority order. */
    readonly dialects: readonly DialectSummary[];
    readonly conventionsVersions: readonly string[];
    readonly problems: readonly InputProblem[];
    /** Earliest span start and latest span end over the input (ms since the epoch); null when empty. */
    readonly horizon: { readonly startMs: number; readonly endMs: number } | null;
    /** The time checks used as "now": `--now`, else the end of all input (the stream's watermark). */
    readonly nowMs: number | null;
    /**
     * Spans whose start and end are whole milliseconds. When this is most of
     * the input, latencies between spans are only millisecond-precise.
     */
    readonly wholeMsSpans: number;
    /** Traces that caps forced to be analyzed in more than one piece (0 unless memory limits were hit). */
    readonly splitTraces: number;
  };
  readonly findings: readonly Finding[];
  /** How many findings were dropped past the report's limit (counts in rules stay exact). */
  readonly findingsTruncated: number;
  readonly rules: readonly RuleSummary[];
  readonly edges: readonly EdgeStats[];
  readonly agents: readonly string[];
  /**
   * Per agent (sorted by name), its runs and how they ended, as the dialects read them: a run
   * whose outcome the source does not record counts in `runs` only. Agents seen only as the
   * source or target of a handoff, with no run of their own, are not listed.
   */
  readonly agentRuns: readonly AgentRunSummary[];
  /**
   * Declared dependencies (`baton.agent.depends_on`) along which no handoff was seen, as
   * wait-for edges dependency → dependent: how agents can deadlock without handing off.
   */
  readonly dependencies: readonly { readonly source: string; readonly target: string }[];
  /**
   * The cycles the dependency-cycle rule reported, each as a path a → b → a in
   * the finding's direction: circular delegations run the way work was handed
   * on; deadlocks run waiter → awaited (a waits on b).
   */
  readonly cycles: readonly (readonly string[])[];
  readonly tasks: {
    /** Distinct tasks: by task id across trace groups (the group's main task and that of every agent run no other run encloses), else one per trace group. */
    readonly count: number;
    /** Distribution of coordination share over tasks, 0..1. */
    readonly coordinationShare: LatencySummary | null;
    /** The slowest tasks, in detail. */
    readonly slowest: readonly TaskSummary[];
  };
  readonly severityCounts: Readonly<Record<Severity, number>>;
  /** Per trace group, how it was read: only with `--explain` (AuditOptions.explain). */
  readonly explain?: readonly TraceExplanation[];
  /** Trace groups left out of `explain` past its cap. */
  readonly explainTruncated?: number;
}
