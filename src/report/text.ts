/**
 * The human report `baton audit` prints by default, laid out like ESLint's and
 * vitest's: what was read and which vocabularies read it, with what limits the
 * report (rules that could not run and why, rules switched off, millisecond-only
 * times) right under it; the findings grouped by rule, each with its severity,
 * message, agents, evidence and fix; what every rule checked (a rule that checked
 * nothing is never shown as a pass, a rule switched off is listed as off); signed
 * latency per handoff edge with clock skew counted; where the tasks' time went;
 * and a one-line summary.
 *
 * Everything from the traces goes through `printable`, so agent names cannot
 * break the layout or reach the terminal as escape sequences. Colour is plain
 * SGR codes, and only when asked: the caller knows whether stdout is a terminal.
 */
import type { AuditReport, EdgeStats, RuleSummary, TaskSummary } from '../model/audit-report.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../model/finding.js';
import {
  capped,
  evidenceTraceIds,
  formatMs,
  formatMsColumn,
  formatShare,
  formatTime,
  noVocabularyText,
  notCheckedText,
  OFF_REASON,
  percentileErrorText,
  tasksPerGroupText,
  namedAtMost,
  plural,
  precisionNote,
  printable,
  readAsText,
  ruleStatus,
  rulesByStatus,
} from './format.js';
import { renderTable, wrapHanging, wrapWords, type Column } from './table.js';

/** Most characters of one finding message or hint shown; names are cut to MAX_SHOWN_CHARS (format.ts). */
const MAX_MESSAGE_CHARS = 1000;

/** A name from a trace, cut and made printable: a 200k-character agent name must not fill the terminal. */
function shownName(text: string): string {
  return printable(capped(text));
}

/** A message or reason that quotes trace text (agent names, keys, file names), cut and made printable. */
function shownMessage(text: string): string {
  return printable(capped(text, MAX_MESSAGE_CHARS));
}

/** Options of {@link renderText}. */
export interface TextOptions {
  /** ANSI colours, for a terminal. Default false. */
  readonly color?: boolean;
  /** Columns to fit the report in (tables and wrapped prose); at least 60. Default 100. */
  readonly width?: number;
}

const MARK: Readonly<Record<Severity, string>> = { error: '✖', warning: '▲', info: 'ℹ' };
/** vitest marks skipped tests with ↓; a rule that could not run is the audit's skipped test. */
const COULD_NOT_RUN_MARK = '↓';

