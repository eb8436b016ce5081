/**
 * Markdown for pull-request comments and job summaries: the headline counts and
 * vocabularies; what limits the report (rules that could not run and why, rules
 * off, millisecond times) before the findings; a findings table; the rules
 * table with each rule's description and severity (off rules as off); the
 * signed edge latency table with skew and transfers; every table row one line
 * with as many cells as its header, whatever the trace text holds.
 * Hand-built reports (./reports.ts) except where a test says it audits a fixture.
 */
import { describe, expect, it } from 'vitest';
import { escapeCell } from '../../src/report/markdown.js';
import { renderMarkdown } from '../../src/report/index.js';
import { RULE_IDS as ALL_RULE_IDS } from '../../src/analyze/detectors/index.js';

/** How many rules there are: the counts the reports state. */
const ALL = ALL_RULE_IDS.length;
import {
  cleanReport,
  emptyReport,
  fixtureReport,
  HOSTILE,
  hostileReport,
  RULES,
  sampleReport,
  TRACE_1,
  TRACE_2,
  uninstrumentedReport,
  withProblem,
  withWholeMs,
} from './reports.js';

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

/** The Markdown above the Findings heading. */
const top = (md: string) => md.split('\n### Findings\n')[0]!;

const ONE_PLURAL = /\b1 (findings|rules|spans|traces|handoffs|receives|chains|writes|tasks|errors|warnings|inputs|state reads)\b/;

