/** `baton audit` and `baton graph` as a user runs them (see test/helpers/cli.ts). */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_IDS } from '../../src/analyze/detectors/index.js';
import { DIALECT_IDS } from '../../src/analyze/dialects/index.js';
import { OtlpJsonFileSpanExporter } from '../../src/export/index.js';
import { runBaton, type CliRun } from '../helpers/cli.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Run = CliRun;

const baton = (args: string[], options: { cwd?: string; input?: Buffer | string } = {}): Promise<Run> =>
  runBaton(args, { cwd: options.cwd ?? FIXTURES_DIR, ...(options.input !== undefined ? { input: options.input } : {}) });

/** An OTLP request with two plain HTTP spans: no vocabulary Baton reads, so no rule has anything to check. */
function httpOnlyRequest(): string {
  const span = (spanId: string, name: string, startMs: number) => ({
    traceId: '11111111111111111111111111111111',
    spanId,
    name,
    kind: 2,
    startTimeUnixNano: `${startMs}000000`,
    endTimeUnixNano: `${startMs + 5}000000`,
    attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }],
  });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
        scopeSpans: [{ scope: { name: 'http' }, spans: [span('aaaaaaaaaaaaaaaa', 'GET /', 1_795_573_465_205), span('bbbbbbbbbbbbbbbb', 'GET /cart', 1_795_573_465_305)] }],
      },
    ],
  });
}

