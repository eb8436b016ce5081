/**
 * LatencySketch (src/analyze/latency-sketch.ts) against exact nearest-rank
 * percentiles: the DDSketch relative-error guarantee (Masson et al., VLDB 2019,
 * https://arxiv.org/abs/1908.10693) on negative, zero, tiny and huge values; merging
 * equal, bucket for bucket, to one sketch fed everything; JSON round trips; and the
 * bounded memory that replaces the ever-growing sample array.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencySketch, type LatencySketchJson } from '../../src/analyze/latency-sketch.js';
import { percentile } from '../../src/analyze/latency.js';

const QUANTILES = [0, 0.01, 0.5, 0.9, 0.95, 0.99, 1] as const;
/** Room for ln γ rounding at bucket edges: a few ulps of the log, not of α. */
const SLACK = 1 + 1e-9;

/**
 * Latency-like magnitudes, 1 µs to 10^7 ms, of either sign, spread evenly in log
 * space (fc.double over [-3, 7] would crowd the exponents near 0, i.e. values near 1).
 */
const latencyMs = fc
  .tuple(fc.boolean(), fc.integer({ min: -3_000_000, max: 7_000_000 }))
  .map(([negative, exponentMicros]) => (negative ? -1 : 1) * 10 ** (exponentMicros / 1e6));
/** Any finite double: subnormals, ±0, ±MAX_VALUE. */
const finiteMs = fc.double({ noNaN: true, noDefaultInfinity: true });
const zeroMs = fc.constantFrom(0, -0);
const mixedMs = fc.oneof(latencyMs, finiteMs, zeroMs);
const mixedArray = fc.array(mixedMs, { maxLength: 200 });

function sketchOf(values: readonly number[], options?: ConstructorParameters<typeof LatencySketch>[0]): LatencySketch {
  const sketch = new LatencySketch(options);
  for (let i = 0; i < values.length; i++) sketch.add(values[i]!);
  return sketch;
}

