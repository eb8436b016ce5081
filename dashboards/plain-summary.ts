/**
 * The dashboard without a terminal (CI, a pipe, a log file): plain lines, no
 * escape codes. A status line every period, each new finding once as it
 * happens, and a final summary (every edge, every finding kept) on exit.
 * Text from traces goes through `printable`, as in every other output.
 */
import { formatShare } from '../src/report/format.js';
import { wrapHanging } from '../src/report/table.js';
import type { LiveView } from './view-model.js';
import { cell, count, ms, padCell, rate, right } from './text.js';

/** One status line: `12:00:05 live spans 1,234 (52/s) rejected 0 …`. */
export function statusLine(view: LiveView): string {
  const c = view.counters;
  const time = view.nowMs > 0 ? new Date(view.nowMs).toISOString().slice(11, 19) : '--:--:--';
  const parts = [
    time,
    view.done ? 'done' : view.mode,
    `spans ${count(c.accepted)} (${rate(c.perSecond)}/s)`,
    `rejected ${count(c.rejected)}`,
    `throttled ${count(c.throttled)}`,
    `aged out ${count(c.agedOut)}`,
    `traces open ${count(c.tracesOpen)} done ${count(c.tracesAnalyzed)}`,
    `edges ${view.edges.length}`,
    `findings ${count(view.findingsTotal)}`,
  ];
  if (c.badRequests > 0) parts.push(`bad input ${count(c.badRequests)}`);
  if (view.recording) parts.push(`recorded ${count(view.recording.spans)}`);
  return parts.join('  ');
}

/** The lines for findings with an id above `afterId` (oldest first), and the highest id seen. */
export function newFindingLines(view: LiveView, afterId: number): { lines: string[]; lastId: number } {
  const lines: string[] = [];
  let lastId = afterId;
  for (let i = view.findings.length - 1; i >= 0; i--) {
    const f = view.findings[i]!;
    if (f.id <= afterId) continue;
    lastId = Math.max(lastId, f.id);
    lines.push(`finding ${f.severity} ${f.ruleId}: ${cell(f.message, 300)} (trace ${f.traceId})`);
  }
  return { lines, lastId };
}

/** Options of {@link finalSummary}. */
export interface FinalSummaryOptions {
  /**
   * Wrap prose lines (the counters, each finding) at `width` under a hanging indent. Default
   * false: a log keeps one line per finding, for grep. On a terminal the lines must be wrapped
   * here, or the terminal breaks them at its edge, inside numbers (`after 12` / `7 ms`).
   */
  readonly wrap?: boolean;
  /**
   * The time the session's analysis took as "now" when it ended (the final report's
   * `inputs.nowMs`). With a recording, the summary names the `baton audit --now` that judges
   * acknowledgements as the session did: the recording ends with its last span, and a handoff
   * whose budget ran out after that, while the session still ran, is "never acknowledged" live
   * but "not acknowledged yet" to an audit that takes the end of the data as now.
   */
  readonly auditNowMs?: number | null;
}

/** A path as one shell word: as it is when it needs no quoting, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The final summary: counters, every edge with its latency, the findings. */
export function finalSummary(view: LiveView, width = 100, options: FinalSummaryOptions = {}): string {
  const c = view.counters;
  const lines: string[] = [];
  const prose = (text: string, first = '', rest = `${first}  `): void => {
    if (options.wrap !== true) {
      lines.push(`${first}${text}`);
      return;
    }
    lines.push(...wrapHanging(text, width, first, rest));
  };
  prose(
    `${view.title ?? 'baton watch'}: ${count(c.accepted)} spans accepted, ${count(c.rejected)} rejected, ${count(c.throttled)} throttled (retried by exporters), ${count(c.agedOut)} aged out; ${count(c.tracesAnalyzed)} traces analyzed${c.splitTraces > 0 ? ` (${count(c.splitTraces)} in pieces)` : ''}`,
  );
  if (view.recording) {
    const now = options.auditNowMs;
    // Rounded up: an audit refuses nothing a whole millisecond later, and the session counted a deadline before now.
    const audit =
      now !== undefined && now !== null && Number.isFinite(now) && now > 0
        ? `; audit it as this session judged it: baton audit ${shellWord(view.recording.path)} --now ${new Date(Math.ceil(now)).toISOString()}`
        : '';
    prose(`recorded ${count(view.recording.spans)} spans to ${view.recording.path}${audit}`);
  }
  if (view.edges.length === 0) {
    lines.push('no handoffs seen');
  } else {
    const edgeWidth = Math.max(20, Math.min(48, width - 52));
    lines.push('', `${padCell('EDGE', edgeWidth)}${right('N', 7)}${right('P50 ms', 9)}${right('P95 ms', 9)}${right('P99 ms', 9)}${right('MAX ms', 9)}${right('FAIL', 6)}`);
    for (const e of view.edges) {
      lines.push(
        `${padCell(`${e.source} → ${e.target}`, edgeWidth)}${right(count(e.handoffs), 7)}${right(ms(e.p50Ms), 9)}${right(ms(e.p95Ms), 9)}${right(ms(e.p99Ms), 9)}${right(ms(e.maxMs), 9)}${right(String(e.failures), 6)}`,
      );
    }
    const error = Math.max(...view.edges.map((e) => e.relativeError));
    if (error > 0) lines.push(`(percentiles ±${formatShare(error)})`);
  }
  lines.push('');
  if (view.findingsTotal === 0) lines.push('no findings');
  else {
    lines.push(`${count(view.findingsTotal)} finding${view.findingsTotal === 1 ? '' : 's'}:`);
    for (let i = view.findings.length - 1; i >= 0; i--) {
      const f = view.findings[i]!;
      prose(`${f.severity} ${f.ruleId}: ${cell(f.message, 300)} (trace ${f.traceId})`, '  ');
    }
    if (view.findings.length < view.findingsTotal) lines.push(`  … and ${view.findingsTotal - view.findings.length} earlier`);
  }
  return `${lines.join('\n')}\n`;
}
