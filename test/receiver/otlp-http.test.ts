import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import protobuf from 'protobufjs/light.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import descriptor from '../../src/ingest/otlp-trace.descriptor.json' with { type: 'json' };
import { startOtlpHttpReceiver, type OtlpHttpReceiver } from '../../src/receiver/otlp-http.js';
import { ExportResultCode, exportWith, makeSpans, RecordingIntake } from '../helpers/receiver.js';

const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
const ResponseType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
// google.rpc.Status, declared here to read what the receiver sends (it is not in the OTLP descriptor).
const StatusType = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
  .add(new protobuf.Field('details', 3, 'bytes', 'repeated'));
new protobuf.Root().define('google.rpc').add(StatusType);

const intake = new RecordingIntake();
let receiver: OtlpHttpReceiver;
let small: OtlpHttpReceiver;
const SMALL_LIMIT = 4096;

beforeAll(async () => {
  receiver = await startOtlpHttpReceiver(intake, { port: 0 });
  small = await startOtlpHttpReceiver(intake, { port: 0, maxRequestBytes: SMALL_LIMIT, requestTimeoutMs: 400 });
});
afterAll(async () => {
  await receiver.close();
  await small.close();
});
beforeEach(() => {
  intake.batches.length = 0;
  intake.refuse = 0;
  intake.refused = 0;
  intake.refusedSpans.length = 0;
  intake.refusedRequests.length = 0;
});

