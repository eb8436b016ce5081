/**
 * The property docs/scale-out.md relies on: when the Collector's loadbalancing
 * exporter (routing_key: traceID) splits a trace set across `baton watch`
 * instances, what Prometheus adds up across them equals what one instance fed
 * everything would show. Per-edge handoff counts and histogram buckets add up
 * exactly; per-edge DDSketches merge to the one sketch bucket for bucket, so
 * percentiles are within the sketch's stated relative error α of the exact ones;
 * histogram_quantile over the summed buckets is within one bucket's width.
 *
 * End to end: a real app (Baton SDK, real OTel SDK, real OTLP/protobuf exporters)
 * sends every span to one receiver and each trace to one of two others, picked by
 * its trace id; three real HTTP receivers with live sessions and /metrics servers.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '../../src/analyze/latency.js';
import { LatencySketch, type LatencySketchJson } from '../../src/analyze/latency-sketch.js';
import { HANDOFF_DURATION_BUCKETS_S, WatchMetrics } from '../../src/receiver/prometheus-metrics.js';
import { analyzed, sendHandoffs, startMetricsInstance, type MetricsInstance } from '../helpers/metrics-instance.js';
import { parseExposition, samplesOf, scrape, type Exposition } from '../helpers/prometheus-text.js';
import type { SendHandoffsLog } from '../helpers/send-handoffs.js';

const QUANTILES = [0.5, 0.95, 0.99] as const;
/** Room for ln γ rounding at bucket edges: a few ulps of the log, not of α. */
const SLACK = 1 + 1e-9;

/** Which of `parts` a trace goes to: the test app's rule (low 32 bits of the trace id). */
function partOf(traceId: string, parts: number): number {
  return Number.parseInt(traceId.slice(-8), 16) % parts;
}

/** `sum by (le, source, target) (metric)` over several scrapes: label key → value. */
function sumByEdgeAndLe(expositions: readonly Exposition[], name: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const exposition of expositions) {
    for (const sample of samplesOf(exposition, name)) {
      const key = `${sample.labels.source ?? ''}\u0000${sample.labels.target ?? ''}\u0000${sample.labels.le ?? ''}`;
      sums.set(key, (sums.get(key) ?? 0) + sample.value);
    }
  }
  return sums;
}

/** Prometheus' histogram_quantile on cumulative bucket counts (bounds ascending, the last +Inf), and the bucket it used. */
function histogramQuantile(q: number, bounds: readonly number[], cumulative: readonly number[]): { value: number; lower: number; upper: number } {
  const total = cumulative[cumulative.length - 1]!;
  const rank = q * total;
  let i = 0;
  while (cumulative[i]! < rank) i++;
  if (i === bounds.length) return { value: bounds[bounds.length - 1]!, lower: bounds[bounds.length - 1]!, upper: Number.POSITIVE_INFINITY };
  const lower = i === 0 ? 0 : bounds[i - 1]!;
  const upper = bounds[i]!;
  const below = i === 0 ? 0 : cumulative[i - 1]!;
  const inBucket = cumulative[i]! - below;
  return { value: lower + (upper - lower) * ((rank - below) / inBucket), lower, upper };
}

/** toJSON without the sum, whose rounding depends on the order of additions. */
function bucketsOf(sketch: LatencySketch): Omit<LatencySketchJson, 'sum'> {
  const { sum: _sum, ...rest } = sketch.toJSON();
  return rest;
}

function mergeAll(parts: readonly (LatencySketch | undefined)[]): LatencySketch {
  const merged = new LatencySketch();
  for (const part of parts) if (part) merged.merge(part);
  return merged;
}

function expectWithinAlpha(estimate: number, exact: number, alpha: number, what: string): void {
  const bound = alpha * Math.abs(exact) * SLACK;
  if (!(Math.abs(estimate - exact) <= bound)) expect.fail(`${what}: estimate ${estimate} is ${Math.abs(estimate - exact)} from exact ${exact}, bound ${bound}`);
}

