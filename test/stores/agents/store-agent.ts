/**
 * One agent process of the store scenarios (test/stores/scenarios.test.ts): it
 * runs one role against the real servers, traces through the real OTel SDK into
 * an OTLP/JSON Lines file (flushed before each step it reports, so a SIGKILL
 * loses nothing already reported), and logs what it did as JSON lines on
 * stdout: the test's expectations come from this log, not from the trace.
 *
 * Usage: node --import tsx store-agent.ts '<json config>'; it reads `go` lines on
 * stdin where a role waits for the test to move on.
 */
import { createInterface } from 'node:readline';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import pg from 'pg';
import { OtlpJsonFileSpanExporter } from '../../../src/export/otlp-json-file-exporter.js';
import { Baton } from '../../../src/sdk/baton.js';
import { instrumentPg, PgStateStore, StateConflictError, withStateAccess } from '../../../src/stores/pg.js';
import { instrumentRedis, RedisStateStore } from '../../../src/stores/redis.js';

interface Config {
  readonly role: string;
  readonly traceFile: string;
  readonly agent: string;
  readonly taskId: string;
  readonly key: string;
  readonly pg?: pg.ClientConfig;
  readonly redis?: { host: string; port: number };
  readonly topic?: string;
  /** For the read-modify-write roles: write as a compare-and-set on the version read. */
  readonly cas?: boolean;
}

