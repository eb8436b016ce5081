/**
 * baton-sdk/node-redis on a node-redis `createSentinel()` client, against a
 * real redis-server and a real Redis Sentinel monitoring it (both started for
 * this file on free loopback ports, see startRedisSentinel): commands,
 * transactions and pipelines through the sentinel's `_execute`, the client
 * leases of `use()` and `acquire()`, commands that fail before they reach a
 * node (no replica to read from, a released lease), and the placement beside
 * @opentelemetry/instrumentation-redis.
 */
import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { createSentinel } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BATON_OPERATION,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  DB_NAMESPACE,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
} from '../../src/model/attributes.js';
import { instrumentNodeRedis, nodeRedisInstrumentationStats, withStateAccess } from '../../src/stores/node-redis.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startRedis, startRedisSentinel, type RunningServer } from '../helpers/servers.js';

const skip = shouldSkipStoreTests();
const require = createRequire(import.meta.url);

let master: RunningServer;
let sentinelServer: RunningServer;
let otel: OtelHarness;
const opened: { destroy(): void }[] = [];
const plain: Redis[] = [];

interface SentinelOptions {
  database?: number;
  replicaPoolSize?: number;
}

function sentinelClient(options: SentinelOptions = {}) {
  const client = createSentinel({
    name: 'mymaster',
    sentinelRootNodes: [{ host: sentinelServer.host, port: sentinelServer.port }],
    nodeClientOptions: options.database === undefined ? undefined : { database: options.database },
    replicaPoolSize: options.replicaPoolSize,
  });
  client.on('error', () => undefined);
  opened.push(client);
  return client;
}

/** A plain ioredis client of the master, to see what the commands did. */
function masterClient(db = 0): Redis {
  const client = new Redis(master.port, master.host, { db });
  plain.push(client);
  return client;
}

function versionOf(span: ReadableSpan): unknown {
  return span.attributes[BATON_STATE_VERSION_WRITTEN] ?? span.attributes[BATON_STATE_VERSION_READ];
}

const OK = SpanStatusCode.UNSET;

/** Name, status, error message and version of each Baton span, in the order they ended. */
function outcomes(spans: readonly ReadableSpan[]): unknown[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] !== undefined).map((s) => [s.name, s.status.code, s.status.message, versionOf(s)]);
}

