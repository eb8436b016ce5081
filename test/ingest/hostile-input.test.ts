/**
 * Regressions of issue 8 in the reader: each input here once crashed, hung, filled
 * memory or was silently misread. Large ones are built by fixtures/malformed/large.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTE_NESTING } from '../../src/ingest/any-value.js';
import { decodeOtlpProtobuf } from '../../src/ingest/otlp-protobuf.js';
import { readTraceInputs, readTraceStream, type ReadTraceOptions } from '../../src/ingest/read-trace-inputs.js';
import type { TraceInputError } from '../../src/ingest/errors.js';
import type { AttributeValue, SpanRecord } from '../../src/model/span-record.js';
import {
  deepArrayRequestJson,
  deepArrayRequestProtobuf,
  deepKvlistRequestJson,
  deepKvlistRequestProtobuf,
  gzipBomb,
  oneSpanJson,
  unclosedLine,
} from '../../fixtures/malformed/large.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-hostile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readInputs(inputs: string[], options: ReadTraceOptions = {}): Promise<{ records: SpanRecord[]; errors: string[] }> {
  const records: SpanRecord[] = [];
  const errors: string[] = [];
  for await (const batch of readTraceInputs(inputs, { cwd: dir, ...options, onError: (e) => errors.push(e.message) })) records.push(...batch);
  return { records, errors };
}

/** Reads `bytes` as one stream, counting how many of them the reader pulled. */
async function readCounted(bytes: Buffer, name: string, options: ReadTraceOptions = {}): Promise<{ records: SpanRecord[]; errors: string[]; pulledBytes: number }> {
  let pulledBytes = 0;
  const chunkBytes = 64 * 1024;
  const stream = Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
        const chunk = bytes.subarray(offset, offset + chunkBytes);
        pulledBytes += chunk.length;
        yield chunk;
      }
    })(),
    { highWaterMark: 1 },
  );
  const records: SpanRecord[] = [];
  const errors: TraceInputError[] = [];
  for await (const batch of readTraceStream(stream, name, options, (e) => errors.push(e))) records.push(...batch);
  return { records, errors: errors.map((e) => e.message), pulledBytes };
}

/** How many levels of key `a` the attribute's JSON text keeps before the value is null. */
function keptKvlistDepth(value: AttributeValue | undefined): number {
  let node: unknown = typeof value === 'string' ? JSON.parse(value) : undefined;
  let depth = 0;
  while (node !== null && typeof node === 'object') {
    depth++;
    node = (node as { a?: unknown }).a;
  }
  return depth;
}

function keptArrayDepth(value: AttributeValue | undefined): number {
  let node: unknown = value;
  let depth = 0;
  while (Array.isArray(node)) {
    depth++;
    node = node[0];
  }
  return depth;
}

describe('nested attribute values', () => {
  it('reads key-value lists nested 28 deep in a 1.6 KB file at a size linear in the input (it grew 2^depth)', async () => {
    const text = await readFile(join(FIXTURES_DIR, 'malformed/nested-kvlist-28.json'), 'utf8');
    const { records, errors } = await readInputs([join(FIXTURES_DIR, 'malformed/nested-kvlist-28.json')]);
    expect(errors).toEqual([]);
    const value = records[0]!.attributes.nested;
    expect(typeof value).toBe('string');
    expect((value as string).length).toBeLessThan(text.length);
    expect(keptKvlistDepth(value)).toBe(MAX_ATTRIBUTE_NESTING);
  });

  it.each([
    ['key-value lists', deepKvlistRequestJson, deepKvlistRequestProtobuf, keptKvlistDepth],
    ['arrays', deepArrayRequestJson, deepArrayRequestProtobuf, keptArrayDepth],
  ])('reads %s nested 5,000 deep (valid OTLP) in JSON and protobuf alike', async (_label, json, protobuf, kept) => {
    await writeFile(join(dir, 'deep.json'), json(5000));
    await writeFile(join(dir, 'deep.binpb'), protobuf(5000));
    const fromJson = await readInputs(['deep.json']);
    const fromProtobuf = await readInputs(['deep.binpb']);
    expect(fromJson.errors).toEqual([]);
    expect(fromProtobuf.errors).toEqual([]);
    expect(kept(fromJson.records[0]!.attributes.deep)).toBe(MAX_ATTRIBUTE_NESTING);
    expect(fromProtobuf.records[0]!.attributes).toEqual(fromJson.records[0]!.attributes);
  });

  it('keeps `__proto__` as an attribute key, not as the attribute object’s prototype', async () => {
    const request = oneSpanJson(['{"key":"__proto__","value":{"arrayValue":{"values":[{"stringValue":"x"}]}}}']);
    const { records } = await readInputs([await writeTemp('proto.json', request)]);
    const attributes = records[0]!.attributes;
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.keys(attributes)).toEqual(['__proto__']);
    expect(attributes.__proto__).toEqual(['x']);
  });
});