const config = JSON.parse(process.argv[2]!) as Config;
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new OtlpJsonFileSpanExporter(config.traceFile, { append: true }))] });
const tracer = provider.getTracer('store-agent');
const baton = new Baton({ tracer });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function log(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ agent: config.agent, ...entry })}\n`);
}

/** Flushes the spans so far to the file, then logs `entry`; waits for `go` when asked. */
async function report(entry: Record<string, unknown>, wait = false): Promise<void> {
  await provider.forceFlush();
  log(entry);
  if (wait) await lines.next();
}

const tables = { agent_state: { key: 'id', version: 'rev' } };

async function main(): Promise<void> {
  switch (config.role) {
    // Reads twice inside one REPEATABLE READ transaction, the test letting another agent write in between.
    case 'snapshot-reader': {
      const client = instrumentPg(new pg.Client(config.pg), { tracer, tables });
      await client.connect();
      await baton.runAgent(config.agent, async () => {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        const first = await client.query('SELECT doc, rev FROM agent_state WHERE id = $1', [config.key]);
        await report({ step: 'read', rev: first.rows[0].rev }, true);
        const second = await client.query('SELECT doc, rev FROM agent_state WHERE id = $1', [config.key]);
        await client.query('COMMIT');
        await report({ step: 'decided', rev: second.rows[0].rev });
      }, { taskId: config.taskId });
      await client.end();
      break;
    }
    case 'fresh-reader': {
      const client = instrumentPg(new pg.Client(config.pg), { tracer, tables });
      await client.connect();
      await baton.runAgent(config.agent, async () => {
        const read = await client.query('SELECT doc, rev FROM agent_state WHERE id = $1', [config.key]);
        await report({ step: 'decided', rev: read.rows[0].rev });
      }, { taskId: config.taskId });
      await client.end();
      break;
    }
    case 'writer': {
      const client = instrumentPg(new pg.Client(config.pg), { tracer, tables });
      await client.connect();
      await baton.runAgent(config.agent, async () => {
        const { rows } = await client.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 RETURNING rev', [config.key, `by ${config.agent}`]);
        await report({ step: 'wrote', rev: rows[0].rev });
      }, { taskId: config.taskId });
      await client.end();
      break;
    }
    // Commits a write that announces an event, reports it, then waits to publish: the test kills it first.
    case 'naive-announcer': {
      const client = instrumentPg(new pg.Client(config.pg), { tracer, tables });
      await client.connect();
      await baton.runAgent(config.agent, async () => {
        const { rows } = await withStateAccess({ announces: config.topic, step: 'output' }, () =>
          client.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 RETURNING rev', [config.key, 'result']),
        );
        await report({ step: 'committed', rev: rows[0].rev }, true);
        await client.query('SELECT pg_notify($1, $2)', [config.topic, JSON.stringify({ id: 'never', key: config.key })]);
        await report({ step: 'published' });
      }, { taskId: config.taskId });
      await client.end();
      break;
    }
    // The same with the outbox: the event row commits with the write.
    case 'outbox-announcer': {
      const pool = new pg.Pool(config.pg);
      const store = new PgStateStore<string>(pool, { tracer });
      await baton.runAgent(config.agent, async () => {
        const result = await store.set(config.key, 'result', { taskId: config.taskId, agent: config.agent, step: 'output', event: { topic: config.topic! } });
        await report({ step: 'committed', version: result.version, messageId: result.messageId }, true);
      }, { taskId: config.taskId });
      await pool.end();
      break;
    }
    case 'redis-naive-announcer': {
      const redis = instrumentRedis(new Redis(config.redis!.port, config.redis!.host), { tracer });
      await baton.runAgent(config.agent, async () => {
        const fields = { version: '1', doc: 'result' };
        await withStateAccess({ announces: config.topic, step: 'output' }, () => redis.hset(config.key, fields));
        await report({ step: 'committed', version: 1 }, true);
        await redis.xadd(config.topic!, '*', 'key', config.key);
      }, { taskId: config.taskId });
      redis.disconnect();
      break;
    }
    case 'redis-atomic-announcer': {
      const redis = new Redis(config.redis!.port, config.redis!.host);
      const store = new RedisStateStore<string>(redis, { tracer });
      await baton.runAgent(config.agent, async () => {
        const result = await store.set(config.key, 'result', { taskId: config.taskId, agent: config.agent, step: 'output', event: { topic: config.topic! } });
        await report({ step: 'committed', version: result.version, messageId: result.messageId }, true);
      }, { taskId: config.taskId });
      redis.disconnect();
      break;
    }
    // Reads the version, waits for the test, then compare-and-sets against what it read.
    case 'cas-writer': {
      const pool = new pg.Pool(config.pg);
      const store = new PgStateStore<string>(pool, { tracer });
      await baton.runAgent(config.agent, async () => {
        const entry = await store.get(config.key);
        await report({ step: 'read', version: entry?.version }, true);
        try {
          const result = await store.set(config.key, `by ${config.agent}`, { expectedVersion: entry?.version ?? 0, agent: config.agent, taskId: config.taskId });
          await report({ step: 'wrote', version: result.version });
        } catch (error) {
          if (!(error instanceof StateConflictError)) throw error;
          await report({ step: 'conflict', expected: error.expectedVersion, actual: error.actualVersion });
        }
      }, { taskId: config.taskId });
      await pool.end();
      break;
    }
    // Read-modify-write of a JSON document with a version field: GET, wait for the test, then SET it back
    // with the agent's item added and version + 1, through the instrumented client (plain, last writer wins);
    // with `cas`, the same through RedisStateStore, as a compare-and-set on the version read.
    case 'redis-rmw': {
      const connection = new Redis(config.redis!.port, config.redis!.host);
      // The pattern store traces its own reads and writes; the plain path goes through the instrumented client.
      const redis = config.cas ? connection : instrumentRedis(connection, { tracer });
      const store = new RedisStateStore<{ items: string[] }>(connection, { tracer });
      await baton.runAgent(config.agent, async () => {
        if (config.cas) {
          const entry = await store.get(config.key);
          await report({ step: 'read', version: entry?.version }, true);
          try {
            const result = await store.set(config.key, { items: [...(entry?.value.items ?? []), config.agent] }, { expectedVersion: entry?.version ?? 0, agent: config.agent, taskId: config.taskId });
            await report({ step: 'wrote', version: result.version });
          } catch (error) {
            if (!(error instanceof StateConflictError)) throw error;
            await report({ step: 'conflict', expected: error.expectedVersion, actual: error.actualVersion });
          }
          return;
        }
        const doc = JSON.parse((await redis.get(config.key))!) as { version: number; items: string[] };
        await report({ step: 'read', version: doc.version }, true);
        const next = { version: doc.version + 1, items: [...doc.items, config.agent] };
        await redis.set(config.key, JSON.stringify(next));
        await report({ step: 'wrote', version: next.version });
      }, { taskId: config.taskId });
      redis.disconnect();
      break;
    }
    // The same on a PostgreSQL row: SELECT, wait, then UPDATE with the agent's part appended and rev + 1
    // (the version the database assigns, RETURNING it); with `cas`, only WHERE rev is the version read.
    case 'pg-rmw': {
      const client = instrumentPg(new pg.Client(config.pg), { tracer, tables });
      await client.connect();
      await baton.runAgent(config.agent, async () => {
        const { rows } = await client.query('SELECT doc, rev FROM agent_state WHERE id = $1', [config.key]);
        const { doc, rev } = rows[0] as { doc: string; rev: number };
        await report({ step: 'read', rev }, true);
        const updated = config.cas
          ? await client.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 AND rev = $3 RETURNING rev', [config.key, `${doc}+${config.agent}`, rev])
          : await client.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 RETURNING rev', [config.key, `${doc}+${config.agent}`]);
        if (updated.rows.length === 0) await report({ step: 'conflict', expected: rev });
        else await report({ step: 'wrote', rev: updated.rows[0].rev });
      }, { taskId: config.taskId });
      await client.end();
      break;
    }
    default:
      throw new Error(`unknown role ${config.role}`);
  }
}

await main();
await provider.shutdown();
process.exit(0);
