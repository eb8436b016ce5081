/**
 * The fuzz suite's inputs, drawn by fast-check from a seed: mutations of the real
 * traces in fixtures/*.json (byte flips, truncation, deletions, type swaps,
 * duplicated and self-referencing ids, parent cycles, deep nesting, hostile names
 * and strings, edge times and numbers; written as JSON, JSON Lines, gzip, with a
 * BOM or CRLF, or as protobuf) and generated adversarial shapes (random bytes,
 * random JSON, OTLP-shaped values with wrong fields, JSON Lines with bad lines),
 * some under hostile file names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import protobuf from 'protobufjs/light.js';
import {
  deepArrayJson,
  deepArrayRequestProtobuf,
  deepKvlistJson,
  deepKvlistRequestJson,
  deepKvlistRequestProtobuf,
  gzipBomb,
  unclosedLine,
} from '../../fixtures/malformed/large.js';
import descriptor from '../../src/ingest/otlp-trace.descriptor.json' with { type: 'json' };
import { FIXTURES_DIR } from '../helpers/traces.js';

/**
 * The trace every case is audited beside: one with findings (a duplicate write and a
 * partial handoff), so a case that changes or hides them is caught. No case is made
 * from it, so its findings are its own.
 */
export const GOOD_FIXTURE = 'duplicate-write.json';

const SOURCE_NAMES = [
  'ack-timeout',
  'context-blowup',
  'clean',
  'context-loss',
  'cycle',
  'lost-trace-context',
  'partial-handoff',
  'revision-loop',
  'schema-drift',
  'stale-read',
] as const;

const SOURCES = SOURCE_NAMES.map((name) => readFileSync(`${FIXTURES_DIR}${name}.json`, 'utf8'));

/** A generated input: its bytes, a file name, and how it was made. */
export interface GeneratedCase {
  readonly kind: string;
  readonly name: string;
  readonly content: Buffer;
  /** JSON Lines: each bad line gets its own stderr line (up to the per-file limit). */
  readonly lines: boolean;
}

/** Strings that broke, or could break, some output: terminal escapes, bidi, markup, built-in names, sizes. */
export const HOSTILE_STRINGS: readonly string[] = [
  '\u001b]0;owned\u0007',
  '\u001b[2J\u001b[H',
  '\u001b]8;;https://evil.example\u001b\\link\u001b]8;;\u001b\\',
  'line\nbreak\r\nreturn\rx',
  'nul\u0000byte',
  'c1\u0085\u009b31m',
  'bidi\u202eesrever\u202c \u2066iso\u2069',
  'lone \ud800 surrogate \udfff',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '%3',
  '&#0; &amp; &lt;',
  '<script>alert(1)</script>',
  '](javascript:alert(1))',
  'https://evil.example/login www.evil.example a@evil.example',
  '@everyone @octocat',
  '| a | b |',
  '```',
  '"quoted" \\back\\',
  '',
  ' ',
  'x'.repeat(20_000),
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }) },
);

/** File names no shell user would type but a filesystem holds: escapes, newlines, bidi. */
const HOSTILE_FILE_STEMS = ['esc\u001b[31mred', 'osc\u001b]0;title\u0007', 'new\nline', 'bidi\u202etxt.exe', 'tab\there', 'c1\u009bx'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface SpanJson {
  traceId?: Json;
  spanId?: Json;
  parentSpanId?: Json;
  name?: Json;
  startTimeUnixNano?: Json;
  endTimeUnixNano?: Json;
  attributes?: { key: string; value: Json }[];
  [key: string]: Json | undefined;
}

function spansOf(request: Json): SpanJson[] {
  const out: SpanJson[] = [];
  const resourceSpans = (request as { resourceSpans?: { scopeSpans?: { spans?: SpanJson[] }[] }[] }).resourceSpans ?? [];
  for (const rs of resourceSpans) for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) out.push(span);
  return out;
}

