/**
 * The shape every rule has. A rule is one file: its id, description, worst
 * severity and a `create` that returns a run over one input. Most rules look
 * at one trace group at a time (`group`); rules about shared state keep an
 * index over the whole input, because state lives in a store, not in a trace:
 * they report from `advance` once the data before a time is complete, and
 * from `finish` when the input ends. Modelled on ESLint's rule files, which
 * keep a rule's identity (meta) beside its logic.
 */
import type { DetectorResult, Severity } from '../../model/finding.js';
import type { HandoffGraph } from '../../model/handoff-model.js';

/** One rule's analysis over one input (a file set, or a live stream). */
export interface RuleRun {
  /**
   * One closed trace group. `nowMs` is the time checks take as now: `--now`,
   * or the watermark (the latest span end seen so far).
   */
  group(graph: HandoffGraph, nowMs: number): DetectorResult;
  /**
   * Everything that ends before `completeBeforeMs` has been seen: report what
   * that settles (a budget that ran out, a read staler than a committed write)
   * and forget what no later data can change. Optional.
   */
  advance?(completeBeforeMs: number): DetectorResult;
  /** The input ended; `nowMs` is the end of all input, or `--now`. Optional. */
  finish?(nowMs: number): DetectorResult;
}

/** The lists of a HandoffModel a rule's `group` can read. */
export type ModelList = 'handoffs' | 'agentRuns' | 'stateAccesses' | 'events';

/**
 * True when every list in `reads` is empty in the model: a rule that reads only
 * those would find nothing, count nothing and remember nothing in it.
 */
export function readsNothingIn(model: HandoffGraph['model'], reads: readonly ModelList[]): boolean {
  for (let i = 0; i < reads.length; i++) if (model[reads[i]!].length > 0) return false;
  return true;
}

export interface RuleDefinition<O> {
  /** Stable forever: retire, never rename. */
  readonly id: string;
  /** One line for `--help` and reports. */
  readonly description: string;
  /** The worst severity the rule reports. */
  readonly severity: Severity;
  /**
   * The model lists `group` reads, and nothing else of the group. In a group where
   * every one is empty, `group` must return no findings, no checks, no reasons and
   * change nothing the run remembers: the Auditor then skips the call (most small
   * groups of framework traces have no state accesses or events, some no handoffs).
   * test/analyze/detectors/reads.test.ts holds every rule to it. Omitted: always called.
   */
  readonly reads?: readonly ModelList[];
  /** Starts a run over one input. */
  create(options: O): RuleRun;
}

/** A result with nothing in it. */
export const NOTHING: DetectorResult = Object.freeze({ findings: [], checked: 0, notEvaluated: [] }) as DetectorResult;

/** Adds `count` to the reason's tally in `into` (reasons are merged by text). */
export function countReason(into: Map<string, number>, reason: string, count = 1): void {
  if (count > 0) into.set(reason, (into.get(reason) ?? 0) + count);
}

/**
 * A reason naming a dialect, made once per dialect: rules count one for every
 * in-process transfer, and a template string built each time is a new string
 * to hash on every count.
 */
export function reasonByDialect(text: (dialect: string) => string): (dialect: string) => string {
  const made = new Map<string, string>();
  return (dialect) => {
    let reason = made.get(dialect);
    if (reason === undefined) {
      reason = text(dialect);
      // Dialect ids are a handful; the bound only guards against a caller passing other text.
      if (made.size < 256) made.set(dialect, reason);
    }
    return reason;
  };
}

/** A Map of reason counts as NotEvaluated entries. */
export function reasonsOf(counts: ReadonlyMap<string, number>): { count: number; reason: string }[] {
  const out: { count: number; reason: string }[] = [];
  for (const [reason, count] of counts) out.push({ count, reason });
  return out;
}

/** A rule that looks at one trace group at a time, from its pure detect function. */
export function perGroupRule<O>(detect: (graph: HandoffGraph, options: O) => DetectorResult): (options: O) => RuleRun {
  return (options) => ({ group: (graph) => detect(graph, options) });
}

/**
 * Runs a whole-data rule over one graph as if it were the whole input: for
 * the detect* functions that tests and library users call on a single graph.
 */
export function runOnOneGraph(run: RuleRun, graph: HandoffGraph, nowMs: number): DetectorResult {
  const parts = [run.group(graph, nowMs), run.finish?.(nowMs) ?? NOTHING];
  const reasons = new Map<string, number>();
  const findings = [];
  let checked = 0;
  for (const part of parts) {
    findings.push(...part.findings);
    checked += part.checked;
    for (const ne of part.notEvaluated) countReason(reasons, ne.reason, ne.count);
  }
  return { findings, checked, notEvaluated: reasonsOf(reasons) };
}
