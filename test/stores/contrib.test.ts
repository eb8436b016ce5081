/**
 * Baton's spans beside the OpenTelemetry contrib instrumentations of the same
 * drivers (@opentelemetry/instrumentation-ioredis, -redis and -pg), on real servers: with
 * the contrib registered, each command has exactly one CLIENT span (the
 * driver's) and Baton's span is INTERNAL, its parent; with it disabled, Baton's
 * span is the CLIENT span. Detection is per command, so both halves run on the
 * same clients one after the other.
 */
import { createRequire } from 'node:module';
import { SpanKind } from '@opentelemetry/api';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON_OPERATION, BATON_STATE_VERSION_READ, BATON_STATE_VERSION_WRITTEN, DB_SYSTEM_NAME } from '../../src/model/attributes.js';
import { instrumentNodeRedis } from '../../src/stores/node-redis.js';
import { instrumentPg, PgStateStore } from '../../src/stores/pg.js';
import { instrumentRedis, RedisStateStore } from '../../src/stores/redis.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startPostgres, startRedis, type RunningPostgres, type RunningServer } from '../helpers/servers.js';

const skip = shouldSkipStoreTests();
const require = createRequire(import.meta.url);

let redisServer: RunningServer;
let pgServer: RunningPostgres;
let otel: OtelHarness;
let redisContrib: IORedisInstrumentation;
let pgContrib: PgInstrumentation;
let nodeRedisContrib: RedisInstrumentation;

/** node-redis was imported before the instrumentation existed: requiring the files it patches again runs the patch. */
function patchNodeRedis(): void {
  require('@redis/client/dist/lib/client/index.js');
  require('@redis/client/dist/lib/client/multi-command.js');
}

/** Spans of one kind. */
function ofKind(spans: readonly ReadableSpan[], kind: SpanKind): ReadableSpan[] {
  return spans.filter((s) => s.kind === kind);
}

function isBaton(span: ReadableSpan): boolean {
  return span.attributes[BATON_OPERATION] !== undefined;
}

