/**
 * The contract both Redis adapters keep (baton-sdk/redis on ioredis,
 * baton-sdk/node-redis on node-redis in RESP2 and RESP3), run on the same
 * scenarios against a real redis-server and a real 3-master Redis Cluster (an
 * ioredis `Cluster`, a node-redis `createCluster()`): the spans of state
 * commands with their facts, the app's own version field through an extractor, the active handoff's
 * task and agent, commands left alone, the driver's errors unchanged, faults
 * counted instead of thrown, and Streams with trace context. What only one
 * driver does is tested in redis.test.ts and node-redis.test.ts.
 */
import { diag, DiagLogLevel, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster, type RedisClientType } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BATON_ATTEMPT,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_FAULT_COUNT,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TASK_ID,
  DB_COLLECTION_NAME,
  DB_NAMESPACE,
  DB_SYSTEM_NAME,
  GEN_AI_AGENT_NAME,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
} from '../../src/model/attributes.js';
import { Baton } from '../../src/sdk/baton.js';
import type { StoreInstrumentationStats } from '../../src/stores/common.js';
import { instrumentNodeRedis, nodeRedisInstrumentationStats } from '../../src/stores/node-redis.js';
import type { RedisCommandOptions } from '../../src/stores/redis-commands.js';
import { instrumentRedis, redisInstrumentationStats, withStateAccess } from '../../src/stores/redis.js';
import { draft } from '../helpers/envelopes.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startRedis, startRedisCluster, type RunningServer } from '../helpers/servers.js';

const skip = shouldSkipStoreTests();

/** The commands the scenarios use, through one instrumented client of either driver. */
interface InstrumentedRedis {
  hset(key: string, fields: Record<string, string | number>): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hget(key: string, field: string): Promise<string | null>;
  hmget(key: string, fields: string[]): Promise<(string | null)[]>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  /** SET key value [NX | XX] GET: answers the old value. */
  setGet(key: string, value: string, condition?: 'NX' | 'XX'): Promise<string | null>;
  hsetnx(key: string, field: string, value: string): Promise<number>;
  ping(): Promise<string>;
  info(): Promise<unknown>;
  evalOne(): Promise<unknown>;
  xgroupCreate(stream: string, group: string): Promise<unknown>;
  xadd(stream: string, fields: Record<string, string>): Promise<string>;
  xreadgroup(group: string, consumer: string, stream: string): Promise<unknown>;
  /** The fields of each entry of a stream, oldest first. */
  entries(stream: string): Promise<Record<string, string>[]>;
  xack(stream: string, group: string, id: string): Promise<unknown>;
  stats(): StoreInstrumentationStats | undefined;
  close(): void;
}

interface AdapterUnderTest {
  readonly name: string;
  /** Runs against a Redis Cluster: `connect` gets one of its masters. */
  readonly cluster?: boolean;
  connect(server: RunningServer, options: RedisCommandOptions): Promise<InstrumentedRedis>;
}

function pairsToObject(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  return record;
}

function ioredisOf(redis: Redis | Cluster): InstrumentedRedis {
  return {
    hset: (key, fields) => redis.hset(key, fields),
    hgetall: (key) => redis.hgetall(key),
    hget: (key, field) => redis.hget(key, field),
    hmget: (key, fields) => redis.hmget(key, ...fields),
    set: (key, value) => redis.set(key, value),
    get: (key) => redis.get(key),
    setGet: (key, value, condition) =>
      (redis.set as unknown as (...args: string[]) => Promise<string | null>)(key, value, ...(condition ? [condition] : []), 'GET'),
    hsetnx: (key, field, value) => redis.hsetnx(key, field, value),
    ping: () => redis.ping(),
    info: () => redis.info('server'),
    evalOne: () => redis.eval('return 1', 0),
    xgroupCreate: (stream, group) => redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM'),
    xadd: async (stream, fields) => (await redis.xadd(stream, '*', ...Object.entries(fields).flat()))!,
    xreadgroup: (group, consumer, stream) => redis.xreadgroup('GROUP', group, consumer, 'COUNT', 10, 'STREAMS', stream, '>'),
    entries: async (stream) => (await redis.xrange(stream, '-', '+')).map(([, fields]) => pairsToObject(fields)),
    xack: (stream, group, id) => redis.xack(stream, group, id),
    stats: () => redisInstrumentationStats(redis),
    close: () => redis.disconnect(),
  };
}

const ioredis: AdapterUnderTest = {
  name: 'ioredis',
  connect: async (server, options) => ioredisOf(instrumentRedis(new Redis({ port: server.port, host: server.host, maxRetriesPerRequest: 1 }), options)),
};

