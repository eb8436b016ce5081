/**
 * What `baton watch --metrics-port` costs: the live session's analysis throughput
 * (spans/s pushed, analyzed and finished, in process, no network) with the metrics
 * instruments fed and a scrape every second, against the same session without
 * them, alternating runs on the same batches (the example pipeline's traces, as in
 * bench/receiver.ts); then one scrape's collection and size at the edges that run
 * made, and the cost of one recorded latency at 200 edges.
 *
 * A scrape every second is 15 times Prometheus' usual 15 s: the ratio is a bound.
 *
 * Run alone: npx tsx bench/metrics.ts   (BATON_BENCH_QUICK=1: fewer batches)
 */
import { LiveSession } from '../dashboards/live-session.js';
import { WatchMetrics } from '../src/receiver/prometheus-metrics.js';
import type { SpanRecord } from '../src/model/span-record.js';
import { collectGarbage, fmt, fmtRatio, log, markdownTable, median, QUICK } from './common.js';
import { buildBatches, templateTraces } from './receiver.js';

const BATCHES = QUICK ? 40 : 150;
const ROUNDS = QUICK ? 2 : 3;

interface Run {
  readonly spansPerSecond: number;
  readonly scrapes: number;
  readonly lastScrape?: { readonly ms: number; readonly bytes: number };
}

async function runSession(batches: readonly SpanRecord[][], spans: number, withMetrics: boolean): Promise<Run> {
  collectGarbage();
  let metrics: WatchMetrics | undefined;
  const session = new LiveSession({
    mode: 'receive',
    settleMs: 200,
    onAnalysis: withMetrics
      ? (update) => {
          if (update.kind === 'group') metrics!.recordLatencies(update.edges);
          metrics!.recordFindings(update.findings);
        }
      : undefined,
  });
  if (withMetrics) metrics = new WatchMetrics({ counters: () => session.counters(), edgeHandoffs: () => session.report().edges });
  let scrapes = 0;
  const timer = withMetrics
    ? setInterval(() => {
        scrapes++;
        void metrics!.collectText();
      }, 1_000)
    : undefined;
  const started = performance.now();
  for (const batch of batches) await session.push(batch);
  await session.finish();
  const ms = performance.now() - started;
  if (timer) clearInterval(timer);
  let lastScrape: Run['lastScrape'];
  if (metrics) {
    const t = performance.now();
    const text = await metrics.collectText();
    lastScrape = { ms: performance.now() - t, bytes: Buffer.byteLength(text) };
    await metrics.shutdown();
  }
  return { spansPerSecond: spans / (ms / 1000), scrapes, ...(lastScrape ? { lastScrape } : {}) };
}

/** Microseconds per recorded latency at 200 edges (the SDK hashes the attributes on each record). */
function recordCost(): number {
  const edges = Array.from({ length: 200 }, (_, i) => ({ source: `agent-${i}`, target: `agent-${i + 1}`, latenciesMs: [1.5, 12, 40, 250, 3_000] }));
  const metrics = new WatchMetrics({
    counters: () => ({ accepted: 0, rejected: 0, throttled: 0, agedOut: 0, badRequests: 0, tracesOpen: 0, tracesAnalyzed: 0 }),
    edgeHandoffs: () => [],
  });
  const rounds = 200;
  const started = performance.now();
  for (let r = 0; r < rounds; r++) metrics.recordLatencies(edges);
  const us = ((performance.now() - started) * 1000) / (rounds * edges.length * 5);
  void metrics.shutdown();
  return us;
}

const batches = buildBatches(await templateTraces()).slice(0, BATCHES);
let spans = 0;
for (const batch of batches) spans += batch.length;
log(`metrics bench: ${BATCHES} batches, ${spans} spans, ${ROUNDS} rounds each way`);
const off: number[] = [];
const on: number[] = [];
let last: Run | undefined;
for (let round = 0; round < ROUNDS; round++) {
  off.push((await runSession(batches, spans, false)).spansPerSecond);
  last = await runSession(batches, spans, true);
  on.push(last.spansPerSecond);
}
const ratio = median(on) / median(off);
console.log(
  markdownTable(
    ['session', 'spans/s (median)', 'runs'],
    [
      ['without metrics', fmt(median(off), 0), off.map((v) => fmt(v, 0)).join(', ')],
      ['with metrics, a scrape every second', fmt(median(on), 0), on.map((v) => fmt(v, 0)).join(', ')],
      ['ratio', fmtRatio(ratio), ''],
    ],
  ),
);
if (last?.lastScrape) console.log(`one scrape after the run: ${fmt(last.lastScrape.ms, 1)} ms, ${fmt(last.lastScrape.bytes / 1024, 0)} KiB`);
console.log(`one recorded latency at 200 edges: ${fmt(recordCost(), 2)} µs`);