let work: string;
/** A directory of inputs with nothing to audit: `none.json` (no spans), `http.json` (spans no rule can use), `all-off.json` (a config turning every rule off). */
let nothing: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-cli-'));
  nothing = join(work, 'nothing');
  await mkdir(nothing);
  await writeFile(join(nothing, 'none.json'), JSON.stringify({ resourceSpans: [] }));
  await writeFile(join(nothing, 'http.json'), httpOnlyRequest());
  const ruleIds = RULE_IDS;
  await writeFile(join(nothing, 'all-off.json'), JSON.stringify({ rules: Object.fromEntries(ruleIds.map((id) => [id, 'off'])) }));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('baton audit', () => {
  it('exits 0 on the clean fixture and says which rules checked what', async () => {
    const run = await baton(['audit', 'clean.json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('triage');
    expect(run.stdout).toContain('reviewer');
    expect(run.stdout).not.toMatch(/\u001b\[/);
  });

  it('exits 1 with findings at or above --fail-on, 0 with --fail-on never', async () => {
    const failing = await baton(['audit', 'stale-read.json']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('stale-epoch-read');
    const never = await baton(['audit', '--fail-on', 'never', 'stale-read.json']);
    expect(never.code).toBe(0);
  });

  it('--rule limits the audit to the rules named', async () => {
    const run = await baton(['audit', '--rule', 'context-loss', '--format', 'json', 'stale-read.json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.findings).toEqual([]);
    type Rule = { ruleId: string; status: string };
    expect(report.rules.filter((r: Rule) => r.status !== 'off').map((r: Rule) => r.ruleId)).toEqual(['context-loss']);
    // The rules left out are listed as off (report version 2), never as checked.
    expect(report.rules.filter((r: Rule) => r.ruleId !== 'context-loss').every((r: Rule) => r.status === 'off')).toBe(true);
  });

  it('--format json prints a report that validates against docs/audit-report.schema.json', async () => {
    const schema = JSON.parse(await readFile(join(ROOT, 'docs', 'audit-report.schema.json'), 'utf8'));
    const ajv = new Ajv2020({ strict: false });
    (addFormatsModule as unknown as { default: (a: Ajv2020) => void }).default?.(ajv) ?? (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
    const validate = ajv.compile(schema);
    const fixtures = (await readdir(FIXTURES_DIR)).filter((f) => f.endsWith('.json'));
    const run = await baton(['audit', '--format', 'json', ...fixtures]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    const rules = new Set(report.findings.map((f: { ruleId: string }) => f.ruleId));
    for (const rule of ['dependency-cycle', 'stale-epoch-read', 'duplicate-write', 'partial-handoff', 'ack-timeout', 'schema-drift', 'context-blowup', 'context-loss', 'unlinked-handoff']) {
      expect(rules, rule).toContain(rule);
    }
  });

  it('--format junit prints well-formed XML with one failing test case per finding', async () => {
    const run = await baton(['audit', '--format', 'junit', '--fail-on', 'warning', 'ack-timeout.json']);
    expect(run.code).toBe(1);
    expect(XMLValidator.validate(run.stdout)).toBe(true);
    const xml = new XMLParser({ ignoreAttributes: false, isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(run.stdout);
    const cases = xml.testsuites.testsuite.flatMap((s: { testcase?: unknown[] }) => s.testcase ?? []);
    const failures = cases.filter((c: { failure?: unknown }) => c.failure !== undefined);
    expect(failures.length).toBeGreaterThan(0);
    expect(JSON.stringify(failures)).toContain('ack-timeout');
  });

  it('--format markdown prints a table for a pull-request comment', async () => {
    const run = await baton(['audit', '--format', 'markdown', 'schema-drift.json']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^\|.*\|$/m);
    expect(run.stdout).toContain('schema-drift');
  });

  it('reads stdin for -', async () => {
    const run = await baton(['audit', '--format', 'json', '--fail-on', 'warning', '-'], {
      input: await readFile(join(FIXTURES_DIR, 'context-loss.json')),
    });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).findings.map((f: { ruleId: string }) => f.ruleId)).toContain('context-loss');
  });

  it('reads a baton.config.json from the working directory and turns a rule off', async () => {
    await writeFile(join(work, 'baton.config.json'), JSON.stringify({ rules: { 'stale-epoch-read': 'off' } }));
    const run = await baton(['audit', join(FIXTURES_DIR, 'stale-read.json')], { cwd: work });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Off, and said so: never missing from the report.
    expect(run.stdout).toMatch(/^ {2}stale-epoch-read +— +— +off$/m);
  });

  it.each([
    [['audit'], /^baton audit: no input/],
    [['audit', '--format', 'yaml', 'clean.json'], /^baton audit: --format must be one of/],
    [['audit', '--fail-on', 'sometimes', 'clean.json'], /^baton audit: --fail-on must be one of/],
    [['audit', '--rule', 'nope', 'clean.json'], /^baton audit: unknown rule "nope"/],
    [['audit', '--bogus', 'clean.json'], /^baton audit: /],
    [['audit', 'missing.json'], /^baton: missing\.json: no such file or directory$/m],
    [['audit', 'malformed/truncated.json'], /^baton: malformed\/truncated\.json:1:3001: invalid JSON/m],
    [['audit', 'malformed/garbage.bin'], /^baton: malformed\/garbage\.bin( \(byte \d+\))?: neither OTLP\/JSON nor OTLP protobuf/m],
    [['audit', 'malformed/bad-protobuf.pb'], /^baton: malformed\/bad-protobuf\.pb.*: not an OTLP protobuf trace request/m],
    [['audit', 'malformed/wrong-shape.json'], /^baton: malformed\/wrong-shape\.json:1: resourceSpans\[0\]/m],
    [['audit', '--config', 'missing-config.json', 'clean.json'], /^baton: missing-config\.json: cannot read: no such file$/m],
  ])('baton %j: one line on stderr, exit 2, no stack', async (args, expected) => {
    const run = await baton(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('with several bad inputs, one line each and a last line saying nothing was read, exit 2', async () => {
    const run = await baton(['audit', 'malformed/truncated.json', 'missing.json']);
    expect(run.code).toBe(2);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^baton: malformed\/truncated\.json:1:3001: invalid JSON/);
    expect(lines[1]).toBe('baton: missing.json: no such file or directory');
    expect(lines[2]).toMatch(/^baton: no trace could be read from /);
  });

  it('exits 1 with one stderr line on an input with no spans, unless --allow-empty', async () => {
    const run = await baton(['audit', '--format', 'json', 'none.json'], { cwd: nothing });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('baton: nothing to audit: 0 spans in none.json (pass --allow-empty to accept)\n');
    // --fail-on is about findings; it does not accept an audit of nothing.
    expect((await baton(['audit', '--format', 'json', '--fail-on', 'never', 'none.json'], { cwd: nothing })).code).toBe(1);
    const stdin = await baton(['audit', '--format', 'json', '-'], { cwd: nothing, input: JSON.stringify({ resourceSpans: [] }) });
    expect(stdin.code).toBe(1);
    expect(stdin.stderr).toBe('baton: nothing to audit: 0 spans in stdin (pass --allow-empty to accept)\n');
    const allowed = await baton(['audit', '--format', 'json', '--allow-empty', 'none.json'], { cwd: nothing });
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout).inputs.spans).toBe(0);
  });

  it('audits a directory where one process traced nothing: its exporter\'s empty file is no input error', async () => {
    // OtlpJsonFileSpanExporter opens its file when constructed, so a worker that never traced leaves it empty.
    const traces = join(work, 'one-idle-worker');
    await mkdir(traces);
    await writeFile(join(traces, 'pipeline.json'), await readFile(join(FIXTURES_DIR, 'clean.json')));
    const idle = new OtlpJsonFileSpanExporter(join(traces, 'worker-4242.jsonl'));
    await idle.shutdown();
    expect((await readFile(join(traces, 'worker-4242.jsonl'))).length).toBe(0);
    const withPipeline = await baton(['audit', '--format', 'json', traces]);
    expect(withPipeline.stderr).toBe('');
    expect(withPipeline.code).toBe(0);
    const alone = await baton(['audit', '--format', 'json', join(traces, 'worker-4242.jsonl')]);
    expect(alone.stderr).toBe(`baton: nothing to audit: 0 spans in ${join(traces, 'worker-4242.jsonl')} (pass --allow-empty to accept)\n`);
    expect(alone.code).toBe(1);
    const accepted = await baton(['audit', '--format', 'json', '--allow-empty', join(traces, 'worker-4242.jsonl')]);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout).inputs.spans).toBe(0);
  });

  it('fits --explain to 80 columns when piped, a span\'s reason wrapped under its name, and loses none of it', async () => {
    // A real LangGraph run: its ignored spans carry reasons far longer than a line.
    const input = join(FIXTURES_DIR, 'frameworks', 'langgraph', 'circular.otlp.json');
    const text = await baton(['audit', '--explain', '--fail-on', 'never', input]);
    expect(text.code).toBe(0);
    const explained = text.stdout.slice(text.stdout.indexOf('\nExplain  ') + 1);
    for (const line of explained.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    const json = await baton(['audit', '--explain', '--format', 'json', '--fail-on', 'never', input]);
    const groups = (JSON.parse(json.stdout) as { explain: { ignored: { spanId: string; name: string; reason: string }[] }[] }).explain;
    const ignored = groups.flatMap((g) => g.ignored);
    expect(ignored.some((span) => `    ${span.spanId}  ${span.name}: ${span.reason}`.length > 80)).toBe(true);
    // Continuation lines hang under the span's name (22 columns in): rejoined, each reason is whole.
    const rejoined = explained.replace(/\n {22}(?=\S)/g, ' ');
    for (const span of ignored) expect(rejoined).toContain(`    ${span.spanId}  ${span.name}: ${span.reason}`);
  });

  it('exits 1 with one stderr line when no rule could run on the spans, unless --allow-empty', async () => {
    const run = await baton(['audit', '--format', 'json', 'http.json'], { cwd: nothing });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'baton: no rule could run on 2 spans: none records what the rules need (see the report; pass --allow-empty to accept)\n',
    );
    // The report still goes to stdout: it says why.
    expect(JSON.parse(run.stdout).findings).toEqual([]);
    const allowed = await baton(['audit', '--format', 'json', '--allow-empty', 'http.json'], { cwd: nothing });
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
  });

  it('exits 1 when every rule is off, unless --allow-empty', async () => {
    const clean = join(FIXTURES_DIR, 'clean.json');
    const run = await baton(['audit', '--format', 'json', '--config', 'all-off.json', clean], { cwd: nothing });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('baton: nothing to audit: every rule is off in the config or left out by --rule (pass --allow-empty to accept)\n');
    expect((await baton(['audit', '--format', 'json', '--config', 'all-off.json', '--allow-empty', clean], { cwd: nothing })).code).toBe(0);
  });

  it('--dialect takes a known dialect id and rejects any other with exit 2', async () => {
    const run = await baton(['audit', '--format', 'json', '--dialect', 'baton', 'clean.json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const bad = await baton(['audit', '--dialect', 'zipkin', 'clean.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`baton audit: --dialect must be one of ${DIALECT_IDS.join(', ')}, not "zipkin"\n`);
  });

  it('--help documents --dialect, --now, --allow-empty and the exit codes', async () => {
    const run = await baton(['audit', '--help']);
    expect(run.code).toBe(0);
    const help = run.stdout.replace(/\s+/g, ' ');
    expect(help).toContain(
      `--dialect <id> read every trace group as this vocabulary (default: each span as the first vocabulary that claims it); one of: ${DIALECT_IDS.join(' ')}`,
    );
    expect(help).toContain('--now <iso> the time "now" for never-acknowledged handoffs (default: the end of all input)');
    expect(help).toContain('--explain per trace: the dialect chosen, the spans it interpreted and ignored (with the reason)');
    expect(help).toContain('--allow-empty accept an audit of nothing: no spans, or no rule could run (exit 0, not 1)');
    expect(help).toContain(
      'Exit codes: 0 clean; 1 findings at or above --fail-on, or nothing to audit (no spans, or no rule could run; see --allow-empty); 2 usage error or unreadable input.',
    );
  });

  it('a bad config is a one-line error naming the file and the failing path', async () => {
    await writeFile(join(work, 'bad.config.json'), JSON.stringify({ rules: { 'ack-timeout': { budgetMs: 'soon' } } }));
    const run = await baton(['audit', '--config', 'bad.config.json', join(FIXTURES_DIR, 'clean.json')], { cwd: work });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('baton: bad.config.json:1:26: /rules/ack-timeout: unknown option "budgetMs"; known: defaultBudgetMs\n');
  });

  it('with a bad input among good ones, audits the good ones, lists the bad one and exits 2', async () => {
    const run = await baton(['audit', '--format', 'json', 'clean.json', 'missing.json', 'stale-read.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('baton: missing.json: no such file or directory\n');
    const report = JSON.parse(run.stdout);
    expect(report.inputs.problems).toEqual([{ location: 'missing.json', message: 'no such file or directory' }]);
    expect(report.findings.map((f: { ruleId: string }) => f.ruleId)).toContain('stale-epoch-read');
  });

  it('joins the spans of one trace spread over several files into the same findings', async () => {
    const whole = await baton(['audit', '--format', 'json', 'stale-read.json']);
    const request = JSON.parse(await readFile(join(FIXTURES_DIR, 'stale-read.json'), 'utf8'));
    const spans = request.resourceSpans[0].scopeSpans[0].spans as unknown[];
    const part = (from: number, to: number) =>
      JSON.stringify({
        resourceSpans: [{ ...request.resourceSpans[0], scopeSpans: [{ ...request.resourceSpans[0].scopeSpans[0], spans: spans.slice(from, to) }] }],
      });
    const half = Math.floor(spans.length / 2);
    // Its own directory: no baton.config.json from another test applies.
    const dir = join(work, 'split');
    await mkdir(dir);
    await writeFile(join(dir, 'split-b.json'), part(half, spans.length));
    await writeFile(join(dir, 'split-a.jsonl'), `${part(0, half)}\n`);
    const split = await baton(['audit', '--format', 'json', 'split-b.json', 'split-a.jsonl'], { cwd: dir });
    expect(split.code).toBe(1);
    const evidence = (run: Run) => JSON.parse(run.stdout).findings.map((f: { ruleId: string; evidence: unknown }) => [f.ruleId, f.evidence]);
    expect(evidence(split)).toEqual(evidence(whole));
  });

  it('never overwrites or changes its inputs', async () => {
    const before = await readFile(join(FIXTURES_DIR, 'cycle.json'));
    await baton(['audit', 'cycle.json']);
    expect(await readFile(join(FIXTURES_DIR, 'cycle.json'))).toEqual(before);
  });
});

describe('baton graph', () => {
  it('prints Mermaid with every pipeline edge with --format mermaid', async () => {
    const run = await baton(['graph', '--format', 'mermaid', 'clean.json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^(flowchart|graph) /m);
    for (const agent of ['triage', 'research', 'analysis', 'writer', 'reviewer']) expect(run.stdout).toContain(agent);
  });

  it('prints DOT with the cycle highlighted', async () => {
    const run = await baton(['graph', '--format', 'dot', 'cycle.json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^digraph /m);
    expect(run.stdout).toMatch(/color\s*=\s*"?red/);
  });

  it('exits 1 with one stderr line on a graph of nothing, unless --allow-empty', async () => {
    const none = await baton(['graph', 'none.json'], { cwd: nothing });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('baton: nothing to draw: 0 spans in none.json (pass --allow-empty to accept)\n');
    const http = await baton(['graph', '--format', 'json', 'http.json'], { cwd: nothing });
    expect(http.code).toBe(1);
    expect(http.stderr).toBe('baton: nothing to draw: no agent in 2 spans (pass --allow-empty to accept)\n');
    const allowed = await baton(['graph', '--format', 'json', '--allow-empty', 'none.json'], { cwd: nothing });
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toEqual({ nodes: [], edges: [], cycles: [] });
  });

  it('--dialect takes a known dialect id and rejects any other with exit 2', async () => {
    expect((await baton(['graph', '--dialect', 'otel-genai', '--format', 'json', 'clean.json'])).stderr).not.toMatch(/dialect/);
    const bad = await baton(['graph', '--dialect', 'zipkin', 'clean.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`baton graph: --dialect must be one of ${DIALECT_IDS.join(', ')}, not "zipkin"\n`);
    const help = (await baton(['graph', '--help'])).stdout;
    expect(help.replace(/\s+/g, ' ')).toContain(
      `--dialect <id> read every trace group as this vocabulary (default: each span as the first vocabulary that claims it); one of: ${DIALECT_IDS.join(' ')}`,
    );
    expect(help).toContain('--allow-empty');
  });

  it('prints JSON nodes, edges and cycles', async () => {
    const run = await baton(['graph', '--format', 'json', 'clean.json']);
    expect(run.code).toBe(0);
    const graph = JSON.parse(run.stdout);
    expect(graph.nodes.length).toBeGreaterThanOrEqual(5);
    expect(graph.edges.length).toBeGreaterThanOrEqual(4);
    expect(graph.cycles).toEqual([]);
  });
});
