/**
 * Markdown for a pull-request comment or a GitHub job summary
 * (`baton audit --format markdown >> "$GITHUB_STEP_SUMMARY"`).
 */
import type { AuditReport } from '../model/audit-report.js';
import { formatDuration, formatShare, plural } from './format.js';

/** Makes text safe inside a GFM table cell: no pipes, newlines or stray markup. */
export function escapeCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')
    .replace(/([`*_[\]<>])/g, '\\$1');
}

const ICON = { error: '🔴', warning: '🟡', info: 'ℹ️' } as const;

/** The report as GitHub-flavoured Markdown. */
export function renderMarkdown(report: AuditReport): string {
  const { severityCounts: counts, inputs } = report;
  const out: string[] = [];
  const couldNotRun = report.rules.filter((r) => r.couldNotRun);
  const verdict =
    counts.error > 0 ? '🔴' : counts.warning > 0 ? '🟡' : couldNotRun.length > 0 ? '⚪' : '🟢';
  out.push(
    `## ${verdict} Baton audit: ${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}`,
    '',
    `${plural(inputs.spans, 'span')} in ${plural(inputs.traces, 'trace')}, ${plural(inputs.batonSpans, 'Baton span')}` +
      (couldNotRun.length > 0 ? `; **${plural(couldNotRun.length, 'rule')} could not run on this data** (see Rules)` : '') +
      '.',
  );
  if (inputs.problems.length > 0) {
    out.push('', `**Input problems (skipped):**`, '');
    for (const p of inputs.problems) out.push(`- \`${p.location.replace(/`/g, "'")}\`: ${escapeCell(p.message)}`);
  }

  if (report.findings.length > 0) {
    out.push('', '### Findings', '', '| | rule | finding | agents | evidence |', '|---|---|---|---|---|');
    for (const f of report.findings) {
      out.push(
        `| ${ICON[f.severity]} | \`${f.ruleId}\` | ${escapeCell(f.message)}<br>*fix:* ${escapeCell(f.hint)} | ${escapeCell(f.agents.join(', '))} | ` +
          `trace \`${f.evidence.traceId}\`<br>spans ${f.evidence.spanIds.map((s) => `\`${s}\``).join(', ')} |`,
      );
    }
    if (report.findingsTruncated > 0) out.push('', `…and ${report.findingsTruncated} more findings past the report limit.`);
  }

  out.push('', '### Rules', '', '| rule | findings | checked | notes |', '|---|--:|--:|---|');
  for (const r of report.rules) {
    const notes = r.notEvaluated.map((n) => `${n.count} ${n.reason}`).join('; ');
    const cell = r.couldNotRun ? `⚠️ could not run: ${escapeCell(notes || 'no data for it')}` : escapeCell(notes ? `not checked: ${notes}` : '');
    out.push(`| \`${r.ruleId}\` | ${r.findings} | ${r.checked} | ${cell} |`);
  }

  if (report.edges.length > 0) {
    out.push(
      '',
      '### Coordination latency per edge (ms)',
      '',
      '| edge | handoffs | p50 | p95 | p99 | max | ack p95 | failed | retried |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const e of report.edges) {
      out.push(
        `| ${escapeCell(`${e.source} → ${e.target}`)} | ${e.handoffs} | ${formatDuration(e.latencyMs?.p50)} | ${formatDuration(e.latencyMs?.p95)} | ` +
          `${formatDuration(e.latencyMs?.p99)} | ${formatDuration(e.latencyMs?.max)} | ${formatDuration(e.ackLatencyMs?.p95)} | ${e.failures} | ${e.retries} |`,
      );
    }
  }
  const share = report.tasks.coordinationShare;
  if (report.tasks.count > 0 && share) {
    out.push('', `${plural(report.tasks.count, 'task')}; share of wall time spent coordinating: p50 ${formatShare(share.p50)}, p95 ${formatShare(share.p95)}.`);
  }
  return `${out.join('\n')}\n`;
}
