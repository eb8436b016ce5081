/**
 * Store adapter overhead: the same command on the same hot key through a bare
 * client and through an instrumented one (baton-sdk/redis, baton-sdk/pg), on a private
 * local redis-server and PostgreSQL started for the run; and the cost of the
 * versioned write (compare-and-set + idempotency key, in one script or one
 * transaction) against a plain write.
 *
 * Each command is awaited before the next (one connection, no pipelining), so a
 * latency sample is one round trip plus the client's work. Bare and instrumented
 * run in alternating rounds on their own connections, so drift in the machine's
 * load lands on both; p50 of each and their ratio are reported (the goal: under
 * 5% added latency at p50), with the mean. Spans go through a BatchSpanProcessor
 * to an exporter that drops them, as in bench/sdk.ts. Peak RSS of the process
 * (`process.resourceUsage().maxRSS`) is reported too.
 *
 * Two reference rows split the cost of a traced Redis GET: the same client
 * instrumented on a no-op tracer (Baton's own work, no span recorded), and the
 * bare client under @opentelemetry/instrumentation-ioredis (what one OTel SDK
 * span per command costs when the contrib writes it). node-redis is measured like
 * ioredis.
 *
 * Run alone: npx tsx bench/stores.ts   (BATON_BENCH_QUICK=1 for fewer rounds)
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createClient } from 'redis';
import { instrumentNodeRedis } from '../src/stores/node-redis.js';
import { instrumentPg, PgStateStore } from '../src/stores/pg.js';
import { instrumentRedis, RedisStateStore } from '../src/stores/redis.js';
import { startPostgres, startRedis } from '../test/helpers/servers.js';
import { DiscardExporter } from './sdk.js';
import { fmt, fmtRatio, log, markdownTable, peakRssMiB, QUICK, verdict } from './common.js';

const require = createRequire(import.meta.url);

/** Added latency at p50 the issue allows. */
export const STORE_OVERHEAD_GOAL = 1.05;

const ROUNDS = QUICK ? 6 : 20;
const OPS_PER_ROUND = QUICK ? 100 : 250;
// Enough for V8 to have optimized both sides before the measured rounds (its compiler threads count in the CPU figures).
const WARMUP_OPS = 2000;

export interface StoreRow {
  name: string;
  samples: number;
  bareP50Us: number;
  instrumentedP50Us: number;
  bareMeanUs: number;
  instrumentedMeanUs: number;
  /** instrumented p50 / bare p50. */
  ratio: number;
  /** This process's CPU time (user + system) per command: the client's own work, less sensitive to other load than latency. */
  bareCpuUs: number;
  instrumentedCpuUs: number;
}

export interface StoresResults {
  rows: StoreRow[];
  /** Versioned write / plain write, p50, both instrumented. */
  versioned: StoreRow[];
  /** What a traced GET's cost is made of: Baton on a no-op tracer, and the contrib instrumentation instead of Baton. */
  reference: StoreRow[];
  peakRssMiB: number;
  spansExported: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Runs `n` awaited commands, pushing each one's latency in µs; returns the process CPU µs they took. */
async function sample(op: (i: number) => Promise<unknown>, n: number, into: number[], offset: number): Promise<number> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await op(offset + i);
    into.push((performance.now() - started) * 1000);
  }
  const used = process.cpuUsage(cpu);
  return used.user + used.system;
}

/** Alternating rounds of `a` (bare or baseline) and `b`; rows are named `name`. */
async function compare(name: string, a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>): Promise<StoreRow> {
  const samplesA: number[] = [];
  const samplesB: number[] = [];
  await sample(a, WARMUP_OPS, [], 0);
  await sample(b, WARMUP_OPS, [], 0);
  let cpuA = 0;
  let cpuB = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const offset = (round + 1) * OPS_PER_ROUND;
    if (round % 2 === 0) {
      cpuA += await sample(a, OPS_PER_ROUND, samplesA, offset);
      cpuB += await sample(b, OPS_PER_ROUND, samplesB, offset);
    } else {
      cpuB += await sample(b, OPS_PER_ROUND, samplesB, offset);
      cpuA += await sample(a, OPS_PER_ROUND, samplesA, offset);
    }
  }
  samplesA.sort((x, y) => x - y);
  samplesB.sort((x, y) => x - y);
  const row: StoreRow = {
    name,
    samples: samplesA.length,
    bareP50Us: quantile(samplesA, 0.5),
    instrumentedP50Us: quantile(samplesB, 0.5),
    bareMeanUs: mean(samplesA),
    instrumentedMeanUs: mean(samplesB),
    ratio: quantile(samplesB, 0.5) / quantile(samplesA, 0.5),
    bareCpuUs: cpuA / samplesA.length,
    instrumentedCpuUs: cpuB / samplesB.length,
  };
  log(
    `  stores: ${name}: ${fmt(row.bareP50Us, 1)} µs → ${fmt(row.instrumentedP50Us, 1)} µs at p50 (${fmtRatio(row.ratio)}); ` +
      `client CPU ${fmt(row.bareCpuUs, 1)} → ${fmt(row.instrumentedCpuUs, 1)} µs per command`,
  );
  return row;
}

