import { readFile } from 'node:fs/promises';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { decodeOtlpProtobuf, detectProtobufFraming, splitProtobufFrames } from '../../src/ingest/otlp-protobuf.js';
import { BatonError } from '../../src/model/errors.js';
import { TraceInputError } from '../../src/ingest/errors.js';
import { DESCRIPTOR_PATH, renderOtlpDescriptor } from '../../scripts/generate-otlp-descriptor.js';
import { runPipelineSpans, toOtlpProtobuf, toSpanRecords } from '../helpers/traces.js';

/** Protobuf's delimited framing: each message prefixed by its length as a varint. */
function varintDelimited(messages: readonly Uint8Array[]): Uint8Array {
  const parts: number[] = [];
  for (const message of messages) {
    let n = message.length;
    while (n >= 0x80) {
      parts.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    parts.push(n);
    parts.push(...message);
  }
  return Uint8Array.from(parts);
}

/** The Collector file exporter's framing: a 4-byte big-endian length before each message. */
function uint32Delimited(messages: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.alloc(messages.reduce((sum, m) => sum + 4 + m.length, 0));
  let offset = 0;
  for (const message of messages) {
    out.writeUInt32BE(message.length, offset);
    out.set(message, offset + 4);
    offset += 4 + message.length;
  }
  return out;
}

describe('decodeOtlpProtobuf', () => {
  it('reads what the OTel JS protobuf serializer writes exactly as the JSON serializer output reads', async () => {
    const { spans } = await runPipelineSpans(['stale-read']);
    const fromJson = toSpanRecords(spans, 'same');
    const fromProtobuf = decodeOtlpProtobuf(toOtlpProtobuf(spans), 'same');
    expect(fromProtobuf.length).toBe(spans.length);
    expect(fromProtobuf).toEqual(fromJson);
  });

  it('reads span times exactly, in both encodings: a whole-millisecond time stays whole, nanoseconds are kept', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('times');
    // OTel JS takes a span's start from Date.now(): whole milliseconds, 19 digits of nanoseconds in 2026.
    const wholeMs = Date.UTC(2026, 11, 1, 10, 41, 3, 774);
    const span = tracer.startSpan('whole', { startTime: wholeMs });
    span.end([Math.floor(wholeMs / 1000), ((wholeMs % 1000) + 1) * 1e6 + 123_456]);
    const spans = exporter.getFinishedSpans();
    for (const records of [toSpanRecords(spans), decodeOtlpProtobuf(toOtlpProtobuf(spans), 'p.pb')]) {
      expect(records[0]!.startMs).toBe(wholeMs);
      expect(records[0]!.endMs).toBe(wholeMs + 1.123456);
    }
  });

  it('keeps ids, parents, links, attributes of every type, events and status', async () => {
    const { spans } = await runPipelineSpans(['ack-timeout']);
    const records = decodeOtlpProtobuf(toOtlpProtobuf(spans), 'p.pb');
    for (const span of spans) {
      const record = records.find((r) => r.spanId === span.spanContext().spanId)!;
      expect(record.traceId).toBe(span.spanContext().traceId);
      expect(record.parentSpanId).toBe(span.parentSpanContext?.spanId ?? '');
      expect(record.name).toBe(span.name);
      expect(record.statusCode).toBe(span.status.code);
      expect(record.links.map((l) => l.spanId)).toEqual(span.links.map((l) => l.context.spanId));
      expect(record.events.map((e) => e.name)).toEqual(span.events.map((e) => e.name));
      for (const [key, value] of Object.entries(span.attributes)) expect(record.attributes[key], key).toEqual(value);
      expect(record.startMs).toBeCloseTo(span.startTime[0] * 1e3 + span.startTime[1] / 1e6, 3);
    }
  });

  it('reads attribute keys as they were written, however many, however long, in any script', async () => {
    // Keys go through a cache of a thousand slots: enough distinct keys that many share a slot,
    // read twice in opposite orders, must each come back as written, as the JSON reader gives them.
    const fc = await import('fast-check');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('keys');
    const spansWith = (keySets: readonly (readonly string[])[]) => {
      exporter.reset();
      for (const keys of keySets) {
        const span = tracer.startSpan('keys');
        for (let i = 0; i < keys.length; i++) span.setAttribute(keys[i]!, i);
        span.end();
      }
      return exporter.getFinishedSpans();
    };
    const many = Array.from({ length: 30 }, (_, s) => Array.from({ length: 100 }, (_, k) => `key.${(s * 100 + k) % 2_500}`));
    for (const keySets of [many, [...many].reverse().map((keys) => [...keys].reverse())]) {
      const spans = spansWith(keySets);
      expect(decodeOtlpProtobuf(toOtlpProtobuf(spans), 'k')).toEqual(toSpanRecords(spans, 'k'));
    }
    const key = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('gen_ai.agent.name', 'baton.handoff.id'));
    fc.assert(
      fc.property(fc.array(fc.array(key.filter((k) => k !== '__proto__' && k !== ''), { maxLength: 20 }), { minLength: 1, maxLength: 20 }), (keySets) => {
        const spans = spansWith(keySets);
        expect(decodeOtlpProtobuf(toOtlpProtobuf(spans), 'k')).toEqual(toSpanRecords(spans, 'k'));
      }),
      { numRuns: 100 },
    );
    await provider.shutdown();
  });

  it('throws a TraceInputError naming the file and byte for bytes that do not decode', () => {
    const error = (() => {
      try {
        decodeOtlpProtobuf(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), 'bad.pb');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TraceInputError);
    expect((error as TraceInputError).message).toMatch(/^bad\.pb( \(byte \d+\))?: not an OTLP protobuf trace request/);
  });

  it('the committed descriptor is what the vendored opentelemetry-proto files compile to', async () => {
    expect(await readFile(DESCRIPTOR_PATH, 'utf8')).toBe(renderOtlpDescriptor());
  });
});

describe('splitProtobufFrames', () => {
  it('tells single, varint-delimited and 4-byte-delimited files apart and yields each message', async () => {
    const { spans } = await runPipelineSpans();
    const half = Math.floor(spans.length / 2);
    const a = toOtlpProtobuf(spans.slice(0, half));
    const b = toOtlpProtobuf(spans.slice(half));
    expect(detectProtobufFraming(a)).toBe('single');
    expect(detectProtobufFraming(varintDelimited([a, b]))).toBe('varint-delimited');
    expect(detectProtobufFraming(uint32Delimited([a, b]))).toBe('uint32-delimited');
    for (const file of [varintDelimited([a, b]), uint32Delimited([a, b])]) {
      const frames = [...splitProtobufFrames(file)];
      expect(frames.map((f) => Buffer.from(f.bytes))).toEqual([Buffer.from(a), Buffer.from(b)]);
      const total = frames.reduce((sum, f) => sum + decodeOtlpProtobuf(f.bytes, 'x').length, 0);
      expect(total).toBe(spans.length);
    }
  });

  it('never throws anything but a BatonError on any bytes', async () => {
    const fc = await import('fast-check');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          for (const frame of splitProtobufFrames(bytes)) decodeOtlpProtobuf(frame.bytes, 'random.pb', frame.byteOffset);
        } catch (error) {
          if (!(error instanceof BatonError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
