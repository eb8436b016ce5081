/**
 * The text report on real audits of the fixtures: every finding with its
 * evidence and fix, every rule with what it checked (and, for a rule that could
 * not run, saying so), the edge latency table fitted to the width, the tasks,
 * the summary; colour only when asked; hostile trace text kept harmless.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/model/audit-report.js';
import { formatTime } from '../../src/report/format.js';
import { renderText } from '../../src/report/index.js';
import {
  allFixturesReport,
  fixtureReport,
  HOSTILE,
  hostileReport,
  partlyInstrumentedReport,
  uninstrumentedReport,
  withProblem,
} from './reports.js';

const ESC = '\u001b';
/** Lines joined and runs of spaces squeezed, so wrapped text can be searched for. */
const flat = (text: string) => text.replace(/\s+/g, ' ');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let clean: AuditReport;
let all: AuditReport;
let partly: AuditReport;
let uninstrumented: AuditReport;

beforeAll(async () => {
  [clean, all, partly, uninstrumented] = await Promise.all([
    fixtureReport('clean'),
    allFixturesReport(),
    partlyInstrumentedReport(),
    uninstrumentedReport(),
  ]);
});

describe('renderText', () => {
  it.each(['cycle', 'ack-timeout', 'schema-drift', 'stale-read'] as const)(
    '%s: names each finding with severity, rule, message, agents, trace, span ids, time and fix',
    async (name) => {
      const report = await fixtureReport(name);
      expect(report.findings.length).toBeGreaterThan(0);
      const text = renderText(report, { color: false, width: 100 });
      const squeezed = flat(text);
      for (const f of report.findings) {
        expect(text).toContain(f.ruleId);
        expect(squeezed).toContain(flat(f.message));
        expect(squeezed).toContain(flat(f.hint));
        expect(squeezed).toContain(`agents ${f.agents.join(', ')}`);
        expect(squeezed).toMatch(new RegExp(`${f.severity === 'error' ? '✖' : '▲'} ${f.severity} `));
        expect(text).toContain(f.evidence.traceId);
        expect(text).toContain(formatTime(f.evidence.startMs));
        for (const id of f.evidence.spanIds) expect(text).toContain(id);
      }
    },
  );

  it('groups findings under their rule, in the report’s rule order, errors first within a rule', () => {
    const text = renderText(all, { color: false, width: 100 });
    const headers = [...text.matchAll(/^ {2}([a-z-]+) {2}(\d+) findings?$/gm)].map((m) => [m[1], Number(m[2])]);
    expect(headers).toEqual(all.rules.filter((r) => r.findings > 0).map((r) => [r.ruleId, r.findings]));
    const cycleGroup = text.slice(text.indexOf('  dependency-cycle  '), text.indexOf('  stale-epoch-read  '));
    expect(cycleGroup.indexOf('✖ error')).toBeGreaterThan(-1);
    expect(cycleGroup.indexOf('✖ error')).toBeLessThan(cycleGroup.indexOf('▲ warning'));
  });

  it('lists every rule with its findings, candidates checked and result', () => {
    const text = renderText(all, { color: false, width: 100 });
    for (const rule of all.rules) {
      expect(text).toMatch(new RegExp(`^ {2}${rule.ruleId} +${rule.findings} +${rule.checked} +[✖▲] ${rule.findings} findings?$`, 'm'));
    }
    const cleanText = renderText(clean, { color: false, width: 100 });
    for (const rule of clean.rules) expect(cleanText).toMatch(new RegExp(`^ {2}${rule.ruleId} +0 +${rule.checked} +✔ pass$`, 'm'));
  });

  it('shows a rule that checked nothing as "could not run" with its reason, never as a pass', () => {
    const couldNot = partly.rules.filter((r) => r.couldNotRun);
    // The variant must exercise both kinds of rule, or this test proves nothing.
    expect(couldNot.length).toBeGreaterThan(0);
    expect(partly.rules.some((r) => !r.couldNotRun)).toBe(true);
    for (const width of [60, 100, 160]) {
      const text = renderText(partly, { color: false, width });
      const squeezed = flat(text);
      for (const rule of couldNot) {
        const row = text.split('\n').find((l) => l.startsWith(`  ${rule.ruleId} `))!;
        expect(row).toMatch(/↓ could not run:?/);
        expect(row).not.toContain('pass');
        for (const n of rule.notEvaluated) expect(squeezed).toContain(flat(`${n.count} ${n.reason}`));
      }
      expect(text).toContain(`${couldNot.length} of ${partly.rules.length} rules could not run on this data`);
      expect(text).toMatch(/none, but \d+ rules could not run/);
    }
  });

  it('says so plainly when no span follows Baton’s conventions, and passes no rule', () => {
    const text = renderText(uninstrumented, { color: false, width: 100 });
    expect(uninstrumented.rules.every((r) => r.couldNotRun)).toBe(true);
    expect(text).toContain("No span follows Baton's conventions");
    expect(text).not.toContain('✔');
    for (const rule of uninstrumented.rules)
      expect(text).toMatch(new RegExp(`^ {2}${rule.ruleId} +0 +0 +↓ could not run: nothing to check$`, 'm'));
    expect(text).toContain(`0 errors, 0 warnings · 9 of 9 rules could not run on this data`);
  });

  it('prints the latency table with a row per edge: handoffs, p50/p95/p99/max, ack p95, validation p95, failures, retries', () => {
    const text = renderText(all, { color: false, width: 120 });
    expect(text).toMatch(/edge +handoffs +p50 +p95 +p99 +max +ack p95 +valid\. p95 +failed +retried/);
    for (const e of all.edges) {
      const row = text.split('\n').find((l) => l.startsWith(`  ${e.source} → ${e.target} `));
      expect(row, `${e.source} → ${e.target}`).toBeDefined();
      const cells = row!.slice(`  ${e.source} → ${e.target}`.length).trim().split(/\s+/);
      expect(cells).toHaveLength(9);
      expect(cells[0]).toBe(String(e.handoffs));
      expect(cells[7]).toBe(String(e.failures));
      expect(cells[8]).toBe(String(e.retries));
    }
    // The ack-timeout fixture's late acknowledgement (84 ms against a 40 ms budget) is in the writer → reviewer row.
    expect(text).toMatch(/writer → reviewer +12 +\S+ +62\.0 +62\.0 +62\.0 +84\.0 +\S+ +1 +0/);
  });

  it('prints each cycle of the graph', async () => {
    const report = await fixtureReport('cycle');
    const text = renderText(report, { color: false, width: 100 });
    for (const cycle of report.cycles) expect(text).toContain(`cycle  ${cycle.join(' → ')}`);
  });

  it('summarizes coordination share over tasks and the slowest task’s critical path', () => {
    const text = renderText(all, { color: false, width: 100 });
    const squeezed = flat(text);
    expect(text).toMatch(/^Tasks {2}11 · share of wall time spent coordinating: p50 \d+%, p95 \d+%, max \d+%$/m);
    const slowest = all.tasks.slowest[0]!;
    expect(squeezed).toContain(`slowest ${slowest.taskId} · trace ${slowest.traceId}`);
    expect(text).toContain('critical path');
    for (const segment of slowest.criticalPath) expect(squeezed).toContain(segment.label);
  });

  it('ends with the count of errors and warnings', async () => {
    expect(renderText(all, { color: false }).trimEnd().split('\n').at(-1)).toBe(
      `✖ ${all.severityCounts.error} errors, ${all.severityCounts.warning} warnings`,
    );
    expect(renderText(clean, { color: false }).trimEnd().split('\n').at(-1)).toBe('✔ 0 errors, 0 warnings');
    const ackOnly = await fixtureReport('ack-timeout');
    expect(renderText(ackOnly, { color: false }).trimEnd().split('\n').at(-1)).toBe('▲ 0 errors, 1 warning');
  });

  it('lists inputs that could not be read', () => {
    const text = renderText(withProblem(clean), { color: false });
    expect(text).toContain('1 input could not be read and was skipped:');
    expect(text).toContain('missing.json: no such file or directory');
    expect(text.trimEnd().split('\n').at(-1)).toContain('1 input skipped');
  });

  it('says how many findings the report left out past its limit', async () => {
    const truncated = await allFixturesReport({ maxFindings: 3 });
    const text = renderText(truncated, { color: false });
    expect(text).toContain(`… ${truncated.findingsTruncated} more findings past the report's limit`);
    expect(text).toMatch(/partial-handoff {2}2 findings \(2 past the report's limit, not listed\)/);
  });

  it.each([60, 80, 100, 132])('fits %i columns, wrapping prose and dropping the least needed columns', async (width) => {
    for (const report of [all, partly, uninstrumented, hostileReport(), await fixtureReport('cycle')]) {
      for (const line of renderText(report, { color: false, width }).split('\n')) expect(line.length, line).toBeLessThanOrEqual(width);
    }
  });

  it('says which latency columns it left out to fit', () => {
    const narrow = renderText(all, { color: false, width: 60 });
    expect(narrow).not.toContain('valid. p95  ');
    expect(narrow).toMatch(/valid\. p95.* left out to fit 60 columns/);
    expect(renderText(all, { color: false, width: 132 })).not.toContain('left out');
  });

  it('uses ANSI colour only when color is true', () => {
    expect(renderText(all, { color: false, width: 100 })).not.toContain(ESC);
    expect(renderText(uninstrumented, { color: false })).not.toContain(ESC);
    const coloured = renderText(all, { color: true, width: 100 });
    expect(coloured).toContain(`${ESC}[31m✖ error${ESC}[39m`);
    expect(coloured).toContain(`${ESC}[33m▲ warning${ESC}[39m`);
    // Colour changes nothing else.
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(renderText(all, { color: false, width: 100 }));
  });

  it('prints hostile trace text on one line each, with no control character or escape sequence reaching the terminal', () => {
    const report = hostileReport();
    for (const color of [false, true]) {
      const text = renderText(report, { color, width: 100 });
      const plain = color ? text.replace(/\u001b\[\d+m/g, '') : text;
      // eslint-disable-next-line no-control-regex
      expect(plain).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
      expect(plain).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
    const text = renderText(report, { color: false, width: 200 });
    expect(text).toContain(String.raw`a"b'c<d>&e|f\ng\r]]>\u0001h\u001b[31mi`);
    expect(text).toMatch(
      new RegExp(`^ {2}ack-timeout +0 +0 +↓ could not run: 5 handoffs without a budget ${escapeRegExp(String.raw`a"b'c<d>&e|f\ng`)}`, 'm'),
    );
    expect(text).toMatch(/^ {2}duplicate-write +0 +4 +✔ pass; not checked: 2 writes without a key/m);
  });
});
