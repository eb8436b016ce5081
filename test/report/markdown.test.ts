/**
 * Markdown for pull-request comments and job summaries: the headline counts,
 * a findings table, the rules table with could-not-run notes, the edge latency
 * table; every table row one line with as many cells as its header, whatever
 * the trace text holds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/model/audit-report.js';
import { escapeCell, renderMarkdown } from '../../src/report/index.js';
import { allFixturesReport, fixtureReport, hostileReport, partlyInstrumentedReport, uninstrumentedReport, withProblem } from './reports.js';

/** The cells of a GFM table row: split at pipes that are not backslash-escaped. */
function cells(row: string): string[] {
  return row.split(/(?<!\\)\|/).slice(1, -1);
}

/** Each table in `md`: its header cells and its rows' cells, checked to be one-line rows of the header's width. */
function tables(md: string): { header: string[]; rows: string[][] }[] {
  const lines = md.split('\n');
  const found: { header: string[]; rows: string[][] }[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('|') || !/^\|(\s*:?-+:?\s*\|)+$/.test(lines[i + 1]!)) continue;
    const header = cells(lines[i]!).map((c) => c.trim());
    const rows: string[][] = [];
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      expect(lines[j]!.endsWith('|'), lines[j]).toBe(true);
      const row = cells(lines[j]!);
      expect(row, lines[j]).toHaveLength(header.length);
      rows.push(row.map((c) => c.trim()));
    }
    found.push({ header, rows });
  }
  return found;
}

function table(md: string, firstHeader: string): { header: string[]; rows: string[][] } {
  const t = tables(md).find((x) => x.header[0] === firstHeader);
  expect(t, `table starting with "${firstHeader}"`).toBeDefined();
  return t!;
}

let all: AuditReport;
beforeAll(async () => {
  all = await allFixturesReport();
});