describe.skipIf(skip)('baton-sdk/node-redis on a Redis Sentinel', () => {
  beforeAll(async () => {
    master = await startRedis();
    sentinelServer = await startRedisSentinel(master);
  }, 60_000);
  afterAll(async () => {
    for (const c of opened) c.destroy();
    for (const c of plain) c.disconnect();
    await sentinelServer?.stop();
    await master?.stop();
  });
  beforeEach(async () => {
    otel = createOtelHarness();
    await masterClient().flushall();
  });
  afterEach(async () => {
    await otel.shutdown();
  });

  it('traces reads, writes and an XADD on the master it found, in the database the node clients select; keyless commands pass through', async () => {
    const client = instrumentNodeRedis(await sentinelClient({ database: 3 }).connect(), { tracer: otel.tracer });
    expect(instrumentNodeRedis(client)).toBe(client);
    await client.hSet('task:t-1', { version: 2, epoch: 1 });
    expect(await client.hGetAll('task:t-1')).toEqual({ version: '2', epoch: '1' });
    expect(await client.set('doc:d-1', JSON.stringify({ version: 5 }))).toBe('OK');
    expect(await client.get('doc:d-1')).toBe('{"version":5}');
    expect(await client.ping()).toBe('PONG');
    const id = await client.xAdd('events:done', '*', { task: 't-1' });
    // Written in database 3 of the master, as the sentinel's node clients selected it.
    expect(await masterClient(3).hget('task:t-1', 'version')).toBe('2');
    expect(await masterClient(0).exists('task:t-1')).toBe(0);
    expect(outcomes(otel.spans())).toEqual([
      ['write task', OK, undefined, 2],
      ['read task', OK, undefined, 2],
      ['write doc', OK, undefined, 5],
      ['read doc', OK, undefined, 5],
      ['publish events:done', OK, undefined, undefined],
    ]);
    const stateSpans = otel.spans().filter((s) => s.attributes[BATON_OPERATION] !== 'event.publish');
    expect(stateSpans.map((s) => s.attributes[DB_NAMESPACE])).toEqual(['3', '3', '3', '3']);
    const publish = otel.spans().find((s) => s.name === 'publish events:done')!;
    expect(publish.attributes['messaging.message.id']).toBe(id);
    const entries = await masterClient(3).xrange('events:done', '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual([['task', 't-1', 'traceparent', `00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`]]);
    expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 4, messagingSpans: 1, faults: 0 });
  });

  it('gives the commands of a MULTI and of a pipeline their versions, each from its own reply, with the facts of withStateAccess', async () => {
    const client = instrumentNodeRedis(await sentinelClient().connect(), { tracer: otel.tracer });
    await client.hSet('task:plan', { version: 3 });
    otel.reset();
    const replies = await withStateAccess({ agent: 'research' }, () => client.multi().hSet('task:out', { version: 1 }).hGetAll('task:plan').exec());
    expect(replies).toEqual([1, { version: '3' }]);
    expect(await client.multi().hGetAll('task:out').hGet('task:plan', 'version').execAsPipeline()).toEqual([{ version: '1' }, '3']);
    expect(outcomes(otel.spans())).toEqual([
      ['write task', OK, undefined, 1],
      ['read task', OK, undefined, 3],
      ['read task', OK, undefined, 1],
      ['read task', OK, undefined, 3],
    ]);
    expect(otel.spans().map((s) => s.attributes[GEN_AI_AGENT_NAME])).toEqual(['research', 'research', undefined, undefined]);
  });

  it('traces the client leases of use() and acquire() as the sentinel’s own; a lease taken before instrumenting is instrumented on its own', async () => {
    const client = instrumentNodeRedis(await sentinelClient().connect(), { tracer: otel.tracer });
    expect(await client.use((lease) => lease.hSet('task:lease', { version: 7 }))).toBe(1);
    const lease = await client.acquire();
    try {
      expect(await lease.hGetAll('task:lease')).toEqual({ version: '7' });
      expect(await lease.multi().hGet('task:lease', 'version').exec()).toEqual(['7']);
    } finally {
      lease.release();
    }
    expect(outcomes(otel.spans())).toEqual([
      ['write task', OK, undefined, 7],
      ['read task', OK, undefined, 7],
      ['read task', OK, undefined, 7],
    ]);
    expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 3, messagingSpans: 0, faults: 0 });

    const early = await (await sentinelClient().connect()).acquire();
    try {
      instrumentNodeRedis(early, { tracer: otel.tracer });
      otel.reset();
      expect(await early.hGetAll('task:lease')).toEqual({ version: '7' });
      expect(outcomes(otel.spans())).toEqual([['read task', OK, undefined, 7]]);
      expect(nodeRedisInstrumentationStats(early)).toEqual({ stateSpans: 1, messagingSpans: 0, faults: 0 });
    } finally {
      early.release();
    }
  });

  it('records commands that failed before reaching a node (no replica to read from, a released lease) as failed state accesses, the app getting the driver’s error', async () => {
    const client = instrumentNodeRedis(await sentinelClient({ replicaPoolSize: 1 }).connect(), { tracer: otel.tracer });
    await client.set('doc:d-1', JSON.stringify({ version: 1 }));
    otel.reset();
    // Reads go to replicas (replicaPoolSize 1), and this master has none.
    const readError = await client.get('doc:d-1').catch((e: unknown) => e);
    const lease = await client.acquire();
    lease.release();
    const leaseError = await lease.hGetAll('task:t-1').catch((e: unknown) => e);
    const multiError = await lease.multi().hSet('task:t-1', { version: 2 }).xAdd('events:done', '*', { task: 't-1' }).exec().catch((e: unknown) => e);
    const log = [readError, leaseError, multiError].map((e) => (e instanceof Error ? e.message : e));
    expect(log).toEqual([
      'no replicas available for read',
      'Attempted execution on released RedisSentinelClient lease',
      'Attempted execution on released RedisSentinelClient lease',
    ]);
    // Nothing of the MULTI reached the master.
    expect(await masterClient().exists('task:t-1', 'events:done')).toBe(0);
    expect(outcomes(otel.spans())).toEqual([
      ['read doc', SpanStatusCode.ERROR, log[0], undefined],
      ['read task', SpanStatusCode.ERROR, log[1], undefined],
      ['write task', SpanStatusCode.ERROR, log[2], undefined],
      ['publish events:done', SpanStatusCode.ERROR, log[2], undefined],
    ]);
    expect(otel.spans().map((s) => [s.kind, s.attributes[ERROR_TYPE]])).toEqual([
      [SpanKind.CLIENT, 'Error'],
      [SpanKind.CLIENT, 'Error'],
      [SpanKind.CLIENT, 'Error'],
      [SpanKind.PRODUCER, 'Error'],
    ]);
    // The SET before them, then the three failed state accesses.
    expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 4, messagingSpans: 1, faults: 0 });
  });

  it('beside @opentelemetry/instrumentation-redis: Baton’s span is INTERNAL, the parent of the driver’s CLIENT span on the master’s node client', async () => {
    const contrib = new RedisInstrumentation({ requireParentSpan: false });
    contrib.setTracerProvider(otel.provider);
    contrib.enable();
    // Loaded before the instrumentation existed: requiring it again runs its patch.
    require('@redis/client/dist/lib/client/index.js');
    try {
      const client = instrumentNodeRedis(await sentinelClient().connect(), { tracer: otel.tracer });
      await client.hSet('task:ct', { version: 4 });
      otel.reset();
      expect(await client.hGetAll('task:ct')).toEqual({ version: '4' });
      const spans = otel.spans();
      const batonSpans = spans.filter((s) => s.attributes[BATON_OPERATION] !== undefined);
      expect(batonSpans.map((s) => [s.name, s.kind, versionOf(s)])).toEqual([['read task', SpanKind.INTERNAL, 4]]);
      const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT);
      expect(clientSpans.map((s) => [s.name, s.parentSpanContext?.spanId])).toEqual([['redis-HGETALL', batonSpans[0]!.spanContext().spanId]]);
    } finally {
      contrib.disable();
    }
  });
});
