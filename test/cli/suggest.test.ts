/**
 * "Did you mean": the edit distance behind it (a swap of two neighbours is one
 * edit), and which names are close enough to suggest.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closestName, didYouMean, editDistance } from '../../cli/suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['audit', 'audit', 0],
    ['audti', 'audit', 1], // swapped neighbours
    ['adit', 'audit', 1],
    ['auditt', 'audit', 1],
    ['kitten', 'sitting', 3],
    ['', 'graph', 5],
  ])('%j → %j: %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it('is 0 only between equal strings, symmetric, and at most the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});

describe('closestName', () => {
  const flags = ['format', 'fail-on', 'rule', 'config', 'dialect', 'now', 'allow-empty', 'no-color', 'color', 'help'];
  it.each([
    ['formt', 'format'],
    ['FORMAT', 'format'],
    ['fail', 'fail-on'],
    ['allow', 'allow-empty'],
    ['colour', 'color'],
    ['hlep', 'help'],
    ['cofnig', 'config'],
  ])('%s → %s', (typed, name) => {
    expect(closestName(typed, flags)).toBe(name);
  });

  it.each(['xyz', 'f', 'o', 'output', 'co'])('suggests nothing for %j (too far, or a prefix of several)', (typed) => {
    expect(closestName(typed, flags)).toBeUndefined();
  });

  it("matches a name's words in order: stale-read → stale-epoch-read", () => {
    expect(closestName('stale-read', ['stale-epoch-read', 'duplicate-write'])).toBe('stale-epoch-read');
    expect(closestName('read-stale', ['stale-epoch-read', 'duplicate-write'])).toBeUndefined();
  });

  it('phrases the hint for a one-line message', () => {
    expect(didYouMean('audti', ['audit', 'graph'])).toBe('; did you mean "audit"?');
    expect(didYouMean('formt', ['format'], (n) => `--${n}`)).toBe('; did you mean --format?');
    expect(didYouMean('zzz', ['audit'])).toBe('');
  });
});
