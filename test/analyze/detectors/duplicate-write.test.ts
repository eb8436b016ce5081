/**
 * detectDuplicateWrites (rule duplicate-write) on the committed fixtures: the
 * retried research write of `duplicate-write.json`, the fallback identity
 * (task + step + key) when no idempotency key is recorded, updates by the same
 * attempt, and what the rule says when writes carry no identity at all.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectDuplicateWrites, RULE } from '../../../src/analyze/detectors/duplicate-write.js';
import { BATON_ATTEMPT, BATON_IDEMPOTENCY_KEY, BATON_STEP, BatonOperation } from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditOne, graphOf, invalidGraphs, isOperation, ruleOf, setAttributes, stripAttributes, expectCouldNotRun } from '../../helpers/analyze.js';
import { Baton } from '../../../src/sdk/baton.js';
import { InMemoryStateStore, instrumentStore } from '../../../src/sdk/state-store.js';
import { instrumentPg } from '../../../src/stores/pg.js';
import { instrumentRedis, RedisStateStore, withStateAccess } from '../../../src/stores/redis.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { shouldSkipStoreTests, startPostgres, startRedis, type RunningPostgres, type RunningServer } from '../../helpers/servers.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

const DUPLICATE_TRACE = '7f2a901d13f22428e3292091dbfd91b4';
// duplicate-write.json: the two state.write spans of key research-duplicate-write/research,
// step output, idempotency key research-duplicate-write:research:output.
const WRITE_ATTEMPT_1 = '1e037a23fb999768'; // attempt 1, version_written 2 (the worker then crashed)
const WRITE_ATTEMPT_2 = '0c221e6e5603595c'; // attempt 2 (the coordinator's retry), version_written 4

const UNKEYED = 'writes with neither baton.idempotency_key, baton.task.id + baton.step, nor baton.task.id + baton.attempt';

let clean: SpanRecord[];
let duplicate: SpanRecord[];

beforeAll(async () => {
  [clean, duplicate] = await Promise.all([loadFixture('clean'), loadFixture('duplicate-write')]);
});

describe('detectDuplicateWrites', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "duplicate-write:" for %s', (_label, input) => {
    expect(() => detectDuplicateWrites(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectDuplicateWrites(input as HandoffGraph)).toThrow(/^duplicate-write: expected a HandoffGraph/);
  });

  it('reports the write committed by attempts 1 and 2 of duplicate-write.json, with both writes as evidence', () => {
    const result = detectDuplicateWrites(graphOf(duplicate));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message:
          'research-duplicate-write/research written 2 times by attempts 1, 2 (v2, v4) under idempotency key research-duplicate-write:research:output',
        hint: expect.stringContaining('idempotency key'),
        evidence: {
          traceId: DUPLICATE_TRACE,
          traceIds: [DUPLICATE_TRACE],
          spanIds: [WRITE_ATTEMPT_1, WRITE_ATTEMPT_2],
          startMs: duplicate.find((s) => s.spanId === WRITE_ATTEMPT_1)!.startMs,
        },
        agents: ['research'],
        taskId: 'research-duplicate-write',
      },
    ]);
    // Eight writes, each with an idempotency key (the two draft writes have their own).
    expect(result.checked).toBe(8);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked all six writes', () => {
    expect(detectDuplicateWrites(graphOf(clean))).toEqual({ findings: [], checked: 6, notEvaluated: [] });
  });

  it('falls back to task + step + key without idempotency keys, then to task + agent + key for writes with only attempts', () => {
    const result = detectDuplicateWrites(graphOf(stripAttributes(duplicate, [BATON_IDEMPOTENCY_KEY])));
    expect(result.findings.map((f) => [f.severity, f.message, f.evidence.spanIds.length])).toEqual([
      // The two draft writes have no step: each attempt wrote one, so without their keys they read as one write done twice.
      [
        'warning',
        'research-duplicate-write/research written 2 times by attempts 1, 2 (v1, v3), taken as one logical write: same task, agent and key, and no idempotency key or step recorded',
        2,
      ],
      ['error', 'research-duplicate-write/research written 2 times by attempts 1, 2 (v2, v4)', 2],
    ]);
    expect(result.findings[1]!.evidence.spanIds).toEqual([WRITE_ATTEMPT_1, WRITE_ATTEMPT_2]);
    expect(result.checked).toBe(8);
    expect(result.notEvaluated).toEqual([]);
    // Without attempt numbers too, the drafts cannot be identified.
    const noAttempts = detectDuplicateWrites(graphOf(stripAttributes(duplicate, [BATON_IDEMPOTENCY_KEY, BATON_ATTEMPT])));
    expect(noAttempts).toMatchObject({ checked: 6, notEvaluated: [{ count: 2, reason: UNKEYED }] });
  });

  it('treats two writes of the same attempt as an update, not a duplicate', () => {
    const spans = setAttributes(duplicate, WRITE_ATTEMPT_2, { [BATON_ATTEMPT]: 1 });
    expect(detectDuplicateWrites(graphOf(spans)).findings).toEqual([]);
  });

  it('reports writes whose attempts are unknown, without claiming attempt numbers', () => {
    const spans = stripAttributes(duplicate, [BATON_ATTEMPT], isOperation(BatonOperation.StateWrite));
    expect(detectDuplicateWrites(graphOf(spans)).findings.map((f) => f.message)).toEqual([
      'research-duplicate-write/research written 2 times (v2, v4) under idempotency key research-duplicate-write:research:output',
    ]);
  });

  describe('when writes carry no identity', () => {
    it('checks nothing and says how many writes it could not identify, rather than passing them', async () => {
      const spans = stripAttributes(duplicate, [BATON_IDEMPOTENCY_KEY, BATON_STEP, BATON_ATTEMPT]);
      expect(detectDuplicateWrites(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 8, reason: UNKEYED }] });
      expectCouldNotRun(await auditOne(spans, { only: [RULE] }), RULE, [{ count: 8, reason: UNKEYED }]);
    });
  });

  describe('with attempt numbers only (no idempotency key, no step), as an app that counts its retries writes them', () => {
    /** One agent's step in task `taskId`, through an instrumented in-memory store; returns the spans and what the store says happened. */
    async function run(writes: readonly { readonly taskId: string; readonly agent: string; readonly attempt?: number }[]) {
      const otel = createOtelHarness();
      const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
      const store = instrumentStore(baton, new InMemoryStateStore<{ summary: string }>());
      const versions: number[] = [];
      for (const { taskId, agent, attempt } of writes) {
        const written = await store.set('doc', { summary: 'Found 3 competitors' }, { taskId, agent, ...(attempt !== undefined ? { attempt } : {}) });
        versions.push(written.version);
      }
      const spans = toSpanRecords(otel.spans());
      await otel.shutdown();
      return { spans, versions };
    }

    it('takes attempts 1 and 2 of one task, agent and key as one logical write, and warns that it inferred so', async () => {
      const { spans, versions } = await run([
        { taskId: 't3', agent: 'writer', attempt: 1 },
        { taskId: 't3', agent: 'writer', attempt: 2 },
      ]);
      // The store's account: the retry committed a second version.
      expect(versions).toEqual([1, 2]);
      const result = detectDuplicateWrites(graphOf(spans));
      expect(result.findings.map((f) => [f.severity, f.message, f.evidence.spanIds.length, f.taskId, f.agents])).toEqual([
        [
          'warning',
          'doc written 2 times by attempts 1, 2 (v1, v2), taken as one logical write: same task, agent and key, and no idempotency key or step recorded',
          2,
          't3',
          ['writer'],
        ],
      ]);
      expect(result).toMatchObject({ checked: 2, notEvaluated: [] });
    });

    it.each([
      ['one attempt updating the key twice', [{ taskId: 't3', agent: 'writer', attempt: 1 }, { taskId: 't3', agent: 'writer', attempt: 1 }]],
      ['attempt 2 in another task', [{ taskId: 't3', agent: 'writer', attempt: 1 }, { taskId: 't4', agent: 'writer', attempt: 2 }]],
      ['attempt 2 by another agent', [{ taskId: 't3', agent: 'writer', attempt: 1 }, { taskId: 't3', agent: 'editor', attempt: 2 }]],
    ])('finds nothing for %s', async (_label, writes) => {
      const { spans, versions } = await run(writes);
      expect(versions).toEqual([1, 2]);
      expect(detectDuplicateWrites(graphOf(spans))).toMatchObject({ findings: [], checked: 2, notEvaluated: [] });
    });

    it('cannot identify writes with no attempt number either, and says so', async () => {
      const { spans } = await run([
        { taskId: 't3', agent: 'writer' },
        { taskId: 't3', agent: 'writer' },
      ]);
      expect(detectDuplicateWrites(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 2, reason: UNKEYED }] });
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(duplicate, { only: [RULE] });
      expect(report.findings).toEqual(detectDuplicateWrites(graphOf(duplicate)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 8, couldNotRun: false });
    });

    it('is silent when turned off with rules: { duplicate-write: false }', async () => {
      const report = await auditOne(duplicate, { rules: { 'duplicate-write': false } });
      expect(report.findings.map((f) => f.ruleId)).toEqual(['partial-handoff']);
      expect(ruleOf(report, RULE)).toMatchObject({ status: 'off', findings: 0, checked: 0 });
    });
  });
});

