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

export class SpanIndex implements DialectContext {
  readonly #byId = new Map<string, SpanRecord>();
  readonly #spans: readonly SpanRecord[];
  #children: Map<string, SpanRecord[]> | undefined;

  constructor(spans: readonly SpanRecord[]) {
    this.#spans = spans;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      // A duplicated span id (a re-exported span) keeps its first copy.
      if (!this.#byId.has(span.spanId)) this.#byId.set(span.spanId, span);
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  span(spanId: string): SpanRecord | undefined {
    return this.#byId.get(spanId);
  }

  has(spanId: string): boolean {
    return this.#byId.has(spanId);
  }

  parentOf(span: SpanRecord): SpanRecord | undefined {
    if (span.parentSpanId === '' || span.parentSpanId === span.spanId) return undefined;
    return this.#byId.get(span.parentSpanId);
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
