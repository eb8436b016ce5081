import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditSpans } from '../../src/analyze/audit.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import { renderGraph, renderJson, renderJunit, renderMarkdown, renderText } from '../../src/report/index.js';
import { loadFixture } from '../helpers/traces.js';

const SCHEMA = fileURLToPath(new URL('../../docs/audit-report.schema.json', import.meta.url));
const HOSTILE = 'a"b<c>&d|e\nf]]>\u0001g';

let clean: AuditReport;
let cycle: AuditReport;
let faults: AuditReport;
let noBaton: AuditReport;

/** A report whose agent names and messages hold every character that breaks a format. */
function hostile(report: AuditReport): AuditReport {
  const finding = faults.findings[0]!;
  return {
    ...report,
    agents: [HOSTILE, 'ok'],
    edges: [{ ...report.edges[0]!, source: HOSTILE, target: 'ok' }],
    cycles: [[HOSTILE, 'ok', HOSTILE]],
    findings: [{ ...finding, message: `bad ${HOSTILE}`, agents: [HOSTILE], hint: `fix ${HOSTILE}` }],
    inputs: { ...report.inputs, problems: [{ location: `in${HOSTILE}`, message: `broken ${HOSTILE}` }] },
  };
}

beforeAll(async () => {
  const all = await Promise.all(['stale-read', 'ack-timeout', 'schema-drift', 'context-loss'].map(loadFixture));
  [clean, cycle, faults] = await Promise.all([
    auditSpans([await loadFixture('clean')]),
    auditSpans([await loadFixture('cycle')]),
    auditSpans([all.flat()]),
  ]);
  // Spans from an app that never heard of Baton: every rule must say it could not run.
  noBaton = await auditSpans([(await loadFixture('clean')).map((s) => ({ ...s, attributes: { 'service.kind': 'x' } }))]);
});

