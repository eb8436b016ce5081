/**
 * A plain loop of instrumented handoffs (or of two bare spans) for profiling the
 * SDK outside tinybench, on the same provider setup as bench/sdk.ts:
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile-handoff.ts handoff 200000
 *   npx tsx bench/cpuprofile-top.ts /tmp/prof/<largest>.cpuprofile 30
 *
 * Modes: `handoff` (send + JSON round trip + receive), `object` (send +
 * receive(object), the goal figure), `sampled` (the same with validation
 * sampled as bench/sdk.ts samples it), `bare` (two spans) or `bare5` (two spans of
 * 5 attributes each, as an app's own spans carry). Each prints wall and CPU time per
 * operation; CPU time is what to compare on a shared machine.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Baton } from '../src/sdk/baton.js';
import { BARE_ATTRIBUTES, DiscardExporter, draftEnvelope, IdleMetricReader, SAMPLING } from './sdk.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DiscardExporter())] });
const tracer = provider.getTracer('baton-bench');
const MODES = ['handoff', 'object', 'sampled', 'bare', 'bare5'] as const;
const mode = MODES.find((m) => m === process.argv[2]) ?? 'handoff';
const n = Number(process.argv[3] ?? 200_000);
// A reader attached, as in a real app: without one, sdk-metrics records nothing and its cost stays hidden.
const meterProvider = new MeterProvider({ readers: [new IdleMetricReader()] });
const baton = new Baton({ tracer, meter: meterProvider.getMeter('baton'), ...(mode === 'sampled' ? { validationSampling: SAMPLING } : {}) });
const draft = draftEnvelope();
// The options bench/sdk.ts sends with: every retry fact the send records.
const options = { timeoutBudgetMs: 30_000, epoch: 3, stateVersion: 7, idempotencyKey: 'research-2025-000123:researcher->analyst:0' };
let sink: unknown;
for (let round = 0; round < 2; round++) {
  const started = performance.now();
  // CPU time as well as wall time: on a shared machine the wall clock also counts other processes' turns.
  const cpuStarted = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (mode === 'handoff') sink = baton.receive(JSON.stringify(baton.send(draft, options)));
    else if (mode === 'object' || mode === 'sampled') sink = baton.receive(baton.send(draft, options));
    else if (mode === 'bare5') {
      tracer.startSpan('handoff send analyst', { attributes: BARE_ATTRIBUTES }).end();
      tracer.startSpan('handoff receive researcher', { attributes: BARE_ATTRIBUTES }).end();
    } else {
      tracer.startSpan('handoff send analyst').end();
      tracer.startSpan('handoff receive researcher').end();
    }
    // Let the batch processor's export promises settle, as an event loop would.
    if ((i & 1023) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const cpu = process.cpuUsage(cpuStarted);
  const wallNs = ((performance.now() - started) * 1e6) / n;
  const cpuNs = ((cpu.user + cpu.system) * 1e3) / n;
  console.log(`${mode} round ${round}: ${wallNs.toFixed(0)} ns/op wall, ${cpuNs.toFixed(0)} ns/op CPU`);
}
void sink;
await provider.shutdown();
