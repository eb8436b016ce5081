import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTraceInputs, readTraceStream } from '../../src/ingest/read-trace-inputs.js';
import { TraceInputError } from '../../src/ingest/errors.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { FIXTURES_DIR, runPipelineSpans, toOtlpJson, toOtlpProtobuf } from '../helpers/traces.js';
import { collectorZstdRecords, shouldSkipZstdTests, zstdCompress } from '../helpers/zstd.js';
import { NATIVE_ZSTD } from '../../src/ingest/zstd.js';

let dir: string;
let spans: Awaited<ReturnType<typeof runPipelineSpans>>['spans'];
let json: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-ingest-'));
  ({ spans } = await runPipelineSpans());
  json = toOtlpJson(spans);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(inputs: string[], stdin?: NodeJS.ReadableStream): Promise<{ records: SpanRecord[]; errors: string[] }> {
  const records: SpanRecord[] = [];
  const errors: string[] = [];
  for await (const batch of readTraceInputs(inputs, { cwd: dir, stdin, onError: (e) => errors.push(e.message) })) {
    records.push(...batch);
  }
  return { records, errors };
}

const ids = (records: readonly SpanRecord[]) => records.map((r) => r.spanId).sort();

/**
 * zstd, the Collector file exporter's compression: a whole zstd stream (its native-compression
 * mode, or `zstd run.jsonl`), and its default mode's records (length + one zstd frame per export).
 * Decoded natively on Node 22.15+ and by fzstd before: CI runs this file on both.
 */
describe.skipIf(shouldSkipZstdTests())(`readTraceInputs on zstd (${NATIVE_ZSTD ? 'node:zlib' : 'fzstd'})`, () => {
  const half = () => Math.floor(spans.length / 2);
  const requests = () => [toOtlpJson(spans.slice(0, half())), toOtlpJson(spans.slice(half()))];

  it.each([
    ['zstd JSON Lines', 'lines.jsonl.zst', () => zstdCompress(`${requests().join('\n')}\n`)],
    ['zstd protobuf', 'one.pb.zst', () => zstdCompress(toOtlpProtobuf(spans))],
    ['two zstd frames one after the other', 'frames.jsonl.zst', () => Buffer.concat(requests().map((r) => zstdCompress(`${r}\n`)))],
    // A skippable frame (magic 0x184D2A5?, 4-byte size, its bytes) first, as pzstd writes.
    ['zstd that starts with a skippable frame', 'skip.jsonl.zst', () => Buffer.concat([Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]), zstdCompress(`${json}\n`)])],
    ['the Collector’s zstd records of OTLP/JSON', 'otel-traces.json', () => collectorZstdRecords(requests())],
    ['the Collector’s zstd records of protobuf', 'otel-traces.pb', () => collectorZstdRecords([toOtlpProtobuf(spans.slice(0, half())), toOtlpProtobuf(spans.slice(half()))])],
  ])('reads %s: every span, with its ids', async (_label, name, content) => {
    await writeFile(join(dir, name), content());
    const { records, errors } = await readAll([name]);
    expect(errors).toEqual([]);
    expect(ids(records)).toEqual(spans.map((s) => s.spanContext().spanId).sort());
  });

  it('finds .zst files in a directory', async () => {
    await mkdir(join(dir, 'zst-dir'), { recursive: true });
    await writeFile(join(dir, 'zst-dir', 'run.jsonl.zst'), zstdCompress(`${json}\n`));
    const { records, errors } = await readAll(['zst-dir']);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(spans.length);
  });

  it.each([
    ['a cut zstd stream', 'cut.jsonl.zst', () => zstdCompress(`${json}\n`).subarray(0, 40), /^cut\.jsonl\.zst: corrupt zstd data \(.+\)$/],
    ['records cut inside the second', 'cut-records.json', () => { const all = collectorZstdRecords(requests()); return all.subarray(0, all.length - 5); }, /^cut-records\.json \(record 2, byte \d+\): the file ends inside a compressed record \(truncated\?\)$/],
    ['a record that is not a request', 'odd-record.json', () => collectorZstdRecords([json, '{"hello": 1}']), /^odd-record\.json \(record 2, byte \d+\): .*resourceSpans/],
    ['a record of bad JSON', 'bad-record.json', () => collectorZstdRecords(['{"resourceSpans": [']), /^bad-record\.json \(record 1, byte 0\):1:\d+: invalid JSON/],
  ])('reports %s as one line naming the file and record, keeping the records before it', async (_label, name, content, expected) => {
    await writeFile(join(dir, name), content());
    const { records, errors } = await readAll([name]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(expected);
    if (name === 'cut-records.json' || name === 'odd-record.json') expect(records).toHaveLength(name === 'odd-record.json' ? spans.length : half());
  });

  it('refuses a zstd bomb past --max-inflate-ratio within a block of the 64 MiB allowance, before buffering it', async () => {
    // 256 MiB of zeros is a few KiB of zstd, one read chunk: fzstd inflates a chunk in one call.
    await writeFile(join(dir, 'bomb.jsonl.zst'), zstdCompress(Buffer.alloc(256 * 1024 * 1024)));
    const { records, errors } = await readAll(['bomb.jsonl.zst']);
    expect(records).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/^bomb\.jsonl\.zst: zstd data inflates more than 100:1 \((\d+) MiB from .*raise --max-inflate-ratio$/)]);
    expect(Number(/\((\d+) MiB from/.exec(errors[0]!)![1])).toBeLessThanOrEqual(65);
  });

  it('refuses a Collector record that inflates past --max-line-mib, naming the record', async () => {
    await writeFile(join(dir, 'big-record.json'), collectorZstdRecords([json, `${json}${' '.repeat(3 * 1024 * 1024)}`]));
    const records: SpanRecord[] = [];
    const errors: string[] = [];
    for await (const batch of readTraceInputs(['big-record.json'], { cwd: dir, maxLineBytes: 1024 * 1024, onError: (e) => errors.push(e.message) })) records.push(...batch);
    expect(errors).toEqual([expect.stringMatching(/^big-record\.json \(record 2, byte \d+\): a compressed record inflates past the 1 MiB limit \(--max-line-mib\)$/)]);
    expect(records).toHaveLength(spans.length);
  });
});

