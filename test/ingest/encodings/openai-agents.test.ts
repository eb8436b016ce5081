/**
 * The OpenAI Agents SDK JSON encoding: recognition of its three shapes, one
 * clear error naming the place on bad input, and the same spans whichever shape
 * holds the items (the items come from a real SDK run, fixtures/frameworks/openai-agents/).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonEncodingOf } from '../../../src/ingest/encodings/index.js';
import { openAiAgentsJsonEncoding, parseOpenAiAgentsJson } from '../../../src/ingest/encodings/openai-agents.js';
import { isoTimeMsOf } from '../../../src/model/iso-time.js';
import { TraceInputError } from '../../../src/ingest/errors.js';

const DIR = fileURLToPath(new URL('../../../fixtures/frameworks/openai-agents/', import.meta.url));
const payload = JSON.parse(readFileSync(`${DIR}chain.native.json`, 'utf8')) as { data: Record<string, unknown>[] };
const span = payload.data.find((i) => i.object === 'trace.span')!;

describe('openAiAgentsJsonEncoding', () => {
  it('recognizes the exporter payload, a bare array and a single item, and nothing else', () => {
    expect(openAiAgentsJsonEncoding.recognizes(payload)).toBe(true);
    expect(openAiAgentsJsonEncoding.recognizes(payload.data)).toBe(true);
    expect(openAiAgentsJsonEncoding.recognizes(span)).toBe(true);
    expect(jsonEncodingOf(payload).id).toBe('openai-agents-json');
    expect(openAiAgentsJsonEncoding.recognizes({ resourceSpans: [] })).toBe(false);
    // Jaeger's API also answers {data: [...]}, of traces with traceID and spans.
    expect(openAiAgentsJsonEncoding.recognizes({ data: [{ traceID: 'abc', spans: [] }] })).toBe(false);
    expect(openAiAgentsJsonEncoding.recognizes([])).toBe(false);
    expect(openAiAgentsJsonEncoding.recognizes(null)).toBe(false);
  });

  it('reads the same spans from every shape', () => {
    const fromPayload = parseOpenAiAgentsJson(payload, 'a.json');
    const fromArray = parseOpenAiAgentsJson(payload.data, 'a.json');
    const fromLines = payload.data.flatMap((item, i) => parseOpenAiAgentsJson(item, `a.jsonl:${i + 1}`));
    const ids = (spans: { spanId: string; parentSpanId: string; name: string; startMs: number; endMs: number }[]) => spans.map((s) => [s.spanId, s.parentSpanId, s.name, s.startMs, s.endMs]);
    expect(fromPayload.length).toBe(payload.data.length - 1);
    expect(ids(fromArray)).toEqual(ids(fromPayload));
    expect(ids(fromLines)).toEqual(ids(fromPayload));
    // The group id of the trace item in the same value reaches its spans.
    expect(fromPayload.every((s) => s.attributes['gen_ai.conversation.id'] === 'conv-chain')).toBe(true);
  });

  it.each([
    ['a span without an id', { data: [{ ...span, id: 7 }] }, 'data[0].id: expected a span_… id, got number'],
    ['a bad time', { data: [{ ...span, started_at: 'yesterday' }] }, 'data[0].started_at: expected an ISO 8601 time, got "yesterday"'],
    ['span data that is not an object', [{ ...span, span_data: 'agent' }], '[0].span_data: expected an object, got "agent"'],
    ['a parent that is not an id', { ...span, parent_id: 3 }, 'item.parent_id: expected a span_… id or null, got number'],
    ['an unknown object', { data: [span, { object: 'trace.spam' }] }, 'data[1].object: expected "trace" or "trace.span", got "trace.spam"'],
    ['data that is not an array', { data: { object: 'trace' } }, 'data: expected an array of trace and trace.span items, got object'],
  ])('rejects %s with one error naming the place', (_what, value, message) => {
    expect(() => parseOpenAiAgentsJson(value, 'runs/x.json')).toThrow(TraceInputError);
    expect(() => parseOpenAiAgentsJson(value, 'runs/x.json')).toThrow(`runs/x.json: ${message}`);
  });

  it('never copies payloads: tool input and output stay out of the spans', () => {
    const tool = { ...span, span_data: { type: 'function', name: 'lookup', input: '{"card":"card-Q9"}', output: 'secret' } };
    const [record] = parseOpenAiAgentsJson(tool, 'x.json');
    expect(JSON.stringify(record!.attributes)).not.toMatch(/card-Q9|secret/);
    expect(record!.name).toBe('execute_tool lookup');
  });
});

describe('isoTimeMsOf', () => {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');

  it.each([
    ['2026-12-01T14:40:27.747Z'],
    ['2026-12-01T14:40:27.747123+00:00'],
    ['2026-12-01T14:40:27Z'],
    ['2026-12-01T14:40:27.7Z'],
    ['2026-02-30T00:00:00.000Z'],
    ['2024-02-29T23:59:59.999Z'],
    ['2026-12-01T14:40:27.Z'],
    ['2026-12-01T24:00:00.000Z'],
    ['2026-12-01T14:40:27.747+01:00'],
    ['2026-12-01 14:40:27.747Z'],
    ['2026-12-01T14:40:27.747'],
    ['not a time'],
    [''],
  ])('gives what Date.parse gives for %j', (text) => {
    expect(isoTimeMsOf(text)).toBe(Date.parse(text));
  });

  it('agrees with Date.parse on any time of the ISO shape, in range or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        fc.stringMatching(/^(\.[0-9]{0,10})?$/),
        fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+01:00', '', '+0000', ' Z', 'ZZ'),
        (year, month, day, hour, minute, second, fraction, zone) => {
          const text = `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${fraction}${zone}`;
          expect(isoTimeMsOf(text)).toBe(Date.parse(text));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
