/**
 * The SDK clock: sub-millisecond readings that never step back and never leave
 * the wall clock's current millisecond, even when the wall clock is moved.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nowMs } from '../../src/sdk/clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('nowMs', () => {
  it('reads sub-millisecond time within Date.now()’s millisecond, never stepping back', () => {
    let previous = -Infinity;
    let fractional = 0;
    for (let i = 0; i < 2000; i++) {
      const before = Date.now();
      const now = nowMs();
      const after = Date.now();
      expect(now).toBeGreaterThanOrEqual(previous);
      expect(Math.floor(now)).toBeGreaterThanOrEqual(before);
      expect(Math.floor(now)).toBeLessThanOrEqual(after);
      if (!Number.isInteger(now)) fractional++;
      previous = now;
    }
    expect(fractional).toBeGreaterThan(0);
  });

  it.each([
    ['ahead of', '2099-01-01T00:00:00.000Z'],
    ['behind', '2001-01-01T00:00:00.000Z'],
  ])('follows the wall clock when it is set far %s the monotonic clock', (_where, iso) => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(iso) });
    expect(Math.floor(nowMs())).toBe(Date.parse(iso));
    expect(new Date(nowMs()).toISOString()).toBe(iso);
  });
});
