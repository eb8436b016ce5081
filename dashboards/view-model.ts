/**
 * The plain data the dashboard draws: what the live session knows, as of one
 * moment. Components read only this (never a socket, a session or the clock),
 * so a frame is a pure function of a view and tests build views by hand.
 * Text in it comes from traces: components print it through `printable`.
 */
import type { Severity } from '../src/model/finding.js';

/** Where spans come from. */
export type LiveMode = 'receive' | 'follow' | 'replay';

/** How many spans went where, since the start. Every span offered is in exactly one of accepted, rejected, throttled. */
export interface SpanCounters {
  /** Taken for analysis. */
  readonly accepted: number;
  /** Refused for good: invalid spans (partial success) or bad lines of a followed file. */
  readonly rejected: number;
  /** Refused with "retry later" under load (429 / RESOURCE_EXHAUSTED): the exporter sends them again. */
  readonly throttled: number;
  /** Of the accepted, those too old to join anything when they arrived (ended before the retention window), counted and not analyzed. */
  readonly agedOut: number;
  /** Requests that did not decode or broke a limit (their spans cannot be counted). */
  readonly badRequests: number;
  /** Accepted spans per second over the last few seconds. */
  readonly perSecond: number;
  /** Traces with spans still waiting for their group to close. */
  readonly tracesOpen: number;
  /** Traces analyzed (their group closed). */
  readonly tracesAnalyzed: number;
  /** Traces analyzed in more than one piece (late spans, memory cap). */
  readonly splitTraces: number;
  /** Spans queued between the receivers and the analysis. */
  readonly queued: number;
}

/** A handoff as one edge row remembers it, for the detail view. */
export interface RecentHandoff {
  readonly traceId: string;
  /** Send → receive, signed (negative is clock skew). */
  readonly latencyMs: number;
  /** When it was analyzed (the session's clock, ms since the epoch). */
  readonly atMs: number;
}

/** One source → target edge. */
export interface EdgeRow {
  /** `source\u0000target`: stable across views, for selection. */
  readonly key: string;
  readonly source: string;
  readonly target: string;
  readonly handoffs: number;
  /** Handoffs per minute over the last minute. */
  readonly perMinute: number;
  /** Sent and not yet received (as far as spans tell). */
  readonly inFlight: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** Relative error of the percentiles (sketch). */
  readonly relativeError: number;
  readonly failures: number;
  readonly retries: number;
  readonly skewedSamples: number;
  /** The latest latencies, oldest first (for the sparkline and histogram). */
  readonly recentLatenciesMs: readonly number[];
  /** The latest handoffs, newest first. */
  readonly recentHandoffs: readonly RecentHandoff[];
}

export type AgentState = 'working' | 'waiting' | 'idle' | 'failed';

export interface AgentRow {
  readonly name: string;
  readonly state: AgentState;
  /** Data time of its latest span (ms since the epoch); null when only the analysis named it. */
  readonly lastSeenMs: number | null;
  readonly task: string | null;
  /** The agents it sent work to and has no answer from yet. */
  readonly waitingOn: readonly string[];
}

export interface FindingRow {
  /** Unique within the session. */
  readonly id: number;
  readonly ruleId: string;
  readonly severity: Severity;
  readonly message: string;
  readonly agents: readonly string[];
  readonly traceId: string;
  /** When the session learned of it (its clock). */
  readonly foundAtMs: number;
}

/** Everything one frame shows. */
export interface LiveView {
  readonly mode: LiveMode;
  /** The command shown as the header's title and the summary's lead: `baton watch` when absent. */
  readonly title?: string;
  /** `OTLP/HTTP http://127.0.0.1:4318`, `following runs.jsonl`, …: what the header names. */
  readonly sources: readonly string[];
  /** The session's clock (wall time, or replayed time), ms since the epoch. */
  readonly nowMs: number;
  readonly counters: SpanCounters;
  /** Sorted worst first (p95, then failures, then count). */
  readonly edges: readonly EdgeRow[];
  readonly agents: readonly AgentRow[];
  /** Newest first. */
  readonly findings: readonly FindingRow[];
  /** Findings in total (the list is capped). */
  readonly findingsTotal: number;
  /** `--record` file and how many spans went to it, when recording. */
  readonly recording: { readonly path: string; readonly spans: number } | null;
  /** True once the input ended (a replay or a followed file that was closed) and everything was analyzed. */
  readonly done: boolean;
  /** A one-line problem to show (a bad line in a followed file, a write error of --record). */
  readonly notice: string | null;
}
