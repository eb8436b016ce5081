/**
 * baton-sdk/redis against a real redis-server (started per file on a free loopback
 * port): what only the ioredis adapter does (timeouts, transactions through its
 * Pipeline), and the versioned store and stream bus of the pattern. What both
 * Redis adapters do is in redis-adapters.test.ts.
 */
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BATON_ATTEMPT,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_OPERATION,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_FOUND,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  MESSAGING_MESSAGE_ID,
} from '../../src/model/attributes.js';
import { Baton } from '../../src/sdk/baton.js';
import {
  instrumentRedis,
  RedisStateStore,
  RedisStreamBus,
  StaleEpochWriteError,
  StateConflictError,
  withStateAccess,
} from '../../src/stores/redis.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startRedis, type RunningServer } from '../helpers/servers.js';

const skip = shouldSkipStoreTests();

let server: RunningServer;
let otel: OtelHarness;
let baton: Baton;
const clients: Redis[] = [];

function connect(options: { commandTimeout?: number } = {}): Redis {
  const redis = new Redis({ port: server.port, host: server.host, lazyConnect: false, maxRetriesPerRequest: 1, ...options });
  clients.push(redis);
  return redis;
}

function byOperation(spans: readonly ReadableSpan[], operation: string): ReadableSpan[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] === operation);
}

