import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionPoint } from '../../src/analyze/span-index.js';

describe('partitionPoint', () => {
  it('is the first position where the predicate is false, on any sorted list and any bound, strict or not', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.integer({ min: -60, max: 60 }), (values, t) => {
        const sorted = [...values].sort((a, b) => a - b);
        const before = partitionPoint(sorted.length, (i) => sorted[i]! < t);
        const atOrBefore = partitionPoint(sorted.length, (i) => sorted[i]! <= t);
        const first = (p: (v: number) => boolean) => {
          const i = sorted.findIndex(p);
          return i === -1 ? sorted.length : i;
        };
        expect(before).toBe(first((v) => v >= t));
        expect(atOrBefore).toBe(first((v) => v > t));
      }),
    );
  });
});
