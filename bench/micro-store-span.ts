/**
 * In-process micro-benchmark of what Baton adds to one traced Redis GET beyond
 * the OpenTelemetry span itself, no server involved: RedisCommandTracer's
 * start + finish of a GET with the bench's 230-byte JSON reply (and with a
 * plain-text reply of the same size, which has nothing to read), against a bare
 * SDK span with the same attributes (the span Baton's path ends up recording),
 * against a bare span with no attributes. Same provider setup as bench/stores.ts.
 *
 *   npx tsx bench/micro-store-span.ts [n=200000] [variant-substring]
 *
 * Prints CPU ns per operation of the second of two rounds, per variant.
 */
import { context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { StoreInstrumentation } from '../src/stores/common.js';
import { REDIS_COMMANDS, RedisCommandTracer } from '../src/stores/redis-commands.js';
import { DiscardExporter } from './sdk.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DiscardExporter())] });
const tracer = provider.getTracer('baton-bench');
const n = Number(process.argv[2] ?? 200_000);
const inst = new StoreInstrumentation('redis', { tracer, namespace: '0' });
const commands = new RedisCommandTracer(inst, {});
const spec = REDIS_COMMANDS.get('GET')!;
const reply = JSON.stringify({ version: 1, epoch: 1, summary: 'x'.repeat(200) });
const plain = 'x'.repeat(230);
const args = ['GET', 'doc:hot'];
const attributes = {
  'baton.conventions.version': 2,
  'baton.operation': 'state.read',
  'baton.state.key': 'doc:hot',
  'db.operation.name': 'read',
  'db.system.name': 'redis',
  'db.collection.name': 'doc',
  'db.namespace': '0',
};

const variants: Record<string, () => void> = {
  'bare span, no attributes': () => {
    tracer.startSpan('read doc', { kind: SpanKind.CLIENT }).end();
  },
  'bare span, the 7 + 3 attributes of a traced GET': () => {
    const span = tracer.startSpan('read doc', { kind: SpanKind.CLIENT, attributes: { ...attributes }, startTime: performance.timeOrigin + performance.now() });
    span.setAttribute('baton.state.version_read', 1);
    span.setAttribute('baton.epoch', 1);
    span.setAttribute('baton.state.found', true);
    span.end(performance.timeOrigin + performance.now());
  },
  'Baton: start + finish of a GET (JSON reply read)': () => {
    const traced = commands.start(spec, args, 1, context.active(), false, false)!;
    commands.finish(traced, reply);
  },
  'Baton: start + finish of a GET (a plain-text reply: nothing to read)': () => {
    const traced = commands.start(spec, args, 1, context.active(), false, false)!;
    commands.finish(traced, plain);
  },
};

const only = process.argv[3];
for (const [name, op] of Object.entries(variants)) {
  if (only !== undefined && !name.includes(only)) continue;
  let perOpNs = 0;
  for (let round = 0; round < 2; round++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) op();
    const used = process.cpuUsage(cpu);
    perOpNs = ((used.user + used.system) * 1000) / n;
  }
  console.log(`${name}: ${perOpNs.toFixed(0)} ns CPU per operation`);
}
await provider.shutdown();
