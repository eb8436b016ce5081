/**
 * The OpenTelemetry Python SDK's span JSON as an input: Python framework runs
 * (constructed from the frameworks' published code, fixtures/frameworks/python)
 * written the way the SDK's ConsoleSpanExporter prints them (`span.to_json()`:
 * indented, a line break after each, in the order spans end; ids `0x`-prefixed,
 * `SpanKind.X`, microsecond ISO times, no scope: opentelemetry-python
 * `sdk/trace/__init__.py`) must read to the same spans, to the microsecond, and
 * audit to what each program's own log says. So must the frameworks whose dialects
 * know them by their scope elsewhere (OpenLLMetry, OpenInference's CrewAI, Agno and
 * smolagents instrumentations), read here by their attributes; the one that cannot be
 * told apart without its scope (OpenInference's OpenAI Agents bridge) is said to be so,
 * its handoffs not made up. A bad value is reported at its line and the rest still
 * read; a near miss (one-line values: JSON Lines) stays JSON Lines.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { DIALECTS } from '../../../src/analyze/dialects/index.js';
import { readFileSpans } from '../../helpers/traces.js';
import { jsonEncodingOf } from '../../../src/ingest/encodings/index.js';
import { concatenatedJsonValues } from '../../../src/ingest/json-values.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { auditFile, expectReportMatchesLog, FRAMEWORKS_DIR, logOf } from '../../analyze/dialects/framework-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-py-console-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KINDS = ['SpanKind.INTERNAL', 'SpanKind.INTERNAL', 'SpanKind.SERVER', 'SpanKind.CLIENT', 'SpanKind.PRODUCER', 'SpanKind.CONSUMER'];
const STATUS = ['UNSET', 'OK', 'ERROR'];

/** Python's `ns_to_iso_str`: `%Y-%m-%dT%H:%M:%S.%fZ`, microseconds. */
function isoMicros(ms: number): string {
  const micros = Math.round(ms * 1000);
  const whole = new Date(Math.floor(micros / 1000)).toISOString(); // …SS.mmmZ
  return `${whole.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/** One span as `ReadableSpan.to_json()` writes it (indent 4). */
function toJson(span: SpanRecord): string {
  const context = (traceId: string, spanId: string) => ({ trace_id: `0x${traceId}`, span_id: `0x${spanId}`, trace_state: '[]' });
  const status: Record<string, string> = { status_code: STATUS[span.statusCode]! };
  if (span.statusMessage !== '') status.description = span.statusMessage;
  return JSON.stringify(
    {
      name: span.name,
      context: context(span.traceId, span.spanId),
      kind: KINDS[span.kind] ?? 'SpanKind.INTERNAL',
      parent_id: span.parentSpanId === '' ? null : `0x${span.parentSpanId}`,
      start_time: isoMicros(span.startMs),
      end_time: isoMicros(span.endMs),
      status,
      attributes: span.attributes,
      events: span.events.map((e) => ({ name: e.name, timestamp: isoMicros(e.timeMs), attributes: e.attributes })),
      links: span.links.map((l) => ({ context: context(l.traceId, l.spanId), attributes: {} })),
      resource: { attributes: span.resource, schema_url: '' },
    },
    null,
    4,
  );
}

const read = (file: string) => readFileSpans(file);

/** A fixture's spans printed by the ConsoleSpanExporter: in the order they ended, each value then a line break. */
async function consoleDumpOf(scenario: string, framework = 'python'): Promise<{ file: string; spans: SpanRecord[] }> {
  const { spans, errors } = await read(join(FRAMEWORKS_DIR, framework, `${scenario}.otlp.json`));
  expect(errors).toEqual([]);
  const ended = [...spans].sort((a, b) => a.endMs - b.endMs);
  const file = join(dir, `${framework}-${scenario}.console.txt`);
  await writeFile(file, ended.map((s) => `${toJson(s)}\n`).join(''));
  return { file, spans: ended };
}

const comparable = ({ source: _source, scopeName: _scope, startMs, endMs, events, ...span }: SpanRecord) => ({
  ...span,
  startUs: Math.round(startMs * 1000),
  endUs: Math.round(endMs * 1000),
  events: events.map((e) => ({ ...e, timeMs: Math.round(e.timeMs * 1000) })),
});

describe("the Python SDK's span JSON (ConsoleSpanExporter)", () => {
  it.each(['strands-swarm', 'strands-swarm-loop', 'adk-support', 'pydantic-ai-v5-delegation'])(
    '%s: the printed spans read back to the same spans (to the microsecond, without the scope the SDK does not print) and audit to the program log',
    async (scenario) => {
      const { file, spans } = await consoleDumpOf(scenario);
      const read_ = await read(file);
      expect(read_.errors).toEqual([]);
      expect(read_.spans.map(comparable)).toEqual(spans.map(comparable));
      expect(read_.spans[0]!.source).toMatch(/\.console\.txt:1$/);
      expectReportMatchesLog(await auditFile(file), await logOf('python', scenario));
    },
  );

  it.each([
    ['python', 'openllmetry-langgraph-swarm'],
    ['python', 'openllmetry-langgraph-swarm-no-content'],
    ['python', 'openllmetry-langgraph-pipeline'],
    ['python', 'openllmetry-crewai-hierarchical'],
    ['python', 'openllmetry-crewai-sequential'],
    ['python', 'openllmetry-decorators'],
    ['python', 'crewai-hierarchical'],
    ['python', 'crewai-sequential'],
    ['python', 'crewai-event-listener'],
    ['python', 'crewai-delegation-wrapper'],
    ['openinference-agents', 'agno-team'],
    ['openinference-agents', 'agno-broadcast'],
    ['openinference-agents', 'smolagents-managed'],
    ['openinference-agents', 'smolagents-failed-member'],
    ['openinference-agents', 'smolagents-call-back'],
  ])('%s/%s, a framework known elsewhere by its scope: read by its attributes, it audits to the program log, by the same dialects as with its scope', async (framework, scenario) => {
    const { file } = await consoleDumpOf(scenario, framework);
    const printed = await read(file);
    expect(printed.errors).toEqual([]);
    expect(new Set(printed.spans.map((s) => s.scopeName))).toEqual(new Set(['']));
    expectReportMatchesLog(await auditFile(file), await logOf(framework, scenario));
    const dialectsOf = (spans: readonly SpanRecord[]) => {
      const model = buildHandoffModel(spans);
      return [...new Set([...model.agentRuns.map((r) => r.dialect), ...model.handoffs.map((h) => h.dialect)])].sort();
    };
    expect(dialectsOf(printed.spans)).toEqual(dialectsOf((await read(join(FRAMEWORKS_DIR, framework, `${scenario}.otlp.json`))).spans));
  });

  it.each(['chain', 'retry', 'cycle'])(
    'openai-agents/%s through OpenLLMetry’s processor: handoffs and agents as tools (read from time) as the run logged them',
    async (scenario) => {
      const { file } = await consoleDumpOf(`${scenario}.openllmetry`, 'openai-agents');
      const log = JSON.parse(await readFile(join(FRAMEWORKS_DIR, 'openai-agents', `${scenario}.log.json`), 'utf8')) as {
        runs: { handoffs: { from: string; to: string }[]; delegations: { from: string; to: string; ok: boolean }[] }[];
      };
      // Every handoff and delegation the runs made, a failed attempt and its retry being one.
      const expected: Record<string, number> = {};
      for (const run of log.runs) {
        for (const h of run.handoffs) expected[`${h.from} → ${h.to}`] = (expected[`${h.from} → ${h.to}`] ?? 0) + 1;
        let retrying = false;
        for (const d of run.delegations) {
          if (!retrying) expected[`${d.from} → ${d.to}`] = (expected[`${d.from} → ${d.to}`] ?? 0) + 1;
          retrying = !d.ok;
        }
      }
      const report = await auditFile(file);
      const edges: Record<string, number> = {};
      for (const e of report.edges) edges[`${e.source} → ${e.target}`] = e.handoffs;
      expect(edges).toEqual(expected);
      expect(report.inputs.dialects.filter((d) => d.spans > 0).map((d) => d.id)).toEqual(['openllmetry']);
    },
  );

  it('the OpenAI Agents SDK through OpenInference (known only by its scope): no handoff is made up, and every agent span says why it was not read, naming the encoding; with its scope (near miss) the logged handoffs are read', async () => {
    const { file, spans } = await consoleDumpOf('openai-agents-py-openinference');
    const reasons: string[] = [];
    const model = buildHandoffModel((await read(file)).spans, { onIgnored: (_d, i) => void (i.span.attributes['openinference.span.kind'] === 'AGENT' && reasons.push(i.reason)) });
    expect(model.handoffs).toEqual([]);
    expect(model.agentRuns).toEqual([]);
    expect(reasons).toHaveLength(spans.filter((s) => s.attributes['openinference.span.kind'] === 'AGENT').length);
    for (const reason of reasons) expect(reason).toContain("no instrumentation scope either (the OpenTelemetry Python SDK's console JSON, otel-python-json, writes none)");
    expectReportMatchesLog(await auditFile(join(FRAMEWORKS_DIR, 'python', 'openai-agents-py-openinference.otlp.json')), await logOf('python', 'openai-agents-py-openinference'));
  });

  /** The dialect that reads a span: the first that claims it. */
  const claimantOf = (span: SpanRecord): string | undefined => DIALECTS.find((d) => d.claims(span))?.id;
  const without = (span: SpanRecord, keys: readonly string[]): SpanRecord => ({ ...span, attributes: Object.fromEntries(Object.entries(span.attributes).filter(([k]) => !keys.includes(k))) });

  it.each([
    ['openai-agents', 'chain.openllmetry', 'triage.agent', 'openllmetry', (s: SpanRecord) => ({ ...s, attributes: { 'traceloop.workflow.name': 'support', 'gen_ai.agent.name': 'triage', 'gen_ai.operation.name': 'invoke_agent' } }), 'otel-genai'],
    ['python', 'openllmetry-langgraph-swarm', 'invoke_agent LangGraph', 'openllmetry', (s: SpanRecord) => ({ ...s, attributes: { ...s.attributes, 'gen_ai.provider.name': 'openai' } }), 'otel-genai'],
    ['python', 'openllmetry-crewai-sequential', 'crewai.workflow', 'openllmetry', (s: SpanRecord) => without(s, ['crewai.crew.process']), 'otel-genai'],
    ['openinference-agents', 'agno-team', 'Writer.run', 'openinference-agents', (s: SpanRecord) => without(s, ['agno.agent']), 'openinference'],
    ['openinference-agents', 'smolagents-managed', 'Step 1', 'openinference-agents', (s: SpanRecord) => ({ ...s, attributes: { ...s.attributes, metadata: '{"langgraph_node": "agent"}' } }), 'openinference'],
    ['python', 'crewai-hierarchical', 'Delegate work to coworker.run', 'crewai', (s: SpanRecord) => ({ ...s, attributes: { ...s.attributes, 'tool.name': 'search_web' } }), 'openinference'],
  ] as const)('without a scope, %s/%s “%s” is claimed by %s from what only its instrumentation writes; near miss: without that, by %s', async (framework, scenario, name, dialect, nearMiss, other) => {
    const { file } = await consoleDumpOf(scenario, framework);
    const span = (await read(file)).spans.find((s) => s.name === name)!;
    expect(span.scopeName).toBe('');
    expect(claimantOf(span)).toBe(dialect);
    expect(claimantOf(nearMiss(span))).toBe(other);
  });

  it('reports a value that is not JSON at its own line and column (Python writes a float nan as NaN), and still reads the others', async () => {
    const { file, spans } = await consoleDumpOf('strands-swarm');
    const values = (await readFile(file, 'utf8')).split('\n}\n');
    // json.dumps(allow_nan=True), as to_json calls it, writes float("nan") as NaN, which is not JSON.
    values[1] = values[1]!.replace(/"attributes": \{/, '"attributes": {\n        "score": NaN,');
    const broken = join(dir, 'broken.console.txt');
    await writeFile(broken, values.join('\n}\n'));
    const result = await read(broken);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(/broken\.console\.txt:\d+:\d+: invalid JSON: /);
    const [, line, column] = /console\.txt:(\d+):(\d+):/.exec(result.errors[0]!)!;
    expect((await readFile(broken, 'utf8')).split('\n')[Number(line) - 1]!.slice(Number(column) - 1)).toMatch(/^NaN/);
    expect(result.spans).toHaveLength(spans.length - 1);
  });

  it('names the place of a bad field in a span, in one line', async () => {
    const file = join(dir, 'bad-id.console.txt');
    const span = { name: 'x', context: { trace_id: '0x12', span_id: '0x051581bf3cb55c13' }, kind: 'SpanKind.INTERNAL', start_time: '2026-11-30T10:00:00.000000Z', end_time: '2026-11-30T10:00:00.000001Z' };
    const text = JSON.stringify(span, null, 4);
    await writeFile(file, `${text}\n${text}\n`);
    const second = text.split('\n').length + 1;
    const { errors } = await read(file);
    expect(errors).toEqual([`${file}:1: context.trace_id: expected a 16-byte id as "0x" and 32 hex digits, got "0x12"`, `${file}:${second}: context.trace_id: expected a 16-byte id as "0x" and 32 hex digits, got "0x12"`]);
  });

  it('keeps the microseconds of Python times, and leaves OTLP, Jaeger and other JSON with a "context" to their readers', () => {
    const span = { name: 'x', context: { trace_id: `0x${'ab'.repeat(16)}`, span_id: '0x051581bf3cb55c13' }, kind: 'SpanKind.CLIENT', parent_id: null, start_time: '2026-11-30T10:00:00.123456Z', end_time: '2026-11-30T10:00:00.123999Z' };
    const [record] = jsonEncodingOf(span).toSpans(span, 'x');
    expect(record).toMatchObject({ kind: 3, parentSpanId: '', traceId: 'ab'.repeat(16) });
    expect(record!.startMs % 1000).toBeCloseTo(123.456, 3);
    expect(record!.endMs - record!.startMs).toBeCloseTo(0.543, 3);
    expect(jsonEncodingOf({ resourceSpans: [] }).id).toBe('otlp-json');
    expect(jsonEncodingOf({ name: 'request', context: { user: 'u1' } }).id).toBe('otlp-json');
  });

  it('finds the values of concatenated documents, strings with brackets and escapes included; one-line values stay JSON Lines', async () => {
    const text = '{\n  "a": "}{\\"]"\n}\n[\n 1, {"b": [2]}\n]\n';
    expect(concatenatedJsonValues(text)?.values.map((v) => [text.slice(v.start, v.end), v.line])).toEqual([
      ['{\n  "a": "}{\\"]"\n}', 1],
      ['[\n 1, {"b": [2]}\n]', 4],
    ]);
    expect(concatenatedJsonValues('{"a": 1} 2')).toBeUndefined();
    expect(concatenatedJsonValues('{"a": [1}')).toBeUndefined();
    // JSON Lines of OTLP requests: still read line by line (the near miss of the pretty-printed path).
    const { spans } = await read(join(FRAMEWORKS_DIR, 'python', 'strands-swarm.collector.jsonl'));
    expect(spans.length).toBeGreaterThan(5);
  });
});

describe('concatenated values beside other text', () => {
  it("skips the app's own print lines between printed spans, says where they were, and reads every span", async () => {
    const { file, spans } = await consoleDumpOf('strands-swarm');
    const printedSpans = await readFile(file, 'utf8');
    // stdout redirected to the same file: the app's prints land between the exporter's spans (after the third).
    let at = 0;
    for (let i = 0; i < 3; i++) at = printedSpans.indexOf('\n}\n', at) + 3;
    const text = `${printedSpans.slice(0, at)}routing to the next agent\nstill working...\n${printedSpans.slice(at)}`;
    const mixed = join(dir, 'mixed.console.txt');
    await writeFile(mixed, text);
    const printed = text.split('\n').indexOf('routing to the next agent') + 1;
    const result = await read(mixed);
    expect(result.errors).toEqual([`${mixed}:${printed}: 2 lines that are not JSON (not a span): skipped`]);
    // Every span, as printed: what audits to the program log in the first case above.
    expect(result.spans.map(comparable)).toEqual(spans.map(comparable));
  });

  it('stops after 20 bad values or lines, as for JSON Lines, and says so once', async () => {
    const { file } = await consoleDumpOf('strands-swarm');
    const text = await readFile(file, 'utf8');
    const first = text.slice(0, text.indexOf('\n}\n') + 3);
    const many = join(dir, 'many-bad.console.txt');
    // A good span, then 30 values that are JSON but not spans.
    await writeFile(many, first + Array.from({ length: 30 }, () => '{\n    "name": 5\n}\n').join(''));
    const { errors, spans } = await read(many);
    expect(spans).toHaveLength(1);
    expect(errors).toHaveLength(21);
    expect(errors[20]).toBe(`${many}: 20 bad values or lines; the rest of the file was skipped`);
  });

  it('reads JSON Lines whose first line is longer than a read chunk as JSON Lines (its bad lines capped the same)', async () => {
    const line = (pad: number, id: number) =>
      JSON.stringify({
        resourceSpans: [
          {
            resource: {},
            scopeSpans: [
              {
                scope: { name: 's' },
                spans: [
                  {
                    traceId: '0af7651916cd43dd8448eb211c80319c',
                    spanId: id.toString(16).padStart(16, '0'),
                    name: 'x',
                    startTimeUnixNano: '1700000000000000000',
                    endTimeUnixNano: '1700000001000000000',
                    attributes: [{ key: 'pad', value: { stringValue: 'a'.repeat(pad) } }],
                  },
                ],
              },
            ],
          },
        ],
      });
    const results: { spans: number; errors: string[] }[] = [];
    for (const pad of [10, 1_200_000]) {
      const file = join(dir, `long-first-${pad}.jsonl`);
      await writeFile(file, [line(pad, 1), ...Array.from({ length: 30 }, () => '{"resourceSpans": [1,]}'), line(10, 2)].join('\n') + '\n');
      const { spans, errors } = await read(file);
      results.push({ spans: spans.length, errors: errors.map((e) => e.replace(file, 'F')) });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]!.errors).toHaveLength(21);
    expect(results[0]!.errors[0]).toBe("F:2:22: invalid JSON: Unexpected token ']'");
  });
});
