/**
 * The metric instruments Baton records through the host's MeterProvider, so teams
 * with Prometheus or Grafana see per-edge handoff latency there as well as in traces.
 */
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
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

export interface BatonInstruments {
  readonly handoffLatency: Histogram;
  readonly handoffs: Counter;
  readonly validationFailures: Counter;
  readonly ackTimeouts: Counter;
  readonly faults: Counter;
  readonly clockSkewSamples: Counter;
}

export function createInstruments(meter: Meter): BatonInstruments {
  return {
    handoffLatency: meter.createHistogram(METRIC_HANDOFF_LATENCY, {
      description: 'Coordination latency of a handoff: from send to receive, per source → target edge.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] },
    }),
    handoffs: meter.createCounter(METRIC_HANDOFFS, { description: 'Handoffs sent and received.', unit: '{handoff}' }),
    validationFailures: meter.createCounter(METRIC_VALIDATION_FAILURES, {
      description: 'Envelopes that failed schema validation, at send or receive.',
      unit: '{envelope}',
    }),
    ackTimeouts: meter.createCounter(METRIC_ACK_TIMEOUTS, {
      description: 'Handoffs acknowledged after their timeout budget.',
      unit: '{handoff}',
    }),
    faults: meter.createCounter(METRIC_INSTRUMENTATION_FAULTS, {
      description: 'Faults inside Baton instrumentation, counted instead of thrown in warn mode.',
      unit: '{fault}',
    }),
    clockSkewSamples: meter.createCounter(METRIC_CLOCK_SKEW_SAMPLES, {
      description:
        'Handoffs received before their sent_at by the receiver\'s clock (clock skew); their latency is recorded as 0 in baton.handoff.latency.',
      unit: '{handoff}',
    }),
  };
}
