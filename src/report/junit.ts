/**
 * JUnit XML, so CI systems (GitLab, Jenkins, GitHub test reporters) show audit
 * findings as failed tests: one <testsuite> per rule, with the rule's
 * description, severity and status as <properties>; in it one failing
 * <testcase> per finding, or one passing case when the rule checked data and
 * found nothing, or one <skipped> case when it could not run on the data or was
 * switched off (never a pass, never left out); input files that could not be
 * read are <error> cases of an `input` suite.
 *
 * Test names stay stable between runs (CI tracks tests by classname and name),
 * so changing counts go in <system-out>, not in names.
 * Format: https://github.com/testmoapp/junitxml
 */
import type { AuditReport, RuleSummary } from '../model/audit-report.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../model/finding.js';
import { evidenceTraceIds, formatTime, notCheckedText, OFF_REASON, plural, ruleStatus } from './format.js';

// Characters XML 1.0 cannot carry at all (C0 controls but tab, LF, CR; U+FFFE, U+FFFF; lone surrogates).
// eslint-disable-next-line no-control-regex
const NOT_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Characters XML holds but a CI page must not display as they are: C1 controls and the
 * bidi overrides and isolates, which make a test name read differently from its bytes.
 */
const SHOWN_AS_ESCAPES = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes text for XML 1.0 element content and attribute values. Characters
 * XML 1.0 cannot hold become U+FFFD (so a reader sees something was there);
 * C1 controls and bidi controls are written as visible `\u202e`-style text, as
 * the text report does; CR is a reference, since parsers turn a literal CR into LF.
 */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, '\ufffd')
    .replace(SHOWN_AS_ESCAPES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;');
}

