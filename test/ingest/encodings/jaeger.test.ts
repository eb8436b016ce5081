/**
 * Jaeger JSON as an input: the v1 API / UI download and the v3 API's chunks of
 * a recorded trace (fixtures/frameworks/*: converted from the same spans as the
 * OTLP file beside them) read back to the spans OTLP reads; the translation
 * tags return to kind, status and scope; other encodings with a `data` array
 * are not taken; bad shapes are one error naming the place.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSpans } from '../../helpers/traces.js';
import { jaegerJsonEncoding, parseJaegerJson, readSpanTags, readSpanTagsInTwoSteps } from '../../../src/ingest/encodings/jaeger.js';
import { jsonEncodingOf } from '../../../src/ingest/encodings/index.js';
import { TraceInputError } from '../../../src/ingest/errors.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { FRAMEWORKS_DIR } from '../../analyze/dialects/framework-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-jaeger-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const read = (file: string) => readFileSpans(file, 'span id');

/** What must survive the trip through Jaeger: everything but where it was read from, times to the microsecond. */
function comparable(span: SpanRecord): unknown {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: span.kind,
    statusCode: span.statusCode,
    statusMessage: span.statusMessage,
    attributes: span.attributes,
    links: span.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    resource: span.resource,
    scopeName: span.scopeName,
  };
}

describe.each([
  ['autogen', 'chain'],
  ['agent-framework', 'fan-out'],
])('Jaeger exports of %s/%s', (framework, scenario) => {
  it.each(['jaeger-v1.json', 'jaeger-v3.jsonl'])('%s reads to the spans of the OTLP file: ids, parents, links, kind, status, attributes, events, resource, scope', async (suffix) => {
    const otlp = await read(join(FRAMEWORKS_DIR, framework, `${scenario}.otlp.json`));
    const jaeger = await read(join(FRAMEWORKS_DIR, framework, `${scenario}.${suffix}`));
    expect(jaeger.errors).toEqual([]);
    expect(otlp.spans.length).toBeGreaterThan(0);
    expect(jaeger.spans.map(comparable)).toEqual(otlp.spans.map(comparable));
    // Jaeger keeps microseconds: times agree to the microsecond (and its rounding).
    for (let i = 0; i < otlp.spans.length; i++) {
      const [a, b] = [otlp.spans[i]!, jaeger.spans[i]!];
      expect(Math.abs(a.startMs - b.startMs)).toBeLessThanOrEqual(0.0011);
      expect(Math.abs(a.endMs - b.endMs)).toBeLessThanOrEqual(0.0011);
      for (let e = 0; e < a.events.length; e++) expect(Math.abs(a.events[e]!.timeMs - b.events[e]!.timeMs)).toBeLessThanOrEqual(0.0011);
    }
  });
});

const span = (over: Record<string, unknown> = {}) => ({
  traceID: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanID: '00f067aa0ba902b7',
  operationName: 'autogen process writer.(default)-A',
  references: [],
  startTime: 1_700_000_000_000_000,
  duration: 1500,
  tags: [],
  logs: [],
  processID: 'p1',
  ...over,
});
const trace = (spans: unknown[]) => ({ data: [{ traceID: '4bf92f3577b34da6a3ce929d0e0e4736', spans, processes: { p1: { serviceName: 'svc', tags: [{ key: 'host.name', type: 'string', value: 'h1' }] } } }] });

