/**
 * Contract suites of the two store extension points, each run on every
 * implementation against real servers: VersionedStateStore (the SDK's
 * InMemoryStateStore as the reference, RedisStateStore, PgStateStore) and
 * EventBus (RedisStreamBus, PgNotifyBus). A new store or bus is one more entry
 * in STORES or BUSES and must pass the same scenarios.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BATON_OPERATION, MESSAGING_MESSAGE_ID, MESSAGING_SYSTEM } from '../../src/model/attributes.js';
import type { EventMessage } from '../../src/model/envelope.js';
import { Baton } from '../../src/sdk/baton.js';
import { InMemoryStateStore, StateConflictError, type VersionedStateStore } from '../../src/sdk/state-store.js';
import type { EventBus } from '../../src/stores/event-bus.js';
import { PgNotifyBus, PgOutboxRelay, PgStateStore } from '../../src/stores/pg.js';
import { RedisStateStore, RedisStreamBus } from '../../src/stores/redis.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startPostgres, startRedis, type RunningPostgres, type RunningServer } from '../helpers/servers.js';

const skip = shouldSkipStoreTests();

let redisServer: RunningServer;
let pgServer: RunningPostgres;
let redis: Redis;
let pool: pg.Pool;
let otel: OtelHarness;
let baton: Baton;

const STORES: [string, () => Promise<VersionedStateStore<{ n: number }>>][] = [
  ['InMemoryStateStore (reference)', async () => new InMemoryStateStore<{ n: number }>()],
  ['RedisStateStore', async () => new RedisStateStore<{ n: number }>(redis, { tracer: otel.tracer })],
  [
    'PgStateStore',
    async () => {
      const store = new PgStateStore<{ n: number }>(pool, { tracer: otel.tracer });
      await store.ensureSchema();
      return store;
    },
  ],
];

interface BusUnderTest {
  readonly bus: EventBus & { publish(event: { topic: string; key?: string; stateVersion?: number; payload?: unknown; taskId?: string }): Promise<EventMessage> };
  /** Delivers each message of `topic` to `onMessage` inside `baton.consume`, until closed. */
  subscribe(topic: string, onMessage: (message: EventMessage) => void): Promise<() => Promise<void>>;
}

const BUSES: [string, () => Promise<BusUnderTest>][] = [
  [
    'RedisStreamBus',
    async () => {
      const reader = new Redis(redisServer.port, redisServer.host);
      const bus = new RedisStreamBus(baton, redis, { tracer: otel.tracer });
      const readerBus = new RedisStreamBus(baton, reader, { tracer: otel.tracer });
      return {
        bus,
        subscribe: async (topic, onMessage) => {
          await readerBus.ensureGroup(topic, 'contract', '$');
          let open = true;
          const loop = (async () => {
            while (open) {
              const deliveries = await readerBus.read(topic, 'contract', 'c1', { blockMs: 50 });
              for (const d of deliveries) await readerBus.process('contract', d, (m) => onMessage(m));
            }
          })();
          return async () => {
            open = false;
            await loop;
            reader.disconnect();
          };
        },
      };
    },
  ],
  [
    'PgNotifyBus',
    async () => {
      const bus = new PgNotifyBus(baton, pool, { tracer: otel.tracer });
      return {
        bus,
        subscribe: async (topic, onMessage) => {
          const subscription = await bus.listen(topic, (m) => onMessage(m));
          return () => subscription.close();
        },
      };
    },
  ],
];

function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

function ofOperation(spans: readonly ReadableSpan[], operation: string): ReadableSpan[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] === operation);
}

