/**
 * The human report `baton audit` prints by default: findings first (what to fix
 * and why), then what each rule could and could not check, coordination latency
 * per edge, and where the slowest task's time went. Colour only when asked.
 */
import type { AuditReport, TaskSummary } from '../model/audit-report.js';
import type { Finding, Severity } from '../model/finding.js';
import { formatDuration, formatShare, formatTime, plural } from './format.js';
import { renderTable, wrap } from './table.js';

/** Options of {@link renderText}. */
export interface TextOptions {
  /** ANSI colours (on a terminal). Default false. */
  readonly color?: boolean;
  /** Terminal width the tables fit in. Default 100. */
  readonly width?: number;
}

const SEVERITY_MARK: Readonly<Record<Severity, string>> = { error: '✖', warning: '▲', info: 'ℹ' };

type Paint = (text: string, code: string) => string;

/** The report as text for a person. */
export function renderText(report: AuditReport, options: TextOptions = {}): string {
  const paint: Paint = options.color ? (text, code) => `\u001b[${code}m${text}\u001b[0m` : (text) => text;
  const width = Math.max(60, options.width ?? 100);
  const red = (t: string) => paint(t, '31');
  const yellow = (t: string) => paint(t, '33');
  const green = (t: string) => paint(t, '32');
  const dim = (t: string) => paint(t, '2');
  const bold = (t: string) => paint(t, '1');
  const bySeverity = (s: Severity, t: string) => (s === 'error' ? red(t) : s === 'warning' ? yellow(t) : t);

  const out: string[] = [];
  const { inputs } = report;
  const header = wrap(
    `Baton audit: ${plural(inputs.spans, 'span')} in ${plural(inputs.traces, 'trace')} (${plural(inputs.traceGroups, 'trace group')}), ` +
      `${plural(inputs.batonSpans, 'Baton span')}${inputs.conventionsVersions.length ? `, conventions v${inputs.conventionsVersions.join(', v')}` : ''}`,
    width,
    '  ',
  );
  out.push(header[0]!.replace('Baton audit', bold('Baton audit')), ...header.slice(1));
  if (inputs.batonSpans === 0 && inputs.spans > 0) {
    out.push(yellow('  No span follows Baton\'s conventions (baton.operation): most rules had nothing to check. See docs/conventions.md.'));
  }
  if (inputs.problems.length > 0) {
    out.push('', bold(`Input problems (${inputs.problems.length}), skipped:`));
    for (const p of inputs.problems) out.push(`  ${red('✖')} ${p.location}: ${p.message}`);
  }

  out.push('', bold('Findings'));
  if (report.findings.length === 0) {
    out.push(`  ${green('✔')} none${report.rules.some((r) => r.couldNotRun) ? dim(' (but see the rules that could not run below)') : ''}`);
  }
  for (const finding of report.findings) out.push(...findingLines(finding, width, bySeverity, dim));
  if (report.findingsTruncated > 0) out.push(dim(`  … and ${report.findingsTruncated} more (counts below are complete)`));

  out.push('', bold('Rules'));
  const ruleRows = report.rules.map((rule) => {
    const notes = rule.notEvaluated.map((n) => `${n.count} ${n.reason}`).join('; ');
    const status = rule.couldNotRun ? `could not run: ${notes || 'no data for it'}` : notes ? `not checked: ${notes}` : '';
    return [rule.ruleId, String(rule.findings), String(rule.checked), status];
  });
  const ruleLines = renderTable(
    [{ header: 'rule' }, { header: 'findings', align: 'right' }, { header: 'checked', align: 'right' }, { header: '', shrinkable: true }],
    ruleRows,
    width,
  );
  out.push(dim(ruleLines[0]!));
  report.rules.forEach((rule, i) => {
    const line = ruleLines[i + 1]!;
    out.push(rule.couldNotRun ? yellow(line) : rule.findings > 0 ? red(line) : line);
  });

  out.push('', bold('Coordination latency per edge') + dim(' (ms from send: to receive; ack p95 to ack)'));
  if (report.edges.length === 0) out.push('  no handoffs in the data');
  else {
    const edgeLines = renderTable(
      [
        { header: 'edge', shrinkable: true },
        { header: 'handoffs', align: 'right' },
        { header: 'p50', align: 'right' },
        { header: 'p95', align: 'right' },
        { header: 'p99', align: 'right', optional: true },
        { header: 'max', align: 'right' },
        { header: 'ack p95', align: 'right' },
        { header: 'valid. p95', align: 'right', optional: true },
        { header: 'failed', align: 'right' },
        { header: 'retried', align: 'right' },
      ],
      report.edges.map((e) => [
        `${e.source} → ${e.target}`,
        String(e.handoffs),
        formatDuration(e.latencyMs?.p50),
        formatDuration(e.latencyMs?.p95),
        formatDuration(e.latencyMs?.p99),
        formatDuration(e.latencyMs?.max),
        formatDuration(e.ackLatencyMs?.p95),
        formatDuration(e.validationMs?.p95),
        String(e.failures),
        String(e.retries),
      ]),
      width,
    );
    out.push(dim(edgeLines[0]!), ...edgeLines.slice(1));
  }

  const { tasks } = report;
  if (tasks.count > 0) {
    const share = tasks.coordinationShare;
    out.push(
      '',
      `${bold('Tasks')}: ${tasks.count}; share of wall time spent coordinating: ` +
        (share ? `p50 ${formatShare(share.p50)}, p95 ${formatShare(share.p95)}, max ${formatShare(share.max)}` : '—'),
    );
    const slowest = tasks.slowest[0];
    if (slowest) out.push(...slowestTaskLines(slowest, width, dim));
  }

  const counts = report.severityCounts;
  const summary = `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}${counts.info ? `, ${counts.info} info` : ''}`;
  const couldNotRun = report.rules.filter((r) => r.couldNotRun).length;
  out.push(
    '',
    (counts.error > 0 ? red(summary) : counts.warning > 0 ? yellow(summary) : green(summary)) +
      (couldNotRun > 0 ? yellow(`; ${plural(couldNotRun, 'rule')} could not run on this data`) : ''),
  );
  return `${out.join('\n')}\n`;
}