describe('renderMarkdown', () => {
  it('starts with a headline giving the counts', async () => {
    expect(renderMarkdown(all)).toMatch(
      /^## 🔴 Baton audit: 7 errors, 4 warnings\n\n380 spans in 12 traces · 380 Baton spans · 9 rules run\.\n/,
    );
    expect(renderMarkdown(await fixtureReport('clean'))).toMatch(/^## 🟢 Baton audit: 0 errors, 0 warnings\n/);
    expect(renderMarkdown(await fixtureReport('ack-timeout'))).toMatch(/^## 🟡 Baton audit: 0 errors, 1 warning\n/);
  });

  it.each(['cycle', 'ack-timeout', 'schema-drift', 'context-loss'] as const)(
    '%s: a findings table row per finding with severity, rule, message, agents, trace and spans',
    async (name) => {
      const report = await fixtureReport(name);
      const md = renderMarkdown(report);
      const findings = table(md, 'severity');
      expect(findings.header).toEqual(['severity', 'rule', 'finding', 'agents', 'evidence']);
      expect(findings.rows).toHaveLength(report.findings.length);
      report.findings.forEach((f, i) => {
        const [severity, rule, finding, agents, evidence] = findings.rows[i]!;
        expect(severity).toContain(f.severity);
        expect(rule).toBe(`\`${f.ruleId}\``);
        expect(finding).toContain(escapeCell(f.message));
        expect(finding).toContain(`**fix:** ${escapeCell(f.hint)}`);
        expect(agents).toBe(f.agents.map(escapeCell).join(', '));
        expect(evidence).toContain(`trace \`${f.evidence.traceId}\``);
        for (const id of f.evidence.spanIds) expect(evidence).toContain(`\`${id}\``);
      });
    },
  );

  it('has a rules table with every rule’s findings, checked and result', () => {
    const rules = table(renderMarkdown(all), 'rule');
    expect(rules.header).toEqual(['rule', 'findings', 'checked', 'result']);
    expect(rules.rows.map((r) => r.slice(0, 3))).toEqual(all.rules.map((r) => [`\`${r.ruleId}\``, String(r.findings), String(r.checked)]));
    for (const row of rules.rows) expect(row[3]).toMatch(/^❌ \d+ findings?$/);
  });

  it('flags each rule that could not run, with its reason, in the headline and the rules table', async () => {
    const partly = await partlyInstrumentedReport();
    const md = renderMarkdown(partly);
    const couldNot = partly.rules.filter((r) => r.couldNotRun);
    expect(md).toContain(`**${couldNot.length} of ${partly.rules.length} rules could not run on this data** (see Rules)`);
    expect(md).toMatch(/^## ⚪ /);
    const rows = table(md, 'rule').rows;
    partly.rules.forEach((rule, i) => {
      if (rule.couldNotRun) {
        expect(rows[i]![3]).toMatch(/^⚠️ \*\*could not run\*\*: /);
        for (const n of rule.notEvaluated) expect(rows[i]![3]).toContain(escapeCell(`${n.count} ${n.reason}`));
      } else expect(rows[i]![3]).toBe('✅ pass');
    });
    expect(md).toContain('None, but the rules that could not run say nothing about this data.');
    const none = renderMarkdown(await uninstrumentedReport());
    expect(none).toContain('**9 of 9 rules could not run on this data**');
    expect(none).toContain("No span follows Baton's conventions");
    expect(none).not.toContain('✅');
  });

  it('has an edge latency table with a row per edge', () => {
    const edges = table(renderMarkdown(all), 'edge');
    expect(edges.header).toEqual(['edge', 'handoffs', 'p50', 'p95', 'p99', 'max', 'ack p95', 'validation p95', 'failed', 'retried']);
    expect(edges.rows.map((r) => [r[0], r[1], r[8], r[9]])).toEqual(
      all.edges.map((e) => [`${e.source} → ${e.target}`, String(e.handoffs), String(e.failures), String(e.retries)]),
    );
    expect(edges.rows.find((r) => r[0] === 'writer → reviewer')!.slice(2, 7)).toEqual(['0', '62.0', '62.0', '62.0', '84.0']);
  });

  it('gives the coordination share and the slowest task’s critical path', () => {
    const md = renderMarkdown(all);
    expect(md).toMatch(/^11 tasks; share of wall time spent coordinating: p50 \d+%, p95 \d+%, max \d+%\.$/m);
    expect(md).toMatch(/^Critical path \(handoffs in bold\): triage [\d.]+ ms › \*\*triage → research [\d.]+ ms\*\*/m);
  });

  it('lists the cycles of the graph', async () => {
    const cycle = await fixtureReport('cycle');
    expect(renderMarkdown(cycle)).toContain(`**Cycles:** ${cycle.cycles[0]!.join(' → ')}`);
  });

  it('stops the findings table at maxFindings and says how many it left out', async () => {
    const md = renderMarkdown(all, { maxFindings: 4 });
    expect(table(md, 'severity').rows).toHaveLength(4);
    expect(md).toContain(`…and ${all.findings.length - 4} more findings not listed here`);
    const truncated = await allFixturesReport({ maxFindings: 3 });
    expect(renderMarkdown(truncated)).toContain(`…and ${truncated.findingsTruncated} more findings not listed here`);
    expect(renderMarkdown(all, { maxFindings: 0 })).not.toContain('| severity |');
  });

  it('lists inputs that could not be read', async () => {
    expect(renderMarkdown(withProblem(await fixtureReport('clean')))).toContain(
      '**1 input could not be read and was skipped:**\n\n- `missing.json`: no such file or directory',
    );
  });

  it('keeps every table row on one line with the header’s cell count, whatever the trace text holds', () => {
    const md = renderMarkdown(hostileReport());
    const found = tables(md);
    expect(found.map((t) => t.header[0])).toEqual(['severity', 'rule', 'edge']);
    expect(table(md, 'severity').rows).toHaveLength(2);
    expect(table(md, 'edge').rows).toHaveLength(2);
    // eslint-disable-next-line no-control-regex
    expect(md).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    // Raw HTML and mentions stay text (code spans show their content as typed, so they are left out here).
    const prose = md.replace(/``[^\n]*?``|`[^`\n]*`/g, '');
    expect(prose).not.toMatch(/(?<!\\)<(?!br>)/);
    expect(prose).not.toMatch(/@team/);
    expect(md).toContain('@\u2060team');
  });
});

describe('escapeCell', () => {
  it.each([
    ['a|b', 'a\\|b'],
    ['line\nbreak\r\nand\rreturn', 'line break and return'],
    ['<img src=x onerror=alert(1)>', '\\<img src=x onerror=alert\\(1\\)\\>'],
    ['**bold** _it_ `code` [link](x) ~~s~~ $x$', '\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\[link\\]\\(x\\) \\~\\~s\\~\\~ \\$x\\$'],
    ['&lt; stays', '\\&lt; stays'],
    ['back\\slash', 'back\\\\slash'],
    ['@octocat', '@\u2060octocat'],
    ['esc\u001b[2J', 'esc\\\\u001b\\[2J'],
  ])('%j → %j', (input, expected) => {
    expect(escapeCell(input)).toBe(expected);
  });
});