describe.skipIf(skip)('store contracts', () => {
  beforeAll(async () => {
    [redisServer, pgServer] = await Promise.all([startRedis(), startPostgres()]);
    redis = new Redis(redisServer.port, redisServer.host);
    pool = new pg.Pool(pgServer.connection);
  });
  afterAll(async () => {
    redis?.disconnect();
    await pool?.end();
    await Promise.all([redisServer?.stop(), pgServer?.stop()]);
  });
  beforeEach(async () => {
    otel = createOtelHarness();
    baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    await redis.flushall();
    await pool.query('DROP TABLE IF EXISTS baton_state, baton_idempotency, baton_outbox');
  });
  afterEach(async () => {
    await otel.shutdown();
  });

  describe.each(STORES)('VersionedStateStore: %s', (_name, make) => {
    it('reads undefined for a missing key, then each write as the next version from 1', async () => {
      const store = await make();
      expect(await store.get('k')).toBeUndefined();
      expect((await store.set('k', { n: 1 })).version).toBe(1);
      expect((await store.set('k', { n: 2 })).version).toBe(2);
      expect(await store.get('k')).toMatchObject({ value: { n: 2 }, version: 2 });
    });

    it('refuses a write at the wrong expected version with StateConflictError and keeps the value', async () => {
      const store = await make();
      await store.set('k', { n: 1 }, { expectedVersion: 0 });
      await expect(store.set('k', { n: 9 }, { expectedVersion: 0 })).rejects.toMatchObject({ expectedVersion: 0, actualVersion: 1 });
      await expect(store.set('k', { n: 9 }, { expectedVersion: 5 })).rejects.toBeInstanceOf(StateConflictError);
      expect(await store.get('k')).toMatchObject({ value: { n: 1 }, version: 1 });
    });

    it('answers a repeated idempotency key with the first write’s version, deduplicated, before checking the expected version', async () => {
      const store = await make();
      expect(await store.set('k', { n: 1 }, { idempotencyKey: 'op', expectedVersion: 0 })).toMatchObject({ version: 1 });
      await store.set('k', { n: 2 });
      expect(await store.set('k', { n: 3 }, { idempotencyKey: 'op', expectedVersion: 0 })).toMatchObject({ version: 1, deduplicated: true });
      expect(await store.get('k')).toMatchObject({ value: { n: 2 }, version: 2 });
      // Idempotency keys are per state key.
      expect(await store.set('other', { n: 1 }, { idempotencyKey: 'op' })).toMatchObject({ version: 1 });
      expect((await store.set('other', { n: 1 }, { idempotencyKey: 'op' })).deduplicated).toBe(true);
    });

    it('keeps the epoch it was given and returns it on reads', async () => {
      const store = await make();
      expect(await store.set('k', { n: 1 }, { epoch: 3 })).toMatchObject({ version: 1, epoch: 3 });
      expect(await store.get('k')).toMatchObject({ version: 1, epoch: 3 });
      expect((await store.set('k', { n: 2 })).epoch).toBe(3);
    });
  });

  describe.each(BUSES)('EventBus: %s', (_name, make) => {
    it('delivers a published event unchanged, and its consume span joins the producer’s trace', async () => {
      const { bus, subscribe } = await make();
      const got: EventMessage[] = [];
      const close = await subscribe('task.done', (m) => void got.push(m));
      const sent = await baton.runAgent('research', () => bus.publish({ topic: 'task.done', key: 'k', stateVersion: 2, taskId: 't-1', payload: { ok: 1 } }));
      await waitFor(() => got.length === 1);
      await close();
      expect(got[0]).toEqual(sent);
      const publish = ofOperation(otel.spans(), 'event.publish')[0]!;
      const consume = ofOperation(otel.spans(), 'event.consume')[0]!;
      expect(publish.attributes[MESSAGING_SYSTEM]).toBe(bus.system);
      expect(consume.attributes[MESSAGING_MESSAGE_ID]).toBe(sent.id);
      expect(consume.spanContext().traceId).toBe(publish.spanContext().traceId);
    });

    it('carries an outbox row relayed by PgOutboxRelay, the publish linked to the writer', async () => {
      const { bus, subscribe } = await make();
      const store = new PgStateStore<string>(pool, { tracer: otel.tracer });
      await store.ensureSchema();
      const got: EventMessage[] = [];
      const close = await subscribe('task.done', (m) => void got.push(m));
      const written = await store.set('k', 'v', { event: { topic: 'task.done' }, taskId: 't-1' });
      expect(await new PgOutboxRelay(pool, bus, { tracer: otel.tracer }).relayOnce()).toBe(1);
      await waitFor(() => got.length === 1);
      await close();
      expect(got.map((m) => [m.id, m.state_version, m.key, m.task_id])).toEqual([[written.messageId, 1, 'k', 't-1']]);
      const write = ofOperation(otel.spans(), 'state.write')[0]!;
      const publish = ofOperation(otel.spans(), 'event.publish')[0]!;
      expect(publish.links.map((l) => l.context.spanId)).toEqual([write.spanContext().spanId]);
    });
  });
});