/** SGR codes with their own reset, so styles nest (a bold word inside a red line stays red after it). */
const SGR = {
  bold: [1, 22],
  dim: [2, 22],
  underline: [4, 24],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;
type Style = keyof typeof SGR;
type Paint = (text: string, ...styles: Style[]) => string;

const SEVERITY_STYLE: Readonly<Record<Severity, Style>> = { error: 'red', warning: 'yellow', info: 'cyan' };

/** Where a finding's message starts: `  ✖ warning  `. */
const MESSAGE_COLUMN = 2 + 2 + 'warning'.length + 2;
/** Where the text of a finding's detail lines (agents, trace, fix) starts. */
const DETAIL_LABEL_WIDTH = 'agents'.length + 2;

/** The report as text for a person. */
export function renderText(report: AuditReport, options: TextOptions = {}): string {
  const paint: Paint = options.color
    ? (text, ...styles) => styles.reduce((t, s) => `\u001b[${SGR[s][0]}m${t}\u001b[${SGR[s][1]}m`, text)
    : (text) => text;
  const width = Math.max(60, Math.floor(options.width ?? 100));
  const out: string[] = [];
  out.push(...headerLines(report, width, paint));
  out.push('', paint('Findings', 'bold'));
  out.push(...findingsLines(report, width, paint));
  out.push('', paint('Rules', 'bold'));
  out.push(...rulesLines(report, width, paint));
  out.push('', paint('Latency per handoff edge', 'bold'));
  out.push(...edgeLines(report, width, paint));
  const agents = agentLines(report, width, paint);
  if (agents.length > 0) out.push('', ...agents);
  out.push('', ...taskLines(report, width, paint));
  out.push('', ...summaryLines(report, width, paint));
  return `${out.join('\n')}\n`;
}

/** `lines` with the first occurrence of `word` on the first line styled. */
function styleFirst(lines: string[], word: string, styled: string): string[] {
  if (lines.length > 0) lines[0] = lines[0]!.replace(word, styled);
  return lines;
}

function headerLines(report: AuditReport, width: number, paint: Paint): string[] {
  const { inputs } = report;
  const facts = [
    plural(inputs.spans, 'span'),
    inputs.traceGroups === inputs.traces
      ? plural(inputs.traces, 'trace')
      : `${plural(inputs.traces, 'trace')} (${plural(inputs.traceGroups, 'trace group')})`,
  ];
  const readAs = readAsText(inputs.dialects, printable);
  if (readAs !== '') facts.push(`read as ${readAs}`);
  if (inputs.conventionsVersions.length > 0) facts.push(`conventions v${inputs.conventionsVersions.map(printable).join(', v')}`);
  if (inputs.problems.length > 0) facts.push(plural(inputs.problems.length, 'input problem'));
  const lines = styleFirst(wrapHanging(`Baton audit  ${facts.join(' · ')}`, width, '', '  '), 'Baton audit', paint('Baton audit', 'bold'));
  const yellow = (line: string) => paint(line, 'yellow');
  const warn = (text: string) => lines.push(...wrapHanging(`! ${text}`, width, '  ', '    ', yellow));
  if (inputs.spans === 0) warn('No spans were read: nothing was checked.');
  else if (readAs === '') warn(noVocabularyText(inputs.dialects, printable));
  if (inputs.problems.length > 0) {
    lines.push(
      `  ${paint(MARK.error, 'red')} ${plural(inputs.problems.length, 'input')} could not be read and ${inputs.problems.length === 1 ? 'was' : 'were'} skipped:`,
    );
    for (const p of inputs.problems)
      lines.push(...wrapHanging(`${shownName(p.location)}: ${shownMessage(p.message)}`, width, '    ', '      '));
  }
  const precision = precisionNote(report);
  if (precision !== undefined) warn(precision);
  if (inputs.splitTraces > 0) {
    warn(
      `${plural(inputs.splitTraces, 'trace')} had to be analyzed in more than one piece (memory limits): findings that span the pieces may be missing.`,
    );
  }
  lines.push(...limitLines(report, width, paint));
  return lines;
}

/**
 * Which rules could not run and why, and which are off: what the findings below
 * cannot say, told before them. Rules with the same reason share a line.
 */
function limitLines(report: AuditReport, width: number, paint: Paint): string[] {
  const { on, couldNotRun, off } = rulesByStatus(report);
  const lines: string[] = [];
  if (couldNotRun.length > 0) {
    const byReason = new Map<string, string[]>();
    for (const rule of couldNotRun) {
      const reason = notCheckedText(rule.notEvaluated) || 'nothing to check';
      let ids = byReason.get(reason);
      if (!ids) byReason.set(reason, (ids = []));
      ids.push(rule.ruleId);
    }
    const yellow = (line: string) => paint(line, 'yellow');
    lines.push(
      ...wrapHanging(
        `${COULD_NOT_RUN_MARK} ${couldNotRun.length} of ${plural(on.length, 'rule')} could not run on this data; their silence says nothing:`,
        width,
        '  ',
        '    ',
        yellow,
      ),
    );
    for (const [reason, ids] of byReason) {
      lines.push(...wrapHanging(`${ids.map(printable).join(', ')}: ${shownMessage(reason)}`, width, '      ', '        '));
    }
  }
  if (off.length > 0) {
    lines.push(
      ...wrapHanging(
        `${plural(off.length, 'rule')} off (${OFF_REASON}): ${off.map((r) => printable(r.ruleId)).join(', ')}`,
        width,
        '  ',
        '    ',
        (l) => paint(l, 'dim'),
      ),
    );
  }
  return lines;
}

/** Findings of each rule, in the report's rule order; any rule the report does not list comes last. */
function groupByRule(report: AuditReport): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  for (const rule of report.rules) groups.set(rule.ruleId, []);
  for (const finding of report.findings) {
    let list = groups.get(finding.ruleId);
    if (!list) groups.set(finding.ruleId, (list = []));
    list.push(finding);
  }
  // Worst first within a rule; the report's order (time, then span id) otherwise, which sort keeps.
  for (const list of groups.values()) list.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  return groups;
}