export async function runStoresBench(): Promise<StoresResults> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new DiscardExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('baton-bench');
  log('stores: starting redis-server and PostgreSQL');
  const [redisServer, pgServer] = await Promise.all([startRedis(), startPostgres()]);
  const rows: StoreRow[] = [];
  const versioned: StoreRow[] = [];
  const reference: StoreRow[] = [];
  try {
    const bareRedis = new Redis(redisServer.port, redisServer.host);
    const tracedRedis = instrumentRedis(new Redis(redisServer.port, redisServer.host), { tracer });
    const doc = JSON.stringify({ version: 1, epoch: 1, summary: 'x'.repeat(200) });
    await bareRedis.set('doc:hot', doc);
    rows.push(await compare('Redis GET, hot key (JSON value, version read)', () => bareRedis.get('doc:hot'), () => tracedRedis.get('doc:hot')));
    rows.push(await compare('Redis SET, hot key (JSON value, version read from it)', () => bareRedis.set('doc:hot', doc), () => tracedRedis.set('doc:hot', doc)));
    rows.push(await compare('Redis PING (not state: passed through)', () => bareRedis.ping(), () => tracedRedis.ping()));
    // Baton's own work: every step of the traced path, on a tracer whose spans record nothing.
    const noopRedis = instrumentRedis(new Redis(redisServer.port, redisServer.host), { tracer: trace.getTracer('no provider: no-op') });
    reference.push(await compare('Redis GET: Baton on a no-op tracer (its own work, no span recorded)', () => bareRedis.get('doc:hot'), () => noopRedis.get('doc:hot')));
    noopRedis.disconnect();
    // The contrib instrumentation patches every ioredis client: on for one side's rounds, off for the other's.
    const contrib = new IORedisInstrumentation({ requireParentSpan: false });
    contrib.setTracerProvider(provider);
    let contribOn = false;
    const setContrib = (on: boolean) => {
      if (on === contribOn) return;
      contribOn = on;
      if (on) {
        contrib.enable();
        require('ioredis'); // imported before the instrumentation existed: requiring it again applies the patch
      } else {
        contrib.disable();
      }
    };
    reference.push(
      await compare(
        'Redis GET: @opentelemetry/instrumentation-ioredis instead of Baton (one contrib CLIENT span)',
        () => (setContrib(false), bareRedis.get('doc:hot')),
        () => (setContrib(true), bareRedis.get('doc:hot')),
      ),
    );
    setContrib(false);
    const storeRedis = new Redis(redisServer.port, redisServer.host);
    const redisStore = new RedisStateStore<string>(storeRedis, { tracer });
    await redisStore.set('hot', 'v');
    versioned.push(
      await compare(
        'Redis: versioned write (Lua: idempotency + CAS + HSET) vs instrumented HSET',
        (i) => tracedRedis.hset('task:hot', 'value', 'v', 'version', String(i)),
        (i) => redisStore.set('hot', 'v', { idempotencyKey: `op-${i}` }),
      ),
    );
    bareRedis.disconnect();
    tracedRedis.disconnect();
    storeRedis.disconnect();

    const bareNodeRedis = await createClient({ socket: { host: redisServer.host, port: redisServer.port } }).connect();
    const tracedNodeRedis = instrumentNodeRedis(await createClient({ socket: { host: redisServer.host, port: redisServer.port } }).connect(), { tracer });
    rows.push(await compare('node-redis GET, hot key (JSON value, version read)', () => bareNodeRedis.get('doc:hot'), () => tracedNodeRedis.get('doc:hot')));
    rows.push(await compare('node-redis SET, hot key (JSON value, version read from it)', () => bareNodeRedis.set('doc:hot', doc), () => tracedNodeRedis.set('doc:hot', doc)));
    bareNodeRedis.destroy();
    tracedNodeRedis.destroy();

    const bare = new pg.Client(pgServer.connection);
    const traced = instrumentPg(new pg.Client(pgServer.connection), { tracer, tables: { agent_state: { key: 'id', version: 'rev' } } });
    await bare.connect();
    await traced.connect();
    await bare.query('CREATE TABLE agent_state (id text PRIMARY KEY, doc text NOT NULL, rev int NOT NULL)');
    await bare.query("INSERT INTO agent_state VALUES ('hot-a', 'x', 1), ('hot-b', 'x', 1)");
    const update = 'UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 RETURNING rev';
    // Each side updates its own hot row, so neither waits on the other's row lock.
    rows.push(await compare('PostgreSQL single-row UPDATE … RETURNING, hot row', () => bare.query(update, ['hot-a', 'y']), () => traced.query(update, ['hot-b', 'y'])));
    rows.push(await compare('PostgreSQL SELECT 1 (not state: passed through)', () => bare.query('SELECT 1'), () => traced.query('SELECT 1')));
    const pool = new pg.Pool({ ...pgServer.connection, max: 1 });
    const pgStore = new PgStateStore<string>(pool, { tracer });
    await pgStore.ensureSchema();
    versioned.push(
      await compare(
        'PostgreSQL: versioned write (transaction: lock, idempotency, CAS, UPDATE) vs instrumented UPDATE',
        () => traced.query(update, ['hot-b', 'z']),
        (i) => pgStore.set('hot', 'v', { idempotencyKey: `op-${i}` }),
      ),
    );
    await pool.end();
    await bare.end();
    await traced.end();
  } finally {
    await provider.shutdown();
    await Promise.all([redisServer.stop(), pgServer.stop()]);
  }
  return { rows, versioned, reference, peakRssMiB: peakRssMiB(), spansExported: exporter.exported };
}

