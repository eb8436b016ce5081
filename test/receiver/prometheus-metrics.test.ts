/**
 * `baton watch --metrics-port` in process: a real app (send-handoffs.ts, the Baton
 * SDK under the real OTel SDK and a real OTLP exporter) sends to a real OTLP/HTTP
 * receiver; /metrics is scraped over real HTTP, the text exposition parsed, and
 * every count compared with what the app says it did (its log line).
 */
import { createServer as createNetServer } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capped, printable } from '../../src/report/format.js';
import { HANDOFF_DURATION_BUCKETS_S, MAX_METRIC_EDGES, startMetricsServer, WatchMetrics } from '../../src/receiver/prometheus-metrics.js';
import { analyzed, sendHandoffs, startMetricsInstance, type MetricsInstance } from '../helpers/metrics-instance.js';
import { parseExposition, samplesOf, scrape, valueOf, type Exposition } from '../helpers/prometheus-text.js';
import type { SendHandoffsLog } from '../helpers/send-handoffs.js';

/** An agent name as a label value: printable on one line (a newline shows as the two characters `\n`). */
function labelOf(name: string): string {
  return name.replace(/\n/g, '\\n');
}

function edgeLabels(key: string): { source: string; target: string } {
  const [source, target] = key.split('\u0000') as [string, string];
  return { source: labelOf(source), target: labelOf(target) };
}

function totalExported(log: SendHandoffsLog): number {
  let total = 0;
  for (const n of Object.values(log.exported)) total += n;
  return total;
}

