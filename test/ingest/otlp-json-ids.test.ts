/**
 * Trace and span ids in OTLP/JSON: lowercase hex as the OTLP/JSON profile writes them
 * (kept as they are), uppercase hex (lowercased), base64 as the plain protobuf JSON
 * mapping writes them (decoded to hex), anything else refused naming the field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';
import { TraceInputError } from '../../src/ingest/errors.js';

function request(traceId: string, spanId: string, parentSpanId = ''): unknown {
  return {
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId, parentSpanId, name: 'op', startTimeUnixNano: '1000000', endTimeUnixNano: '2000000' }] }] }],
  };
}

describe('parseOtlpJsonRequest ids', () => {
  it('keeps lowercase hex, lowercases uppercase hex and decodes base64', () => {
    const lower = parseOtlpJsonRequest(request('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', '00f067aa0ba902b7'), 't')[0]!;
    expect([lower.traceId, lower.spanId, lower.parentSpanId]).toEqual(['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', '00f067aa0ba902b7']);
    const upper = parseOtlpJsonRequest(request('0AF7651916CD43DD8448EB211C80319C', 'B7AD6B7169203331'), 't')[0]!;
    expect([upper.traceId, upper.spanId]).toEqual(['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331']);
    const base64 = parseOtlpJsonRequest(
      request(Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64'), Buffer.from('b7ad6b7169203331', 'hex').toString('base64')),
      't',
    )[0]!;
    expect([base64.traceId, base64.spanId]).toEqual(['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331']);
  });

  it.each([
    ['0af7651916cd43dd8448eb211c80319g', 'b7ad6b7169203331', 'traceId'],
    ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b71692033 1', 'spanId'],
    ['0af7651916cd43dd8448eb211c8031', 'b7ad6b7169203331', 'traceId'],
    ['0af7651916cd43dd8448eb211c80319c', '', 'spanId'],
  ])('refuses trace id %j / span id %j, naming %s', (traceId, spanId, field) => {
    expect(() => parseOtlpJsonRequest(request(traceId, spanId), 'f.json')).toThrow(TraceInputError);
    expect(() => parseOtlpJsonRequest(request(traceId, spanId), 'f.json')).toThrow(new RegExp(`\\.${field}: expected`));
  });

  it('reads any 16-byte hex id in any case as its lowercase form, and refuses it with one non-hex character', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }), fc.nat(31), (bytes, upper, bad) => {
        const hex = Buffer.from(bytes).toString('hex');
        const mixed = [...hex].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
        expect(parseOtlpJsonRequest(request(mixed, 'b7ad6b7169203331'), 't')[0]!.traceId).toBe(hex);
        const broken = `${mixed.slice(0, bad)}x${mixed.slice(bad + 1)}`;
        expect(() => parseOtlpJsonRequest(request(broken, 'b7ad6b7169203331'), 't')).toThrow(TraceInputError);
      }),
    );
  });
});