/**
 * A retry after a lost reply, on a real redis-server: CLIENT PAUSE WRITE holds attempt 1's
 * command on the server past the client's commandTimeout, so the agent sees "Command timed
 * out" and retries while the first write is still queued; once the pause ends it lands too.
 * Each attempt writes a field of its own, so the server itself says which attempts landed.
 */
describe.skipIf(shouldSkipStoreTests())('detectDuplicateWrites on a retry after a timed-out write (real Redis)', () => {
  let server: RunningServer;
  const clients: Redis[] = [];
  const PAUSE_MS = 600;
  const connect = (options: { commandTimeout?: number } = {}) => {
    const client = new Redis({ port: server.port, host: server.host, maxRetriesPerRequest: 0, ...options });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  /** Runs the agent's step: attempt 1 under a pause, then (if `retry`) attempt 2; returns the spans and the app's own log. */
  async function runStep(key: string, write: (redis: Redis, store: RedisStateStore, attempt: number) => Promise<unknown>, retry = true) {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const admin = connect();
    const redis = instrumentRedis(connect({ commandTimeout: 200 }), { tracer: otel.tracer });
    const store = new RedisStateStore(redis, { tracer: otel.tracer });
    await redis.ping();
    const log: string[] = [];
    await baton.runAgent(
      'research',
      async () => {
        for (let attempt = 1; attempt <= (retry ? 2 : 1); attempt++) {
          if (attempt === 1) await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
          try {
            await write(redis, store, attempt);
            log.push(`attempt ${attempt}: acknowledged`);
            break;
          } catch (error) {
            log.push(`attempt ${attempt}: ${(error as Error).message}`);
            // The pause ends and attempt 1's write, queued on the server, is applied.
            await new Promise((resolve) => setTimeout(resolve, PAUSE_MS + 150));
          }
        }
      },
      { taskId: 't-2' },
    );
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS + 150));
    const stored = await admin.hgetall(key);
    const spans = toSpanRecords(otel.spans());
    await otel.shutdown();
    return { spans, log, stored };
  }

  const writesOf = (spans: readonly SpanRecord[], key: string) =>
    spans.filter((s) => s.attributes['baton.operation'] === BatonOperation.StateWrite && s.attributes['baton.state.key'] === key);

  it('warns that a blind HSET retried after a timeout may have written twice, naming both attempts', async () => {
    const { spans, log, stored } = await runStep('task:t-2', (redis, _store, attempt) =>
      withStateAccess({ attempt, idempotencyKey: 't-2:research:output' }, () =>
        redis.hset('task:t-2', { version: attempt, summary: 'Found 3 competitors', [`attempt_${attempt}`]: 'landed' }),
      ),
    );
    // The app's account: attempt 1 timed out, attempt 2 was acknowledged, and the server holds both attempts' fields.
    expect(log).toEqual(['attempt 1: Command timed out', 'attempt 2: acknowledged']);
    expect(stored).toMatchObject({ attempt_1: 'landed', attempt_2: 'landed' });
    const writes = writesOf(spans, 'task:t-2').sort((a, b) => a.startMs - b.startMs);
    expect(writes).toHaveLength(2);
    const result = detectDuplicateWrites(graphOf(spans));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'warning',
        message:
          'task:t-2 may have been written twice: attempt 1 timed out, so its write may have committed, and attempt 2 wrote it again unconditionally (v2) under idempotency key t-2:research:output',
        hint: expect.stringContaining('idempotency key'),
        evidence: { traceId: writes[0]!.traceId, traceIds: [writes[0]!.traceId], spanIds: writes.map((w) => w.spanId), startMs: writes[0]!.startMs },
        agents: ['research'],
        taskId: 't-2',
      },
    ]);
    expect(result.checked).toBe(2);
    // Near miss: had attempt 2 been a compare-and-set on the version read before attempt 1, it could not
    // have committed on top of a landed attempt 1, so its commit is the only one.
    const compareAndSet = spans.map((s) => (s.spanId === writes[1]!.spanId ? { ...s, attributes: { ...s.attributes, 'baton.state.version_expected': 0 } } : s));
    expect(detectDuplicateWrites(graphOf(compareAndSet)).findings).toEqual([]);
  }, 20_000);

  it('finds nothing when the same retry goes through RedisStateStore: the store answers it as a repeat', async () => {
    const { spans, log, stored } = await runStep('t-3', (_redis, store, attempt) =>
      store.set('t-3', { summary: 'Found 3 competitors' }, { expectedVersion: 0, idempotencyKey: 't-3:research:output', attempt }),
    );
    expect(log).toEqual(['attempt 1: Command timed out', 'attempt 2: acknowledged']);
    // One version on the server: the retry committed nothing.
    expect(stored.version).toBe('1');
    expect(writesOf(spans, 't-3')).toHaveLength(2);
    expect(detectDuplicateWrites(graphOf(spans)).findings).toEqual([]);
  }, 20_000);

  it('finds nothing when the timed-out write is not retried', async () => {
    const { spans, log } = await runStep(
      'task:t-4',
      (redis, _store, attempt) => withStateAccess({ attempt, idempotencyKey: 't-4:research:output' }, () => redis.hset('task:t-4', { version: 1 })),
      false,
    );
    expect(log).toEqual(['attempt 1: Command timed out']);
    expect(writesOf(spans, 'task:t-4')).toHaveLength(1);
    expect(detectDuplicateWrites(graphOf(spans)).findings).toEqual([]);
  }, 20_000);
});

