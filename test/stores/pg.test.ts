/**
 * baton-sdk/pg against a real PostgreSQL (a private cluster per file on a free
 * loopback port): the spans of an instrumented Pool and Client, the host's
 * results and errors unchanged, and the versioned store, outbox relay and
 * LISTEN/NOTIFY bus of the pattern.
 */
import { diag, DiagLogLevel, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../src/model/envelope.js';
import {
  BATON_ATTEMPT,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_FAULT_COUNT,
  BATON_OPERATION,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TASK_ID,
  DB_COLLECTION_NAME,
  DB_SYSTEM_NAME,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_SYSTEM,
} from '../../src/model/attributes.js';
import { Baton } from '../../src/sdk/baton.js';
import {
  instrumentPg,
  PgNotifyBus,
  pgInstrumentationStats,
  PgOutboxRelay,
  PgStateStore,
  StaleEpochWriteError,
  StateConflictError,
  withStateAccess,
} from '../../src/stores/pg.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startPostgres, type RunningPostgres } from '../helpers/servers.js';

const skip = shouldSkipStoreTests();

let server: RunningPostgres;
let admin: pg.Pool;
let otel: OtelHarness;
let baton: Baton;
const pools: pg.Pool[] = [];

function newPool(): pg.Pool {
  const pool = new pg.Pool({ ...server.connection, max: 4 });
  pools.push(pool);
  return pool;
}

function byOperation(spans: readonly ReadableSpan[], operation: string): ReadableSpan[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] === operation);
}