export function formatStoresResults(results: StoresResults): string {
  const lines = [
    '## Store adapters (baton-sdk/redis, baton-sdk/node-redis, baton-sdk/pg)',
    '',
    `Awaited commands on one connection each, ${results.rows[0]?.samples ?? 0} samples per side in alternating rounds; local servers.`,
    '',
    markdownTable(
      ['command', 'bare p50', 'instrumented p50', 'ratio (p50)', 'means', 'client CPU per command', 'goal', 'met'],
      results.rows.map((r) => [
        r.name,
        `${fmt(r.bareP50Us, 1)} µs`,
        `${fmt(r.instrumentedP50Us, 1)} µs`,
        fmtRatio(r.ratio),
        `${fmt(r.bareMeanUs, 1)} → ${fmt(r.instrumentedMeanUs, 1)} µs`,
        `${fmt(r.bareCpuUs, 1)} → ${fmt(r.instrumentedCpuUs, 1)} µs`,
        `≤ ${STORE_OVERHEAD_GOAL}x`,
        verdict(r.ratio <= STORE_OVERHEAD_GOAL),
      ]),
    ),
    '',
    markdownTable(
      ['reference (bare → …)', 'bare p50', 'p50', 'ratio (p50)', 'client CPU per command'],
      (results.reference ?? []).map((r) => [
        r.name,
        `${fmt(r.bareP50Us, 1)} µs`,
        `${fmt(r.instrumentedP50Us, 1)} µs`,
        fmtRatio(r.ratio),
        `${fmt(r.bareCpuUs, 1)} → ${fmt(r.instrumentedCpuUs, 1)} µs`,
      ]),
    ),
    '',
    markdownTable(
      ['versioned write', 'plain p50', 'versioned p50', 'ratio (p50)'],
      results.versioned.map((r) => [r.name, `${fmt(r.bareP50Us, 1)} µs`, `${fmt(r.instrumentedP50Us, 1)} µs`, fmtRatio(r.ratio)]),
    ),
    '',
    `Peak RSS of the benchmark process: ${fmt(results.peakRssMiB, 0)} MiB; ${results.spansExported.toLocaleString('en-US')} spans exported.`,
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await runStoresBench();
  // --json: for bench/run.ts, which runs this file in a child process.
  console.log(process.argv.includes('--json') ? JSON.stringify(results) : formatStoresResults(results));
}
