/**
 * The result of an audit: findings, what each rule could and could not check,
 * coordination latency per edge, and per-task coordination share. This is the
 * shape `baton audit --format json` prints (docs/audit-report.schema.json).
 */
import type { Finding, NotEvaluated, Severity } from './finding.js';

/** Version of this report shape; bumped on any breaking change. */
export const AUDIT_REPORT_VERSION = '1';

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
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

export interface RuleSummary {
  readonly ruleId: string;
  readonly findings: number;
  readonly checked: number;
  readonly notEvaluated: readonly NotEvaluated[];
  /** True when the rule checked nothing at all: its silence says nothing. */
  readonly couldNotRun: boolean;
}

/** A bad input that was skipped (other inputs were still audited). */
export interface InputProblem {
  readonly location: string;
  readonly message: string;
}

export interface AuditReport {
  readonly reportVersion: typeof AUDIT_REPORT_VERSION;
  readonly inputs: {
    readonly spans: number;
    readonly traces: number;
    readonly traceGroups: number;
    /** Spans that follow Baton's conventions (any baton.operation). */
    readonly batonSpans: number;
    readonly conventionsVersions: readonly string[];
    readonly problems: readonly InputProblem[];
  };
  readonly findings: readonly Finding[];
  /** How many findings were dropped past the report's limit (counts in rules stay exact). */
  readonly findingsTruncated: number;
  readonly rules: readonly RuleSummary[];
  readonly edges: readonly EdgeStats[];
  readonly agents: readonly string[];
  /**
   * Declared dependencies (`baton.agent.depends_on`) along which no handoff was seen, as
   * wait-for edges dependency → dependent: how agents can deadlock without handing off.
   */
  readonly dependencies: readonly { readonly source: string; readonly target: string }[];
  /** Cycles over handoff and dependency edges of all traces (for graph output), each as a path a → b → a. */
  readonly cycles: readonly (readonly string[])[];
  readonly tasks: {
    readonly count: number;
    /** Distribution of coordination share over tasks, 0..1. */
    readonly coordinationShare: LatencySummary | null;
    /** The slowest tasks, in detail. */
    readonly slowest: readonly TaskSummary[];
  };
  readonly severityCounts: Readonly<Record<Severity, number>>;
}
