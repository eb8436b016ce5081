/**
 * Regressions of issue 8 in the reader: each input here once crashed, hung, filled
 * memory or was silently misread. Large ones are built by fixtures/malformed/large.ts.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTE_NESTING } from '../../src/ingest/any-value.js';
import { decodeOtlpProtobuf } from '../../src/ingest/otlp-protobuf.js';
import { readTraceInputs, readTraceStream, type ReadTraceOptions } from '../../src/ingest/read-trace-inputs.js';
import type { TraceInputError } from '../../src/model/errors.js';
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
