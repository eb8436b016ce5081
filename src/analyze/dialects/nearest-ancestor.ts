/**
 * The nearest proper ancestor of a span passing a fixed test, memoized over the walked
 * path: each span is walked once for all the spans below it, so asking it of every span
 * of a chain n deep costs n parent lookups in all, where `DialectContext.ancestorWhere`
 * walks the whole way up each time (n²/2). A dialect asks it of every span of a kind
 * (the task id of each executor's workflow run, the crew around each tool), and deep
 * traces (executors nested in the sends they handle, agents asking agents through tools)
 * made those walks the analyzer's only quadratic cost.
 *
 * The test must depend on the span alone for the helper's lifetime (a memo answers for
 * it); one helper per test and per interpretation. Walks go through any dialect's spans,
 * and a parent chain that loops ends the walk with no ancestor.
 *
 * Path compression as in union-find: https://en.wikipedia.org/wiki/Disjoint-set_data_structure
 */
import type { SpanRecord } from '../../model/span-record.js';
import type { DialectContext } from './dialect.js';

/** Marks a span whose walk is under way: meeting it again is a parent cycle. */
const PENDING = Symbol('pending');

export class NearestAncestor {
  readonly #context: DialectContext;
  readonly #test: (span: SpanRecord) => boolean;
  /** For a span failing the test: its nearest ancestor-or-self passing it. */
  readonly #memo = new Map<string, SpanRecord | undefined | typeof PENDING>();
  readonly #path: string[] = [];

  constructor(context: DialectContext, test: (span: SpanRecord) => boolean) {
    this.#context = context;
    this.#test = test;
  }

  /** The nearest proper ancestor of `span` passing the test, or undefined. */
  of(span: SpanRecord): SpanRecord | undefined {
    const path = this.#path;
    path.length = 0;
    let found: SpanRecord | undefined;
    for (let current = this.#context.parentOf(span); current; current = this.#context.parentOf(current)) {
      if (current.spanId === span.spanId) {
        // Back at the start: a cycle. The start has no proper ancestor, but the spans walked have it above them.
        if (this.#test(span)) found = span;
        for (let i = 0; i < path.length; i++) this.#memo.set(path[i]!, found);
        return undefined;
      }
      if (this.#test(current)) {
        found = current;
        break;
      }
      const memo = this.#memo.get(current.spanId);
      if (memo !== undefined || this.#memo.has(current.spanId)) {
        if (memo !== PENDING) found = memo;
        break;
      }
      this.#memo.set(current.spanId, PENDING);
      path.push(current.spanId);
    }
    for (let i = 0; i < path.length; i++) this.#memo.set(path[i]!, found);
    // A memo met on a parent cycle can name the start itself, which is no proper ancestor (as the walk without it says).
    return found !== undefined && found.spanId === span.spanId ? undefined : found;
  }
}