function findingsLines(report: AuditReport, width: number, paint: Paint): string[] {
  const lines: string[] = [];
  const { on, couldNotRun: notRun } = rulesByStatus(report);
  const couldNotRun = notRun.length;
  if (report.findings.length === 0 && report.findingsTruncated === 0) {
    if (on.length === 0) return wrapHanging('none: no rule was on', width, '  ', '  ', (line) => paint(line, 'yellow'));
    if (couldNotRun === 0) return [`  ${paint('✔', 'green')} none`];
    return wrapHanging(
      `none, but ${plural(couldNotRun, 'rule')} could not run on this data (see above): their silence says nothing`,
      width,
      '  ',
      '  ',
      (line) => paint(line, 'yellow'),
    );
  }
  const counts = new Map(report.rules.map((r) => [r.ruleId, r.findings]));
  for (const [ruleId, findings] of groupByRule(report)) {
    const total = counts.get(ruleId) ?? findings.length;
    if (total === 0) continue;
    const notListed = total - findings.length;
    lines.push(
      '',
      `  ${paint(printable(ruleId), 'bold', 'underline')}  ${plural(total, 'finding')}${notListed > 0 ? paint(` (${notListed} past the report's limit, not listed)`, 'dim') : ''}`,
    );
    findings.forEach((finding, i) => {
      if (i > 0) lines.push('');
      lines.push(...findingLines(finding, width, paint));
    });
  }
  if (report.findingsTruncated > 0) {
    lines.push(
      '',
      paint(`  … ${plural(report.findingsTruncated, 'more finding')} past the report's limit; the counts in Rules are complete.`, 'dim'),
    );
  }
  return lines;
}

function findingLines(finding: Finding, width: number, paint: Paint): string[] {
  const style = SEVERITY_STYLE[finding.severity];
  const head = `${MARK[finding.severity]} ${finding.severity}`;
  const messageWidth = width - MESSAGE_COLUMN;
  const indent = ' '.repeat(MESSAGE_COLUMN);
  const lines = wrapWords(shownMessage(finding.message), messageWidth).map((line, i) =>
    i === 0 ? `  ${paint(head, style)}${' '.repeat(MESSAGE_COLUMN - 2 - head.length)}${line}` : indent + line,
  );
  const detail = (label: string, text: string) => {
    const labelled = wrapWords(text, messageWidth - DETAIL_LABEL_WIDTH);
    labelled.forEach((line, i) =>
      lines.push(
        `${indent}${i === 0 ? paint(label, 'dim') + ' '.repeat(DETAIL_LABEL_WIDTH - label.length) : ' '.repeat(DETAIL_LABEL_WIDTH)}${line}`,
      ),
    );
  };
  if (finding.agents.length > 0) detail('agents', finding.agents.map(shownName).join(', '));
  if (finding.taskId !== undefined) detail('task', shownName(finding.taskId));
  const traces = evidenceTraceIds(finding.evidence);
  detail(
    traces.length > 1 ? 'traces' : 'trace',
    `${traces.map(printable).join(', ') || '(none)'}  ${formatTime(finding.evidence.startMs)}`,
  );
  if (finding.evidence.spanIds.length > 0) detail('spans', finding.evidence.spanIds.map(printable).join(', '));
  detail('fix', shownMessage(finding.hint));
  return lines;
}

/** The worst severity among a rule's listed findings (the worst it reports when none are listed but some exist). */
function worstSeverity(report: AuditReport, rule: RuleSummary): Severity {
  let worst: Severity | undefined;
  for (const f of report.findings) {
    if (f.ruleId === rule.ruleId && (worst === undefined || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst])) worst = f.severity;
  }
  return worst ?? rule.severity;
}

/**
 * One row per rule: findings, candidates checked, and the result. A rule that
 * could not run says so (why is at the top of the report); a rule that ran but
 * could not check everything says what it left out, in the row when it fits and
 * on its own lines below the row when it does not, never cut short.
 */