describe.skipIf(skip)('beside the contrib instrumentations', () => {
  beforeAll(async () => {
    [redisServer, pgServer] = await Promise.all([startRedis(), startPostgres()]);
    otel = createOtelHarness();
    redisContrib = new IORedisInstrumentation({ requireParentSpan: false });
    pgContrib = new PgInstrumentation({ requireParentSpan: false });
    nodeRedisContrib = new RedisInstrumentation({ requireParentSpan: false });
    redisContrib.setTracerProvider(otel.provider);
    pgContrib.setTracerProvider(otel.provider);
    nodeRedisContrib.setTracerProvider(otel.provider);
    redisContrib.enable();
    pgContrib.enable();
    nodeRedisContrib.enable();
    patchNodeRedis();
    // The modules were imported before the instrumentations existed: requiring them again runs the patch.
    require('ioredis');
    require('pg');
  });
  afterAll(async () => {
    redisContrib?.disable();
    pgContrib?.disable();
    nodeRedisContrib?.disable();
    await otel?.shutdown();
    await Promise.all([redisServer?.stop(), pgServer?.stop()]);
  });

  it('ioredis: one CLIENT span per command, the driver’s, under Baton’s INTERNAL state span; Baton’s is CLIENT once the contrib is off', async () => {
    const redis = instrumentRedis(new Redis(redisServer.port, redisServer.host), { tracer: otel.tracer });
    const store = new RedisStateStore<string>(redis, { tracer: otel.tracer });
    try {
      // Connected first: the handshake (CLIENT SETNAME, INFO) and the offline queue's resend are the driver's business.
      await redis.ping();
      otel.reset();
      await redis.hset('task:t-1', { version: 1, doc: 'a' });
      await redis.hgetall('task:t-1');
      await redis.ping();
      await store.set('k', 'v', { expectedVersion: 0 });
      const on = otel.spans();
      const clients = ofKind(on, SpanKind.CLIENT);
      expect(clients.every((s) => !isBaton(s) && s.attributes[DB_SYSTEM_NAME] === 'redis')).toBe(true);
      // The store's script: EVALSHA answers NOSCRIPT the first time, then EVAL loads it.
      expect(clients.map((s) => s.name)).toEqual(['hset', 'hgetall', 'ping', 'evalsha', 'eval']);
      const batonSpans = on.filter(isBaton);
      expect(batonSpans.map((s) => [s.name, s.kind])).toEqual([
        ['write task', SpanKind.INTERNAL],
        ['read task', SpanKind.INTERNAL],
        ['write baton_state', SpanKind.INTERNAL],
      ]);
      // Each driver span of a state command is a child of Baton's span.
      const [hset, hgetall] = clients;
      expect(hset!.parentSpanContext?.spanId).toBe(batonSpans[0]!.spanContext().spanId);
      expect(hgetall!.parentSpanContext?.spanId).toBe(batonSpans[1]!.spanContext().spanId);
      const scriptSpans = clients.filter((s) => s.name === 'evalsha' || s.name === 'eval');
      expect(scriptSpans.every((s) => s.parentSpanContext?.spanId === batonSpans[2]!.spanContext().spanId)).toBe(true);

      redisContrib.disable();
      otel.reset();
      await redis.hset('task:t-1', { version: 2 });
      await store.set('k', 'v2', { expectedVersion: 1 });
      const off = otel.spans();
      expect(off.map((s) => [s.name, s.kind, s.attributes[BATON_STATE_VERSION_WRITTEN]])).toEqual([
        ['write task', SpanKind.CLIENT, 2],
        ['write baton_state', SpanKind.CLIENT, 2],
      ]);
    } finally {
      redisContrib.enable();
      require('ioredis');
      redis.disconnect();
    }
  });

  it('node-redis: one CLIENT span per command, the driver’s; Baton’s INTERNAL span is the parent of a single command’s; Baton’s is CLIENT once the contrib is off', async () => {
    const client = instrumentNodeRedis(createClient({ socket: { host: redisServer.host, port: redisServer.port } }), { tracer: otel.tracer });
    try {
      await client.connect();
      await client.ping();
      otel.reset();
      await client.hSet('task:n-1', { version: 1, doc: 'a' });
      await client.hGetAll('task:n-1');
      await client.ping();
      await client.multi().hSet('task:n-1', { version: 2 }).hGetAll('task:n-1').exec();
      const on = otel.spans();
      const clients = ofKind(on, SpanKind.CLIENT);
      expect(clients.every((s) => !isBaton(s))).toBe(true);
      expect(clients.map((s) => s.name).sort()).toEqual(['redis-HGETALL', 'redis-HGETALL', 'redis-HSET', 'redis-HSET', 'redis-PING']);
      const batonSpans = on.filter(isBaton);
      expect(batonSpans.map((s) => [s.name, s.kind, s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ]])).toEqual([
        ['write task', SpanKind.INTERNAL, 1],
        ['read task', SpanKind.INTERNAL, 1],
        ['write task', SpanKind.INTERNAL, 2],
        ['read task', SpanKind.INTERNAL, 2],
      ]);
      const single = clients.filter((s) => s.attributes['db.operation.name'] !== undefined && !String(s.attributes['db.operation.name']).startsWith('MULTI'));
      const [hset, hgetall] = single.filter((s) => s.name !== 'redis-PING');
      expect(hset!.parentSpanContext?.spanId).toBe(batonSpans[0]!.spanContext().spanId);
      expect(hgetall!.parentSpanContext?.spanId).toBe(batonSpans[1]!.spanContext().spanId);

      nodeRedisContrib.disable();
      otel.reset();
      await client.hSet('task:n-1', { version: 3 });
      await client.multi().hGetAll('task:n-1').exec();
      expect(otel.spans().map((s) => [s.name, s.kind, s.attributes[BATON_STATE_VERSION_WRITTEN] ?? s.attributes[BATON_STATE_VERSION_READ]])).toEqual([
        ['write task', SpanKind.CLIENT, 3],
        ['read task', SpanKind.CLIENT, 3],
      ]);
    } finally {
      nodeRedisContrib.enable();
      patchNodeRedis();
      client.destroy();
    }
  });

  it('pg: one CLIENT span per statement, the driver’s, under Baton’s INTERNAL span; Baton’s is CLIENT once the contrib is off', async () => {
    const pool = instrumentPg(new pg.Pool(pgServer.connection), { tracer: otel.tracer, tables: { agent_state: { key: 'id', version: 'rev' } } });
    const store = new PgStateStore<string>(pool, { tracer: otel.tracer });
    try {
      await pool.query('CREATE TABLE agent_state (id text PRIMARY KEY, rev int NOT NULL)');
      await store.ensureSchema();
      otel.reset();
      await pool.query('INSERT INTO agent_state (id, rev) VALUES ($1, $2)', ['a', 1]);
      await store.set('k', 'v', { expectedVersion: 0 });
      const on = otel.spans();
      const batonSpans = on.filter(isBaton);
      expect(batonSpans.map((s) => [s.name, s.kind])).toEqual([
        ['write agent_state', SpanKind.INTERNAL],
        ['write baton_state', SpanKind.INTERNAL],
      ]);
      const statementSpans = on.filter((s) => !isBaton(s) && s.kind === SpanKind.CLIENT && s.attributes[DB_SYSTEM_NAME] === 'postgresql');
      // The INSERT, and the store's BEGIN … COMMIT: every CLIENT span is the driver's.
      expect(ofKind(on, SpanKind.CLIENT).every((s) => !isBaton(s))).toBe(true);
      expect(statementSpans[0]!.parentSpanContext?.spanId).toBe(batonSpans[0]!.spanContext().spanId);
      const storeStatements = statementSpans.filter((s) => s.parentSpanContext?.spanId === batonSpans[1]!.spanContext().spanId);
      expect(storeStatements.length).toBeGreaterThanOrEqual(5);

      pgContrib.disable();
      otel.reset();
      await pool.query('UPDATE agent_state SET rev = rev + 1 WHERE id = $1 RETURNING rev', ['a']);
      await store.set('k', 'v2', { expectedVersion: 1 });
      expect(otel.spans().map((s) => [s.name, s.kind, s.attributes[BATON_STATE_VERSION_WRITTEN]])).toEqual([
        ['write agent_state', SpanKind.CLIENT, 2],
        ['write baton_state', SpanKind.CLIENT, 2],
      ]);
    } finally {
      pgContrib.enable();
      require('pg');
      await pool.end();
    }
  });
});
