/**
 * The JSON report and its published schema (docs/audit-report.schema.json):
 * real reports validate under Ajv's draft 2020-12 in strict mode, the schema
 * names exactly the fields a report has, and it rejects anything else.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { RULE_IDS } from '../../src/analyze/detectors/index.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import { renderJson } from '../../src/report/index.js';
import { FIXTURE_NAMES } from './load-fixture.js';
import { allFixturesReport, fixtureReport, hostileReport, partlyInstrumentedReport, uninstrumentedReport, withProblem } from './reports.js';

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
  all = await allFixturesReport();
});

/** Every report the tests can make, by name. */
async function everyReport(): Promise<[string, AuditReport][]> {
  const reports: [string, AuditReport][] = [];
  for (const name of FIXTURE_NAMES) reports.push([name, await fixtureReport(name)]);
  reports.push(
    ['all fixtures', all],
    ['all fixtures, truncated', await allFixturesReport({ maxFindings: 2, slowestTasks: 1 })],
    ['partly instrumented', await partlyInstrumentedReport()],
    ['uninstrumented', await uninstrumentedReport()],
    ['with an input problem', withProblem(await fixtureReport('clean'))],
    ['hostile', hostileReport()],
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
  it('prints reports that validate against docs/audit-report.schema.json', async () => {
    for (const [name, report] of await everyReport()) {
      const value: unknown = JSON.parse(renderJson(report));
      expect(validate(value), `${name}: ${JSON.stringify(validate.errors, null, 2)}`).toBe(true);
    }
  });

  it('prints the report itself: parsing it back gives the same report', async () => {
    for (const [name, report] of await everyReport()) expect(JSON.parse(renderJson(report)), name).toEqual(report);
  });

  it('is indented, ends in a newline, and prints the same text for the same report', async () => {
    const text = renderJson(all);
    expect(text).toBe(`${JSON.stringify(all, null, 2)}\n`);
    expect(renderJson(await allFixturesReport())).toBe(text);
    expect(text.startsWith('{\n  "reportVersion": "1",')).toBe(true);
  });
});

describe('docs/audit-report.schema.json', () => {
  it('is a draft 2020-12 schema with an $id and a title', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^https:\/\/.+audit-report/);
    expect(schema.title).toBe('AuditReport');
  });

  it('names exactly the fields real reports have, all required, every object closed', () => {
    const finding = all.findings.find((f) => f.taskId !== undefined)!;
    const task = all.tasks.slowest[0]!;
    const cases: [string, object, string[]][] = [
      ['', all, []],
      ['/properties/inputs', all.inputs, []],
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
      ['/$defs/finding', finding, ['taskId']],
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
    ['another report version', (r) => ({ ...r, reportVersion: '2' })],
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
      (r) => ({ ...r, edges: [{ ...r.edges[0]!, latencyMs: { count: 0, p50: 0, p95: 0, p99: 0, max: 0 } }] }),
    ],
    [
      'a coordination share above 1',
      (r) => ({ ...r, tasks: { ...r.tasks, coordinationShare: { count: 1, p50: 2, p95: 2, p99: 2, max: 2 } } }),
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