describe('a trace set split by trace id across two receivers', { timeout: 180_000 }, () => {
  let whole: MetricsInstance;
  let parts: MetricsInstance[];
  let log: SendHandoffsLog;

  beforeAll(async () => {
    [whole, ...parts] = await Promise.all([startMetricsInstance(), startMetricsInstance(), startMetricsInstance()]);
    log = await sendHandoffs([
      '--url', whole.receiver.url,
      '--split', parts[0]!.receiver.url,
      '--split', parts[1]!.receiver.url,
      '--tasks', '40', '--seed', '21', '--late-acks', '3',
    ]);
    expect(log.failed).toBe(0);
    await analyzed(whole, log.exported[whole.receiver.url]!, log.traceIds.length);
    for (let i = 0; i < parts.length; i++) {
      const traces = log.traceIds.filter((id) => partOf(id, parts.length) === i).length;
      // Both receivers got a share: otherwise the split proves nothing.
      expect(traces).toBeGreaterThan(0);
      await analyzed(parts[i]!, log.exported[parts[i]!.receiver.url]!, traces);
    }
  });
  afterAll(async () => {
    await Promise.all([whole, ...(parts ?? [])].filter(Boolean).map((instance) => instance.close()));
  });

  it('splits the spans without losing or repeating one', () => {
    expect(log.exported[parts[0]!.receiver.url]! + log.exported[parts[1]!.receiver.url]!).toBe(log.exported[whole.receiver.url]);
    expect(parts[0]!.session.counters().accepted + parts[1]!.session.counters().accepted).toBe(whole.session.counters().accepted);
  });

  it('gives per-edge handoff counts that add up to the whole receiver\'s, and to what the app did', () => {
    const merged = new Map<string, number>();
    for (const part of parts) {
      for (const edge of part.session.report().edges) {
        const key = `${edge.source}\u0000${edge.target}`;
        merged.set(key, (merged.get(key) ?? 0) + edge.handoffs);
      }
    }
    const one = new Map(whole.session.report().edges.map((e) => [`${e.source}\u0000${e.target}`, e.handoffs] as const));
    expect(merged).toEqual(one);
    expect(Object.fromEntries(one)).toEqual(log.handoffs);
  });

  it('gives Prometheus histograms and counters whose sum by (le, source, target) equals the whole receiver\'s exactly', async () => {
    const [oneScrape, ...partScrapes] = await Promise.all([whole, ...parts].map((instance) => scrape(instance.server.url)));
    for (const name of ['baton_handoff_duration_bucket', 'baton_handoff_duration_count', 'baton_handoffs_total', 'baton_findings_total']) {
      expect(sumByEdgeAndLe(partScrapes, name), name).toEqual(sumByEdgeAndLe([oneScrape!], name));
    }
    // Findings too: the late acknowledgements, wherever their trace went.
    const late = samplesOf(oneScrape!, 'baton_findings_total', { rule: 'ack-timeout', severity: 'warning' });
    expect(late[0]?.value).toBe(log.lateAcks);
  });

  it('gives per-edge sketches that merge, bucket for bucket, into the whole receiver\'s: percentiles equal, within α of the exact ones', () => {
    const report = whole.session.report();
    expect(report.edges.length).toBeGreaterThan(0);
    for (const edge of report.edges) {
      const key = `${edge.source}\u0000${edge.target}`;
      const merged = mergeAll(parts.map((part) => part.sketches.get(key)));
      const one = whole.sketches.get(key)!;
      expect(bucketsOf(merged), key).toEqual(bucketsOf(one));
      // The whole receiver's report reads its Auditor's own sketch: the merged one gives the same numbers.
      expect(merged.quantile(0.5)).toBe(edge.latencyMs!.p50);
      expect(merged.quantile(0.95)).toBe(edge.latencyMs!.p95);
      expect(merged.quantile(0.99)).toBe(edge.latencyMs!.p99);
      const exact = Float64Array.from(log.latenciesMs[key]!).sort();
      for (const q of QUANTILES) expectWithinAlpha(merged.quantile(q), percentile(exact, q), merged.relativeAccuracy, `${key} q=${q}`);
    }
  });
});

