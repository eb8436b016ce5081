/**
 * Count bounds for what the analyzer remembers across trace groups. Time bounds
 * (forget after an hour of data time) keep memory small for data spread over
 * hours; a dense burst (thousands of tasks a minute) needs a bound by count too.
 * A Map iterates in insertion order, so its first entries are its oldest.
 */

/** Data time after which remembered state nobody touched is forgotten (an hour). */
export const FORGET_AFTER_MS = 3_600_000;

/** Forgetting walks a whole index: at most once per this much data time. */
export const FORGET_EVERY_MS = 60_000;

/** Entries any one index keeps at most before its oldest are forgotten. */
export const MAX_REMEMBERED = 200_000;

/** Deletes the oldest entries of `map` (insertion order) until it holds at most 90% of `max`; calls `onForget` for each. */
export function forgetOldest<K, V>(map: Map<K, V>, max = MAX_REMEMBERED, onForget?: (key: K, value: V) => void): void {
  if (map.size <= max) return;
  const keep = Math.floor(max * 0.9);
  for (const [key, value] of map) {
    if (map.size <= keep) break;
    map.delete(key);
    onForget?.(key, value);
  }
}
