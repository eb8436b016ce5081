import { describe, expect, it } from 'vitest';
import { newId } from '../../src/sdk/runtime.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  it('makes version 4 UUIDs, all distinct, across many refills of its random pool', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('draws every random digit from the pool: each position takes every hex digit', () => {
    // A byte read twice or an offset that skips would leave a position stuck or two positions equal.
    const ids = Array.from({ length: 4000 }, () => newId());
    const random = [...Array(36).keys()].filter((i) => ![8, 13, 14, 18, 19, 23].includes(i));
    for (const at of random) expect(new Set(ids.map((id) => id[at])).size, `position ${at}`).toBe(16);
    expect(new Set(ids.map((id) => id[19]))).toEqual(new Set(['8', '9', 'a', 'b']));
    const samePair = ids.filter((id) => id.slice(0, 2) === id.slice(2, 4)).length;
    expect(samePair).toBeLessThan(100); // 1 in 256 by chance: ~16 of 4000
  });
});
