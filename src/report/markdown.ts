/**
 * GitHub-flavoured Markdown for a pull-request comment or a job summary
 * (`baton audit --format markdown >> "$GITHUB_STEP_SUMMARY"`): a headline with
 * the counts and the vocabularies that read the input; what limits the report
 * (rules that could not run and why, rules switched off, millisecond-only
 * times), before the findings; what each rule is and what it checked; signed
 * latency per edge with clock skew counted; and where the slowest task's time went.
 *
 * A comment holds at most 65 536 characters, so the findings table stops at
 * `maxFindings` rows and says how many it left out, each piece of trace text is
 * cut to a few hundred characters, and the whole report to `maxChars`. Trace text
 * never becomes markup, a mention or a link (GFM links bare URLs and `www.`).
 * Tables: https://github.github.com/gfm/#tables-extension-
 */
import type { AuditReport, EdgeStats, RuleSummary } from '../model/audit-report.js';
import type { Finding, Severity } from '../model/finding.js';
import {
  evidenceTraceIds,
  formatMs,
  formatMsColumn,
  formatShare,
  formatTime,
  handoffsText,
  noVocabularyText,
  notCheckedText,
  OFF_REASON,
  namedAtMost,
  percentileErrorText,
  tasksPerGroupText,
  plural,
  precisionNote,
  printable,
  capped,
  MAX_SHOWN_CHARS,
  readAsText,
  ruleStatus,
  rulesByStatus,
} from './format.js';

/** Options of {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** Rows in the findings table; the rest are counted, not listed. Default 50. */
  readonly maxFindings?: number;
  /** Longest report in characters; past it the report is cut at a line and says so. Default 65,536 (a pull-request comment). */
  readonly maxChars?: number;
}

/** Most characters of one message or hint shown; names are cut to MAX_SHOWN_CHARS. */
const MAX_MESSAGE_CHARS = 1000;
const MAX_COMMENT_CHARS = 65_536;

/**
 * Makes trace text safe inside a GFM table cell: one line, `|` escaped, Markdown
 * and HTML punctuation backslash-escaped so it shows as typed, and `@` kept
 * from mentioning a GitHub user or team (a word joiner after it).
 */
export function escapeCell(text: string): string {
  return escapeText(text, MAX_SHOWN_CHARS);
}

