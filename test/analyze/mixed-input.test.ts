/**
 * Mixed input, read per trace group: AutoGen, Agent Framework and Baton traces
 * in one file, spans of kinds and names no dialect knows, spans whose parent is
 * missing, and a trace group a dialect cannot read. Each group gets its own
 * dialect and its own explanation (`explain`), and one group that fails never
 * hides the others: it is a problem of its own, named by trace.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSpans } from '../../src/analyze/audit.js';
import { DIALECTS } from '../../src/analyze/dialects/index.js';
import type { Dialect } from '../../src/analyze/dialects/dialect.js';
import { readTraceInputs } from '../../src/ingest/index.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { edgeCounts } from '../../fixtures/frameworks/log.js';
import { runBaton } from '../helpers/cli.js';
import { runPipelineSpans, toOtlpJson } from '../helpers/traces.js';
import { FRAMEWORKS_DIR, logOf, reportEdges } from './dialects/framework-fixtures.js';

let dir: string;
let mixedFile: string;
let spans: SpanRecord[];
let report: AuditReport;
/** The traces of each part of the mix. */
const traceIdsOf: Record<string, Set<string>> = {};

const STRAY_TRACE = '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a';

/** A hand-made request: a span of an unknown kind (42) and a span whose parent was never exported. */
function strayRequest(startNs: bigint): string {
  const span = (id: string, parent: string, name: string, kind: number) => ({
    traceId: STRAY_TRACE,
    spanId: id,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    kind,
    startTimeUnixNano: String(startNs),
    endTimeUnixNano: String(startNs + 1_000_000n),
    attributes: [{ key: 'custom.thing', value: { stringValue: 'x' } }],
  });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'stray' } }] },
        scopeSpans: [{ scope: { name: 'custom' }, spans: [span('1111111111111111', '', 'frobnicate', 42), span('2222222222222222', '9999999999999999', 'orphan work', 1)] }],
      },
    ],
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-mixed-'));
  const autogen = await readFile(join(FRAMEWORKS_DIR, 'autogen', 'chain.collector.jsonl'), 'utf8');
  const maf = await readFile(join(FRAMEWORKS_DIR, 'agent-framework', 'dropped.collector.jsonl'), 'utf8');
  const { spans: batonSpans } = await runPipelineSpans();
  const baton = toOtlpJson(batonSpans);
  mixedFile = join(dir, 'mixed.jsonl');
  await writeFile(mixedFile, `${autogen}${baton}\n${maf}${strayRequest(1_796_000_000_000_000_000n)}\n`);
  spans = [];
  for await (const batch of readTraceInputs([mixedFile])) spans.push(...batch);
  for (const [part, file] of [
    ['autogen', join(FRAMEWORKS_DIR, 'autogen', 'chain.otlp.json')],
    ['agent-framework', join(FRAMEWORKS_DIR, 'agent-framework', 'dropped.otlp.json')],
  ] as const) {
    traceIdsOf[part] = new Set();
    for await (const batch of readTraceInputs([file])) for (const s of batch) traceIdsOf[part]!.add(s.traceId);
  }
  traceIdsOf.baton = new Set(batonSpans.map((s) => s.spanContext().traceId));
  report = await auditSpans([spans], { explain: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mixed input in one file', () => {
  it('reads every group with its own dialect: the explanation names the one chosen per trace group', () => {
    const explain = report.explain!;
    const chosen = (part: string) => explain.filter((g) => g.traceIds.some((t) => traceIdsOf[part]!.has(t))).map((g) => g.dialect);
    expect(new Set(chosen('autogen'))).toEqual(new Set(['autogen']));
    expect(new Set(chosen('agent-framework'))).toEqual(new Set(['agent-framework']));
    expect(new Set(chosen('baton'))).toEqual(new Set(['baton']));
    expect(report.inputs.problems).toEqual([]);
  });

  it('keeps every framework\'s edges, as each program logged them', async () => {
    const edges = reportEdges(report);
    for (const [framework, scenario] of [
      ['autogen', 'chain'],
      ['agent-framework', 'dropped'],
    ] as const) {
      for (const [edge, count] of Object.entries(edgeCounts(await logOf(framework, scenario)))) expect(edges[edge], edge).toBe(count);
    }
    expect(report.findings.filter((f) => f.ruleId === 'undelivered-handoff').map((f) => f.agents)).toEqual([['router']]);
  });

  it('explains the span of an unknown kind as unclaimed and the orphan as a missing parent, without a problem', () => {
    const stray = report.explain!.find((g) => g.traceIds.includes(STRAY_TRACE))!;
    expect(stray.dialect).toBeNull();
    expect(stray.unclaimed).toEqual({ count: 2, names: ['frobnicate', 'orphan work'] });
    expect(stray.missingParents).toEqual({ count: 1, spanIds: ['9999999999999999'] });
    expect(stray.edges).toEqual([]);
    expect(spans.find((s) => s.spanId === '1111111111111111')!.kind).toBe(42);
  });

  it('audits the other groups when one cannot be read, and names the one that failed', async () => {
    const fragile: Dialect = {
      id: 'fragile',
      description: 'throws on the AutoGen chain',
      readsAttribute: () => false,
      claims: (span) => span.name.startsWith('autogen '),
      interpret() {
        throw new Error('unexpected span shape');
      },
    };
    const withFault = await auditSpans([spans], { dialects: [fragile, ...DIALECTS.filter((d) => d.id !== 'autogen')], explain: true });
    expect(withFault.inputs.problems).toHaveLength(1);
    const [problem] = withFault.inputs.problems;
    expect(problem!.location).toMatch(/^trace [0-9a-f]{32} and \d+ linked \(.*mixed\.jsonl:\d+\)$/);
    expect(traceIdsOf.autogen!.has(problem!.location.slice(6, 38))).toBe(true);
    expect(problem!.message).toBe('could not be analyzed (unexpected span shape); the other traces were audited');
    const failed = withFault.explain!.filter((g) => g.error !== undefined);
    expect(failed.map((g) => g.error)).toEqual(['unexpected span shape']);
    // Everything else is still there.
    expect(withFault.findings.filter((f) => f.ruleId === 'undelivered-handoff')).toHaveLength(1);
    expect(reportEdges(withFault)['router → auditor']).toBe(1);
    expect(withFault.agents).not.toContain('planner');
  });
});