function rulesLines(report: AuditReport, width: number, paint: Paint): string[] {
  const lines: string[] = [];
  if (rulesByStatus(report).on.length === 0)
    lines.push(...wrapHanging('! No rule ran: every rule was turned off or left out.', width, '  ', '    ', (l) => paint(l, 'yellow')));
  if (report.rules.length === 0) return lines;
  const columns: Column[] = [
    { header: 'rule' },
    { header: 'findings', align: 'right' },
    { header: 'checked', align: 'right' },
    { header: 'result' },
  ];
  const counts = report.rules.map((r) => (ruleStatus(r) === 'off' ? ['—', '—'] : [String(r.findings), String(r.checked)]));
  const fixed = [0, 1, 2].reduce(
    (sum, i) =>
      sum +
      Math.max(columns[i]!.header.length, ...report.rules.map((r, n) => [printable(r.ruleId), counts[n]![0]!, counts[n]![1]!][i]!.length)) +
      2,
    2,
  );
  const room = width - fixed;
  const styles: Style[] = [];
  const below: string[][] = [];
  const rows = report.rules.map((rule, n) => {
    const status = ruleStatus(rule);
    let head: string;
    let reason = '';
    if (status === 'off') {
      head = 'off';
      styles.push('dim');
    } else if (status === 'could-not-run') {
      head = `${COULD_NOT_RUN_MARK} could not run`;
      styles.push('yellow');
    } else {
      const severity = worstSeverity(report, rule);
      const notChecked = notCheckedText(rule.notEvaluated);
      head = rule.findings > 0 ? `${MARK[severity]} ${plural(rule.findings, 'finding')}` : '✔ pass';
      reason = notChecked ? `not checked: ${notChecked}` : '';
      styles.push(rule.findings > 0 ? SEVERITY_STYLE[severity] : 'green');
    }
    const inline = reason === '' ? head : `${head}; ${shownMessage(reason)}`;
    const fits = inline.length <= room;
    below.push(fits || reason === '' ? [] : wrapHanging(shownMessage(reason), width, '      ', '      ', (l) => paint(l, 'dim')));
    return [printable(rule.ruleId), counts[n]![0]!, counts[n]![1]!, fits ? inline : head];
  });
  const table = renderTable(columns, rows, {
    maxWidth: width,
    paint: (text, row, column) => (row === -1 ? paint(text, 'dim') : column === 3 ? paint(text, styles[row]!) : text),
  });
  lines.push(table.header, ...table.rows.flatMap((rowLines, i) => [...rowLines, ...below[i]!]));
  return lines;
}

/** One column of the latency table, with the cell it shows for an edge. */
interface EdgeColumn extends Column {
  /** The cell's text; or, for a latency column, `ms`: its figure, laid out with the column's others. */
  readonly cell?: (e: EdgeStats) => string;
  readonly ms?: (e: EdgeStats) => number | undefined;
}

/**
 * The latency table's columns: `in-process` only when some edge had transfers,
 * `skew` only when some edge had skewed samples.
 */
function edgeColumns(report: AuditReport): EdgeColumn[] {
  const columns: EdgeColumn[] = [
    { header: 'edge', wrap: true, minWidth: 14, cell: (e) => `${shownName(e.source)} → ${shownName(e.target)}` },
    { header: 'handoffs', align: 'right', cell: (e) => String(e.handoffs) },
  ];
  if (report.edges.some((e) => e.transfers > 0)) {
    columns.push({ header: 'in-process', align: 'right', dropOrder: 0, cell: (e) => (e.transfers > 0 ? String(e.transfers) : '') });
  }
  columns.push(
    { header: 'min', align: 'right', dropOrder: 3, ms: (e) => e.latencyMs?.min },
    { header: 'p50', align: 'right', ms: (e) => e.latencyMs?.p50 },
    { header: 'p95', align: 'right', ms: (e) => e.latencyMs?.p95 },
    { header: 'p99', align: 'right', dropOrder: 2, ms: (e) => e.latencyMs?.p99 },
    { header: 'max', align: 'right', dropOrder: 5, ms: (e) => e.latencyMs?.max },
    { header: 'ack p95', align: 'right', dropOrder: 6, ms: (e) => e.ackLatencyMs?.p95 },
    { header: 'valid. p95', align: 'right', dropOrder: 1, ms: (e) => e.validationMs?.p95 },
    { header: 'failed', align: 'right', cell: (e) => String(e.failures) },
    { header: 'retried', align: 'right', dropOrder: 4, cell: (e) => String(e.retries) },
  );
  // Never dropped: a negative latency must not be shown without saying it is clock skew.
  if (report.edges.some((e) => e.skewedSamples > 0)) {
    columns.push({ header: 'skew', align: 'right', cell: (e) => (e.skewedSamples > 0 ? `${e.skewedSamples} skewed` : '') });
  }
  return columns;
}

