/**
 * Prometheus metrics of what `baton watch` received (`--metrics-port`), through
 * OpenTelemetry's own pieces: instruments on an sdk-metrics MeterProvider, read
 * by `@opentelemetry/exporter-prometheus`'s PrometheusExporter (a pull
 * MetricReader) and written by its PrometheusSerializer, so names, `_total`
 * suffixes, `le` buckets and label escaping are the exporter's, as in any OTel app.
 *
 * The exporter's own server is not used (`preventServerStart`): its config
 * treats port 0 as "use 9464", binds every interface when no host is given and
 * answers `Content-Type: text/plain` without the `version=0.0.4` that
 * Prometheus 3 requires (it fails such scrapes unless `fallback_scrape_protocol`
 * is set). This file's server binds loopback by default, takes 0 for a free
 * port, answers only GET/HEAD `/metrics` and never reads a request body.
 *
 * Names (OTel semantic-convention style: dotted, no unit in the name, the unit
 * in `unit`; the exporter turns dots into `_` and adds `_total` to counters):
 *
 *   baton.handoff.duration          histogram, s, {source, target}   send start → receive start
 *   baton.handoffs                  counter, {handoff}, {source, target}
 *   baton.handoff.skewed            counter, {handoff}, {source, target}   negative latencies (clock skew)
 *   baton.findings                  counter, {finding}, {rule, severity}
 *   baton.receiver.spans            counter, {span}, {outcome: accepted|rejected|throttled}
 *   baton.analysis.aged_out_spans   counter, {span}   accepted, but too late to join any trace
 *   baton.receiver.refused_requests counter, {request}
 *   baton.traces.open               updown counter (a gauge in Prometheus), {trace}
 *   baton.traces.analyzed           counter, {trace}
 *   baton.edges.overflow            gauge, {edge}   edges past `maxEdges`, folded into one series
 *
 * Seconds, not milliseconds: OTel's semantic conventions give durations in `s`
 * (http.server.request.duration, gen_ai.client.operation.duration) and seconds
 * are Prometheus' base unit, so `histogram_quantile` results read as seconds.
 *
 * Agent names come from traces, so they are label values, never label or metric
 * names, and their number is capped: the first `maxEdges` distinct edges get a
 * series each; any later edge is counted in the one series whose only attribute
 * is `otel.metric.overflow=true`, the attribute OTel's SDK itself uses when a
 * cardinality limit is hit, and `baton.edges.overflow` says how many edges are
 * in it. Values are made printable and capped at 200 characters first
 * (src/report/format.ts: what the dashboard and reports show), then escaped by
 * the exporter (`\`, `"`, newline).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Attributes, Counter, Histogram, Meter, ObservableCounter, ObservableGauge, ObservableUpDownCounter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { capped, printable } from '../report/format.js';

/**
 * Bucket bounds of `baton.handoff.duration`, in seconds: 1 ms to 10 min. Coordination
 * latency spans that range: an in-process handoff takes about a millisecond, one over
 * a queue tens to hundreds, one behind a busy or LLM-bound agent seconds, a stuck or
 * human-gated one minutes. Steps of 2–2.5× (1-2.5-5 per decade) up to 10 s, then
 * 30 s, 1, 2, 5 and 10 minutes: 19 buckets, so a per-edge series stays cheap. OTel's
 * default bounds stop at 10 s (10 000 with unit ms), too short for coordination.
 */
export const HANDOFF_DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
]);

/** Default and largest `maxEdges`: under OTel's default cardinality limit of 2000 series per instrument. */
export const DEFAULT_MAX_METRIC_EDGES = 200;
export const MAX_METRIC_EDGES = 1_999;

/** The attributes of the series that holds every edge past `maxEdges`, as OTel's SDK names it. */
const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