describe('baton audit on mixed input', () => {
  it('exits 0 and prints every group\'s explanation; --format json carries it, valid', async () => {
    const text = await runBaton(['audit', mixedFile, '--explain', '--fail-on', 'never'], { cwd: dir });
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\nExplain {2}\d+ trace groups\n/);
    expect(text.stdout).toContain('read as autogen');
    expect(text.stdout).toContain('read as agent-framework');
    expect(text.stdout).toContain('missing parents: 1 parent span not in the data (9999999999999999)');
    expect(text.stdout).toMatch(/planner → researcher {2}1 handoff, declared \(autogen\)/);
    const json = await runBaton(['audit', mixedFile, '--explain', '--format', 'json', '--fail-on', 'never'], { cwd: dir });
    const parsed = JSON.parse(json.stdout) as AuditReport;
    expect(parsed.explain!.length).toBe(report.explain!.length);
    expect(parsed.explainTruncated).toBe(0);
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    const schemaPath = fileURLToPath(new URL('../../docs/audit-report.schema.json', import.meta.url));
    const validate = ajv.compile(JSON.parse(await readFile(schemaPath, 'utf8')) as object);
    expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
  });

  it('prints no explanation and no explain key without --explain', async () => {
    const json = await runBaton(['audit', mixedFile, '--format', 'json', '--fail-on', 'never'], { cwd: dir });
    expect(JSON.parse(json.stdout)).not.toHaveProperty('explain');
    const text = await runBaton(['audit', mixedFile, '--fail-on', 'never'], { cwd: dir });
    expect(text.stdout).not.toContain('Explain');
  });
});
