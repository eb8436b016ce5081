/**
 * A span's attributes as the OTLP/JSON reader builds them, whatever their number: past
 * MANY_ATTRIBUTES they are laid out from key-value pairs (a compact object rather than V8's
 * hash-table mode), and must read exactly as an object built one key at a time would: the same
 * keys in the same order, the last value of a repeated key, `__proto__` as plain data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANY_ATTRIBUTES } from '../../src/model/span-record.js';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';

function requestWith(attributes: readonly { key: string; value: unknown }[]): unknown {
  return {
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'op', startTimeUnixNano: '1000000', endTimeUnixNano: '2000000', attributes },
            ],
          },
        ],
      },
    ],
  };
}

/** What a reader that stores one key at a time gives: own data properties, in first-seen order, last value kept. */
function oneKeyAtATime(pairs: readonly [string, string][]): [string, string][] {
  const object: Record<string, string> = {};
  for (const [key, value] of pairs) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return Object.keys(object).map((key) => [key, object[key]!]);
}

describe('parseOtlpJsonRequest attributes', () => {
  it('reads any number of attributes, repeated keys and __proto__ included, as one key at a time would', () => {
    const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', '0', '7', 'gen_ai.agent.name', 'baton.handoff.id'), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.string({ maxLength: 8 })), { maxLength: 2 * MANY_ATTRIBUTES + 5 }), (pairs) => {
        const span = parseOtlpJsonRequest(requestWith(pairs.map(([k, v]) => ({ key: k, value: { stringValue: v } }))), 'f.json')[0]!;
        const read = Object.keys(span.attributes).map((k) => [k, span.attributes[k]]);
        expect(read).toEqual(oneKeyAtATime(pairs));
        expect(Object.getPrototypeOf(span.attributes)).toBe(Object.prototype);
      }),
      { numRuns: 300 },
    );
  });

  it('names the malformed attribute of a span with many, at its place in the request', () => {
    const attributes: { key: unknown; value: unknown }[] = Array.from({ length: MANY_ATTRIBUTES + 3 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));
    attributes[MANY_ATTRIBUTES + 1] = { key: 7, value: {} };
    expect(() => parseOtlpJsonRequest(requestWith(attributes as never), 'f.json')).toThrow(
      `f.json: resourceSpans[0].scopeSpans[0].spans[0].attributes[${MANY_ATTRIBUTES + 1}]: expected {"key": string, "value": AnyValue}`,
    );
  });
});
