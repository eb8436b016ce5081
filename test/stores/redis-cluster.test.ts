/**
 * baton-sdk/redis on an ioredis `Cluster`, and baton-sdk/node-redis on a
 * node-redis `createCluster()`, against a real 3-master Redis Cluster (started
 * for this file on free loopback ports, see startRedisCluster): state spans
 * with versions for keys served by different masters, a transaction's reads
 * with their versions, Streams with trace context, RedisStateStore's script,
 * whose keys must share one hash slot, and commands, pipelines and
 * transactions that Redis redirects while a slot migrates between masters
 * (MOVED, ASK), each checked to have been redirected (INFO errorstats).
 */
import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BATON_OPERATION,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  DB_NAMESPACE,
  GEN_AI_AGENT_NAME,
  ERROR_TYPE,
} from '../../src/model/attributes.js';
import { Baton } from '../../src/sdk/baton.js';
import { instrumentNodeRedis, nodeRedisInstrumentationStats, withStateAccess } from '../../src/stores/node-redis.js';
import { instrumentRedis, redisInstrumentationStats, RedisStateStore, RedisStreamBus, StateConflictError, untraced } from '../../src/stores/redis.js';
import { auditSpans } from '../../src/analyze/audit.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import {
  finishSlotMigration,
  migrateSlot,
  redirectionsAnswered,
  shouldSkipStoreTests,
  startRedisCluster,
  type RunningCluster,
} from '../helpers/servers.js';
import { toSpanRecords } from '../helpers/traces.js';

const skip = shouldSkipStoreTests();
const require = createRequire(import.meta.url);

let cluster: RunningCluster;
let otel: OtelHarness;
const clients: (Cluster | Redis)[] = [];
const nodeRedisClusters: { destroy(): void }[] = [];

function connectCluster(): Cluster {
  // No periodic slot refresh: a client learns of a migrated slot only from the MOVED it gets, as between two refreshes.
  const client = new Cluster([{ host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port }], {
    redisOptions: { maxRetriesPerRequest: 1 },
    slotsRefreshInterval: 3_600_000,
  });
  clients.push(client);
  return client;
}

/** A plain client of one master, to see where a key lives. */
function connectNode(index: number): Redis {
  const node = cluster.nodes[index]!;
  const client = new Redis(node.port, node.host);
  clients.push(client);
  return client;
}

let ioredisContrib: IORedisInstrumentation | undefined;

/**
 * @opentelemetry/instrumentation-ioredis on this test's provider. One instance for the file: a second
 * instance's require hook does not patch the module the first one loaded; re-enabling one patches again.
 */
function enableIORedisContrib(): IORedisInstrumentation {
  if (ioredisContrib) {
    ioredisContrib.setTracerProvider(otel.provider);
    ioredisContrib.enable();
    return ioredisContrib;
  }
  ioredisContrib = new IORedisInstrumentation({ requireParentSpan: false });
  ioredisContrib.setTracerProvider(otel.provider);
  ioredisContrib.enable();
  // Loaded before the instrumentation existed: requiring it again runs its patch.
  require('ioredis');
  return ioredisContrib;
}

function versionOf(span: ReadableSpan): unknown {
  return span.attributes[BATON_STATE_VERSION_WRITTEN] ?? span.attributes[BATON_STATE_VERSION_READ];
}

/** Name, status, error message and version of each Baton state span, in the order they ended. */
function outcomes(spans: readonly ReadableSpan[]): unknown[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] !== undefined).map((s) => [s.name, s.status.code, s.status.message, versionOf(s)]);
}