/** Every [container, key] of a JSON value, in document order. */
function slotsOf(value: Json): [Json[] | { [key: string]: Json }, string | number][] {
  const slots: [Json[] | { [key: string]: Json }, string | number][] = [];
  const pending: Json[] = [value];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        slots.push([node, i]);
        pending.push(node[i]!);
      }
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        slots.push([node, key]);
        pending.push(node[key]!);
      }
    }
  }
  return slots;
}

const replacement = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  hostileString,
  fc.constant([] as Json),
  fc.constant({} as Json),
  fc.constant([[1]] as Json),
  fc.constant({ resourceSpans: [] } as Json),
);

const edgeTime = fc.constantFrom<Json>('', ' ', '0x10', '1e3', 1.5, '1000.5', -1, '-5', '18446744073709551616', '18446744073709551615', 1e20, 'NaN', null, true, [], '0', 0, '9007199254740993');
const edgeNumber = fc.constantFrom<Json>('NaN', 'Infinity', '-Infinity', 1e308, -1e308, -0, 'abc', '', 5e-324);

type JsonMutation = (request: Json) => Json;

const jsonMutations: fc.Arbitrary<[string, JsonMutation]>[] = [
  fc.tuple(fc.nat(), replacement).map(([at, value]): [string, JsonMutation] => [
    'type-swap',
    (request) => {
      const slots = slotsOf(request);
      const [container, key] = slots[at % slots.length]!;
      (container as Record<string | number, Json>)[key] = value;
      return request;
    },
  ]),
  fc.nat().map((at): [string, JsonMutation] => [
    'duplicate-ids',
    (request) => {
      const spans = spansOf(request);
      const id = spans[at % spans.length]!.spanId!;
      for (const span of spans) span.spanId = id;
      return request;
    },
  ]),
  fc.array(fc.nat(), { minLength: 1, maxLength: 5 }).map((picks): [string, JsonMutation] => [
    'self-parent',
    (request) => {
      const spans = spansOf(request);
      for (const pick of picks) {
        const span = spans[pick % spans.length]!;
        span.parentSpanId = span.spanId!;
      }
      return request;
    },
  ]),
  fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, b, c]): [string, JsonMutation] => [
    'parent-cycle',
    (request) => {
      const spans = spansOf(request);
      const [x, y, z] = [spans[a % spans.length]!, spans[b % spans.length]!, spans[c % spans.length]!];
      x.parentSpanId = y.spanId!;
      y.parentSpanId = z.spanId!;
      z.parentSpanId = x.spanId!;
      return request;
    },
  ]),
  fc.tuple(fc.nat(), fc.integer({ min: 20, max: 6000 }), fc.boolean()).map(([at, depth, kvlist]): [string, JsonMutation] => [
    'deep-nesting',
    (request) => {
      const spans = spansOf(request);
      const span = spans[at % spans.length]!;
      // A marker, replaced by the deep text once serialized: JSON.stringify itself overflows the stack a few thousand deep.
      span.attributes = [...(span.attributes ?? []), { key: 'gen_ai.tool.call.arguments', value: `@@deep:${kvlist ? 'kvlist' : 'array'}:${depth}@@` }];
      return request;
    },
  ]),
  fc.array(fc.tuple(fc.nat(), hostileString), { minLength: 1, maxLength: 8 }).map((picks): [string, JsonMutation] => [
    'hostile-strings',
    (request) => {
      // Agent names, keys, span names, messages: every string a report may show.
      const slots = slotsOf(request).filter(([container, key]) => typeof (container as Record<string | number, Json>)[key] === 'string' && key !== 'traceId' && key !== 'spanId' && key !== 'parentSpanId');
      for (const [at, text] of picks) {
        const [container, key] = slots[at % slots.length]!;
        (container as Record<string | number, Json>)[key] = text;
      }
      return request;
    },
  ]),
  fc.array(fc.tuple(fc.nat(), edgeTime), { minLength: 1, maxLength: 3 }).map((picks): [string, JsonMutation] => [
    'edge-times',
    (request) => {
      const spans = spansOf(request);
      for (const [at, time] of picks) spans[at % spans.length]![at % 2 === 0 ? 'startTimeUnixNano' : 'endTimeUnixNano'] = time;
      return request;
    },
  ]),
  fc.array(fc.tuple(fc.nat(), edgeNumber), { minLength: 1, maxLength: 10 }).map((picks): [string, JsonMutation] => [
    'edge-numbers',
    (request) => {
      const slots = slotsOf(request).filter(([container, key]) => key === 'intValue' || key === 'doubleValue');
      for (const [at, value] of picks) {
        const [container] = slots[at % slots.length]!;
        delete (container as Record<string, Json>).intValue;
        (container as Record<string, Json>).doubleValue = value;
      }
      return request;
    },
  ]),
];