async function post(url: string, body: Uint8Array | string, headers: Record<string, string>, method = 'POST'): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(`${url}/v1/traces`, { method, headers, body: method === 'GET' ? undefined : body });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe('startOtlpHttpReceiver', () => {
  it('binds loopback by default and names its URL', () => {
    expect(receiver.host).toBe('127.0.0.1');
    expect(receiver.url).toBe(`http://127.0.0.1:${receiver.port}`);
  });

  it.each([
    ['the JSON exporter', (url: string) => new JsonExporter({ url })],
    ['the JSON exporter with gzip', (url: string) => new JsonExporter({ url, compression: 'gzip' as never })],
    ['the protobuf exporter', (url: string) => new ProtoExporter({ url })],
    ['the protobuf exporter with gzip', (url: string) => new ProtoExporter({ url, compression: 'gzip' as never })],
  ])('takes every span %s sends, as the SDK made it', async (_name, make) => {
    const spans = await makeSpans(25);
    const exporter = make(`${receiver.url}/v1/traces`);
    const result = await exportWith(exporter, spans);
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    const got = intake.spans();
    expect(got.map((s) => s.spanId).sort()).toEqual(spans.map((s) => s.spanContext().spanId).sort());
    const child = got.find((s) => s.name === 'work-4')!;
    expect(child.attributes).toMatchObject({ 'gen_ai.agent.name': 'agent-1', index: 4, ok: true, ratio: 0.5 });
    expect(child.parentSpanId).toBe(spans.find((s) => s.name === 'work-root')!.spanContext().spanId);
  });

  it('answers protobuf with an empty ExportTraceServiceResponse, JSON with {}', async () => {
    const spans = await makeSpans(3);
    const proto = await post(receiver.url, ProtobufTraceSerializer.serializeRequest(spans)!, { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(200);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    expect(proto.body.length).toBe(0);
    const json = await post(receiver.url, JsonTraceSerializer.serializeRequest(spans)!, { 'content-type': 'application/json; charset=utf-8' });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(json.body.toString())).toEqual({});
  });

  it('refuses spans with all-zero ids as partial success, in the request encoding, and keeps the rest', async () => {
    const spans = await makeSpans(4);
    const request = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString());
    const list = request.resourceSpans[0].scopeSpans[0].spans;
    list[1].traceId = '0'.repeat(32);
    const json = await post(receiver.url, JSON.stringify(request), { 'content-type': 'application/json' });
    expect(json.status).toBe(200);
    const answer = JSON.parse(json.body.toString());
    expect(answer.partialSuccess.rejectedSpans).toBe('1');
    expect(answer.partialSuccess.errorMessage).toContain('all-zero trace id');
    expect(intake.spans()).toHaveLength(3);
    expect(intake.refusedSpans.at(-1)).toMatch(/^1: span 1 .*all-zero trace id/);

    const bytes = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    const message = bytes.decode(ProtobufTraceSerializer.serializeRequest(spans)!) as unknown as { resourceSpans: { scopeSpans: { spans: { spanId: Uint8Array }[] }[] }[] };
    message.resourceSpans[0]!.scopeSpans[0]!.spans[2]!.spanId = new Uint8Array(8);
    const proto = await post(receiver.url, bytes.encode(message).finish(), { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(200);
    const decoded = ResponseType.toObject(ResponseType.decode(proto.body), { longs: Number }) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
    expect(decoded.partialSuccess.rejectedSpans).toBe(1);
    expect(decoded.partialSuccess.errorMessage).toContain('all-zero span id');
  });

  it('answers a body that does not decode with 400 and a google.rpc.Status, in either encoding', async () => {
    const proto = await post(receiver.url, Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]), { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(400);
    const status = StatusType.decode(proto.body) as unknown as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toContain('not an OTLP protobuf trace request');
    const json = await post(receiver.url, '{"resourceSpans": 3}', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toMatchObject({ code: 3, message: expect.stringContaining('resourceSpans') });
    const notJson = await post(receiver.url, '{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(notJson.status).toBe(400);
    const badGzip = await post(receiver.url, 'not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(badGzip.status).toBe(400);
    expect(intake.batches).toHaveLength(0);
    expect(receiver.counters.badRequests).toBeGreaterThanOrEqual(4);
    expect(intake.refusedRequests.at(-1)).toMatch(/^HTTP 400: body does not decompress as gzip/);
  });

  it.each([
    ['GET', '/v1/traces', { 'content-type': 'application/json' }, 405],
    ['POST', '/v1/metrics', { 'content-type': 'application/json' }, 404],
    ['POST', '/v1/traces', { 'content-type': 'text/plain' }, 415],
    ['POST', '/v1/traces', {}, 415],
    ['POST', '/v1/traces', { 'content-type': 'application/json', 'content-encoding': 'br' }, 415],
  ] as const)('answers %s %s with headers %j: %i', async (method, path, headers, expected) => {
    const res = await fetch(`${receiver.url}${path}`, { method, headers, body: method === 'GET' ? undefined : '{}' });
    expect(res.status).toBe(expected);
    if (expected === 405) expect(res.headers.get('allow')).toBe('POST');
    const body = JSON.parse(await res.text());
    expect(body.message).toBeTypeOf('string');
  });

  it('takes a body just under the limit and refuses one just over it with 413', async () => {
    const pad = (n: number) => `{"resourceSpans":[]${' '.repeat(n - 20)}}`;
    expect(pad(SMALL_LIMIT)).toHaveLength(SMALL_LIMIT);
    expect((await post(small.url, pad(SMALL_LIMIT), { 'content-type': 'application/json' })).status).toBe(200);
    expect((await post(small.url, pad(SMALL_LIMIT + 1), { 'content-type': 'application/json' })).status).toBe(413);
  });

  it('bounds a gzip body while decompressing: a small bomb is refused with 413', async () => {
    const bomb = gzipSync(Buffer.from(`{"resourceSpans":[]${' '.repeat(1024 * 1024)}}`), { level: 9 });
    expect(bomb.length).toBeLessThan(SMALL_LIMIT);
    const res = await post(small.url, bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    const under = gzipSync(Buffer.from(`{"resourceSpans":[]${' '.repeat(SMALL_LIMIT - 21)}}`));
    expect((await post(small.url, under, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(200);
  });

  it('answers 429 with Retry-After when the intake is busy, and the real exporter retries until taken', async () => {
    const spans = await makeSpans(5);
    intake.refuse = 1;
    const exporter = new ProtoExporter({ url: `${receiver.url}/v1/traces` });
    const result = await exportWith(exporter, spans);
    await exporter.shutdown();
    expect(intake.refused).toBe(1);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(intake.spans()).toHaveLength(5);

    intake.refuse = 1;
    const raw = await post(receiver.url, ProtobufTraceSerializer.serializeRequest(spans)!, { 'content-type': 'application/x-protobuf' });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect((StatusType.decode(raw.body) as unknown as { code: number }).code).toBe(8);
  });

  it('answers 503 with Retry-After while the intake shuts down', async () => {
    intake.refuse = 1;
    intake.refuseAs = 'unavailable';
    try {
      const raw = await post(receiver.url, '{"resourceSpans":[]}', { 'content-type': 'application/json' });
      expect(raw.status).toBe(503);
      expect(raw.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(raw.body.toString())).toMatchObject({ code: 14, details: [{ retryDelay: '1s' }] });
    } finally {
      intake.refuseAs = 'busy';
    }
  });

  it('takes every span of concurrent senders', async () => {
    const sets = await Promise.all(Array.from({ length: 8 }, (_, i) => makeSpans(20, `sender${i}`)));
    const exporters = sets.map((_, i) => (i % 2 === 0 ? new ProtoExporter({ url: `${receiver.url}/v1/traces` }) : new JsonExporter({ url: `${receiver.url}/v1/traces` })));
    const results = await Promise.all(sets.map((spans, i) => exportWith(exporters[i]!, spans)));
    await Promise.all(exporters.map((e) => e.shutdown()));
    expect(results.every((r) => r.code === ExportResultCode.SUCCESS)).toBe(true);
    expect(intake.spans()).toHaveLength(160);
    expect(new Set(intake.spans().map((s) => s.spanId)).size).toBe(160);
  });

  it('counts a client that disconnects mid-body, takes nothing from it, and keeps serving', async () => {
    const before = small.counters.abortedRequests;
    await new Promise<void>((resolve) => {
      const socket = connect(small.port, '127.0.0.1', () => {
        socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{"resourceSpans":[');
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await expect.poll(() => small.counters.abortedRequests).toBe(before + 1);
    expect(intake.batches).toHaveLength(0);
    expect((await post(small.url, '{"resourceSpans":[]}', { 'content-type': 'application/json' })).status).toBe(200);
  });

  it('cuts off a client that sends its body too slowly', async () => {
    const closed = await new Promise<string>((resolve) => {
      let answer = '';
      const socket = connect(small.port, '127.0.0.1', () => {
        socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
        // One byte now and then, never finishing: the receiver must end it, not wait for ever.
        const drip = setInterval(() => socket.write(' '), 100);
        socket.on('data', (d) => (answer += d.toString()));
        socket.on('close', () => {
          clearInterval(drip);
          resolve(answer);
        });
      });
    });
    expect(closed === '' || closed.startsWith('HTTP/1.1 408')).toBe(true);
    expect(intake.batches).toHaveLength(0);
  });
});