const ioredisCluster: AdapterUnderTest = {
  name: 'ioredis Cluster',
  cluster: true,
  connect: async (server, options) =>
    ioredisOf(instrumentRedis(new Cluster([{ host: server.host, port: server.port }], { redisOptions: { maxRetriesPerRequest: 1 } }), options)),
};

/** The node-redis commands the scenarios use: those of a client and of a cluster. */
type NodeRedisCommands = Pick<
  RedisClientType,
  'hSet' | 'hGetAll' | 'hGet' | 'hmGet' | 'set' | 'get' | 'hSetNX' | 'ping' | 'info' | 'eval' | 'xGroupCreate' | 'xAdd' | 'xReadGroup' | 'xRange' | 'xAck'
>;

function nodeRedisOf(client: NodeRedisCommands, close: () => void): InstrumentedRedis {
  return {
    hset: (key, fields) => client.hSet(key, fields),
    hgetall: async (key) => ({ ...(await client.hGetAll(key)) }),
    hget: async (key, field) => (await client.hGet(key, field)) ?? null,
    hmget: async (key, fields) => (await client.hmGet(key, fields)) as (string | null)[],
    set: (key, value) => client.set(key, value),
    get: (key) => client.get(key),
    setGet: async (key, value, condition) => (await client.set(key, value, { ...(condition ? { condition } : {}), GET: true })) as string | null,
    hsetnx: async (key, field, value) => Number(await client.hSetNX(key, field, value)),
    ping: () => client.ping(),
    info: () => client.info('server'),
    evalOne: () => client.eval('return 1', { keys: [], arguments: [] }),
    xgroupCreate: (stream, group) => client.xGroupCreate(stream, group, '0', { MKSTREAM: true }),
    xadd: (stream, fields) => client.xAdd(stream, '*', fields),
    xreadgroup: (group, consumer, stream) => client.xReadGroup(group, consumer, { key: stream, id: '>' }, { COUNT: 10 }),
    entries: async (stream) => (await client.xRange(stream, '-', '+')).map((entry) => ({ ...entry.message })),
    xack: (stream, group, id) => client.xAck(stream, group, id),
    stats: () => nodeRedisInstrumentationStats(client),
    close,
  };
}

function nodeRedis(RESP: 2 | 3): AdapterUnderTest {
  return {
    name: `node-redis RESP${RESP}`,
    async connect(server, options) {
      const client = instrumentNodeRedis(await (createClient({ RESP, socket: { host: server.host, port: server.port } }) as RedisClientType).connect(), options);
      return nodeRedisOf(client, () => client.destroy());
    },
  };
}

const nodeRedisCluster: AdapterUnderTest = {
  name: 'node-redis cluster',
  cluster: true,
  async connect(server, options) {
    const cluster = instrumentNodeRedis(await createCluster({ rootNodes: [{ socket: { host: server.host, port: server.port } }] }).connect(), options);
    return nodeRedisOf(cluster as unknown as NodeRedisCommands, () => cluster.destroy());
  },
};

const ADAPTERS: readonly AdapterUnderTest[] = [ioredis, nodeRedis(2), nodeRedis(3), ioredisCluster, nodeRedisCluster];

function byOperation(spans: readonly ReadableSpan[], operation: string): ReadableSpan[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] === operation);
}

function versionOf(span: ReadableSpan): unknown {
  return span.attributes[BATON_STATE_VERSION_WRITTEN] ?? span.attributes[BATON_STATE_VERSION_READ];
}

