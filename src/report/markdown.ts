/**
 * GitHub-flavoured Markdown for a pull-request comment or a job summary
 * (`baton audit --format markdown >> "$GITHUB_STEP_SUMMARY"`): a headline with
 * the counts, the findings, what each rule checked (rules that could not run
 * said so), latency per edge, and where the slowest task's time went.
 *
 * A comment holds at most 65 536 characters, so the findings table stops at
 * `maxFindings` rows and says how many it left out.
 * Tables: https://github.github.com/gfm/#tables-extension-
 */
import type { AuditReport, RuleSummary } from '../model/audit-report.js';
import type { Finding, Severity } from '../model/finding.js';
import { formatMs, formatMsCell, formatShare, formatTime, plural, printable } from './format.js';

/** Options of {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** Rows in the findings table; the rest are counted, not listed. Default 50. */
  readonly maxFindings?: number;
}

/**
 * Makes trace text safe inside a GFM table cell: one line, `|` escaped, Markdown
 * and HTML punctuation backslash-escaped so it shows as typed, and `@` kept
 * from mentioning a GitHub user or team (a word joiner after it).
 */
export function escapeCell(text: string): string {
  return printable(text.replace(/\r\n|[\r\n]/g, ' '))
    .replace(/[\\`*_{}[\]<>()#+!|~&$]/g, '\\$&')
    .replace(/@/g, '@\u2060');
}

/** A code span that no backtick in `text` can close early, safe in a table cell. */
function code(text: string): string {
  const clean = printable(text.replace(/\r\n|[\r\n]/g, ' ')).replace(/\|/g, '\\|');
  let fence = '`';
  while (clean.includes(fence)) fence += '`';
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

const ICON: Readonly<Record<Severity, string>> = { error: '🔴', warning: '🟡', info: '🔵' };

function ruleResult(rule: RuleSummary): string {
  const notChecked = rule.notEvaluated.map((n) => `${n.count} ${n.reason}`).join('; ');
  if (rule.couldNotRun) return `⚠️ **could not run**: ${escapeCell(notChecked || 'nothing to check')}`;
  const head = rule.findings > 0 ? `❌ ${plural(rule.findings, 'finding')}` : '✅ pass';
  return notChecked ? `${head}; not checked: ${escapeCell(notChecked)}` : head;
}

function findingRow(f: Finding): string {
  const evidence = [`trace ${code(f.evidence.traceId || '(none)')}`];
  if (f.evidence.spanIds.length > 0)
    evidence.push(`${f.evidence.spanIds.length === 1 ? 'span' : 'spans'} ${f.evidence.spanIds.map(code).join(', ')}`);
  evidence.push(formatTime(f.evidence.startMs));
  const task = f.taskId !== undefined ? `<br>task ${code(f.taskId)}` : '';
  return (
    `| ${ICON[f.severity]} ${f.severity} | ${code(f.ruleId)} | ${escapeCell(f.message)}<br>**fix:** ${escapeCell(f.hint)} | ` +
    `${f.agents.map(escapeCell).join(', ')} | ${evidence.join('<br>')}${task} |`
  );
}

/** The report as GitHub-flavoured Markdown. */
export function renderMarkdown(report: AuditReport, options: MarkdownOptions = {}): string {
  const maxFindings = Math.max(0, options.maxFindings ?? 50);
  const { severityCounts: counts, inputs } = report;
  const couldNotRun = report.rules.filter((r) => r.couldNotRun);
  const verdict = counts.error > 0 ? '🔴' : counts.warning > 0 ? '🟡' : couldNotRun.length > 0 || report.rules.length === 0 ? '⚪' : '🟢';
  const out: string[] = [];
  out.push(
    `## ${verdict} Baton audit: ${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}${counts.info > 0 ? `, ${counts.info} info` : ''}`,
    '',
  );
  const facts = [
    `${plural(inputs.spans, 'span')} in ${plural(inputs.traces, 'trace')}`,
    plural(inputs.dialects.reduce((n, d) => n + d.interpreted, 0), 'Baton span'),
    `${plural(report.rules.length, 'rule')} run`,
  ];
  if (couldNotRun.length > 0)
    facts.push(`**${couldNotRun.length} of ${plural(report.rules.length, 'rule')} could not run on this data** (see Rules)`);
  out.push(`${facts.join(' · ')}.`);
  if (inputs.spans > 0 && inputs.dialects.reduce((n, d) => n + d.interpreted, 0) === 0) {
    out.push('', "> [!WARNING]\n> No span follows Baton's conventions (none has `baton.operation`): the rules had nothing to check.");
  }
  if (inputs.problems.length > 0) {
    out.push(
      '',
      `**${plural(inputs.problems.length, 'input')} could not be read and ${inputs.problems.length === 1 ? 'was' : 'were'} skipped:**`,
      '',
    );
    for (const p of inputs.problems) out.push(`- ${code(p.location)}: ${escapeCell(p.message)}`);
  }

  out.push('', '### Findings', '');
  if (report.findings.length === 0 && report.findingsTruncated === 0) {
    out.push(couldNotRun.length > 0 ? 'None, but the rules that could not run say nothing about this data.' : 'None.');
  } else {
    const listed = report.findings.slice(0, maxFindings);
    if (listed.length > 0) {
      out.push('| severity | rule | finding | agents | evidence |', '|---|---|---|---|---|');
      for (const f of listed) out.push(findingRow(f));
    }
    const notListed = report.findings.length - listed.length + report.findingsTruncated;
    if (notListed > 0) {
      out.push('', `…and ${plural(notListed, 'more finding')} not listed here; \`baton audit --format json\` has every one.`);
    }
  }

  out.push('', '### Rules', '');
  if (report.rules.length === 0) out.push('No rule ran: every rule was turned off or left out.');
  else {
    out.push('| rule | findings | checked | result |', '|---|--:|--:|---|');
    for (const r of report.rules) out.push(`| ${code(r.ruleId)} | ${r.findings} | ${r.checked} | ${ruleResult(r)} |`);
  }

  out.push('', '### Latency per handoff edge (ms)', '');
  if (report.edges.length === 0) out.push('No handoffs in the data.');
  else {
    out.push(
      '| edge | handoffs | p50 | p95 | p99 | max | ack p95 | validation p95 | failed | retried |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const e of report.edges) {
      out.push(
        `| ${escapeCell(e.source)} → ${escapeCell(e.target)} | ${e.handoffs} | ${formatMsCell(e.latencyMs?.p50)} | ${formatMsCell(e.latencyMs?.p95)} | ` +
          `${formatMsCell(e.latencyMs?.p99)} | ${formatMsCell(e.latencyMs?.max)} | ${formatMsCell(e.ackLatencyMs?.p95)} | ` +
          `${formatMsCell(e.validationMs?.p95)} | ${e.failures} | ${e.retries} |`,
      );
    }
    out.push('', 'Latency: send → first receive; ack: send → acknowledgement; validation: both sides.');
  }
  if (report.cycles.length > 0) {
    out.push('', `**Cycles:** ${report.cycles.map((c) => c.map(escapeCell).join(' → ')).join('; ')}`);
  }

  const { tasks } = report;
  if (tasks.count > 0) {
    const share = tasks.coordinationShare;
    out.push(
      '',
      '### Tasks',
      '',
      `${plural(tasks.count, 'task')}; share of wall time spent coordinating: ` +
        (share ? `p50 ${formatShare(share.p50)}, p95 ${formatShare(share.p95)}, max ${formatShare(share.max)}.` : '—.'),
    );
    const slowest = tasks.slowest[0];
    if (slowest) {
      out.push(
        '',
        `Slowest: ${slowest.taskId === null ? '(no task id)' : code(slowest.taskId)} (trace ${code(slowest.traceId)}), ${formatMs(slowest.wallMs)} wall: ` +
          `${formatMs(slowest.agentMs)} in agents, ${formatMs(slowest.coordinationMs)} coordinating (${formatShare(slowest.coordinationShare)}).`,
      );
      if (slowest.criticalPath.length > 0) {
        const steps = slowest.criticalPath.map((s) => {
          const step = `${escapeCell(s.label)} ${formatMs(s.ms)}`;
          return s.kind === 'coordination' ? `**${step}**` : step;
        });
        out.push('', `Critical path (handoffs in bold): ${steps.join(' › ')}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}
