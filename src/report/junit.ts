/**
 * JUnit XML, so CI systems (GitLab, Jenkins, GitHub test reporters) show audit
 * findings as failed test cases: one suite per rule, one failing case per
 * finding, one passing case for a rule that checked data and found nothing, and
 * one skipped case for a rule that could not run on the data.
 * Format: https://github.com/testmoapp/junitxml
 */
import type { AuditReport, RuleSummary } from '../model/audit-report.js';
import type { Finding } from '../model/finding.js';
import { formatTime } from './format.js';

/** Escapes text for XML 1.0 content and attributes, dropping characters XML 1.0 cannot carry. */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

function failureCase(finding: Finding, index: number): string {
  const details = [
    finding.message,
    finding.agents.length ? `agents: ${finding.agents.join(', ')}` : '',
    finding.taskId ? `task: ${finding.taskId}` : '',
    `trace: ${finding.evidence.traceId}`,
    `spans: ${finding.evidence.spanIds.join(', ')}`,
    `at: ${formatTime(finding.evidence.startMs)}`,
    `fix: ${finding.hint}`,
  ].filter(Boolean);
  const name = `${finding.severity}: ${finding.agents.join(' → ') || finding.ruleId} #${index + 1}`;
  return (
    `    <testcase${attrs({ classname: `baton.${finding.ruleId}`, name })}>\n` +
    `      <failure${attrs({ message: finding.message, type: finding.severity })}>${escapeXml(details.join('\n'))}</failure>\n` +
    `    </testcase>\n`
  );
}

function suite(rule: RuleSummary, findings: readonly Finding[]): { xml: string; tests: number; failures: number; skipped: number } {
  let cases = findings.map(failureCase).join('');
  let tests = findings.length;
  let skipped = 0;
  const truncated = rule.findings - findings.length;
  if (truncated > 0) {
    tests++;
    cases +=
      `    <testcase${attrs({ classname: `baton.${rule.ruleId}`, name: `${truncated} more findings` })}>\n` +
      `      <failure${attrs({ message: `${truncated} more findings past the report limit`, type: 'truncated' })}/>\n` +
      `    </testcase>\n`;
  }
  const notes = rule.notEvaluated.map((n) => `${n.count} ${n.reason}`).join('; ');
  if (rule.couldNotRun) {
    tests++;
    skipped++;
    cases +=
      `    <testcase${attrs({ classname: `baton.${rule.ruleId}`, name: 'could not run on this data' })}>\n` +
      `      <skipped${attrs({ message: notes || 'the data holds nothing this rule checks' })}/>\n` +
      `    </testcase>\n`;
  } else if (rule.findings === 0) {
    tests++;
    cases += `    <testcase${attrs({ classname: `baton.${rule.ruleId}`, name: `${rule.checked} checked, no findings${notes ? ` (not checked: ${notes})` : ''}` })}/>\n`;
  }
  const failures = findings.length + (truncated > 0 ? 1 : 0);
  const xml =
    `  <testsuite${attrs({ name: rule.ruleId, tests, failures, errors: 0, skipped })}>\n` +
    cases +
    `  </testsuite>\n`;
  return { xml, tests, failures, skipped };
}

/** The report as JUnit XML. */
export function renderJunit(report: AuditReport): string {
  const byRule = new Map<string, Finding[]>();
  for (const finding of report.findings) {
    let list = byRule.get(finding.ruleId);
    if (!list) byRule.set(finding.ruleId, (list = []));
    list.push(finding);
  }
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  const suites: string[] = [];
  for (const rule of report.rules) {
    const s = suite(rule, byRule.get(rule.ruleId) ?? []);
    tests += s.tests;
    failures += s.failures;
    skipped += s.skipped;
    suites.push(s.xml);
  }
  if (report.inputs.problems.length > 0) {
    const cases = report.inputs.problems
      .map(
        (p) =>
          `    <testcase${attrs({ classname: 'baton.input', name: p.location })}>\n` +
          `      <error${attrs({ message: p.message, type: 'input' })}/>\n` +
          `    </testcase>\n`,
      )
      .join('');
    tests += report.inputs.problems.length;
    suites.push(`  <testsuite${attrs({ name: 'input', tests: report.inputs.problems.length, failures: 0, errors: report.inputs.problems.length, skipped: 0 })}>\n${cases}  </testsuite>\n`);
  }
  const errors = report.inputs.problems.length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: 'baton audit', tests, failures, errors, skipped })}>\n${suites.join('')}</testsuites>\n`;
}