type ByteMutation = (bytes: Buffer) => Buffer;

const byteMutations: fc.Arbitrary<[string, ByteMutation]>[] = [
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }).map((flips): [string, ByteMutation] => [
    'byte-flips',
    (bytes) => {
      const out = Buffer.from(bytes);
      for (const [at, value] of flips) out[at % out.length] = value;
      return out;
    },
  ]),
  fc.nat().map((at): [string, ByteMutation] => ['truncation', (bytes) => bytes.subarray(0, at % bytes.length)]),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 400 })).map(([at, length]): [string, ByteMutation] => [
    'deletion',
    (bytes) => Buffer.concat([bytes.subarray(0, at % bytes.length), bytes.subarray((at % bytes.length) + length)]),
  ]),
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 400 })).map(([from, to, length]): [string, ByteMutation] => [
    'duplicated-range',
    (bytes) => {
      const start = from % bytes.length;
      const at = to % bytes.length;
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(start, start + length), bytes.subarray(at)]);
    },
  ]),
];

type Encoding = 'json' | 'pretty' | 'jsonl' | 'gzip' | 'bom' | 'crlf' | 'protobuf';

let requestType: protobuf.Type | undefined;

/** OTLP/JSON → protobuf bytes: protobufjs reads the same camelCase names once ids are base64. */
function toProtobuf(request: Json): Buffer | undefined {
  requestType ??= protobuf.Root.fromJSON(descriptor as protobuf.INamespace).lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  try {
    const copy = JSON.parse(JSON.stringify(request), (key, value: unknown) =>
      (key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof value === 'string' && /^[0-9a-f]*$/i.test(value)
        ? Buffer.from(value, 'hex').toString('base64')
        : value,
    ) as Record<string, unknown>;
    return Buffer.from(requestType.encode(requestType.fromObject(copy)).finish());
  } catch {
    return undefined;
  }
}

const DEEP_MARKER = /"@@deep:(kvlist|array):(\d+)@@"/g;

/** JSON text with each deep-nesting marker replaced by its value. */
function stringify(value: Json, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(DEEP_MARKER, (_m, kind: string, depth: string) =>
    kind === 'kvlist' ? deepKvlistJson(Number(depth)) : deepArrayJson(Number(depth)),
  );
}

/** One request as the encoding writes it; JSON Lines puts each resourceSpans entry on a line of its own. */
function encode(request: Json, encoding: Encoding): { content: Buffer; extension: string; lines: boolean } {
  const text = stringify(request);
  switch (encoding) {
    case 'pretty':
      return { content: Buffer.from(stringify(request, 2)), extension: 'json', lines: false };
    case 'jsonl': {
      const resourceSpans = (request as { resourceSpans?: Json[] } | null)?.resourceSpans;
      const lines = Array.isArray(resourceSpans) ? resourceSpans.map((rs) => stringify({ resourceSpans: [rs] })) : [text];
      return { content: Buffer.from(`${lines.join('\n')}\n`), extension: 'jsonl', lines: true };
    }
    case 'gzip':
      return { content: gzipSync(text), extension: 'json.gz', lines: false };
    case 'bom':
      return { content: Buffer.from(`\ufeff${text}`), extension: 'json', lines: false };
    case 'crlf':
      return { content: Buffer.from(`${text}\r\n${text.replace(/"spanId":"([0-9a-f]{15})[0-9a-f]"/g, '"spanId":"$1f"')}\r\n`), extension: 'jsonl', lines: true };
    case 'protobuf': {
      const bytes = toProtobuf(request);
      return bytes ? { content: bytes, extension: 'binpb', lines: false } : { content: Buffer.from(text), extension: 'json', lines: false };
    }
    default:
      return { content: Buffer.from(text), extension: 'json', lines: false };
  }
}

const encodingArb = fc.constantFrom<Encoding>('json', 'json', 'pretty', 'jsonl', 'gzip', 'bom', 'crlf', 'protobuf');
const sourceArb = fc.nat({ max: SOURCES.length - 1 });

const jsonMutationCase = fc
  .tuple(sourceArb, fc.array(fc.oneof(...jsonMutations), { minLength: 1, maxLength: 3 }), encodingArb)
  .map(([source, mutations, encoding]) => {
    let request = JSON.parse(SOURCES[source]!) as Json;
    for (const [, mutate] of mutations) {
      // A mutation after a type swap may find no spans, or a string where a span was: it then does nothing.
      const before = JSON.stringify(request);
      try {
        request = mutate(request);
      } catch {
        request = JSON.parse(before) as Json;
      }
    }
    const { content, extension, lines } = encode(request, encoding);
    return { kind: `${SOURCE_NAMES[source]}: ${mutations.map(([kind]) => kind).join('+')} as ${encoding}`, extension, content, lines };
  });

const byteMutationCase = fc
  .tuple(sourceArb, fc.oneof(...byteMutations), fc.constantFrom<Encoding>('json', 'jsonl', 'protobuf', 'gzip'))
  .map(([source, [kind, mutate], encoding]) => {
    const encoded = encode(JSON.parse(SOURCES[source]!) as Json, encoding);
    return { kind: `${SOURCE_NAMES[source]}: ${kind} of ${encoding}`, extension: encoded.extension, content: mutate(encoded.content), lines: encoded.lines };
  });

const hexId = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const idField = (bytes: number) => fc.oneof(hexId(bytes), hostileString, fc.integer(), fc.constant(null), fc.constant('0'.repeat(bytes * 2)));

const shapedSpan = fc.record(
  {
    traceId: idField(16),
    spanId: idField(8),
    parentSpanId: idField(8),
    name: fc.oneof(hostileString, fc.integer()),
    kind: fc.oneof(fc.integer({ min: -1, max: 9 }), hostileString),
    startTimeUnixNano: fc.oneof(edgeTime, fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String)),
    endTimeUnixNano: fc.oneof(edgeTime, fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String)),
    attributes: fc.oneof(
      fc.array(fc.record({ key: hostileString, value: fc.oneof(fc.record({ stringValue: hostileString }), fc.record({ intValue: edgeNumber }), fc.record({ doubleValue: edgeNumber }), fc.record({ kvlistValue: fc.constant(null) }), fc.record({ arrayValue: fc.record({ values: fc.constant([1, null]) }) }), replacement) }), { maxLength: 4 }),
      replacement,
    ),
    links: fc.oneof(fc.array(fc.record({ traceId: idField(16), spanId: idField(8) }), { maxLength: 2 }), replacement),
    events: fc.oneof(fc.array(fc.record({ name: hostileString, timeUnixNano: edgeTime }), { maxLength: 2 }), replacement),
    status: fc.oneof(fc.record({ code: fc.oneof(fc.integer(), hostileString), message: hostileString }), replacement),
  },
  { requiredKeys: [] },
);

