/**
 * A mergeable quantile sketch for coordination latency in milliseconds: DDSketch
 * (Masson, Rim, Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
 * Relative-Error Guarantees", VLDB 2019, https://arxiv.org/abs/1908.10693).
 *
 * Values map to buckets on a logarithmic scale, bucket k holding (γ^(k-1), γ^k] with
 * γ = (1 + α) / (1 - α); a bucket's estimate 2γ^k / (γ + 1) is within relative error
 * α of anything in it. Positive and negative values have stores of their own, since
 * a negative latency is clock skew between hosts and must stay visible (STYLE.md §8),
 * and |x| ≤ `zeroThresholdMs` goes to a zero bucket. Count, sum, min and max are
 * exact. Merging adds bucket counts, so a sketch merged from parts equals, bucket for
 * bucket, one sketch fed all the values, whatever the split and order.
 *
 * Memory is bounded: each store keeps at most `maxBuckets` contiguous buckets (a
 * Float64Array grown by doubling) and, past that, folds its lowest-magnitude buckets
 * into the lowest one kept, as DDSketch's CollapsingLowestDenseStore does. With the
 * defaults (α = 1%, 2048 buckets) one store spans a ratio of γ^2048 ≈ 6·10^17 between
 * its largest and smallest magnitude: a collapse needs something like 1 ns and 20
 * years of latency in one sketch. The α guarantee holds for every quantile whose
 * exact value lies above the collapsed range: magnitudes within γ^(maxBuckets-1) of
 * the largest magnitude of that sign. Below it, estimates are too large in magnitude (positive values near
 * zero are overestimated, negative ones near zero pushed further from zero); the high
 * percentiles that matter for latency keep their guarantee.
 *
 * Why not @datadog/sketches-js 2.1.1 (zero dependencies, no install scripts, small,
 * Apache-2.0, the reference JS port)? Checked against its dist code:
 * - `merge` never merges the negative store, so negative values vanish from merged
 *   sketches (DataDog/sketches-js#22, open); skew would be hidden exactly where
 *   sketches from several receivers are combined;
 * - its quantile is at rank q·(n-1), not Baton's nearest rank ceil(q·n) (latency.ts);
 * - bins are plain arrays grown with slice/unshift/push spreads (allocation, not
 *   typed arrays), `accept(NaN)` counts a zero, and `accept(Infinity)` throws a
 *   RangeError from `new Array(Infinity)`;
 * - its only serialization is protobuf, which `require`s protobufjs without declaring
 *   it, and `fromProto` drops min, max and sum.
 * Wrapping it would mean reaching into its stores to fix merge and rank, which is
 * about as much code as writing the sketch, so this file implements the paper
 * directly, with no new dependency.
 */

/** Smallest positive normal double; JS has no Number.MIN_NORMAL. */
const MIN_NORMAL = 2.2250738585072014e-308;
const DEFAULT_RELATIVE_ACCURACY = 0.01;
const DEFAULT_MAX_BUCKETS = 2048;
/** Near α = 1e-13 bucket keys would outgrow safe integers; 1e-9 leaves a wide margin. */
const MIN_RELATIVE_ACCURACY = 1e-9;
/** 2^24 buckets is 128 MiB per store: a cap beyond that is a mistake, not a cap. */
const MAX_MAX_BUCKETS = 2 ** 24;
/**
 * First allocation of a store (×1.17 of spread at 1%; grown by doubling): small, since most edges of
 * a large input hold one or a few handoffs (a chain of distinct agents has an edge per hop).
 */
const INITIAL_BUCKETS = 8;
const JSON_FORMAT = 'baton.latency-sketch';
const JSON_VERSION = 1;

/** Options of {@link LatencySketch}. */
export interface LatencySketchOptions {
  /**
   * Relative accuracy α of quantile estimates, in [1e-9, 1). Default 0.01 (1%).
   * Only sketches with the same α can be merged.
   */
  readonly relativeAccuracy?: number;
  /**
   * Most buckets kept per sign, an integer in [1, 2^24]; memory is at most
   * 2 × 8 × maxBuckets bytes. Default 2048.
   */
  readonly maxBuckets?: number;
}

/** Count, extremes and nearest-rank percentiles of a sketch, in milliseconds. */
export interface LatencySketchSummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Buckets of one sign, as serialized: `counts[i]` is the count of bucket key `offset + i`. */
export interface LatencySketchStoreJson {
  readonly offset: number;
  readonly counts: readonly number[];
}