/** The span and trace counters of a live session, without building a report (cheap: for a metrics scrape). */
export interface LiveCounters {
  readonly accepted: number;
  readonly rejected: number;
  readonly throttled: number;
  readonly agedOut: number;
  readonly badRequests: number;
  readonly tracesOpen: number;
  readonly tracesAnalyzed: number;
}

/**
 * What the metrics read from the live session at each scrape. `counters` is cheap; `edgeHandoffs`
 * may cost a report snapshot (what `baton watch` passes), paid once per scrape however many
 * scrapes arrive together (they share one collection).
 */
export interface WatchMetricsSource {
  counters(): LiveCounters;
  /** Handoffs counted per edge so far, receive-only ones included (the Auditor's edge statistics). */
  edgeHandoffs(): readonly { readonly source: string; readonly target: string; readonly handoffs: number }[];
}

/** Latencies of handoffs an analyzed trace group added to one edge, in ms (signed). */
export interface EdgeLatencies {
  readonly source: string;
  readonly target: string;
  readonly latenciesMs: readonly number[];
}

/** Options of {@link WatchMetrics}. */
export interface WatchMetricsOptions {
  /** Distinct edges with series of their own, 1..1999. Default 200. */
  readonly maxEdges?: number;
  /** The instrumentation scope's version (`otel_scope_version`). */
  readonly version?: string;
  /** `service.instance.id` of the resource (target_info). Default: a random UUID. */
  readonly instanceId?: string;
}

/**
 * The instruments of `baton watch`, fed by the live session: latencies and findings
 * pushed as analysis produces them, counters observed at each scrape.
 */
export class WatchMetrics {
  readonly #source: WatchMetricsSource;
  readonly #maxEdges: number;
  readonly #provider: MeterProvider;
  readonly #exporter: PrometheusExporter;
  readonly #serializer = new PrometheusSerializer();
  readonly #duration: Histogram;
  readonly #skewed: Counter;
  readonly #findings: Counter;
  /**
   * Labels `source\0target` → attributes, for the first maxEdges edges. Keyed by the label
   * form, not the names: two names can share a printable, capped form, and one series
   * must then hold both (two series with the same labels would be an invalid exposition).
   */
  readonly #edgeAttributes = new Map<string, Attributes>();
  /** Names `source\0target` → attributes of the edges admitted, so label() runs once per edge; bounded. */
  readonly #attributesByName = new Map<string, Attributes>();
  readonly #findingAttributes = new Map<string, Attributes>();

