/** Number and text formatting shared by the renderers. */
import { describe, expect, it } from 'vitest';
import { formatMs, formatMsCell, formatShare, formatTime, plural, printable } from '../../src/report/format.js';

describe('formatMsCell', () => {
  it.each([
    [0, '0'],
    [0.4234, '0.42'],
    [9.999, '10.00'],
    [12.34, '12.3'],
    [511.6, '512'],
    [9999, '9999'],
    [12_400, '12.4 s'],
    [510_000, '510.0 s'],
    [612_000, '10.2 min'],
    [7_200_000, '2.0 h'],
    [null, '—'],
    [undefined, '—'],
    [Number.NaN, '—'],
  ])('%s → %s', (ms, expected) => {
    expect(formatMsCell(ms)).toBe(expected);
  });
});

describe('formatMs', () => {
  it.each([
    [0.42, '0.42 ms'],
    [150, '150 ms'],
    [12_400, '12.4 s'],
    [null, '—'],
  ])('%s → %s', (ms, expected) => {
    expect(formatMs(ms)).toBe(expected);
  });
});

describe('formatShare', () => {
  it.each([
    [0, '0%'],
    [0.004, '0.4%'],
    [0.137, '14%'],
    [1, '100%'],
    [null, '—'],
  ])('%s → %s', (share, expected) => {
    expect(formatShare(share)).toBe(expected);
  });
});

describe('formatTime', () => {
  it('prints epoch milliseconds as ISO 8601 UTC and 0 as unknown', () => {
    expect(formatTime(1_795_573_465_205)).toBe('2026-11-25T02:24:25.205Z');
    expect(formatTime(0)).toBe('—');
    expect(formatTime(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('plural', () => {
  it('adds an s except for one', () => {
    expect([plural(0, 'error'), plural(1, 'error'), plural(2, 'error'), plural(2, 'was', 'were')]).toEqual([
      '0 errors',
      '1 error',
      '2 errors',
      '2 were',
    ]);
  });
});

describe('printable', () => {
  it.each([
    ['plain → text', 'plain → text'],
    ['two\nlines\r\n', String.raw`two\nlines\r\n`],
    ['tab\there', String.raw`tab\there`],
    ['\u001b[2Jclear', String.raw`\u001b[2Jclear`],
    ['nul\u0000 del\u007f c1\u009b', String.raw`nul\u0000 del\u007f c1\u009b`],
    ['bidi \u202eevil\u2066', String.raw`bidi \u202eevil\u2066`],
    ['lone \ud800 pair \ud83d\ude00', 'lone \\ud800 pair \ud83d\ude00'],
  ])('%j → %j', (input, expected) => {
    expect(printable(input)).toBe(expected);
  });
});
