/** Hand-built LiveViews for component tests: components draw plain data, so tests state it directly. */
import type { AgentRow, EdgeRow, FindingRow, LiveView } from '../../dashboards/view-model.js';

export const NOW = Date.parse('2026-01-01T12:00:00Z');

export function edge(source: string, target: string, over: Partial<EdgeRow> = {}): EdgeRow {
  return {
    key: `${source}\u0000${target}`,
    source,
    target,
    handoffs: 10,
    perMinute: 4,
    inFlight: 0,
    p50Ms: 12,
    p95Ms: 40,
    p99Ms: 55,
    maxMs: 60,
    relativeError: 0.01,
    failures: 0,
    retries: 0,
    skewedSamples: 0,
    recentLatenciesMs: [5, 10, 20, 40, 12],
    recentHandoffs: [{ traceId: 'aa'.repeat(16), latencyMs: 12, atMs: NOW - 3000 }],
    ...over,
  };
}

export function agent(name: string, over: Partial<AgentRow> = {}): AgentRow {
  return { name, state: 'idle', lastSeenMs: NOW - 5000, task: null, waitingOn: [], ...over };
}

export function finding(id: number, over: Partial<FindingRow> = {}): FindingRow {
  return {
    id,
    ruleId: 'ack-timeout',
    severity: 'warning',
    message: `finding number ${id}`,
    agents: ['writer', 'reviewer'],
    traceId: 'bb'.repeat(16),
    foundAtMs: NOW - 2000,
    ...over,
  };
}

export function view(over: Partial<LiveView> = {}): LiveView {
  return {
    mode: 'receive',
    sources: ['OTLP http://127.0.0.1:4318', 'gRPC http://127.0.0.1:4317'],
    nowMs: NOW,
    counters: {
      accepted: 1234,
      rejected: 2,
      throttled: 5,
      agedOut: 1,
      badRequests: 0,
      perSecond: 52,
      tracesOpen: 3,
      tracesAnalyzed: 12,
      splitTraces: 0,
      queued: 0,
    },
    edges: [],
    agents: [],
    findings: [],
    findingsTotal: 0,
    recording: null,
    done: false,
    notice: null,
    ...over,
  };
}
