/**
 * baton-sdk/node-redis against a real redis-server (started per file on a free
 * loopback port): what only the node-redis adapter does (proxies of a client,
 * sendCommand, socket timeouts, transactions and pipelines through
 * _executeMulti/_executePipeline); then two state failures made for real with it
 * and audited (a read from a replica cut off from its primary, a step retried
 * after its connection dropped), each beside its near miss. What both Redis
 * adapters do is in redis-adapters.test.ts.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createClient, createClientPool, type RedisClientType } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditSpans } from '../../src/analyze/audit.js';
import {
  BATON_ATTEMPT,
  BATON_EPOCH,
  BATON_OPERATION,
  BATON_STATE_FOUND,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
} from '../../src/model/attributes.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { Baton } from '../../src/sdk/baton.js';
import { instrumentNodeRedis, nodeRedisInstrumentationStats, withStateAccess } from '../../src/stores/node-redis.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startRedis, type RunningServer } from '../helpers/servers.js';
import { toSpanRecords } from '../helpers/traces.js';

const skip = shouldSkipStoreTests();

type Client = RedisClientType;

let server: RunningServer;
let otel: OtelHarness;
let baton: Baton;
const clients: Client[] = [];

interface ConnectOptions {
  RESP?: 2 | 3;
  port?: number;
  disableOfflineQueue?: boolean;
  reconnectDelayMs?: number;
  socketTimeoutMs?: number;
}

async function connect(options: ConnectOptions = {}): Promise<Client> {
  const client = createClient({
    RESP: options.RESP ?? 2,
    disableOfflineQueue: options.disableOfflineQueue,
    socket: {
      host: server.host,
      port: options.port ?? server.port,
      reconnectStrategy: () => options.reconnectDelayMs ?? 50,
      socketTimeout: options.socketTimeoutMs,
    },
  }) as Client;
  client.on('error', () => undefined); // a killed connection is reported to the commands in flight
  clients.push(client);
  await client.connect();
  return client;
}

function byOperation(spans: readonly ReadableSpan[], operation: string): ReadableSpan[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] === operation);
}

function versionOf(span: ReadableSpan): unknown {
  return span.attributes[BATON_STATE_VERSION_WRITTEN] ?? span.attributes[BATON_STATE_VERSION_READ];
}

describe.skipIf(skip)('baton-sdk/node-redis', () => {
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) if (c.isOpen) c.destroy();
    await server?.stop();
  });
  beforeEach(async () => {
    otel = createOtelHarness();
    baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const admin = await connect();
    await admin.flushAll();
    admin.destroy();
  });
  afterEach(async () => {
    await otel.shutdown();
  });

  describe('instrumentNodeRedis', () => {
    it('traces the proxies of a client (withTypeMapping, Buffer replies) and commands sent with sendCommand', async () => {
      const client = instrumentNodeRedis(await connect({ RESP: 3 }), { tracer: otel.tracer });
      await client.sendCommand(['HSET', 'task:p', 'version', '8']);
      const asBuffers = client.withTypeMapping({ [36 /* RESP blob string */]: Buffer });
      const reply = await asBuffers.hGet('task:p', 'version');
      expect(Buffer.isBuffer(reply)).toBe(true);
      expect(otel.spans().map((s) => [s.name, versionOf(s)])).toEqual([
        ['write task', 8],
        ['read task', 8],
      ]);
    });

    it('records a socket timeout as error.type timeout while the server is paused', async () => {
      const admin = await connect();
      // node-redis' per-command `timeout` only covers a command not yet written; a written one waits for the socket's.
      const client = instrumentNodeRedis(await connect({ socketTimeoutMs: 100 }), { tracer: otel.tracer });
      await client.set('task:t', '1');
      await admin.sendCommand(['CLIENT', 'PAUSE', '400', 'ALL']);
      const error = await client.get('task:t').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).constructor.name).toBe('SocketTimeoutError');
      const timedOut = otel.spans().find((s) => s.name === 'read task')!;
      expect(timedOut.attributes[ERROR_TYPE]).toBe('timeout');
      expect(timedOut.status.code).toBe(SpanStatusCode.ERROR);
      await new Promise((resolve) => setTimeout(resolve, 450));
    });

    it('a state command the client refuses at once (offline, no offline queue) is one failed span with its error, timed from the call', async () => {
      const admin = await connect();
      const client = instrumentNodeRedis(await connect({ disableOfflineQueue: true, reconnectDelayMs: 300 }), { tracer: otel.tracer });
      const lost = new Promise((resolve) => client.once('error', resolve));
      await admin.clientKill({ filter: 'ID', id: await client.clientId() });
      await lost;
      const calledAtMs = Date.now();
      const error = await client.hGetAll('task:t-1').catch((e: unknown) => e);
      expect((error as Error).constructor.name).toBe('ClientOfflineError');
      const reads = byOperation(otel.spans(), 'state.read');
      expect(reads.map((s) => [s.name, s.status.code, s.status.message, s.attributes[ERROR_TYPE]])).toEqual([
        ['read task', SpanStatusCode.ERROR, (error as Error).message, 'ClientOfflineError'],
      ]);
      // Made when the rejection came, before the immediate that makes a sent command's span: it starts at the call.
      expect(reads[0]!.startTime[0] * 1000 + reads[0]!.startTime[1] / 1e6).toBeGreaterThanOrEqual(calledAtMs);
      expect(nodeRedisInstrumentationStats(client)).toEqual({ stateSpans: 1, messagingSpans: 0, faults: 0 });
      await new Promise((resolve) => client.once('ready', resolve));
    });

    it('traces a client pool (createClientPool): its commands, a MULTI, and each command of an app’s own execute(fn), once each, counted as the pool’s', async () => {
      const pool = instrumentNodeRedis(createClientPool({ RESP: 2, database: 2, socket: { host: server.host, port: server.port } }, { minimum: 1, maximum: 2 }), {
        tracer: otel.tracer,
      });
      try {
        await pool.connect();
        await pool.hSet('task:p', { version: 3 });
        expect(await pool.hGetAll('task:p')).toEqual({ version: '3' });
        const read = await pool.execute(async (client) => {
          await client.hSet('task:p', { version: 4 });
          return client.hGet('task:p', 'version');
        });
        expect(read).toBe('4');
        expect(await pool.multi().hGetAll('task:p').exec()).toEqual([{ version: '4' }]);
        expect(await pool.ping()).toBe('PONG');
        const admin = await connect();
        await admin.select(2);
        expect(await admin.hGet('task:p', 'version')).toBe('4');
        const spans = otel.spans();
        expect(spans.map((s) => [s.name, s.status.code, versionOf(s)])).toEqual([
          ['write task', SpanStatusCode.UNSET, 3],
          ['read task', SpanStatusCode.UNSET, 3],
          ['write task', SpanStatusCode.UNSET, 4],
          ['read task', SpanStatusCode.UNSET, 4],
          ['read task', SpanStatusCode.UNSET, 4],
        ]);
        expect(spans.every((s) => s.attributes['db.namespace'] === '2')).toBe(true);
        expect(nodeRedisInstrumentationStats(pool)).toEqual({ stateSpans: 5, messagingSpans: 0, faults: 0 });
      } finally {
        pool.destroy();
      }
    });

    it('appends trace context to a copy of the arguments an app passes to sendCommand, never to its own array', async () => {
      const client = instrumentNodeRedis(await connect(), { tracer: otel.tracer });
      const args = ['XADD', 'events:raw', '*', 'k', 'v'];
      await client.sendCommand(args);
      await client.sendCommand(args);
      expect(args).toEqual(['XADD', 'events:raw', '*', 'k', 'v']);
      const entries = await client.xRange('events:raw', '-', '+');
      expect(entries.map((e) => Object.keys(e.message))).toEqual([
        ['k', 'traceparent'],
        ['k', 'traceparent'],
      ]);
    });

    it('settles each command of a MULTI with its own element of EXEC’s reply: a read inside the transaction has its version', async () => {
      const client = instrumentNodeRedis(await connect(), { tracer: otel.tracer });
      await client.hSet('task:m', { version: 4, epoch: 1 });
      otel.reset();
      const replies = await client.multi().hSet('task:m', { version: 5 }).ping().hGetAll('task:m').get('task:none').exec();
      expect(replies.map((r) => (r !== null && typeof r === 'object' ? { ...r } : r))).toEqual([0, 'PONG', { version: '5', epoch: '1' }, null]);
      expect(otel.spans().map((s) => [s.name, versionOf(s), s.attributes[BATON_STATE_FOUND]])).toEqual([
        ['write task', 5, undefined],
        ['read task', 5, true],
        ['read task', undefined, false],
      ]);
      expect(otel.spans()[1]!.attributes[BATON_EPOCH]).toBe(1);
    });

    it('ends the commands of a transaction WATCH aborted as failed with the driver’s WatchError; pipelines are traced too', async () => {
      const client = instrumentNodeRedis(await connect(), { tracer: otel.tracer });
      const other = await connect();
      await client.hSet('task:w', { version: 1 });
      await client.watch('task:w');
      await other.hSet('task:w', { version: 2 });
      otel.reset();
      const aborted = await client.multi().hGetAll('task:w').hSet('task:w', { version: 3 }).exec().catch((e: unknown) => e);
      expect((aborted as Error).constructor.name).toBe('WatchError');
      expect(await other.hGet('task:w', 'version')).toBe('2');
      const piped = await client.multi().hGetAll('task:w').xAdd('events:p', '*', { k: 'v' }).execAsPipeline();
      expect(piped).toHaveLength(2);
      const spans = otel.spans();
      expect(spans.map((s) => [s.name, s.status.code, versionOf(s)])).toEqual([
        ['read task', SpanStatusCode.ERROR, undefined],
        ['write task', SpanStatusCode.ERROR, undefined],
        ['read task', SpanStatusCode.UNSET, 2],
        ['publish events:p', SpanStatusCode.UNSET, undefined],
      ]);
      expect(spans[0]!.attributes[ERROR_TYPE]).toBe('WatchError');
      // Outside a transaction, a pipelined XADD carries trace context like any other.
      const [entry] = await client.xRange('events:p', '-', '+');
      expect(entry!.message.traceparent).toBe(`00-${spans[3]!.spanContext().traceId}-${spans[3]!.spanContext().spanId}-01`);
    });

    it('fails only the span of the command EXEC answered with an error; a failed pipeline’s error is on all its spans (node-redis rejects it whole)', async () => {
      const client = instrumentNodeRedis(await connect(), { tracer: otel.tracer });
      await client.set('task:s', 'plain');
      otel.reset();
      const multi = await client.multi().hGetAll('task:s').get('task:s').exec().catch((e: unknown) => e);
      expect((multi as { replies: unknown[] }).replies[1]).toBe('plain');
      const piped = await client.multi().hGetAll('task:s').get('task:s').execAsPipeline().catch((e: unknown) => e);
      expect((piped as Error).message).toMatch(/^WRONGTYPE/);
      expect(otel.spans().map((s) => [s.name, s.status.code, s.status.message?.slice(0, 9)])).toEqual([
        ['read task', SpanStatusCode.ERROR, 'WRONGTYPE'],
        ['read task', SpanStatusCode.UNSET, undefined],
        ['read task', SpanStatusCode.ERROR, 'WRONGTYPE'],
        ['read task', SpanStatusCode.ERROR, 'WRONGTYPE'],
      ]);
    });

    it('instruments a client once however often it is called, and leaves an object that is not a client alone', async () => {
      const client = await connect();
      const instrumented = instrumentNodeRedis(instrumentNodeRedis(client, { tracer: otel.tracer }), { tracer: otel.tracer });
      expect(instrumented).toBe(client);
      await instrumented.get('task:x');
      expect(otel.spans()).toHaveLength(1);
      const notAClient = { get: () => 1 };
      expect(instrumentNodeRedis(notAClient)).toBe(notAClient);
      expect(nodeRedisInstrumentationStats(notAClient)).toBeUndefined();
    });
  });

  describe('state failures made with node-redis, audited', () => {
    async function audit(spans: readonly ReadableSpan[]) {
      const records: SpanRecord[] = toSpanRecords(spans, 'node-redis');
      return { report: await auditSpans([records]), records };
    }

    it('stale read: an agent reading a replica cut off from its primary decides on a version another agent replaced; one reading the primary does not', async () => {
      const replicaServer = await startRedis();
      try {
        const primaryAdmin = await connect();
        const replicaAdmin = await connect({ port: replicaServer.port });
        await primaryAdmin.hSet('task:task-1', { version: 1, doc: 'initial' });
        // Redis 7 waits 5 s for more replicas before a diskless full sync; one is all there is.
        await primaryAdmin.configSet('repl-diskless-sync-delay', '0');
        await replicaAdmin.sendCommand(['REPLICAOF', server.host, String(server.port)]);
        await waitFor(async () => (await replicaAdmin.hGet('task:task-1', 'version')) === '1');
        // The replica loses its primary: it keeps serving what it had.
        await replicaAdmin.sendCommand(['REPLICAOF', 'NO', 'ONE']);

        const primary = instrumentNodeRedis(await connect(), { tracer: otel.tracer });
        const replica = instrumentNodeRedis(await connect({ port: replicaServer.port }), { tracer: otel.tracer });
        const log: Record<string, unknown>[] = [];
        await baton.runAgent('editor', async () => {
          const { version } = await primary.hGetAll('task:task-1');
          await primary.hSet('task:task-1', { version: Number(version) + 1, doc: 'edited' });
          log.push({ agent: 'editor', wrote: Number(version) + 1 });
        }, { taskId: 'task-1' });
        await baton.runAgent('analyst', async () => {
          const { version, doc } = await replica.hGetAll('task:task-1');
          log.push({ agent: 'analyst', decidedOn: Number(version), doc });
        }, { taskId: 'task-1' });
        await baton.runAgent('reviewer', async () => {
          const { version } = await primary.hGetAll('task:task-1');
          log.push({ agent: 'reviewer', decidedOn: Number(version) });
        }, { taskId: 'task-1' });

        // What the agents did: the analyst decided on version 1 after the editor wrote version 2.
        expect(log).toEqual([
          { agent: 'editor', wrote: 2 },
          { agent: 'analyst', decidedOn: 1, doc: 'initial' },
          { agent: 'reviewer', decidedOn: 2 },
        ]);
        const { report, records } = await audit(otel.spans());
        const stale = report.findings.filter((f) => f.ruleId === 'stale-epoch-read');
        expect(stale).toHaveLength(1);
        expect(stale[0]!.agents).toContain('analyst');
        expect(stale[0]!.message).toContain('task:task-1');
        const reads = (agent: string) => records.filter((s) => s.attributes[BATON_OPERATION] === 'state.read' && s.attributes[GEN_AI_AGENT_NAME] === agent);
        expect(reads('analyst').map((s) => s.attributes[BATON_STATE_VERSION_READ])).toEqual([1]);
        expect(stale[0]!.evidence.spanIds).toContain(reads('analyst')[0]!.spanId);
        expect(stale[0]!.evidence.spanIds).not.toContain(reads('reviewer')[0]!.spanId);
      } finally {
        await replicaServer.stop();
      }
    });

    /**
     * One step of the research agent: read the task, write its output, announce it. Attempt 1
     * loses its connection between the write and the XADD (killed by the server), and the agent
     * runs the step again. `checkFirst`: the retry looks for its own earlier write (the
     * idempotency key stored in the hash) before writing, as the rule's hint says.
     */
    async function runStepWithRetry(checkFirst: boolean): Promise<{ log: Record<string, unknown>[]; stored: Record<string, string>; events: number }> {
      const admin = await connect();
      await admin.hSet('task:task-1', { version: 1, doc: 'initial' });
      // No offline queue and a slow reconnect: a command sent while the connection is down fails instead of waiting.
      const client = instrumentNodeRedis(await connect({ disableOfflineQueue: true, reconnectDelayMs: 300 }), { tracer: otel.tracer });
      const idempotencyKey = 'task-1:research:output';
      const log: Record<string, unknown>[] = [];
      await baton.runAgent('research', async () => {
        for (let attempt = 1; attempt <= 3; attempt++) {
          try {
            await withStateAccess({ attempt, step: 'output', idempotencyKey, announces: 'task.research.complete' }, async () => {
              const state = await client.hGetAll('task:task-1');
              if (checkFirst && state.op === idempotencyKey) {
                log.push({ attempt, outcome: 'already written', version: Number(state.version) });
              } else {
                const version = Number(state.version) + 1;
                await client.hSet('task:task-1', { version, doc: `${state.doc}+finding`, op: idempotencyKey });
                log.push({ attempt, outcome: 'wrote', version });
              }
              if (attempt === 1) {
                const lost = new Promise((resolve) => client.once('error', resolve));
                await admin.clientKill({ filter: 'ID', id: await client.clientId() });
                await lost;
              }
              await client.xAdd('task.research.complete', '*', { task: 'task-1' });
            });
            log.push({ attempt, outcome: 'published' });
            break;
          } catch (error) {
            log.push({ attempt, outcome: (error as Error).constructor.name });
            await new Promise((resolve) => client.once('ready', resolve));
          }
        }
      }, { taskId: 'task-1' });
      const stored = { ...(await admin.hGetAll('task:task-1')) };
      const events = await admin.xLen('task.research.complete');
      return { log, stored, events };
    }

    it('duplicate write: a step retried blindly after its connection dropped writes twice, and the audit flags both commits', async () => {
      const { log, stored, events } = await runStepWithRetry(false);
      expect(log).toEqual([
        { attempt: 1, outcome: 'wrote', version: 2 },
        { attempt: 1, outcome: 'ClientOfflineError' },
        { attempt: 2, outcome: 'wrote', version: 3 },
        { attempt: 2, outcome: 'published' },
      ]);
      expect(stored).toMatchObject({ version: '3', doc: 'initial+finding+finding' });
      expect(events).toBe(1);

      const { report, records } = await audit(otel.spans());
      const duplicates = report.findings.filter((f) => f.ruleId === 'duplicate-write');
      expect(duplicates).toHaveLength(1);
      expect(duplicates[0]!.agents).toEqual(['research']);
      const writes = records.filter((s) => s.attributes[BATON_OPERATION] === 'state.write');
      expect(writes.map((w) => [w.attributes[BATON_ATTEMPT], w.attributes[BATON_STATE_VERSION_WRITTEN]])).toEqual([
        [1, 2],
        [2, 3],
      ]);
      expect([...duplicates[0]!.evidence.spanIds].sort()).toEqual(writes.map((w) => w.spanId).sort());
    });

    it('near miss: the retry finds its first write in the store and only publishes; no duplicate', async () => {
      const { log, stored, events } = await runStepWithRetry(true);
      expect(log).toEqual([
        { attempt: 1, outcome: 'wrote', version: 2 },
        { attempt: 1, outcome: 'ClientOfflineError' },
        { attempt: 2, outcome: 'already written', version: 2 },
        { attempt: 2, outcome: 'published' },
      ]);
      expect(stored).toMatchObject({ version: '2', doc: 'initial+finding' });
      expect(events).toBe(1);

      const { report, records } = await audit(otel.spans());
      expect(report.findings.filter((f) => f.ruleId === 'duplicate-write')).toEqual([]);
      expect(report.rules.find((r) => r.ruleId === 'duplicate-write')!.checked).toBeGreaterThan(0);
      const retryRead = records.find((s) => s.attributes[BATON_OPERATION] === 'state.read' && s.attributes[BATON_ATTEMPT] === 2)!;
      expect(retryRead.attributes[BATON_STATE_VERSION_READ]).toBe(2);
    });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
