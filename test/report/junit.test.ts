/**
 * JUnit XML as CI reads it: well-formed (fast-xml-parser's validator), a suite
 * per rule with its description, severity and status as properties, a failing
 * case per finding, a passing case for a rule that checked data and found
 * nothing, a skipped case for a rule that could not run or is off, input
 * problems as errors; every count attribute equal to the cases it counts and to
 * the report's numbers; hostile text escaped or replaced, never breaking the XML.
 * Hand-built reports (./reports.ts) except where a test says it audits a fixture.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/model/audit-report.js';
import { escapeXml } from '../../src/report/junit.js';
import { renderJunit } from '../../src/report/index.js';
import { FIXTURE_NAMES } from './load-fixture.js';
import { RULE_IDS } from '../../src/analyze/detectors/index.js';
import {
  cleanReport,
  fixtureReport,
  HOSTILE,
  hostileReport,
  RULES,
  sampleReport,
  TRACE_1,
  TRACE_2,
  uninstrumentedReport,
  withProblem,
} from './reports.js';

interface Failure {
  '#text'?: string;
  message: string;
  type: string;
}
interface TestCase {
  classname: string;
  name: string;
  time: string;
  failure?: Failure | '';
  skipped?: { message: string } | '';
  error?: { '#text'?: string; message: string; type: string };
}
interface Property {
  name: string;
  value: string;
}
interface TestSuite {
  name: string;
  properties?: { property: Property[] };
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  testcase: TestCase[];
  'system-out'?: string;
}
interface TestSuites {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  testsuite: TestSuite[];
}

/** Parses like a CI reader: attributes kept (no prefix), suites and cases always arrays, entities decoded. */
function parse(xml: string): TestSuites {
  expect(XMLValidator.validate(xml)).toBe(true);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
    htmlEntities: true,
    isArray: (name) => name === 'testsuite' || name === 'testcase' || name === 'property',
  });
  return (parser.parse(xml) as { testsuites: TestSuites }).testsuites;
}

const isFailing = (c: TestCase) => c.failure !== undefined;
const isSkipped = (c: TestCase) => c.skipped !== undefined;
const isError = (c: TestCase) => c.error !== undefined;

/** Every count attribute agrees with the cases under it, and the root with the sum of its suites. */
function expectConsistentCounts(root: TestSuites): void {
  const sum = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const suite of root.testsuite) {
    const cases = suite.testcase ?? [];
    expect(Number(suite.tests), suite.name).toBe(cases.length);
    expect(Number(suite.failures), suite.name).toBe(cases.filter(isFailing).length);
    expect(Number(suite.errors), suite.name).toBe(cases.filter(isError).length);
    expect(Number(suite.skipped), suite.name).toBe(cases.filter(isSkipped).length);
    sum.tests += cases.length;
    sum.failures += cases.filter(isFailing).length;
    sum.errors += cases.filter(isError).length;
    sum.skipped += cases.filter(isSkipped).length;
  }
  expect({
    tests: Number(root.tests),
    failures: Number(root.failures),
    errors: Number(root.errors),
    skipped: Number(root.skipped),
  }).toEqual(sum);
}

/** A suite's properties as a plain object. */
function propertiesOf(suite: TestSuite): Record<string, string> {
  return Object.fromEntries((suite.properties?.property ?? []).map((p) => [p.name, p.value]));
}

const ONE_PLURAL = /\b1 (findings|rules|spans|traces|handoffs|receives|chains|writes|tasks|errors|warnings|inputs|state reads)\b/;