describe.skipIf(skip).each(ADAPTERS)('Redis adapter contract: $name', (adapter) => {
  let server: RunningServer;
  let otel: OtelHarness;
  let baton: Baton;
  const open: InstrumentedRedis[] = [];

  async function connect(options: RedisCommandOptions = {}): Promise<InstrumentedRedis> {
    const client = await adapter.connect(server, { tracer: otel.tracer, ...options });
    open.push(client);
    return client;
  }

  let stopServers: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (adapter.cluster) {
      const cluster = await startRedisCluster(3);
      server = cluster.nodes[0]!;
      stopServers = () => cluster.stop();
    } else {
      server = await startRedis();
      stopServers = () => server.stop();
    }
  }, 60_000);
  afterAll(async () => {
    await stopServers?.();
  });
  beforeEach(() => {
    otel = createOtelHarness();
    baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  });
  afterEach(async () => {
    for (const client of open.splice(0)) client.close();
    await otel.shutdown();
  });

  it('turns hash reads and writes into state spans with key, version, epoch, collection and the withStateAccess facts', async () => {
    const redis = await connect();
    const written = await withStateAccess(
      { agent: 'research', taskId: 't-1', attempt: 2, idempotencyKey: 't-1:research', announces: 'task.research.complete' },
      () => redis.hset('task:t-1', { version: 3, epoch: 2, summary: 'draft' }),
    );
    const read = await withStateAccess({ agent: 'analysis', taskId: 't-1' }, () => redis.hgetall('task:t-1'));
    const missing = await redis.hgetall('task:none');
    // The host's replies are the driver's.
    expect(written).toBe(3);
    expect(read).toEqual({ version: '3', epoch: '2', summary: 'draft' });
    expect(missing).toEqual({});
    const [write, readSpan, miss] = otel.spans();
    expect(write!.name).toBe('write task');
    expect(write!.kind).toBe(SpanKind.CLIENT);
    expect(write!.attributes).toMatchObject({
      [BATON_OPERATION]: 'state.write',
      [DB_SYSTEM_NAME]: 'redis',
      [DB_NAMESPACE]: '0',
      [DB_COLLECTION_NAME]: 'task',
      [BATON_STATE_KEY]: 'task:t-1',
      [BATON_STATE_VERSION_WRITTEN]: 3,
      [BATON_EPOCH]: 2,
      [GEN_AI_AGENT_NAME]: 'research',
      [BATON_TASK_ID]: 't-1',
      [BATON_ATTEMPT]: 2,
      [BATON_IDEMPOTENCY_KEY]: 't-1:research',
      [BATON_EVENT_EXPECTED_TOPIC]: 'task.research.complete',
    });
    expect(readSpan!.attributes).toMatchObject({
      [BATON_OPERATION]: 'state.read',
      [BATON_STATE_VERSION_READ]: 3,
      [BATON_EPOCH]: 2,
      [BATON_STATE_FOUND]: true,
      [GEN_AI_AGENT_NAME]: 'analysis',
    });
    expect(readSpan!.attributes[BATON_IDEMPOTENCY_KEY]).toBeUndefined();
    expect(miss!.attributes[BATON_STATE_FOUND]).toBe(false);
    expect(miss!.attributes[BATON_STATE_VERSION_READ]).toBeUndefined();
    expect(redis.stats()).toEqual({ stateSpans: 3, messagingSpans: 0, faults: 0 });
  });

  it('reads the version of a JSON string value, of HGET/HMGET fields, and through an extractor for the app’s own field', async () => {
    const redis = await connect();
    await redis.set('doc:a', JSON.stringify({ version: 7, body: 'x' }));
    expect(await redis.get('doc:a')).toBe(JSON.stringify({ version: 7, body: 'x' }));
    await redis.hset('doc:b', { version: '4', epoch: '1' });
    await redis.hget('doc:b', 'version');
    await redis.hmget('doc:b', ['epoch', 'version']);
    await redis.set('doc:n', JSON.stringify({ body: 'no version', meta: { version: 3 } }));
    await redis.get('doc:n');
    const custom = await connect({
      extract: (command, reply) => {
        const text = command.operation === 'write' ? String(command.args[0]) : String(reply);
        const match = /^rev(\d+):/.exec(text);
        return match ? { version: Number(match[1]) } : undefined;
      },
    });
    await custom.set('note:c', 'rev12:hello');
    await custom.get('note:c');
    expect(otel.spans().map((s) => [s.name, versionOf(s)])).toEqual([
      ['write doc', 7],
      ['read doc', 7],
      ['write doc', 4],
      ['read doc', 4],
      ['read doc', 4],
      // A nested `version` is not the value's version.
      ['write doc', undefined],
      ['read doc', undefined],
      ['write note', 12],
      ['read note', 12],
    ]);
  });

  it('claims a written version only for a write that ran: SET … GET answers the old value; SET NX/XX and HSETNX may write nothing', async () => {
    const redis = await connect();
    const doc = (version: number) => JSON.stringify({ version });
    expect(await redis.setGet('cas:a', doc(1))).toBeNull(); // no old value; written
    expect(await redis.setGet('cas:a', doc(2), 'NX')).toBe(doc(1)); // existed: not written
    expect(await redis.setGet('cas:b', doc(3), 'NX')).toBeNull(); // new: written
    expect(await redis.setGet('cas:c', doc(4), 'XX')).toBeNull(); // absent: not written
    expect(await redis.setGet('cas:a', doc(5), 'XX')).toBe(doc(1)); // existed: written
    expect(await redis.hsetnx('cas:h', 'version', '6')).toBe(1);
    expect(await redis.hsetnx('cas:h', 'version', '7')).toBe(0);
    // What the server holds is what each span claims.
    expect([await redis.get('cas:a'), await redis.get('cas:b'), await redis.get('cas:c'), await redis.hget('cas:h', 'version')]).toEqual([
      doc(5),
      doc(3),
      null,
      '6',
    ]);
    expect(byOperation(otel.spans(), 'state.write').map((s) => s.attributes[BATON_STATE_VERSION_WRITTEN])).toEqual([1, undefined, 3, undefined, 5, 6, undefined]);
  });

  it('takes task, agent and epoch from the active receive span of a handoff', async () => {
    const redis = await connect();
    const envelope = baton.send(draft({ task_id: 'task-9', source_agent: 'triage', target_agent: 'billing' }), { epoch: 4 });
    const rx = baton.receive(JSON.parse(JSON.stringify(envelope)));
    await rx.run(() => redis.hgetall('task:task-9'));
    const read = byOperation(otel.spans(), 'state.read')[0]!;
    expect(read.attributes).toMatchObject({ [BATON_TASK_ID]: 'task-9', [GEN_AI_AGENT_NAME]: 'billing', [BATON_EPOCH]: 4 });
    expect(read.parentSpanContext?.spanId).toBe(byOperation(otel.spans(), 'handoff.receive')[0]!.spanContext().spanId);
  });

  it('leaves commands that are not state access alone, and keys outside the `keys` filter', async () => {
    const redis = await connect({ keys: 'task:' });
    expect(await redis.ping()).toBe('PONG');
    await redis.info();
    await redis.evalOne();
    await redis.set('cache:x', '1');
    await redis.get('cache:x');
    await redis.set('task:x', '1');
    expect(otel.spans().map((s) => s.name)).toEqual(['write task']);
  });

  it('records a command error on the span and rejects the host with the driver’s own error', async () => {
    const redis = await connect();
    await redis.set('task:str', 'plain');
    const error = await redis.hgetall('task:str').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^WRONGTYPE/);
    const failed = otel.spans()[1]!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.status.message).toBe((error as Error).message);
    expect(failed.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('counts a fault in an extractor, reports it once per kind through diag, and still answers the host', async () => {
    const warnings: string[] = [];
    diag.setLogger({ warn: (m: string) => warnings.push(m), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
    try {
      const redis = await connect({
        extract: () => {
          throw new Error('extractor bug');
        },
      });
      await redis.set('task:a', 'v');
      expect(await redis.get('task:a')).toBe('v');
      expect(await redis.get('task:a')).toBe('v');
      expect(redis.stats()!.faults).toBe(3);
      expect(warnings.filter((w) => w.includes('extractor bug'))).toHaveLength(2); // once for the write, once for the reads
      expect(otel.spans().every((s) => s.attributes[BATON_FAULT_COUNT] === 1)).toBe(true);
    } finally {
      diag.disable();
    }
  });

  it('puts the producer’s trace context into XADD and links the XREADGROUP receive span to it; XACK is a settle span', async () => {
    const redis = await connect();
    await redis.xgroupCreate('events:done', 'workers');
    const message = { task: 't-1' };
    const id = await baton.runAgent('research', () => redis.xadd('events:done', message), { taskId: 't-1' });
    await redis.xreadgroup('workers', 'w1', 'events:done');
    await redis.xack('events:done', 'workers', id);
    const [fields] = await redis.entries('events:done');
    expect(message).toEqual({ task: 't-1' }); // the app's own object is not touched
    expect(fields!.task).toBe('t-1');
    const spans = otel.spans();
    const publish = spans.find((s) => s.name === 'publish events:done')!;
    const receive = spans.find((s) => s.name === 'receive events:done')!;
    const settle = spans.find((s) => s.name === 'ack events:done')!;
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.attributes).toMatchObject({
      [BATON_OPERATION]: 'event.publish',
      [MESSAGING_SYSTEM]: 'redis',
      [MESSAGING_DESTINATION_NAME]: 'events:done',
      [MESSAGING_MESSAGE_ID]: id,
      [BATON_TASK_ID]: 't-1',
      [GEN_AI_AGENT_NAME]: 'research',
    });
    expect(fields!.traceparent).toBe(`00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`);
    expect(receive.kind).toBe(SpanKind.CONSUMER);
    expect(receive.attributes).toMatchObject({ [BATON_OPERATION]: 'event.consume', [MESSAGING_OPERATION_TYPE]: 'receive', [MESSAGING_MESSAGE_ID]: id });
    expect(receive.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);
    expect(settle.attributes[MESSAGING_OPERATION_TYPE]).toBe('settle');
    expect(settle.attributes[BATON_OPERATION]).toBeUndefined();
  });
});
