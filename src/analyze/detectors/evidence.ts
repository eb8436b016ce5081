/** Builds finding evidence from span references: deduplicated ids, trace of the first, its start time. */
import type { Evidence } from '../../model/finding.js';
import type { SpanRef } from '../../model/handoff-model.js';
import { hasHandoffGraph } from '../build-graph.js';

/** At most this many spans name a finding's evidence: enough to find it, bounded whatever the input. */
export const MAX_EVIDENCE_SPANS = 50;

export function evidenceOf(refs: readonly (Pick<SpanRef, 'traceId' | 'spanId' | 'startMs'> | undefined)[]): Evidence {
  const spanIds: string[] = [];
  const seen = new Set<string>();
  const traceIds: string[] = [];
  let first: Pick<SpanRef, 'traceId' | 'spanId' | 'startMs'> | undefined;
  for (let i = 0; i < refs.length && spanIds.length < MAX_EVIDENCE_SPANS; i++) {
    const ref = refs[i];
    if (!ref || seen.has(ref.spanId)) continue;
    first ??= ref;
    seen.add(ref.spanId);
    spanIds.push(ref.spanId);
    if (!traceIds.includes(ref.traceId)) traceIds.push(ref.traceId);
  }
  return { traceId: first?.traceId ?? '', spanIds, traceIds, startMs: first?.startMs ?? 0 };
}

/** `1234.5` → `1235 ms`, `0.42` → `0.42 ms`, `61234` → `61.2 s`. */
export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (Math.abs(ms) >= 10) return `${Math.round(ms)} ms`;
  // Below 10 ms, whole milliseconds would say "0 ms earlier" of a 0.4 ms gap, which reads as no gap at all:
  // two decimals, trailing zeros dropped, and a positive gap too small even for that is "<0.01 ms".
  if (ms > 0 && ms < 0.005) return '<0.01 ms';
  return `${Number(ms.toFixed(2))} ms`;
}

/** Throws a detector's input error, prefixed with its module name, as graphology-dag does. */
export function assertGraph(rule: string, value: unknown): void {
  const graph = value as { model?: unknown; graph?: unknown } | null;
  // hasHandoffGraph: reading `graph` would build the graphology graph, which the rules never use.
  if (!graph || typeof graph !== 'object' || !graph.model || !hasHandoffGraph(graph)) {
    throw new TypeError(`${rule}: expected a HandoffGraph ({ model, graph }) from buildHandoffGraph`);
  }
}

/** `a → b → c`, with the middle elided past `max` agents so a 10k-hop chain stays one readable line. */
export function formatPath(agents: readonly string[], max = 12): string {
  if (agents.length <= max) return agents.join(' → ');
  const half = Math.floor((max - 1) / 2);
  return `${agents.slice(0, half).join(' → ')} → … (${agents.length - 2 * half} more) … → ${agents.slice(-half).join(' → ')}`;
}