/** Plain-JSON form of a {@link LatencySketch}, from `toJSON()`, read by `fromJSON()`. */
export interface LatencySketchJson {
  readonly format: typeof JSON_FORMAT;
  readonly version: typeof JSON_VERSION;
  readonly relativeAccuracy: number;
  readonly maxBuckets: number;
  readonly count: number;
  readonly rejected: number;
  /** null when the sketch is empty (JSON has no NaN). */
  readonly min: number | null;
  readonly max: number | null;
  /** A string only when the sum overflowed, since JSON has no Infinity. */
  readonly sum: number | 'Infinity' | '-Infinity' | 'NaN';
  readonly zeroCount: number;
  readonly positive: LatencySketchStoreJson;
  readonly negative: LatencySketchStoreJson;
}

/** The counts of every empty store (length 0: nothing is ever written to it). */
const NO_COUNTS = new Float64Array(0);

/**
 * Bucket counts of one sign by key, dense between `minKey` and `maxKey` (both
 * non-empty while `total` > 0), with the lowest keys collapsed past `maxBuckets`.
 * Invariant: every slot outside [minKey, maxKey] is zero.
 */
class BucketStore {
  /** Shared while empty: every write comes after #reshape has given the store an array of its own. */
  counts = NO_COUNTS;
  /** Key of counts[0]. */
  offset = 0;
  minKey = Number.POSITIVE_INFINITY;
  maxKey = Number.NEGATIVE_INFINITY;
  total = 0;

  constructor(readonly maxBuckets: number) {}

  add(key: number, count: number): void {
    const index = key - this.offset;
    // Steady state: the key falls inside the array, and any key inside it keeps the
    // range within maxBuckets because the array is never longer than that.
    if (index >= 0 && index < this.counts.length) {
      this.counts[index]! += count;
      if (key < this.minKey) this.minKey = key;
      if (key > this.maxKey) this.maxKey = key;
      this.total += count;
      return;
    }
    this.#addOutside(key, count);
  }

  /** Kept out of `add` so that `add` stays small enough for V8 to inline. */
  #addOutside(key: number, count: number): void {
    let newMin = key;
    let newMax = key;
    if (this.total > 0) {
      if (this.minKey < newMin) newMin = this.minKey;
      if (this.maxKey > newMax) newMax = this.maxKey;
    }
    const lowestKept = newMax - this.maxBuckets + 1;
    if (newMin < lowestKept) {
      newMin = lowestKept;
      if (key < lowestKept) key = lowestKept;
    }
    this.#reshape(newMin, newMax);
    this.counts[key - this.offset]! += count;
    this.total += count;
  }

  /** Adds `other`'s counts, collapsing as one store fed both inputs would have. */
  merge(other: BucketStore): void {
    if (other.total === 0) return;
    let newMin = other.minKey;
    let newMax = other.maxKey;
    if (this.total > 0) {
      if (this.minKey < newMin) newMin = this.minKey;
      if (this.maxKey > newMax) newMax = this.maxKey;
    }
    const lowestKept = newMax - this.maxBuckets + 1;
    if (newMin < lowestKept) newMin = lowestKept;
    if (this.total === 0 || newMin !== this.minKey || newMax !== this.maxKey) this.#reshape(newMin, newMax);
    const source = other.counts;
    const sourceOffset = other.offset;
    for (let key = other.minKey; key <= other.maxKey; key++) {
      const count = source[key - sourceOffset]!;
      if (count !== 0) this.counts[(key < newMin ? newMin : key) - this.offset]! += count;
    }
    this.total += other.total;
  }

  /** Fills an empty store with keys start+first..start+last from `counts` (first and last non-zero). */
  load(start: number, counts: readonly number[], first: number, last: number): void {
    this.#reshape(start + first, start + last);
    let total = 0;
    for (let i = first; i <= last; i++) {
      const count = counts[i]!;
      this.counts[start + i - this.offset] = count;
      total += count;
    }
    this.total = total;
  }

  copyFrom(other: BucketStore): void {
    this.counts = other.counts.slice();
    this.offset = other.offset;
    this.minKey = other.minKey;
    this.maxKey = other.maxKey;
    this.total = other.total;
  }

  /**
   * Makes the array cover keys newMin..newMax (at most maxBuckets of them), folding
   * counts below newMin into newMin; then minKey = newMin and maxKey = newMax. Runs
   * only when a key falls outside the array, so it may allocate and copy.
   */
  #reshape(newMin: number, newMax: number): void {
    const old = this.counts;
    const oldOffset = this.offset;
    let liveLow = this.minKey;
    const liveHigh = this.maxKey;
    let folded = 0;
    if (this.total > 0) {
      for (let key = liveLow; key < newMin && key <= liveHigh; key++) {
        folded += old[key - oldOffset]!;
        old[key - oldOffset] = 0;
      }
      if (liveLow < newMin) liveLow = newMin;
    }
    if (newMin < oldOffset || newMax >= oldOffset + old.length) {
      const needed = newMax - newMin + 1;
      let length = old.length;
      let target = old;
      if (needed > length) {
        if (length < INITIAL_BUCKETS) length = INITIAL_BUCKETS;
        while (length < needed) length *= 2;
        if (length > this.maxBuckets) length = this.maxBuckets;
        target = new Float64Array(length);
      }
      // Centred, so growth on either side finds room before the next reshape.
      const offset = newMin - ((length - needed) >> 1);
      if (this.total > 0 && liveLow <= liveHigh) {
        const from = liveLow - oldOffset;
        const to = liveLow - offset;
        const span = liveHigh - liveLow + 1;
        if (target === old) {
          old.copyWithin(to, from, from + span);
          old.fill(0, 0, to);
          old.fill(0, to + span);
        } else {
          for (let i = 0; i < span; i++) target[to + i] = old[from + i]!;
        }
      } else if (target === old) {
        old.fill(0);
      }
      this.counts = target;
      this.offset = offset;
    }
    this.counts[newMin - this.offset]! += folded;
    this.minKey = newMin;
    this.maxKey = newMax;
  }

  toJSON(): LatencySketchStoreJson {
    if (this.total === 0) return { offset: 0, counts: [] };
    const counts = new Array<number>(this.maxKey - this.minKey + 1);
    for (let key = this.minKey; key <= this.maxKey; key++) counts[key - this.minKey] = this.counts[key - this.offset]!;
    // + 0: Math.ceil of a tiny negative log is -0, which JSON would turn into 0.
    return { offset: this.minKey + 0, counts };
  }
}

