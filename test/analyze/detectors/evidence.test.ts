/** The helpers every detector's messages use: formatMs, the durations in finding messages. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMs } from '../../../src/analyze/detectors/evidence.js';

describe('formatMs', () => {
  it('never says 0 ms of a positive gap: below 10 ms it keeps two decimals, below those it reads <0.01 ms', () => {
    // What a stale read on loopback gave: the replica read 0.2 ms after the primary's commit.
    expect(formatMs(0.2)).toBe('0.2 ms');
    expect(formatMs(0.42)).toBe('0.42 ms');
    expect(formatMs(3.5)).toBe('3.5 ms');
    expect(formatMs(0.001)).toBe('<0.01 ms');
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, max: 9_999, noNaN: true }), (ms) => {
        expect(formatMs(ms)).not.toBe('0 ms');
      }),
    );
  });

  it('keeps whole milliseconds, a real zero and seconds past 10 s as they were', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(5)).toBe('5 ms');
    expect(formatMs(84.4)).toBe('84 ms');
    expect(formatMs(434.02)).toBe('434 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
  });
});