/** Attribute values also keep their tabs and newlines (a parser normalizes literal ones to spaces). */
function escapeAttribute(text: string): string {
  return escapeXml(text).replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function attrs(values: Readonly<Record<string, string | number>>): string {
  let out = '';
  for (const key of Object.keys(values)) out += ` ${key}="${escapeAttribute(String(values[key]))}"`;
  return out;
}

interface Suite {
  readonly xml: string;
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  readonly skipped: number;
}

/** What the rule did not check, one line per reason. */
function notCheckedLines(rule: RuleSummary): string[] {
  return rule.notEvaluated.map((n) => `not checked: ${notCheckedText([n])}`);
}

/** The rule's identity and what it did, as JUnit <properties> (CI readers show them with the suite). */
function properties(rule: RuleSummary): string {
  const values: [string, string][] = [
    ['description', rule.description],
    ['severity', rule.severity],
    ['status', ruleStatus(rule)],
  ];
  return `    <properties>\n${values.map(([name, value]) => `      <property${attrs({ name, value })}/>\n`).join('')}    </properties>\n`;
}

function traceLine(traces: readonly string[]): string {
  return traces.length > 1 ? `traces: ${traces.join(', ')}` : `trace: ${traces[0] ?? '(none)'}`;
}

function failureCase(finding: Finding, name: string): string {
  const details = [
    finding.message,
    `severity: ${finding.severity}`,
    finding.agents.length > 0 ? `agents: ${finding.agents.join(', ')}` : '',
    finding.taskId !== undefined ? `task: ${finding.taskId}` : '',
    traceLine(evidenceTraceIds(finding.evidence)),
    finding.evidence.spanIds.length > 0 ? `spans: ${finding.evidence.spanIds.join(', ')}` : '',
    `at: ${formatTime(finding.evidence.startMs)}`,
    `fix: ${finding.hint}`,
  ].filter((line) => line !== '');
  return (
    `    <testcase${attrs({ classname: finding.ruleId, name, time: 0 })}>\n` +
    `      <failure${attrs({ message: finding.message, type: finding.severity })}>${escapeXml(details.join('\n'))}</failure>\n` +
    `    </testcase>\n`
  );
}

function ruleSuite(rule: RuleSummary, findings: readonly Finding[]): Suite {
  let cases = '';
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  // Two findings with the same message are two tests: number the repeats so each name is unique.
  const seen = new Map<string, number>();
  for (const finding of findings) {
    const base = finding.message || finding.agents.join(', ') || finding.ruleId;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    cases += failureCase(finding, n === 1 ? base : `${base} (${n})`);
    tests++;
    failures++;
  }
  const notListed = rule.findings - findings.length;
  if (notListed > 0) {
    cases +=
      `    <testcase${attrs({ classname: rule.ruleId, name: 'findings past the report limit', time: 0 })}>\n` +
      `      <failure${attrs({ message: `${plural(notListed, 'more finding')} past the report's limit, not listed`, type: 'truncated' })}/>\n` +
      `    </testcase>\n`;
    tests++;
    failures++;
  }
  const notes = notCheckedLines(rule);
  const status = ruleStatus(rule);
  if (status === 'off') {
    cases +=
      `    <testcase${attrs({ classname: rule.ruleId, name: 'off', time: 0 })}>\n` +
      `      <skipped${attrs({ message: `off: ${OFF_REASON}` })}/>\n` +
      `    </testcase>\n`;
    tests++;
    skipped++;
  } else if (status === 'could-not-run') {
    const reason = notCheckedText(rule.notEvaluated) || 'nothing to check';
    cases +=
      `    <testcase${attrs({ classname: rule.ruleId, name: 'could not run', time: 0 })}>\n` +
      `      <skipped${attrs({ message: `could not run: ${reason}` })}/>\n` +
      `    </testcase>\n`;
    tests++;
    skipped++;
  } else if (rule.findings === 0) {
    cases += `    <testcase${attrs({ classname: rule.ruleId, name: 'no findings', time: 0 })}/>\n`;
    tests++;
  }
  const out = status === 'off' ? [`off: ${OFF_REASON}`] : [`checked: ${rule.checked}`, `findings: ${rule.findings}`, ...notes];
  const xml =
    `  <testsuite${attrs({ name: rule.ruleId, tests, failures, errors: 0, skipped, time: 0 })}>\n` +
    properties(rule) +
    cases +
    `    <system-out>${escapeXml(out.join('\n'))}</system-out>\n` +
    `  </testsuite>\n`;
  return { xml, tests, failures, errors: 0, skipped };
}

function inputSuite(report: AuditReport): Suite {
  const problems = report.inputs.problems;
  let cases = '';
  const seen = new Map<string, number>();
  for (const p of problems) {
    const n = (seen.get(p.location) ?? 0) + 1;
    seen.set(p.location, n);
    cases +=
      `    <testcase${attrs({ classname: 'input', name: n === 1 ? p.location : `${p.location} (${n})`, time: 0 })}>\n` +
      `      <error${attrs({ message: p.message, type: 'unreadable input' })}>${escapeXml(`${p.location}: ${p.message}`)}</error>\n` +
      `    </testcase>\n`;
  }
  const xml = `  <testsuite${attrs({ name: 'input', tests: problems.length, failures: 0, errors: problems.length, skipped: 0, time: 0 })}>\n${cases}  </testsuite>\n`;
  return { xml, tests: problems.length, failures: 0, errors: problems.length, skipped: 0 };
}

/** The report as JUnit XML: counts on every suite and on the root add up, as CI readers check. */
export function renderJunit(report: AuditReport): string {
  const byRule = new Map<string, Finding[]>();
  for (const finding of report.findings) {
    let list = byRule.get(finding.ruleId);
    if (!list) byRule.set(finding.ruleId, (list = []));
    list.push(finding);
  }
  const suites: Suite[] = report.rules.map((rule) => ruleSuite(rule, byRule.get(rule.ruleId) ?? []));
  // A finding of a rule the report does not summarize (a hand-built report) still fails a test.
  const summarized = new Set(report.rules.map((r) => r.ruleId));
  for (const [ruleId, findings] of byRule) {
    if (summarized.has(ruleId)) continue;
    let severity: Severity = 'info';
    for (const f of findings) if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[severity]) severity = f.severity;
    const rule: RuleSummary = {
      ruleId,
      description: '',
      severity,
      status: 'ran',
      findings: findings.length,
      checked: findings.length,
      notEvaluated: [],
      couldNotRun: false,
    };
    suites.push(ruleSuite(rule, findings));
  }
  if (report.inputs.problems.length > 0) suites.push(inputSuite(report));
  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const s of suites) {
    total.tests += s.tests;
    total.failures += s.failures;
    total.errors += s.errors;
    total.skipped += s.skipped;
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites${attrs({ name: 'baton audit', ...total, time: 0 })}>\n` +
    suites.map((s) => s.xml).join('') +
    `</testsuites>\n`
  );
}
