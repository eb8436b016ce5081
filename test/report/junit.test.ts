/**
 * JUnit XML as CI reads it: well-formed (fast-xml-parser's validator), a suite
 * per rule, a failing case per finding, a passing case for a rule that checked
 * data and found nothing, a skipped case for a rule that could not run, input
 * problems as errors; every count attribute equal to the cases it counts and
 * to the report's numbers; hostile text escaped or replaced, never breaking the XML.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/model/audit-report.js';
import { escapeXml, renderJunit } from '../../src/report/index.js';
import { FIXTURE_NAMES } from './load-fixture.js';
import {
  allFixturesReport,
  fixtureReport,
  HOSTILE,
  hostileReport,
  partlyInstrumentedReport,
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
interface TestSuite {
  name: string;
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
    isArray: (name) => name === 'testsuite' || name === 'testcase',
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

let all: AuditReport;
beforeAll(async () => {
  all = await allFixturesReport();
});

describe('renderJunit', () => {
  it.each(FIXTURE_NAMES)('%s: well-formed, one suite per rule in report order, counts that add up and match the report', async (name) => {
    const report = await fixtureReport(name);
    const root = parse(renderJunit(report));
    expect(root.testsuite.map((s) => s.name)).toEqual(report.rules.map((r) => r.ruleId));
    expectConsistentCounts(root);
    expect(Number(root.failures)).toBe(report.findings.length);
    expect(Number(root.skipped)).toBe(report.rules.filter((r) => r.couldNotRun).length);
    expect(Number(root.errors)).toBe(0);
    for (const rule of report.rules) {
      const suite = root.testsuite.find((s) => s.name === rule.ruleId)!;
      expect(Number(suite.failures), rule.ruleId).toBe(rule.findings);
    }
  });

  it('gives each finding a failing case: classname the rule id, name the message, the evidence and fix in the text', async () => {
    for (const report of [all, await fixtureReport('cycle'), await fixtureReport('ack-timeout'), await fixtureReport('schema-drift')]) {
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
        expect(text).toContain(`trace: ${f.evidence.traceId}`);
        expect(text).toContain(`spans: ${f.evidence.spanIds.join(', ')}`);
        expect(text).toContain(`agents: ${f.agents.join(', ')}`);
        expect(text).toContain(`fix: ${f.hint}`);
      }
    }
  });

  it('gives a rule that checked data and found nothing one passing case', async () => {
    const clean = await fixtureReport('clean');
    const root = parse(renderJunit(clean));
    expect(Number(root.failures) + Number(root.skipped)).toBe(0);
    for (const suite of root.testsuite) {
      expect(suite.testcase).toHaveLength(1);
      expect(suite.testcase[0]).toMatchObject({ classname: suite.name, name: 'no findings' });
      expect(suite['system-out']).toMatch(/^checked: \d+\nfindings: 0$/);
    }
  });

  it('marks a rule that could not run as skipped, with its reason, never as passing', async () => {
    const partly = await partlyInstrumentedReport();
    const root = parse(renderJunit(partly));
    expectConsistentCounts(root);
    for (const rule of partly.rules) {
      const suite = root.testsuite.find((s) => s.name === rule.ruleId)!;
      if (!rule.couldNotRun) {
        expect(Number(suite.skipped)).toBe(0);
        continue;
      }
      expect(suite.testcase).toHaveLength(1);
      const only = suite.testcase[0]!;
      expect(only.name).toBe('could not run');
      const skipped = only.skipped as { message: string };
      expect(skipped.message).toMatch(/^could not run: /);
      for (const n of rule.notEvaluated) expect(skipped.message).toContain(`${n.count} ${n.reason}`);
    }
    const none = parse(renderJunit(await uninstrumentedReport()));
    expect(Number(none.skipped)).toBe(9);
    expect(Number(none.tests)).toBe(9);
    expect(none.testsuite.every((s) => (s.testcase[0]!.skipped as { message: string }).message === 'could not run: nothing to check')).toBe(
      true,
    );
  });

  it('fails one more case, saying how many, for a rule whose findings the report left out past its limit', async () => {
    const truncated = await allFixturesReport({ maxFindings: 3 });
    expect(truncated.findingsTruncated).toBeGreaterThan(0);
    const root = parse(renderJunit(truncated));
    expectConsistentCounts(root);
    let notListedTotal = 0;
    for (const rule of truncated.rules) {
      const suite = root.testsuite.find((s) => s.name === rule.ruleId)!;
      const listed = truncated.findings.filter((f) => f.ruleId === rule.ruleId).length;
      const notListed = rule.findings - listed;
      notListedTotal += notListed;
      expect(Number(suite.failures), rule.ruleId).toBe(listed + (notListed > 0 ? 1 : 0));
      const extra = suite.testcase.find((c) => c.name === 'findings past the report limit');
      if (notListed === 0) expect(extra).toBeUndefined();
      else
        expect((extra!.failure as Failure).message).toBe(
          `${notListed} more finding${notListed === 1 ? '' : 's'} past the report's limit, not listed`,
        );
    }
    expect(notListedTotal).toBe(truncated.findingsTruncated);
  });

  it('reports unreadable inputs as errors of an input suite', async () => {
    const root = parse(renderJunit(withProblem(await fixtureReport('stale-read'))));
    expectConsistentCounts(root);
    expect(root.errors).toBe('1');
    const input = root.testsuite.at(-1)!;
    expect(input.name).toBe('input');
    expect(input.testcase[0]).toMatchObject({ classname: 'input', name: 'missing.json', error: { message: 'no such file or directory' } });
  });

  it('escapes hostile text and replaces what XML 1.0 cannot hold, so it parses back to what was written', () => {
    const report = hostileReport();
    const xml = renderJunit(report);
    // eslint-disable-next-line no-control-regex
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/);
    expect(xml).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(xml).not.toContain(']]>');
    const root = parse(xml);
    expectConsistentCounts(root);
    expect({ tests: root.tests, failures: root.failures, errors: root.errors, skipped: root.skipped }).toEqual({
      tests: '5',
      failures: '2',
      errors: '1',
      skipped: '1',
    });
    // What XML can carry comes back exactly; what it cannot is U+FFFD.
    const readable = HOSTILE.replace(/[\u0001\u001b\ud800\ufffe]/g, '\ufffd');
    const cycle = root.testsuite.find((s) => s.name === 'dependency-cycle')!;
    const first = report.findings[0]!.message.replace(HOSTILE, readable).replace(HOSTILE, readable);
    expect(cycle.testcase.map((c) => c.name)).toEqual([first, `${first} (2)`]);
    expect((cycle.testcase[0]!.failure as Failure).message).toBe(first);
    expect((cycle.testcase[0]!.failure as Failure)['#text']).toContain(`agents: ${readable}, writer "two" <b>`);
    expect(root.testsuite.find((s) => s.name === 'input')!.testcase[0]!.name).toBe(`runs/${readable}.jsonl:3:7`);
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
