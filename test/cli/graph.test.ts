/**
 * `baton graph` in-process through the CLI's IO seam: the terminal edge list
 * by default (wait-for edges waiter → awaited, colour only on a terminal), the
 * other formats on request, and a graph of nothing as exit 1.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Baton } from '../../src/sdk/baton.js';
import { printable } from '../../src/report/format.js';
import { runBatonInProcess } from '../helpers/cli.js';
import { createOtelHarness } from '../helpers/otel.js';
import { FIXTURES_DIR, toOtlpJson } from '../helpers/traces.js';

const graph = (args: string[], ttyColumns?: number) =>
  runBatonInProcess(['graph', ...args], { cwd: FIXTURES_DIR, ...(ttyColumns !== undefined ? { ttyColumns } : {}) });

/** A target agent whose name no 80-column line holds, with an escape sequence in it (names come from traces). */
const LONG_AGENT = 'research-and-competitive-pricing-analysis-agent-for-b2b-vendors-in-north-america\u001b[2J-eu';

let empty: string;
beforeAll(async () => {
  empty = await mkdtemp(join(tmpdir(), 'baton-graph-'));
  await writeFile(join(empty, 'none.json'), JSON.stringify({ resourceSpans: [] }));
  // Two handoffs triage → LONG_AGENT, sent and received through the real SDK.
  const otel = createOtelHarness('graph-width');
  const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  for (const task of ['t-1', 't-2']) {
    const envelope = { task_id: task, source_agent: 'triage', target_agent: LONG_AGENT, status: 'complete', output: { summary: 'ok' } };
    baton.receive(JSON.stringify(baton.send(envelope, { timeoutBudgetMs: 30_000 })));
  }
  await writeFile(join(empty, 'long-agent.json'), toOtlpJson(otel.spans()));
  await otel.shutdown();
});
afterAll(async () => {
  await rm(empty, { recursive: true, force: true });
});

describe('baton graph (in-process)', () => {
  it('prints the pipeline as an indented edge list by default, agents in the order work flows', async () => {
    const run = await graph(['clean.json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const agents = run.stdout.split('\n').filter((line) => /^[a-z]/.test(line));
    expect(agents).toEqual(['coordinator', 'triage', 'research', 'analysis', 'writer', 'reviewer']);
    for (const [source, target] of [
      ['triage', 'research'],
      ['research', 'analysis'],
      ['analysis', 'writer'],
      ['writer', 'reviewer'],
    ]) {
      expect(run.stdout).toMatch(new RegExp(`^${source}\\n  └─ → ${target}  1 handoff · p95 [\\d.]+ ms$`, 'm'));
    }
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('draws the deadlock of cycle.json as wait-for edges, each agent waiting on the next of the cycle', async () => {
    const run = await graph(['cycle.json']);
    expect(run.code).toBe(0);
    // The pipeline's own log for this fault: research waits on reviewer, which waits (via writer, analysis) on research.
    for (const [waiter, awaited] of [
      ['research', 'reviewer'],
      ['reviewer', 'writer'],
      ['writer', 'analysis'],
      ['analysis', 'research'],
    ]) {
      expect(run.stdout).toContain(`${waiter}  (on a cycle)\n  └─ ⇢ waits on ${awaited}  (declared dependency, no handoff)  on a cycle\n`);
    }
    expect(run.stdout).toContain('cycle: research → reviewer → writer → analysis → research');
  });

  it('colours the cycle on a terminal, unless --no-color', async () => {
    expect((await graph(['cycle.json'], 100)).stdout).toContain('\u001b[31m');
    expect((await graph(['--no-color', 'cycle.json'], 100)).stdout).not.toContain('\u001b[');
  });

  it('prints Mermaid, DOT and JSON on request, with wait-for edges the same way round', async () => {
    const mermaid = await graph(['--format', 'mermaid', 'cycle.json']);
    expect(mermaid.stdout).toMatch(/^flowchart LR$/m);
    expect(mermaid.stdout).toContain('-.->|"waits on"|');
    const dot = await graph(['--format', 'dot', 'cycle.json']);
    // DOT names nodes by id and shows the agent as its label: the writer waits on analysis.
    const idOf = (agent: string) => new RegExp(`^\\s*(\\w+) \\[label="${agent}"`, 'm').exec(dot.stdout)?.[1];
    expect(dot.stdout).toContain(`${idOf('writer')} -> ${idOf('analysis')} [label="waits on", style=dashed`);
    const json = JSON.parse((await graph(['--format', 'json', 'cycle.json'])).stdout) as { edges: { source: string; target: string; kind: string }[] };
    expect(json.edges.filter((e) => e.kind === 'dependency').map((e) => `${e.source} → ${e.target}`).sort()).toEqual(
      ['analysis → research', 'research → reviewer', 'reviewer → writer', 'writer → analysis'],
    );
  });

  it('wraps long edge lines to 80 columns when piped, with a hanging indent, the name escaped as unwrapped', async () => {
    const piped = await runBatonInProcess(['graph', 'long-agent.json'], { cwd: empty });
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    const lines = piped.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(piped.stdout).not.toContain('\u001b');
    // The edge starts under triage and goes on, 7 columns in, until its label.
    const start = lines.indexOf('triage') + 1;
    expect(lines[start]).toMatch(/^ {2}└─ → research-and-competitive/);
    expect(lines[start + 1]).toMatch(/^ {7}\S/);
    const wide = await runBatonInProcess(['graph', 'long-agent.json'], { cwd: empty, env: { COLUMNS: '1000' } });
    const edge = wide.stdout.split('\n').find((line) => line.startsWith('  └─ → '))!;
    expect(edge).toMatch(new RegExp(`^ {2}└─ → ${printable(LONG_AGENT).replace(/[\\[\]]/g, '\\$&')} {2}2 handoffs · p95 [\\d.]+ ms$`));
    // Wrapping moves text, never drops or re-escapes it.
    const joined = (text: string) => text.replace(/[\s│├└─]/g, '');
    expect(joined(piped.stdout)).toBe(joined(wide.stdout));
  });

  it('wraps to the terminal’s width, and to $COLUMNS over it', async () => {
    const atTerminal = await runBatonInProcess(['graph', '--no-color', 'long-agent.json'], { cwd: empty, ttyColumns: 120 });
    expect(atTerminal.stdout.split('\n').some((line) => line.length > 80)).toBe(true);
    for (const line of atTerminal.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
    const narrow = await runBatonInProcess(['graph', '--no-color', 'long-agent.json'], { cwd: empty, ttyColumns: 120, env: { COLUMNS: '50' } });
    for (const line of narrow.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(50);
  });

  it('exits 1 on a graph of nothing, 0 with --allow-empty', async () => {
    const none = await runBatonInProcess(['graph', 'none.json'], { cwd: empty });
    expect(none).toEqual({ code: 1, stdout: 'no agents\n', stderr: 'baton: nothing to draw: 0 spans in none.json (pass --allow-empty to accept)\n' });
    expect((await runBatonInProcess(['graph', '--allow-empty', 'none.json'], { cwd: empty })).code).toBe(0);
  });
});
