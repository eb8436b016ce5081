/**
 * Indexes for rules about shared state, which must see the whole input: a
 * store is shared by every trace. Writes per store key are kept as a baseline
 * (the newest version and epoch among writes settled long ago) plus the recent
 * writes, so memory per key stays bounded over hours; lookups sort the recent
 * writes once and binary-search them (n log n over the input).
 */
import type { SpanRef } from '../model/handoff-model.js';
import { partitionPoint } from './span-index.js';

/**
 * The span reference alone, as a remembered write keeps it: the record it came from (envelope
 * facts, links, the agent run) would otherwise stay alive with it for as long as its key does.
 */
export function spanRefOf(record: SpanRef): SpanRef {
  return { traceId: record.traceId, spanId: record.spanId, startMs: record.startMs, endMs: record.endMs };
}

/** A committed write, reduced to what stale-read checks need. */
export interface WriteFact {
  readonly endMs: number;
  readonly version: number | undefined;
  readonly epoch: number | undefined;
  readonly ref: SpanRef;
  readonly agent: string | undefined;
}

/** The newest version and epoch committed before some time, with the writes that committed them. */
export interface NewestCommitted {
  readonly version: WriteFact | undefined;
  readonly epoch: WriteFact | undefined;
}

function newer(a: WriteFact | undefined, b: WriteFact | undefined, field: 'version' | 'epoch'): WriteFact | undefined {
  if (!b || b[field] === undefined) return a;
  if (!a || a[field] === undefined) return b;
  // Ties go to the earlier commit: it is the one the reader missed first.
  return b[field]! > a[field]! || (b[field] === a[field] && b.endMs < a.endMs) ? b : a;
}

/** The newer of two answers, field by field: the same key's writes held under two store names. */
export function newerCommitted(a: NewestCommitted, b: NewestCommitted): NewestCommitted {
  return { version: newer(a.version, b.version, 'version'), epoch: newer(a.epoch, b.epoch, 'epoch') };
}

/** The committed writes of one key, answering "newest committed before t". */
export class KeyWrites {
  #baseline: NewestCommitted = { version: undefined, epoch: undefined };
  #recent: WriteFact[] = [];
  #sorted = true;
  /** Prefix maxima over #recent in end order, rebuilt lazily after additions. */
  #prefixVersion: (WriteFact | undefined)[] = [];
  #prefixEpoch: (WriteFact | undefined)[] = [];

  add(write: WriteFact): void {
    const last = this.#recent[this.#recent.length - 1];
    if (last && last.endMs > write.endMs) this.#sorted = false;
    this.#recent.push(write);
  }

  get size(): number {
    return this.#recent.length;
  }

  /** The end of the newest write held (recent or in the baseline), or -Infinity. */
  get lastEndMs(): number {
    const last = this.#recent[this.#recent.length - 1];
    if (last && this.#sorted) return last.endMs;
    let end = Number.NEGATIVE_INFINITY;
    for (const w of this.#recent) if (w.endMs > end) end = w.endMs;
    for (const w of [this.#baseline.version, this.#baseline.epoch]) if (w && w.endMs > end) end = w.endMs;
    return end;
  }

  #prepare(): void {
    let from = this.#prefixVersion.length;
    if (!this.#sorted) {
      this.#recent.sort((a, b) => a.endMs - b.endMs || (a.ref.spanId < b.ref.spanId ? -1 : a.ref.spanId > b.ref.spanId ? 1 : 0));
      this.#sorted = true;
      from = 0;
    }
    const n = this.#recent.length;
    if (from === n) return;
    // Appends in end order extend the prefix maxima; anything else rebuilds them.
    this.#prefixVersion.length = from;
    this.#prefixEpoch.length = from;
    // Over the recent writes only: the baseline is combined at lookup, where its time is checked.
    let version = from > 0 ? this.#prefixVersion[from - 1] : undefined;
    let epoch = from > 0 ? this.#prefixEpoch[from - 1] : undefined;
    for (let i = from; i < n; i++) {
      const w = this.#recent[i]!;
      version = newer(version, w, 'version');
      epoch = newer(epoch, w, 'epoch');
      this.#prefixVersion[i] = version;
      this.#prefixEpoch[i] = epoch;
    }
  }

  /**
   * The newest version and epoch committed (ended) at or before `atMs`. A baseline write
   * that ended after `atMs` (data that arrived late, after the fold) is not used: the
   * answer may then miss an older write, but never names a write the reader could not
   * have seen.
   */
  newestBefore(atMs: number): NewestCommitted {
    const base = this.#baseline;
    const baseVersion = base.version && base.version.endMs <= atMs ? base.version : undefined;
    const baseEpoch = base.epoch && base.epoch.endMs <= atMs ? base.epoch : undefined;
    if (this.#recent.length === 0) return { version: baseVersion, epoch: baseEpoch };
    this.#prepare();
    let lo = 0;
    let hi = this.#recent.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#recent[mid]!.endMs <= atMs) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return { version: baseVersion, epoch: baseEpoch };
    return {
      version: newer(baseVersion, this.#prefixVersion[lo - 1], 'version'),
      epoch: newer(baseEpoch, this.#prefixEpoch[lo - 1], 'epoch'),
    };
  }

  /** Folds the writes that ended before `beforeMs` into the baseline: no read still to come can start before them. */
  settle(beforeMs: number): void {
    if (this.#recent.length === 0) return;
    this.#prepare();
    let keep = 0;
    while (keep < this.#recent.length && this.#recent[keep]!.endMs < beforeMs) keep++;
    if (keep === 0) return;
    this.#baseline = {
      version: newer(this.#baseline.version, this.#prefixVersion[keep - 1], 'version'),
      epoch: newer(this.#baseline.epoch, this.#prefixEpoch[keep - 1], 'epoch'),
    };
    this.#recent = this.#recent.slice(keep);
    // The prefix maxima covered the folded writes: rebuilt on the next lookup.
    this.#prefixVersion = [];
    this.#prefixEpoch = [];
  }
}

/** Binary search: index of the first element of the ascending `values` greater than `x`. */
export function upperBound(values: ArrayLike<number>, x: number): number {
  return partitionPoint(values.length, (i) => values[i]! <= x);
}
