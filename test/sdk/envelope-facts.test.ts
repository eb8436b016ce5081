/**
 * Sizes without JSON.stringify must be what JSON.stringify writes, byte for byte,
 * and a recorded body must fit its limit exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeJsonBytes, jsonByteLength, jsonByteLengthForLimit, truncateBody, withMemberBytes } from '../../src/sdk/envelope-facts.js';
import { draft } from '../helpers/envelopes.js';

const bytesOf = (value: unknown): number => {
  const json = JSON.stringify(value);
  return json === undefined ? -1 : Buffer.byteLength(json);
};

/** Values JSON.stringify accepts, with the shapes the walk hands back to it: Dates, class instances, boxed values, escapes. */
const serializable = fc.anything({
  withBoxedValues: true,
  withDate: true,
  withNullPrototype: true,
  withSparseArray: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  stringUnit: 'binary',
  key: fc.string({ unit: 'binary' }),
});

describe('jsonByteLength', () => {
  it('is the UTF-8 length of JSON.stringify for any serializable value (escapes, lone surrogates, Dates, boxed values)', () => {
    fc.assert(
      fc.property(serializable, (value) => {
        fc.pre(JSON.stringify(value) !== undefined);
        expect(jsonByteLength(value)).toBe(bytesOf(value));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
    ],
    ['a BigInt', { n: 1n }],
    [
      'a getter that throws',
      Object.defineProperty({}, 'x', {
        enumerable: true,
        get: () => {
          throw new Error('no');
        },
      }),
    ],
  ])('is -1 for %s', (_label, value) => {
    expect(jsonByteLength(value)).toBe(-1);
  });

  it('measures only own keys when a library has put an enumerable key on Object.prototype', () => {
    const value = { a: 'x', nested: { b: [1, { c: true }] } };
    const exact = bytesOf(value);
    (Object.prototype as Record<string, unknown>).polluted = 'a value JSON.stringify never writes';
    try {
      expect(jsonByteLength(value)).toBe(exact);
      expect(jsonByteLengthForLimit(value, exact - 1)).toBe(exact);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  it('measures nesting past the walk depth as JSON.stringify does', () => {
    let deep: unknown = 'leaf "quoted"';
    for (let i = 0; i < 200; i++) deep = { d: [deep] };
    expect(jsonByteLength(deep)).toBe(bytesOf(deep));
  });
});

describe('jsonByteLengthForLimit', () => {
  it('is within the limit exactly when JSON.stringify is, and the exact size whenever it is over', () => {
    fc.assert(
      fc.property(serializable, fc.double({ min: 0, max: 2, noNaN: true }), (value, fraction) => {
        const exact = bytesOf(value);
        fc.pre(exact >= 0);
        const limit = Math.floor(exact * fraction);
        const bytes = jsonByteLengthForLimit(value, limit);
        expect(bytes <= limit).toBe(exact <= limit);
        if (bytes > limit) expect(bytes).toBe(exact);
      }),
      { numRuns: 2000 },
    );
  });

  it('bounds an envelope without measuring it when the limit is far (the receive of an object), and measures it at the limit', () => {
    const envelope = draft();
    const exact = bytesOf(envelope);
    expect(jsonByteLengthForLimit(envelope, 1024 * 1024)).toBeGreaterThan(exact);
    expect(jsonByteLengthForLimit(envelope, exact - 1)).toBe(exact);
    expect(jsonByteLengthForLimit(envelope, exact)).toBeLessThanOrEqual(exact);
  });

  it.each([
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })()],
    ['a BigInt', { n: 1n }],
  ])('is -1 for %s', (_label, value) => {
    expect(jsonByteLengthForLimit(value, 1 << 20)).toBe(-1);
  });
});

describe('envelopeJsonBytes', () => {
  it('gives the envelope and its context sizes as JSON.stringify would, and adds a member exactly', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), serializable, { maxKeys: 5 }), serializable, (extra, block) => {
        fc.pre(JSON.stringify(block) !== undefined);
        const envelope = { ...draft(), ...extra } as unknown as Record<string, unknown>;
        fc.pre(JSON.stringify(envelope) !== undefined);
        const sizes = envelopeJsonBytes(envelope);
        expect(sizes.total).toBe(bytesOf(envelope));
        const context = envelope.context;
        expect(sizes.context).toBe(
          context !== null && typeof context === 'object' && !Array.isArray(context) ? bytesOf(context) : -1,
        );
        const withoutHandoff = envelopeJsonBytes(envelope, 'handoff');
        const built = { ...envelope, handoff: block };
        expect(withMemberBytes(withoutHandoff, 'handoff', block)).toBe(bytesOf(built));
      }),
      { numRuns: 500 },
    );
  });
});

describe('envelopeJsonBytes on an own __proto__ key (JSON.parse makes one)', () => {
  it('still adds the member left out exactly (fast-check found { "__proto__": 0 })', () => {
    const envelope = { ...draft(), ...(JSON.parse('{"__proto__":0}') as object) } as unknown as Record<string, unknown>;
    expect(Object.hasOwn(envelope, '__proto__')).toBe(true);
    const block = { id: 'h-1', attempt: 2 };
    const built = { ...envelope, handoff: block };
    expect(withMemberBytes(envelopeJsonBytes(envelope, 'handoff'), 'handoff', block)).toBe(bytesOf(built));
  });
});

describe('truncateBody', () => {
  it('returns a body that fits whole, unchanged', () => {
    expect(truncateBody('{"a":1}', 7)).toBe('{"a":1}');
  });

  it('cuts to exactly the limit on ASCII: 50 bytes of the body and the 14-byte mark in 64', () => {
    const body = JSON.stringify(draft());
    expect(truncateBody(body, 64)).toBe(`${body.slice(0, 50)}…[truncated]`);
    expect(Buffer.byteLength(truncateBody(body, 64))).toBe(64);
  });

  it('never exceeds the limit, never splits a character, and keeps a prefix of the body', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(300), (text, maxBytes) => {
        const out = truncateBody(text, maxBytes);
        expect(Buffer.byteLength(out)).toBeLessThanOrEqual(maxBytes);
        if (Buffer.byteLength(text) <= maxBytes) {
          expect(out).toBe(text);
          return;
        }
        if (out === '') {
          expect(maxBytes).toBeLessThan(14);
          return;
        }
        const kept = out.slice(0, -'…[truncated]'.length);
        expect(out.endsWith('…[truncated]')).toBe(true);
        expect(text.startsWith(kept)).toBe(true);
        // The cut falls between code points, and nothing more would have fitted.
        const last = kept.charCodeAt(kept.length - 1);
        expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
        const next = text.codePointAt(kept.length)!;
        expect(Buffer.byteLength(kept) + Buffer.byteLength(String.fromCodePoint(next)) + 14).toBeGreaterThan(maxBytes);
      }),
      { numRuns: 1000 },
    );
  });
});
