/**
 * `baton watch`'s session with its analysis on a worker thread, behind the real
 * receivers and fed by the real OTLP exporters: what the worker decodes is
 * answered as the in-thread path answers (400 / INVALID_ARGUMENT with a
 * google.rpc.Status, partial success, 429 / RESOURCE_EXHAUSTED with retry
 * information, 503 while shutting down), every span is counted once, and
 * finishing analyzes everything and hands each accepted batch to the recording
 * before it resolves.
 */
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs/light.js';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENTS } from '../../examples/pipeline/pipeline.js';
import { ThreadedLiveSession, type ThreadedLiveSessionOptions } from '../../dashboards/threaded-session.js';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';
import type { RequestOrigin } from '../../src/receiver/intake.js';
import { startOtlpGrpcReceiver, TRACE_SERVICE_EXPORT_PATH } from '../../src/receiver/otlp-grpc.js';
import { startOtlpHttpReceiver } from '../../src/receiver/otlp-http.js';
import { spansToOtlpJson } from '../../src/receiver/otlp-json-recorder.js';
import { countRequestSpans } from '../../src/receiver/otlp-wire.js';
import { ExportResultCode, exportWith } from '../helpers/receiver.js';
import { runPipelineSpans, toSpanRecords } from '../helpers/traces.js';

const StatusType = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
  .add(new protobuf.Field('details', 3, 'bytes', 'repeated'));
new protobuf.Root().define('google.rpc').add(StatusType);

const ORIGIN: RequestOrigin = { protocol: 'http', encoding: 'protobuf', peer: 'test' };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSession(options: Partial<ThreadedLiveSessionOptions> = {}): Promise<ThreadedLiveSession> {
  const session = await ThreadedLiveSession.start({ mode: 'receive', settleMs: 100, ...options });
  cleanups.push(() => session.finish().catch(() => {}));
  return session;
}

/** The pipeline's spans as the SDK made them, with what its own log says: one task, one trace. */
async function pipeline(taskId: string): Promise<ReadableSpan[]> {
  return (await runPipelineSpans([], { taskId })).spans;
}

