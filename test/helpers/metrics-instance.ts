/**
 * One `baton watch` as the metrics and scale-out tests need it, in process: a
 * LiveSession behind a real OTLP/HTTP receiver, its WatchMetrics on a real
 * /metrics server, and a sketch per edge fed what the analysis reported (the
 * same latencies the Auditor's own sketches take), so parts can be merged.
 * Also runs the test app (send-handoffs.ts) in its own process.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LiveSession } from '../../dashboards/live-session.js';
import { LatencySketch } from '../../src/analyze/latency-sketch.js';
import { startOtlpHttpReceiver, type OtlpHttpReceiver } from '../../src/receiver/otlp-http.js';
import { startMetricsServer, WatchMetrics, type MetricsServer } from '../../src/receiver/prometheus-metrics.js';
import type { SendHandoffsLog } from './send-handoffs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface MetricsInstance {
  readonly session: LiveSession;
  readonly receiver: OtlpHttpReceiver;
  readonly server: MetricsServer;
  readonly metrics: WatchMetrics;
  /** Edge `source\u0000target` → a sketch of every latency the analysis reported on it. */
  readonly sketches: Map<string, LatencySketch>;
  close(): Promise<void>;
}

export async function startMetricsInstance(options: { maxEdges?: number } = {}): Promise<MetricsInstance> {
  let metrics: WatchMetrics | undefined;
  const sketches = new Map<string, LatencySketch>();
  const session = new LiveSession({
    mode: 'receive',
    // Short waits: the app's traces are complete when exported.
    settleMs: 100,
    idleMs: 2_000,
    onAnalysis: (update) => {
      if (update.kind === 'group') {
        metrics?.recordLatencies(update.edges);
        for (const edge of update.edges) {
          const key = `${edge.source}\u0000${edge.target}`;
          let sketch = sketches.get(key);
          if (!sketch) sketches.set(key, (sketch = new LatencySketch()));
          for (const ms of edge.latenciesMs) sketch.add(ms);
        }
      }
      metrics?.recordFindings(update.findings);
    },
  });
  metrics = new WatchMetrics({ counters: () => session.counters(), edgeHandoffs: () => session.report().edges }, options);
  const receiver = await startOtlpHttpReceiver(session, { port: 0 });
  const server = await startMetricsServer(metrics, { port: 0 });
  session.start(50);
  return {
    session,
    receiver,
    server,
    metrics,
    sketches,
    async close() {
      session.close();
      await receiver.close();
      await server.close();
      await session.finish();
      await metrics!.shutdown();
    },
  };
}

/** Waits until `instance` accepted `spans` and analyzed `traces` traces, none left open. */
export async function analyzed(instance: MetricsInstance, spans: number, traces: number): Promise<void> {
  for (let i = 0; i < 1_200; i++) {
    const c = instance.session.counters();
    if (c.accepted === spans && c.tracesAnalyzed === traces && c.tracesOpen === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const c = instance.session.counters();
  throw new Error(`not analyzed: ${JSON.stringify(c)}, expected ${spans} spans and ${traces} traces`);
}

/** Runs test/helpers/send-handoffs.ts with `args`; resolves with its log line. */
export function sendHandoffs(args: readonly string[]): Promise<SendHandoffsLog> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', TSX_LOADER, `${ROOT}test/helpers/send-handoffs.ts`, ...args],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as SendHandoffsLog)),
    );
  });
}