function sortedOf(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * Fails unless `estimate` is within α of `exact`, or within the zero threshold
 * when `exact` is in the zero bucket.
 */
function expectWithinAccuracy(sketch: LatencySketch, q: number, estimate: number, exact: number): void {
  const error = Math.abs(estimate - exact);
  const bound =
    Math.abs(exact) <= sketch.zeroThresholdMs ? sketch.zeroThresholdMs : sketch.relativeAccuracy * Math.abs(exact) * SLACK;
  if (!(error <= bound)) {
    expect.fail(`q=${q}: estimate ${estimate} is ${error} from exact ${exact}, bound ${bound}`);
  }
}

function expectAccurate(values: readonly number[], sketch: LatencySketch): void {
  const sorted = sortedOf(values);
  for (const q of QUANTILES) expectWithinAccuracy(sketch, q, sketch.quantile(q), percentile(sorted, q));
}

/** toJSON without the sum, whose rounding depends on the order of additions. */
function bucketsOf(sketch: LatencySketch): Omit<LatencySketchJson, 'sum'> {
  const { sum: _sum, ...rest } = sketch.toJSON();
  return rest;
}

function roundTrip(sketch: LatencySketch): LatencySketch {
  return LatencySketch.fromJSON(JSON.parse(JSON.stringify(sketch.toJSON())));
}

describe('LatencySketch', () => {
  describe('quantile accuracy', () => {
    it('stays within α of the exact nearest-rank percentile for any finite doubles when nothing collapses', () => {
      fc.assert(
        fc.property(fc.array(mixedMs, { minLength: 1, maxLength: 200 }), fc.constantFrom(0.001, 0.01, 0.05), (values, relativeAccuracy) => {
          // 2^20 buckets hold every key a finite double can reach at α ≥ 0.001.
          expectAccurate(values, sketchOf(values, { relativeAccuracy, maxBuckets: 2 ** 20 }));
        }),
      );
    });

    it('stays within α with the default 2048 buckets on latencies from 1 µs to 10^7 ms of both signs and zeros', () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(latencyMs, zeroMs), { minLength: 1, maxLength: 300 }), (values) => {
          const sketch = sketchOf(values);
          expectAccurate(values, sketch);
          expect(sketch.bucketCount).toBeLessThanOrEqual(2 * 2048);
        }),
      );
    });

    it('stays within α above the collapsed range when the bucket cap is hit', () => {
      const mostlyLatencies = fc.oneof({ arbitrary: latencyMs, weight: 3 }, { arbitrary: mixedMs, weight: 1 });
      fc.assert(
        fc.property(fc.array(mostlyLatencies, { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 1200 }), (values, maxBuckets) => {
          const sketch = sketchOf(values, { maxBuckets });
          const sorted = sortedOf(values);
          const gamma = (1 + sketch.relativeAccuracy) / (1 - sketch.relativeAccuracy);
          // Keys below maxKey - maxBuckets + 1 fold; one more bucket of margin for rounding.
          const keptPositive = sorted[sorted.length - 1]! * gamma ** (3 - maxBuckets);
          const keptNegative = -sorted[0]! * gamma ** (3 - maxBuckets);
          for (const q of QUANTILES) {
            const exact = percentile(sorted, q);
            const kept =
              Math.abs(exact) <= sketch.zeroThresholdMs || (exact > 0 ? exact >= keptPositive : -exact >= keptNegative);
            if (kept) expectWithinAccuracy(sketch, q, sketch.quantile(q), exact);
          }
          expect(sketch.bucketCount).toBeLessThanOrEqual(2 * maxBuckets);
        }),
      );
    });

    it('is monotone in q and stays within [min, max]', () => {
      fc.assert(
        fc.property(fc.array(mixedMs, { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 2048 }), (values, maxBuckets) => {
          const sketch = sketchOf(values, { maxBuckets });
          let previous = Number.NEGATIVE_INFINITY;
          for (const q of QUANTILES) {
            const estimate = sketch.quantile(q);
            expect(estimate).toBeGreaterThanOrEqual(previous);
            expect(estimate).toBeGreaterThanOrEqual(sketch.min);
            expect(estimate).toBeLessThanOrEqual(sketch.max);
            previous = estimate;
          }
        }),
      );
    });

    it('returns the exact min at q = 0 and the exact max at q = 1', () => {
      fc.assert(
        fc.property(fc.array(mixedMs, { minLength: 1, maxLength: 100 }), (values) => {
          const sketch = sketchOf(values);
          const sorted = sortedOf(values);
          expect(sketch.quantile(0) === sorted[0]).toBe(true);
          expect(sketch.quantile(1) === sorted[sorted.length - 1]).toBe(true);
        }),
      );
    });

    it.each([-0.1, 1.5, Number.NaN])('throws a RangeError for q = %s', (q) => {
      expect(() => new LatencySketch().quantile(q)).toThrow(RangeError);
      expect(() => new LatencySketch().quantile(q)).toThrow(/^latency-sketch:/);
    });
  });

  describe('exact statistics', () => {
    it('keeps count, min, max and sum exact', () => {
      fc.assert(
        fc.property(mixedArray, (values) => {
          const sketch = sketchOf(values);
          let sum = 0;
          let min = Number.POSITIVE_INFINITY;
          let max = Number.NEGATIVE_INFINITY;
          for (const value of values) {
            sum += value;
            if (value < min) min = value;
            if (value > max) max = value;
          }
          expect(sketch.count).toBe(values.length);
          expect(sketch.sum === sum || (Number.isNaN(sketch.sum) && Number.isNaN(sum))).toBe(true);
          if (values.length === 0) {
            expect(sketch.min).toBeNaN();
            expect(sketch.max).toBeNaN();
          } else {
            // === so that -0 and 0, equal as latencies, compare equal.
            expect(sketch.min === min).toBe(true);
            expect(sketch.max === max).toBe(true);
          }
        }),
      );
    });

    it('counts NaN and ±Infinity as rejected and otherwise ignores them', () => {
      const nonFinite = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
      fc.assert(
        fc.property(fc.array(fc.oneof(mixedMs, nonFinite), { maxLength: 200 }), (values) => {
          const finite = values.filter((value) => Number.isFinite(value));
          const sketch = sketchOf(values);
          expect(sketch.rejected).toBe(values.length - finite.length);
          expect({ ...bucketsOf(sketch), rejected: 0 }).toEqual(bucketsOf(sketchOf(finite)));
        }),
      );
    });

    it('adds a value count times, and rejects a count that is not a non-negative integer without throwing', () => {
      const weighted = new LatencySketch();
      weighted.add(5, 3);
      weighted.add(-2, 2);
      weighted.add(7, 0);
      expect(bucketsOf(weighted)).toEqual(bucketsOf(sketchOf([5, 5, 5, -2, -2])));
      expect(weighted.sum).toBe(11);

      const bad = new LatencySketch();
      bad.add(5, -1);
      bad.add(5, 1.5);
      bad.add(5, Number.NaN);
      bad.add(5, Number.POSITIVE_INFINITY);
      bad.add(Number.NaN, 4);
      expect(bad.count).toBe(0);
      expect(bad.rejected).toBe(8);
    });
  });

  describe('merge', () => {
    it('equals one sketch fed a ++ b, bucket for bucket, in either order', () => {
      fc.assert(
        fc.property(mixedArray, mixedArray, fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(2048)), (a, b, maxBuckets) => {
          const whole = sketchOf([...a, ...b], { maxBuckets });
          const ab = sketchOf(a, { maxBuckets });
          ab.merge(sketchOf(b, { maxBuckets }));
          const ba = sketchOf(b, { maxBuckets });
          ba.merge(sketchOf(a, { maxBuckets }));
          for (const merged of [ab, ba]) {
            expect(bucketsOf(merged)).toEqual(bucketsOf(whole));
            for (const q of QUANTILES) expect(merged.quantile(q)).toBe(whole.quantile(q));
            expect(merged.count).toBe(whole.count);
            // Floating-point sums depend on order; both stay within the usual n·ε·Σ|x| bound.
            let absoluteSum = 0;
            for (const value of [...a, ...b]) absoluteSum += Math.abs(value);
            if (Number.isFinite(absoluteSum)) {
              expect(Math.abs(merged.sum - whole.sum)).toBeLessThanOrEqual((a.length + b.length + 2) * Number.EPSILON * absoluteSum);
            }
          }
        }),
      );
    });

    it('equals one sketch fed everything when many parts are merged', () => {
      fc.assert(
        fc.property(fc.array(mixedArray, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 32 }), (parts, maxBuckets) => {
          const total = new LatencySketch({ maxBuckets });
          for (const part of parts) total.merge(sketchOf(part, { maxBuckets }));
          expect(bucketsOf(total)).toEqual(bucketsOf(sketchOf(parts.flat(), { maxBuckets })));
        }),
      );
    });

    it('merges a sketch with itself as if fed its values twice', () => {
      fc.assert(
        fc.property(mixedArray, (values) => {
          const sketch = sketchOf(values, { maxBuckets: 16 });
          sketch.merge(sketch);
          expect(bucketsOf(sketch)).toEqual(bucketsOf(sketchOf([...values, ...values], { maxBuckets: 16 })));
        }),
      );
    });

    it('leaves the merged-in sketch unchanged', () => {
      const other = sketchOf([1, -2, 3]);
      const before = other.toJSON();
      sketchOf([1e6, -1e-3]).merge(other);
      expect(other.toJSON()).toEqual(before);
    });

    it('adds up rejected values', () => {
      const a = sketchOf([1, Number.NaN]);
      a.merge(sketchOf([Number.POSITIVE_INFINITY, 2]));
      expect(a.rejected).toBe(2);
      expect(a.count).toBe(2);
    });

    it('refuses a sketch with a different relative accuracy with a TypeError', () => {
      const sketch = new LatencySketch({ relativeAccuracy: 0.01 });
      expect(() => sketch.merge(new LatencySketch({ relativeAccuracy: 0.02 }))).toThrow(TypeError);
      expect(() => sketch.merge(new LatencySketch({ relativeAccuracy: 0.02 }))).toThrow(/^latency-sketch:/);
      expect(() => sketch.merge({} as LatencySketch)).toThrow(/^latency-sketch:/);
    });

    it('accepts a sketch with a different bucket cap, keeping its own', () => {
      const small = sketchOf([1e-6, 1, 1e6], { maxBuckets: 8 });
      const large = sketchOf([1e-6, 1, 1e6]);
      large.merge(small);
      expect(large.maxBuckets).toBe(2048);
      expect(large.count).toBe(6);
      expect(large.quantile(1)).toBe(1e6);
    });
  });

  describe('toJSON / fromJSON', () => {
    it('round-trips through JSON text, and the copy goes on exactly like the original', () => {
      fc.assert(
        fc.property(mixedArray, mixedArray, fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(2048)), (values, more, maxBuckets) => {
          const sketch = sketchOf(values, { maxBuckets });
          const copy = roundTrip(sketch);
          expect(copy.toJSON()).toEqual(sketch.toJSON());
          for (const q of QUANTILES) expect(copy.quantile(q)).toEqual(sketch.quantile(q));
          for (const value of more) {
            sketch.add(value);
            copy.add(value);
          }
          expect(copy.toJSON()).toEqual(sketch.toJSON());
        }),
      );
    });

    it('round-trips an overflowed sum', () => {
      const sketch = sketchOf([Number.MAX_VALUE, Number.MAX_VALUE]);
      expect(sketch.sum).toBe(Number.POSITIVE_INFINITY);
      expect(roundTrip(sketch).sum).toBe(Number.POSITIVE_INFINITY);
    });

    const valid = sketchOf([-3, 0, 1, 2.5, 1000]).toJSON();
    it.each<[string, unknown]>([
      ['null', null],
      ['an array', []],
      ['a string', 'sketch'],
      ['no format', { ...valid, format: undefined }],
      ['another format', { ...valid, format: 'ddsketch' }],
      ['a future version', { ...valid, version: 2 }],
      ['relativeAccuracy 0', { ...valid, relativeAccuracy: 0 }],
      ['relativeAccuracy 1', { ...valid, relativeAccuracy: 1 }],
      ['relativeAccuracy as a string', { ...valid, relativeAccuracy: '0.01' }],
      ['maxBuckets 0', { ...valid, maxBuckets: 0 }],
      ['fractional maxBuckets', { ...valid, maxBuckets: 10.5 }],
      ['a negative count', { ...valid, count: -5 }],
      ['a count that disagrees with the buckets', { ...valid, count: 6 }],
      ['a fractional rejected', { ...valid, rejected: 0.5 }],
      ['a missing zeroCount', { ...valid, zeroCount: undefined }],
      ['a negative bucket count', { ...valid, positive: { offset: 0, counts: [-1] } }],
      ['a fractional bucket count', { ...valid, positive: { ...valid.positive, counts: [1.5, ...valid.positive.counts.slice(1)] } }],
      ['a string bucket count', { ...valid, negative: { offset: valid.negative.offset, counts: ['1'] } }],
      ['a non-integer offset', { ...valid, negative: { offset: 0.5, counts: [1] } }],
      ['counts that are not an array', { ...valid, negative: { offset: 0, counts: { 0: 1 } } }],
      ['a missing store', { ...valid, positive: undefined }],
      ['keys no double reaches', { ...valid, negative: { offset: 1e9, counts: [1] } }],
      ['more buckets than maxBuckets', { ...valid, maxBuckets: 4 }],
      ['min above max', { ...valid, min: 2000, max: 1000 }],
      ['a null min in a non-empty sketch', { ...valid, min: null }],
      ['a min that leaves out the negative buckets', { ...valid, min: 0 }],
      ['a max that leaves out the positive buckets', { ...valid, max: -1 }],
      ['a sum that is a word', { ...valid, sum: 'lots' }],
      ['an empty sketch with a min', { ...new LatencySketch().toJSON(), min: 1 }],
      ['an empty sketch with a sum', { ...new LatencySketch().toJSON(), sum: 3 }],
    ])('rejects %s with a TypeError', (_title, input) => {
      expect(() => LatencySketch.fromJSON(input)).toThrow(TypeError);
      expect(() => LatencySketch.fromJSON(input)).toThrow(/^latency-sketch: /);
    });

    it('throws only its own TypeError on arbitrary JSON and on valid JSON with one field replaced', () => {
      const base = sketchOf([-3, 0, 1, 2.5, 1000]).toJSON() as unknown as Record<string, unknown>;
      const field = fc.constantFrom(...Object.keys(base), 'extra');
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), fc.tuple(field, fc.jsonValue()).map(([key, value]) => ({ ...base, [key]: value }))), (input) => {
          try {
            LatencySketch.fromJSON(input);
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError);
            expect((error as Error).message).toMatch(/^latency-sketch: /);
          }
        }),
      );
    });
  });

  describe('clone', () => {
    it('copies everything, and the copy is independent', () => {
      const sketch = sketchOf([1, -2, 0, Number.NaN, 5e5]);
      const copy = sketch.clone();
      expect(copy.toJSON()).toEqual(sketch.toJSON());
      copy.add(-1e6);
      expect(sketch.count).toBe(4);
      expect(sketch.min).toBe(-2);
      expect(copy.min).toBe(-1e6);
    });
  });

  describe('examples', () => {
    it('summarizes an empty sketch as null, with NaN quantiles and extremes', () => {
      const sketch = new LatencySketch();
      expect(sketch.summarize()).toBeNull();
      expect(sketch.quantile(0.5)).toBeNaN();
      expect(sketch.min).toBeNaN();
      expect(sketch.max).toBeNaN();
      expect(sketch.count).toBe(0);
      expect(sketch.sum).toBe(0);
      expect(sketch.bucketCount).toBe(0);
      expect(roundTrip(sketch).summarize()).toBeNull();
    });

    it('returns a single value exactly at every quantile', () => {
      const sketch = sketchOf([42.7]);
      expect(sketch.summarize()).toEqual({ count: 1, min: 42.7, p50: 42.7, p95: 42.7, p99: 42.7, max: 42.7 });
    });

    it('keeps the sign of all-negative (clock-skewed) latencies', () => {
      const values: number[] = [];
      for (let i = 1; i <= 1000; i++) values.push(-i);
      const sketch = sketchOf(values);
      const summary = sketch.summarize()!;
      expect(summary.min).toBe(-1000);
      expect(summary.max).toBe(-1);
      // Nearest rank: p50 is the 500th smallest, -501; p99 the 990th, -11.
      expect(Math.abs(summary.p50 - -501)).toBeLessThanOrEqual(5.01 * SLACK);
      expect(Math.abs(summary.p99 - -11)).toBeLessThanOrEqual(0.11 * SLACK);
      expect(summary.p50).toBeLessThan(0);
      expect(summary.p99).toBeLessThan(0);
      expect(sketch.sum).toBe(-500500);
    });

    it('answers at 1% with the defaults, and reads the zero bucket back as 0', () => {
      const sketch = new LatencySketch();
      expect(sketch.relativeAccuracy).toBe(0.01);
      expect(sketch.maxBuckets).toBe(2048);
      sketch.add(-5);
      sketch.add(0);
      sketch.add(1e-320);
      sketch.add(10);
      expect(sketch.quantile(0.5)).toBe(0);
      expect(sketch.quantile(0.75)).toBe(0);
    });

    it('keeps within 2 × maxBuckets buckets on 10^6 distinct magnitudes of both signs', () => {
      const sketch = new LatencySketch();
      const n = 1_000_000;
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        // 10^-300 to 10^300: far more keys (about 69 000 per sign) than the cap.
        const magnitude = Math.exp(-690 + (1380 * i) / n);
        values[i] = i % 2 === 0 ? magnitude : -magnitude;
        sketch.add(values[i]!);
      }
      expect(sketch.bucketCount).toBeLessThanOrEqual(2 * 2048);
      expect(sketch.count).toBe(n);
      const sorted = values.sort();
      expect(sketch.quantile(0)).toBe(sorted[0]);
      expect(sketch.quantile(1)).toBe(sorted[n - 1]);
      // The largest magnitudes of each sign are kept, the smallest collapsed.
      for (const q of [0.001, 0.01, 0.99, 0.999]) expectWithinAccuracy(sketch, q, sketch.quantile(q), percentile(sorted, q));
    });

    it.each<[string, object]>([
      ['relativeAccuracy 0', { relativeAccuracy: 0 }],
      ['relativeAccuracy 1', { relativeAccuracy: 1 }],
      ['relativeAccuracy NaN', { relativeAccuracy: Number.NaN }],
      ['maxBuckets 0', { maxBuckets: 0 }],
      ['maxBuckets 2.5', { maxBuckets: 2.5 }],
      ['maxBuckets 2^25', { maxBuckets: 2 ** 25 }],
    ])('throws a RangeError for %s', (_title, options) => {
      expect(() => new LatencySketch(options)).toThrow(RangeError);
      expect(() => new LatencySketch(options)).toThrow(/^latency-sketch:/);
    });
  });
});