  /** Throws a RangeError when `maxEdges` is not an integer in 1..1999. */
  constructor(source: WatchMetricsSource, options: WatchMetricsOptions = {}) {
    const maxEdges = options.maxEdges ?? DEFAULT_MAX_METRIC_EDGES;
    if (!Number.isInteger(maxEdges) || maxEdges < 1 || maxEdges > MAX_METRIC_EDGES) {
      throw new RangeError(`prometheus-metrics: maxEdges must be an integer in 1..${MAX_METRIC_EDGES}, got ${String(maxEdges)}`);
    }
    this.#source = source;
    this.#maxEdges = maxEdges;
    this.#exporter = new PrometheusExporter({ preventServerStart: true });
    this.#provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'baton-watch', 'service.instance.id': options.instanceId ?? randomUUID() }),
      // The exporter nests its own sdk-metrics (2.12.0; the root's is 2.12.1): its reader is the
      // other copy's MetricReader. They agree structurally; the tests scrape through this pair.
      readers: [this.#exporter],
    });
    const meter = this.#provider.getMeter('baton-watch', options.version);
    this.#duration = meter.createHistogram('baton.handoff.duration', {
      unit: 's',
      description: 'Handoff coordination latency per edge, send start to receive start (negative ones are in baton.handoff.skewed instead).',
      advice: { explicitBucketBoundaries: [...HANDOFF_DURATION_BUCKETS_S] },
    });
    this.#skewed = meter.createCounter('baton.handoff.skewed', {
      unit: '{handoff}',
      description: 'Handoffs received before they were sent by the spans\' clocks (clock skew between hosts); not in baton.handoff.duration.',
    });
    this.#findings = meter.createCounter('baton.findings', { unit: '{finding}', description: 'Coordination findings by rule and severity.' });
    this.#observe(meter);
  }

  /** Records what an analyzed trace group added: each latency in the histogram, or as skew when negative. */
  recordLatencies(edges: readonly EdgeLatencies[]): void {
    for (let e = 0; e < edges.length; e++) {
      const edge = edges[e]!;
      const latencies = edge.latenciesMs;
      if (latencies.length === 0) continue;
      const attributes = this.#attributesOf(edge.source, edge.target);
      for (let i = 0; i < latencies.length; i++) {
        const ms = latencies[i]!;
        if (ms < 0) this.#skewed.add(1, attributes);
        else if (Number.isFinite(ms)) this.#duration.record(ms / 1000, attributes);
      }
    }
  }

  /** Counts findings by rule id and severity (both from a closed set: no cap needed). */
  recordFindings(findings: readonly { readonly ruleId: string; readonly severity: string }[]): void {
    for (let i = 0; i < findings.length; i++) {
      const { ruleId, severity } = findings[i]!;
      const key = `${ruleId}\u0000${severity}`;
      let attributes = this.#findingAttributes.get(key);
      if (!attributes) this.#findingAttributes.set(key, (attributes = { rule: label(ruleId), severity: label(severity) }));
      this.#findings.add(1, attributes);
    }
  }

  /**
   * The text exposition (Prometheus text format 0.0.4) of every instrument, as a scrape
   * sees it. Scrapes that arrive while one is being collected share its result: each
   * collection reads the session's edge statistics, and a client looping on /metrics
   * must not make that work pile up.
   */
  collectText(): Promise<string> {
    this.#collecting ??= this.#exporter
      .collect()
      .then(({ resourceMetrics }) => this.#serializer.serialize(resourceMetrics))
      .finally(() => {
        this.#collecting = undefined;
      });
    return this.#collecting;
  }

  #collecting: Promise<string> | undefined;

  /** Stops the instruments. */
  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }

  #attributesOf(source: string, target: string): Attributes {
    const nameKey = `${source}\u0000${target}`;
    const known = this.#attributesByName.get(nameKey);
    if (known) return known;
    const sourceLabel = label(source);
    const targetLabel = label(target);
    const labelKey = `${sourceLabel}\u0000${targetLabel}`;
    let attributes = this.#edgeAttributes.get(labelKey);
    if (!attributes) {
      // Past the cap an edge shares the overflow series; remembered below like any other name, so
      // a session with many edges does not label every overflow edge again at every scrape.
      if (this.#edgeAttributes.size >= this.#maxEdges) attributes = OVERFLOW_ATTRIBUTES;
      else {
        attributes = { source: sourceLabel, target: targetLabel };
        this.#edgeAttributes.set(labelKey, attributes);
      }
    }
    // Names that collapse onto admitted labels are few; the bound only guards against a flood of them.
    if (this.#attributesByName.size < 4 * this.#maxEdges) this.#attributesByName.set(nameKey, attributes);
    return attributes;
  }

  #observe(meter: Meter): void {
    const handoffs: ObservableCounter = meter.createObservableCounter('baton.handoffs', {
      unit: '{handoff}',
      description: 'Handoffs counted per edge (with or without a measured latency).',
    });
    const spans: ObservableCounter = meter.createObservableCounter('baton.receiver.spans', {
      unit: '{span}',
      description: 'Spans received, each counted once: accepted, rejected (invalid, refused for good) or throttled (refused with retry: the exporter sends them again).',
    });
    const agedOut: ObservableCounter = meter.createObservableCounter('baton.analysis.aged_out_spans', {
      unit: '{span}',
      description: 'Accepted spans that ended before the retention window, counted instead of analyzed.',
    });
    const refusedRequests: ObservableCounter = meter.createObservableCounter('baton.receiver.refused_requests', {
      unit: '{request}',
      description: 'Requests that could not be read at all (malformed, too large, wrong content type).',
    });
    const open: ObservableUpDownCounter = meter.createObservableUpDownCounter('baton.traces.open', {
      unit: '{trace}',
      description: 'Traces received and not analyzed yet.',
    });
    const analyzed: ObservableCounter = meter.createObservableCounter('baton.traces.analyzed', { unit: '{trace}', description: 'Traces analyzed.' });
    const overflow: ObservableGauge = meter.createObservableGauge('baton.edges.overflow', {
      unit: '{edge}',
      description: 'Edges past the cap on distinct edges, counted together in the series with otel.metric.overflow="true".',
    });
    meter.addBatchObservableCallback(
      (result) => {
        const c = this.#source.counters();
        result.observe(spans, c.accepted, { outcome: 'accepted' });
        result.observe(spans, c.rejected, { outcome: 'rejected' });
        result.observe(spans, c.throttled, { outcome: 'throttled' });
        result.observe(agedOut, c.agedOut);
        result.observe(refusedRequests, c.badRequests);
        result.observe(open, c.tracesOpen);
        result.observe(analyzed, c.tracesAnalyzed);
        // One observation per series: an observable instrument keeps the last value of each
        // attribute set, so edges sharing a series (the overflow one, or names with the same
        // printable form) are added up first.
        let overflowEdges = 0;
        const perSeries = new Map<Attributes, number>();
        const edges = this.#source.edgeHandoffs();
        for (let i = 0; i < edges.length; i++) {
          const edge = edges[i]!;
          const attributes = this.#attributesOf(edge.source, edge.target);
          if (attributes === OVERFLOW_ATTRIBUTES) overflowEdges++;
          perSeries.set(attributes, (perSeries.get(attributes) ?? 0) + edge.handoffs);
        }
        for (const [attributes, count] of perSeries) result.observe(handoffs, count, attributes);
        result.observe(overflow, overflowEdges);
      },
      [handoffs, spans, agedOut, refusedRequests, open, analyzed, overflow],
    );
  }
}