describe.skipIf(shouldSkipStoreTests())('detectDuplicateWrites on a retry after a statement PostgreSQL cancelled (real PostgreSQL)', () => {
  let server: RunningPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('finds nothing: a statement_timeout rolled the first attempt back, so the retry is the only write', async () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const admin = new pg.Pool(server.connection);
    const pool = instrumentPg(new pg.Pool({ ...server.connection, statement_timeout: 150 }), {
      tracer: otel.tracer,
      tables: { agent_state: { key: 'id', version: 'rev' } },
    });
    const log: string[] = [];
    try {
      await admin.query('CREATE TABLE agent_state (id text PRIMARY KEY, doc text NOT NULL, rev int NOT NULL)');
      await admin.query("INSERT INTO agent_state VALUES ('t-5', 'draft', 1)");
      // Another session holds the row: attempt 1's UPDATE waits on it until its statement_timeout cancels it.
      const holder = await admin.connect();
      await holder.query('BEGIN');
      await holder.query("SELECT * FROM agent_state WHERE id = 't-5' FOR UPDATE");
      await baton.runAgent(
        'research',
        async () => {
          for (let attempt = 1; attempt <= 2; attempt++) {
            try {
              await withStateAccess({ attempt, idempotencyKey: 't-5:research:output' }, () =>
                pool.query('UPDATE agent_state SET doc = $2, rev = $3 WHERE id = $1', ['t-5', `attempt ${attempt}`, 2]),
              );
              log.push(`attempt ${attempt}: committed`);
              break;
            } catch (error) {
              log.push(`attempt ${attempt}: ${(error as Error).message}`);
              await holder.query('COMMIT');
              holder.release();
            }
          }
        },
        { taskId: 't-5' },
      );
      const { rows } = await admin.query("SELECT doc, rev FROM agent_state WHERE id = 't-5'");
      expect(log).toEqual(['attempt 1: canceling statement due to statement timeout', 'attempt 2: committed']);
      expect(rows).toEqual([{ doc: 'attempt 2', rev: 2 }]);
      const spans = toSpanRecords(otel.spans());
      const writes = spans.filter((s) => s.attributes['baton.operation'] === BatonOperation.StateWrite);
      // The server cancelled the statement and rolled it back: its SQLSTATE, not the `timeout` of a lost reply.
      expect(writes.map((w) => w.attributes['error.type'])).toEqual(['57014', undefined]);
      expect(detectDuplicateWrites(graphOf(spans))).toMatchObject({ findings: [], checked: 1 });
      // Traces of earlier Baton versions wrote `timeout` there: the status message still tells the cancel apart.
      const older = spans.map((s) => (s.attributes['error.type'] === '57014' ? { ...s, attributes: { ...s.attributes, 'error.type': 'timeout' } } : s));
      expect(detectDuplicateWrites(graphOf(older))).toMatchObject({ findings: [], checked: 1 });
    } finally {
      await pool.end();
      await admin.end();
      await otel.shutdown();
    }
  }, 30_000);
});
