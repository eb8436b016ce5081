/**
 * Real OpenTelemetry SDK wiring for tests: a tracer provider with an in-memory
 * exporter behind a simple processor, a meter provider with an in-memory metric
 * exporter, and an AsyncLocalStorage context manager so context.with works.
 */
import { context, type Meter, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

let contextManagerInstalled = false;

/** Installs the AsyncLocalStorage context manager once per test worker. */
export function installContextManager(): void {
  if (contextManagerInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerInstalled = true;
}

export interface OtelHarness {
  readonly tracer: Tracer;
  /** The tracer provider, for instrumentations that take one (setTracerProvider). */
  readonly provider: BasicTracerProvider;
  readonly meter: Meter;
  readonly exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  /** Collects metrics now. */
  collectMetrics(): Promise<ResourceMetrics>;
  reset(): void;
  shutdown(): Promise<void>;
}

/** A fresh tracer and meter on their own providers (nothing is registered globally but the context manager). */
export function createOtelHarness(serviceName = 'test'): OtelHarness {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracer: provider.getTracer('baton-test', undefined, {}),
    provider,
    meter: meterProvider.getMeter(serviceName),
    exporter,
    spans: () => exporter.getFinishedSpans(),
    collectMetrics: async () => {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics;
    },
    reset: () => exporter.reset(),
    shutdown: async () => {
      await provider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The span whose attribute `baton.operation` is `operation`; throws unless exactly one. */
export function onlySpan(spans: readonly ReadableSpan[], operation: string): ReadableSpan {
  const found = spans.filter((s) => s.attributes['baton.operation'] === operation);
  if (found.length !== 1) throw new Error(`expected one ${operation} span, found ${found.length}`);
  return found[0]!;
}
