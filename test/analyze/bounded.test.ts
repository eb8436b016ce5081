/** forgetOldest: the count bound every cross-group index uses. */
import { describe, expect, it } from 'vitest';
import { forgetOldest } from '../../src/analyze/bounded.js';

describe('forgetOldest', () => {
  it('leaves a map within its bound alone', () => {
    const map = new Map([[1, 'a'], [2, 'b']]);
    forgetOldest(map, 2);
    expect([...map.keys()]).toEqual([1, 2]);
  });

  it('forgets the oldest entries, in insertion order, down to 90% of the bound, telling the caller each one', () => {
    const map = new Map<number, string>();
    for (let i = 0; i < 11; i++) map.set(i, `v${i}`);
    map.delete(0);
    map.set(0, 'v0'); // re-inserted: now the newest
    const forgotten: number[] = [];
    forgetOldest(map, 10, (key) => forgotten.push(key));
    expect(forgotten).toEqual([1, 2]);
    expect(map.size).toBe(9);
    expect([...map.keys()]).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 0]);
  });
});
