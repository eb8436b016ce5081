/**
 * The JSON report and its published schema (docs/audit-report.schema.json,
 * report version 2): reports validate under Ajv's draft 2020-12 in strict mode,
 * the schema names exactly the fields a report has, says what changed from
 * version 1, and rejects anything else. Hand-built reports (./reports.ts)
 * except where a test says it audits the fixtures.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { RULE_IDS } from '../../src/analyze/detectors/index.js';
import { AUDIT_REPORT_VERSION, type AuditReport } from '../../src/model/audit-report.js';
import { renderJson } from '../../src/report/index.js';
import { FIXTURE_NAMES } from './load-fixture.js';
import {
  allFixturesReport,
  cleanReport,
  emptyReport,
  fixtureReport,
  HOSTILE,
  hostileReport,
  sampleReport,
  uninstrumentedReport,
  withProblem,
  withWholeMs,
} from './reports.js';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object (as in src/schemas/validators.ts).
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;

const SCHEMA_PATH = fileURLToPath(new URL('../../docs/audit-report.schema.json', import.meta.url));

type JsonSchema = { [key: string]: unknown };
let schema: JsonSchema;
let validate: ValidateFunction;
let all: AuditReport;

beforeAll(async () => {
  schema = JSON.parse(await readFile(SCHEMA_PATH, 'utf8')) as JsonSchema;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  validate = ajv.compile(schema);
  all = sampleReport();
});

/** Every hand-built report, by name. */
function everyReport(): [string, AuditReport][] {
  return [
    ['sample', sampleReport()],
    ['sample, millisecond times', withWholeMs(sampleReport())],
    ['clean', cleanReport()],
    ['uninstrumented', uninstrumentedReport()],
    ['empty', emptyReport()],
    ['with an input problem', withProblem(cleanReport())],
    ['hostile', hostileReport()],
  ];
}

/** Every real audit of the fixtures, by name. */
async function everyAudit(): Promise<[string, AuditReport][]> {
  const reports: [string, AuditReport][] = [];
  for (const name of FIXTURE_NAMES) reports.push([name, await fixtureReport(name)]);
  reports.push(
    ['all fixtures', await allFixturesReport()],
    ['all fixtures, truncated', await allFixturesReport({ maxFindings: 2, slowestTasks: 1 })],
  );
  return reports;
}

/** The schema node at a JSON pointer into the schema. */
function at(pointer: string): JsonSchema {
  let node: unknown = schema;
  for (const part of pointer.split('/').slice(1)) node = (node as JsonSchema)[part];
  return node as JsonSchema;
}

/** The object branch of a `oneOf: [null, object]` definition, or the node itself. */
function objectOf(node: JsonSchema): JsonSchema {
  const branches = node.oneOf as JsonSchema[] | undefined;
  return branches?.find((b) => b.type === 'object') ?? node;
}

