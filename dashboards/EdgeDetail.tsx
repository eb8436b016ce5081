/**
 * One edge in detail (Enter on a row): its percentiles, a histogram of recent
 * latencies, the latest handoffs with their trace ids (to look up in Jaeger or
 * any backend), and the latest findings that involve both its agents.
 */
import { Box, Text } from 'ink';
import type { EdgeRow, FindingRow } from './view-model.js';
import { ago, cell, count, histogram, ms, padCell, right } from './text.js';

/** Props of {@link EdgeDetail}. */
export interface EdgeDetailProps {
  readonly edge: EdgeRow;
  /** Findings to pick from (those naming both agents are shown). */
  readonly findings: readonly FindingRow[];
  readonly nowMs: number;
  readonly width: number;
  readonly maxRows: number;
}

export function EdgeDetail({ edge, findings, nowMs, width, maxRows }: EdgeDetailProps) {
  const onEdge = findings.filter((f) => f.agents.includes(edge.source) && f.agents.includes(edge.target));
  const buckets = histogram(edge.recentLatenciesMs, Math.min(8, Math.max(3, Math.floor(maxRows / 3))));
  const most = Math.max(1, ...buckets.map((b) => b.count));
  const barWidth = Math.max(5, Math.min(40, width - 30));
  const handoffRows = Math.max(1, Math.floor((maxRows - buckets.length - 6) / 2));
  const precision = edge.relativeError > 0 ? ` (±${Number((edge.relativeError * 100).toPrecision(2))}%)` : '';
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {cell(`${edge.source} → ${edge.target}`, width - 20)} <Text dimColor>(Esc to go back)</Text>
      </Text>
      <Text wrap="truncate">
        {`handoffs ${count(edge.handoffs)}  in flight ${edge.inFlight}  failures ${edge.failures}  retries ${edge.retries}`}
        {edge.skewedSamples > 0 ? <Text color="yellow">{`  clock skew in ${edge.skewedSamples} (negative latency)`}</Text> : null}
      </Text>
      <Text wrap="truncate">{`p50 ${ms(edge.p50Ms)}  p95 ${ms(edge.p95Ms)}  p99 ${ms(edge.p99Ms)}  max ${ms(edge.maxMs)} ms${precision}`}</Text>
      <Text bold>Recent latency (last {edge.recentLatenciesMs.length})</Text>
      {buckets.length === 0 ? <Text dimColor>  none yet</Text> : null}
      {buckets.map((b, i) => (
        <Text key={i} wrap="truncate">
          {right(Number.isFinite(b.lowMs) ? ms(b.lowMs) : '<0', 8)}–{padCell(ms(b.highMs), 8)} {'█'.repeat(Math.max(b.count > 0 ? 1 : 0, Math.round((b.count / most) * barWidth)))} {b.count}
        </Text>
      ))}
      <Text bold>Recent handoffs</Text>
      {edge.recentHandoffs.length === 0 ? <Text dimColor>  none yet</Text> : null}
      {edge.recentHandoffs.slice(0, handoffRows).map((h, i) => (
        <Text key={i} wrap="truncate">
          {right(ago(h.atMs, nowMs), 4)} trace {h.traceId} {right(ms(h.latencyMs), 8)} ms
        </Text>
      ))}
      <Text bold>Findings on this edge</Text>
      {onEdge.length === 0 ? <Text dimColor>  none</Text> : null}
      {onEdge.slice(0, handoffRows).map((f) => (
        <Text key={f.id} wrap="truncate">
          {right(ago(f.foundAtMs, nowMs), 4)} {padCell(f.ruleId, 18)} {cell(f.message, Math.max(10, width - 25))}
        </Text>
      ))}
    </Box>
  );
}
