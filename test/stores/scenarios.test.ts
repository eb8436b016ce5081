/**
 * The founding document's state failures reproduced for real (agents as separate
 * Node processes against a private redis-server and PostgreSQL), traced by the
 * adapters, then audited: each failure must be flagged with its rule, agents
 * and evidence, and its near miss (the pattern store doing its job) must not be.
 * What the store did and what each agent did come from the agents' own logs and
 * the database, never from the trace under audit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditSpans } from '../../src/analyze/audit.js';
import { readTraceInputs } from '../../src/ingest/read-trace-inputs.js';
import {
  BATON_ATTEMPT,
  BATON_OPERATION,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
} from '../../src/model/attributes.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { EventMessage } from '../../src/model/envelope.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { Baton } from '../../src/sdk/baton.js';
import { instrumentPg, PgNotifyBus, PgOutboxRelay, PgStateStore, withStateAccess, type StaleEpochWriteError } from '../../src/stores/pg.js';
import { instrumentRedis, RedisStateStore, RedisStreamBus } from '../../src/stores/redis.js';
import { startCuttingProxy, type CuttingProxy } from '../helpers/cutting-proxy.js';
import { createOtelHarness, type OtelHarness } from '../helpers/otel.js';
import { shouldSkipStoreTests, startPostgres, startRedis, type RunningPostgres, type RunningServer } from '../helpers/servers.js';
import { toSpanRecords } from '../helpers/traces.js';

const skip = shouldSkipStoreTests();
const AGENT = fileURLToPath(new URL('./agents/store-agent.ts', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

let pgServer: RunningPostgres;
let redisServer: RunningServer;
let admin: pg.Pool;
let dir: string;
let otel: OtelHarness;
let baton: Baton;

interface AgentProcess {
  /** The next JSON line the agent logged. */
  next(): Promise<Record<string, unknown>>;
  /** Lets a waiting agent go on. */
  go(): void;
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