/** Latency-like values, 0.1 ms to 10 min, spread evenly in log space. */
const latencyMs = fc.integer({ min: -1_000_000, max: 5_778_000 }).map((micro) => 10 ** (micro / 1e6));
const traceId = fc.stringMatching(/^[0-9a-f]{32}$/);
const traceSet = fc.array(fc.record({ traceId, latencies: fc.array(latencyMs, { minLength: 1, maxLength: 8 }) }), { minLength: 1, maxLength: 60 });

describe('sketches and histograms of a generated trace set split by trace id', () => {
  it('merge to the sketch of the whole, bucket for bucket, with every percentile within α of the exact one', () => {
    fc.assert(
      fc.property(traceSet, fc.integer({ min: 2, max: 4 }), (traces, partCount) => {
        const one = new LatencySketch();
        const pieces = Array.from({ length: partCount }, () => new LatencySketch());
        const all: number[] = [];
        for (const trace of traces) {
          const piece = pieces[partOf(trace.traceId, partCount)]!;
          for (const ms of trace.latencies) {
            one.add(ms);
            piece.add(ms);
            all.push(ms);
          }
        }
        const merged = mergeAll(pieces);
        expect(bucketsOf(merged)).toEqual(bucketsOf(one));
        const exact = Float64Array.from(all).sort();
        for (const q of [0.01, ...QUANTILES, 0.999]) {
          expect(merged.quantile(q)).toBe(one.quantile(q));
          expectWithinAlpha(merged.quantile(q), percentile(exact, q), merged.relativeAccuracy, `q=${q}`);
        }
      }),
    );
  });

  it('add up, through the Prometheus exporter, to the histogram of the whole; histogram_quantile is within one bucket of the exact percentile', async () => {
    const source = { counters: () => ({ accepted: 0, rejected: 0, throttled: 0, agedOut: 0, badRequests: 0, tracesOpen: 0, tracesAnalyzed: 0 }), edgeHandoffs: () => [] };
    await fc.assert(
      fc.asyncProperty(traceSet, fc.integer({ min: 2, max: 3 }), async (traces, partCount) => {
        const one = new WatchMetrics(source);
        const pieces = Array.from({ length: partCount }, () => new WatchMetrics(source));
        const all: number[] = [];
        for (const trace of traces) {
          const edge = [{ source: 'a', target: 'b', latenciesMs: trace.latencies }];
          one.recordLatencies(edge);
          pieces[partOf(trace.traceId, partCount)]!.recordLatencies(edge);
          all.push(...trace.latencies);
        }
        const oneText = parseExposition(await one.collectText());
        const pieceTexts = await Promise.all(pieces.map(async (piece) => parseExposition(await piece.collectText())));
        await Promise.all([one, ...pieces].map((m) => m.shutdown()));
        const summed = sumByEdgeAndLe(pieceTexts, 'baton_handoff_duration_bucket');
        expect(summed).toEqual(sumByEdgeAndLe([oneText], 'baton_handoff_duration_bucket'));
        const bounds = [...HANDOFF_DURATION_BUCKETS_S, Number.POSITIVE_INFINITY];
        const cumulative = bounds.map((le) => summed.get(`a\u0000b\u0000${Number.isFinite(le) ? String(le) : '+Inf'}`)!);
        expect(cumulative[cumulative.length - 1]).toBe(all.length);
        const exactS = Float64Array.from(all.map((ms) => ms / 1000)).sort();
        for (const q of QUANTILES) {
          const exact = percentile(exactS, q);
          const estimate = histogramQuantile(q, bounds, cumulative);
          // Both the exact value and the estimate lie in the bucket histogram_quantile chose.
          expect(exact).toBeGreaterThan(estimate.lower);
          expect(exact).toBeLessThanOrEqual(estimate.upper);
          expect(Math.abs(estimate.value - exact)).toBeLessThanOrEqual(estimate.upper - estimate.lower);
        }
      }),
      { numRuns: 40 },
    );
  });
});