/** The table's cells, row by row; each latency column in one format (formatMsColumn). */
function edgeCells(edges: readonly EdgeStats[], columns: readonly EdgeColumn[]): string[][] {
  const rows = edges.map(() => new Array<string>(columns.length));
  columns.forEach((column, c) => {
    const { ms, cell } = column;
    const texts = ms ? formatMsColumn(edges.map(ms)) : edges.map((e) => cell!(e));
    texts.forEach((text, r) => {
      rows[r]![c] = text;
    });
  });
  return rows;
}

function edgeLines(report: AuditReport, width: number, paint: Paint): string[] {
  const lines: string[] = [];
  if (report.edges.length === 0) lines.push('  no handoffs in the data');
  else {
    const columns = edgeColumns(report);
    const table = renderTable(
      columns,
      edgeCells(report.edges, columns),
      {
        maxWidth: width,
        paint: (text, row, column) => {
          if (row === -1) return paint(text, 'dim');
          const edge = report.edges[row]!;
          const header = columns[column]!.header;
          if (header === 'failed' && edge.failures > 0) return paint(text, 'red');
          if ((header === 'retried' && edge.retries > 0) || header === 'skew') return paint(text, 'yellow');
          return text;
        },
      },
    );
    lines.push(table.header, ...table.rows.flat());
    const dim = (line: string) => paint(line, 'dim');
    const legend = ['ms'];
    const error = percentileErrorText(report);
    if (error !== undefined) legend.push(error);
    legend.push('latency: send → first receive', 'ack: send → ack', 'valid.: validation time, both sides');
    if (table.kept.some((i) => columns[i]!.header === 'in-process'))
      legend.push('in-process: of the handoffs, those handed over inside one span');
    if (columns.some((c) => c.header === 'skew')) {
      legend.push("skewed: negative samples, the receiver's clock behind the sender's (kept with their sign)");
    }
    lines.push(...wrapHanging(legend.join('; '), width, '  ', '  ', dim));
    const dropped = columns.filter((_, i) => !table.kept.includes(i)).map((c) => c.header);
    if (dropped.length > 0) {
      lines.push(
        ...wrapHanging(`${dropped.join(', ')} left out to fit ${width} columns; --format json has every figure`, width, '  ', '  ', dim),
      );
    }
  }
  for (const cycle of report.cycles) {
    lines.push(
      ...styleFirst(wrapHanging(`cycle  ${cycle.map(shownName).join(' → ')}`, width, '  ', '         '), 'cycle', paint('cycle', 'red')),
    );
  }
  return lines;
}

/**
 * `Agents  4 · 9 runs · failed: research 1 of 2 · blocked: triage 1 of 2`: the runs that did not
 * complete, named, since a framework's failed agent shows nowhere else in the text (the edge
 * table's failures are the handoffs'). Nothing when no agent ran.
 */
function agentLines(report: AuditReport, width: number, paint: Paint): string[] {
  const { agentRuns } = report;
  if (agentRuns.length === 0) return [];
  let runs = 0;
  const failed: string[] = [];
  const blocked: string[] = [];
  for (const agent of agentRuns) {
    runs += agent.runs;
    if (agent.failed > 0) failed.push(`${shownName(agent.agent)} ${agent.failed} of ${agent.runs}`);
    if (agent.blocked > 0) blocked.push(`${shownName(agent.agent)} ${agent.blocked} of ${agent.runs}`);
  }
  const parts = [`Agents  ${agentRuns.length} · ${plural(runs, 'run')}`];
  if (failed.length > 0) parts.push(`failed: ${namedAtMost(failed)}`);
  if (blocked.length > 0) parts.push(`blocked: ${namedAtMost(blocked)}`);
  if (failed.length === 0 && blocked.length === 0) parts[0] += ', none failed or blocked';
  const lines = wrapHanging(parts.join(' · '), width, '', '  ');
  return styleFirst(lines, 'Agents', paint('Agents', 'bold'));
}