function startAgent(role: string, agent: string, extra: Record<string, unknown> = {}): AgentProcess {
  const config = {
    role,
    agent,
    traceFile: join(dir, `${agent}-${role}.jsonl`),
    taskId: 'task-1',
    key: 'task-1/state',
    pg: pgServer.connection,
    redis: { host: redisServer.host, port: redisServer.port },
    ...extra,
  };
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX_LOADER, AGENT, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    next: async () => {
      const line = await lines.next();
      if (line.done) throw new Error(`agent ${agent} (${role}) ended without a line: ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
    go: () => child.stdin!.write('go\n'),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    exited,
  };
}

/** Every span the agents wrote to their files, plus this process's own. */
async function collectSpans(): Promise<SpanRecord[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).map((f) => join(dir, f));
  const spans: SpanRecord[] = [];
  for await (const batch of readTraceInputs(files)) spans.push(...batch);
  spans.push(...toSpanRecords(otel.spans(), 'test-process'));
  return spans;
}

async function audit(): Promise<{ report: AuditReport; spans: SpanRecord[] }> {
  const spans = await collectSpans();
  return { report: await auditSpans([spans]), spans };
}

function stateSpans(spans: readonly SpanRecord[], operation: string, agent: string): SpanRecord[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] === operation && s.attributes[GEN_AI_AGENT_NAME] === agent);
}

function findingsOf(report: AuditReport, ruleId: string) {
  return report.findings.filter((f) => f.ruleId === ruleId);
}

describe.skipIf(skip)('state failures on real servers, audited', () => {
  beforeAll(async () => {
    [pgServer, redisServer] = await Promise.all([startPostgres(), startRedis()]);
    admin = new pg.Pool(pgServer.connection);
    admin.on('error', (error) => console.warn(`admin pool: ${error.message}`));
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    await Promise.all([pgServer?.stop(), redisServer?.stop()]);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-scenario-'));
    otel = createOtelHarness('scenario');
    baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    await admin.query(`
      DROP TABLE IF EXISTS agent_state, baton_state, baton_idempotency, baton_outbox;
      CREATE TABLE agent_state (id text PRIMARY KEY, doc text NOT NULL, rev int NOT NULL);
      INSERT INTO agent_state VALUES ('task-1/state', 'initial', 1);
    `);
    await new PgStateStore(admin).ensureSchema();
    const redis = new Redis(redisServer.port, redisServer.host);
    await redis.flushall();
    redis.disconnect();
  });
  afterEach(async () => {
    await otel.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('stale read: an agent in a REPEATABLE READ snapshot decides on a version another agent already replaced', async () => {
    const reader = startAgent('snapshot-reader', 'analyst');
    const firstRead = await reader.next();
    const writer = startAgent('writer', 'editor');
    const wrote = await writer.next();
    await writer.exited;
    reader.go();
    const decided = await reader.next();
    await reader.exited;
    // Near miss: an agent reading after the write, outside any snapshot, sees the new version.
    const fresh = startAgent('fresh-reader', 'reviewer');
    const freshRead = await fresh.next();
    await fresh.exited;

    // What the processes logged: the snapshot kept the old version after the write committed.
    expect(firstRead.rev).toBe(1);
    expect(wrote.rev).toBe(2);
    expect(decided.rev).toBe(firstRead.rev);
    expect(freshRead.rev).toBe(wrote.rev);

    const { report, spans } = await audit();
    const stale = findingsOf(report, 'stale-epoch-read');
    expect(stale).toHaveLength(1);
    expect(stale[0]!.agents).toContain('analyst');
    expect(stale[0]!.message).toContain('task-1/state');
    // The evidence is the analyst's read that returned the version it logged deciding on, after the write.
    const decidingRead = stateSpans(spans, 'state.read', 'analyst').filter((s) => s.attributes[BATON_STATE_VERSION_READ] === decided.rev);
    const write = stateSpans(spans, 'state.write', 'editor').find((s) => s.attributes[BATON_STATE_VERSION_WRITTEN] === wrote.rev)!;
    const afterWrite = decidingRead.filter((s) => s.startMs >= write.endMs);
    expect(afterWrite).toHaveLength(1);
    expect(stale[0]!.evidence.spanIds).toContain(afterWrite[0]!.spanId);
    expect(stale[0]!.evidence.spanIds).not.toContain(stateSpans(spans, 'state.read', 'reviewer')[0]!.spanId);
  });

  it('stale epoch: a worker of a superseded stage reads the state and is fenced off when it writes', async () => {
    const store = new PgStateStore<string>(admin, { tracer: otel.tracer });
    const log: Record<string, unknown>[] = [];
    await baton.runAgent('worker', async () => {
      await store.set('task-1/draft', 'stage 1 draft', { epoch: 1, agent: 'worker', taskId: 'task-1' });
    });
    const epoch = await baton.runAgent('coordinator', () => store.advanceEpoch('task-1/draft', { agent: 'coordinator', taskId: 'task-1' }));
    log.push({ agent: 'coordinator', advancedTo: epoch });
    // The worker still acts in epoch 1 (it missed the stage change); the current reviewer acts in the new one.
    await baton.runAgent('worker', async () => {
      const entry = await store.get('task-1/draft', { agent: 'worker', taskId: 'task-1', epoch: 1 });
      log.push({ agent: 'worker', readVersion: entry?.version, actingEpoch: 1 });
      const refused = await store.set('task-1/draft', 'zombie', { epoch: 1, agent: 'worker', taskId: 'task-1' }).catch((e: unknown) => e);
      log.push({ agent: 'worker', write: (refused as StaleEpochWriteError).code });
    });
    await baton.runAgent('reviewer', () => store.get('task-1/draft', { agent: 'reviewer', taskId: 'task-1', epoch }));

    expect(log).toEqual([
      { agent: 'coordinator', advancedTo: 2 },
      { agent: 'worker', readVersion: 1, actingEpoch: 1 },
      { agent: 'worker', write: 'BATON_STATE_STALE_EPOCH' },
    ]);
    expect((await store.get('task-1/draft'))?.value).toBe('stage 1 draft');

    const { report, spans } = await audit();
    const stale = findingsOf(report, 'stale-epoch-read');
    expect(stale).toHaveLength(1);
    expect(stale[0]!.agents).toContain('worker');
    const workerRead = stateSpans(spans, 'state.read', 'worker')[0]!;
    expect(stale[0]!.evidence.spanIds).toContain(workerRead.spanId);
    expect(stale[0]!.evidence.spanIds).not.toContain(stateSpans(spans, 'state.read', 'reviewer')[0]!.spanId);
  });

  describe('duplicate write after a lost COMMIT reply', () => {
    let proxy: CuttingProxy;
    beforeEach(async () => {
      proxy = await startCuttingProxy(pgServer.connection);
    });
    afterEach(async () => {
      await proxy.close();
    });

    it('a blind retry writes twice, and the audit flags the two commits of one logical write', async () => {
      const pool = instrumentPg(new pg.Pool({ ...pgServer.connection, port: proxy.port }), {
        tracer: otel.tracer,
        tables: { agent_state: { key: 'id', version: 'rev' } },
      });
      pool.on('error', () => undefined); // the cut connection, reported to the agent through its query
      const log: { attempt: number; outcome: string; rev?: number }[] = [];
      await baton.runAgent('research', async () => {
        proxy.armCommitCut();
        for (let attempt = 1; attempt <= 3; attempt++) {
          const client = await pool.connect();
          // As any app must: a lost connection of a checked-out client is emitted as 'error'.
          const onError = () => undefined;
          client.on('error', onError);
          try {
            const rev = await withStateAccess({ attempt, step: 'output' }, async () => {
              await client.query('BEGIN');
              const { rows } = await client.query("UPDATE agent_state SET doc = doc || $2, rev = rev + 1 WHERE id = $1 RETURNING rev", ['task-1/state', '+finding']);
              await client.query('COMMIT');
              return rows[0].rev as number;
            });
            log.push({ attempt, outcome: 'ok', rev });
            client.off('error', onError);
            client.release();
            break;
          } catch (error) {
            log.push({ attempt, outcome: (error as Error).message });
            client.off('error', onError);
            client.release(error as Error);
          }
        }
      }, { taskId: 'task-1' });
      await pool.end();

      // The agent saw attempt 1 fail and attempt 2 succeed; the database holds both writes.
      expect(proxy.cuts).toBe(1);
      expect(log.map((l) => l.outcome === 'ok')).toEqual([false, true]);
      const { rows } = await admin.query('SELECT doc, rev FROM agent_state WHERE id = $1', ['task-1/state']);
      expect(rows[0]).toEqual({ doc: 'initial+finding+finding', rev: 3 });
      expect(log[1]!.rev).toBe(3);

      const { report, spans } = await audit();
      const duplicates = findingsOf(report, 'duplicate-write');
      expect(duplicates).toHaveLength(1);
      expect(duplicates[0]!.agents).toEqual(['research']);
      const writes = stateSpans(spans, 'state.write', 'research');
      expect(writes.map((w) => [w.attributes[BATON_ATTEMPT], w.attributes[BATON_STATE_VERSION_WRITTEN]])).toEqual([
        [1, 2],
        [2, log[1]!.rev],
      ]);
      expect([...duplicates[0]!.evidence.spanIds].sort()).toEqual(writes.map((w) => w.spanId).sort());
    });

    it('near miss: the same retry with an idempotency key is recognised by the store and lands once', async () => {
      const pool = new pg.Pool({ ...pgServer.connection, port: proxy.port });
      pool.on('error', () => undefined);
      const store = new PgStateStore<string>(pool, { tracer: otel.tracer });
      const log: { attempt: number; outcome: string; version?: number; deduplicated?: boolean }[] = [];
      await baton.runAgent('research', async () => {
        proxy.armCommitCut();
        for (let attempt = 1; attempt <= 3; attempt++) {
          try {
            const result = await store.set('task-1/output', 'finding', { attempt, idempotencyKey: 'task-1:research:output', step: 'output', taskId: 'task-1', agent: 'research' });
            log.push({ attempt, outcome: 'ok', version: result.version, deduplicated: result.deduplicated });
            break;
          } catch (error) {
            log.push({ attempt, outcome: (error as Error).message });
          }
        }
      }, { taskId: 'task-1' });
      await pool.end();

      expect(proxy.cuts).toBe(1);
      expect(log.map((l) => [l.outcome === 'ok', l.deduplicated])).toEqual([
        [false, undefined],
        [true, true],
      ]);
      const { rows } = await admin.query('SELECT value, version FROM baton_state WHERE key = $1', ['task-1/output']);
      expect(rows[0]).toEqual({ value: 'finding', version: '1' });

      const { report, spans } = await audit();
      expect(findingsOf(report, 'duplicate-write')).toEqual([]);
      const retry = stateSpans(spans, 'state.write', 'research').find((s) => s.attributes[BATON_ATTEMPT] === 2)!;
      expect(retry.attributes[BATON_STATE_DEDUPLICATED]).toBe(true);
      expect(retry.attributes[BATON_STATE_VERSION_WRITTEN]).toBe(log[1]!.version);
      const duplicateRule = report.rules.find((r) => r.ruleId === 'duplicate-write')!;
      expect(duplicateRule.checked).toBeGreaterThan(0);
    });
  });

  describe('partial handoff: the process dies between the committed write and its event', () => {
    it('PostgreSQL, write then NOTIFY: the audit flags the write whose event never went out', async () => {
      const agent = startAgent('naive-announcer', 'research', { topic: 'task_research_complete' });
      const committed = await agent.next();
      await agent.kill();
      expect(committed.step).toBe('committed');
      const { rows } = await admin.query('SELECT rev FROM agent_state WHERE id = $1', ['task-1/state']);
      expect(rows[0].rev).toBe(committed.rev);

      const { report, spans } = await audit();
      const partial = findingsOf(report, 'partial-handoff');
      expect(partial).toHaveLength(1);
      expect(partial[0]!.agents).toEqual(['research']);
      expect(partial[0]!.message).toContain('task_research_complete');
      const write = stateSpans(spans, 'state.write', 'research').find((s) => s.attributes[BATON_STATE_VERSION_WRITTEN] === committed.rev)!;
      expect(partial[0]!.evidence.spanIds).toEqual([write.spanId]);
    });

    it('near miss, PostgreSQL outbox: the event row committed with the write; the relay publishes it after the crash', async () => {
      const agent = startAgent('outbox-announcer', 'research', { topic: 'task.research.complete', key: 'task-1/output' });
      const committed = await agent.next();
      await agent.kill();
      const bus = new PgNotifyBus(baton, admin, { tracer: otel.tracer });
      const consumed: EventMessage[] = [];
      const subscription = await bus.listen('task.research.complete', (m) => void consumed.push(m), { agent: 'coordinator' });
      const relay = new PgOutboxRelay(admin, bus, { tracer: otel.tracer });
      expect(await relay.relayOnce()).toBe(1);
      await waitFor(() => consumed.length > 0);
      await subscription.close();

      expect(consumed.map((m) => [m.id, m.state_version, m.key])).toEqual([[committed.messageId, committed.version, 'task-1/output']]);
      const { rows } = await admin.query('SELECT published_at IS NOT NULL AS published FROM baton_outbox WHERE id = $1', [committed.messageId]);
      expect(rows).toEqual([{ published: true }]);

      const { report, spans } = await audit();
      expect(findingsOf(report, 'partial-handoff')).toEqual([]);
      const rule = report.rules.find((r) => r.ruleId === 'partial-handoff')!;
      expect(rule.checked).toBeGreaterThanOrEqual(2);
      // The relay's publish (this process) links to the writer's span (the killed process).
      const write = stateSpans(spans, 'state.write', 'research')[0]!;
      const publish = spans.find((s) => s.attributes[BATON_OPERATION] === 'event.publish')!;
      expect(publish.traceId).not.toBe(write.traceId);
      expect(publish.links.map((l) => l.spanId)).toEqual([write.spanId]);
    });

    it('Redis, HSET then XADD: flagged; near miss, the write and its XADD in one script: not flagged', async () => {
      const naive = startAgent('redis-naive-announcer', 'research', { topic: 'task.research.complete', key: 'task:naive' });
      const naiveCommitted = await naive.next();
      await naive.kill();
      const atomic = startAgent('redis-atomic-announcer', 'writer', { topic: 'task.research.complete', key: 'task:atomic' });
      const atomicCommitted = await atomic.next();
      await atomic.kill();
      const redis = new Redis(redisServer.port, redisServer.host);
      const bus = new RedisStreamBus(baton, redis, { tracer: otel.tracer });
      await bus.ensureGroup('task.research.complete', 'coordinator');
      const deliveries = await bus.read('task.research.complete', 'coordinator', 'c1');
      for (const d of deliveries) await bus.process('coordinator', d, () => undefined, { agent: 'coordinator' });
      expect(await redis.hget('task:naive', 'version')).toBe(String(naiveCommitted.version));
      redis.disconnect();
      expect(deliveries.map((d) => [d.message?.id, d.message?.state_version])).toEqual([[atomicCommitted.messageId, atomicCommitted.version]]);

      const { report, spans } = await audit();
      const partial = findingsOf(report, 'partial-handoff');
      expect(partial).toHaveLength(1);
      expect(partial[0]!.agents).toEqual(['research']);
      const naiveWrite = stateSpans(spans, 'state.write', 'research').find((s) => s.attributes[BATON_STATE_KEY] === 'task:naive')!;
      expect(partial[0]!.evidence.spanIds).toEqual([naiveWrite.spanId]);
    });
  });

  it('lost update between two agents writing one key: the compare-and-set lets one through and refuses the other', async () => {
    await new PgStateStore(admin).set('task-1/plan', 'v1');
    const a = startAgent('cas-writer', 'planner-a', { key: 'task-1/plan' });
    const b = startAgent('cas-writer', 'planner-b', { key: 'task-1/plan' });
    const [readA, readB] = await Promise.all([a.next(), b.next()]);
    expect([readA.version, readB.version]).toEqual([1, 1]);
    a.go();
    b.go();
    const [outA, outB] = await Promise.all([a.next(), b.next()]);
    await Promise.all([a.exited, b.exited]);
    const outcomes = [outA, outB];
    const winner = outcomes.find((o) => o.step === 'wrote')!;
    const loser = outcomes.find((o) => o.step === 'conflict')!;
    expect(winner).toMatchObject({ version: 2 });
    expect(loser).toMatchObject({ expected: 1, actual: 2 });
    const { rows } = await admin.query('SELECT value, version FROM baton_state WHERE key = $1', ['task-1/plan']);
    expect(rows[0]).toEqual({ value: `by ${winner.agent as string}`, version: '2' });

    const { report, spans } = await audit();
    const refused = stateSpans(spans, 'state.write', loser.agent as string)[0]!;
    expect(refused.attributes[ERROR_TYPE]).toBe('BATON_STATE_CONFLICT');
    expect(refused.attributes[BATON_STATE_VERSION_WRITTEN]).toBeUndefined();
    expect(stateSpans(spans, 'state.write', winner.agent as string)[0]!.attributes[BATON_STATE_VERSION_WRITTEN]).toBe(2);
    expect(findingsOf(report, 'duplicate-write')).toEqual([]);
    expect(findingsOf(report, 'lost-update')).toEqual([]);
  });

  describe('lost update: two agents read one version, then each writes on it with a plain write', () => {
    /** Both agents read; then planner-a writes, then planner-b. Returns what each logged. */
    async function race(role: string, extra: Record<string, unknown>) {
      const a = startAgent(role, 'planner-a', extra);
      const b = startAgent(role, 'planner-b', extra);
      const [readA, readB] = await Promise.all([a.next(), b.next()]);
      a.go();
      const outA = await a.next();
      await a.exited;
      b.go();
      const outB = await b.next();
      await b.exited;
      return { readA, readB, outA, outB };
    }

    /** The one span of `operation` by `agent` whose `attribute` is `value`. */
    function spanWith(spans: readonly SpanRecord[], operation: string, agent: string, attribute: string, value: unknown): SpanRecord {
      const found = stateSpans(spans, operation, agent).filter((s) => s.attributes[attribute] === value);
      expect(found, `${operation} by ${agent} with ${attribute} = ${String(value)}`).toHaveLength(1);
      return found[0]!;
    }

    it('Redis, GET then SET of a JSON document with a version field: planner-b replaced planner-a\'s update, and the audit says so', async () => {
      const key = 'task-1/plan';
      const redis = new Redis(redisServer.port, redisServer.host);
      await redis.set(key, JSON.stringify({ version: 1, items: [] }));
      const { readA, readB, outA, outB } = await race('redis-rmw', { key });
      const stored = JSON.parse((await redis.get(key))!);
      redis.disconnect();
      // What the agents logged and what Redis holds: both read version 1, both wrote version 2, planner-a's item is gone.
      expect([readA.version, readB.version]).toEqual([1, 1]);
      expect([outA, outB]).toEqual([
        { agent: 'planner-a', step: 'wrote', version: 2 },
        { agent: 'planner-b', step: 'wrote', version: 2 },
      ]);
      expect(stored).toEqual({ version: 2, items: ['planner-b'] });

      const { report, spans } = await audit();
      expect(report.findings.map((f) => f.ruleId)).toEqual(['lost-update']);
      const [finding] = findingsOf(report, 'lost-update');
      expect(finding).toMatchObject({
        severity: 'error',
        message: `planner-b overwrote planner-a's update of ${key}: planner-b wrote version ${outB.version} based on version ${readB.version} it had read, after planner-a had committed version ${outA.version}`,
        agents: ['planner-b', 'planner-a'],
        taskId: 'task-1',
      });
      // Evidence: planner-b's SET, planner-a's SET it replaced, and the GET planner-b wrote on.
      const overwriting = spanWith(spans, 'state.write', 'planner-b', BATON_STATE_VERSION_WRITTEN, outB.version);
      const overwritten = spanWith(spans, 'state.write', 'planner-a', BATON_STATE_VERSION_WRITTEN, outA.version);
      const basis = spanWith(spans, 'state.read', 'planner-b', BATON_STATE_VERSION_READ, readB.version);
      expect(finding!.evidence.spanIds).toEqual([overwriting.spanId, overwritten.spanId, basis.spanId]);
      // Two processes, two traces: nothing links them but the key.
      expect(finding!.evidence.traceIds).toEqual([overwriting.traceId, overwritten.traceId]);
      expect(overwriting.traceId).not.toBe(overwritten.traceId);
    });

    it('Redis, two async workers on one connection, both SETs in flight together: the write Redis kept is reported as replacing the other', async () => {
      const key = 'task-1/plan';
      const setup = new Redis(redisServer.port, redisServer.host);
      await setup.set(key, JSON.stringify({ version: 1, items: [] }));
      const redis = instrumentRedis(new Redis(redisServer.port, redisServer.host), { tracer: otel.tracer });
      const log: Record<string, { read?: number; wrote?: number }> = {};
      let release!: () => void;
      const bothRead = new Promise<void>((resolve) => (release = resolve));
      let readers = 0;
      const worker = (agent: string) =>
        context.with(ROOT_CONTEXT, () =>
          baton.runAgent(
            agent,
            async () => {
              const doc = JSON.parse((await redis.get(key))!) as { version: number; items: string[] };
              log[agent] = { read: doc.version };
              if (++readers === 2) release();
              await bothRead;
              // Both SETs are sent in this one turn of the event loop, before either reply.
              const next = { version: doc.version + 1, items: [...doc.items, agent] };
              await redis.set(key, JSON.stringify(next));
              log[agent]!.wrote = next.version;
            },
            { taskId: 'task-1' },
          ),
        );
      await Promise.all([worker('planner-a'), worker('planner-b')]);
      const stored = JSON.parse((await setup.get(key))!) as { version: number; items: string[] };
      setup.disconnect();
      redis.disconnect();
      // Redis kept one agent's document: that agent's SET ran last and replaced the other's.
      expect(log).toEqual({ 'planner-a': { read: 1, wrote: 2 }, 'planner-b': { read: 1, wrote: 2 } });
      expect(stored.items).toHaveLength(1);
      const winner = stored.items[0]!;
      const loser = winner === 'planner-a' ? 'planner-b' : 'planner-a';

      const { report, spans } = await audit();
      expect(report.findings.map((f) => f.ruleId)).toEqual(['lost-update']);
      const [finding] = findingsOf(report, 'lost-update');
      const overwriting = stateSpans(spans, 'state.write', winner)[0]!;
      const overwritten = stateSpans(spans, 'state.write', loser)[0]!;
      expect(overwriting.startMs).toBeLessThan(overwritten.endMs); // in flight together
      expect(finding!.agents).toEqual([winner, loser]);
      expect(finding!.message).toBe(
        `${winner} overwrote ${loser}'s update of ${key}: ${winner} wrote version 2 based on version 1 it had read, after ${loser} had committed version 2`,
      );
      expect(finding!.evidence.spanIds).toEqual([overwriting.spanId, overwritten.spanId, stateSpans(spans, 'state.read', winner)[0]!.spanId]);
    });

    it('near miss, Redis: the same read-modify-write as a compare-and-set (RedisStateStore) is refused the second time', async () => {
      const key = 'task-1/plan';
      const redis = new Redis(redisServer.port, redisServer.host);
      const store = new RedisStateStore<{ items: string[] }>(redis);
      await store.set(key, { items: [] });
      const { readA, readB, outA, outB } = await race('redis-rmw', { key, cas: true });
      const stored = await store.get(key);
      redis.disconnect();
      expect([readA.version, readB.version]).toEqual([1, 1]);
      expect(outA).toEqual({ agent: 'planner-a', step: 'wrote', version: 2 });
      expect(outB).toEqual({ agent: 'planner-b', step: 'conflict', expected: 1, actual: 2 });
      expect(stored).toMatchObject({ value: { items: ['planner-a'] }, version: 2 });

      const { report, spans } = await audit();
      expect(findingsOf(report, 'lost-update')).toEqual([]);
      expect(report.findings).toEqual([]);
      expect(stateSpans(spans, 'state.write', 'planner-b')[0]!.attributes[ERROR_TYPE]).toBe('BATON_STATE_CONFLICT');
      // planner-a's committed compare-and-set was judged, not skipped.
      expect(report.rules.find((r) => r.ruleId === 'lost-update')).toMatchObject({ status: 'ran', checked: 1, notEvaluated: [] });
    });

    it('PostgreSQL, SELECT then UPDATE … RETURNING rev: planner-b replaced planner-a\'s update, and the audit says so', async () => {
      const { readA, readB, outA, outB } = await race('pg-rmw', {});
      const { rows } = await admin.query('SELECT doc, rev FROM agent_state WHERE id = $1', ['task-1/state']);
      // Both read rev 1; the database numbered the writes 2 and 3; planner-a's part is gone from the row.
      expect([readA.rev, readB.rev]).toEqual([1, 1]);
      expect([outA.rev, outB.rev]).toEqual([2, 3]);
      expect(rows[0]).toEqual({ doc: 'initial+planner-b', rev: outB.rev });

      const { report, spans } = await audit();
      expect(report.findings.map((f) => f.ruleId)).toEqual(['lost-update']);
      const [finding] = findingsOf(report, 'lost-update');
      expect(finding!.message).toBe(
        `planner-b overwrote planner-a's update of task-1/state: planner-b wrote version ${outB.rev} based on version ${readB.rev} it had read, after planner-a had committed version ${outA.rev}`,
      );
      expect(finding!.evidence.spanIds).toEqual([
        spanWith(spans, 'state.write', 'planner-b', BATON_STATE_VERSION_WRITTEN, outB.rev).spanId,
        spanWith(spans, 'state.write', 'planner-a', BATON_STATE_VERSION_WRITTEN, outA.rev).spanId,
        spanWith(spans, 'state.read', 'planner-b', BATON_STATE_VERSION_READ, readB.rev).spanId,
      ]);
    });

    it('near miss, PostgreSQL: the same UPDATE only WHERE rev is the version read updates no row for planner-b', async () => {
      const { readA, readB, outA, outB } = await race('pg-rmw', { cas: true });
      const { rows } = await admin.query('SELECT doc, rev FROM agent_state WHERE id = $1', ['task-1/state']);
      expect([readA.rev, readB.rev]).toEqual([1, 1]);
      expect(outA).toEqual({ agent: 'planner-a', step: 'wrote', rev: 2 });
      expect(outB).toEqual({ agent: 'planner-b', step: 'conflict', expected: 1 });
      expect(rows[0]).toEqual({ doc: 'initial+planner-a', rev: 2 });

      const { report, spans } = await audit();
      expect(report.findings).toEqual([]);
      // planner-b's UPDATE is recorded as the compare-and-set it was, claiming no version.
      const refused = stateSpans(spans, 'state.write', 'planner-b')[0]!;
      expect(refused.attributes[BATON_STATE_VERSION_EXPECTED]).toBe(readB.rev);
      expect(refused.attributes[BATON_STATE_VERSION_WRITTEN]).toBeUndefined();
      expect(report.rules.find((r) => r.ruleId === 'lost-update')).toMatchObject({ status: 'ran', checked: 2, notEvaluated: [] });
    });
  });
});

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