describe('renderJunit', () => {
  it.each(FIXTURE_NAMES)(
    'audit of fixtures/%s.json: well-formed, one suite per rule in report order, counts that add up and match the report',
    async (name) => {
      const report = await fixtureReport(name);
      const root = parse(renderJunit(report));
      expect(root.testsuite.map((s) => s.name)).toEqual(report.rules.map((r) => r.ruleId));
      expectConsistentCounts(root);
      expect(Number(root.failures)).toBe(report.findings.length);
      expect(Number(root.skipped)).toBe(report.rules.filter((r) => r.status !== 'ran').length);
      expect(Number(root.errors)).toBe(0);
    },
  );

  it('is well-formed with one suite per rule in report order, every count adding up and matching the report', () => {
    for (const report of [sampleReport(), cleanReport(), uninstrumentedReport()]) {
      const root = parse(renderJunit(report));
      expect(root.testsuite.map((s) => s.name)).toEqual(report.rules.map((r) => r.ruleId));
      expectConsistentCounts(root);
      expect(Number(root.failures)).toBe(report.findings.length);
      expect(Number(root.skipped)).toBe(report.rules.filter((r) => r.status !== 'ran').length);
      expect(Number(root.errors)).toBe(0);
      for (const rule of report.rules)
        expect(Number(root.testsuite.find((s) => s.name === rule.ruleId)!.failures), rule.ruleId).toBe(rule.findings);
    }
  });

  it('gives every suite its rule’s description, severity and status as properties', () => {
    const root = parse(renderJunit(sampleReport()));
    const status = Object.fromEntries(sampleReport().rules.map((r) => [r.ruleId, r.status]));
    expect(root.testsuite.map(propertiesOf)).toEqual(
      RULES.map((r) => ({ description: r.description, severity: r.severity, status: status[r.ruleId] })),
    );
  });

  it('gives each finding a failing case: classname the rule id, name the message, the evidence and fix in the text', () => {
    const report = sampleReport();
    const cases = parse(renderJunit(report))
      .testsuite.flatMap((s) => s.testcase)
      .filter(isFailing);
    expect(cases).toHaveLength(report.findings.length);
    for (const f of report.findings) {
      const match = cases.find((c) => c.classname === f.ruleId && c.name === f.message);
      expect(match, f.message).toBeDefined();
      const failure = match!.failure as Failure;
      expect(failure.message).toBe(f.message);
      expect(failure.type).toBe(f.severity);
      const text = failure['#text']!;
      expect(text).toContain(`spans: ${f.evidence.spanIds.join(', ')}`);
      expect(text).toContain(`agents: ${f.agents.join(', ')}`);
      expect(text).toContain(`fix: ${f.hint}`);
    }
    const text = (i: number) => (cases.find((c) => c.name === report.findings[i]!.message)!.failure as Failure)['#text']!;
    expect(text(2)).toContain(`traces: ${TRACE_1}, ${TRACE_2}`);
    expect(text(0)).toContain(`trace: ${TRACE_1}\n`);
  });

  it('gives a rule that checked data and found nothing one passing case', () => {
    const root = parse(renderJunit(cleanReport()));
    expect(Number(root.failures) + Number(root.skipped)).toBe(0);
    for (const suite of root.testsuite) {
      expect(suite.testcase).toHaveLength(1);
      expect(suite.testcase[0]).toMatchObject({ classname: suite.name, name: 'no findings' });
      expect(suite['system-out']).toMatch(/^checked: \d+\nfindings: 0$/);
    }
  });

  it('marks a rule that could not run as skipped, with its reason, never as passing', () => {
    const root = parse(renderJunit(sampleReport()));
    const suite = (id: string) => root.testsuite.find((s) => s.name === id)!;
    for (const [id, reason] of [
      ['schema-drift', 'could not run: 1 receive without both sender and receiver schema versions'],
      ['context-blowup', 'could not run: 3 chains with handoffs lacking baton.context.token_count and baton.context.size_bytes'],
    ] as const) {
      expect(suite(id).testcase).toHaveLength(1);
      expect(suite(id).testcase[0]!.name).toBe('could not run');
      expect((suite(id).testcase[0]!.skipped as { message: string }).message).toBe(reason);
    }
    expect(suite('ack-timeout')['system-out']).toBe(
      'checked: 4\nfindings: 1\nnot checked: 1 handoff without baton.timeout_budget_ms\nnot checked: 2 handoffs not acknowledged yet, still within budget when the data ends',
    );
    const none = parse(renderJunit(uninstrumentedReport()));
    expect(Number(none.skipped)).toBe(RULE_IDS.length);
    expect(Number(none.tests)).toBe(RULE_IDS.length);
    expect(none.testsuite.every((s) => (s.testcase[0]!.skipped as { message: string }).message === 'could not run: nothing to check')).toBe(
      true,
    );
  });

  it('marks a rule switched off as a skipped case saying so, never leaving it out', () => {
    const root = parse(renderJunit(sampleReport()));
    const off = root.testsuite.find((s) => s.name === 'unlinked-handoff')!;
    expect(off).toMatchObject({ tests: '1', failures: '0', skipped: '1' });
    expect(off.testcase).toHaveLength(1);
    expect(off.testcase[0]).toMatchObject({ classname: 'unlinked-handoff', name: 'off' });
    expect((off.testcase[0]!.skipped as { message: string }).message).toBe('off: switched off by configuration or --rule');
    expect(propertiesOf(off).status).toBe('off');
    expect(off['system-out']).toBe('off: switched off by configuration or --rule');
    expect(Number(root.skipped)).toBe(3);
  });

  it('puts a count of one before a singular noun everywhere', () => {
    for (const report of [sampleReport(), uninstrumentedReport(), withProblem(cleanReport())])
      expect(renderJunit(report)).not.toMatch(ONE_PLURAL);
  });

  it('fails one more case, saying how many, for a rule whose findings the report left out past its limit', () => {
    const report = sampleReport();
    // Both dependency-cycle findings and the stale read left out.
    const truncated = { ...report, findings: report.findings.slice(3), findingsTruncated: 3 };
    const root = parse(renderJunit(truncated));
    expectConsistentCounts(root);
    const cycle = root.testsuite.find((s) => s.name === 'dependency-cycle')!;
    expect(Number(cycle.failures)).toBe(1);
    expect(cycle.testcase.map((c) => [c.name, (c.failure as Failure).message])).toEqual([
      ['findings past the report limit', "2 more findings past the report's limit, not listed"],
    ]);
    const stale = root.testsuite.find((s) => s.name === 'stale-epoch-read')!;
    expect((stale.testcase[0]!.failure as Failure).message).toBe("1 more finding past the report's limit, not listed");
    expect(root.testsuite.find((s) => s.name === 'ack-timeout')!.testcase.some((c) => c.name === 'findings past the report limit')).toBe(
      false,
    );
  });

  it('reports unreadable inputs as errors of an input suite', () => {
    const root = parse(renderJunit(withProblem(sampleReport())));
    expectConsistentCounts(root);
    expect(root.errors).toBe('1');
    const input = root.testsuite.at(-1)!;
    expect(input.name).toBe('input');
    expect(input.testcase[0]).toMatchObject({ classname: 'input', name: 'missing.json', error: { message: 'no such file or directory' } });
  });

  it('escapes hostile text, replaces what XML 1.0 cannot hold and shows bidi controls as escapes, parsing back to the rest as written', () => {
    const report = hostileReport();
    const xml = renderJunit(report);
    // eslint-disable-next-line no-control-regex
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/);
    expect(xml).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(xml).not.toContain(']]>');
    // A bidi override would make a CI page show a test name other than its bytes.
    expect(xml).not.toMatch(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    const root = parse(xml);
    expectConsistentCounts(root);
    expect({ tests: root.tests, failures: root.failures, errors: root.errors, skipped: root.skipped }).toEqual({
      tests: '5',
      failures: '2',
      errors: '1',
      skipped: '1',
    });
    // What XML can carry comes back exactly; what it cannot is U+FFFD; a bidi control is its escape.
    const readable = HOSTILE.replace(/[\u0001\u001b\ud800\ufffe]/g, '\ufffd').replace('\u202e', '\\u202e');
    const cycle = root.testsuite.find((s) => s.name === 'dependency-cycle')!;
    const first = report.findings[0]!.message.replace(HOSTILE, readable).replace(HOSTILE, readable);
    expect(cycle.testcase.map((c) => c.name)).toEqual([first, `${first} (2)`]);
    expect((cycle.testcase[0]!.failure as Failure).message).toBe(first);
    expect((cycle.testcase[0]!.failure as Failure)['#text']).toContain(`agents: ${readable}, writer "two" <b>`);
    expect(root.testsuite.find((s) => s.name === 'input')!.testcase[0]!.name).toBe(`runs/${readable}.jsonl:3:7`);
    const ack = root.testsuite.find((s) => s.name === 'ack-timeout')!;
    expect((ack.testcase[0]!.skipped as { message: string }).message).toBe(`could not run: 5 handoffs without a budget ${readable}`);
  });
});

describe('escapeXml', () => {
  it.each([
    ['<a href="x">&\'</a>', '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;'],
    ['end ]]> of CDATA', 'end ]]&gt; of CDATA'],
    ['bell\u0007 esc\u001b nul\u0000', 'bell\ufffd esc\ufffd nul\ufffd'],
    ['tab\tline\nreturn\r', 'tab\tline\nreturn&#13;'],
    ['lone \ud800 high, pair \ud83d\ude00 kept', 'lone \ufffd high, pair \ud83d\ude00 kept'],
    ['\ufffe\uffff', '\ufffd\ufffd'],
  ])('%j → %j', (input, expected) => {
    expect(escapeXml(input)).toBe(expected);
  });
});
