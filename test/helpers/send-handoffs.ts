/**
 * A real app for the metrics and scale-out tests: agents hand work to each other
 * through Baton's SDK under the real OTel SDK, one trace per task (each receive
 * runs in a fresh root context, as in another process, and joins the trace through
 * the envelope's trace context), exported by a real OTLP exporter.
 *
 * `--url` receives every span. Each `--split` URL receives the spans of the traces
 * whose id picks it (the low 32 bits of the trace id modulo the number of splits),
 * as the Collector's loadbalancing exporter sends a whole trace to one backend.
 *
 * Prints its own log as one JSON line: spans exported per URL, handoffs per edge
 * (what it did), per-edge latencies (receive start − send start, read from the
 * spans it exported), the late and never acknowledged handoffs it made.
 *
 *   tsx test/helpers/send-handoffs.ts --url http://127.0.0.1:4318 --tasks 20 --seed 7 [--split URL --split URL] [--extra-edges 30]
 */
import { parseArgs } from 'node:util';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BATON_HANDOFF_ID, BATON_HANDOFF_SOURCE_AGENT, BATON_HANDOFF_TARGET_AGENT, BATON_OPERATION, BatonOperation } from '../../src/model/attributes.js';
import { Baton } from '../../src/sdk/baton.js';
import { draft } from './envelopes.js';
import { installContextManager } from './otel.js';

/** Agents whose names test the label escaping: quotes, backslashes, a newline, braces, non-ASCII. */
export const HOSTILE_AGENTS = ['planner', 'research "deep"', 'back\\slash', 'multi\nline', 'ünïcødé 🚀', 'a,b=c}{'] as const;

/** The log line the program prints. */
export interface SendHandoffsLog {
  /** Spans the exporter reported sent, per URL (in the order --url, then each --split). */
  readonly exported: Record<string, number>;
  readonly failed: number;
  /** Handoffs made, per edge `source\u0000target`. */
  readonly handoffs: Record<string, number>;
  /** Receive start − send start per edge, in ms, from the exported spans. */
  readonly latenciesMs: Record<string, number[]>;
  /** Handoffs acknowledged after their budget, and never acknowledged. */
  readonly lateAcks: number;
  readonly neverAcked: number;
  readonly traceIds: string[];
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    split: { type: 'string', multiple: true, default: [] },
    protocol: { type: 'string', default: 'http-proto' },
    tasks: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    'extra-edges': { type: 'string', default: '0' },
    'late-acks': { type: 'string', default: '0' },
    'never-acked': { type: 'string', default: '0' },
  },
});

function exporterFor(url: string): SpanExporter {
  if (values.protocol === 'grpc') return new GrpcExporter({ url });
  if (values.protocol === 'http-json') return new JsonExporter({ url: `${url}/v1/traces` });
  return new ProtoExporter({ url: `${url}/v1/traces` });
}

const whole = values.url !== undefined ? { url: values.url, exporter: exporterFor(values.url) } : undefined;
const splits = values.split.map((url) => ({ url, exporter: exporterFor(url) }));
const exported: Record<string, number> = {};
for (const target of [...(whole ? [whole] : []), ...splits]) exported[target.url] = 0;
let failed = 0;
const sends = new Map<string, { edge: string; startMs: number }>();
const receives = new Map<string, number>();

function msOf(time: readonly [number, number]): number {
  return time[0] * 1000 + time[1] / 1e6;
}

function exportTo(target: { url: string; exporter: SpanExporter }, spans: ReadableSpan[]): Promise<void> {
  if (spans.length === 0) return Promise.resolve();
  return new Promise((resolve) =>
    target.exporter.export(spans, (result: ExportResult) => {
      if (result.code === ExportResultCode.SUCCESS) exported[target.url]! += spans.length;
      else failed += spans.length;
      resolve();
    }),
  );
}