describe.skipIf(skip)('baton-sdk/redis on a Redis Cluster', () => {
  /** One key served by each master, found by asking the server for each candidate's slot. */
  let keyPerNode: string[];

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    const probe = connectNode(0);
    const share = Math.ceil(16384 / cluster.nodes.length);
    const found = new Map<number, string>();
    for (let i = 0; found.size < cluster.nodes.length; i++) {
      const key = `task:${i}`;
      const slot = (await probe.cluster('KEYSLOT', key)) as number;
      const owner = Math.floor(slot / share);
      if (!found.has(owner)) found.set(owner, key);
    }
    keyPerNode = [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, key]) => key);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const c of nodeRedisClusters) c.destroy();
    await cluster?.stop();
  });
  beforeEach(async () => {
    otel = createOtelHarness();
    for (let i = 0; i < cluster.nodes.length; i++) {
      const node = connectNode(i);
      await node.flushall();
      node.disconnect();
    }
  });
  afterEach(async () => {
    await otel.shutdown();
  });

  it('traces reads and writes of keys served by different masters, each with its version', async () => {
    const redis = instrumentRedis(connectCluster(), { tracer: otel.tracer });
    for (let i = 0; i < keyPerNode.length; i++) await redis.hset(keyPerNode[i]!, { version: i + 1, epoch: 1 });
    for (const key of keyPerNode) await redis.hgetall(key);
    // Each key is on its own master (read there without the cluster client).
    for (let i = 0; i < keyPerNode.length; i++) expect(await connectNode(i).hget(keyPerNode[i]!, 'version')).toBe(String(i + 1));
    expect(otel.spans().map((s) => [s.name, s.attributes[BATON_OPERATION], versionOf(s)])).toEqual([
      ['write task', 'state.write', 1],
      ['write task', 'state.write', 2],
      ['write task', 'state.write', 3],
      ['read task', 'state.read', 1],
      ['read task', 'state.read', 2],
      ['read task', 'state.read', 3],
    ]);
    expect(otel.spans().every((s) => s.attributes[DB_NAMESPACE] === '0')).toBe(true);
    expect(redisInstrumentationStats(redis)).toEqual({ stateSpans: 6, messagingSpans: 0, faults: 0 });
  });

  it('does not trace a command sent inside untraced() when the offline queue sends it again once the cluster is ready', async () => {
    const redis = instrumentRedis(
      new Cluster([{ host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port }], { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } }),
      { tracer: otel.tracer },
    );
    clients.push(redis);
    // Connecting (started outside untraced()): the Cluster queues the command offline and, once ready, hands it
    // to sendCommand again in the context connect() was called in.
    const connected = redis.connect();
    expect(await untraced(() => redis.hgetall('task:offline'))).toEqual({});
    await connected;
    expect(await redis.hgetall('task:offline')).toEqual({});
    expect(otel.spans().map((s) => s.name)).toEqual(['read task']);
    expect(redisInstrumentationStats(redis)).toEqual({ stateSpans: 1, messagingSpans: 0, faults: 0 });
  });

  it('gives the reads of a transaction on one hash tag their versions from EXEC’s reply', async () => {
    const redis = instrumentRedis(connectCluster(), { tracer: otel.tracer });
    await redis.hset('{t-1}:plan', { version: 3 });
    otel.reset();
    const replies = await redis.multi().hset('{t-1}:out', { version: 1 }).hgetall('{t-1}:plan').hgetall('{t-1}:out').exec();
    expect(replies).toEqual([
      [null, 1],
      [null, { version: '3' }],
      [null, { version: '1' }],
    ]);
    expect(otel.spans().map((s) => [s.name, versionOf(s)])).toEqual([
      ['write out', 1],
      ['read plan', 3],
      ['read out', 1],
    ]);
  });

  it('carries trace context through a stream on a cluster', async () => {
    const otelBaton = new Baton({ tracer: otel.tracer });
    const redis = instrumentRedis(connectCluster(), { tracer: otel.tracer });
    await redis.xgroup('CREATE', 'events:done', 'workers', '0', 'MKSTREAM');
    const id = await otelBaton.runAgent('research', () => redis.xadd('events:done', '*', 'task', 't-1'), { taskId: 't-1' });
    await redis.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 10, 'STREAMS', 'events:done', '>');
    const publish = otel.spans().find((s) => s.name === 'publish events:done')!;
    const receive = otel.spans().find((s) => s.name === 'receive events:done')!;
    expect(publish.attributes['messaging.message.id']).toBe(id);
    expect(receive.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);
  });

  const OK = SpanStatusCode.UNSET;
  /** The slot of hash tag `tag`, the master serving it and another one. */
  async function placeOf(tag: string): Promise<{ slot: number; owner: number; other: number }> {
    const slot = (await connectNode(0).cluster('KEYSLOT', tag)) as number;
    const owner = Math.floor(slot / Math.ceil(16384 / cluster.nodes.length));
    return { slot, owner, other: (owner + 1) % cluster.nodes.length };
  }

  describe('when Redis redirects a command (a slot migrated: MOVED; migrating: ASK)', () => {

    /** A connected, instrumented Cluster client that has `key` written (version 1) on its master and that master cached for its slot. */
    async function writtenBeforeMigration(key: string): Promise<Cluster> {
      const redis = instrumentRedis(connectCluster(), { tracer: otel.tracer });
      await redis.hset(key, { version: 1 });
      otel.reset();
      return redis;
    }

    it('a pipeline resent after MOVED: its spans follow the resend, with the versions and status the app saw', async () => {
      const { slot, owner, other } = await placeOf('{mv-pipe}');
      const redis = await writtenBeforeMigration('{mv-pipe}:plan');
      migrateSlot(cluster, slot, owner, other);
      const moved = redirectionsAnswered(cluster.nodes[owner]!, 'MOVED');
      const replies = await redis.pipeline().hset('{mv-pipe}:plan', { version: 2 }).hgetall('{mv-pipe}:plan').exec();
      expect(replies).toEqual([
        [null, 0],
        [null, { version: '2' }],
      ]);
      expect(redirectionsAnswered(cluster.nodes[owner]!, 'MOVED')).toBe(moved + 2);
      expect(outcomes(otel.spans())).toEqual([
        ['write plan', OK, undefined, 2],
        ['read plan', OK, undefined, 2],
      ]);
      // The write before the migration, then one span for each command of the pipeline, not one per send.
      expect(redisInstrumentationStats(redis)).toEqual({ stateSpans: 3, messagingSpans: 0, faults: 0 });
    });

    it('a MULTI/EXEC resent after MOVED: the queued commands’ spans take their versions from the resent EXEC’s reply', async () => {
      const { slot, owner, other } = await placeOf('{mv-multi}');
      const redis = await writtenBeforeMigration('{mv-multi}:plan');
      migrateSlot(cluster, slot, owner, other);
      const moved = redirectionsAnswered(cluster.nodes[owner]!, 'MOVED');
      const replies = await redis.multi().hset('{mv-multi}:plan', { version: 2 }).hgetall('{mv-multi}:plan').exec();
      expect(replies).toEqual([
        [null, 0],
        [null, { version: '2' }],
      ]);
      expect(redirectionsAnswered(cluster.nodes[owner]!, 'MOVED')).toBeGreaterThan(moved);
      expect(outcomes(otel.spans())).toEqual([
        ['write plan', OK, undefined, 2],
        ['read plan', OK, undefined, 2],
      ]);
    });

    it('a pipeline and a MULTI resent after ASK (slot still migrating) record what the importing master answered', async () => {
      const { slot, owner, other } = await placeOf('{ask-1}');
      const redis = await writtenBeforeMigration('{ask-1}:plan');
      migrateSlot(cluster, slot, owner, other, 'migrating');
      try {
        const asked = redirectionsAnswered(cluster.nodes[owner]!, 'ASK');
        expect(await redis.pipeline().hgetall('{ask-1}:plan').hget('{ask-1}:plan', 'version').exec()).toEqual([
          [null, { version: '1' }],
          [null, '1'],
        ]);
        expect(await redis.multi().hset('{ask-1}:plan', { version: 2 }).hgetall('{ask-1}:plan').exec()).toEqual([
          [null, 0],
          [null, { version: '2' }],
        ]);
        expect(redirectionsAnswered(cluster.nodes[owner]!, 'ASK')).toBeGreaterThanOrEqual(asked + 4);
        expect(outcomes(otel.spans())).toEqual([
          ['read plan', OK, undefined, 1],
          ['read plan', OK, undefined, 1],
          ['write plan', OK, undefined, 2],
          ['read plan', OK, undefined, 2],
        ]);
      } finally {
        finishSlotMigration(cluster, slot, other);
      }
    });

    it('single commands redirected with MOVED and with ASK end once, as the app saw them', async () => {
      const moving = await placeOf('{mv-one}');
      const asking = await placeOf('{ask-one}');
      const redis = await writtenBeforeMigration('{mv-one}:plan');
      await redis.hset('{ask-one}:plan', { version: 5 });
      otel.reset();
      migrateSlot(cluster, moving.slot, moving.owner, moving.other);
      migrateSlot(cluster, asking.slot, asking.owner, asking.other, 'migrating');
      try {
        const moved = redirectionsAnswered(cluster.nodes[moving.owner]!, 'MOVED');
        const asked = redirectionsAnswered(cluster.nodes[asking.owner]!, 'ASK');
        expect(await redis.hgetall('{mv-one}:plan')).toEqual({ version: '1' });
        expect(await redis.hgetall('{ask-one}:plan')).toEqual({ version: '5' });
        const error = await redis.hget('{ask-one}:plan', 'version', 'extra' as never).catch((e: unknown) => e);
        expect(redirectionsAnswered(cluster.nodes[moving.owner]!, 'MOVED')).toBe(moved + 1);
        expect(redirectionsAnswered(cluster.nodes[asking.owner]!, 'ASK')).toBeGreaterThanOrEqual(asked + 1);
        expect((error as Error).message).toMatch(/wrong number of arguments/);
        expect(outcomes(otel.spans())).toEqual([
          ['read plan', OK, undefined, 1],
          ['read plan', OK, undefined, 5],
          ['read plan', SpanStatusCode.ERROR, (error as Error).message, undefined],
        ]);
      } finally {
        finishSlotMigration(cluster, asking.slot, asking.other);
      }
    });
    it('audited: the stage change a pipeline wrote after MOVED is known, so a worker reading in the old epoch is flagged, a reviewer in the new one is not', async () => {
      const { slot, owner, other } = await placeOf('{au}');
      const redis = instrumentRedis(connectCluster(), { tracer: otel.tracer });
      const baton = new Baton({ tracer: otel.tracer });
      const task = { taskId: 't-au' };
      await baton.runAgent('worker', () => withStateAccess({ epoch: 1 }, () => redis.hset('{au}:task', { version: 1, epoch: 1 })), task);
      migrateSlot(cluster, slot, owner, other);
      const moved = redirectionsAnswered(cluster.nodes[owner]!, 'MOVED');
      const log: Record<string, unknown>[] = [];
      await baton.runAgent('coordinator', async () => {
        const replies = await redis.pipeline().hset('{au}:task', { version: 2, epoch: 2 }).exec();
        const error = replies?.[0]?.[0] ?? null;
        log.push({ agent: 'coordinator', advancedTo: 2, error });
      }, task);
      expect(redirectionsAnswered(cluster.nodes[owner]!, 'MOVED')).toBe(moved + 1);
      for (const [agent, epoch] of [['worker', 1], ['reviewer', 2]] as const) {
        await baton.runAgent(agent, async () => {
          const entry = await withStateAccess({ epoch }, () => redis.hgetall('{au}:task'));
          log.push({ agent, actingEpoch: epoch, storedEpoch: Number(entry.epoch) });
        }, task);
      }
      // What the agents did: the worker acted in epoch 1 after the coordinator had moved the task to epoch 2.
      expect(log).toEqual([
        { agent: 'coordinator', advancedTo: 2, error: null },
        { agent: 'worker', actingEpoch: 1, storedEpoch: 2 },
        { agent: 'reviewer', actingEpoch: 2, storedEpoch: 2 },
      ]);
      const records = toSpanRecords(otel.spans(), 'redis-cluster');
      const report = await auditSpans([records]);
      const stale = report.findings.filter((f) => f.ruleId === 'stale-epoch-read');
      const readOf = (agent: string) => records.find((r) => r.attributes[BATON_OPERATION] === 'state.read' && r.attributes[GEN_AI_AGENT_NAME] === agent)!;
      expect(stale).toHaveLength(1);
      expect(stale[0]!.agents).toContain('worker');
      expect(stale[0]!.evidence.spanIds).toContain(readOf('worker').spanId);
      expect(stale[0]!.evidence.spanIds).not.toContain(readOf('reviewer').spanId);
    });

    it('an XADD sent alone and one in a pipeline, both redirected with MOVED, carry the trace context once, that of their one publish span', async () => {
      const { slot, owner, other } = await placeOf('{mv-x}');
      const redis = instrumentRedis(connectCluster(), { tracer: otel.tracer });
      await redis.xadd('{mv-x}:events', '*', 'warm', 'up');
      migrateSlot(cluster, slot, owner, other);
      otel.reset();
      const moved = redirectionsAnswered(cluster.nodes[owner]!, 'MOVED');
      const alone = await redis.xadd('{mv-x}:events', '*', 'task', 't-1');
      const [[, piped]] = (await redis.pipeline().xadd('{mv-x}:events', '*', 'task', 't-2').exec()) as [[null, string]];
      expect(redirectionsAnswered(cluster.nodes[owner]!, 'MOVED')).toBeGreaterThan(moved);
      const publishes = otel.spans().filter((s) => s.name === 'publish {mv-x}:events');
      expect(publishes.map((s) => [s.status.code, s.attributes['messaging.message.id']])).toEqual([
        [OK, alone],
        [OK, piped],
      ]);
      const entries = await connectNode(other).xrange('{mv-x}:events', '-', '+');
      expect(entries.slice(1).map(([, fields]) => fields)).toEqual(
        publishes.map((s, i) => ['task', `t-${i + 1}`, 'traceparent', `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`]),
      );
    });

    it('beside @opentelemetry/instrumentation-ioredis: the CLIENT span of each send, the redirected one and the resend, is under Baton’s INTERNAL span', async () => {
      const contrib = enableIORedisContrib();
      try {
        const single = await placeOf('{ct-one}');
        const piped = await placeOf('{ct-pipe}');
        const redis = await writtenBeforeMigration('{ct-one}:plan');
        // The pipeline on a client of its own: ioredis refreshes its slot map after the single command's MOVED,
        // and a refresh that finished before the pipeline was sent left it nothing to be redirected by.
        const piping = instrumentRedis(connectCluster(), { tracer: otel.tracer });
        await piping.hset('{ct-pipe}:plan', { version: 2 });
        for (const key of keyPerNode) await Promise.all([redis.exists(key), piping.exists(key)]);
        migrateSlot(cluster, single.slot, single.owner, single.other);
        migrateSlot(cluster, piped.slot, piped.owner, piped.other);
        otel.reset();
        expect(await redis.hgetall('{ct-one}:plan')).toEqual({ version: '1' });
        expect(await piping.pipeline().hgetall('{ct-pipe}:plan').exec()).toEqual([[null, { version: '2' }]]);
        const spans = otel.spans();
        const batonSpans = spans.filter((s) => s.attributes[BATON_OPERATION] !== undefined);
        expect(batonSpans.map((s) => [s.name, s.kind, s.status.code, versionOf(s)])).toEqual([
          ['read plan', SpanKind.INTERNAL, OK, 1],
          ['read plan', SpanKind.INTERNAL, OK, 2],
        ]);
        const hgetalls = spans.filter((s) => s.kind === SpanKind.CLIENT && s.name === 'hgetall');
        expect(hgetalls.map((s) => [s.status.code, s.parentSpanContext?.spanId])).toEqual([
          [SpanStatusCode.ERROR, batonSpans[0]!.spanContext().spanId],
          [OK, batonSpans[0]!.spanContext().spanId],
          [SpanStatusCode.ERROR, batonSpans[1]!.spanContext().spanId],
          [OK, batonSpans[1]!.spanContext().spanId],
        ]);
      } finally {
        contrib.disable();
      }
    });
  });

  describe('RedisStateStore', () => {
    it('runs its script on the master of the key: CAS and idempotency on untagged keys (the idempotency hash is put in the key’s slot)', async () => {
      const store = new RedisStateStore<string>(connectCluster(), { tracer: otel.tracer });
      for (const key of keyPerNode) {
        expect(await store.set(key, 'v1', { expectedVersion: 0, idempotencyKey: `${key}:op-1` })).toEqual({ version: 1, epoch: undefined });
        expect(await store.set(key, 'retry', { expectedVersion: 0, idempotencyKey: `${key}:op-1` })).toMatchObject({ version: 1, deduplicated: true });
        await expect(store.set(key, 'late', { expectedVersion: 0 })).rejects.toBeInstanceOf(StateConflictError);
        expect(await store.get(key)).toEqual({ value: 'v1', version: 1 });
      }
      for (let i = 0; i < keyPerNode.length; i++) {
        const node = connectNode(i);
        expect(await node.hget(keyPerNode[i]!, 'version')).toBe('1');
        expect(await node.hexists(`{${keyPerNode[i]!}}:idempotency`, `${keyPerNode[i]!}:op-1`)).toBe(1);
      }
      const writes = otel.spans().filter((s) => s.attributes[BATON_OPERATION] === 'state.write');
      expect(writes.map((w) => w.attributes[BATON_STATE_DEDUPLICATED])).toEqual([false, true, undefined, false, true, undefined, false, true, undefined]);
    });

    it('commits a write with its event when key and stream share a hash tag; refuses it with the server’s CROSSSLOT error when they do not', async () => {
      const redis = connectCluster();
      const store = new RedisStateStore<string>(redis, { tracer: otel.tracer, streamPrefix: '{t-1}:events:' });
      const bus = new RedisStreamBus(new Baton({ tracer: otel.tracer }), redis, { tracer: otel.tracer, streamPrefix: '{t-1}:events:' });
      const ok = await store.set('{t-1}/out', 'result', { taskId: 't-1', agent: 'research', event: { topic: 'task.done' } });
      expect(ok.version).toBe(1);
      expect(await redis.xlen(bus.streamOf('task.done'))).toBe(1);

      const untagged = new RedisStateStore<string>(redis, { tracer: otel.tracer });
      const refused = await untagged.set('t-2/out', 'result', { event: { topic: 'task.done' } }).catch((e: unknown) => e);
      expect((refused as Error).message).toMatch(/^CROSSSLOT/);
      expect(await redis.exists('t-2/out')).toBe(0);
      const failed = otel.spans().filter((s) => s.attributes[BATON_OPERATION] === 'state.write')[1]!;
      expect(failed.status.code).toBe(SpanStatusCode.ERROR);
      expect(failed.attributes[ERROR_TYPE]).toBe('ReplyError');
      expect(failed.attributes[BATON_STATE_VERSION_WRITTEN]).toBeUndefined();
    });
  });

  it('beside @opentelemetry/instrumentation-ioredis (which wraps each node’s client): Baton’s span is INTERNAL, one CLIENT span per command', async () => {
    const contrib = enableIORedisContrib();
    const redis = instrumentRedis(connectCluster(), { tracer: otel.tracer });
    try {
      // Connected to every master first: each node connection's handshake has CLIENT spans of its own.
      for (const key of keyPerNode) await redis.exists(key);
      otel.reset();
      await redis.hset(keyPerNode[1]!, { version: 7 });
      await redis.hgetall(keyPerNode[2]!);
      const spans = otel.spans();
      const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT);
      expect(clientSpans.map((s) => s.name)).toEqual(['hset', 'hgetall']);
      const batonSpans = spans.filter((s) => s.attributes[BATON_OPERATION] !== undefined);
      expect(batonSpans.map((s) => [s.name, s.kind, versionOf(s)])).toEqual([
        ['write task', SpanKind.INTERNAL, 7],
        ['read task', SpanKind.INTERNAL, undefined],
      ]);
      expect(clientSpans[0]!.parentSpanContext?.spanId).toBe(batonSpans[0]!.spanContext().spanId);
      expect(clientSpans[1]!.parentSpanContext?.spanId).toBe(batonSpans[1]!.spanContext().spanId);
    } finally {
      contrib.disable();
    }
  });
  describe('node-redis createCluster()', () => {
    async function connectNodeRedisCluster() {
      const client = instrumentNodeRedis(
        await createCluster({ rootNodes: [{ socket: { host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port } }] }).connect(),
        { tracer: otel.tracer },
      );
      nodeRedisClusters.push(client);
      return client;
    }

    it('traces reads and writes of keys served by different masters, each with its version; keyless commands pass through', async () => {
      const client = await connectNodeRedisCluster();
      for (let i = 0; i < keyPerNode.length; i++) await client.hSet(keyPerNode[i]!, { version: i + 1, epoch: 1 });
      for (const key of keyPerNode) expect(await client.hGetAll(key)).toEqual({ version: String(keyPerNode.indexOf(key) + 1), epoch: '1' });
      expect(await client.sendCommand(undefined, true, ['PING'])).toBe('PONG');
      for (let i = 0; i < keyPerNode.length; i++) expect(await connectNode(i).hget(keyPerNode[i]!, 'version')).toBe(String(i + 1));
      expect(outcomes(otel.spans())).toEqual([
        ['write task', OK, undefined, 1],
        ['write task', OK, undefined, 2],
        ['write task', OK, undefined, 3],
        ['read task', OK, undefined, 1],
        ['read task', OK, undefined, 2],
        ['read task', OK, undefined, 3],
      ]);
      expect(otel.spans().every((s) => s.attributes[DB_NAMESPACE] === '0')).toBe(true);
      expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 6, messagingSpans: 0, faults: 0 });
    });

    it('instruments a cluster before connect(), and traces a keyed cluster.sendCommand like the command methods', async () => {
      const client = instrumentNodeRedis(createCluster({ rootNodes: [{ socket: { host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port } }] }), {
        tracer: otel.tracer,
      });
      nodeRedisClusters.push(client);
      expect(instrumentNodeRedis(client)).toBe(client);
      await client.connect();
      expect(await client.sendCommand('task:raw', false, ['HSET', 'task:raw', 'version', '8'])).toBe(1);
      expect(await client.sendCommand('task:raw', true, ['HGET', 'task:raw', 'version'])).toBe('8');
      expect(outcomes(otel.spans())).toEqual([
        ['write task', OK, undefined, 8],
        ['read task', OK, undefined, 8],
      ]);
    });

    it('gives the commands of a MULTI and of a pipeline on one hash tag their versions, each from its own reply', async () => {
      const client = await connectNodeRedisCluster();
      await client.hSet('{n-1}:plan', { version: 3 });
      otel.reset();
      const replies = await withStateAccess({ agent: 'research' }, () => client.multi().hSet('{n-1}:out', { version: 1 }).hGetAll('{n-1}:plan').exec());
      expect(replies).toEqual([1, { version: '3' }]);
      const piped = await client.multi().hGetAll('{n-1}:out').hGet('{n-1}:plan', 'version').execAsPipeline();
      expect(piped).toEqual([{ version: '1' }, '3']);
      expect(outcomes(otel.spans())).toEqual([
        ['write out', OK, undefined, 1],
        ['read plan', OK, undefined, 3],
        ['read out', OK, undefined, 1],
        ['read plan', OK, undefined, 3],
      ]);
      expect(otel.spans().slice(0, 2).map((s) => s.attributes['gen_ai.agent.name'])).toEqual(['research', 'research']);
    });

    it('ends a command redirected with MOVED, and one with ASK, once, with the reply the app got after the redirection', async () => {
      const moving = await placeOf('{n-mv}');
      const asking = await placeOf('{n-ask}');
      const client = await connectNodeRedisCluster();
      await client.hSet('{n-mv}:plan', { version: 1 });
      await client.hSet('{n-ask}:plan', { version: 5 });
      otel.reset();
      migrateSlot(cluster, moving.slot, moving.owner, moving.other);
      migrateSlot(cluster, asking.slot, asking.owner, asking.other, 'migrating');
      try {
        const moved = redirectionsAnswered(cluster.nodes[moving.owner]!, 'MOVED');
        const asked = redirectionsAnswered(cluster.nodes[asking.owner]!, 'ASK');
        expect(await client.hGetAll('{n-mv}:plan')).toEqual({ version: '1' });
        expect(await client.hSet('{n-ask}:plan', { version: 6 })).toBe(0);
        expect(await client.hGetAll('{n-ask}:plan')).toEqual({ version: '6' });
        expect(redirectionsAnswered(cluster.nodes[moving.owner]!, 'MOVED')).toBe(moved + 1);
        expect(redirectionsAnswered(cluster.nodes[asking.owner]!, 'ASK')).toBe(asked + 2);
        expect(outcomes(otel.spans())).toEqual([
          ['read plan', OK, undefined, 1],
          ['write plan', OK, undefined, 6],
          ['read plan', OK, undefined, 6],
        ]);
        expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 5, messagingSpans: 0, faults: 0 });
      } finally {
        finishSlotMigration(cluster, asking.slot, asking.other);
      }
    });

    it('an XADD redirected with MOVED carries the trace context once, that of its one publish span', async () => {
      const { slot, owner, other } = await placeOf('{n-x}');
      const client = await connectNodeRedisCluster();
      await client.xAdd('{n-x}:events', '*', { warm: 'up' });
      migrateSlot(cluster, slot, owner, other);
      otel.reset();
      const moved = redirectionsAnswered(cluster.nodes[owner]!, 'MOVED');
      const id = await client.xAdd('{n-x}:events', '*', { task: 't-1' });
      expect(redirectionsAnswered(cluster.nodes[owner]!, 'MOVED')).toBe(moved + 1);
      const publishes = otel.spans().filter((s) => s.name === 'publish {n-x}:events');
      expect(publishes.map((s) => [s.status.code, s.attributes['messaging.message.id']])).toEqual([[OK, id]]);
      const [, entry] = await connectNode(other).xrange('{n-x}:events', '-', '+');
      expect(entry![1]).toEqual(['task', 't-1', 'traceparent', `00-${publishes[0]!.spanContext().traceId}-${publishes[0]!.spanContext().spanId}-01`]);
    });

    it('fails the spans of a MULTI that node-redis does not retry after MOVED, with the error the app got', async () => {
      const { slot, owner, other } = await placeOf('{n-mm}');
      const client = await connectNodeRedisCluster();
      await client.hSet('{n-mm}:plan', { version: 1 });
      otel.reset();
      migrateSlot(cluster, slot, owner, other);
      const error = await client
        .multi()
        .hSet('{n-mm}:plan', { version: 2 })
        .hGetAll('{n-mm}:plan')
        .exec()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(await connectNode(other).hget('{n-mm}:plan', 'version')).toBe('1');
      const spans = otel.spans().filter((s) => s.attributes[BATON_OPERATION] !== undefined);
      expect(spans.map((s) => [s.name, s.status.code, versionOf(s)])).toEqual([
        ['write plan', SpanStatusCode.ERROR, undefined],
        ['read plan', SpanStatusCode.ERROR, undefined],
      ]);
      expect(spans[0]!.status.message).toBe((error as Error).message);
    });

    it('traces the commands an app sends on cluster.nodeClient(node) once, as the cluster’s own; instrumenting that node client again adds nothing', async () => {
      const client = await connectNodeRedisCluster();
      const key = keyPerNode[1]!;
      const slot = (await connectNode(0).cluster('KEYSLOT', key)) as number;
      const nodeClient = await client.nodeClient(client.slots[slot]!.master);
      expect(instrumentNodeRedis(nodeClient, { tracer: otel.tracer })).toBe(nodeClient);
      expect(await nodeClient.hSet(key, { version: 4 })).toBe(1);
      expect(await nodeClient.hGetAll(key)).toEqual({ version: '4' });
      // The cluster's own command runs on that same node client: still one span.
      expect(await client.hGetAll(key)).toEqual({ version: '4' });
      expect(await nodeClient.multi().hGet(key, 'version').exec()).toEqual(['4']);
      expect(await connectNode(1).hget(key, 'version')).toBe('4');
      expect(outcomes(otel.spans())).toEqual([
        ['write task', OK, undefined, 4],
        ['read task', OK, undefined, 4],
        ['read task', OK, undefined, 4],
        ['read task', OK, undefined, 4],
      ]);
      expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 4, messagingSpans: 0, faults: 0 });
      expect(nodeRedisInstrumentationStats(nodeClient)).toEqual(nodeRedisInstrumentationStats(client));
    });

    it('a node client the app instrumented before its cluster: the cluster’s commands on it are one span each, recorded as the cluster’s', async () => {
      const raw = await createCluster({ rootNodes: [{ socket: { host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port } }] }).connect();
      nodeRedisClusters.push(raw);
      const key = keyPerNode[2]!;
      const slot = (await connectNode(0).cluster('KEYSLOT', key)) as number;
      const nodeClient = instrumentNodeRedis(await raw.nodeClient(raw.slots[slot]!.master), { tracer: otel.tracer });
      const client = instrumentNodeRedis(raw, { tracer: otel.tracer });
      await nodeClient.hSet(key, { version: 1 });
      expect(await client.hGetAll(key)).toEqual({ version: '1' });
      expect(outcomes(otel.spans())).toEqual([
        ['write task', OK, undefined, 1],
        ['read task', OK, undefined, 1],
      ]);
      expect(nodeRedisInstrumentationStats(nodeClient)).toEqual({ stateSpans: 1, messagingSpans: 0, faults: 0 });
      expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 1, messagingSpans: 0, faults: 0 });
    });

    it('records a command and a MULTI that failed before they were sent (their master refused the connection; the cluster was closed) as failed state accesses, the app getting the driver’s error', async () => {
      // A cluster of its own: two of its masters are stopped.
      const small = await startRedisCluster(3);
      try {
        const share = Math.ceil(16384 / 3);
        /** A key (with `prefix`) whose slot is served by master `index` of `small`. */
        const keyOn = async (index: number, prefix: string) => {
          for (let i = 0; ; i++) {
            const key = `${prefix}${i}`;
            const slot = (await connectNode(0).cluster('KEYSLOT', key)) as number;
            if (Math.floor(slot / share) === index) return key;
          }
        };
        const readKey = await keyOn(1, 'task:');
        const tag = await keyOn(2, '');
        // Node clients made on first use (minimizeConnections), and never reconnected: a stopped master fails the connect.
        const client = instrumentNodeRedis(
          await createCluster({
            rootNodes: [{ socket: { host: small.nodes[0]!.host, port: small.nodes[0]!.port } }],
            minimizeConnections: true,
            defaults: { socket: { reconnectStrategy: false } },
          }).connect(),
          { tracer: otel.tracer },
        );
        client.on('error', () => undefined);
        await small.nodes[1]!.stop();
        await small.nodes[2]!.stop();
        const readError = await client.hGetAll(readKey).catch((e: unknown) => e);
        const multiError = await client
          .multi()
          .hSet(`{${tag}}:plan`, { version: 2 })
          .hGetAll(`{${tag}}:plan`)
          .exec()
          .catch((e: unknown) => e);
        await client.close();
        const closedError = await client.hSet('task:late', { version: 9 }).catch((e: unknown) => e);
        const errors = [readError, multiError, closedError] as Error[];
        expect(errors.map((e) => [e.constructor.name, (e as { code?: unknown }).code])).toEqual([
          ['Error', 'ECONNREFUSED'],
          ['Error', 'ECONNREFUSED'],
          ['TypeError', undefined],
        ]);
        expect(outcomes(otel.spans())).toEqual([
          ['read task', SpanStatusCode.ERROR, errors[0]!.message, undefined],
          ['write plan', SpanStatusCode.ERROR, errors[1]!.message, undefined],
          ['read plan', SpanStatusCode.ERROR, errors[1]!.message, undefined],
          ['write task', SpanStatusCode.ERROR, errors[2]!.message, undefined],
        ]);
        expect(otel.spans().map((s) => [s.kind, s.attributes[ERROR_TYPE]])).toEqual([
          [SpanKind.CLIENT, 'ECONNREFUSED'],
          [SpanKind.CLIENT, 'ECONNREFUSED'],
          [SpanKind.CLIENT, 'ECONNREFUSED'],
          [SpanKind.CLIENT, 'TypeError'],
        ]);
        expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 4, messagingSpans: 0, faults: 0 });
      } finally {
        await small.stop();
      }
    }, 60_000);

    it('beside @opentelemetry/instrumentation-redis: Baton’s span is INTERNAL, the parent of the driver’s CLIENT span of each attempt', async () => {
      const contrib = new RedisInstrumentation({ requireParentSpan: false });
      contrib.setTracerProvider(otel.provider);
      contrib.enable();
      // Loaded before the instrumentation existed: requiring them again runs its patch.
      require('@redis/client/dist/lib/client/index.js');
      require('@redis/client/dist/lib/cluster/index.js');
      try {
        const { slot, owner, other } = await placeOf('{n-ct}');
        const client = await connectNodeRedisCluster();
        await client.hSet('{n-ct}:plan', { version: 4 });
        await client.hGetAll('{n-ct}:plan');
        migrateSlot(cluster, slot, owner, other);
        otel.reset();
        expect(await client.hGetAll('{n-ct}:plan')).toEqual({ version: '4' });
        const spans = otel.spans();
        const batonSpans = spans.filter((s) => s.attributes[BATON_OPERATION] !== undefined);
        expect(batonSpans.map((s) => [s.name, s.kind, s.status.code, versionOf(s)])).toEqual([['read plan', SpanKind.INTERNAL, OK, 4]]);
        // Two attempts on the wire (MOVED, then the new owner), each the driver's CLIENT span, both under Baton's.
        const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT && s.name === 'redis-HGETALL');
        expect(clientSpans.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, OK]);
        expect(clientSpans.every((s) => s.parentSpanContext?.spanId === batonSpans[0]!.spanContext().spanId)).toBe(true);
        expect(spans.filter((s) => s.kind === SpanKind.CLIENT && s.attributes[BATON_OPERATION] !== undefined)).toEqual([]);
      } finally {
        contrib.disable();
      }
    });
  });
});
