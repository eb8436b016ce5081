/**
 * Grafana Tempo's trace-by-id JSON as an input. A recorded framework trace and a
 * trace of the real SDK are written the way Tempo answers `/api/traces/<id>`
 * (`batches`; ids in base64, enums by name, empty fields left out, as Go's
 * protobuf JSON mapping writes them: see Tempo's API docs and the answer captured
 * in grafana/oats' testdata) and `/api/v2/traces/<id>` (`trace`); each must read to
 * the spans, and audit to the report, of the OTLP file they came from. Other JSON
 * with a `batches` key is not taken, and a bad span is one error naming its place.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auditor } from '../../../src/analyze/audit.js';
import { jsonEncodingOf } from '../../../src/ingest/encodings/index.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { FRAMEWORKS_DIR } from '../../analyze/dialects/framework-fixtures.js';
import { runPipelineSpans, toOtlpJson, readFileSpans } from '../../helpers/traces.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-tempo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Json = Record<string, unknown>;

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const base64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/** One OTLP/JSON span as Tempo writes it: base64 ids, enum names, zero values left out. */
function asTempoSpan(span: Json): Json {
  const { traceId, spanId, parentSpanId, kind, status, links, ...rest } = span as Json & { links?: Json[]; status?: Json };
  const out: Json = { traceId: base64(traceId as string), spanId: base64(spanId as string), ...rest };
  if (typeof parentSpanId === 'string' && parentSpanId !== '') out.parentSpanId = base64(parentSpanId);
  if (typeof kind === 'number' && kind !== 0) out.kind = KIND_NAMES[kind];
  const code = typeof status?.code === 'number' ? status.code : 0;
  out.status = code === 0 ? {} : { ...status, code: STATUS_NAMES[code] };
  if (links && links.length > 0) out.links = links.map((l) => ({ ...l, traceId: base64(l.traceId as string), spanId: base64(l.spanId as string) }));
  return out;
}

function asTempoBatches(otlp: { resourceSpans: Json[] }): Json[] {
  return otlp.resourceSpans.map((rs) => ({
    ...rs,
    scopeSpans: (rs.scopeSpans as Json[]).map((ss) => ({ ...ss, spans: (ss.spans as Json[]).map(asTempoSpan) })),
  }));
}

const read = (file: string) => readFileSpans(file, 'span id');

const comparable = ({ source: _source, ...span }: SpanRecord) => span;

/** The audit's findings and edges: what a user reads off the report. */
function auditOf(spans: readonly SpanRecord[]) {
  const auditor = new Auditor();
  auditor.addSpans([...spans]);
  const report = auditor.finish();
  return {
    findings: report.findings.map((f) => `${f.ruleId} ${f.agents.join(',')}`).sort(),
    edges: report.edges.map((e) => `${e.source}→${e.target} ${e.handoffs}`).sort(),
    dialects: report.inputs.dialects,
  };
}

describe('Tempo trace-by-id JSON', () => {
  const cases: [string, () => Promise<string>][] = [
    ['a recorded AutoGen trace', () => readFile(join(FRAMEWORKS_DIR, 'autogen', 'chain.otlp.json'), 'utf8')],
    ['the real SDK with a stale read', async () => toOtlpJson((await runPipelineSpans(['stale-read'], { taskId: 'tempo-stale' })).spans)],
  ];
  it.each(cases)('%s: /api/traces (batches) and /api/v2/traces (trace) read to the spans and the audit of the OTLP file', async (name, load) => {
    const text = await load();
    const otlpFile = join(dir, `${name}.otlp.json`);
    await writeFile(otlpFile, text);
    const batches = asTempoBatches(JSON.parse(text) as { resourceSpans: Json[] });
    const v1 = join(dir, `${name}.tempo-v1.json`);
    const v2 = join(dir, `${name}.tempo-v2.json`);
    await writeFile(v1, JSON.stringify({ batches }, null, 2));
    await writeFile(v2, JSON.stringify({ trace: { resourceSpans: batches }, status: 'COMPLETE' }));
    const otlp = await read(otlpFile);
    expect(otlp.errors).toEqual([]);
    expect(otlp.spans.length).toBeGreaterThan(5);
    // The Tempo files really differ from OTLP/JSON where Tempo writes differently.
    expect(await readFile(v1, 'utf8')).not.toContain(otlp.spans[0]!.spanId);
    const expected = auditOf(otlp.spans);
    expect(expected.findings.length + expected.edges.length).toBeGreaterThan(0);
    for (const file of [v1, v2]) {
      const tempo = await read(file);
      expect(tempo.errors).toEqual([]);
      expect(tempo.spans.map(comparable)).toEqual(otlp.spans.map(comparable));
      expect(auditOf(tempo.spans)).toEqual(expected);
    }
  });

  it('the stale read the SDK program made is found in the Tempo file too', async () => {
    const text = toOtlpJson((await runPipelineSpans(['stale-read'], { taskId: 'tempo-stale-finding' })).spans);
    const file = join(dir, 'stale.tempo.json');
    await writeFile(file, JSON.stringify({ batches: asTempoBatches(JSON.parse(text) as { resourceSpans: Json[] }) }));
    expect(auditOf((await read(file)).spans).findings.some((f) => f.startsWith('stale-epoch-read'))).toBe(true);
  });

  it('takes an empty trace from either API as no spans, and leaves other JSON with a "batches" key to the OTLP reader', async () => {
    expect(jsonEncodingOf({ batches: [] }).id).toBe('tempo-json');
    expect(jsonEncodingOf({ trace: {}, status: 'COMPLETE' }).id).toBe('tempo-json');
    expect(jsonEncodingOf({ trace: {}, status: 'COMPLETE' }).toSpans({ trace: {}, status: 'COMPLETE' }, 'x')).toEqual([]);
    // Near misses: a job report's batches, a trace object of another tool.
    expect(jsonEncodingOf({ batches: [{ batch_id: 0, files: ['a'] }] }).id).toBe('otlp-json');
    expect(jsonEncodingOf({ trace: { id: 'abc' } }).id).toBe('otlp-json');
    const other = join(dir, 'jobs.json');
    await writeFile(other, JSON.stringify({ batches: [{ batch_id: 0 }] }));
    expect((await read(other)).errors).toEqual([`${other}: expected "resourceSpans", found "batches"`]);
  });

  it('names the place of a bad span under batches (v1) or trace.resourceSpans (v2), in one line', async () => {
    const bad = { resource: {}, scopeSpans: [{ spans: [{ traceId: 'zz', spanId: base64('00f067aa0ba902b7'), name: 'x' }] }] };
    const v1 = join(dir, 'bad-v1.json');
    const v2 = join(dir, 'bad-v2.json');
    await writeFile(v1, JSON.stringify({ batches: [bad] }));
    await writeFile(v2, JSON.stringify({ trace: { resourceSpans: [bad] } }));
    const [e1] = (await read(v1)).errors;
    const [e2] = (await read(v2)).errors;
    expect(e1).toMatch(/bad-v1\.json(:1)?: batches\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected a 16-byte id/);
    expect(e2).toMatch(/bad-v2\.json(:1)?: trace\.resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected a 16-byte id/);
    expect(e1).not.toContain('\n');
  });
});