const shapedCase = fc
  .record({ resourceSpans: fc.array(fc.record({ resource: fc.oneof(fc.constant(null), fc.record({ attributes: replacement })), scopeSpans: fc.array(fc.record({ scope: fc.oneof(fc.record({ name: hostileString }), replacement), spans: fc.array(shapedSpan, { maxLength: 4 }) }, { requiredKeys: [] }), { maxLength: 3 }) }, { requiredKeys: [] }), { maxLength: 3 }) })
  .map((request) => ({ kind: 'generated: OTLP-shaped', extension: 'json', content: Buffer.from(JSON.stringify(request)), lines: false }));

const randomBytesCase = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map((b) => ({ kind: 'generated: random bytes', extension: 'bin', content: Buffer.from(b), lines: false })),
  fc.uint8Array({ maxLength: 2000 }).map((b) => ({ kind: 'generated: random bytes named .binpb', extension: 'binpb', content: Buffer.from(b), lines: false })),
  fc.uint8Array({ maxLength: 500 }).map((b) => ({ kind: 'generated: gzip of random bytes', extension: 'json.gz', content: gzipSync(Buffer.from(b)), lines: false })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'generated: random JSON', extension: 'json', content: Buffer.from(JSON.stringify(v) ?? 'null'), lines: false })),
);

