/**
 * A real app for the watch tests: runs the example pipeline (with faults) under
 * the real OTel SDK and exports its spans through a real OTLP exporter
 * (HTTP/JSON, HTTP/protobuf or gRPC) to `--url`, then prints what it did as one
 * JSON line: spans exported, the pipeline's outcome and notes (its own log).
 *
 *   tsx test/helpers/send-pipeline.ts --url http://127.0.0.1:4318 --protocol http-proto --fault ack-timeout --runs 2
 */
import { parseArgs } from 'node:util';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { runPipeline, type Fault } from '../../examples/pipeline/pipeline.js';
import { Baton } from '../../src/sdk/baton.js';
import { installContextManager } from './otel.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    protocol: { type: 'string', default: 'http-proto' },
    fault: { type: 'string', multiple: true, default: [] },
    runs: { type: 'string', default: '1' },
    gzip: { type: 'boolean', default: false },
  },
});
const url = values.url ?? 'http://127.0.0.1:4318';
const compression = (values.gzip ? 'gzip' : 'none') as never;
const inner: SpanExporter =
  values.protocol === 'grpc'
    ? new GrpcExporter({ url, compression })
    : values.protocol === 'http-json'
      ? new JsonExporter({ url: `${url}/v1/traces`, compression })
      : new ProtoExporter({ url: `${url}/v1/traces`, compression });
let exported = 0;
let failed = 0;
// Counts what the exporter reported as sent, so the caller knows what to expect on the other side.
const exporter: SpanExporter = {
  export: (spans: ReadableSpan[], done) =>
    inner.export(spans, (result) => {
      if (result.code === 0) exported += spans.length;
      else failed += spans.length;
      done(result);
    }),
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
};
installContextManager();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'baton-watch-test-pipeline' }),
  spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 200 })],
});
const meterProvider = new MeterProvider();
const baton = new Baton({ tracer: provider.getTracer('baton'), meter: meterProvider.getMeter('baton') });
const results = [];
for (let i = 0; i < Number(values.runs); i++) {
  results.push(await runPipeline({ baton, faults: values.fault as Fault[], taskId: `watch-${i}` }));
}
await provider.forceFlush();
await provider.shutdown();
await meterProvider.shutdown();
process.stdout.write(`${JSON.stringify({ exported, failed, results: results.map((r) => ({ taskId: r.taskId, outcome: r.outcome, notes: r.notes })) })}\n`);