/** Sends each batch to --url whole, and to each --split the spans of the traces that pick it. */
const router: SpanExporter = {
  export(spans, done) {
    for (const span of spans) {
      const attrs = span.attributes;
      const id = attrs[BATON_HANDOFF_ID];
      if (typeof id !== 'string') continue;
      if (attrs[BATON_OPERATION] === BatonOperation.HandoffSend) {
        sends.set(id, { edge: `${String(attrs[BATON_HANDOFF_SOURCE_AGENT])}\u0000${String(attrs[BATON_HANDOFF_TARGET_AGENT])}`, startMs: msOf(span.startTime) });
      } else if (attrs[BATON_OPERATION] === BatonOperation.HandoffReceive) {
        receives.set(id, msOf(span.startTime));
      }
    }
    const parts: ReadableSpan[][] = splits.map(() => []);
    for (const span of spans) {
      const traceId = span.spanContext().traceId;
      parts[Number.parseInt(traceId.slice(-8), 16) % Math.max(1, splits.length)]?.push(span);
    }
    const sent: Promise<void>[] = [];
    if (whole) sent.push(exportTo(whole, spans));
    splits.forEach((target, i) => sent.push(exportTo(target, parts[i]!)));
    void Promise.all(sent).then(() => done({ code: ExportResultCode.SUCCESS }));
  },
  async shutdown() {
    for (const target of [...(whole ? [whole] : []), ...splits]) await target.exporter.shutdown();
  },
  async forceFlush() {},
};

/** Deterministic pseudo-random numbers (mulberry32), so a seed gives the same plan. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

installContextManager();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'baton-metrics-test-app' }),
  spanProcessors: [new BatchSpanProcessor(router, { scheduledDelayMillis: 100, maxExportBatchSize: 64 })],
});
const meterProvider = new MeterProvider();
const baton = new Baton({ tracer: provider.getTracer('baton'), meter: meterProvider.getMeter('baton') });
const next = random(Number(values.seed));
const edges: [string, string][] = [];
for (let i = 0; i + 1 < HOSTILE_AGENTS.length; i++) edges.push([HOSTILE_AGENTS[i]!, HOSTILE_AGENTS[i + 1]!]);
edges.push([HOSTILE_AGENTS[HOSTILE_AGENTS.length - 1]!, HOSTILE_AGENTS[0]!]);
for (let i = 0; i < Number(values['extra-edges']); i++) edges.push([`worker-${i}`, `reviewer-${i}`]);
const handoffs: Record<string, number> = {};
const traceIds: string[] = [];
let lateAcks = 0;
let neverAcked = 0;
let lateLeft = Number(values['late-acks']);
let neverLeft = Number(values['never-acked']);

/** One handoff: sent inside the source's run, received in a fresh root context after `waitMs`. */
async function handOff(source: string, target: string, taskId: string, waitMs: number, ack: 'on-time' | 'late' | 'never'): Promise<void> {
  const budgetMs = ack === 'on-time' ? undefined : 5;
  const wire = baton.runAgent(source, () => JSON.stringify(baton.send(draft({ source_agent: source, target_agent: target, task_id: taskId }), budgetMs ? { timeoutBudgetMs: budgetMs } : {})), { taskId });
  await sleep(waitMs);
  const rx = context.with(ROOT_CONTEXT, () => baton.receive(JSON.parse(wire), ack === 'on-time' ? {} : { ack: 'manual' }));
  if (ack === 'late') {
    await sleep(20);
    rx.ack();
    lateAcks++;
  } else if (ack === 'never') {
    neverAcked++;
  }
  const key = `${source}\u0000${target}`;
  handoffs[key] = (handoffs[key] ?? 0) + 1;
}

const tasks = Number(values.tasks);
for (let t = 0; t < tasks; t++) {
  const taskId = `task-${t}`;
  // The task's root: every handoff of the task in its trace.
  await baton.runAgent('coordinator', async (run) => {
    traceIds.push(run.span.spanContext().traceId);
    const count = 1 + Math.floor(next() * 3);
    for (let h = 0; h < count; h++) {
      const [source, target] = edges[Math.floor(next() * edges.length)]!;
      const ack = lateLeft > 0 ? (lateLeft--, 'late' as const) : neverLeft > 0 ? (neverLeft--, 'never' as const) : ('on-time' as const);
      await handOff(source, target, taskId, Math.floor(next() * 30), ack);
    }
  }, { taskId });
}
await provider.forceFlush();
await provider.shutdown();
await meterProvider.shutdown();
const latenciesMs: Record<string, number[]> = {};
for (const [id, send] of sends) {
  const received = receives.get(id);
  if (received === undefined) continue;
  (latenciesMs[send.edge] ??= []).push(received - send.startMs);
}
const log: SendHandoffsLog = { exported, failed, handoffs, latenciesMs, lateAcks, neverAcked, traceIds };
process.stdout.write(`${JSON.stringify(log)}\n`);