function eventually<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const value = check();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe.skipIf(skip)('baton-sdk/pg', () => {
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool(server.connection);
  });
  afterAll(async () => {
    for (const pool of pools) {
      await pool.end();
      if (pool.totalCount > 0) console.warn(`pool still holds ${pool.totalCount} clients after end()`);
    }
    await admin?.end();
    await server?.stop();
  });
  beforeEach(async () => {
    otel = createOtelHarness();
    baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    await admin.query(`
      DROP TABLE IF EXISTS agent_state, baton_state, baton_idempotency, baton_outbox;
      CREATE TABLE agent_state (id text PRIMARY KEY, doc text NOT NULL, rev int NOT NULL, stage int);
    `);
  });
  afterEach(async () => {
    await otel.shutdown();
  });

  const tables = { agent_state: { key: 'id', version: 'rev', epoch: 'stage' } };

  describe('instrumentPg', () => {
    it('reads key, version and epoch of the app’s own table from INSERT, UPDATE … RETURNING, compare-and-set UPDATE and SELECT', async () => {
      const pool = instrumentPg(newPool(), { tracer: otel.tracer, tables });
      await withStateAccess({ agent: 'research', taskId: 't-1', attempt: 1 }, async () => {
        await pool.query('INSERT INTO agent_state (id, doc, rev, stage) VALUES ($1, $2, 1, $3)', ['t-1', 'a', 1]);
        await pool.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 RETURNING rev, stage', ['t-1', 'b']);
        await pool.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 AND rev = $3', ['t-1', 'c', 2]);
        // A stale compare-and-set: zero rows, nothing written, the expected version recorded.
        const refused = await pool.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 AND rev = $3', ['t-1', 'x', 2]);
        expect(refused.rowCount).toBe(0);
      });
      const { rows } = await withStateAccess({ agent: 'analysis' }, () => pool.query('SELECT doc, rev, stage FROM agent_state WHERE id = $1', ['t-1']));
      expect(rows).toEqual([{ doc: 'c', rev: 3, stage: 1 }]);
      await pool.query('SELECT doc, rev FROM agent_state WHERE id = $1', ['none']);
      const spans = otel.spans();
      expect(spans.map((s) => [s.name, s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ]])).toEqual([
        ['write agent_state', 1],
        ['write agent_state', 2],
        ['write agent_state', 3],
        ['write agent_state', undefined],
        ['read agent_state', 3],
        ['read agent_state', undefined],
      ]);
      expect(spans[0]!.kind).toBe(SpanKind.CLIENT);
      expect(spans[0]!.attributes).toMatchObject({
        [BATON_OPERATION]: 'state.write',
        [DB_SYSTEM_NAME]: 'postgresql',
        [DB_COLLECTION_NAME]: 'agent_state',
        [BATON_STATE_KEY]: 't-1',
        [BATON_EPOCH]: 1,
        [GEN_AI_AGENT_NAME]: 'research',
        [BATON_TASK_ID]: 't-1',
        [BATON_ATTEMPT]: 1,
      });
      expect(spans[2]!.attributes[BATON_STATE_VERSION_EXPECTED]).toBe(2);
      expect(spans[3]!.attributes[BATON_STATE_VERSION_EXPECTED]).toBe(2);
      expect(spans[4]!.attributes).toMatchObject({ [BATON_STATE_FOUND]: true, [BATON_EPOCH]: 1, [GEN_AI_AGENT_NAME]: 'analysis' });
      expect(spans[5]!.attributes[BATON_STATE_FOUND]).toBe(false);
    });

    it('leaves other tables, DDL and multi-row statements alone', async () => {
      const pool = instrumentPg(newPool(), { tracer: otel.tracer, tables });
      await pool.query('SELECT 1');
      await pool.query('CREATE TEMP TABLE scratch (id text)');
      await pool.query('SELECT * FROM agent_state');
      await pool.query('SELECT * FROM pg_class WHERE relname = $1', ['agent_state']);
      expect(otel.spans()).toEqual([]);
    });

    it('instruments a Client too, with callbacks and query config objects', async () => {
      const client = instrumentPg(new pg.Client(server.connection), { tracer: otel.tracer, tables });
      await client.connect();
      try {
        await client.query({ text: 'INSERT INTO agent_state (id, doc, rev) VALUES ($1, $2, $3)', values: ['k', 'd', 5] });
        const rows = await new Promise<unknown[]>((resolve, reject) =>
          client.query('SELECT rev FROM agent_state WHERE id = $1', ['k'], (error, result) => (error ? reject(error) : resolve(result.rows))),
        );
        expect(rows).toEqual([{ rev: 5 }]);
      } finally {
        await client.end();
      }
      expect(otel.spans().map((s) => s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ])).toEqual([5, 5]);
      expect(pgInstrumentationStats(client)?.stateSpans).toBe(2);
    });

    it('records a failed statement and a statement timeout on the span; the host gets the driver’s error', async () => {
      const pool = instrumentPg(new pg.Pool({ ...server.connection, statement_timeout: 100 }), { tracer: otel.tracer, tables });
      pools.push(pool);
      await pool.query('INSERT INTO agent_state (id, doc, rev) VALUES ($1, $2, 1)', ['dup', 'a']);
      const duplicate = await pool.query('INSERT INTO agent_state (id, doc, rev) VALUES ($1, $2, 1)', ['dup', 'b']).catch((e: unknown) => e);
      expect((duplicate as { code?: string }).code).toBe('23505');
      const slow = await pool.query('SELECT doc, pg_sleep(1) FROM agent_state WHERE id = $1', ['dup']).catch((e: unknown) => e);
      expect((slow as Error).message).toMatch(/statement timeout/);
      const [, failed, timedOut] = otel.spans();
      expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
      expect(failed!.attributes[ERROR_TYPE]).toBe('23505');
      // The server cancelled (and rolled back) the statement: its SQLSTATE, not the `timeout` of a lost reply that may have committed.
      expect((slow as { code?: string }).code).toBe('57014');
      expect(timedOut!.attributes[ERROR_TYPE]).toBe('57014');
    });

    it('counts a fault in an extractor, reports it once through diag, and still returns the rows', async () => {
      const warnings: string[] = [];
      diag.setLogger({ warn: (m: string) => warnings.push(m), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
      try {
        const pool = instrumentPg(newPool(), {
          tracer: otel.tracer,
          tables,
          extract: () => {
            throw new Error('extractor bug');
          },
        });
        await pool.query('INSERT INTO agent_state (id, doc, rev) VALUES ($1, $2, 1)', ['f', 'a']);
        const { rows } = await pool.query('SELECT doc FROM agent_state WHERE id = $1', ['f']);
        expect(rows).toEqual([{ doc: 'a' }]);
        expect(pgInstrumentationStats(pool)?.faults).toBe(2);
        expect(warnings.filter((w) => w.includes('extractor bug'))).toHaveLength(1);
        expect(otel.spans().every((s) => s.attributes[BATON_FAULT_COUNT] === 1)).toBe(true);
      } finally {
        diag.disable();
      }
    });

    it('carries the producer’s trace context in a pg_notify JSON payload and runs the listener in a consume span linked to it', async () => {
      const pool = instrumentPg(newPool(), { tracer: otel.tracer, tables });
      const listener = await pool.connect();
      const received: string[] = [];
      listener.on('notification', (note) => received.push(note.payload ?? ''));
      await listener.query('LISTEN task_done');
      await baton.runAgent('research', () => pool.query('SELECT pg_notify($1, $2)', ['task_done', JSON.stringify({ id: 'm-1', n: 1 })]), { taskId: 't-1' });
      await eventually(() => (received.length > 0 ? true : undefined));
      listener.release();
      const payload = JSON.parse(received[0]!) as { id: string; n: number; trace_context: { traceparent: string } };
      const publish = byOperation(otel.spans(), 'event.publish')[0]!;
      const receive = byOperation(otel.spans(), 'event.consume')[0]!;
      expect(payload).toMatchObject({ id: 'm-1', n: 1 });
      expect(payload.trace_context.traceparent).toBe(`00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`);
      expect(publish.attributes).toMatchObject({ [MESSAGING_SYSTEM]: 'postgresql', [MESSAGING_DESTINATION_NAME]: 'task_done', [MESSAGING_MESSAGE_ID]: 'm-1', [BATON_TASK_ID]: 't-1' });
      expect(receive.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);
      expect(receive.attributes[MESSAGING_MESSAGE_ID]).toBe('m-1');
    });
  });

  describe('PgStateStore', () => {
    it('versions each key from 1, refuses a stale expected version, and records the conflict on the span', async () => {
      const store = new PgStateStore<{ n: number }>(newPool(), { tracer: otel.tracer });
      await store.ensureSchema();
      expect(await store.get('k')).toBeUndefined();
      expect(await store.set('k', { n: 1 }, { expectedVersion: 0 })).toEqual({ version: 1, epoch: undefined });
      expect(await store.set('k', { n: 2 }, { expectedVersion: 1 })).toMatchObject({ version: 2 });
      const conflict = await store.set('k', { n: 3 }, { expectedVersion: 1 }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(StateConflictError);
      expect(conflict).toMatchObject({ key: 'k', expectedVersion: 1, actualVersion: 2 });
      expect(await store.get('k')).toEqual({ value: { n: 2 }, version: 2 });
      const writes = byOperation(otel.spans(), 'state.write');
      expect(writes[2]!.attributes[ERROR_TYPE]).toBe('BATON_STATE_CONFLICT');
      expect(byOperation(otel.spans(), 'state.read').map((s) => s.attributes[BATON_STATE_VERSION_READ])).toEqual([undefined, 2]);
    });

    it('deduplicates a repeated idempotency key, fences old epochs, and serializes concurrent writers of one key', async () => {
      const pool = newPool();
      const store = new PgStateStore<string>(pool, { tracer: otel.tracer });
      await store.ensureSchema();
      await store.set('k', 'first', { idempotencyKey: 'op-1', epoch: 1 });
      expect(await store.set('k', 'retry', { idempotencyKey: 'op-1', expectedVersion: 0, attempt: 2 })).toEqual({
        version: 1,
        epoch: 1,
        deduplicated: true,
      });
      expect(byOperation(otel.spans(), 'state.write')[1]!.attributes[BATON_STATE_DEDUPLICATED]).toBe(true);
      expect(await store.advanceEpoch('k')).toBe(2);
      await expect(store.set('k', 'zombie', { epoch: 1 })).rejects.toBeInstanceOf(StaleEpochWriteError);
      // Ten writers expecting version 1: exactly one wins, the others get a conflict.
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.set('k', `w${i}`, { expectedVersion: 1, epoch: 2 })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof StateConflictError)).toHaveLength(9);
      expect((await store.get('k'))?.version).toBe(2);
    });

    it('writes the completion event to the outbox in the write’s transaction; the relay publishes it linked to the writer', async () => {
      const pool = newPool();
      const store = new PgStateStore<string>(pool, { tracer: otel.tracer });
      await store.ensureSchema();
      const bus = new PgNotifyBus(baton, pool, { tracer: otel.tracer });
      const got: EventMessage[] = [];
      const subscription = await bus.listen('task.done', (m) => void got.push(m), { agent: 'coordinator' });
      const written = await store.set('t-1/out', 'v1', { taskId: 't-1', agent: 'research', event: { topic: 'task.done', payload: { ok: true } } });
      await store.set('t-1/out', 'refused', { expectedVersion: 0, event: { topic: 'task.done' } }).catch(() => undefined);
      const { rows } = await admin.query('SELECT id, state_version, published_at FROM baton_outbox');
      expect(rows).toEqual([{ id: written.messageId, state_version: '1', published_at: null }]);
      const relay = new PgOutboxRelay(pool, bus, { tracer: otel.tracer });
      expect(await relay.relayOnce()).toBe(1);
      expect(await relay.relayOnce()).toBe(0);
      await eventually(() => (got.length > 0 ? true : undefined));
      await subscription.close();
      expect(got.map((m) => [m.id, m.state_version, m.payload])).toEqual([[written.messageId, 1, { ok: true }]]);
      const spans = otel.spans();
      const write = byOperation(spans, 'state.write')[0]!;
      const publish = byOperation(spans, 'event.publish')[0]!;
      const consume = byOperation(spans, 'event.consume')[0]!;
      expect(write.attributes[BATON_EVENT_EXPECTED_TOPIC]).toBe('task.done');
      expect(publish.spanContext().traceId).not.toBe(write.spanContext().traceId);
      expect(publish.links.map((l) => l.context.spanId)).toEqual([write.spanContext().spanId]);
      expect(publish.attributes).toMatchObject({ [MESSAGING_MESSAGE_ID]: written.messageId, [BATON_STATE_VERSION_WRITTEN]: 1, [BATON_TASK_ID]: 't-1' });
      expect(consume.attributes).toMatchObject({ [MESSAGING_MESSAGE_ID]: written.messageId, [GEN_AI_AGENT_NAME]: 'coordinator' });
      expect(consume.spanContext().traceId).toBe(publish.spanContext().traceId);
    });
  });
});

describe('instrumentPg on something that is not a pool or client', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
  ])('hands %s back untouched and says so once through diag, instead of throwing into the host', (label, target) => {
    const warnings: string[] = [];
    diag.setLogger({ warn: (m: string) => warnings.push(m), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
    try {
      // An app whose pool is made later, or only in production: `instrumentPg(app.pool)` at start-up.
      expect(instrumentPg(target as unknown as pg.Pool)).toBe(target);
      expect(warnings).toEqual([`baton: instrumentPg needs a pg Pool or Client, got ${label}: nothing is traced`]);
    } finally {
      diag.disable();
    }
  });
});
