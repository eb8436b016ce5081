/**
 * Structural lookups over one trace group's spans: by id, parent, children,
 * nearest ancestor. The DialectContext every dialect gets, and what the
 * assembly uses to place state accesses in agent runs.
 *
 * Every walk up a parent chain is iterative and bounded by the number of
 * spans, so a span that is its own parent, a parent cycle or a million-deep
 * chain cannot loop or overflow the stack.
 */
import type { SpanRecord } from '../model/span-record.js';
import type { DialectContext } from './dialects/dialect.js';

const NO_CHILDREN: readonly SpanRecord[] = [];

/** Start order, then span id: the one order every record of the analyzer is sorted in. */
export function compareByStart(a: { readonly startMs: number; readonly spanId: string }, b: { readonly startMs: number; readonly spanId: string }): number {
  return a.startMs - b.startMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

/**
 * The first position in [0, length) where `before` is false, `before` being true on a prefix and
 * false after it (a partition point, found by binary search): with `before(i)` "item i starts
 * before t", the first item starting at t or later; with "at or before t", the first after t.
 */
export function partitionPoint(length: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SpanIndex implements DialectContext {
  /**
   * Span id → position in the group's spans of its first copy. A position rather than the span, so
   * the assembly and the task summary key their per-span records by position in arrays and need
   * no map of their own: with one map per group instead of three, a 300k-span trace builds (and
   * the GC copies) one large hash table.
   */
  readonly #byId = new Map<string, number>();
  readonly #spans: readonly SpanRecord[];
  #children: Map<string, SpanRecord[]> | undefined;

  constructor(spans: readonly SpanRecord[]) {
    this.#spans = spans;
    const byId = this.#byId;
    // Last to first, one store each: a duplicated span id (a re-exported span) ends at its first copy.
    for (let i = spans.length - 1; i >= 0; i--) byId.set(spans[i]!.spanId, i);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** True when no two spans share an id: then position i holds the only span of its id. */
  get unique(): boolean {
    return this.#byId.size === this.#spans.length;
  }

  /** Position of the first span of this id in the indexed spans, or -1. */
  positionOf(spanId: string): number {
    return this.#byId.get(spanId) ?? -1;
  }

  span(spanId: string): SpanRecord | undefined {
    const at = this.#byId.get(spanId);
    return at === undefined ? undefined : this.#spans[at];
  }

  has(spanId: string): boolean {
    return this.#byId.has(spanId);
  }

  parentOf(span: SpanRecord): SpanRecord | undefined {
    if (span.parentSpanId === '' || span.parentSpanId === span.spanId) return undefined;
    const at = this.#byId.get(span.parentSpanId);
    return at === undefined ? undefined : this.#spans[at];
  }

  childrenOf(span: SpanRecord): readonly SpanRecord[] {
    // Built on first use: most groups are assembled without any dialect asking for children.
    if (!this.#children) {
      const children = new Map<string, SpanRecord[]>();
      for (let i = 0; i < this.#spans.length; i++) {
        const child = this.#spans[i]!;
        if (child.parentSpanId === '' || child.parentSpanId === child.spanId) continue;
        let list = children.get(child.parentSpanId);
        if (!list) children.set(child.parentSpanId, (list = []));
        list.push(child);
      }
      for (const list of children.values()) if (list.length > 1) list.sort(compareByStart);
      this.#children = children;
    }
    return this.#children.get(span.spanId) ?? NO_CHILDREN;
  }

  ancestorWhere(span: SpanRecord, test: (candidate: SpanRecord) => boolean): SpanRecord | undefined {
    let steps = this.#byId.size;
    for (let current = this.parentOf(span); current && steps-- > 0; current = this.parentOf(current)) {
      if (current === span) return undefined; // a parent cycle back to the start
      if (test(current)) return current;
    }
    return undefined;
  }
}

/** The index each model's spans were assembled with (assemble.ts): the task summary's lookups by id use it. */
const MODEL_INDEXES = new WeakMap<object, SpanIndex>();

/** Records that `model.spans[i]` was made from the i-th span `index` was built over. */
export function rememberSpanIndex(model: object, index: SpanIndex): void {
  MODEL_INDEXES.set(model, index);
}

/** The index `model.spans` lines up with, position for position; undefined for a model built or copied elsewhere. */
export function spanIndexOfModel(model: object): SpanIndex | undefined {
  return MODEL_INDEXES.get(model);
}