describe.skipIf(skip)('baton-sdk/redis', () => {
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    otel = createOtelHarness();
    baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const admin = connect();
    await admin.flushall();
    admin.disconnect();
  });
  afterEach(async () => {
    await otel.shutdown();
  });

  describe('instrumentRedis', () => {
    it('records a timeout as error.type timeout while the server is paused', async () => {
      const admin = connect();
      // Long enough that the commands before the pause answer in time on a loaded machine.
      const redis = instrumentRedis(connect({ commandTimeout: 250 }), { tracer: otel.tracer });
      await redis.set('task:t', '1');
      await admin.client('PAUSE', 700, 'ALL');
      const error = await redis.get('task:t').catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/timed out/i);
      const timedOut = otel.spans().find((s) => s.name === 'read task')!;
      expect(timedOut.attributes[ERROR_TYPE]).toBe('timeout');
      expect(timedOut.status.code).toBe(SpanStatusCode.ERROR);
      await new Promise((resolve) => setTimeout(resolve, 750));
    });

    it('with auto-pipelining, gives each command the withStateAccess facts of its own caller, not of the caller that scheduled the pipeline', async () => {
      const redis = instrumentRedis(new Redis({ port: server.port, host: server.host, enableAutoPipelining: true }), { tracer: otel.tracer });
      clients.push(redis);
      await redis.hset('task:p', { version: 1 });
      otel.reset();
      // Issued in one tick: ioredis sends both in one pipeline, from the first caller's setImmediate.
      const [read, written] = await Promise.all([
        withStateAccess({ agent: 'reader' }, () => redis.hgetall('task:p')),
        withStateAccess({ agent: 'writer' }, () => redis.hset('task:p', { version: 2 })),
      ]);
      expect([read, written]).toEqual([{ version: '1' }, 0]);
      expect(redis.autoPipelineQueueSize).toBe(0);
      expect(otel.spans().map((s) => [s.name, s.attributes[GEN_AI_AGENT_NAME], s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ]])).toEqual([
        ['read task', 'reader', 1],
        ['write task', 'writer', 2],
      ]);
    });

    it('settles commands queued in MULTI with their own element of EXEC’s reply: a read inside the transaction has its version', async () => {
      const redis = instrumentRedis(connect(), { tracer: otel.tracer });
      await redis.hset('task:m', { version: 4, epoch: 1 });
      otel.reset();
      const replies = await redis
        .multi()
        .hset('task:m', { version: 5 })
        .ping()
        .hgetall('task:m')
        .get('task:none')
        .set('task:j', JSON.stringify({ version: 9 }))
        .get('task:j')
        .xadd('events:m', '*', 'k', 'v')
        .exec();
      // The host's replies are the driver's.
      const entryId = replies![6]![1] as string;
      expect(replies).toEqual([
        [null, 0],
        [null, 'PONG'],
        [null, { version: '5', epoch: '1' }],
        [null, null],
        [null, 'OK'],
        [null, JSON.stringify({ version: 9 })],
        [null, expect.stringMatching(/^\d+-\d+$/)],
      ]);
      const spans = otel.spans();
      expect(spans.map((s) => [s.name, s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ], s.attributes[BATON_STATE_FOUND]])).toEqual([
        ['write task', 5, undefined],
        ['read task', 5, true],
        ['read task', undefined, false],
        ['write task', 9, undefined],
        ['read task', 9, true],
        ['publish events:m', undefined, undefined],
      ]);
      // An XADD queued in the transaction has its entry id from EXEC, not QUEUED.
      expect(spans[5]!.attributes[MESSAGING_MESSAGE_ID]).toBe(entryId);
      expect(spans[1]!.attributes[BATON_EPOCH]).toBe(1);
      // They end when EXEC answered (when they ran), not when QUEUED came back.
      const ends = spans.map((s) => s.endTime[0] * 1e3 + s.endTime[1] / 1e6);
      expect(Math.min(...ends)).toBeGreaterThanOrEqual(Math.max(...spans.map((s) => s.startTime[0] * 1e3 + s.startTime[1] / 1e6)));
    });

    it('ends the queued commands of a transaction WATCH aborted as failed, and a command EXEC answered with an error as failed', async () => {
      const redis = instrumentRedis(connect(), { tracer: otel.tracer });
      const other = connect();
      await redis.hset('task:w', { version: 1 });
      await redis.set('task:s', 'plain');
      await redis.watch('task:w');
      await other.hset('task:w', { version: 2 });
      otel.reset();
      const aborted = await redis.multi().hgetall('task:w').hset('task:w', { version: 3 }).exec();
      expect(aborted).toBeNull();
      expect(await other.hget('task:w', 'version')).toBe('2');
      const failedRun = await redis.multi().hgetall('task:s').hgetall('task:w').exec();
      expect(failedRun![0]![0]).toBeInstanceOf(Error);
      const spans = otel.spans();
      expect(spans.map((s) => [s.name, s.status.code, s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ]])).toEqual([
        ['read task', SpanStatusCode.ERROR, undefined],
        ['write task', SpanStatusCode.ERROR, undefined],
        ['read task', SpanStatusCode.ERROR, undefined],
        ['read task', SpanStatusCode.UNSET, 2],
      ]);
      expect(spans[2]!.status.message).toMatch(/^WRONGTYPE/);
    });

    it('records no version for a read of a transaction sent without a pipeline, whose reply is QUEUED', async () => {
      const redis = instrumentRedis(connect(), { tracer: otel.tracer });
      await redis.hset('task:q', { version: 6 });
      otel.reset();
      await redis.multi({ pipeline: false });
      expect(await redis.hgetall('task:q')).toBe('QUEUED');
      await redis.exec();
      const [read] = otel.spans();
      expect(read!.name).toBe('read task');
      expect(read!.attributes[BATON_STATE_VERSION_READ]).toBeUndefined();
      expect(read!.attributes[BATON_STATE_FOUND]).toBeUndefined();
    });

    it('instruments a client once however often it is called', async () => {
      const client = connect();
      const redis = instrumentRedis(instrumentRedis(client, { tracer: otel.tracer }), { tracer: otel.tracer });
      expect(redis).toBe(client);
      await redis.get('task:x');
      expect(otel.spans()).toHaveLength(1);
    });
  });

  describe('RedisStateStore', () => {
    it('versions each key from 1 and refuses a stale expected version with StateConflictError', async () => {
      const store = new RedisStateStore<{ n: number }>(connect(), { tracer: otel.tracer });
      expect(await store.set('k', { n: 1 }, { expectedVersion: 0 })).toEqual({ version: 1, epoch: undefined });
      expect(await store.get('k')).toEqual({ value: { n: 1 }, version: 1 });
      expect(await store.set('k', { n: 2 }, { expectedVersion: 1 })).toMatchObject({ version: 2 });
      const conflict = await store.set('k', { n: 3 }, { expectedVersion: 1, agent: 'late' }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(StateConflictError);
      expect(conflict).toMatchObject({ code: 'BATON_STATE_CONFLICT', key: 'k', expectedVersion: 1, actualVersion: 2 });
      expect((await store.get('k'))?.value).toEqual({ n: 2 });
      const failed = byOperation(otel.spans(), 'state.write')[2]!;
      expect(failed.attributes).toMatchObject({ [ERROR_TYPE]: 'BATON_STATE_CONFLICT', [BATON_STATE_VERSION_EXPECTED]: 1 });
      expect(failed.attributes[BATON_STATE_VERSION_WRITTEN]).toBeUndefined();
    });

    it('answers a repeated idempotency key with the first version, deduplicated, and commits nothing', async () => {
      const store = new RedisStateStore<string>(connect(), { tracer: otel.tracer });
      await store.set('k', 'first', { idempotencyKey: 'op-1', attempt: 1 });
      await store.set('k', 'other');
      expect(await store.set('k', 'retry', { idempotencyKey: 'op-1', attempt: 2, expectedVersion: 0 })).toEqual({
        version: 1,
        epoch: undefined,
        deduplicated: true,
      });
      expect(await store.get('k')).toMatchObject({ value: 'other', version: 2 });
      const retry = byOperation(otel.spans(), 'state.write')[2]!;
      expect(retry.attributes).toMatchObject({ [BATON_STATE_DEDUPLICATED]: true, [BATON_STATE_VERSION_WRITTEN]: 1, [BATON_ATTEMPT]: 2 });
    });

    it('fences writes from an older epoch once the epoch advanced', async () => {
      const store = new RedisStateStore<string>(connect(), { tracer: otel.tracer });
      await store.set('k', 'stage 1', { epoch: 1 });
      expect(await store.advanceEpoch('k')).toBe(2);
      const stale = await store.set('k', 'zombie', { epoch: 1 }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(StaleEpochWriteError);
      expect(stale).toMatchObject({ code: 'BATON_STATE_STALE_EPOCH', epoch: 1, currentEpoch: 2 });
      expect(await store.set('k', 'stage 2', { epoch: 2 })).toEqual({ version: 2, epoch: 2 });
      expect(await store.get('k')).toEqual({ value: 'stage 2', version: 2, epoch: 2 });
    });

    it('records the epoch a reader acts in over the stored one, so a reader of an older stage stays visible', async () => {
      const store = new RedisStateStore<string>(connect(), { tracer: otel.tracer });
      await store.set('k', 'stage 1', { epoch: 1 });
      await store.advanceEpoch('k', { agent: 'coordinator' });
      await store.get('k', { agent: 'late', epoch: 1 });
      await store.get('k', { agent: 'current' });
      const [bump] = byOperation(otel.spans(), 'state.write').slice(1);
      const [late, current] = byOperation(otel.spans(), 'state.read');
      expect(bump!.attributes[BATON_EPOCH]).toBe(2);
      expect(late!.attributes[BATON_EPOCH]).toBe(1);
      expect(current!.attributes[BATON_EPOCH]).toBe(2);
    });

    it('publishes the completion event in the write’s script: on the stream if and only if the write committed', async () => {
      const redis = connect();
      const store = new RedisStateStore<string>(redis, { tracer: otel.tracer });
      const bus = new RedisStreamBus(baton, connect(), { tracer: otel.tracer });
      await bus.ensureGroup('task.done', 'coordinator');
      const ok = await store.set('t-1/out', 'v1', { taskId: 't-1', agent: 'research', event: { topic: 'task.done', payload: { n: 1 } } });
      await store.set('t-1/out', 'refused', { expectedVersion: 0, event: { topic: 'task.done' } }).catch(() => undefined);
      await store.set('t-1/out', 'v1', { idempotencyKey: 'x', event: { topic: 'task.done' } });
      const repeat = await store.set('t-1/out', 'v1 again', { idempotencyKey: 'x', event: { topic: 'task.done' } });
      expect(repeat.deduplicated).toBe(true);
      expect(await redis.xlen(bus.streamOf('task.done'))).toBe(2);
      const deliveries = await bus.read('task.done', 'coordinator', 'c1');
      expect(deliveries.map((d) => [d.message?.state_version, d.message?.payload])).toEqual([
        [1, { n: 1 }],
        [2, undefined],
      ]);
      expect(deliveries[0]!.message?.id).toBe(ok.messageId);
      await bus.process('coordinator', deliveries[0]!, () => 'handled', { agent: 'coordinator' });
      const spans = otel.spans();
      const write = byOperation(spans, 'state.write')[0]!;
      const publish = byOperation(spans, 'event.publish')[0]!;
      const consume = byOperation(spans, 'event.consume')[0]!;
      expect(byOperation(spans, 'event.publish')).toHaveLength(2);
      expect(write.attributes[BATON_EVENT_EXPECTED_TOPIC]).toBe('task.done');
      expect(publish.parentSpanContext?.spanId).toBe(write.spanContext().spanId);
      expect(publish.attributes).toMatchObject({ [BATON_STATE_VERSION_WRITTEN]: 1, [MESSAGING_MESSAGE_ID]: ok.messageId });
      // The consumer joins the writer's trace.
      expect(consume.spanContext().traceId).toBe(write.spanContext().traceId);
      expect(consume.attributes[MESSAGING_MESSAGE_ID]).toBe(ok.messageId);
      // Acknowledged: nothing pending for the group but the unprocessed second delivery.
      const pending = (await redis.xpending(bus.streamOf('task.done'), 'coordinator')) as [number, ...unknown[]];
      expect(pending[0]).toBe(1);
    });

    it('leaves a delivery pending when its handler throws, and rethrows the handler’s error', async () => {
      const redis = connect();
      const bus = new RedisStreamBus(baton, redis, { tracer: otel.tracer });
      await bus.ensureGroup('jobs', 'g');
      await bus.publish({ topic: 'jobs', payload: { a: 1 } });
      const [delivery] = await bus.read('jobs', 'g', 'c');
      const boom = new Error('handler failed');
      await expect(bus.process('g', delivery!, () => Promise.reject(boom))).rejects.toBe(boom);
      const pending = (await redis.xpending(bus.streamOf('jobs'), 'g')) as [number, ...unknown[]];
      expect(pending[0]).toBe(1);
      const consume = byOperation(otel.spans(), 'event.consume')[0]!;
      expect(consume.status.code).toBe(SpanStatusCode.ERROR);
      expect(trace.getSpan(context.active())).toBeUndefined();
    });
  });
});