/** {@link escapeCell} with its own cut, for messages and hints that name several agents. */
function escapeText(text: string, maxChars: number): string {
  return printable(capped(text, maxChars).replace(/\r\n|[\r\n]/g, ' '))
    .replace(/[\\`*_{}[\]<>()#+!|~&$]/g, '\\$&')
    .replace(/@/g, '@\u2060')
    .replace(/(https?|ftp|mailto|xmpp)(:)/gi, '$1\u2060$2')
    .replace(/(www)(\.)/gi, '$1\u2060$2');
}

/** A code span that no backtick in `text` can close early, safe in a table cell. */
function code(text: string): string {
  const clean = printable(capped(text).replace(/\r\n|[\r\n]/g, ' ')).replace(/\|/g, '\\|');
  let fence = '`';
  while (clean.includes(fence)) fence += '`';
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

const ICON: Readonly<Record<Severity, string>> = { error: '🔴', warning: '🟡', info: '🔵' };

function ruleResult(rule: RuleSummary): string {
  const status = ruleStatus(rule);
  if (status === 'off') return 'off';
  // Why it could not run is at the top of the report.
  if (status === 'could-not-run') return '⚠️ **could not run** (see above)';
  const notChecked = notCheckedText(rule.notEvaluated);
  const head = rule.findings > 0 ? `❌ ${plural(rule.findings, 'finding')}` : '✅ pass';
  return notChecked ? `${head}; not checked: ${escapeText(notChecked, MAX_MESSAGE_CHARS)}` : head;
}

function findingRow(f: Finding): string {
  const traces = evidenceTraceIds(f.evidence);
  const evidence = [
    traces.length > 0 ? `${traces.length === 1 ? 'trace' : 'traces'} ${traces.map(code).join(', ')}` : `trace ${code('(none)')}`,
  ];
  if (f.evidence.spanIds.length > 0)
    evidence.push(`${f.evidence.spanIds.length === 1 ? 'span' : 'spans'} ${f.evidence.spanIds.map(code).join(', ')}`);
  evidence.push(formatTime(f.evidence.startMs));
  const task = f.taskId !== undefined ? `<br>task ${code(f.taskId)}` : '';
  return (
    `| ${ICON[f.severity]} ${f.severity} | ${code(f.ruleId)} | ${escapeText(f.message, MAX_MESSAGE_CHARS)}<br>**fix:** ${escapeText(f.hint, MAX_MESSAGE_CHARS)} | ` +
    `${f.agents.map(escapeCell).join(', ')} | ${evidence.join('<br>')}${task} |`
  );
}

function ruleRow(rule: RuleSummary): string {
  const off = ruleStatus(rule) === 'off';
  return (
    `| ${code(rule.ruleId)} | ${escapeText(rule.description, MAX_MESSAGE_CHARS)} | ${rule.severity} | ` +
    `${off ? '—' : rule.findings} | ${off ? '—' : rule.checked} | ${ruleResult(rule)} |`
  );
}

/** The latency figures of the edge table, column by column, each column in one format (formatMsColumn). */
const LATENCY_COLUMNS: readonly ((e: EdgeStats) => number | undefined)[] = [
  (e) => e.latencyMs?.min,
  (e) => e.latencyMs?.p50,
  (e) => e.latencyMs?.p95,
  (e) => e.latencyMs?.p99,
  (e) => e.latencyMs?.max,
  (e) => e.ackLatencyMs?.p95,
  (e) => e.validationMs?.p95,
];

function edgeRows(edges: readonly EdgeStats[], skew: boolean): string[] {
  const latency = LATENCY_COLUMNS.map((figure) => formatMsColumn(edges.map(figure)));
  return edges.map((e, row) => {
    const cells = [`${escapeCell(e.source)} → ${escapeCell(e.target)}`, handoffsText(e.handoffs, e.transfers)];
    for (const column of latency) cells.push(column[row]!);
    cells.push(String(e.failures), String(e.retries));
    if (skew) cells.push(e.skewedSamples > 0 ? `⚠️ ${e.skewedSamples} skewed` : '');
    return `| ${cells.join(' | ')} |`;
  });
}

/** What the findings cannot say, before them: rules that could not run and why, rules switched off. */
function limitLines(report: AuditReport): string[] {
  const { on, couldNotRun, off } = rulesByStatus(report);
  const out: string[] = [];
  if (couldNotRun.length > 0) {
    out.push(
      '',
      '> [!WARNING]',
      `> **${couldNotRun.length} of ${plural(on.length, 'rule')} could not run on this data**; their silence says nothing:`,
      '>',
    );
    const byReason = new Map<string, string[]>();
    for (const rule of couldNotRun) {
      const reason = notCheckedText(rule.notEvaluated) || 'nothing to check';
      let ids = byReason.get(reason);
      if (!ids) byReason.set(reason, (ids = []));
      ids.push(rule.ruleId);
    }
    for (const [reason, ids] of byReason) out.push(`> - ${ids.map(code).join(', ')}: ${escapeText(reason, MAX_MESSAGE_CHARS)}`);
  }
  if (off.length > 0) out.push('', `${plural(off.length, 'rule')} off (${OFF_REASON}): ${off.map((r) => code(r.ruleId)).join(', ')}.`);
  return out;
}

/** The report as GitHub-flavoured Markdown. */
export function renderMarkdown(report: AuditReport, options: MarkdownOptions = {}): string {
  const maxFindings = Math.max(0, options.maxFindings ?? 50);
  const { severityCounts: counts, inputs } = report;
  const { on, couldNotRun, off } = rulesByStatus(report);
  const verdict = counts.error > 0 ? '🔴' : counts.warning > 0 ? '🟡' : couldNotRun.length > 0 || on.length === 0 ? '⚪' : '🟢';
  const out: string[] = [];
  out.push(
    `## ${verdict} Baton audit: ${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}${counts.info > 0 ? `, ${counts.info} info` : ''}`,
    '',
  );
  const facts = [`${plural(inputs.spans, 'span')} in ${plural(inputs.traces, 'trace')}`];
  const readAs = readAsText(inputs.dialects, escapeCell);
  if (readAs !== '') facts.push(`read as ${readAs}`);
  facts.push(`${plural(on.length, 'rule')} run${off.length > 0 ? ` (${off.length} off)` : ''}`);
  out.push(`${facts.join(' · ')}.`);
  if (inputs.spans === 0) out.push('', '> [!WARNING]\n> No spans were read: nothing was checked.');
  else if (readAs === '') out.push('', `> [!WARNING]\n> ${noVocabularyText(inputs.dialects, escapeCell)}`);
  if (inputs.problems.length > 0) {
    out.push(
      '',
      `**${plural(inputs.problems.length, 'input')} could not be read and ${inputs.problems.length === 1 ? 'was' : 'were'} skipped:**`,
      '',
    );
    for (const p of inputs.problems) out.push(`- ${code(p.location)}: ${escapeText(p.message, MAX_MESSAGE_CHARS)}`);
  }
  const precision = precisionNote(report);
  if (precision !== undefined) out.push('', `> [!NOTE]\n> ${precision}`);
  if (inputs.splitTraces > 0) {
    out.push(
      '',
      `> [!NOTE]\n> ${plural(inputs.splitTraces, 'trace')} had to be analyzed in more than one piece (memory limits): findings that span the pieces may be missing.`,
    );
  }
  out.push(...limitLines(report));

  out.push('', '### Findings', '');
  if (report.findings.length === 0 && report.findingsTruncated === 0) {
    out.push(
      on.length === 0
        ? 'None: no rule was on.'
        : couldNotRun.length > 0
          ? 'None, but the rules that could not run say nothing about this data.'
          : 'None.',
    );
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
  if (on.length === 0) out.push('No rule ran: every rule was turned off or left out.');
  if (report.rules.length > 0) {
    if (on.length === 0) out.push('');
    out.push('| rule | finds | severity | findings | checked | result |', '|---|---|---|--:|--:|---|');
    for (const r of report.rules) out.push(ruleRow(r));
  }

  out.push('', '### Latency per handoff edge (ms)', '');
  if (report.edges.length === 0) out.push('No handoffs in the data.');
  else {
    const skew = report.edges.some((e) => e.skewedSamples > 0);
    out.push(
      `| edge | handoffs | min | p50 | p95 | p99 | max | ack p95 | validation p95 | failed | retried |${skew ? ' clock skew |' : ''}`,
      `|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|${skew ? '--:|' : ''}`,
    );
    out.push(...edgeRows(report.edges, skew));
    const legend = ['Latency: send → first receive; ack: send → acknowledgement; validation: both sides.'];
    const error = percentileErrorText(report);
    if (error !== undefined) legend.push(`Percentiles are approximate: ${error.replace('percentiles ', '')}.`);
    if (report.edges.some((e) => e.transfers > 0)) legend.push('In-process: handed over inside one span.');
    if (skew) legend.push("Skewed: negative samples, the receiver's clock behind the sender's; kept with their sign.");
    out.push('', legend.join(' '));
  }
  if (report.cycles.length > 0) {
    out.push('', `**Cycles:** ${report.cycles.map((c) => c.map(escapeCell).join(' → ')).join('; ')}`);
  }

  if (report.agentRuns.length > 0) {
    let runs = 0;
    const failed: string[] = [];
    const blocked: string[] = [];
    for (const agent of report.agentRuns) {
      runs += agent.runs;
      if (agent.failed > 0) failed.push(`${escapeCell(agent.agent)} ${agent.failed} of ${agent.runs}`);
      if (agent.blocked > 0) blocked.push(`${escapeCell(agent.agent)} ${agent.blocked} of ${agent.runs}`);
    }
    const parts = [`**Agents:** ${report.agentRuns.length}, ${plural(runs, 'run')}`];
    if (failed.length > 0) parts.push(`failed: ${namedAtMost(failed)}`);
    if (blocked.length > 0) parts.push(`blocked: ${namedAtMost(blocked)}`);
    if (failed.length === 0 && blocked.length === 0) parts[0] += ', none failed or blocked';
    out.push('', `${parts.join(' · ')}.`);
  }

  const { tasks } = report;
  if (tasks.count > 0) {
    const share = tasks.coordinationShare;
    out.push(
      '',
      '### Tasks',
      '',
      `${plural(tasks.count, 'task')}${tasksPerGroupText(report).replace(' · ', '; ')}: ` +
        (share ? `p50 ${formatShare(share.p50)}, p95 ${formatShare(share.p95)}, max ${formatShare(share.max)}` : '—') +
        (share && report.edges.length === 0 && percentileErrorText(report) ? ` (${percentileErrorText(report)}).` : '.'),
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
  return fitted(`${out.join('\n')}\n`, options.maxChars ?? MAX_COMMENT_CHARS);
}

/** `markdown` cut at the last line break that leaves room to say it was cut, when it is longer than `maxChars`. */
function fitted(markdown: string, maxChars: number): string {
  if (markdown.length <= maxChars) return markdown;
  const note = '\n\n**…report cut here to fit a pull-request comment**; `baton audit --format json` has all of it.\n';
  const cut = markdown.lastIndexOf('\n', Math.max(0, maxChars - note.length));
  return `${markdown.slice(0, Math.max(0, cut))}${note}`;
}