describe('readTraceInputs', () => {
  it.each([
    ['one-line OTLP/JSON', 'one.json', () => json],
    ['pretty-printed OTLP/JSON', 'pretty.json', () => JSON.stringify(JSON.parse(json), null, 2)],
    ['gzip OTLP/JSON', 'one.json.gz', () => gzipSync(json)],
    ['protobuf', 'one.binpb', () => toOtlpProtobuf(spans)],
    ['gzip protobuf', 'one.pb.gz', () => gzipSync(toOtlpProtobuf(spans))],
    ['protobuf under a name that says nothing', 'one.bin', () => toOtlpProtobuf(spans)],
  ])('reads %s: every span, with its ids', async (_label, name, content) => {
    await writeFile(join(dir, name), content());
    const { records, errors } = await readAll([name]);
    expect(errors).toEqual([]);
    expect(ids(records)).toEqual(spans.map((s) => s.spanContext().spanId).sort());
  });

  it('reads JSON Lines line by line, naming each span source file:line, and joins a trace spread over lines', async () => {
    const half = Math.floor(spans.length / 2);
    const lines = [toOtlpJson(spans.slice(0, half)), '', toOtlpJson(spans.slice(half))].join('\n');
    await writeFile(join(dir, 'split.jsonl'), `${lines}\n`);
    const { records, errors } = await readAll(['split.jsonl']);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(spans.length);
    expect(new Set(records.map((r) => r.source))).toEqual(new Set(['split.jsonl:1', 'split.jsonl:3']));
    expect(new Set(records.map((r) => r.traceId)).size).toBeLessThan(records.length);
  });

  it('reads a directory recursively, trace files only, in name order', async () => {
    const sub = join(dir, 'tree', 'nested');
    await mkdir(sub, { recursive: true });
    await writeFile(join(dir, 'tree', 'a.json'), json);
    await writeFile(join(sub, 'b.pb'), toOtlpProtobuf(spans));
    await writeFile(join(dir, 'tree', 'notes.txt'), 'not a trace');
    const { records, errors } = await readAll(['tree']);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(spans.length * 2);
    expect(records[0]!.source).toBe(join('tree', 'a.json'));
    expect(records.at(-1)!.source).toBe(join('tree', 'nested', 'b.pb'));
  });

  it('reads stdin for -', async () => {
    const { records, errors } = await readAll(['-'], Readable.from([Buffer.from(json.slice(0, 100)), Buffer.from(json.slice(100))]));
    expect(errors).toEqual([]);
    expect(records).toHaveLength(spans.length);
    expect(records[0]!.source).toBe('<stdin>');
  });

  it('skips requests of other signals (metrics, logs) in a shared JSON Lines file', async () => {
    await writeFile(join(dir, 'mixed.jsonl'), `{"resourceMetrics":[]}\n${json}\n{"resourceLogs":[]}\n`);
    const { records, errors } = await readAll(['mixed.jsonl']);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(spans.length);
  });

  it.each([
    ['a missing file', 'missing.json', /^missing\.json: no such file or directory$/],
    ['a truncated document', 'malformed/truncated.json', /truncated\.json:1:3001: invalid JSON: unexpected end of data \(truncated\?\)$/],
    ['a syntax error in a pretty document', 'malformed/syntax-error.json', /syntax-error\.json:3:33: invalid JSON: Unexpected token '}'$/],
    ['a bad JSON Lines line', 'malformed/bad-line.jsonl', /bad-line\.jsonl:2:21: invalid JSON: Unexpected token '}'$/],
    ['a wrong shape', 'malformed/wrong-shape.json', /wrong-shape\.json:1: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected a 16-byte id/],
    ['snake_case keys', 'malformed/snake-case.json', /snake-case\.json: found "resource_spans": OTLP\/JSON uses lowerCamelCase keys/],
    ['a JSON value that is not a request', 'malformed/not-a-request.json', /not-a-request\.json:1: request \[0\]: expected an OTLP request object/],
    ['binary garbage', 'malformed/garbage.bin', /garbage\.bin( \(byte \d+\))?: neither OTLP\/JSON nor OTLP protobuf/],
    ['a protobuf that does not decode', 'malformed/bad-protobuf.pb', /bad-protobuf\.pb( \(byte \d+\))?: not an OTLP protobuf trace request/],
    ['corrupt gzip', 'malformed/corrupt.json.gz', /corrupt\.json\.gz: corrupt gzip data/],
    ['gzip of something else', 'malformed/not-traces.json.gz', /not-traces\.json\.gz( \(byte \d+\))?: neither OTLP\/JSON nor OTLP protobuf/],
  ])('reports %s as one line naming the file and place', async (_label, input, expected) => {
    const errors: TraceInputError[] = [];
    for await (const _ of readTraceInputs([input], { cwd: FIXTURES_DIR, onError: (e) => errors.push(e) })) {
      // Good lines of a partly bad file may still yield spans.
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(expected);
    expect(errors[0]!.message).not.toContain('\n');
    expect(errors[0]!.code).toBe('BATON_TRACE_INPUT');
  });

  // An exporter opens its file before its first span (Baton's OtlpJsonFileSpanExporter, the
  // Collector's file exporter), so a process that traced nothing leaves an empty file beside the others.
  it.each([
    ['an empty file', () => Buffer.alloc(0)],
    ['a file of blank lines', () => Buffer.from('\n  \r\n\t\n')],
    ['a gzip of nothing', () => gzipSync(Buffer.alloc(0))],
  ])('reads %s as no spans, not as an error, and still reads the files beside it', async (_label, content) => {
    await mkdir(join(dir, 'with-empty'), { recursive: true });
    await writeFile(join(dir, 'with-empty', 'a-worker.jsonl'), content());
    await writeFile(join(dir, 'with-empty', 'b-pipeline.json'), json);
    const both = await readAll(['with-empty']);
    expect(both.errors).toEqual([]);
    expect(both.records).toHaveLength(spans.length);
    const alone = await readAll([join('with-empty', 'a-worker.jsonl')]);
    expect(alone).toEqual({ records: [], errors: [] });
  });

  it.each([
    ['a word after a one-line document', '{"resourceSpans":[]} x', /trail\.json:1:22: invalid JSON: Unexpected non-whitespace character after JSON/],
    ['a stray brace after it', '{"resourceSpans":[]}}', /trail\.json:1:21: invalid JSON: Unexpected non-whitespace character after JSON/],
    ['two values on one line', '{"resourceSpans":[]} {"resourceSpans":[]}', /trail\.json:1:22: invalid JSON: Unexpected non-whitespace character after JSON/],
  ])('refuses %s with its position instead of looping until the heap is exhausted', async (_label, content, expected) => {
    await writeFile(join(dir, 'trail.json'), content);
    const { records, errors } = await readAll(['trail.json']);
    expect(records).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(expected);
  });

  it.each([
    ['an array where a resourceSpans entry belongs', '{"resourceSpans":[[1]]}', /shape\.json: resourceSpans\[0\]: expected an object, got an array/],
    ['an array where a scopeSpans entry belongs', '{"resourceSpans":[{"scopeSpans":[[5]]}]}', /shape\.json: resourceSpans\[0\]\.scopeSpans\[0\]: expected an object, got an array/],
  ])('refuses %s, naming the path, rather than reading it as an empty trace', async (_label, content, expected) => {
    await writeFile(join(dir, 'shape.json'), content);
    const { errors } = await readAll(['shape.json']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(expected);
  });

  it('still reads JSON Lines whose first line is longer than a read chunk', async () => {
    const line = toOtlpJson(spans);
    await writeFile(join(dir, 'long-lines.jsonl'), `${line}\n${line}\n`);
    const { records, errors } = await readAll(['long-lines.jsonl']);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(spans.length * 2);
  });

  it('keeps the good lines of a JSON Lines file with a bad one, and the good files of several inputs', async () => {
    const { records, errors } = await readAll([join(FIXTURES_DIR, 'malformed', 'bad-line.jsonl'), join(FIXTURES_DIR, 'clean.json'), 'nope.json']);
    expect(errors).toHaveLength(2);
    const clean = JSON.parse(await readFile(join(FIXTURES_DIR, 'clean.json'), 'utf8'));
    const cleanCount = clean.resourceSpans[0].scopeSpans.reduce((n: number, s: { spans: unknown[] }) => n + s.spans.length, 0);
    expect(records.filter((r) => r.source.includes('clean.json'))).toHaveLength(cleanCount);
    expect(records.some((r) => r.source.endsWith('bad-line.jsonl:3'))).toBe(true);
  });

  it('reports a directory with no trace files', async () => {
    await mkdir(join(dir, 'nothing'), { recursive: true });
    await writeFile(join(dir, 'nothing', 'readme.md'), '#');
    const { errors } = await readAll(['nothing']);
    expect(errors).toEqual([expect.stringMatching(/^nothing: directory has no trace files/)]);
  });

  it('refuses a single JSON document over the size limit with a hint to use JSON Lines', async () => {
    await writeFile(join(dir, 'big.json'), JSON.stringify(JSON.parse(json), null, 2));
    const errors: string[] = [];
    for await (const _ of readTraceInputs(['big.json'], { cwd: dir, maxDocumentBytes: 1024, onError: (e) => errors.push(e.message) })) {
      // nothing expected
    }
    expect(errors).toEqual([expect.stringMatching(/^big\.json: a single JSON document over .* JSON Lines/)]);
  });

  it('throws the first problem when no onError is given', async () => {
    await expect(async () => {
      for await (const _ of readTraceInputs(['missing.json'], { cwd: dir })) {
        // unreachable
      }
    }).rejects.toThrow(TraceInputError);
  });
});

describe('readTraceStream', () => {
  it('on any bytes, reports only TraceInputErrors and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
          fc.uint8Array({ maxLength: 200 }).map((b) => gzipSync(b)),
          fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
          fc.nat({ max: json.length }).map((n) => Buffer.from(json.slice(0, n))),
        ),
        async (bytes) => {
          const errors: unknown[] = [];
          for await (const batch of readTraceStream(Readable.from([Buffer.from(bytes)]), 'random', {}, (e) => errors.push(e))) {
            expect(Array.isArray(batch)).toBe(true);
          }
          for (const error of errors) expect(error).toBeInstanceOf(TraceInputError);
        },
      ),
      { numRuns: 400 },
    );
  });
});
