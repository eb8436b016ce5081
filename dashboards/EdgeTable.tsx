/**
 * The edge table, the heart of the dashboard: one row per source → target edge
 * with its handoff count, rate, in flight, coordination latency (p50/p95/p99,
 * max; from the Auditor's mergeable sketches), a sparkline of recent latencies,
 * failures and retries. Columns drop out, least telling first, as the terminal
 * narrows; the selected row is shown inverse.
 */
import { Box, Text } from 'ink';
import type { EdgeRow } from './view-model.js';
import { count, ms, padCell, rate, right, sparkline } from './text.js';

/** How the rows are ordered. */
export type EdgeSort = 'worst' | 'count' | 'name';

/** Props of {@link EdgeTable}. */
export interface EdgeTableProps {
  readonly edges: readonly EdgeRow[];
  /** Index into `edges` of the selected row, or -1. */
  readonly selected: number;
  readonly width: number;
  /** Rows shown at most (the selection stays in view). */
  readonly maxRows: number;
  readonly sort: EdgeSort;
}

interface Column {
  readonly title: string;
  readonly width: number;
  /** Shown from this terminal width up. */
  readonly minTerminal: number;
  readonly value: (edge: EdgeRow) => string;
}

const COLUMNS: readonly Column[] = [
  { title: 'N', width: 7, minTerminal: 0, value: (e) => count(e.handoffs) },
  { title: '/MIN', width: 6, minTerminal: 70, value: (e) => rate(e.perMinute) },
  { title: 'FLY', width: 5, minTerminal: 60, value: (e) => String(e.inFlight) },
  { title: 'P50', width: 8, minTerminal: 0, value: (e) => ms(e.p50Ms) },
  { title: 'P95', width: 8, minTerminal: 0, value: (e) => ms(e.p95Ms) },
  { title: 'P99', width: 8, minTerminal: 90, value: (e) => ms(e.p99Ms) },
  { title: 'MAX', width: 8, minTerminal: 100, value: (e) => ms(e.maxMs) },
  { title: 'FAIL', width: 6, minTerminal: 0, value: (e) => String(e.failures) },
  { title: 'RETRY', width: 6, minTerminal: 80, value: (e) => String(e.retries) },
];

const SPARK_MIN_TERMINAL = 100;
const SPARK_WIDTH = 16;

/** The rows to show so that `selected` stays visible. */
export function visibleWindow(total: number, selected: number, maxRows: number): { start: number; end: number } {
  const rows = Math.max(1, maxRows);
  if (total <= rows) return { start: 0, end: total };
  const start = Math.min(Math.max(0, selected - rows + 1), total - rows);
  return { start: Math.max(0, start), end: Math.max(0, start) + rows };
}

/** The table; "no handoffs yet" until the first edge is known. */
export function EdgeTable({ edges, selected, width, maxRows, sort }: EdgeTableProps) {
  const columns = COLUMNS.filter((c) => width >= c.minTerminal);
  const spark = width >= SPARK_MIN_TERMINAL;
  const fixed = columns.reduce((sum, c) => sum + c.width, 0) + (spark ? SPARK_WIDTH + 1 : 0);
  const edgeWidth = Math.max(12, width - fixed - 1);
  const { start, end } = visibleWindow(edges.length, selected, maxRows);
  const header = padCell('EDGE (ms)', edgeWidth) + columns.map((c) => right(c.title, c.width)).join('') + (spark ? ` ${padCell('RECENT', SPARK_WIDTH)}` : '');
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        Edges {edges.length > 0 ? `(${edges.length}, ${sort === 'worst' ? 'worst first' : sort === 'count' ? 'most handoffs first' : 'by name'})` : ''}
      </Text>
      <Text dimColor wrap="truncate">
        {header}
      </Text>
      {edges.length === 0 ? <Text dimColor>  no handoffs yet</Text> : null}
      {edges.slice(start, end).map((edge, i) => {
        const index = start + i;
        const line =
          padCell(`${edge.source} → ${edge.target}`, edgeWidth) +
          columns.map((c) => right(c.value(edge), c.width)).join('') +
          (spark ? ` ${sparkline(edge.recentLatenciesMs, SPARK_WIDTH)}` : '');
        return (
          <Text key={edge.key} inverse={index === selected} color={edge.failures > 0 ? 'red' : undefined} wrap="truncate">
            {line}
          </Text>
        );
      })}
      {end < edges.length || start > 0 ? (
        <Text dimColor wrap="truncate">
          {`  rows ${start + 1}–${end} of ${edges.length}`}
        </Text>
      ) : null}
    </Box>
  );
}