/**
 * A DDSketch of latencies in milliseconds: add values, merge sketches from other
 * files, processes or receivers, and read nearest-rank quantiles within relative
 * error `relativeAccuracy`, in memory bounded by `maxBuckets` whatever the input.
 *
 * ```ts
 * const sketch = new LatencySketch();
 * sketch.add(12.5);
 * sketch.merge(LatencySketch.fromJSON(JSON.parse(fromOtherReceiver)));
 * sketch.quantile(0.99); // within 1% of the exact p99
 * ```
 */
export class LatencySketch {
  readonly #relativeAccuracy: number;
  readonly #maxBuckets: number;
  /** ln γ: key k covers (e^((k-1)·ln γ), e^(k·ln γ)]. */
  readonly #logGamma: number;
  readonly #keyPerLog: number;
  /** ln(2 / (γ + 1)) = ln(1 - α), added in log space so γ^k never overflows. */
  readonly #estimateLogOffset: number;
  readonly #zeroThresholdMs: number;
  readonly #positive: BucketStore;
  readonly #negative: BucketStore;
  #zeroCount = 0;
  #count = 0;
  #rejected = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  /** Throws a RangeError on an option outside its documented range. */
  constructor(options: LatencySketchOptions = {}) {
    const relativeAccuracy = options.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY;
    const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    if (!isRelativeAccuracy(relativeAccuracy)) {
      throw new RangeError(`latency-sketch: relativeAccuracy must be a number in [1e-9, 1), got ${String(relativeAccuracy)}`);
    }
    if (!isMaxBuckets(maxBuckets)) {
      throw new RangeError(`latency-sketch: maxBuckets must be an integer in [1, 2^24], got ${String(maxBuckets)}`);
    }
    this.#relativeAccuracy = relativeAccuracy;
    this.#maxBuckets = maxBuckets;
    // log1p keeps ln γ accurate for small α, where (1 + α) / (1 - α) rounds.
    this.#logGamma = Math.log1p((2 * relativeAccuracy) / (1 - relativeAccuracy));
    this.#keyPerLog = 1 / this.#logGamma;
    this.#estimateLogOffset = Math.log1p(-relativeAccuracy);
    // As in DDSketch: below the normal range, doubles lose the relative precision
    // the guarantee needs; the γ factor keeps the lowest bucket's estimate normal.
    this.#zeroThresholdMs = MIN_NORMAL * Math.exp(this.#logGamma);
    this.#positive = new BucketStore(maxBuckets);
    this.#negative = new BucketStore(maxBuckets);
  }