describe('ThreadedLiveSession', () => {
  it('takes what the real protobuf, JSON and gRPC exporters send, counts every span and analyzes each task into its edges', async () => {
    const lines: string[] = [];
    let recordedSpans = 0;
    const session = await startSession({
      onRecord: (line, spans) => {
        lines.push(line);
        recordedSpans += spans;
      },
    });
    const http = await startOtlpHttpReceiver(session, { port: 0 });
    const grpcReceiver = await startOtlpGrpcReceiver(session, { port: 0 });
    const tasks = [await pipeline('threaded-proto'), await pipeline('threaded-json'), await pipeline('threaded-grpc')];
    const exporters = [
      new ProtoExporter({ url: `${http.url}/v1/traces` }),
      new JsonExporter({ url: `${http.url}/v1/traces` }),
      new GrpcExporter({ url: grpcReceiver.url }),
    ];
    try {
      for (let i = 0; i < exporters.length; i++) expect((await exportWith(exporters[i]!, tasks[i]!)).code).toBe(ExportResultCode.SUCCESS);
    } finally {
      for (const exporter of exporters) await exporter.shutdown();
      await http.close();
      await grpcReceiver.close();
    }
    session.close();
    const report = await session.finish();
    const total = tasks.reduce((n, t) => n + t.length, 0);
    const view = session.view();
    expect(view.counters).toMatchObject({ accepted: total, rejected: 0, throttled: 0, agedOut: 0, tracesOpen: 0, tracesAnalyzed: 3 });
    expect(report.inputs.spans).toBe(total);
    // The pipeline's own order of agents is its handoff chain, once per task.
    const expected = AGENTS.slice(0, -1).map((a, i) => `${a} → ${AGENTS[i + 1]}`).sort();
    expect(view.edges.map((e) => `${e.source} → ${e.target}`).sort()).toEqual(expected);
    expect(view.edges.every((e) => e.handoffs === 3)).toBe(true);
    // Every accepted span reached the recording before finish resolved, as the line the worker serialized.
    expect(recordedSpans).toBe(total);
    const recordedIds = lines.flatMap((line) => parseOtlpJsonRequest(JSON.parse(line), 'recorded').map((s) => s.spanId)).sort();
    expect(recordedIds).toEqual(tasks.flat().map((s) => s.spanContext().spanId).sort());
  });

  it('answers a body the worker cannot decode with 400 and a google.rpc.Status (HTTP), INVALID_ARGUMENT (gRPC), and counts it', async () => {
    const session = await startSession();
    const http = await startOtlpHttpReceiver(session, { port: 0 });
    const grpcReceiver = await startOtlpGrpcReceiver(session, { port: 0 });
    try {
      const proto = await fetch(`${http.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]) });
      expect(proto.status).toBe(400);
      const status = StatusType.decode(Buffer.from(await proto.arrayBuffer())) as unknown as { code: number; message: string };
      expect(status.code).toBe(3);
      expect(status.message).toContain('not an OTLP protobuf trace request');
      const json = await fetch(`${http.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans": 3}' });
      expect(json.status).toBe(400);
      expect(await json.json()).toMatchObject({ code: 3, message: expect.stringContaining('resourceSpans') });
      const { error } = await rawGrpcExport(grpcReceiver.url, Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]));
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toContain('not an OTLP protobuf trace request');
      // A span with an all-zero id is refused as partial success, the rest taken.
      const records = toSpanRecords(await pipeline('threaded-partial'));
      records[1] = { ...records[1]!, spanId: '0000000000000000' };
      const partial = await fetch(`${http.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spansToOtlpJson(records)) });
      expect(partial.status).toBe(200);
      expect(await partial.json()).toMatchObject({ partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining(`1 of ${records.length} spans refused`) } });
      expect(http.counters.badRequests).toBe(2);
      expect(grpcReceiver.counters.badRequests).toBe(1);
      await session.finish();
      expect(session.view().counters).toMatchObject({ badRequests: 3, accepted: records.length - 1, rejected: 1 });
    } finally {
      await http.close();
      await grpcReceiver.close();
    }
  });

  it('refuses a body handed over while the worker is behind by more than maxPendingBytes, and counts its spans as throttled', async () => {
    const session = await startSession({ maxPendingBytes: 1 });
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(await pipeline('threaded-pending'))!);
    const spans = countRequestSpans(body, 'protobuf');
    expect(spans).toBeGreaterThan(10);
    // Both offered in one turn of the event loop: the first is still with the worker when the second comes.
    const first = session.offerBody(Buffer.from(body), 'protobuf', ORIGIN, 'test');
    const second = session.offerBody(Buffer.from(body), 'protobuf', ORIGIN, 'test');
    expect(await second).toEqual({ status: 'busy', retryAfterMs: 1_000 });
    expect(await first).toEqual({ status: 'accepted', spans, rejected: 0, message: '' });
    // Nothing pending any more: the same body is taken.
    expect((await session.offerBody(Buffer.from(body), 'protobuf', ORIGIN, 'test')).status).toBe('accepted');
    await session.finish();
    expect(session.view().counters).toMatchObject({ accepted: 2 * spans, throttled: spans });
  });

  it('refuses a body that would wait longer than maxPendingMs at the worker\'s measured pace, and takes it when the bound allows the wait', async () => {
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(await pipeline('threaded-pace'))!);
    const spans = countRequestSpans(body, 'protobuf');
    /** Three bodies at once; once two are answered (the worker went from one straight to the next: its pace is known), a fourth. */
    const fourthBehindOne = async (session: ThreadedLiveSession) => {
      const offered = [0, 1, 2].map(() => session.offerBody(Buffer.from(body), 'protobuf', ORIGIN, 'test'));
      await offered[0];
      await offered[1];
      // The third's answer is a message not yet delivered: it still waits, so the fourth would wait behind it.
      const fourth = session.offerBody(Buffer.from(body), 'protobuf', ORIGIN, 'test');
      await offered[2];
      return fourth;
    };
    const strict = await startSession({ maxPendingMs: 0 });
    const refused = await fourthBehindOne(strict);
    expect(refused.status).toBe('busy');
    expect(refused.status === 'busy' && refused.retryAfterMs).toBeGreaterThanOrEqual(1_000);
    await strict.finish();
    expect(strict.view().counters).toMatchObject({ accepted: 3 * spans, throttled: spans });
    // The same sequence with the default bound (2 s, far more than one body's work): taken.
    const lenient = await startSession();
    expect((await fourthBehindOne(lenient)).status).toBe('accepted');
    await lenient.finish();
    expect(lenient.view().counters).toMatchObject({ accepted: 4 * spans, throttled: 0 });
  });

  it('learns a faster pace from bodies taken one at a time: a pace once measured low does not refuse every second body for good', async () => {
    const small = Buffer.from(ProtobufTraceSerializer.serializeRequest((await pipeline('threaded-small')).slice(0, 1))!);
    const tasks = await Promise.all(Array.from({ length: 8 }, (_, i) => pipeline(`threaded-large-${i}`)));
    const large = Buffer.from(ProtobufTraceSerializer.serializeRequest(tasks.flat())!);
    expect(large.length).toBeGreaterThan(100 * small.length);
    const session = await startSession({ maxPendingMs: 100 });
    // Two one-span bodies at once: the second's time is mostly a body's fixed cost, so the pace
    // it gives (bytes per ms) is far below what large bodies go at.
    await Promise.all([0, 1].map(() => session.offerBody(Buffer.from(small), 'protobuf', ORIGIN, 'test')));
    const rounds: string[] = [];
    for (let round = 0; round < 12 && !rounds.includes('accepted'); round++) {
      // A large body, and a second while the first is with the worker: taken once the pace is known to allow it.
      const first = session.offerBody(Buffer.from(large), 'protobuf', ORIGIN, 'test');
      const second = session.offerBody(Buffer.from(large), 'protobuf', ORIGIN, 'test');
      expect((await first).status).toBe('accepted');
      rounds.push((await second).status);
    }
    expect(rounds).toContain('accepted');
  });

  it('behind the HTTP receiver under load: 429 with Retry-After and a RESOURCE_EXHAUSTED status, every span accepted once or counted throttled', async () => {
    const template = toSpanRecords(await pipeline('threaded-load'));
    const session = await startSession({ maxQueuedSpans: template.length, maxPendingBytes: 1 });
    const http = await startOtlpHttpReceiver(session, { port: 0 });
    let refusals = 0;
    try {
      const bodies = Array.from({ length: 20 }, (_, k) =>
        JSON.stringify(spansToOtlpJson(template.map((s) => ({ ...s, traceId: k.toString(16).padStart(4, '0') + s.traceId.slice(4) })))),
      );
      await Promise.all(
        bodies.map(async (body) => {
          for (;;) {
            const res = await fetch(`${http.url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
            const answer = (await res.json()) as { code: number; details?: { '@type': string }[] };
            if (res.status === 200) return;
            expect(res.status).toBe(429);
            expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
            expect(answer.code).toBe(8);
            expect(answer.details?.[0]?.['@type']).toBe('type.googleapis.com/google.rpc.RetryInfo');
            refusals++;
            await new Promise((r) => setTimeout(r, 20));
          }
        }),
      );
    } finally {
      await http.close();
    }
    await session.finish();
    const c = session.view().counters;
    expect(c.accepted).toBe(20 * template.length);
    expect(c.throttled).toBe(refusals * template.length);
    expect(c.agedOut).toBe(0);
    expect(c.tracesAnalyzed).toBe(20);
    expect(http.counters.throttledRequests).toBe(refusals);
  });

  it('answers each of many bodies handed over in one turn with its own verdict, and records the accepted ones in that order', async () => {
    const lines: string[] = [];
    const session = await startSession({ onRecord: (line) => lines.push(line) });
    const records = toSpanRecords(await pipeline('threaded-many'));
    // Bodies of different sizes (a verdict given to the wrong body shows), one that does not decode,
    // one with a span refused.
    const sizes = [1, records.length, 2, 3, records.length - 1];
    const json = (spans: typeof records) => ({ body: Buffer.from(JSON.stringify(spansToOtlpJson(spans))), encoding: 'json' as const });
    const bodies = sizes.map((n, k) => json(records.slice(0, n).map((s) => ({ ...s, traceId: k.toString(16).padStart(4, '0') + s.traceId.slice(4) }))));
    bodies.splice(2, 0, { body: Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]), encoding: 'json' });
    const withBadId = records.slice(0, 4).map((s) => ({ ...s, traceId: `ff${s.traceId.slice(2)}` }));
    withBadId[1] = { ...withBadId[1]!, spanId: '0000000000000000' };
    bodies.push(json(withBadId));
    // All offered in one turn: they reach the worker together, queued behind one another.
    const verdicts = await Promise.all(bodies.map(({ body, encoding }) => session.offerBody(body, encoding, { ...ORIGIN, encoding }, 'test')));
    expect(verdicts.map((v) => (v.status === 'accepted' ? v.spans - v.rejected : v.status))).toEqual([1, records.length, 'invalid', 2, 3, records.length - 1, 3]);
    expect(verdicts[6]).toMatchObject({ rejected: 1, message: expect.stringContaining('1 of 4 spans refused') });
    await session.finish();
    // The recording got every accepted batch, in the order the bodies were handed over.
    expect(lines.map((line) => parseOtlpJsonRequest(JSON.parse(line), 'recorded').length)).toEqual([1, records.length, 2, 3, records.length - 1, 3]);
    const accepted = sizes.reduce((n, s) => n + s, 0) + 3;
    expect(session.view().counters).toMatchObject({ accepted, rejected: 1, throttled: 0 });
  });

  it('answers 503 with Retry-After once closed, and counts those spans as throttled', async () => {
    const session = await startSession();
    const http = await startOtlpHttpReceiver(session, { port: 0 });
    const records = toSpanRecords(await pipeline('threaded-closed'));
    try {
      session.close();
      const res = await fetch(`${http.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spansToOtlpJson(records)) });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toMatchObject({ code: 14 });
    } finally {
      await http.close();
    }
    await session.finish();
    expect(session.view().counters).toMatchObject({ accepted: 0, throttled: records.length });
  });
});

describe('ThreadedLiveSession.start', () => {
  it('rejects with the analysis thread\'s own error when the session cannot be made there', async () => {
    await expect(ThreadedLiveSession.start({ mode: 'receive', audit: { dialect: 'no-such-dialect' } })).rejects.toThrow(/unknown dialect "no-such-dialect"/);
  });
});

describe('countRequestSpans', () => {
  it('counts the spans of a protobuf request from its framing, and of a JSON one, as the decoders read them', async () => {
    const spans = await pipeline('count-spans');
    const proto = ProtobufTraceSerializer.serializeRequest(spans)!;
    expect(countRequestSpans(proto, 'protobuf')).toBe(spans.length);
    const json = Buffer.from(JSON.stringify(spansToOtlpJson(toSpanRecords(spans))));
    expect(countRequestSpans(json, 'json')).toBe(spans.length);
    // What does not frame or parse counts what it could: nothing here.
    expect(countRequestSpans(Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]), 'protobuf')).toBe(0);
    expect(countRequestSpans(Buffer.from('{"resourceSpans": ['), 'json')).toBe(0);
  });
});

/** A raw unary call on the trace service's path, to see status codes the exporter does not surface. */
function rawGrpcExport(url: string, body: Uint8Array): Promise<{ error: grpc.ServiceError | null }> {
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
  const client = new Client(url.replace('http://', ''), grpc.credentials.createInsecure()) as unknown as {
    export(b: Buffer, cb: (e: grpc.ServiceError | null) => void): void;
    close(): void;
  };
  return new Promise((resolve) =>
    client.export(Buffer.from(body), (error) => {
      client.close();
      resolve({ error });
    }),
  );
}
