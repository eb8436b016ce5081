/**
 * The metric instruments Baton records through the host's MeterProvider, so teams
 * with Prometheus or Grafana see per-edge handoff latency there as well as in traces.
 *
 * Why the handoff count is observed rather than added: sdk-metrics hashes the
 * attributes of every `add`/`record` (sorting keys, JSON.stringify), which with a
 * reader attached was about 15% of an instrumented handoff. The count of handoffs
 * per edge is kept here in plain numbers, one interned record per edge, and
 * reported when the reader collects: same metric, same points, no per-handoff
 * hashing. The latency histogram must be recorded as it happens; its attribute
 * object is interned per edge so recording allocates nothing. The failure
 * counters are rare and recorded as they happen.
 */
import { createNoopMeter, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import {
  METRIC_ACK_TIMEOUTS,
  METRIC_CLOCK_SKEW_SAMPLES,
  METRIC_HANDOFFS,
  METRIC_HANDOFF_LATENCY,
  METRIC_INSTRUMENTATION_FAULTS,
  METRIC_VALIDATION_FAILURES,
} from '../model/attributes.js';

/** Attribute keys on metric points: low-cardinality edge names only, never ids. */
export const METRIC_SOURCE_AGENT = 'baton.handoff.source_agent';
export const METRIC_TARGET_AGENT = 'baton.handoff.target_agent';
export const METRIC_SIDE = 'baton.handoff.side';
export const METRIC_OPERATION = 'baton.operation';

/** Edges remembered per instance; past this, further edges are counted under source and target `other`. */
export const MAX_METRIC_EDGES = 1000;
const OTHER = 'other';

/** One source → target edge: its interned attribute sets and its handoff counts. */
export interface MetricEdge {
  /** `{source_agent, target_agent}`: the latency histogram's and the failure counters' attributes. */
  readonly attributes: Attributes;
  readonly sendAttributes: Attributes;
  readonly receiveAttributes: Attributes;
  sent: number;
  received: number;
}

export interface BatonInstruments {
  readonly handoffLatency: Histogram;
  readonly validationFailures: Counter;
  readonly ackTimeouts: Counter;
  readonly faults: Counter;
  readonly clockSkewSamples: Counter;
  /** The edge record of source → target, made on first use. */
  edge(source: string, target: string): MetricEdge;
}

function makeEdge(source: string, target: string): MetricEdge {
  return {
    attributes: { [METRIC_SOURCE_AGENT]: source, [METRIC_TARGET_AGENT]: target },
    sendAttributes: { [METRIC_SIDE]: 'send', [METRIC_SOURCE_AGENT]: source, [METRIC_TARGET_AGENT]: target },
    receiveAttributes: { [METRIC_SIDE]: 'receive', [METRIC_SOURCE_AGENT]: source, [METRIC_TARGET_AGENT]: target },
    sent: 0,
    received: 0,
  };
}

const noopMeter = createNoopMeter();

/**
 * Creates Baton's instruments on `meter`. Never throws: an instrument the meter
 * fails to create is replaced by a no-op one and `onFault` is told.
 */
export function createInstruments(meter: Meter, onFault: (error: unknown) => void): BatonInstruments {
  const guarded = <T>(make: (m: Meter) => T): T => {
    try {
      return make(meter);
    } catch (error) {
      onFault(error);
      return make(noopMeter);
    }
  };
  const bySource = new Map<string, Map<string, MetricEdge>>();
  let edgeCount = 0;
  const edge = (source: string, target: string): MetricEdge => {
    let byTarget = bySource.get(source);
    let found = byTarget?.get(target);
    if (found) return found;
    if (edgeCount >= MAX_METRIC_EDGES) {
      if (source !== OTHER || target !== OTHER) return edge(OTHER, OTHER);
    }
    if (!byTarget) bySource.set(source, (byTarget = new Map()));
    found = makeEdge(source, target);
    byTarget.set(target, found);
    edgeCount++;
    return found;
  };
  const handoffs = guarded((m) =>
    m.createObservableCounter(METRIC_HANDOFFS, { description: 'Handoffs sent and received.', unit: '{handoff}' }),
  );
  try {
    handoffs.addCallback((result) => {
      for (const byTarget of bySource.values()) {
        for (const e of byTarget.values()) {
          if (e.sent > 0) result.observe(e.sent, e.sendAttributes);
          if (e.received > 0) result.observe(e.received, e.receiveAttributes);
        }
      }
    });
  } catch (error) {
    onFault(error);
  }
  return {
    handoffLatency: guarded((m) =>
      m.createHistogram(METRIC_HANDOFF_LATENCY, {
        description: 'Coordination latency of a handoff: from send to receive, per source → target edge.',
        unit: 's',
        advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] },
      }),
    ),
    validationFailures: guarded((m) =>
      m.createCounter(METRIC_VALIDATION_FAILURES, {
        description: 'Envelopes that failed schema validation, at send or receive.',
        unit: '{envelope}',
      }),
    ),
    ackTimeouts: guarded((m) =>
      m.createCounter(METRIC_ACK_TIMEOUTS, {
        description: 'Handoffs acknowledged after their timeout budget.',
        unit: '{handoff}',
      }),
    ),
    faults: guarded((m) =>
      m.createCounter(METRIC_INSTRUMENTATION_FAULTS, {
        description: 'Faults inside Baton instrumentation, counted instead of thrown in warn mode.',
        unit: '{fault}',
      }),
    ),
    clockSkewSamples: guarded((m) =>
      m.createCounter(METRIC_CLOCK_SKEW_SAMPLES, {
        description:
          "Handoffs received before their sent_at by the receiver's clock (clock skew); their latency is recorded as 0 in baton.handoff.latency.",
        unit: '{handoff}',
      }),
    ),
    edge,
  };
}
