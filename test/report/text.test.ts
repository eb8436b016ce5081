/**
 * The text report: what was read and which vocabularies read it, with what
 * limits the report (rules that could not run and why, rules off, millisecond
 * times) told at the top; every finding with its evidence and fix; every rule
 * with what it checked (off rules listed as off); the signed edge latency table
 * with skew, transfers and the percentiles' error, fitted to the width; the
 * tasks; the summary; colour only when asked; hostile trace text kept harmless.
 * Hand-built reports (./reports.ts) except where a test says it audits a fixture.
 */
import { describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/model/audit-report.js';
import { formatTime } from '../../src/report/format.js';
import { renderText } from '../../src/report/index.js';
import { RULE_IDS as ALL_RULE_IDS } from '../../src/analyze/detectors/index.js';

/** How many rules there are: the counts the reports state. */
const ALL = ALL_RULE_IDS.length;
import {
  cleanReport,
  emptyReport,
  fixtureReport,
  HOSTILE,
  hostileReport,
  sampleReport,
  TRACE_1,
  TRACE_2,
  uninstrumentedReport,
  withProblem,
  withWholeMs,
} from './reports.js';

const ESC = '\u001b';
/** Lines joined and runs of spaces squeezed, so wrapped text can be searched for. */
const flat = (text: string) => text.replace(/\s+/g, ' ');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const text = (report: AuditReport, width = 100) => renderText(report, { color: false, width });
/** The report's text above its Findings heading. */
const top = (report: AuditReport, width = 100) => text(report, width).split('\nFindings\n')[0]!;
/** A rule's row in the Rules table. */
const row = (t: string, ruleId: string) =>
  t
    .slice(t.indexOf('\nRules\n'))
    .split('\n')
    .find((l) => l.startsWith(`  ${ruleId} `));
/** The summary at the end, its parts joined even where a narrow width put them on lines of their own. */
const summary = (t: string) => flat(t.slice(t.lastIndexOf('\n\n'))).trim();

/** A count before a plural noun: what no report may print ("1 handoffs", "1 findings"). */
const ONE_PLURAL = /\b1 (findings|rules|spans|traces|handoffs|receives|chains|writes|tasks|errors|warnings|inputs|state reads)\b/;

describe('renderText', () => {
  it.each(['cycle', 'ack-timeout', 'schema-drift', 'stale-read'] as const)(
    'audit of fixtures/%s.json: names each finding with severity, rule, message, agents, trace, span ids, time and fix',
    async (name) => {
      const report = await fixtureReport(name);
      expect(report.findings.length).toBeGreaterThan(0);
      const out = text(report);
      const squeezed = flat(out);
      for (const f of report.findings) {
        expect(out).toContain(f.ruleId);
        expect(squeezed).toContain(flat(f.message));
        expect(squeezed).toContain(flat(f.hint));
        expect(squeezed).toContain(`agents ${f.agents.join(', ')}`);
        expect(squeezed).toMatch(new RegExp(`${f.severity === 'error' ? '✖' : '▲'} ${f.severity} `));
        expect(out).toContain(f.evidence.traceId);
        expect(out).toContain(formatTime(f.evidence.startMs));
        for (const id of f.evidence.spanIds) expect(out).toContain(id);
      }
    },
  );

  it('names each finding with severity, message, agents, task, every trace of its evidence, span ids, time and fix', () => {
    const report = sampleReport();
    const squeezed = flat(text(report));
    for (const f of report.findings) {
      expect(squeezed).toContain(`${f.severity === 'error' ? '✖' : '▲'} ${f.severity} ${f.message}`);
      expect(squeezed).toContain(`agents ${f.agents.join(', ')}`);
      expect(squeezed).toContain(`spans ${f.evidence.spanIds.join(', ')}`);
      expect(squeezed).toContain(formatTime(f.evidence.startMs));
      expect(squeezed).toContain(`fix ${f.hint}`);
    }
    expect(squeezed).toContain('task task-7');
    // A stale read and the write it missed in two traces: both named.
    expect(squeezed).toContain(`traces ${TRACE_1}, ${TRACE_2} ${formatTime(report.findings[2]!.evidence.startMs)}`);
    expect(squeezed).toContain(`trace ${TRACE_1} ${formatTime(report.findings[0]!.evidence.startMs)}`);
  });

  it('groups findings under their rule, in the report’s rule order, errors first within a rule', () => {
    const report = sampleReport();
    const out = text(report);
    const headers = [...out.matchAll(/^ {2}([a-z-]+) {2}(\d+) findings?$/gm)].map((m) => [m[1], Number(m[2])]);
    expect(headers).toEqual(report.rules.filter((r) => r.findings > 0).map((r) => [r.ruleId, r.findings]));
    const cycleGroup = out.slice(out.indexOf('  dependency-cycle  2 findings'), out.indexOf('  stale-epoch-read  1 finding'));
    expect(cycleGroup.indexOf('✖ error')).toBeGreaterThan(-1);
    expect(cycleGroup.indexOf('✖ error')).toBeLessThan(cycleGroup.indexOf('▲ warning'));
  });

  it('heads the report with spans, traces and the vocabularies that read them, never a count of "Baton spans"', () => {
    expect(text(sampleReport()).split('\n')[0]).toBe(
      // The first line fills the width; only the lines after it hang two columns in.
      'Baton audit  12 spans · 2 traces (1 trace group) · read as baton (10), otel-genai (2) · conventions',
    );
    expect(flat(top(sampleReport(), 160))).toContain(
      'Baton audit 12 spans · 2 traces (1 trace group) · read as baton (10), otel-genai (2) · conventions v1',
    );
    // One group per trace: no group count; a vocabulary that claimed nothing is not "read as".
    const clean = cleanReport();
    expect(text(clean).split('\n')[0]).toBe('Baton audit  12 spans · 1 trace · read as baton (12) · conventions v1');
    expect(text(sampleReport())).not.toMatch(/Baton spans?\b/);
  });

  it('says no span is in any known vocabulary when no dialect claimed one, and passes no rule', () => {
    const report = uninstrumentedReport();
    const out = text(report);
    expect(flat(top(report))).toContain('! No span in any known vocabulary (baton, otel-genai …): the rules had nothing to check.');
    expect(out).not.toContain("Baton's conventions");
    expect(out).not.toContain('read as');
    expect(out).not.toContain('✔');
    // Nine rules with one reason share one line at the top.
    expect(flat(top(report, 200))).toContain(
      `↓ ${ALL} of ${ALL} rules could not run on this data; their silence says nothing: ${report.rules.map((r) => r.ruleId).join(', ')}: nothing to check`,
    );
    for (const rule of report.rules) expect(row(out, rule.ruleId)).toMatch(/^ {2}[a-z-]+ +0 +0 +↓ could not run$/);
    expect(out.trimEnd().split('\n').at(-1)).toBe(`0 errors, 0 warnings · ${ALL} of ${ALL} rules could not run on this data`);
  });

  it('says when no span was read at all', () => {
    const out = text(emptyReport());
    expect(out.split('\n')[0]).toBe('Baton audit  0 spans · 0 traces');
    expect(out).toContain('! No spans were read: nothing was checked.');
    expect(out).not.toContain('vocabulary');
  });

  it('says which rules could not run and why right under the header, before the findings, each count with the right noun', () => {
    const report = sampleReport();
    for (const width of [60, 100, 160]) {
      const head = flat(top(report, width));
      expect(head).toContain(`↓ 2 of ${ALL - 1} rules could not run on this data; their silence says nothing:`);
      expect(head).toContain('schema-drift: 1 receive without both sender and receiver schema versions');
      expect(head).toContain('context-blowup: 3 chains with handoffs lacking baton.context.token_count and baton.context.size_bytes');
      const out = text(report, width);
      for (const id of ['schema-drift', 'context-blowup']) {
        expect(row(out, id)).toMatch(/↓ could not run$/);
        expect(row(out, id)).not.toContain('pass');
      }
      // Said once, at the top: the reasons are not repeated at the bottom.
      expect(out.split('\nFindings\n')[1]).not.toContain('receive without');
      expect(summary(out)).toContain(`2 of ${ALL - 1} rules could not run on this data`);
    }
    expect(text({ ...report, findings: [], rules: report.rules.map((r) => ({ ...r, findings: 0 })) })).toMatch(
      /none, but 2 rules could not run on this data \(see above\)/,
    );
  });

  it('lists a rule switched off as off, in the table, at the top and in the summary, never leaving it out', () => {
    const out = text(sampleReport());
    expect(row(out, 'unlinked-handoff')).toMatch(/^ {2}unlinked-handoff +— +— +off$/);
    expect(flat(top(sampleReport()))).toContain('1 rule off (switched off by configuration or --rule): unlinked-handoff');
    expect(out.trimEnd().split('\n').at(-1)).toBe(`✖ 2 errors, 3 warnings · 2 of ${ALL - 1} rules could not run on this data · 1 rule off`);
    // Every rule off: nothing ran, and no tick says otherwise.
    const allOff = { ...cleanReport(), rules: cleanReport().rules.map((r) => ({ ...r, status: 'off' as const, checked: 0 })) };
    const none = text(allOff);
    expect(none).toContain('! No rule ran: every rule was turned off or left out.');
    expect(none).toContain(`${ALL} rules off (switched off by configuration or --rule)`);
    expect(none).not.toContain('✔');
    for (const r of allOff.rules) expect(row(none, r.ruleId)).toMatch(/ off$/);
    expect(none.trimEnd().split('\n').at(-1)).toBe(`0 errors, 0 warnings · no rule ran · ${ALL} rules off`);
  });

  it('lists every rule that ran with its findings, candidates checked and result, and what it could not check', () => {
    const out = text(sampleReport(), 160);
    expect(row(out, 'dependency-cycle')).toMatch(/^ {2}dependency-cycle +2 +3 +✖ 2 findings$/);
    expect(row(out, 'stale-epoch-read')).toMatch(
      /^ {2}stale-epoch-read +1 +8 +✖ 1 finding; not checked: 1 state read without baton\.state\.version_read or baton\.epoch$/,
    );
    // Too long for its row: on its own lines below it, whole.
    expect(row(out, 'ack-timeout')).toMatch(/^ {2}ack-timeout +1 +4 +▲ 1 finding$/);
    expect(flat(out)).toContain(
      '▲ 1 finding not checked: 1 handoff without baton.timeout_budget_ms; 2 handoffs not acknowledged yet, still within budget when the data ends',
    );
    expect(row(out, 'context-loss')).toMatch(/^ {2}context-loss +1 +4 +▲ 1 finding$/);
    expect(row(out, 'partial-handoff')).toMatch(/^ {2}partial-handoff +0 +9 +✔ pass$/);
    const clean = text(cleanReport());
    for (const rule of cleanReport().rules) expect(row(clean, rule.ruleId)).toMatch(/ +0 +3 +✔ pass$/);
  });

  it('puts a count of one before a singular noun everywhere', () => {
    for (const report of [sampleReport(), uninstrumentedReport(), withProblem(cleanReport()), hostileReport()]) {
      for (const width of [60, 100]) expect(flat(text(report, width))).not.toMatch(ONE_PLURAL);
    }
    const one = sampleReport();
    const single = {
      ...one,
      inputs: { ...one.inputs, spans: 1, traces: 1, traceGroups: 1 },
      edges: [{ ...one.edges[1]! }],
      tasks: { ...one.tasks, count: 1 },
    };
    expect(text(single).split('\n')[0]).toMatch(/^Baton audit {2}1 span · 1 trace · /);
  });

  it('prints the latency table: handoffs with in-process transfers, signed min/p50/p95/p99/max, ack and validation p95, failures, retries, skew', () => {
    const report = sampleReport();
    const out = text(report, 140);
    expect(out).toMatch(/edge +handoffs +in-process +min +p50 +p95 +p99 +max +ack p95 +valid\. p95 +failed +retried +skew/);
    // Clock skew: a negative p50 keeps its sign, and the row says how many samples were skewed.
    // Each latency column in one format: the decimals its smallest figure needs, for every row.
    expect(out).toMatch(/^ {2}triage → research +4 +2 +-12\.00 +-12\.00 +30\.50 +30\.50 +31\.00 +40\.0 +0\.40 +0 +0 +3 skewed$/m);
    expect(out).toMatch(/^ {2}writer → reviewer +3 +20\.00 +24\.00 +62\.00 +62\.00 +62\.00 +84\.0 +— +1 +1$/m);
    expect(flat(out)).toContain('in-process: of the handoffs, those handed over inside one span');
    expect(out).toMatch(/^ {2}research → writer +1 +5\.00 +5\.00 +5\.00 +5\.00 +5\.00 +— +— +0 +0$/m);
    // Without skew or transfers, neither column nor legend speaks of them.
    const clean = text(cleanReport(), 140);
    expect(clean).not.toMatch(/skew|in-process/);
    expect(clean).toMatch(/^ {2}triage → research +2 +4\.00 +5\.00 +6\.00 /m);
  });

  it('keeps the skew column when the table is too narrow for the others', () => {
    for (const width of [60, 80]) {
      const out = text(sampleReport(), width);
      expect(out).toMatch(/ skew$/m);
      expect(out).toMatch(/3 skewed$/m);
    }
  });

  it('states the percentiles’ relative error once, and not when they are exact', () => {
    const out = text(sampleReport());
    expect(out.match(/percentiles ±1%/g)).toHaveLength(1);
    expect(flat(out)).toContain('ms; percentiles ±1%; latency: send → first receive');
    expect(text(cleanReport())).not.toContain('percentiles ±');
    // Without edges, the tasks' share percentiles carry it.
    const noEdges = { ...sampleReport(), edges: [] };
    expect(text(noEdges)).toMatch(/^Tasks {2}2 · share of wall time spent coordinating: p50 25%, p95 40%, max 40% \(percentiles ±1%\)$/m);
  });

  it('says latencies are only millisecond-precise at the top when at least 90% of spans have whole-millisecond times', () => {
    const sample = sampleReport();
    expect(text(sample)).not.toContain('millisecond-precise');
    expect(flat(top(withWholeMs(sample)))).toContain(
      '! Latencies are only millisecond-precise: all spans have whole-millisecond start and end times.',
    );
    const twenty = { ...sample, inputs: { ...sample.inputs, spans: 20 } };
    expect(flat(top(withWholeMs(twenty, 2)))).toContain('Latencies are only millisecond-precise: 90% of spans have');
    expect(text(withWholeMs(twenty, 3))).not.toContain('millisecond-precise');
    expect(text(withWholeMs(emptyReport()))).not.toContain('millisecond-precise');
  });

  it('warns when memory caps split traces', () => {
    const sample = sampleReport();
    expect(text(sample)).not.toContain('more than one piece');
    expect(flat(top({ ...sample, inputs: { ...sample.inputs, splitTraces: 1 } }))).toContain(
      '! 1 trace had to be analyzed in more than one piece (memory limits)',
    );
  });

  it('prints each cycle of the graph', () => {
    expect(text(sampleReport())).toContain('cycle  writer → reviewer → writer');
  });

  it('says the coordination share is per trace group when tasks ran in more groups than there are tasks', () => {
    const sample = sampleReport();
    // One task whose processes each started a trace of their own: two groups, one task id.
    const split = { ...sample, tasks: { ...sample.tasks, count: 1 } };
    expect(text(split, 200)).toMatch(/^Tasks {2}1 in 2 trace groups · share of wall time spent coordinating per trace group: p50 25%, p95 40%, max 40%$/m);
    expect(text(sample, 200)).toMatch(/^Tasks {2}2 · share of wall time spent coordinating: p50/m);
  });

  it('summarizes coordination share over tasks and the slowest task’s critical path', () => {
    const out = text(sampleReport());
    const squeezed = flat(out);
    expect(out).toMatch(/^Tasks {2}2 · share of wall time spent coordinating: p50 25%, p95 40%, max 40%$/m);
    expect(squeezed).toContain(`slowest task-7 · trace ${TRACE_1} · 400 ms wall: 300 ms in agents, 100 ms coordinating (25%)`);
    expect(squeezed).toContain('critical path triage 100 ms › triage → research 30.0 ms › research 200 ms › research → writer 70.0 ms');
  });

  it('ends with the count of errors and warnings', () => {
    expect(text(cleanReport()).trimEnd().split('\n').at(-1)).toBe('✔ 0 errors, 0 warnings');
    const sample = sampleReport();
    const warningOnly = {
      ...cleanReport(),
      findings: [sample.findings[3]!],
      rules: cleanReport().rules.map((r) => (r.ruleId === 'ack-timeout' ? { ...r, findings: 1 } : r)),
      severityCounts: { error: 0, warning: 1, info: 0 },
    };
    expect(text(warningOnly).trimEnd().split('\n').at(-1)).toBe('▲ 0 errors, 1 warning');
  });

  it('lists inputs that could not be read', () => {
    const out = text(withProblem(cleanReport()));
    expect(out).toContain('1 input could not be read and was skipped:');
    expect(out).toContain('missing.json: no such file or directory');
    expect(out.trimEnd().split('\n').at(-1)).toContain('1 input skipped');
  });

  it('says how many findings the report left out past its limit', () => {
    const sample = sampleReport();
    const truncated = { ...sample, findings: sample.findings.slice(1), findingsTruncated: 1 };
    const out = text(truncated);
    expect(out).toContain("… 1 more finding past the report's limit");
    expect(out).toMatch(/dependency-cycle {2}2 findings \(1 past the report's limit, not listed\)/);
  });

  it.each([60, 80, 100, 132])('fits %i columns, wrapping prose and dropping the least needed columns', (width) => {
    for (const report of [
      sampleReport(),
      withWholeMs(sampleReport()),
      cleanReport(),
      uninstrumentedReport(),
      emptyReport(),
      hostileReport(),
    ]) {
      for (const line of text(report, width).split('\n')) expect(line.length, line).toBeLessThanOrEqual(width);
    }
  });

  it('says which latency columns it left out to fit', () => {
    const narrow = text(sampleReport(), 60);
    expect(narrow).not.toContain('valid. p95  ');
    expect(flat(narrow)).toMatch(/valid\. p95.* left out to fit 60 columns/);
    expect(text(sampleReport(), 160)).not.toContain('left out');
  });

  it('uses ANSI colour only when color is true', () => {
    const report = sampleReport();
    expect(text(report)).not.toContain(ESC);
    expect(text(uninstrumentedReport())).not.toContain(ESC);
    const coloured = renderText(report, { color: true, width: 100 });
    expect(coloured).toContain(`${ESC}[31m✖ error${ESC}[39m`);
    expect(coloured).toContain(`${ESC}[33m▲ warning${ESC}[39m`);
    // Colour changes nothing else.
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(text(report));
  });

  it('prints hostile trace text on one line each, with no control character or escape sequence reaching the terminal', () => {
    const report = hostileReport();
    for (const color of [false, true]) {
      const out = renderText(report, { color, width: 100 });
      const plain = color ? out.replace(/\u001b\[\d+m/g, '') : out;
      // eslint-disable-next-line no-control-regex
      expect(plain).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
      expect(plain).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
    const out = text(report, 200);
    expect(out).toContain(String.raw`a"b'c<d>&e|f\ng\r]]>\u0001h\u001b[31mi`);
    // The reason a rule could not run is trace-free here, but the rule's own reason text is escaped at the top too.
    expect(top(report, 200)).toMatch(
      new RegExp(`^ {6}ack-timeout: 5 handoffs without a budget ${escapeRegExp(String.raw`a"b'c<d>&e|f\ng`)}`, 'm'),
    );
    expect(out).toMatch(/^ {2}duplicate-write +0 +4 +✔ pass; not checked: 2 writes without a key/m);
    expect(HOSTILE).toContain('\n');
  });
});

describe('renderText on hostile sizes', () => {
  /** The hostile report with its agent name replaced by `name` everywhere. */
  const renamed = (name: string) =>
    JSON.parse(JSON.stringify(hostileReport()), (_key, value: unknown) => (typeof value === 'string' ? value.split(HOSTILE).join(name) : value)) as AuditReport;

  it('cuts each name from a trace to 200 characters and each message to 1,000, saying how much was left out', () => {
    const out = text(renamed('n'.repeat(200_000)));
    // Every place the name appears is cut: no run of it longer than a message's cut.
    expect(out).not.toMatch(/n{1001}/);
    expect(out).toContain('more characters)');
    // The same report with a short name: the cut report is bounded by the number of places a name appears, not its length.
    expect(out.length).toBeLessThan(text(renamed('n')).length + 40 * 1_100);
  });
});

describe('the Agents line', () => {
  it('names each agent with failed or blocked runs, and how many of its runs', () => {
    expect(text(sampleReport())).toMatch(/^Agents {2}4 · 9 runs · failed: research 1 of 2 · blocked: triage 1 of 2$/m);
  });

  it('says none failed when every run completed, and is absent when no agent ran', () => {
    const report = sampleReport();
    const clean = { ...report, agentRuns: report.agentRuns.map((a) => ({ ...a, completed: a.runs, failed: 0, blocked: 0 })) };
    expect(text(clean)).toMatch(/^Agents {2}4 · 9 runs, none failed or blocked$/m);
    expect(text({ ...report, agentRuns: [] })).not.toMatch(/^Agents/m);
  });

  it('lists at most 20 agents of a kind, then how many more', () => {
    const report = sampleReport();
    const many = Array.from({ length: 25 }, (_, i) => ({ agent: `agent-${String(i).padStart(2, '0')}`, runs: 1, completed: 0, failed: 1, blocked: 0 }));
    const out = text({ ...report, agentRuns: many });
    expect(out).toContain('agent-19 1 of 1 and 5 more');
    expect(out).not.toContain('agent-20');
  });
});
