/**
 * A plain loop of awaited Redis commands on a private redis-server, for profiling
 * the store adapters outside the alternating rounds of bench/stores.ts, on the
 * same provider setup (BatchSpanProcessor to an exporter that drops the spans):
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile-store-commands.ts node-redis get traced 40000
 *   npx tsx bench/cpuprofile-top.ts /tmp/prof/<file>.cpuprofile 30
 *
 * Arguments: driver `ioredis` or `node-redis`; command `get` or `set` (the bench's
 * 230-byte JSON value on a hot key); `traced` (default), `bare` (the uninstrumented
 * client) or `noop` (instrumented, on a no-op tracer); the number of commands.
 * Prints wall and CPU time per command of the second of two rounds: CPU time is
 * what to compare on a shared machine.
 */
import { context, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { instrumentNodeRedis } from '../src/stores/node-redis.js';
import { instrumentRedis } from '../src/stores/redis.js';
import { startRedis } from '../test/helpers/servers.js';
import { DiscardExporter } from './sdk.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DiscardExporter())] });
const driver = process.argv[2] === 'node-redis' ? 'node-redis' : 'ioredis';
const command = process.argv[3] === 'set' ? 'set' : 'get';
const variant = process.argv[4] ?? 'traced';
const n = Number(process.argv[5] ?? 40_000);
const mode = `${driver} ${command} ${variant}`;
const tracer: Tracer = variant === 'noop' ? trace.getTracer('no provider: no-op') : provider.getTracer('baton-bench');
const doc = JSON.stringify({ version: 1, epoch: 1, summary: 'x'.repeat(200) });

const server = await startRedis();
let op: () => Promise<unknown>;
let close: () => void;
if (driver === 'node-redis') {
  const raw = await createClient({ socket: { host: server.host, port: server.port } }).connect();
  const client = variant === 'bare' ? raw : instrumentNodeRedis(raw, { tracer });
  op = command === 'set' ? () => client.set('doc:hot', doc) : () => client.get('doc:hot');
  close = () => client.destroy();
} else {
  const raw = new Redis(server.port, server.host);
  const client = variant === 'bare' ? raw : instrumentRedis(raw, { tracer });
  op = command === 'set' ? () => client.set('doc:hot', doc) : () => client.get('doc:hot');
  close = () => client.disconnect();
}
const seed = new Redis(server.port, server.host);
await seed.set('doc:hot', doc);
seed.disconnect();
try {
  for (let round = 0; round < 2; round++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    for (let i = 0; i < n; i++) await op();
    const cpu = process.cpuUsage(cpuStarted);
    const wallUs = ((performance.now() - started) * 1000) / n;
    console.log(`${mode} round ${round + 1}: ${wallUs.toFixed(2)} µs wall, ${((cpu.user + cpu.system) / n).toFixed(2)} µs CPU per command`);
  }
} finally {
  close();
  await provider.shutdown();
  await server.stop();
}
