/** Builds finding evidence from span references: deduplicated ids, trace of the first, its start time. */
import type { Evidence } from '../../model/finding.js';
import type { SpanRef } from '../../model/handoff-model.js';

export function evidenceOf(refs: readonly (SpanRef | undefined)[]): Evidence {
  const spanIds: string[] = [];
  let first: SpanRef | undefined;
  for (const ref of refs) {
    if (!ref) continue;
    first ??= ref;
    if (!spanIds.includes(ref.spanId)) spanIds.push(ref.spanId);
  }
  return { traceId: first?.traceId ?? '', spanIds, startMs: first?.startMs ?? 0 };
}

/** `1234.5` → `1235 ms`, `61234` → `61.2 s`. */
export function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** Throws a detector's input error, prefixed with its module name, as graphology-dag does. */
export function assertGraph(rule: string, value: unknown): void {
  const graph = value as { model?: unknown; graph?: unknown } | null;
  if (!graph || typeof graph !== 'object' || !graph.model || !graph.graph) {
    throw new TypeError(`${rule}: expected a HandoffGraph ({ model, graph }) from buildHandoffGraph`);
  }
}
