/**
 * Real traces for analyzer and ingest tests: the example pipeline run through the
 * real OTel SDK (InMemorySpanExporter), serialized by the OTel JS serializers in
 * both OTLP encodings, and read back through Baton's ingest.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { runPipeline, type Fault, type PipelineResult } from '../../examples/pipeline/pipeline.js';
import { readTraceInputs } from '../../src/ingest/index.js';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { Baton, type BatonOptions } from '../../src/sdk/baton.js';
import { installContextManager } from './otel.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Runs the example pipeline once with `faults` and returns its finished spans. */
export async function runPipelineSpans(
  faults: readonly Fault[] = [],
  options: { taskId?: string; baton?: Partial<BatonOptions> } = {},
): Promise<{ spans: ReadableSpan[]; result: PipelineResult }> {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'baton-test-pipeline' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const meterProvider = new MeterProvider();
  const baton = new Baton({ tracer: provider.getTracer('baton'), meter: meterProvider.getMeter('baton'), ...options.baton });
  const result = await runPipeline({ baton, faults, taskId: options.taskId ?? `task-${faults.join('+') || 'clean'}` });
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  await meterProvider.shutdown();
  return { spans, result };
}

/** OTLP/JSON text of `spans`, as the OTel JS exporters and the Collector write it. */
export function toOtlpJson(spans: readonly ReadableSpan[]): string {
  const bytes = JsonTraceSerializer.serializeRequest(spans as ReadableSpan[]);
  if (!bytes) throw new Error('spans could not be serialized');
  return new TextDecoder().decode(bytes);
}

/** OTLP protobuf bytes (one ExportTraceServiceRequest) of `spans`. */
export function toOtlpProtobuf(spans: readonly ReadableSpan[]): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans as ReadableSpan[]);
  if (!bytes) throw new Error('spans could not be serialized');
  return bytes;
}

/** The spans as the analyzer sees them, through the OTLP/JSON encoding. */
export function toSpanRecords(spans: readonly ReadableSpan[], source = 'test'): SpanRecord[] {
  return parseOtlpJsonRequest(JSON.parse(toOtlpJson(spans)), source);
}

/** A committed fixture (fixtures/<name>.json) as SpanRecords. */
export async function loadFixture(name: string): Promise<SpanRecord[]> {
  const path = `${FIXTURES_DIR}${name}.json`;
  return parseOtlpJsonRequest(JSON.parse(await readFile(path, 'utf8')), `fixtures/${name}.json`);
}

/** Every span and every input error message of reading `file` as `baton audit` does, spans in the order read (or by span id). */
export async function readFileSpans(file: string, order: 'read' | 'span id' = 'read'): Promise<{ spans: SpanRecord[]; errors: string[] }> {
  const spans: SpanRecord[] = [];
  const errors: string[] = [];
  for await (const batch of readTraceInputs([file], { onError: (e) => errors.push(e.message) })) spans.push(...batch);
  if (order === 'span id') spans.sort((a, b) => (a.spanId < b.spanId ? -1 : 1));
  return { spans, errors };
}
