/**
 * What detectors report. Rule ids are stable forever: retire one, never rename it.
 */

export type Severity = 'error' | 'warning' | 'info';

/** Ranks severities for --fail-on and sorting: higher is worse. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };

export interface Evidence {
  /** The trace of the first evidence span. */
  readonly traceId: string;
  /** The spans that show the problem, most telling first. */
  readonly spanIds: readonly string[];
  /**
   * Every trace the evidence spans are in, the first one first: state rules see
   * the whole input, so a stale read and the write it missed can be in two traces.
   */
  readonly traceIds: readonly string[];
  /** Milliseconds since the Unix epoch of the first evidence span. */
  readonly startMs: number;
}

export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  /** One sentence naming the agents, keys or topics involved. */
  readonly message: string;
  /** What to change: the production pattern that prevents it. */
  readonly hint: string;
  readonly evidence: Evidence;
  /** The agents involved, for grouping and filtering. */
  readonly agents: readonly string[];
  readonly taskId?: string;
  /** For a cycle, its agents in order, the first repeated at the end (`a → b → a`). */
  readonly path?: readonly string[];
}

/** Why a check could not run on some of the data: a clean report never comes from missing evidence. */
export interface NotEvaluated {
  readonly count: number;
  /**
   * What was not checked, as a plural noun phrase the count reads before
   * (`handoffs without baton.timeout_budget_ms`); renderers make its head noun
   * singular for a count of 1 (`1 handoff without …`).
   */
  readonly reason: string;
}

/** What one detector returns for one trace group. */
export interface DetectorResult {
  readonly findings: Finding[];
  /** How many candidates (handoffs, reads, writes, chains...) the rule checked. */
  readonly checked: number;
  readonly notEvaluated: NotEvaluated[];
}

/** Sorts findings by evidence start time, then first span id (stable output). */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    a.evidence.startMs - b.evidence.startMs ||
    compareCodeUnits(a.evidence.spanIds[0] ?? '', b.evidence.spanIds[0] ?? '') ||
    compareCodeUnits(a.ruleId, b.ruleId)
  );
}

/**
 * Plain code-unit order: the same on every machine (localeCompare depends on the
 * locale, and its first call loads ICU's collator, ~80 ms measured in a 1 s audit).
 */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