describe('renderJson', () => {
  it('prints reports that validate against docs/audit-report.schema.json', () => {
    for (const [name, report] of everyReport()) {
      const value: unknown = JSON.parse(renderJson(report));
      expect(validate(value), `${name}: ${JSON.stringify(validate.errors, null, 2)}`).toBe(true);
    }
  });

  it('audits of the fixtures validate against docs/audit-report.schema.json', async () => {
    for (const [name, report] of await everyAudit()) {
      expect(validate(JSON.parse(renderJson(report))), `${name}: ${JSON.stringify(validate.errors, null, 2)}`).toBe(true);
    }
  });

  it('prints the report itself: parsing it back gives the same report, off rules, skew, transfers and every trace included', () => {
    for (const [name, report] of everyReport()) expect(JSON.parse(renderJson(report)), name).toEqual(report);
    const parsed = JSON.parse(renderJson(all)) as AuditReport;
    expect(parsed.rules.find((r) => r.ruleId === 'unlinked-handoff')).toMatchObject({ status: 'off', couldNotRun: false });
    expect(parsed.rules.map((r) => r.ruleId)).toEqual(RULE_IDS);
    expect(parsed.edges[0]).toMatchObject({ transfers: 2, skewedSamples: 3, latencyMs: { min: -12, p50: -12, relativeError: 0.01 } });
    expect(parsed.findings[2]!.evidence.traceIds).toHaveLength(2);
  });

  it('writes C1 controls, bidi overrides and line separators from trace text as \\u escapes, parsing back to the same text', () => {
    const name = 'a\u0085b\u009bc\u202ed\u2066e\u2028f';
    const report = JSON.parse(JSON.stringify(hostileReport()), (_key, value: unknown) =>
      typeof value === 'string' ? value.split(HOSTILE).join(name) : value,
    ) as AuditReport;
    const text = renderJson(report);
    expect(text).not.toMatch(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain('a\\u0085b\\u009bc\\u202ed\\u2066e\\u2028f');
    expect(JSON.parse(text)).toEqual(report);
  });

  it('is indented, ends in a newline, and prints the same text for the same report', () => {
    const text = renderJson(all);
    expect(text).toBe(`${JSON.stringify(all, null, 2)}\n`);
    expect(renderJson(sampleReport())).toBe(text);
    expect(text.startsWith('{\n  "reportVersion": "2",')).toBe(true);
  });
});

describe('docs/audit-report.schema.json', () => {
  it('is a draft 2020-12 schema of report version 2 with an $id and a title', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^https:\/\/.+audit-report\.v2\.json$/);
    expect(schema.title).toBe('AuditReport');
    expect(at('/properties/reportVersion').const).toBe(AUDIT_REPORT_VERSION);
  });

  it('says in its description what changed from version 1', () => {
    const description = schema.description as string;
    expect(description).toContain('reportVersion 2');
    for (const change of [
      'batonSpans',
      'dialects',
      'horizon',
      'nowMs',
      'wholeMsSpans',
      'splitTraces',
      'status',
      'off',
      'min',
      'relativeError',
      'transfers',
      'skewedSamples',
      'traceIds',
      'cycles',
    ]) {
      expect(description, change).toMatch(new RegExp(`\`(inputs\\.)?${change}\``));
    }
  });

  it('names exactly the fields real reports have, all required, every object closed', () => {
    const finding = all.findings.find((f) => f.taskId !== undefined)!;
    const task = all.tasks.slowest[0]!;
    const cases: [string, object, string[]][] = [
      ['', { ...all, explain: [], explainTruncated: 0 }, ['explain', 'explainTruncated']],
      ['/properties/inputs', all.inputs, []],
      ['/properties/inputs/properties/dialects/items', all.inputs.dialects[0]!, []],
      ['/properties/inputs/properties/horizon', all.inputs.horizon!, []],
      ['/properties/inputs/properties/problems/items', { location: '', message: '' }, []],
      ['/properties/rules/items', all.rules[0]!, []],
      ['/properties/rules/items/properties/notEvaluated/items', { count: 1, reason: '' }, []],
      ['/properties/edges/items', all.edges[0]!, []],
      ['/properties/dependencies/items', { source: '', target: '' }, []],
      ['/properties/tasks', all.tasks, []],
      ['/properties/tasks/properties/slowest/items', task, []],
      ['/properties/tasks/properties/slowest/items/properties/criticalPath/items', task.criticalPath[0]!, []],
      ['/properties/severityCounts', all.severityCounts, []],
      ['/$defs/latency', all.edges[0]!.latencyMs!, []],
      ['/$defs/shareSummary', all.tasks.coordinationShare!, []],
      ['/$defs/finding', { ...finding, path: ['a', 'b', 'a'] }, ['taskId', 'path']],
      ['/$defs/finding/properties/evidence', finding.evidence, []],
    ];
    for (const [pointer, sample, optional] of cases) {
      const node = objectOf(at(pointer));
      const keys = Object.keys(sample).sort();
      expect(Object.keys(node.properties as object).sort(), pointer).toEqual(keys);
      expect([...(node.required as string[])].sort(), pointer).toEqual(keys.filter((k) => !optional.includes(k)));
      expect(node.additionalProperties, pointer).toBe(false);
    }
  });

  it('lists exactly the rule ids the detectors have', () => {
    expect(at('/$defs/ruleId').enum).toEqual(RULE_IDS);
  });

  it.each<[string, (r: AuditReport) => unknown]>([
    ['an unknown top-level field', (r) => ({ ...r, extra: 1 })],
    ['a missing required field', ({ cycles: _cycles, ...rest }) => rest],
    ['report version 1', (r) => ({ ...r, reportVersion: '1' })],
    ['version 1’s batonSpans', (r) => ({ ...r, inputs: { ...r.inputs, batonSpans: 12 } })],
    ['a rule without its status', (r) => ({ ...r, rules: [(({ status: _s, ...rest }) => rest)(r.rules[0]!)] })],
    ['an unknown rule status', (r) => ({ ...r, rules: [{ ...r.rules[0]!, status: 'skipped' }] })],
    [
      'a rule whose status and couldNotRun disagree',
      (r) => ({ ...r, rules: [{ ...r.rules[0]!, status: 'could-not-run', couldNotRun: false }] }),
    ],
    ['an off rule marked could-not-run', (r) => ({ ...r, rules: [{ ...r.rules.at(-1)!, couldNotRun: true }] })],
    ['an edge without skewedSamples', (r) => ({ ...r, edges: [(({ skewedSamples: _s, ...rest }) => rest)(r.edges[0]!)] })],
    [
      'evidence without traceIds',
      (r) => ({ ...r, findings: [{ ...r.findings[0]!, evidence: { ...r.findings[0]!.evidence, traceIds: undefined } }] }),
    ],
    [
      'a latency summary without its relative error',
      (r) => ({ ...r, edges: [{ ...r.edges[0]!, latencyMs: { count: 1, min: 1, p50: 1, p95: 1, p99: 1, max: 1 } }] }),
    ],
    ['an unknown severity', (r) => ({ ...r, findings: [{ ...r.findings[0]!, severity: 'fatal' }] })],
    ['an unknown rule id', (r) => ({ ...r, rules: [{ ...r.rules[0]!, ruleId: 'made-up' }] })],
    ['an unknown field in a finding', (r) => ({ ...r, findings: [{ ...r.findings[0]!, extra: true }] })],
    [
      'a span id that is not 16 hex digits',
      (r) => ({ ...r, findings: [{ ...r.findings[0]!, evidence: { ...r.findings[0]!.evidence, spanIds: ['xyz'] } }] }),
    ],
    ['a negative count', (r) => ({ ...r, findingsTruncated: -1 })],
    ['a fractional count', (r) => ({ ...r, edges: [{ ...r.edges[0]!, handoffs: 1.5 }] })],
    [
      'a latency summary with no samples',
      (r) => ({ ...r, edges: [{ ...r.edges[0]!, latencyMs: { count: 0, min: 0, p50: 0, p95: 0, p99: 0, max: 0, relativeError: 0 } }] }),
    ],
    [
      'a coordination share above 1',
      (r) => ({ ...r, tasks: { ...r.tasks, coordinationShare: { count: 1, min: 2, p50: 2, p95: 2, p99: 2, max: 2, relativeError: 0 } } }),
    ],
    [
      'an unknown critical-path kind',
      (r) => ({ ...r, tasks: { ...r.tasks, slowest: [{ ...r.tasks.slowest[0]!, criticalPath: [{ label: 'a', kind: 'sleep', ms: 1 }] }] } }),
    ],
    ['a cycle of one agent', (r) => ({ ...r, cycles: [['a']] })],
  ])('rejects a report with %s', (_name, change) => {
    expect(validate(JSON.parse(renderJson(all)))).toBe(true);
    expect(validate(change(all))).toBe(false);
  });
});
