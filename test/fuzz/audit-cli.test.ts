/**
 * Fuzzes `baton audit` (issue 8): every generated input (test/fuzz/cases.ts) is
 * audited beside a good trace by the CLI, in child processes that each run a batch
 * of cases in-process under a heap cap, and every case must keep the CLI's promise:
 * exit 0, 1 or 2; at most one stderr line per bad input, naming it, with no raw
 * control or bidi character; the good trace's findings the same as alone; a JSON
 * report valid against docs/audit-report.schema.json; DOT that Graphviz draws as
 * well-formed SVG; well-formed JUnit; Markdown that fits a pull-request comment.
 *
 * Seeded: BATON_FUZZ_SEED and BATON_FUZZ_CASES choose other cases (a failure
 * names the case's file and how it was made; rerun with the same seed to get it).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/model/audit-report.js';
import { printable } from '../../src/report/format.js';
import { renderGraph, renderJunit, renderMarkdown } from '../../src/report/index.js';
import { FIXTURES_DIR } from '../helpers/traces.js';
import { generateCases, GOOD_FIXTURE, specialCases, type GeneratedCase } from './cases.js';
import type { FuzzManifest, FuzzResult } from './run-cases.js';

const SEED = Number(process.env.BATON_FUZZ_SEED ?? 20261201);
const CASES = Number(process.env.BATON_FUZZ_CASES ?? 1000);
/** Child processes, each running its share of the cases in order. */
const BATCHES = 2;
/** Each child's V8 heap: a case needing more kills it, and the harness names the case. */
const HEAP_CAP_MIB = 768;
/** Peak resident memory a child may reach (V8 heap, buffers and all), over its own ~110 MiB at rest. */
const MAX_RSS_MIB = 1024;
/** Only a hang ends a batch early; a batch takes seconds. */
const HANG_MS = 8 * 60_000;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNNER = fileURLToPath(new URL('./run-cases.ts', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

// C0 controls but the line break between lines, DEL, C1, bidi embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Longest stderr line: a message quotes the input, never much of it. */
const MAX_LINE_CHARS = 500;

interface Outcome {
  readonly testCase: GeneratedCase;
  readonly result: FuzzResult;
  readonly report: AuditReport;
}

let dir: string;
let cases: GeneratedCase[];
let outcomes: Outcome[];
let baseline: FuzzResult;
let validate: ValidateFunction;
let goodText: string;
let crashes: string[] = [];
let generateMs = 0;
let runMs = 0;

/** Most children one batch may lose to crashing cases before it gives up. */
const MAX_CRASHES = 10;

/**
 * Runs a batch's cases in a child; when a case kills it (heap cap, native crash,
 * hang), says which case and resumes after it, so one run names every such case.
 */
async function runBatch(manifest: FuzzManifest, name: string): Promise<{ results: FuzzResult[]; failures: string[] }> {
  const manifestPath = join(dir, `${name}.manifest.json`);
  const resultsPath = join(dir, `${name}.results.jsonl`);
  await writeFile(manifestPath, JSON.stringify(manifest));
  const failures: string[] = [];
  let first: number | undefined;
  for (;;) {
    const { error, stderr } = await new Promise<{ error: Error | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [`--max-old-space-size=${HEAP_CAP_MIB}`, '--import', TSX_LOADER, RUNNER, manifestPath, resultsPath, ...(first === undefined ? [] : [String(first)])],
        { cwd: ROOT, timeout: HANG_MS, maxBuffer: 16 * 1024 * 1024 },
        (e, _stdout, err) => resolve({ error: e, stderr: err }),
      );
    });
    const text = await readFile(resultsPath, 'utf8');
    const lines = text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Partial<FuzzResult> & { started?: number; done?: boolean });
    const results = lines.filter((l): l is FuzzResult => typeof l.index === 'number');
    if (lines.some((l) => l.done) && !error) return { results, failures };
    const started = lines.filter((l) => typeof l.started === 'number').at(-1)?.started;
    const reason = `${error ? error.message.split('\n')[0] : 'no end marker'}; stderr: ${stderr.trim().split('\n').slice(0, 3).join(' / ').slice(0, 300)}`;
    if (started === undefined || started === first || failures.length >= MAX_CRASHES) {
      failures.push(`batch ${name} ended ${started === undefined ? 'before any case' : `on ${describeCase(manifest, started)}`}: ${reason}`);
      return { results, failures };
    }
    failures.push(`${describeCase(manifest, started)} killed the child: ${reason}`);
    first = started + 1;
    if (first >= manifest.cases.length) return { results, failures };
  }
}