describe('renderMarkdown', () => {
  it.each(['cycle', 'ack-timeout', 'schema-drift', 'context-loss'] as const)(
    'audit of fixtures/%s.json: a findings table row per finding with severity, rule, message, agents, trace and spans',
    async (name) => {
      const report = await fixtureReport(name);
      const md = renderMarkdown(report);
      const findings = table(md, 'severity');
      expect(findings.rows).toHaveLength(report.findings.length);
      report.findings.forEach((f, i) => {
        const [severity, rule, finding, agents, evidence] = findings.rows[i]!;
        expect(severity).toContain(f.severity);
        expect(rule).toBe(`\`${f.ruleId}\``);
        expect(finding).toContain(escapeCell(f.message));
        expect(finding).toContain(`**fix:** ${escapeCell(f.hint)}`);
        expect(agents).toBe(f.agents.map(escapeCell).join(', '));
        expect(evidence).toContain(`\`${f.evidence.traceId}\``);
        for (const id of f.evidence.spanIds) expect(evidence).toContain(`\`${id}\``);
      });
    },
  );

  it('starts with a headline giving the counts, the spans and the vocabularies that read them', () => {
    expect(renderMarkdown(sampleReport())).toMatch(
      new RegExp(`^## 🔴 Baton audit: 2 errors, 3 warnings\n\n12 spans in 2 traces · read as baton \\(10\\), otel-genai \\(2\\) · ${ALL - 1} rules run \\(1 off\\)\\.\n`),
    );
    expect(renderMarkdown(cleanReport())).toMatch(
      new RegExp(`^## 🟢 Baton audit: 0 errors, 0 warnings\n\n12 spans in 1 trace · read as baton \\(12\\) · ${ALL} rules run\\.\n`),
    );
    expect(renderMarkdown(sampleReport())).not.toMatch(/Baton spans?\b/);
  });

  it('has a findings table row per finding, naming every trace of its evidence', () => {
    const report = sampleReport();
    const findings = table(renderMarkdown(report), 'severity');
    expect(findings.header).toEqual(['severity', 'rule', 'finding', 'agents', 'evidence']);
    expect(findings.rows).toHaveLength(report.findings.length);
    report.findings.forEach((f, i) => {
      const [severity, rule, finding, agents] = findings.rows[i]!;
      expect(severity).toContain(f.severity);
      expect(rule).toBe(`\`${f.ruleId}\``);
      expect(finding).toBe(`${escapeCell(f.message)}<br>**fix:** ${escapeCell(f.hint)}`);
      expect(agents).toBe(f.agents.map(escapeCell).join(', '));
    });
    expect(findings.rows[2]![4]).toMatch(new RegExp(`^traces \`${TRACE_1}\`, \`${TRACE_2}\`<br>spans `));
    expect(findings.rows[0]![4]).toMatch(new RegExp(`^trace \`${TRACE_1}\`<br>span \``));
    expect(findings.rows[1]![4]).toContain('<br>task `task-7`');
  });

  it('has a rules table with every rule’s description, severity, findings, checked and result', () => {
    const report = sampleReport();
    const rules = table(renderMarkdown(report), 'rule');
    expect(rules.header).toEqual(['rule', 'finds', 'severity', 'findings', 'checked', 'result']);
    expect(rules.rows.map((r) => r.slice(0, 3))).toEqual(RULES.map((r) => [`\`${r.ruleId}\``, escapeCell(r.description), r.severity]));
    const result = (id: string) => rules.rows.find((r) => r[0] === `\`${id}\``)!;
    expect(result('dependency-cycle').slice(3)).toEqual(['2', '3', '❌ 2 findings']);
    expect(result('stale-epoch-read')[5]).toBe(
      `❌ 1 finding; not checked: ${escapeCell('1 state read without baton.state.version_read or baton.epoch')}`,
    );
    expect(result('partial-handoff').slice(3)).toEqual(['0', '9', '✅ pass']);
  });

  it('lists a rule switched off as off, never leaving it out', () => {
    const md = renderMarkdown(sampleReport());
    expect(
      table(md, 'rule')
        .rows.find((r) => r[0] === '`unlinked-handoff`')!
        .slice(2),
    ).toEqual(['warning', '—', '—', 'off']);
    expect(top(md)).toContain('1 rule off (switched off by configuration or --rule): `unlinked-handoff`.');
    const allOff = { ...cleanReport(), rules: cleanReport().rules.map((r) => ({ ...r, status: 'off' as const, checked: 0 })) };
    const none = renderMarkdown(allOff);
    expect(none).toMatch(/^## ⚪ /);
    expect(none).toContain(`0 rules run (${ALL} off)`);
    expect(none).toContain('No rule ran: every rule was turned off or left out.');
    expect(none).toContain('None: no rule was on.');
    expect(table(none, 'rule').rows.every((r) => r[5] === 'off')).toBe(true);
  });

  it('says which rules could not run and why before the findings, and marks them in the rules table', () => {
    const md = renderMarkdown(sampleReport());
    expect(md).toMatch(/^## 🔴 /);
    expect(top(md)).toContain(
      `> [!WARNING]\n> **2 of ${ALL - 1} rules could not run on this data**`+'; their silence says nothing:\n>\n' +
        `> - \`schema-drift\`: 1 receive without both sender and receiver schema versions\n` +
        `> - \`context-blowup\`: ${escapeCell('3 chains with handoffs lacking baton.context.token_count and baton.context.size_bytes')}`,
    );
    const rows = table(md, 'rule').rows;
    for (const id of ['schema-drift', 'context-blowup'])
      expect(rows.find((r) => r[0] === `\`${id}\``)![5]).toBe('⚠️ **could not run** (see above)');

    const none = renderMarkdown(uninstrumentedReport());
    expect(none).toMatch(/^## ⚪ /);
    expect(top(none)).toContain(`**${ALL} of ${ALL} rules could not run on this data**`);
    expect(top(none)).toContain(`> - ${RULES.map((r) => `\`${r.ruleId}\``).join(', ')}: nothing to check`);
    expect(top(none)).toContain('> [!WARNING]\n> No span in any known vocabulary (baton, otel-genai …): the rules had nothing to check.');
    expect(none).not.toContain("Baton's conventions");
    expect(none).not.toContain('✅');
    expect(none).toContain('None, but the rules that could not run say nothing about this data.');
    expect(renderMarkdown(emptyReport())).toContain('> [!WARNING]\n> No spans were read: nothing was checked.');
  });

  it('puts a count of one before a singular noun everywhere', () => {
    for (const report of [sampleReport(), uninstrumentedReport(), withProblem(cleanReport()), hostileReport()]) {
      expect(renderMarkdown(report)).not.toMatch(ONE_PLURAL);
    }
  });

  it('has an edge latency table: handoffs with transfers, signed percentiles, and a skew column when an edge has skewed samples', () => {
    const md = renderMarkdown(sampleReport());
    const edges = table(md, 'edge');
    expect(edges.header).toEqual([
      'edge',
      'handoffs',
      'min',
      'p50',
      'p95',
      'p99',
      'max',
      'ack p95',
      'validation p95',
      'failed',
      'retried',
      'clock skew',
    ]);
    expect(edges.rows[0]).toEqual([
      'triage → research',
      '4 (2 in-process)',
      // Each column in one format: the decimals its smallest figure (research → writer's 5.00) needs.
      '-12.00',
      '-12.00',
      '30.50',
      '30.50',
      '31.00',
      '40.0',
      '0.40',
      '0',
      '0',
      '⚠️ 3 skewed',
    ]);
    expect(edges.rows[2]).toEqual(['writer → reviewer', '3', '20.00', '24.00', '62.00', '62.00', '62.00', '84.0', '—', '1', '1', '']);
    expect(md).toContain("Skewed: negative samples, the receiver's clock behind the sender's; kept with their sign.");
    expect(md).toContain('In-process: handed over inside one span.');
    const clean = renderMarkdown(cleanReport());
    expect(table(clean, 'edge').header).not.toContain('clock skew');
    expect(clean).not.toMatch(/skew|in-process/i);
  });

  it('states the percentiles’ relative error once, and not when they are exact', () => {
    const md = renderMarkdown(sampleReport());
    expect(md.match(/±1%/g)).toHaveLength(1);
    expect(md).toContain('Percentiles are approximate: ±1%.');
    expect(renderMarkdown(cleanReport())).not.toContain('±');
    expect(renderMarkdown({ ...sampleReport(), edges: [] })).toContain(
      '2 tasks; share of wall time spent coordinating: p50 25%, p95 40%, max 40% (percentiles ±1%).',
    );
  });

  it('says latencies are only millisecond-precise, before the findings, when most spans have whole-millisecond times', () => {
    expect(renderMarkdown(sampleReport())).not.toContain('millisecond-precise');
    expect(top(renderMarkdown(withWholeMs(sampleReport(), 1)))).toContain(
      '> [!NOTE]\n> Latencies are only millisecond-precise: 92% of spans have whole-millisecond start and end times.',
    );
  });

  it('says the coordination share is per trace group when tasks ran in more groups than there are tasks', () => {
    const sample = sampleReport();
    const md = renderMarkdown({ ...sample, tasks: { ...sample.tasks, count: 1 } });
    expect(md).toMatch(/^1 task in 2 trace groups; share of wall time spent coordinating per trace group: p50 25%, p95 40%, max 40%\.$/m);
  });

  it('gives the coordination share and the slowest task’s critical path', () => {
    const md = renderMarkdown(sampleReport());
    expect(md).toMatch(/^2 tasks; share of wall time spent coordinating: p50 25%, p95 40%, max 40%\.$/m);
    expect(md).toContain('Critical path (handoffs in bold): triage 100 ms › **triage → research 30.0 ms** › research 200 ms');
  });

  it('lists the cycles of the graph', () => {
    expect(renderMarkdown(sampleReport())).toContain('**Cycles:** writer → reviewer → writer');
  });

  it('stops the findings table at maxFindings and says how many it left out', () => {
    const report = sampleReport();
    const md = renderMarkdown(report, { maxFindings: 4 });
    expect(table(md, 'severity').rows).toHaveLength(4);
    expect(md).toContain('…and 1 more finding not listed here');
    const truncated = { ...report, findings: report.findings.slice(0, 3), findingsTruncated: 2 };
    expect(renderMarkdown(truncated)).toContain('…and 2 more findings not listed here');
    expect(tables(renderMarkdown(report, { maxFindings: 0 })).map((t) => t.header[0])).toEqual(['rule', 'edge']);
  });

  it('lists inputs that could not be read', () => {
    expect(renderMarkdown(withProblem(cleanReport()))).toContain(
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
    // The reason a rule could not run, at the top, is escaped too.
    expect(top(md)).toContain('> - `ack-timeout`: 5 handoffs without a budget a"b\'c\\<d\\>\\&e\\|f g');
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
    ['see https://evil.example/x and www.evil.example', 'see https\u2060://evil.example/x and www\u2060.evil.example'],
    ['mail me: a@evil.example, mailto:b@evil.example', 'mail me: a@\u2060evil.example, mailto\u2060:b@\u2060evil.example'],
    ['x'.repeat(5000), `${'x'.repeat(200)}…\\(4800 more characters\\)`],
  ])('%j → %j', (input, expected) => {
    expect(escapeCell(input)).toBe(expected);
  });
});

describe('renderMarkdown on hostile sizes', () => {
  /** The hostile report with its agent name replaced by `name` everywhere. */
  const renamed = (name: string) =>
    JSON.parse(JSON.stringify(hostileReport()), (_key, value: unknown) => (typeof value === 'string' ? value.split(HOSTILE).join(name) : value)) as ReturnType<typeof hostileReport>;

  it('fits a pull-request comment (65,536 characters) with a 200,000-character agent name, cutting each name', () => {
    const md = renderMarkdown(renamed('n'.repeat(200_000)));
    expect(md.length).toBeLessThanOrEqual(65_536);
    expect(md).toContain('more characters\\)');
    expect(md).not.toContain('n'.repeat(1001));
  });

  it('cuts a report longer than maxChars at a line and says so', () => {
    const full = renderMarkdown(sampleReport());
    const cut = renderMarkdown(sampleReport(), { maxChars: 1000 });
    expect(cut.length).toBeLessThanOrEqual(1000);
    expect(full.startsWith(cut.slice(0, cut.indexOf('\n\n**…report cut here')))).toBe(true);
    expect(cut).toMatch(/\*\*…report cut here to fit a pull-request comment\*\*; `baton audit --format json` has all of it\.\n$/);
  });

  it('links nothing from trace text: no URL, www. or address outside a code span stays linkable', () => {
    const md = renderMarkdown(renamed('https://evil.example/login www.evil.example x@evil.example'));
    const prose = md.replace(/``[^\n]*?``|`[^`\n]*`/g, '');
    expect(prose).not.toMatch(/https?:\/\/|www\.|@evil/);
  });
});

describe('the Agents line in Markdown', () => {
  it('names the agents with failed or blocked runs', () => {
    expect(renderMarkdown(sampleReport())).toContain('**Agents:** 4, 9 runs · failed: research 1 of 2 · blocked: triage 1 of 2.');
  });
});
