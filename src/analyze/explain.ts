/**
 * `--explain`: how one trace group was read. Collects what each dialect
 * claimed, made of its spans (the part types) and ignored (with the reason it
 * gave), the spans no dialect knew, the parents missing from the data, and how
 * each edge of the assembled model was known (declared by the spans or
 * inferred from their structure), so a user can see why an edge is missing.
 *
 * Only built when asked: the Auditor passes `ExplainRecorder.onInterpreted` to
 * buildHandoffModel, which otherwise calls nothing.
 */
import type { ExplainedEdge, ExplainedSpan, TraceExplanation } from '../model/audit-report.js';
import type { HandoffModel } from '../model/handoff-model.js';
import type { SpanRecord } from '../model/span-record.js';
import type { DialectResult } from './dialects/dialect.js';

/** Interpreted and ignored spans listed per group (the counts stay exact). */
export const MAX_EXPLAINED_SPANS = 200;
const MAX_NAMES = 10;

/** Records one group's dialect results, then explains the group. One per group. */
export class ExplainRecorder {
  readonly #results: { dialect: string; claimed: readonly SpanRecord[]; result: DialectResult }[] = [];

  /** The callback buildHandoffModel takes as `onInterpreted`. */
  readonly onInterpreted = (dialect: string, claimed: readonly SpanRecord[], result: DialectResult): void => {
    this.#results.push({ dialect, claimed, result });
  };

  /** The explanation of the group whose spans are `spans` and whose model is `model` (undefined when analysis failed with `error`). */
  explain(spans: readonly SpanRecord[], traceIds: readonly string[], model: HandoffModel | undefined, error?: string): TraceExplanation {
    const claimedBy = new Map<string, string>();
    const dialects: { id: string; claimed: number; interpreted: number; ignored: number }[] = [];
    const interpreted: ExplainedSpan[] = [];
    const ignored: ExplainedSpan[] = [];
    let omitted = 0;
    let chosen: string | null = null;
    let most = 0;
    for (const { dialect, claimed, result } of this.#results) {
      for (let i = 0; i < claimed.length; i++) claimedBy.set(claimed[i]!.spanId, dialect);
      // One span can yield several parts (a send to each of three recipients): listed once, with every reading.
      const readings = new Map<string, { span: SpanRecord; as: string[] }>();
      for (const part of result.parts) {
        let entry = readings.get(part.span.spanId);
        if (!entry) readings.set(part.span.spanId, (entry = { span: part.span, as: [] }));
        if (!entry.as.includes(part.type)) entry.as.push(part.type);
      }
      for (const { span, as } of readings.values()) {
        if (interpreted.length < MAX_EXPLAINED_SPANS) interpreted.push({ spanId: span.spanId, name: span.name, dialect, readAs: as.join(', ') });
        else omitted++;
      }
      for (const { span, reason } of result.ignored) {
        if (ignored.length < MAX_EXPLAINED_SPANS) ignored.push({ spanId: span.spanId, name: span.name, dialect, reason });
        else omitted++;
      }
      dialects.push({ id: dialect, claimed: claimed.length, interpreted: readings.size, ignored: result.ignored.length });
      if (claimed.length > most) {
        most = claimed.length;
        chosen = dialect;
      }
    }
    const ids = new Set<string>();
    for (let i = 0; i < spans.length; i++) ids.add(spans[i]!.spanId);
    const unclaimedNames: string[] = [];
    let unclaimed = 0;
    const missing: string[] = [];
    const missingSeen = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (!claimedBy.has(span.spanId)) {
        unclaimed++;
        if (unclaimedNames.length < MAX_NAMES && !unclaimedNames.includes(span.name)) unclaimedNames.push(span.name);
      }
      if (span.parentSpanId !== '' && !ids.has(span.parentSpanId) && !missingSeen.has(span.parentSpanId)) {
        missingSeen.add(span.parentSpanId);
        if (missing.length < MAX_NAMES) missing.push(span.parentSpanId);
      }
    }
    const explanation: TraceExplanation = {
      traceIds: [...traceIds].sort(),
      spans: spans.length,
      dialect: chosen,
      dialects,
      interpreted,
      ignored,
      unclaimed: { count: unclaimed, names: unclaimedNames },
      missingParents: { count: missingSeen.size, spanIds: missing },
      edges: model ? edgesOf(model) : [],
      omitted,
    };
    return error === undefined ? explanation : { ...explanation, error };
  }
}

/** The model's edges, each with how many of its handoffs were declared and how many inferred. */
function edgesOf(model: HandoffModel): ExplainedEdge[] {
  const edges = new Map<string, { source: string; target: string; handoffs: number; declared: number; inferred: number; dialects: string[] }>();
  for (const handoff of model.handoffs) {
    const key = `${handoff.source}\u0000${handoff.target}`;
    let edge = edges.get(key);
    if (!edge) edges.set(key, (edge = { source: handoff.source, target: handoff.target, handoffs: 0, declared: 0, inferred: 0, dialects: [] }));
    edge.handoffs++;
    if (handoff.inferred) edge.inferred++;
    else edge.declared++;
    if (!edge.dialects.includes(handoff.dialect)) edge.dialects.push(handoff.dialect);
  }
  return [...edges.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}