describe('memory bounds', () => {
  it('refuses a gzip bomb (10 MiB inflating to 10 GiB) after reading about 1 MiB of it, naming --max-inflate-ratio', async () => {
    const { records, errors, pulledBytes } = await readCounted(gzipBomb(10 * 1024), 'bomb.json.gz');
    expect(records).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^bomb\.json\.gz: gzip data inflates more than 100:1 .*raise --max-inflate-ratio$/);
    expect(pulledBytes).toBeLessThan(4 * 1024 * 1024);
  });

  it('lets a higher --max-inflate-ratio through, to the line bound', async () => {
    const { errors } = await readCounted(gzipBomb(256), 'bomb.json.gz', { maxInflateRatio: 1e6, maxLineBytes: 1024 * 1024 });
    expect(errors).toEqual(['bomb.json.gz:1: a line over 1 MiB read from a stream (raise --max-line-mib, or write JSON Lines: one request per line)']);
  });

  it('stops at a JSON Lines line over the bound, keeping the lines before it, naming --max-line-mib', async () => {
    const { records, errors, pulledBytes } = await readCounted(unclosedLine(8), 'long.jsonl', { maxLineBytes: 1024 * 1024 });
    expect(records).toHaveLength(1);
    expect(errors).toEqual(['long.jsonl:2: line over 1 MiB (raise --max-line-mib); the rest of the file was skipped']);
    expect(pulledBytes).toBeLessThan(2 * 1024 * 1024);
  });
});

async function writeTemp(name: string, content: string | Buffer): Promise<string> {
  await writeFile(join(dir, name), content);
  return name;
}