function describeCase(manifest: FuzzManifest, index: number): string {
  const c = manifest.cases[index];
  return c ? `case ${JSON.stringify(c.file)} (${c.kind})` : `case ${index}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-fuzz-'));
  const started = process.hrtime.bigint();
  cases = [...specialCases(), ...generateCases(SEED, CASES)];
  goodText = await readFile(join(FIXTURES_DIR, GOOD_FIXTURE), 'utf8');
  await writeFile(join(dir, GOOD_FIXTURE), goodText);
  await writeFile(join(dir, 'empty.json'), '{"resourceSpans":[]}');
  for (const c of cases) await writeFile(join(dir, c.name), c.content);
  generateMs = Number(process.hrtime.bigint() - started) / 1e6;

  const schema = JSON.parse(await readFile(join(ROOT, 'docs/audit-report.schema.json'), 'utf8')) as object;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  validate = ajv.compile(schema);

  const runStarted = process.hrtime.bigint();
  // Case 0 of batch 0 is the good trace beside an empty one: the baseline every case is compared with.
  const shares: FuzzManifest[] = [];
  for (let b = 0; b < BATCHES; b++) shares.push({ dir, good: GOOD_FIXTURE, cases: [] });
  (shares[0]!.cases as { file: string; kind: string }[]).push({ file: 'empty.json', kind: 'baseline' });
  cases.forEach((c, i) => (shares[i % BATCHES]!.cases as { file: string; kind: string }[]).push({ file: c.name, kind: c.kind }));
  const batches = await Promise.all(shares.map((share, b) => runBatch(share, `batch${b}`)));
  runMs = Number(process.hrtime.bigint() - runStarted) / 1e6;
  crashes = batches.flatMap((b) => b.failures);

  baseline = batches[0]!.results[0]!;
  outcomes = [];
  batches.forEach((batch, b) => {
    const offset = b === 0 ? 1 : 0;
    for (const result of batch.results) {
      if (result.index < offset) continue;
      const caseIndex = (result.index - offset) * BATCHES + b;
      let report: AuditReport;
      try {
        report = JSON.parse(result.stdout) as AuditReport;
      } catch {
        report = undefined as unknown as AuditReport;
      }
      outcomes.push({ testCase: cases[caseIndex]!, result, report });
    }
  });
}, HANG_MS + 60_000);

afterAll(async () => {
  if (outcomes) {
    const cpu = outcomes.map((o) => o.result.cpuMs).sort((a, b) => a - b);
    const rss = Math.max(...outcomes.map((o) => o.result.maxRssMiB));
    const slowest = outcomes.reduce((a, b) => (b.result.cpuMs > a.result.cpuMs ? b : a));
    console.log(
      `fuzz: seed ${SEED}, ${outcomes.length} cases (${BATCHES} children, heap cap ${HEAP_CAP_MIB} MiB): generated in ${(generateMs / 1000).toFixed(1)} s, ` +
        `audited in ${(runMs / 1000).toFixed(1)} s; CPU per case p50 ${cpu[cpu.length >> 1]!.toFixed(0)} ms, max ${cpu.at(-1)!.toFixed(0)} ms ` +
        `(${slowest.testCase.kind}); peak RSS ${rss.toFixed(0)} MiB`,
    );
  }
  await rm(dir, { recursive: true, force: true });
});

/** Runs `check` on every outcome and fails once, listing the first few cases that broke it. */
function everyCase(check: (o: Outcome) => string | undefined): void {
  const broken: string[] = [];
  for (const o of outcomes) {
    const problem = check(o);
    if (problem !== undefined) broken.push(`${JSON.stringify(o.testCase.name)} (${o.testCase.kind}): ${problem}`);
  }
  expect(broken.slice(0, 5), `${broken.length} of ${outcomes.length} cases`).toEqual([]);
}

/** The good trace's findings: rule, spans and message of those whose evidence lies only in its traces. */
function goodFindings(report: AuditReport, goodTraces: ReadonlySet<string>): string[] {
  return report.findings
    .filter((f) => {
      const traces = f.evidence.traceIds.length > 0 ? f.evidence.traceIds : [f.evidence.traceId];
      return traces.every((t) => goodTraces.has(t));
    })
    .map((f) => `${f.ruleId} ${f.evidence.spanIds.join(',')} ${f.message}`)
    .sort();
}

describe('baton audit on fuzzed input', () => {
  it('ran every case to its end in a child under the heap cap (no crash, hang or runaway memory)', () => {
    expect(crashes).toEqual([]);
    expect(outcomes).toHaveLength(cases.length);
    everyCase(({ result }) => (result.maxRssMiB > MAX_RSS_MIB ? `peak RSS ${result.maxRssMiB.toFixed(0)} MiB` : undefined));
    expect(baseline.exit).toBeLessThanOrEqual(1);
    expect(baseline.stderr).toBe('');
  });

  it('exits 0, 1 or 2, and 2 only with a reason on stderr', () => {
    everyCase(({ result }) => {
      if (![0, 1, 2].includes(result.exit)) return `exit ${result.exit}`;
      if (result.exit === 2 && result.stderr === '') return 'exit 2 with nothing on stderr';
      return undefined;
    });
  });

  it('prints each problem as one stderr line naming the bad input, with no raw control or bidi character, and never an internal error', () => {
    everyCase(({ testCase, result }) => {
      const lines = result.stderr === '' ? [] : result.stderr.replace(/\n$/, '').split('\n');
      const name = `baton: ${printable(testCase.name)}`;
      for (const line of lines) {
        if (RAW_CONTROL.test(line)) return `raw control character in ${JSON.stringify(line.slice(0, 200))}`;
        if (line.length > MAX_LINE_CHARS) return `a stderr line of ${line.length} characters`;
        if (!line.startsWith(name)) return `a line not naming the bad input: ${JSON.stringify(line.slice(0, 200))}`;
        if (/internal error|Maximum call stack|Invalid string length|heap/i.test(line)) return JSON.stringify(line.slice(0, 200));
      }
      // JSON Lines: a line per bad line, up to 20, and one saying the rest was skipped.
      if (lines.length > (testCase.lines ? 21 : 1)) return `${lines.length} stderr lines`;
      return undefined;
    });
  });

  it('audits the good trace beside each case with the same findings as alone', () => {
    const alone = JSON.parse(baseline.stdout) as AuditReport;
    const goodTraces = new Set([...goodText.matchAll(/"traceId":"([0-9a-f]{32})"/g)].map((m) => m[1]!));
    const expected = goodFindings(alone, goodTraces);
    expect(alone.inputs.spans).toBeGreaterThan(0);
    expect(expected.length).toBeGreaterThan(0);
    everyCase(({ report }) => {
      if (!report) return 'no JSON report';
      if (report.inputs.spans < alone.inputs.spans) return `${report.inputs.spans} spans, fewer than the good trace alone`;
      const found = goodFindings(report, goodTraces);
      return JSON.stringify(found) === JSON.stringify(expected) ? undefined : `good trace's findings ${JSON.stringify(found)} ≠ ${JSON.stringify(expected)}`;
    });
  });

  it('prints a JSON report valid against docs/audit-report.schema.json', () => {
    everyCase(({ report }) => {
      if (!report) return 'no JSON report';
      return validate(report) ? undefined : JSON.stringify(validate.errors?.slice(0, 2));
    });
  });

  it('renders well-formed JUnit XML and Markdown that fits a pull-request comment', () => {
    everyCase(({ report }) => {
      const junit = renderJunit(report);
      const valid = XMLValidator.validate(junit);
      if (valid !== true) return `JUnit: ${JSON.stringify(valid)}`;
      const markdown = renderMarkdown(report);
      if (markdown.length > 65_536) return `Markdown of ${markdown.length} characters`;
      if (RAW_CONTROL.test(markdown.replace(/\n/g, ''))) return 'raw control character in Markdown';
      return undefined;
    });
  });

  it('renders DOT that Graphviz draws as well-formed SVG', async () => {
    const broken: string[] = [];
    // One `dot` per chunk of graphs (it reads many graphs from one input); a failing chunk is retried graph by graph.
    const chunkSize = 50;
    for (let start = 0; start < outcomes.length; start += chunkSize) {
      const chunk = outcomes.slice(start, start + chunkSize);
      const whole = await drawDot(chunk.map((o) => renderGraph(o.report, 'dot')).join(''));
      if (whole.ok && whole.svgs === chunk.length) continue;
      for (const o of chunk) {
        const one = await drawDot(renderGraph(o.report, 'dot'));
        if (!one.ok) broken.push(`${JSON.stringify(o.testCase.name)} (${o.testCase.kind}): ${one.error}`);
      }
    }
    expect(broken.slice(0, 5), `${broken.length} of ${outcomes.length} cases`).toEqual([]);
  });
});

/** Runs Graphviz on `dot` (one or more graphs) and checks each SVG it writes is well-formed XML. */
function drawDot(dot: string): Promise<{ ok: boolean; svgs: number; error?: string }> {
  return new Promise((resolve) => {
    const child = execFile('dot', ['-Tsvg'], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return resolve({ ok: false, svgs: 0, error: `dot: ${(stderr || error.message).slice(0, 300)}` });
      const svgs = stdout.split(/(?=<\?xml )/).filter((s) => s.trim() !== '');
      for (const svg of svgs) {
        const valid = XMLValidator.validate(svg);
        if (valid !== true) return resolve({ ok: false, svgs: svgs.length, error: `SVG not well-formed: ${JSON.stringify(valid).slice(0, 300)}` });
      }
      resolve({ ok: true, svgs: svgs.length });
    });
    child.stdin!.end(dot);
  });
}