const goodLine = (i: number) =>
  `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'ab'.repeat(16)}","spanId":"${i.toString(16).padStart(16, '0')}","name":"x","startTimeUnixNano":"1000000","endTimeUnixNano":"2000000"}]}]}]}`;

const linesCase = fc
  .array(fc.oneof(fc.constant('good'), hostileString, fc.constant('{"resourceSpans":[}'), fc.constant('[]'), fc.constant('{"resourceSpans":[{}]} x')), { minLength: 1, maxLength: 40 })
  .map((lines) => ({
    kind: 'generated: JSON Lines with bad lines',
    extension: 'jsonl',
    content: Buffer.from(`${lines.map((line, i) => (line === 'good' ? goodLine(i + 1) : line.replace(/[\r\n]/g, ' '))).join('\n')}\n`),
    lines: true,
  }));

const anyCase = fc.tuple(
  fc.oneof(
    { weight: 5, arbitrary: jsonMutationCase },
    { weight: 3, arbitrary: byteMutationCase },
    { weight: 1, arbitrary: shapedCase },
    { weight: 1, arbitrary: randomBytesCase },
    { weight: 1, arbitrary: linesCase },
  ),
  fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_FILE_STEMS) }),
);

/** `count` cases drawn from `seed`: the same seed gives the same cases. */
export function generateCases(seed: number, count: number): GeneratedCase[] {
  return fc.sample(anyCase, { seed, numRuns: count }).map(([c, stem], i) => ({
    kind: c.kind,
    name: `${String(i).padStart(4, '0')}-${stem ?? 'case'}.${c.extension}`,
    content: c.content,
    // A flipped or duplicated byte may be a line break: the input is then JSON Lines, a stderr line per bad line.
    lines: c.lines || c.content.subarray(0, c.content.length - 1).includes(0x0a),
  }));
}

/**
 * The fixed regressions, audited by the suite besides the drawn cases: every file of
 * fixtures/malformed/, and the large shapes of fixtures/malformed/large.ts (a 10 MiB
 * gzip bomb, a line past the 128 MiB bound, attributes 5,000 deep as JSON and protobuf).
 */
export function specialCases(): GeneratedCase[] {
  const malformed = `${FIXTURES_DIR}malformed/`;
  const files = readdirSync(malformed).filter((name) => !name.endsWith('.ts'));
  const cases: GeneratedCase[] = files.map((name) => ({
    kind: `fixtures/malformed/${name}`,
    name: `malformed-${name}`,
    content: readFileSync(`${malformed}${name}`),
    lines: name.endsWith('.jsonl'),
  }));
  cases.push(
    { kind: 'large: gzip bomb, 10 MiB to 10 GiB', name: 'large-bomb.json.gz', content: gzipBomb(10 * 1024), lines: false },
    { kind: 'large: a JSON Lines line of 160 MiB', name: 'large-line.jsonl', content: unclosedLine(160), lines: true },
    { kind: 'large: key-value lists 5,000 deep', name: 'large-deep-kvlist.json', content: Buffer.from(deepKvlistRequestJson(5000)), lines: false },
    { kind: 'large: key-value lists 5,000 deep, protobuf', name: 'large-deep-kvlist.binpb', content: deepKvlistRequestProtobuf(5000), lines: false },
    { kind: 'large: arrays 5,000 deep, protobuf', name: 'large-deep-array.binpb', content: deepArrayRequestProtobuf(5000), lines: false },
  );
  return cases;
}