/** Trace text as a label value: printable on one line and at most 200 characters, as everywhere else. */
function label(text: string): string {
  return printable(capped(text));
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Interface to bind. Default `127.0.0.1`: agent names and rates are about the user's system. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 9464 (Prometheus' registered port for OTel's exporter). */
  readonly port?: number;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `http://127.0.0.1:9464/metrics`: the scrape target. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export const METRICS_PATH = '/metrics';
/** The Prometheus text format's content type, with the version Prometheus 3 insists on. */
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

/** Serves `metrics` at GET /metrics; resolves once listening (rejects with the bind error, e.g. EADDRINUSE). */
export async function startMetricsServer(metrics: WatchMetrics, options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => handle(metrics, req, res));
  // A scrape is one small request: a client that takes longer than this to send its headers is cut off.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostPart}:${address.port}${METRICS_PATH}`,
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function handle(metrics: WatchMetrics, req: IncomingMessage, res: ServerResponse): void {
  // Only the path matters; a query string (?x=1) is allowed, as Prometheus' params add one.
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) {
    // As for 405: a body is never read, so the connection closes rather than drains it.
    res.setHeader('Connection', 'close');
    return plain(res, 404, `not found: metrics are at ${METRICS_PATH}\n`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    // The body (if any) is never read: close the connection rather than drain it.
    res.setHeader('Connection', 'close');
    return plain(res, 405, 'method not allowed: GET /metrics\n');
  }
  metrics.collectText().then(
    (text) => {
      res.writeHead(200, { 'Content-Type': TEXT_FORMAT, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (error: unknown) => plain(res, 500, `metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`),
  );
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}
