/**
 * The handoff's times and trace context as they cross the wire: sent_at written
 * to the microsecond and read back to the same double, whatever path the reader
 * takes (its fast path for the shape send writes, Date.parse for any other), and
 * a traceparent with all-zero ids read as no context at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { preciseIsoTime, sentAtMsOf } from '../../src/sdk/handoffs.js';
import { extractSpanContext } from '../../src/sdk/trace-context.js';

/** The formula send used before it cached the date per second: the oracle. */
function isoByToIsoString(ms: number): string {
  const iso = new Date(ms).toISOString();
  const micros = Math.min(999, Math.floor((ms - Math.floor(ms)) * 1000));
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** Date.parse plus the digits past the millisecond: how receive read every sent_at before its fast path. */
function msByDateParse(text: string): number {
  const ms = Date.parse(text);
  const extra = /\.\d{3}(\d+)(?:Z|[+-]\d\d:\d\d)$/i.exec(text);
  return extra ? ms + Number(`0.${extra[1]}`) : ms;
}

/** Epoch ms from 1970 to 2200 with a sub-millisecond part, as nowMs() reads them. */
const times = fc
  .tuple(fc.integer({ min: 0, max: 7_258_118_400_000 }), fc.integer({ min: 0, max: 1023 }))
  .map(([whole, fraction]) => whole + fraction / 1024);

describe('preciseIsoTime', () => {
  it('writes the same text as toISOString plus the microsecond digits, second after second', () => {
    fc.assert(
      fc.property(fc.array(times, { minLength: 1, maxLength: 20 }), (list) => {
        for (const ms of list) expect(preciseIsoTime(ms)).toBe(isoByToIsoString(ms));
      }),
    );
    // Within one second and across its boundary, where the cached date must change.
    for (const ms of [1_764_606_411_999.9, 1_764_606_412_000, 1_764_606_412_000.5, 1_764_606_412_999.99, 1_764_606_413_000.001])
      expect(preciseIsoTime(ms)).toBe(isoByToIsoString(ms));
  });
});

describe('sentAtMsOf', () => {
  it('reads what send writes back to the same epoch ms as Date.parse and the extra digits', () => {
    fc.assert(
      fc.property(fc.array(times, { minLength: 1, maxLength: 20 }), (list) => {
        for (const ms of list) {
          const text = preciseIsoTime(ms);
          expect(sentAtMsOf({ sent_at: text })).toBe(msByDateParse(text));
        }
      }),
    );
  });

  it.each([
    ['a millisecond time', '2026-12-01T16:25:31.692Z'],
    ['an offset', '2026-12-01T18:25:31.692123+02:00'],
    ['nanoseconds', '2026-12-01T16:25:31.692123456Z'],
    ['a non-digit in the fraction', '2026-12-01T16:25:31.69a123Z'],
    ['a non-digit in the micros', '2026-12-01T16:25:31.692x23Z'],
    ['an impossible date of the fast shape', '2026-13-41T16:25:31.692123Z'],
    ['text of the fast length', 'not a time at all, 27 chars'],
    ['a lowercase z', '2026-12-01T16:25:31.692123z'],
  ])('reads %s as Date.parse does', (_, text) => {
    const expected = msByDateParse(text);
    const read = sentAtMsOf({ sent_at: text });
    if (Number.isNaN(expected)) expect(read).toBeNaN();
    else expect(read).toBe(expected);
  });

  it('is NaN without a sent_at string', () => {
    expect(sentAtMsOf(undefined)).toBeNaN();
    expect(sentAtMsOf({})).toBeNaN();
  });
});

describe('extractSpanContext', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN = '00f067aa0ba902b7';

  it('reads a W3C traceparent, flags and tracestate included', () => {
    expect(extractSpanContext({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'k=v' }, 'w3c')).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      traceFlags: 1,
      isRemote: true,
    });
  });

  it('reads every flags byte as its hex value, 00 to ff', () => {
    for (let flags = 0; flags < 256; flags++) {
      const hex = flags.toString(16).padStart(2, '0');
      expect(extractSpanContext({ traceparent: `00-${TRACE}-${SPAN}-${hex}` }, 'w3c')?.traceFlags).toBe(flags);
    }
  });

  it.each([
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['another version', `01-${TRACE}-${SPAN}-01`],
  ])('reads %s as no context', (_, traceparent) => {
    expect(extractSpanContext({ traceparent }, 'w3c')).toBeUndefined();
  });
});