  /**
   * Records `count` occurrences of `valueMs` (default 1). O(1), and allocation-free
   * once the buckets cover the data's range. A non-finite value, or a count that is
   * not a non-negative safe integer, is never thrown: it is ignored and counted in
   * `rejected` (by `count` for a bad value, by 1 for a bad count).
   */
  add(valueMs: number, count = 1): void {
    if (!(count >= 0 && Number.isSafeInteger(count))) {
      this.#rejected += 1;
      return;
    }
    if (!Number.isFinite(valueMs)) {
      this.#rejected += count;
      return;
    }
    if (count === 0) return;
    if (valueMs > this.#zeroThresholdMs) {
      this.#positive.add(Math.ceil(Math.log(valueMs) * this.#keyPerLog), count);
    } else if (valueMs < -this.#zeroThresholdMs) {
      this.#negative.add(Math.ceil(Math.log(-valueMs) * this.#keyPerLog), count);
    } else {
      // -0 becomes 0: JSON cannot carry -0, and a round trip must not change min.
      if (valueMs === 0) valueMs = 0;
      this.#zeroCount += count;
    }
    this.#count += count;
    this.#sum += valueMs * count;
    if (valueMs < this.#min) this.#min = valueMs;
    if (valueMs > this.#max) this.#max = valueMs;
  }

  /**
   * Adds `other`'s values to this sketch (`other` is unchanged). The result equals,
   * bucket for bucket, one sketch fed both inputs when both have the same
   * `maxBuckets`; otherwise this sketch's cap applies. Throws a TypeError when the
   * relative accuracies differ, since their buckets do not line up.
   */
  merge(other: LatencySketch): void {
    if (!(other instanceof LatencySketch)) {
      throw new TypeError('latency-sketch: merge expects a LatencySketch');
    }
    if (other.#relativeAccuracy !== this.#relativeAccuracy) {
      throw new TypeError(
        `latency-sketch: cannot merge a sketch with relativeAccuracy ${other.#relativeAccuracy} into one with ${this.#relativeAccuracy}`,
      );
    }
    const source = other === this ? other.clone() : other;
    this.#positive.merge(source.#positive);
    this.#negative.merge(source.#negative);
    this.#zeroCount += source.#zeroCount;
    this.#count += source.#count;
    this.#rejected += source.#rejected;
    this.#sum += source.#sum;
    if (source.#min < this.#min) this.#min = source.#min;
    if (source.#max > this.#max) this.#max = source.#max;
  }

  /**
   * Estimate of the nearest-rank quantile, the value at rank ceil(q·count) (as
   * latency.ts's `percentile`), within relative error α of it when it lies above the
   * collapsed range (see the file header) and within `zeroThresholdMs` of it when it
   * is in the zero bucket; always in [min, max], exactly min at q = 0 and max at
   * q = 1. NaN when empty. Throws a RangeError when q is not in [0, 1].
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`latency-sketch: quantile q must be in [0, 1], got ${String(q)}`);
    const n = this.#count;
    if (n === 0) return Number.NaN;
    if (q === 0) return this.#min;
    if (q === 1) return this.#max;
    const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
    let estimate = 0;
    const negative = this.#negative;
    if (rank <= negative.total) {
      // Ascending order runs from the largest negative magnitude down.
      let seen = 0;
      for (let key = negative.maxKey; key >= negative.minKey; key--) {
        seen += negative.counts[key - negative.offset]!;
        if (seen >= rank) {
          estimate = -this.#estimateOf(key);
          break;
        }
      }
    } else if (rank > negative.total + this.#zeroCount) {
      const positive = this.#positive;
      const positiveRank = rank - negative.total - this.#zeroCount;
      let seen = 0;
      for (let key = positive.minKey; key <= positive.maxKey; key++) {
        seen += positive.counts[key - positive.offset]!;
        if (seen >= positiveRank) {
          estimate = this.#estimateOf(key);
          break;
        }
      }
    }
    // Clamping only moves the estimate toward the exact value, which is in [min, max].
    if (estimate < this.#min) return this.#min;
    if (estimate > this.#max) return this.#max;
    return estimate;
  }

  /** count, min, p50, p95, p99 and max; null when empty. */
  summarize(): LatencySketchSummary | null {
    if (this.#count === 0) return null;
    return {
      count: this.#count,
      min: this.#min,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      max: this.#max,
    };
  }

  /** Values recorded, exact. */
  get count(): number {
    return this.#count;
  }

  /** Smallest value recorded, exact; NaN when empty. */
  get min(): number {
    return this.#count === 0 ? Number.NaN : this.#min;
  }

  /** Largest value recorded, exact; NaN when empty. */
  get max(): number {
    return this.#count === 0 ? Number.NaN : this.#max;
  }

  /** Sum of the values recorded, in floating point (0 when empty). */
  get sum(): number {
    return this.#sum;
  }

  /** The α of the quantile guarantee. */
  get relativeAccuracy(): number {
    return this.#relativeAccuracy;
  }

  /** Cap on buckets per sign. */
  get maxBuckets(): number {
    return this.#maxBuckets;
  }

  /** Values ignored by `add` (non-finite values, bad counts), merged ones included. */
  get rejected(): number {
    return this.#rejected;
  }

  /** Values with |x| at or below this (≈ 2.3e-308 ms) count in the zero bucket and read back as 0. */
  get zeroThresholdMs(): number {
    return this.#zeroThresholdMs;
  }

  /** Bucket slots allocated in both stores, the zero bucket aside: at most 2 × maxBuckets. */
  get bucketCount(): number {
    return this.#positive.counts.length + this.#negative.counts.length;
  }

  /** An independent copy. */
  clone(): LatencySketch {
    const copy = new LatencySketch({ relativeAccuracy: this.#relativeAccuracy, maxBuckets: this.#maxBuckets });
    copy.#positive.copyFrom(this.#positive);
    copy.#negative.copyFrom(this.#negative);
    copy.#zeroCount = this.#zeroCount;
    copy.#count = this.#count;
    copy.#rejected = this.#rejected;
    copy.#sum = this.#sum;
    copy.#min = this.#min;
    copy.#max = this.#max;
    return copy;
  }

  /** A plain object that survives JSON.stringify and `fromJSON` unchanged. */
  toJSON(): LatencySketchJson {
    const empty = this.#count === 0;
    const sum = this.#sum;
    return {
      format: JSON_FORMAT,
      version: JSON_VERSION,
      relativeAccuracy: this.#relativeAccuracy,
      maxBuckets: this.#maxBuckets,
      count: this.#count,
      rejected: this.#rejected,
      min: empty ? null : this.#min,
      max: empty ? null : this.#max,
      sum: Number.isFinite(sum) ? sum : (String(sum) as 'Infinity' | '-Infinity' | 'NaN'),
      zeroCount: this.#zeroCount,
      positive: this.#positive.toJSON(),
      negative: this.#negative.toJSON(),
    };
  }

  /**
   * Rebuilds a sketch from `toJSON()` output (for instance after JSON.parse in
   * another process). Checks every field and their consistency, and throws a
   * TypeError prefixed `latency-sketch:` naming the first problem.
   */
  static fromJSON(value: unknown): LatencySketch {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('expected an object from LatencySketch.toJSON()');
    const json = value as Record<string, unknown>;
    if (json.format !== JSON_FORMAT) fail(`format must be "${JSON_FORMAT}", got ${describe(json.format)}`);
    if (json.version !== JSON_VERSION) fail(`unsupported version ${describe(json.version)} (expected ${JSON_VERSION})`);
    if (!isRelativeAccuracy(json.relativeAccuracy)) fail(`relativeAccuracy must be a number in [1e-9, 1), got ${describe(json.relativeAccuracy)}`);
    if (!isMaxBuckets(json.maxBuckets)) fail(`maxBuckets must be an integer in [1, 2^24], got ${describe(json.maxBuckets)}`);
    const count = checkCount(json.count, 'count');
    const rejected = checkCount(json.rejected, 'rejected');
    const zeroCount = checkCount(json.zeroCount, 'zeroCount');
    const sketch = new LatencySketch({ relativeAccuracy: json.relativeAccuracy, maxBuckets: json.maxBuckets });
    sketch.#loadStore(json.positive, 'positive', sketch.#positive);
    sketch.#loadStore(json.negative, 'negative', sketch.#negative);
    const positive = sketch.#positive.total;
    const negative = sketch.#negative.total;
    if (positive + negative + zeroCount !== count) {
      fail(`count ${count} differs from the buckets' total ${positive + negative + zeroCount}`);
    }
    const sum = json.sum;
    let sumValue: number;
    if (typeof sum === 'number' && Number.isFinite(sum)) sumValue = sum;
    else if (sum === 'Infinity' || sum === '-Infinity' || sum === 'NaN') sumValue = Number(sum);
    else fail(`sum must be a finite number or "Infinity", "-Infinity", "NaN", got ${describe(sum)}`);
    if (count === 0) {
      if (json.min !== null || json.max !== null) fail('min and max must be null in an empty sketch');
      if (sumValue !== 0) fail('sum must be 0 in an empty sketch');
    } else {
      const { min, max } = json;
      if (typeof min !== 'number' || !Number.isFinite(min)) fail(`min must be a finite number, got ${describe(min)}`);
      if (typeof max !== 'number' || !Number.isFinite(max)) fail(`max must be a finite number, got ${describe(max)}`);
      if (min > max) fail(`min ${min} exceeds max ${max}`);
      // Each non-empty region must be reachable from min and max.
      const threshold = sketch.#zeroThresholdMs;
      if (negative > 0 && !(min < -threshold)) fail(`min ${min} is not negative, yet there are negative buckets`);
      if (positive > 0 && !(max > threshold)) fail(`max ${max} is not positive, yet there are positive buckets`);
      if (zeroCount > 0 && !(min <= threshold && max >= -threshold)) fail(`min ${min} and max ${max} leave out the zero bucket`);
      if (negative === 0 && zeroCount === 0 && !(min > threshold)) fail(`min ${min} is not in any non-empty bucket`);
      if (positive === 0 && zeroCount === 0 && !(max < -threshold)) fail(`max ${max} is not in any non-empty bucket`);
      sketch.#min = min;
      sketch.#max = max;
    }
    sketch.#zeroCount = zeroCount;
    sketch.#count = count;
    sketch.#rejected = rejected;
    sketch.#sum = sumValue;
    return sketch;
  }

  /** Bucket key range that finite doubles above the zero threshold can reach, with a margin of one. */
  #keyLimits(): { readonly low: number; readonly high: number } {
    return {
      low: Math.floor(Math.log(this.#zeroThresholdMs) * this.#keyPerLog) - 1,
      high: Math.ceil(Math.log(Number.MAX_VALUE) * this.#keyPerLog) + 1,
    };
  }

  #loadStore(value: unknown, name: string, store: BucketStore): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${name} must be an object { offset, counts }`);
    const { offset, counts } = value as Record<string, unknown>;
    if (!Number.isSafeInteger(offset)) fail(`${name}.offset must be an integer, got ${describe(offset)}`);
    if (!Array.isArray(counts)) fail(`${name}.counts must be an array, got ${describe(counts)}`);
    const start = offset as number;
    let first = -1;
    let last = -1;
    for (let i = 0; i < counts.length; i++) {
      const count: unknown = counts[i];
      if (typeof count !== 'number' || !(count >= 0) || !Number.isSafeInteger(count)) {
        fail(`${name}.counts[${i}] must be a non-negative integer, got ${describe(count)}`);
      }
      if (count !== 0) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) return;
    const limits = this.#keyLimits();
    if (start + first < limits.low || start + last > limits.high) {
      fail(`${name} bucket keys ${start + first}..${start + last} are outside ${limits.low}..${limits.high} for this relativeAccuracy`);
    }
    if (last - first + 1 > this.#maxBuckets) fail(`${name} spans ${last - first + 1} buckets, more than maxBuckets ${this.#maxBuckets}`);
    store.load(start, counts as readonly number[], first, last);
    if (!Number.isSafeInteger(store.total)) fail(`${name} counts add up past 2^53`);
  }

  #estimateOf(key: number): number {
    return Math.exp(key * this.#logGamma + this.#estimateLogOffset);
  }
}

function isRelativeAccuracy(value: unknown): value is number {
  return typeof value === 'number' && value >= MIN_RELATIVE_ACCURACY && value < 1;
}

function isMaxBuckets(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_MAX_BUCKETS;
}

function checkCount(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isSafeInteger(value)) {
    fail(`${name} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function fail(message: string): never {
  throw new TypeError(`latency-sketch: ${message}`);
}
