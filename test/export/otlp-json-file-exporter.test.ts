/**
 * The OTLP/JSON Lines file exporter: refuses an existing file at construction
 * (never drops spans silently, never overwrites), appends only when told, and
 * writes what `baton audit` reads from spans of OpenTelemetry JS 2.x and 1.x.
 *
 * The 1.x provider is the oldest supported, sdk-trace-base 1.30, installed
 * under the alias `@opentelemetry/sdk-trace-base-v1` (a devDependency);
 * BATON_OTEL_V1 may point at its entry file instead.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { ExportFileError, OtlpJsonFileSpanExporter } from '../../src/export/index.js';
import { BatonError } from '../../src/model/errors.js';
import { readTraceFile } from '../../src/ingest/index.js';
import type { SpanRecord } from '../../src/model/span-record.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-exporter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `trace-${n++}.jsonl`);

async function readBack(path: string): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  const problems: Error[] = [];
  for await (const batch of readTraceFile(path, path, {}, (error) => problems.push(error))) spans.push(...batch);
  expect(problems).toEqual([]);
  return spans;
}

/** A parent and a child span, the child's status an error, on `tracer`. */
function emitPair(tracer: Tracer): { traceId: string; parentId: string; childId: string } {
  const parent = tracer.startSpan('handoff send analyst', {
    kind: SpanKind.PRODUCER,
    attributes: { 'baton.operation': 'handoff.send' },
  });
  const child = tracer.startSpan(
    'write report',
    { attributes: { 'baton.state.key': 'report' } },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.end();
  parent.end();
  return { traceId: parent.spanContext().traceId, parentId: parent.spanContext().spanId, childId: child.spanContext().spanId };
}

describe('OtlpJsonFileSpanExporter', () => {
  it('refuses an existing file at construction with ExportFileError naming it, and leaves the file as it was', () => {
    const path = freshPath();
    writeFileSync(path, "the user's own data\n");
    let thrown: unknown;
    try {
      new OtlpJsonFileSpanExporter(path);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ExportFileError);
    expect(thrown).toBeInstanceOf(BatonError);
    expect((thrown as ExportFileError).code).toBe('BATON_EXPORT_FILE');
    expect((thrown as Error).message).toBe(`${path}: exists; pass { append: true } to add to it, or choose a new file`);
    expect(readFileSync(path, 'utf8')).toBe("the user's own data\n");
  });

  it('refuses a path whose directory does not exist, at construction', () => {
    expect(() => new OtlpJsonFileSpanExporter(join(dir, 'no-such-dir', 'trace.jsonl'))).toThrow(
      /no-such-dir\/trace\.jsonl: cannot be created: its directory does not exist$/,
    );
  });

  it('appends to an existing file when asked, one request per line after what was there', async () => {
    const path = freshPath();
    writeFileSync(path, '');
    for (let round = 0; round < 2; round++) {
      const exporter = new OtlpJsonFileSpanExporter(path, { append: true });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      emitPair(provider.getTracer('t'));
      await provider.shutdown();
    }
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4); // a SimpleSpanProcessor exports each span on its own: 2 spans × 2 rounds
    expect((await readBack(path)).map((s) => s.name)).toEqual([
      'write report',
      'handoff send analyst',
      'write report',
      'handoff send analyst',
    ]);
  });

  it('writes spans of OpenTelemetry JS 2.x that the audit reads, parent links included', async () => {
    const path = freshPath();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new OtlpJsonFileSpanExporter(path))] });
    const ids = emitPair(provider.getTracer('baton-test', '2.0.0'));
    await provider.shutdown();
    const spans = await readBack(path);
    const child = spans.find((s) => s.name === 'write report')!;
    expect(child).toMatchObject({
      traceId: ids.traceId,
      spanId: ids.childId,
      parentSpanId: ids.parentId,
      scopeName: 'baton-test',
    });
    expect(child.attributes['baton.state.key']).toBe('report');
  });

  it('writes spans of OpenTelemetry JS 1.x (sdk-trace-base 1.30) the same way', async () => {
    const v1 = (await import(process.env.BATON_OTEL_V1 ?? '@opentelemetry/sdk-trace-base-v1').catch((error: unknown) => {
      throw new Error(
        'the oldest supported OpenTelemetry JS is missing: run npm install (devDependency @opentelemetry/sdk-trace-base-v1, an alias of sdk-trace-base@1.30.1)',
        { cause: error },
      );
    })) as {
      BasicTracerProvider: new (config?: object) => {
        addSpanProcessor(processor: unknown): void;
        getTracer(name: string, version?: string): Tracer;
        shutdown(): Promise<void>;
      };
      SimpleSpanProcessor: new (exporter: unknown) => unknown;
    };
    const path = freshPath();
    const provider = new v1.BasicTracerProvider();
    provider.addSpanProcessor(new v1.SimpleSpanProcessor(new OtlpJsonFileSpanExporter(path)));
    const ids = emitPair(provider.getTracer('baton-test-v1', '1.30.1'));
    await provider.shutdown();
    const spans = await readBack(path);
    expect(spans.map((s) => s.name).sort()).toEqual(['handoff send analyst', 'write report']);
    const child = spans.find((s) => s.name === 'write report')!;
    expect(child).toMatchObject({
      traceId: ids.traceId,
      spanId: ids.childId,
      parentSpanId: ids.parentId,
      scopeName: 'baton-test-v1',
    });
    const parent = spans.find((s) => s.name === 'handoff send analyst')!;
    expect(parent.parentSpanId).toBe('');
    expect(parent.attributes['baton.operation']).toBe('handoff.send');
  });
});