const DETAIL_INDENT = ' '.repeat(14);

function findingLines(finding: Finding, width: number, bySeverity: (s: Severity, t: string) => string, dim: (t: string) => string): string[] {
  const mark = `${SEVERITY_MARK[finding.severity]} ${finding.severity.padEnd(7)}`;
  const [first = '', ...rest] = wrap(`  ${mark} ${finding.ruleId}  ${finding.message}`, width, DETAIL_INDENT);
  const head = [first.replace(mark, bySeverity(finding.severity, mark)), ...rest];
  const where = [
    finding.agents.length ? `agents ${finding.agents.join(', ')}` : '',
    finding.taskId ? `task ${finding.taskId}` : '',
    `trace ${finding.evidence.traceId}`,
    `spans ${finding.evidence.spanIds.join(', ')}`,
    formatTime(finding.evidence.startMs),
  ].filter(Boolean);
  return [
    ...head,
    ...wrap(`${DETAIL_INDENT}${where.join(' · ')}`, width, DETAIL_INDENT).map(dim),
    ...wrap(`${DETAIL_INDENT}fix: ${finding.hint}`, width, `${DETAIL_INDENT}     `).map(dim),
  ];
}

function slowestTaskLines(task: TaskSummary, width: number, dim: (t: string) => string): string[] {
  const lines = wrap(
    `  slowest: ${task.taskId ?? '(no task id)'} (trace ${task.traceId}): ${formatDuration(task.wallMs)} ms wall, ` +
      `${formatDuration(task.agentMs)} ms in agents, ${formatDuration(task.coordinationMs)} ms coordinating (${formatShare(task.coordinationShare)})`,
    width,
    '           ',
  );
  if (task.criticalPath.length > 0) {
    const steps = task.criticalPath.map((s) => `${s.label} ${formatDuration(s.ms)}`);
    const prefix = '  critical path: ';
    let line = prefix;
    for (const [i, step] of steps.entries()) {
      const piece = i === 0 ? step : ` › ${step}`;
      if (line.length + piece.length > width && line !== prefix) {
        lines.push(dim(line));
        line = `${' '.repeat(prefix.length)}${piece.trimStart()}`;
      } else line += piece;
    }
    lines.push(dim(line));
  }
  return lines;
}
