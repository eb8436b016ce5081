/**
 * OTLP/gRPC trace receiver on @grpc/grpc-js: the unary
 * `opentelemetry.proto.collector.trace.v1.TraceService/Export` method, gzip and
 * deflate as grpc-js negotiates them, messages bounded after decompression.
 * Bodies are decoded by the same protobuf reader `baton audit` uses (the service
 * keeps the raw bytes; no second protobuf runtime), and answered with the status
 * codes the OTLP specification gives: OK with partial success when spans were
 * refused, INVALID_ARGUMENT for data that does not decode (not retryable),
 * RESOURCE_EXHAUSTED with a RetryInfo detail when the consumer cannot keep up
 * (retryable only with it), UNAVAILABLE while shutting down.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlpgrpc-response
 */
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_MAX_REQUEST_BYTES, isBodyIntake, newReceiverCounters, type BodyIntake, type BodyVerdict, type ReceiverCounters, type SpanIntake } from './intake.js';
import { offerBodyTo } from './offer-body.js';
import { RpcCode, encodeExportResponse, encodeRpcStatus } from './otlp-wire.js';

/** Options of {@link startOtlpGrpcReceiver}. */
export interface OtlpGrpcReceiverOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 4317. */
  readonly port?: number;
  /** Largest message, after decompression. Default 64 MiB. */
  readonly maxRequestBytes?: number;
}

/** A running receiver. */
export interface OtlpGrpcReceiver {
  /** `http://127.0.0.1:4317`: the endpoint a gRPC exporter is given. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly counters: Readonly<ReceiverCounters>;
  /** Stops accepting calls, lets calls in progress finish (at most `graceMs`, default 5 000), then closes. */
  close(graceMs?: number): Promise<void>;
}

/** The service's full path, as exporters call it. */
export const TRACE_SERVICE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/**
 * The service definition with pass-through (de)serializers: requests stay bytes
 * until the handler decodes them, so a bad body becomes INVALID_ARGUMENT with a
 * reason (a throwing deserializer would surface as INTERNAL).
 */
const TRACE_SERVICE: grpc.ServiceDefinition = {
  export: {
    path: TRACE_SERVICE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (bytes: Buffer) => bytes,
    originalName: 'Export',
  },
};

/** Starts the receiver; resolves once it listens (rejects with the bind error). */
export async function startOtlpGrpcReceiver(intake: SpanIntake | BodyIntake, options: OtlpGrpcReceiverOptions = {}): Promise<OtlpGrpcReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const counters = newReceiverCounters();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBytes,
    // Replies are a few bytes; the default 4 MiB send limit is irrelevant.
  });
  server.addService(TRACE_SERVICE, {
    export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      counters.requests++;
      const body = call.request;
      counters.bytesReceived += body.length;
      const peer = call.getPeer();
      const origin = { protocol: 'grpc', encoding: 'protobuf', peer } as const;
      const source = `${peer} ${TRACE_SERVICE_EXPORT_PATH}`;
      const answer = (verdict: BodyVerdict) => {
        if (verdict.status === 'invalid') {
          counters.badRequests++;
          intake.requestRefused?.(`gRPC INVALID_ARGUMENT: ${verdict.reason}`);
          callback({ code: grpc.status.INVALID_ARGUMENT, details: verdict.reason });
          return;
        }
        if (verdict.status !== 'accepted') {
          counters.throttledRequests++;
          const busy = verdict.status === 'busy';
          const code = busy ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.UNAVAILABLE;
          const details = busy ? 'the monitor cannot keep up: retry later' : 'the monitor is shutting down';
          const metadata = new grpc.Metadata();
          // The detail that makes RESOURCE_EXHAUSTED retryable per the OTLP spec.
          metadata.set('grpc-status-details-bin', encodeRpcStatus(busy ? RpcCode.ResourceExhausted : RpcCode.Unavailable, details, verdict.retryAfterMs));
          callback({ code, details, metadata });
          return;
        }
        callback(null, encodeExportResponse(verdict.rejected, verdict.message));
      };
      if (!isBodyIntake(intake)) return answer(offerBodyTo(intake, body, origin, source));
      // The body is grpc-js's: a copy is handed over, so the intake may move it to another thread.
      intake.offerBody(Buffer.from(body), 'protobuf', origin, source).then(answer, (error: unknown) => {
        counters.badRequests++;
        callback({ code: grpc.status.INTERNAL, details: `internal error: ${(error as Error).message}` });
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${options.port ?? 4317}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    host,
    port,
    counters,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