function taskLines(report: AuditReport, width: number, paint: Paint): string[] {
  const { tasks } = report;
  if (tasks.count === 0)
    return styleFirst(
      wrapHanging('Tasks  none (no agent runs or handoffs in the data)', width, '', '  '),
      'Tasks',
      paint('Tasks', 'bold'),
    );
  const share = tasks.coordinationShare;
  const lines = wrapHanging(
    `Tasks  ${tasks.count}${tasksPerGroupText(report)}: ` +
      (share ? `p50 ${formatShare(share.p50)}, p95 ${formatShare(share.p95)}, max ${formatShare(share.max)}` : '—') +
      // The edge table's legend states the percentiles' error once; without edges it goes here.
      (share && report.edges.length === 0 && percentileErrorText(report) ? ` (${percentileErrorText(report)})` : ''),
    width,
    '',
    '  ',
  );
  styleFirst(lines, 'Tasks', paint('Tasks', 'bold'));
  const slowest = tasks.slowest[0];
  if (slowest) lines.push(...slowestTaskLines(slowest, width, paint));
  return lines;
}

function slowestTaskLines(task: TaskSummary, width: number, paint: Paint): string[] {
  const lines = wrapHanging(
    `slowest ${task.taskId === null ? '(no task id)' : shownName(task.taskId)} · trace ${printable(task.traceId)} · ` +
      `${formatMs(task.wallMs)} wall: ${formatMs(task.agentMs)} in agents, ${formatMs(task.coordinationMs)} coordinating (${formatShare(task.coordinationShare)})`,
    width,
    '  ',
    '    ',
  );
  styleFirst(lines, 'slowest', paint('slowest', 'dim'));
  if (task.criticalPath.length === 0) return lines;
  lines.push(`  ${paint('critical path', 'dim')}`);
  // One step per piece, so a wrapped line never splits "a → b 3 ms" unless the step alone is wider than a line.
  const indent = '    ';
  const room = width - indent.length;
  let line = '';
  let visible = 0;
  task.criticalPath.forEach((segment, i) => {
    const text = `${i === 0 ? '' : '› '}${shownName(segment.label)} ${formatMs(segment.ms)}`;
    const style = (t: string) => (segment.kind === 'coordination' ? paint(t, 'cyan') : t);
    const pieces = wrapWords(text, room);
    for (const [j, piece] of pieces.entries()) {
      const gap = visible === 0 ? '' : ' ';
      if (j > 0 || visible + gap.length + piece.length > room) {
        if (visible > 0) lines.push(indent + line);
        line = style(piece);
        visible = piece.length;
      } else {
        line += gap + style(piece);
        visible += gap.length + piece.length;
      }
    }
  });
  if (visible > 0) lines.push(indent + line);
  return lines;
}

/** `✖ 7 errors, 4 warnings · 2 of 8 rules could not run on this data · 1 rule off`, one part per line when it does not fit. */
function summaryLines(report: AuditReport, width: number, paint: Paint): string[] {
  const counts = report.severityCounts;
  let text = `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}`;
  if (counts.info > 0) text += `, ${counts.info} info`;
  const worst: Severity | undefined = counts.error > 0 ? 'error' : counts.warning > 0 ? 'warning' : counts.info > 0 ? 'info' : undefined;
  const { on, couldNotRun: notRun, off } = rulesByStatus(report);
  const couldNotRun = notRun.length;
  const parts: [string, Style[]][] = [
    worst
      ? [`${MARK[worst]} ${text}`, [SEVERITY_STYLE[worst], 'bold']]
      : couldNotRun > 0 || on.length === 0
        ? [text, ['bold']]
        : [`✔ ${text}`, ['green', 'bold']],
  ];
  if (couldNotRun > 0) parts.push([`${couldNotRun} of ${plural(on.length, 'rule')} could not run on this data`, ['yellow']]);
  if (on.length === 0) parts.push(['no rule ran', ['yellow']]);
  if (off.length > 0) parts.push([`${plural(off.length, 'rule')} off`, ['dim']]);
  if (report.findingsTruncated > 0) parts.push([`${plural(report.findingsTruncated, 'finding')} not listed`, []]);
  if (report.inputs.problems.length > 0) parts.push([`${plural(report.inputs.problems.length, 'input')} skipped`, ['red']]);
  const plain = parts.map(([t]) => t).join(' · ');
  if (plain.length <= width) return [parts.map(([t, styles]) => paint(t, ...styles)).join(' · ')];
  return parts.map(([t, styles], i) => `${i === 0 ? '' : '  '}${paint(t, ...styles)}`);
}