describe('JSON Lines whose first line is bad', () => {
  const good = (spanId: string) => oneSpanJson([], spanId);
  it.each([
    ['a line that is not JSON at all', 'garbage here', /^first\.jsonl:1:1: invalid JSON: Unexpected token 'g'/],
    ['a syntax error inside the line', '{"resourceSpans":[}', /^first\.jsonl:1:19: invalid JSON: Unexpected token '}'/],
    ['a truncated line', '{"resourceSpans":[{', /^first\.jsonl:1:20: invalid JSON: unexpected end of data \(truncated\?\)/],
    ['a value that is not a request', '[1,2]', /^first\.jsonl:1: request \[0\]: expected an OTLP request object/],
  ])('reports %s as line 1 and reads every good line after it', async (_label, firstLine, expected) => {
    const name = await writeTemp('first.jsonl', `${firstLine}\n${good('aaaaaaaaaaaaaaa1')}\n${good('aaaaaaaaaaaaaaa2')}\n`);
    const { records, errors } = await readInputs([name]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(expected);
    expect(records.map((r) => r.spanId)).toEqual(['aaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaa2']);
    expect(records.map((r) => r.source)).toEqual(['first.jsonl:2', 'first.jsonl:3']);
  });

  it('reads every good line after a bad first line longer than a read chunk (no line to tell JSON Lines by in the first MiB)', async () => {
    const name = await writeTemp('long-first.jsonl', `${'x'.repeat(1_500_000)}\n${good('aaaaaaaaaaaaaaa1')}\n${good('aaaaaaaaaaaaaaa2')}\n`);
    const { records, errors } = await readInputs([name]);
    expect(errors).toEqual([expect.stringMatching(/^long-first\.jsonl:1:1: invalid JSON: Unexpected token 'x'/)]);
    expect(records.map((r) => r.spanId)).toEqual(['aaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaa2']);
  });

  it('still reads a pretty-printed document, whose first line is only its start', async () => {
    const name = await writeTemp('pretty.json', JSON.stringify(JSON.parse(good('aaaaaaaaaaaaaaa1')), null, 2));
    const { records, errors } = await readInputs([name]);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(1);
  });

  it.each([
    ['JSON Lines', 'bom.jsonl', () => `\ufeff${good('aaaaaaaaaaaaaaa1')}\n${good('aaaaaaaaaaaaaaa2')}\n`, 2],
    ['a one-line document', 'bom.json', () => `\ufeff${good('aaaaaaaaaaaaaaa1')}`, 1],
    ['a pretty document', 'bom-pretty.json', () => `\ufeff${JSON.stringify(JSON.parse(good('aaaaaaaaaaaaaaa1')), null, 2)}`, 1],
    ['gzip JSON Lines', 'bom.jsonl.gz', () => gzipSync(`\ufeff${good('aaaaaaaaaaaaaaa1')}\n${good('aaaaaaaaaaaaaaa2')}\n`), 2],
  ])('reads %s that starts with a UTF-8 byte order mark', async (_label, name, content, spans) => {
    await writeTemp(name, content());
    const { records, errors } = await readInputs([name]);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(spans);
  });
});

describe('input that was read as something it is not', () => {
  it('refuses a top-level empty array rather than reading it as an empty trace', async () => {
    const { records, errors } = await readInputs([await writeTemp('empty-array.json', '[]')]);
    expect(records).toEqual([]);
    expect(errors).toEqual(['empty-array.json: expected an OTLP request object with "resourceSpans" (or an array of them), got an empty array']);
  });

  it('quotes a megabyte-long key of a wrong object in a short message', async () => {
    const { errors } = await readInputs([await writeTemp('long-key.json', `{"${'k'.repeat(1024 * 1024)}":1}`)]);
    expect(errors).toEqual([`long-key.json: expected "resourceSpans", found "${'k'.repeat(37)}..."`]);
  });

  it('reads each real file of a directory once, however many symlinks (a loop included) lead to it', async () => {
    const tree = join(dir, 'loop');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'a.json'), oneSpanJson());
    await symlink('..', join(tree, 'sub', 'up'));
    await symlink('a.json', join(tree, 'sub', 'again.json'));
    const { records, errors } = await readInputs(['loop', 'loop/sub/a.json']);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]!.source).toBe(join('loop', 'sub', 'a.json'));
    // Named twice, the directory is read once, and the second time is no error.
    expect(await readInputs(['loop', 'loop'])).toMatchObject({ errors: [], records: [{ source: join('loop', 'sub', 'a.json') }] });
  });

  it('reads a named pipe (FIFO) as a stream, as `baton audit <(zcat run.jsonl.gz)` gives it', async () => {
    const fifo = join(dir, 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);
    const writing = writeFile(fifo, `${oneSpanJson([], 'aaaaaaaaaaaaaaa1')}\n${oneSpanJson([], 'aaaaaaaaaaaaaaa2')}\n`);
    const { records, errors } = await readInputs(['pipe.jsonl']);
    await writing;
    expect(errors).toEqual([]);
    expect(records.map((r) => r.source)).toEqual(['pipe.jsonl:1', 'pipe.jsonl:2']);
  });

  it.each([
    ['an empty string', '""'],
    ['a blank string', '" "'],
    ['hexadecimal', '"0x10"'],
    ['an exponent in a string', '"1e3"'],
    ['a fraction', '1.5'],
    ['a fraction in a string', '"1000.5"'],
    ['a negative number', '-1'],
    ['2^64 nanoseconds', '"18446744073709551616"'],
    ['a number past 2^64', '1e20'],
    ['a boolean', 'true'],
  ])('refuses %s as a time, naming the field', async (_label, time) => {
    const request = oneSpanJson().replace('"startTimeUnixNano":"1000000"', `"startTimeUnixNano":${time}`);
    const { records, errors } = await readInputs([await writeTemp('time.json', request)]);
    expect(records).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^time\.json: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.startTimeUnixNano: expected nanoseconds since the epoch \(a decimal integer, 0 to 2\^64-1\), got /);
  });

  it.each([
    ['a decimal string', '"1795573465205000000"', 1795573465205],
    ['a number', '1795573465205000000', 1795573465205],
    ['2^64 - 1 as a string', '"18446744073709551615"', 18446744073709.55],
    ['zero', '"0"', 0],
  ])('reads %s as a time', async (_label, time, ms) => {
    const request = oneSpanJson().replace('"startTimeUnixNano":"1000000"', `"startTimeUnixNano":${time}`);
    const { records, errors } = await readInputs([await writeTemp('time.json', request)]);
    expect(errors).toEqual([]);
    expect(records[0]!.startMs).toBeCloseTo(ms, 1);
  });
});

describe('protobuf errors', () => {
  it.each([
    ['cut inside a span', (b: Buffer) => b.subarray(0, b.length - 5), /^x\.binpb \(byte 0\): not an OTLP protobuf trace request: resourceSpans\[0\]: length \d+ runs past the end of the data \(\d+ bytes left; truncated\?\)$/],
    [
      'a span name longer than its span',
      (b: Buffer) => {
        const copy = Buffer.from(b);
        copy[copy.indexOf(Buffer.from('deep')) - 1] = 0x7f;
        return copy;
      },
      /^x\.binpb \(byte \d+\): not an OTLP protobuf trace request: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: length 127 runs past the end of its message/,
    ],
  ])('name the byte and the field of %s', (_label, damage, expected) => {
    const bytes = damage(deepKvlistRequestProtobuf(0));
    expect(() => decodeOtlpProtobuf(bytes, 'x.binpb')).toThrow(expected);
  });
});

describe('a pretty-printed document with a syntax error', () => {
  it('stays one document with one error, even where the error line is a JSON value of its own', async () => {
    const text = '{\n  "resourceSpans": [\n    {}\n    {}\n  ]\n}\n';
    const { errors } = await readInputs([await writeTemp('missing-comma.json', text)]);
    expect(errors).toEqual(["missing-comma.json:4:5: invalid JSON: Expected ',' or ']' after array element"]);
  });
});