describe('renderText', () => {
  it('names each finding with its rule, agents, evidence span ids and fix, and the edge table', () => {
    const text = renderText(faults, { color: false, width: 120 });
    const flat = text.replace(/\s+/g, ' ');
    for (const f of faults.findings) {
      expect(text).toContain(f.ruleId);
      expect(flat).toContain(f.message);
      expect(flat).toContain(f.hint);
      for (const id of f.evidence.spanIds) expect(text).toContain(id);
    }
    expect(text).toContain('writer → reviewer');
    expect(text).toMatch(/2 errors, 2 warnings/);
  });

  it('uses colour only when asked', () => {
    expect(renderText(faults, { color: false })).not.toMatch(/\u001b\[/);
    expect(renderText(faults, { color: true })).toMatch(/\u001b\[31m/);
  });

  it('says plainly when rules could not run, never passing them as clean', () => {
    const text = renderText(noBaton, { color: false });
    expect(text).toMatch(/No span follows Baton's conventions/);
    expect(text).toMatch(/stale-epoch-read\s+0\s+0\s+could not run/);
    expect(text).toMatch(/9 rules could not run on this data/);
  });

  it('fits an 80-column terminal, wrapping long lines and dropping optional columns', () => {
    const text = renderText(faults, { color: false, width: 80 });
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).not.toContain('valid. p95');
    expect(renderText(faults, { color: false, width: 140 })).toContain('valid. p95');
  });
});

describe('renderJson', () => {
  it('prints reports that validate against docs/audit-report.schema.json', async () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const validate = ajv.compile(JSON.parse(await readFile(SCHEMA, 'utf8')));
    for (const report of [clean, cycle, faults, noBaton, hostile(faults)]) {
      const value = JSON.parse(renderJson(report));
      expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
      expect(value).toEqual(JSON.parse(JSON.stringify(report)));
    }
  });

  it('the schema rejects a report with an unknown field or a wrong type', async () => {
    const validate = new Ajv2020({ strict: true }).compile(JSON.parse(await readFile(SCHEMA, 'utf8')));
    expect(validate({ ...clean, extra: 1 })).toBe(false);
    expect(validate({ ...clean, findings: [{ ...faults.findings[0], severity: 'fatal' }] })).toBe(false);
  });
});

describe('renderJunit', () => {
  const parse = (xml: string) =>
    new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(xml);

  it('is well-formed XML whose counts match the report: a failing case per finding, a passing case per clean rule', () => {
    const xml = renderJunit(faults);
    expect(XMLValidator.validate(xml)).toBe(true);
    const root = parse(xml).testsuites;
    const suites = root.testsuite as { name: string; tests: string; failures: string; testcase: { failure?: { message: string } }[] }[];
    expect(suites.map((s) => s.name)).toEqual(faults.rules.map((r) => r.ruleId));
    expect(Number(root.failures)).toBe(faults.findings.length);
    for (const rule of faults.rules) {
      const suite = suites.find((s) => s.name === rule.ruleId)!;
      expect(Number(suite.failures)).toBe(rule.findings);
      expect(suite.testcase.filter((c) => c.failure).length).toBe(rule.findings);
      if (rule.findings === 0) expect(suite.testcase).toHaveLength(1);
    }
    expect(Number(root.tests)).toBe(suites.reduce((n, s) => n + Number(s.tests), 0));
  });

  it('marks a rule that could not run as skipped', () => {
    const root = parse(renderJunit(noBaton)).testsuites;
    expect(Number(root.skipped)).toBe(noBaton.rules.length);
    expect(Number(root.failures)).toBe(0);
  });

  it('escapes hostile text and drops characters XML 1.0 cannot hold', () => {
    const xml = renderJunit(hostile(faults));
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toContain('\u0001');
    const root = parse(xml).testsuites;
    expect(root.errors).toBe('1');
    expect(JSON.stringify(root)).toContain('bad a\\"b<c>&d|e');
  });
});

describe('renderMarkdown', () => {
  it('gives a headline, a findings table and the rules table', () => {
    const md = renderMarkdown(faults);
    expect(md).toMatch(/^## 🔴 Baton audit: 2 errors, 2 warnings/);
    expect(md).toContain('| `stale-epoch-read` | 1 |');
    expect(md.split('\n').filter((l) => l.startsWith('| 🔴') || l.startsWith('| 🟡'))).toHaveLength(faults.findings.length);
  });

  it('keeps every table row one line with the right number of cells, whatever the text', () => {
    const md = renderMarkdown(hostile(faults));
    const findingRows = md.split('\n').filter((l) => l.startsWith('| 🔴') || l.startsWith('| 🟡'));
    expect(findingRows).toHaveLength(1);
    expect(findingRows[0]!.split(/(?<!\\)\|/).length - 2).toBe(5);
  });

  it('flags rules that could not run', () => {
    expect(renderMarkdown(noBaton)).toMatch(/\*\*9 rules could not run on this data\*\*/);
  });
});

describe('renderGraph', () => {
  it('Mermaid: a node per agent and an edge per handoff edge, labelled with count and p95', () => {
    const mermaid = renderGraph(clean, 'mermaid');
    expect(mermaid.startsWith('flowchart LR\n')).toBe(true);
    for (const agent of clean.agents) expect(mermaid).toContain(`["${agent}"]`);
    expect(mermaid.match(/-->\|/g)).toHaveLength(clean.edges.length);
    expect(mermaid).not.toContain('linkStyle');
  });

  it('highlights the deadlock cycle of cycle.json in red, in Mermaid and DOT', () => {
    expect(cycle.cycles.length).toBeGreaterThan(0);
    expect(renderGraph(cycle, 'mermaid')).toMatch(/linkStyle [\d,]+ stroke:#d62728/);
    const dot = renderGraph(cycle, 'dot');
    const red = dot.split('\n').filter((l) => l.includes('color="red"'));
    expect(red).toHaveLength(cycle.cycles[0]!.length - 1);
  });

  it('quotes hostile agent names so DOT and Mermaid stay one statement per line', () => {
    const dot = renderGraph(hostile(faults), 'dot');
    expect(dot).toContain('"a\\"b<c>&d|e\\nf]]>\u0001g"');
    const mermaid = renderGraph(hostile(faults), 'mermaid');
    expect(mermaid).toContain('["a#quot;b<c>&d|e f]]>\u0001g"]');
  });

  it('JSON: nodes, edges with onCycle, dependencies and cycles', () => {
    const graph = JSON.parse(renderGraph(cycle, 'json'));
    expect(graph.nodes.map((n: { id: string }) => n.id)).toEqual(expect.arrayContaining([...cycle.agents]));
    expect(graph.cycles).toEqual(cycle.cycles);
    expect(graph.dependencies.some((d: { onCycle: boolean }) => d.onCycle)).toBe(true);
  });
});