describe('WatchMetrics over real HTTP', { timeout: 120_000 }, () => {
  let instance: MetricsInstance;
  let log: SendHandoffsLog;
  let exposition: Exposition;

  beforeAll(async () => {
    instance = await startMetricsInstance();
    log = await sendHandoffs(['--url', instance.receiver.url, '--protocol', 'http-proto', '--tasks', '16', '--seed', '3', '--late-acks', '2', '--never-acked', '1']);
    expect(log.failed).toBe(0);
    await analyzed(instance, totalExported(log), log.traceIds.length);
    // The never-acknowledged handoff is reported once the clock passes its 5 ms budget.
    for (let i = 0; i < 600; i++) {
      exposition = await scrape(instance.server.url);
      if (samplesOf(exposition, 'baton_findings_total', { severity: 'error' }).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(() => instance?.close());

  it('counts every span the exporter sent as accepted, and the traces as analyzed', () => {
    expect(valueOf(exposition, 'baton_receiver_spans_total', { outcome: 'accepted' })).toBe(log.exported[instance.receiver.url]);
    expect(valueOf(exposition, 'baton_receiver_spans_total', { outcome: 'rejected' })).toBe(0);
    expect(valueOf(exposition, 'baton_receiver_spans_total', { outcome: 'throttled' })).toBe(0);
    expect(valueOf(exposition, 'baton_analysis_aged_out_spans_total')).toBe(0);
    expect(valueOf(exposition, 'baton_traces_analyzed_total')).toBe(log.traceIds.length);
    expect(valueOf(exposition, 'baton_traces_open')).toBe(0);
    expect(exposition.types.get('baton_receiver_spans_total')).toBe('counter');
    expect(exposition.types.get('baton_traces_open')).toBe('gauge');
  });

  it('has one handoffs series per edge the app used, with its count, the agent names escaped and read back', () => {
    const series = samplesOf(exposition, 'baton_handoffs_total');
    expect(series).toHaveLength(Object.keys(log.handoffs).length);
    for (const [key, count] of Object.entries(log.handoffs)) {
      expect(valueOf(exposition, 'baton_handoffs_total', edgeLabels(key)), key).toBe(count);
    }
    // The hostile names survived the exposition: quotes, a backslash, braces, non-ASCII.
    const names = new Set(series.flatMap((s) => [s.labels.source, s.labels.target]));
    expect(names).toContain('research "deep"');
    expect(names).toContain('back\\slash');
    expect(names).toContain('multi\\nline');
    expect(names).toContain('a,b=c}{');
    expect(names).toContain('ünïcødé 🚀');
  });

  it('puts each latency the app measured in the right seconds bucket of its edge', () => {
    expect(exposition.types.get('baton_handoff_duration')).toBe('histogram');
    for (const [key, latencies] of Object.entries(log.latenciesMs)) {
      const labels = edgeLabels(key);
      expect(valueOf(exposition, 'baton_handoff_duration_count', labels), key).toBe(latencies.length);
      let sumS = 0;
      for (const ms of latencies) sumS += ms / 1000;
      expect(valueOf(exposition, 'baton_handoff_duration_sum', labels)).toBeCloseTo(sumS, 6);
      for (const le of HANDOFF_DURATION_BUCKETS_S) {
        const expected = latencies.filter((ms) => ms / 1000 <= le).length;
        expect(valueOf(exposition, 'baton_handoff_duration_bucket', { ...labels, le: String(le) }), `${key} le=${le}`).toBe(expected);
      }
      expect(valueOf(exposition, 'baton_handoff_duration_bucket', { ...labels, le: '+Inf' })).toBe(latencies.length);
    }
  });

  it('counts findings by rule and severity: the late acknowledgements as warnings, the missing one as an error', () => {
    expect(valueOf(exposition, 'baton_findings_total', { rule: 'ack-timeout', severity: 'warning' })).toBe(log.lateAcks);
    expect(valueOf(exposition, 'baton_findings_total', { rule: 'ack-timeout', severity: 'error' })).toBe(log.neverAcked);
    expect(samplesOf(exposition, 'baton_findings_total')).toHaveLength(2);
  });

  it('answers HEAD, and 404 and 405 (with Allow) for anything but GET /metrics', async () => {
    const base = instance.server.url.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    const post = await fetch(instance.server.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(instance.server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect((await fetch(`${instance.server.url}?debug=1`)).status).toBe(200);
  });

  it('binds loopback by default', () => {
    expect(instance.server.host).toBe('127.0.0.1');
  });
});

describe('WatchMetrics edge cap', { timeout: 120_000 }, () => {
  it('gives the first maxEdges edges their own series and counts the rest in one overflow series', async () => {
    const instance = await startMetricsInstance({ maxEdges: 3 });
    try {
      const log = await sendHandoffs(['--url', instance.receiver.url, '--tasks', '30', '--seed', '11', '--extra-edges', '40']);
      await analyzed(instance, totalExported(log), log.traceIds.length);
      const exposition = await scrape(instance.server.url);
      const edges = Object.keys(log.handoffs);
      expect(edges.length).toBeGreaterThan(3);
      const own = samplesOf(exposition, 'baton_handoffs_total').filter((s) => s.labels.source !== undefined);
      expect(own).toHaveLength(3);
      let ownTotal = 0;
      for (const sample of own) {
        const key = edges.find((k) => edgeLabels(k).source === sample.labels.source && edgeLabels(k).target === sample.labels.target)!;
        expect(sample.value).toBe(log.handoffs[key]);
        ownTotal += sample.value;
      }
      let total = 0;
      for (const n of Object.values(log.handoffs)) total += n;
      expect(valueOf(exposition, 'baton_handoffs_total', { otel_metric_overflow: 'true' })).toBe(total - ownTotal);
      expect(valueOf(exposition, 'baton_edges_overflow')).toBe(edges.length - 3);
      // The histogram holds the same edges: 3 of their own, the rest in the overflow series.
      const histograms = samplesOf(exposition, 'baton_handoff_duration_count');
      expect(histograms.filter((s) => s.labels.source !== undefined)).toHaveLength(3);
      let latencies = 0;
      for (const list of Object.values(log.latenciesMs)) latencies += list.length;
      let counted = 0;
      for (const s of histograms) counted += s.value;
      expect(counted).toBe(latencies);
    } finally {
      await instance.close();
    }
  });

  it.each([0, MAX_METRIC_EDGES + 1, 2.5, Number.NaN])('refuses maxEdges %s with a RangeError', (maxEdges) => {
    const source = { counters: () => ({ accepted: 0, rejected: 0, throttled: 0, agedOut: 0, badRequests: 0, tracesOpen: 0, tracesAnalyzed: 0 }), edgeHandoffs: () => [] };
    expect(() => new WatchMetrics(source, { maxEdges })).toThrow(/^prometheus-metrics: maxEdges must be an integer in 1\.\.1999/);
  });
});

const NO_COUNTERS = () => ({ accepted: 0, rejected: 0, throttled: 0, agedOut: 0, badRequests: 0, tracesOpen: 0, tracesAnalyzed: 0 });
/** Agent names as hostile as traces can make them: any code units (lone surrogates too), the exposition's own syntax, long ones. */
const agentName = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  // 'x\u0001' and 'x\\u0001' share a printable form: one series must hold both.
  fc.constantFrom('"', '\\', '\n', '}', '{a="b"}', '\u001b[31m', '\u202e', 'le', ' ', 'x\u0001', 'x\\u0001'),
  fc.string({ unit: 'grapheme', minLength: 190, maxLength: 260 }),
);

describe('WatchMetrics on generated edges', () => {
  it('reads every agent name back from the exposition as its printable, capped form, and loses no handoff to the cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ source: agentName, target: agentName, handoffs: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 10 }),
        async (generated, maxEdges) => {
          // One entry per edge, as the Auditor reports them.
          const byKey = new Map<string, { source: string; target: string; handoffs: number }>();
          for (const e of generated) if (!byKey.has(`${e.source}\u0000${e.target}`)) byKey.set(`${e.source}\u0000${e.target}`, e);
          const edges = [...byKey.values()];
          const metrics = new WatchMetrics({ counters: NO_COUNTERS, edgeHandoffs: () => edges }, { maxEdges });
          const exposition = parseExposition(await metrics.collectText());
          await metrics.shutdown();
          // Expected: the first maxEdges distinct printable forms, in the order seen, get a series
          // each holding every edge with that form; every other edge is in the overflow series.
          const expected = new Map<string, number>();
          let overflowEdges = 0;
          let overflowHandoffs = 0;
          for (const e of edges) {
            const key = `${printable(capped(e.source))}\u0000${printable(capped(e.target))}`;
            if (expected.has(key) || expected.size < maxEdges) expected.set(key, (expected.get(key) ?? 0) + e.handoffs);
            else {
              overflowEdges++;
              overflowHandoffs += e.handoffs;
            }
          }
          const own = samplesOf(exposition, 'baton_handoffs_total').filter((s) => s.labels.otel_metric_overflow === undefined);
          const actual = new Map<string, number>();
          for (const s of own) {
            const key = `${s.labels.source}\u0000${s.labels.target}`;
            expect(actual.has(key), `two series labelled ${JSON.stringify(key)}`).toBe(false);
            actual.set(key, s.value);
          }
          expect(actual).toEqual(expected);
          const overflow = samplesOf(exposition, 'baton_handoffs_total', { otel_metric_overflow: 'true' });
          expect(overflow.length === 0 ? 0 : overflow[0]!.value).toBe(overflowHandoffs);
          expect(valueOf(exposition, 'baton_edges_overflow')).toBe(overflowEdges);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('WatchMetrics on names that share a printable form', () => {
  it('keeps one series for both, holding the handoffs and latencies of both', async () => {
    // A control character shows as its escape, so these two names read the same.
    const edges = [
      { source: 'x\u0001', target: 'a', handoffs: 2 },
      { source: 'x\\u0001', target: 'a', handoffs: 3 },
    ];
    const metrics = new WatchMetrics({ counters: NO_COUNTERS, edgeHandoffs: () => edges }, { maxEdges: 1 });
    metrics.recordLatencies([
      { source: edges[0]!.source, target: 'a', latenciesMs: [3] },
      { source: edges[1]!.source, target: 'a', latenciesMs: [40] },
    ]);
    const exposition = parseExposition(await metrics.collectText());
    await metrics.shutdown();
    expect(samplesOf(exposition, 'baton_handoffs_total')).toEqual([expect.objectContaining({ labels: expect.objectContaining({ source: 'x\\u0001', target: 'a' }), value: 5 })]);
    expect(valueOf(exposition, 'baton_handoff_duration_count', { source: 'x\\u0001' })).toBe(2);
    expect(valueOf(exposition, 'baton_edges_overflow')).toBe(0);
  });
});

describe('startMetricsServer', () => {
  it('rejects with EADDRINUSE when the port is taken', async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const metrics = new WatchMetrics({
      counters: () => ({ accepted: 0, rejected: 0, throttled: 0, agedOut: 0, badRequests: 0, tracesOpen: 0, tracesAnalyzed: 0 }),
      edgeHandoffs: () => [],
    });
    try {
      await expect(startMetricsServer(metrics, { port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      blocker.close();
      await metrics.shutdown();
    }
  });

  it('records a negative latency as skew, never in the histogram', async () => {
    const metrics = new WatchMetrics({
      counters: () => ({ accepted: 0, rejected: 0, throttled: 0, agedOut: 0, badRequests: 0, tracesOpen: 0, tracesAnalyzed: 0 }),
      edgeHandoffs: () => [{ source: 'a', target: 'b', handoffs: 3 }],
    });
    const server = await startMetricsServer(metrics, { port: 0 });
    try {
      metrics.recordLatencies([{ source: 'a', target: 'b', latenciesMs: [-4, 12, 1500] }]);
      const exposition = await scrape(server.url);
      expect(valueOf(exposition, 'baton_handoff_skewed_total', { source: 'a', target: 'b' })).toBe(1);
      expect(valueOf(exposition, 'baton_handoff_duration_count', { source: 'a', target: 'b' })).toBe(2);
      expect(valueOf(exposition, 'baton_handoff_duration_bucket', { source: 'a', target: 'b', le: '0.025' })).toBe(1);
      expect(valueOf(exposition, 'baton_handoff_duration_bucket', { source: 'a', target: 'b', le: '1' })).toBe(1);
      expect(valueOf(exposition, 'baton_handoff_duration_bucket', { source: 'a', target: 'b', le: '2.5' })).toBe(2);
      expect(valueOf(exposition, 'baton_handoffs_total', { source: 'a', target: 'b' })).toBe(3);
    } finally {
      await server.close();
      await metrics.shutdown();
    }
  });
});
