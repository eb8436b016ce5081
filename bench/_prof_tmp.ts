import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Baton } from '../src/sdk/baton.js';
import { DiscardExporter, draftEnvelope, IdleMetricReader } from './sdk.js';
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DiscardExporter())] });
const tracer = provider.getTracer('b');
const meter = new MeterProvider({ readers: [new IdleMetricReader()] }).getMeter('baton');
const draft = draftEnvelope();
const opts = { timeoutBudgetMs: 30_000, epoch: 3, stateVersion: 7, idempotencyKey: 'k' };
const b = new Baton({ tracer, meter });
let sink: unknown;
for (let i = 0; i < 150000; i++) { sink = b.receive(b.send(draft, opts)); if ((i & 1023) === 0) await new Promise((r) => setImmediate(r)); }
void sink;