describe('parseJaegerJson', () => {
  it('turns the translation tags back into kind, status and scope, and drops them from the attributes', () => {
    const [record] = parseJaegerJson(
      trace([
        span({
          tags: [
            { key: 'span.kind', type: 'string', value: 'consumer' },
            { key: 'otel.status_code', type: 'string', value: 'ERROR' },
            { key: 'otel.status_description', type: 'string', value: 'TimeoutError: slow' },
            { key: 'error', type: 'bool', value: true },
            { key: 'otel.scope.name', type: 'string', value: 'autogen SingleThreadedAgentRuntime' },
            { key: 'sender_agent_type', type: 'string', value: 'planner' },
            { key: 'attempt', type: 'int64', value: 2 },
            { key: 'ratio', type: 'float64', value: 0.5 },
            { key: 'ok', type: 'bool', value: false },
          ],
          logs: [{ timestamp: 1_700_000_000_000_500, fields: [{ key: 'event', type: 'string', value: 'exception' }, { key: 'exception.type', type: 'string', value: 'TimeoutError' }] }],
        }),
      ]),
      'x.json',
    );
    expect(record).toMatchObject({
      kind: 5,
      statusCode: 2,
      statusMessage: 'TimeoutError: slow',
      scopeName: 'autogen SingleThreadedAgentRuntime',
      attributes: { sender_agent_type: 'planner', attempt: 2, ratio: 0.5, ok: false },
      resource: { 'service.name': 'svc', 'host.name': 'h1' },
      startMs: 1_700_000_000_000,
      endMs: 1_700_000_000_001.5,
      events: [{ name: 'exception', timeMs: 1_700_000_000_000.5, attributes: { 'exception.type': 'TimeoutError' } }],
    });
    expect(Object.keys(record!.attributes).sort()).toEqual(['attempt', 'ok', 'ratio', 'sender_agent_type']);
  });

  it('takes the first CHILD_OF in the same trace as the parent and every other reference (FOLLOWS_FROM: OTel links) as a link', () => {
    const [record] = parseJaegerJson(
      trace([
        span({
          references: [
            { refType: 'FOLLOWS_FROM', traceID: '4bf92f3577b34da6a3ce929d0e0e4736', spanID: '1111111111111111' },
            { refType: 'CHILD_OF', traceID: '4bf92f3577b34da6a3ce929d0e0e4736', spanID: '2222222222222222' },
            { refType: 'FOLLOWS_FROM', traceID: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanID: '3333333333333333' },
          ],
        }),
      ]),
      'x.json',
    );
    expect(record!.parentSpanId).toBe('2222222222222222');
    expect(record!.links).toEqual([
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '1111111111111111' },
      { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: '3333333333333333' },
    ]);
  });

  it('pads 64-bit trace ids, reads a native client\'s error=true as ERROR, and accepts a bare trace object and an array of them', () => {
    const short = { traceID: 'a3ce929d0e0e4736', spans: [span({ traceID: 'a3ce929d0e0e4736', tags: [{ key: 'error', type: 'bool', value: true }] })], processes: {} };
    for (const value of [short, [short]]) {
      const [record] = parseJaegerJson(value, 'x.json');
      expect(record!.traceId).toBe('0000000000000000a3ce929d0e0e4736');
      expect(record!.statusCode).toBe(2);
      expect(record!.attributes).toEqual({});
    }
  });

  it.each([
    ['a bad trace id', trace([span({ traceID: 'not-hex' })]), 'x.json: data[0].spans[0].traceID: expected a hex id of up to 32 digits, got "not-hex"'],
    ['a missing operation name', trace([span({ operationName: 7 })]), 'x.json: data[0].spans[0].operationName: expected a string, got number 7'],
    ['a negative start', trace([span({ startTime: -1 })]), 'x.json: data[0].spans[0].startTime: expected microseconds, got number -1'],
    ['references that are not an array', trace([span({ references: {} })]), 'x.json: data[0].spans[0].references: expected an array, got an object'],
    ['a v3 chunk without TracesData', { result: 3 }, 'x.json: result: expected OTLP TracesData, got number 3'],
    ['a v3 error object', { error: { httpCode: 404, message: 'trace not found' } }, 'x.json: the Jaeger API returned an error instead of traces: trace not found'],
  ])('names the place of %s', (_what, value, message) => {
    let error: unknown;
    try {
      parseJaegerJson(value, 'x.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraceInputError);
    expect((error as TraceInputError).message).toBe(message);
  });
});

describe('parseJaegerJson on arbitrary values', () => {
  it('returns spans or throws a TraceInputError, never anything else', () => {
    // Values shaped like Jaeger's, with any field replaced by anything JSON can hold.
    const anything = fc.jsonValue({ maxDepth: 3 });
    const hexish = fc.oneof(fc.stringMatching(/^[0-9a-f]{1,32}$/), anything);
    const tag = fc.record({ key: fc.oneof(fc.string(), anything), type: fc.oneof(fc.constantFrom('string', 'bool', 'int64', 'float64', 'binary'), anything), value: anything });
    const jaegerSpan = fc.record(
      {
        traceID: hexish,
        spanID: hexish,
        operationName: fc.oneof(fc.string(), anything),
        references: fc.oneof(fc.array(fc.record({ refType: fc.constantFrom('CHILD_OF', 'FOLLOWS_FROM'), traceID: hexish, spanID: hexish })), anything),
        startTime: fc.oneof(fc.nat(), anything),
        duration: fc.oneof(fc.nat(), anything),
        tags: fc.oneof(fc.array(tag), anything),
        logs: fc.oneof(fc.array(fc.record({ timestamp: fc.oneof(fc.nat(), anything), fields: fc.oneof(fc.array(tag), anything) })), anything),
        processID: fc.oneof(fc.constant('p1'), anything),
      },
      { requiredKeys: [] },
    );
    const value = fc.oneof(
      fc.record({ data: fc.array(fc.record({ traceID: hexish, spans: fc.oneof(fc.array(jaegerSpan), anything), processes: anything })) }),
      fc.record({ result: anything }),
      fc.record({ error: anything }),
      anything,
    );
    fc.assert(
      fc.property(value, (v) => {
        try {
          const spans = parseJaegerJson(v, 'x.json');
          for (const s of spans) expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
        } catch (error) {
          expect(error).toBeInstanceOf(TraceInputError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('jaegerJsonEncoding.recognizes', () => {
  it.each([
    ['the v1 API response', trace([span()]), true],
    ['an empty v1 search result', { data: [], total: 0, limit: 0, offset: 0, errors: null }, true],
    ['a v3 chunk', { result: { resourceSpans: [] } }, true],
    ['a bare trace', { traceID: 'ab', spans: [] }, true],
    ['an OpenAI Agents SDK export (data of trace objects)', { object: 'list', data: [{ object: 'trace', id: 'trace_1', workflow_name: 'w' }] }, false],
    ['an OpenAI Agents SDK export of spans', { data: [{ object: 'trace.span', id: 'span_1', trace_id: 'trace_1' }] }, false],
    ['an empty data array alone', { data: [] }, false],
    ['OTLP/JSON', { resourceSpans: [] }, false],
    ['a result that is not traces', { result: { rows: [] } }, false],
  ])('%s: %s', (_what, value, expected) => {
    expect(jaegerJsonEncoding.recognizes(value)).toBe(expected);
  });

  it('is chosen for Jaeger JSON and leaves OTLP to OTLP', () => {
    expect(jsonEncodingOf(trace([span()])).id).toBe('jaeger-json');
    expect(jsonEncodingOf({ resourceSpans: [] }).id).toBe('otlp-json');
  });
});

describe('reading Jaeger files', () => {
  it('reports a bad span as one line naming the file, and reads the other lines of a v3 stream', async () => {
    const file = join(dir, 'v3.jsonl');
    const good = await import('node:fs/promises').then((fs) => fs.readFile(join(FRAMEWORKS_DIR, 'autogen', 'chain.jaeger-v3.jsonl'), 'utf8'));
    const lines = good.trim().split('\n');
    await writeFile(file, `${lines[0]}\n{"error":{"grpcCode":5,"httpCode":404,"message":"trace not found"}}\n${lines.slice(1).join('\n')}\n`);
    const { spans, errors } = await read(file);
    expect(errors).toEqual([`${file}:2: the Jaeger API returned an error instead of traces: trace not found`]);
    const all = await read(join(FRAMEWORKS_DIR, 'autogen', 'chain.otlp.json'));
    expect(spans.map((s) => s.spanId)).toEqual(all.spans.map((s) => s.spanId));
  });
});

describe('readSpanTags', () => {
  const KEYS = ['span.kind', 'otel.status_code', 'otel.status_description', 'error', 'otel.scope.name', 'otel.library.name', 'otel.scope.version', 'otel.library.version', 'w3c.tracestate', '__proto__', 'constructor', '0', '17', 'a', 'b', 'gen_ai.agent.name', 'message.type'];
  const tag = fc.record({
    key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 4 })),
    type: fc.constantFrom('string', 'bool', 'int64', 'float64', 'binary', 'STRING', undefined),
    value: fc.oneof(fc.constantFrom('producer', 'ERROR', 'OK', 'true', 'false', 'x', true, false, null), fc.integer(), fc.string({ maxLength: 3 })),
  });

  it('reads what the two-step read does (attributes with their key order and prototype, and every translation tag) whenever it answers', () => {
    let answered = 0;
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 24 }), (tags) => {
        const one = readSpanTags(tags);
        if (one === undefined) return;
        answered++;
        const two = readSpanTagsInTwoSteps(tags);
        expect(Object.keys(one.attributes)).toEqual(Object.keys(two.attributes));
        expect(Object.getPrototypeOf(one.attributes)).toBe(Object.getPrototypeOf(two.attributes));
        expect(one).toEqual(two);
      }),
      { numRuns: 3000 },
    );
    expect(answered).toBeGreaterThan(300);
  });

  it('leaves to the two-step read what it cannot read the same way', () => {
    expect(readSpanTags(undefined)).toBeUndefined();
    expect(readSpanTags([{ key: 'span.kind', type: 'int64', value: 3 }])).toBeUndefined();
    expect(readSpanTags([{ key: 'error', type: 'bool', value: false }])).toBeUndefined();
    expect(readSpanTags([{ key: '__proto__', type: 'string', value: 'x' }])).toBeUndefined();
    expect(readSpanTags([{ key: 7, value: 'x' }])).toBeUndefined();
    expect(readSpanTags(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, type: 'string', value: 'v' })))).toBeUndefined();
    expect(readSpanTags([{ key: 'span.kind', type: 'string', value: 'client' }, { key: 'a', type: 'int64', value: '7' }])).toEqual({
      attributes: { a: 7 },
      kind: 'client',
      status: undefined,
      description: undefined,
      error: undefined,
      scope: undefined,
      library: undefined,
    });
  });
});
