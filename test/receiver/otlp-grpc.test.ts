import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import protobuf from 'protobufjs/light.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import descriptor from '../../src/ingest/otlp-trace.descriptor.json' with { type: 'json' };
import { startOtlpGrpcReceiver, TRACE_SERVICE_EXPORT_PATH, type OtlpGrpcReceiver } from '../../src/receiver/otlp-grpc.js';
import { ExportResultCode, exportWith, makeSpans, RecordingIntake } from '../helpers/receiver.js';

const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
const RequestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const ResponseType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
// google.rpc.Status / Any / RetryInfo / Duration, declared here to read the receiver's error details.
const rpc = new protobuf.Root();
rpc.define('google.rpc')
  .add(new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string')).add(new protobuf.Field('details', 3, 'Any', 'repeated')))
  .add(new protobuf.Type('Any').add(new protobuf.Field('typeUrl', 1, 'string')).add(new protobuf.Field('value', 2, 'bytes')))
  .add(new protobuf.Type('Duration').add(new protobuf.Field('seconds', 1, 'int64')).add(new protobuf.Field('nanos', 2, 'int32')))
  .add(new protobuf.Type('RetryInfo').add(new protobuf.Field('retryDelay', 1, 'Duration')));
const StatusType = rpc.lookupType('google.rpc.Status');
const RetryInfoType = rpc.lookupType('google.rpc.RetryInfo');

const intake = new RecordingIntake();
let receiver: OtlpGrpcReceiver;
let small: OtlpGrpcReceiver;
const SMALL_LIMIT = 4096;

beforeAll(async () => {
  receiver = await startOtlpGrpcReceiver(intake, { port: 0 });
  small = await startOtlpGrpcReceiver(intake, { port: 0, maxRequestBytes: SMALL_LIMIT });
});
afterAll(async () => {
  await receiver.close();
  await small.close();
});
beforeEach(() => {
  intake.batches.length = 0;
  intake.refuse = 0;
  intake.refused = 0;
});

/** A raw unary client on the same path, to see status codes and metadata the exporter does not surface. */
function rawExport(url: string, body: Uint8Array, compression = 'identity'): Promise<{ error: grpc.ServiceError | null; response?: Buffer }> {
  const Client = grpc.makeGenericClientConstructor(
    {
      export: {
        path: TRACE_SERVICE_EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: Buffer) => v,
        requestDeserialize: (v: Buffer) => v,
        responseSerialize: (v: Buffer) => v,
        responseDeserialize: (v: Buffer) => v,
      },
    },
    'TraceService',
  );
  const options = compression === 'identity' ? {} : { 'grpc.default_compression_algorithm': compression === 'gzip' ? 2 : 1 };
  const client = new Client(url.replace('http://', ''), grpc.credentials.createInsecure(), options) as unknown as {
    export(b: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void): void;
    close(): void;
  };
  return new Promise((resolve) =>
    client.export(Buffer.from(body), (error, response) => {
      client.close();
      resolve({ error, response });
    }),
  );
}

describe('startOtlpGrpcReceiver', () => {
  it('binds loopback by default', () => {
    expect(receiver.host).toBe('127.0.0.1');
    expect(receiver.url).toBe(`http://127.0.0.1:${receiver.port}`);
  });

  it.each([['none'], ['gzip']] as const)('takes every span the real gRPC exporter sends (compression %s)', async (compression) => {
    const spans = await makeSpans(30);
    const exporter = new GrpcExporter({ url: receiver.url, compression: compression as never });
    const result = await exportWith(exporter, spans);
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    const got = intake.spans();
    expect(got.map((s) => s.spanId).sort()).toEqual(spans.map((s) => s.spanContext().spanId).sort());
    expect(got.find((s) => s.name === 'work-5')!.attributes).toMatchObject({ 'gen_ai.agent.name': 'agent-2', index: 5 });
    expect(intake.batches[0]!.origin.protocol).toBe('grpc');
  });

  it('answers OK with partial success for spans with all-zero ids', async () => {
    const spans = await makeSpans(3);
    const message = RequestType.decode(ProtobufTraceSerializer.serializeRequest(spans)!) as unknown as { resourceSpans: { scopeSpans: { spans: { traceId: Uint8Array }[] }[] }[] };
    message.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = new Uint8Array(16);
    const { error, response } = await rawExport(receiver.url, RequestType.encode(message).finish(), 'gzip');
    expect(error).toBeNull();
    const decoded = ResponseType.toObject(ResponseType.decode(response!), { longs: Number }) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
    expect(decoded.partialSuccess.rejectedSpans).toBe(1);
    expect(decoded.partialSuccess.errorMessage).toContain('all-zero trace id');
    expect(intake.spans()).toHaveLength(2);
  });

  it('answers a message that does not decode with INVALID_ARGUMENT', async () => {
    const { error } = await rawExport(receiver.url, Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]));
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toContain('not an OTLP protobuf trace request');
    expect(intake.batches).toHaveLength(0);
  });

  it('answers RESOURCE_EXHAUSTED with a RetryInfo detail when busy, UNAVAILABLE when shutting down', async () => {
    const body = ProtobufTraceSerializer.serializeRequest(await makeSpans(2))!;
    intake.refuse = 1;
    const busy = await rawExport(receiver.url, body);
    expect(busy.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const [details] = busy.error!.metadata.get('grpc-status-details-bin') as Buffer[];
    const status = StatusType.toObject(StatusType.decode(details!), { longs: Number }) as { code: number; details: { typeUrl: string; value: Uint8Array }[] };
    expect(status.code).toBe(8);
    expect(status.details[0]!.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
    const retry = RetryInfoType.toObject(RetryInfoType.decode(status.details[0]!.value), { longs: Number }) as { retryDelay: { seconds: number } };
    expect(retry.retryDelay.seconds).toBe(1);

    intake.refuse = 1;
    intake.refuseAs = 'unavailable';
    try {
      expect((await rawExport(receiver.url, body)).error?.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      intake.refuseAs = 'busy';
    }
    expect(intake.batches).toHaveLength(0);
    expect(receiver.counters.throttledRequests).toBeGreaterThanOrEqual(2);
  });

  it('refuses a message over the limit, also when it only grows past it while decompressing', async () => {
    const spans = await makeSpans(60);
    const body = ProtobufTraceSerializer.serializeRequest(spans)!;
    expect(body.length).toBeGreaterThan(SMALL_LIMIT);
    expect((await rawExport(small.url, body)).error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const gz = await rawExport(small.url, body, 'gzip');
    expect(gz.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(intake.batches).toHaveLength(0);
    const under = ProtobufTraceSerializer.serializeRequest(await makeSpans(3))!;
    expect((await rawExport(small.url, under, 'gzip')).error).toBeNull();
  });

  it('takes every span of concurrent exporters', async () => {
    const sets = await Promise.all(Array.from({ length: 6 }, (_, i) => makeSpans(15, `s${i}`)));
    const exporters = sets.map(() => new GrpcExporter({ url: receiver.url, compression: 'gzip' as never }));
    const results = await Promise.all(sets.map((spans, i) => exportWith(exporters[i]!, spans)));
    await Promise.all(exporters.map((e) => e.shutdown()));
    expect(results.every((r) => r.code === ExportResultCode.SUCCESS)).toBe(true);
    expect(new Set(intake.spans().map((s) => s.spanId)).size).toBe(90);
  });
});
