/**
 * `baton watch` in a real terminal: tmux runs it at 80x24, a real app (the example
 * pipeline with its SDK and the OTLP protobuf exporter) sends spans to it, and
 * what the screen shows is read with capture-pane. The expectations come from
 * the app's own account of what it did (its faults' notes, its agents' order).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS } from '../../examples/pipeline/pipeline.js';
import { runBaton } from '../helpers/cli.js';
import { batonCommand, hasTmux, tmuxTerminal } from '../helpers/tmux.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const SESSION = 'watch';
const { tmux, screen, kill } = tmuxTerminal('watch-test', SESSION);
const summaryTerminal = tmuxTerminal('watch-summary-test', 'summary');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-tmux-'));
});
afterAll(async () => {
  kill();
  summaryTerminal.kill();
  await rm(dir, { recursive: true, force: true });
});

function sendPipeline(url: string, faults: string[]): Promise<{ exported: number; failed: number; results: { notes: string[] }[] }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', TSX_LOADER, join(ROOT, 'test/helpers/send-pipeline.ts'), '--url', url, '--protocol', 'http-proto', '--runs', '2', ...faults.flatMap((f) => ['--fault', f])],
      { cwd: ROOT },
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))),
    );
  });
}

describe.skipIf(!hasTmux)('baton watch in a terminal', () => {
  it('shows the edges and findings of a live app at 80x24, opens an edge, resizes, and q exits 0', async () => {
    const exitFile = join(dir, 'exit');
    const command = batonCommand(dir, 'watch --port 0 --grpc-port 0', exitFile);
    tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', command);
    await expect.poll(screen, { timeout: 60_000, interval: 200 }).toMatch(/OTLP http:\/\/127\.0\.0\.1:\d+/);
    const url = /OTLP (http:\/\/127\.0\.0\.1:\d+)/.exec(screen())![1]!;
    expect(screen()).toContain('no handoffs yet');

    const sent = await sendPipeline(url, ['ack-timeout', 'stale-read']);
    expect(sent.failed).toBe(0);
    expect(sent.results[0]!.notes.join(' ')).toMatch(/ack-timeout[\s\S]*stale-read|stale-read[\s\S]*ack-timeout/);
    await expect.poll(screen, { timeout: 60_000, interval: 250 }).toMatch(new RegExp(`spans ${sent.exported} `));
    // Every hop of the pipeline's chain, and the findings of both faults, twice each (two runs).
    const chain = AGENTS.slice(0, -1).map((a, i) => `${a} → ${AGENTS[i + 1]}`);
    await expect.poll(screen, { timeout: 60_000, interval: 250 }).toMatch(/Findings \(4\)/);
    let frame = screen();
    for (const edge of chain) expect(frame).toMatch(new RegExp(`${edge}\\s+2\\s`));
    expect(frame).toContain('ack-timeout');
    expect(frame).toContain('stale-epoch-read');
    expect(frame.split('\n').every((line) => [...line].length <= 80)).toBe(true);

    // The worst edge first; Enter opens it with its recent handoffs' trace ids.
    tmux('send-keys', '-t', SESSION, 'Enter');
    await expect.poll(screen, { timeout: 20_000, interval: 100 }).toContain('(Esc to go back)');
    expect(screen()).toMatch(/trace [0-9a-f]{32}/);
    tmux('send-keys', '-t', SESSION, 'Escape');
    await expect.poll(screen, { timeout: 20_000, interval: 100 }).not.toContain('(Esc to go back)');

    // Wider terminal: the sparkline column appears.
    tmux('resize-window', '-t', SESSION, '-x', '120', '-y', '30');
    await expect.poll(screen, { timeout: 20_000, interval: 100 }).toContain('RECENT');
    frame = screen();
    expect(frame).toMatch(/P99\s+MAX/);

    tmux('send-keys', '-t', SESSION, 'q');
    await expect.poll(async () => readFile(exitFile, 'utf8').catch(() => ''), { timeout: 30_000, interval: 200 }).toBe('0\n');
  }, 240_000);

  it('prints the summary after q wrapped to the terminal, so no number is broken at its edge', async () => {
    const inputs = ['ack-timeout.json', 'cycle.json'].map((f) => join(FIXTURES_DIR, f));
    const exitFile = join(dir, 'summary-exit');
    // `sleep` keeps the pane open to read what the command printed last.
    const command = batonCommand(dir, `watch --port 0 --grpc-port 0 --speed max ${inputs.map((i) => JSON.stringify(i)).join(' ')}`, exitFile, 'sleep 600');
    summaryTerminal.tmux('new-session', '-d', '-s', 'summary', '-x', '80', '-y', '24', command);
    await expect.poll(summaryTerminal.screen, { timeout: 60_000, interval: 250 }).toMatch(/Findings \(2\)/);
    summaryTerminal.tmux('send-keys', '-t', 'summary', 'q');
    await expect.poll(async () => readFile(exitFile, 'utf8').catch(() => ''), { timeout: 30_000, interval: 200 }).toBe('0\n');
    // -J joins the lines the terminal wrapped itself: each printed line must fit on its own.
    const printed = summaryTerminal.scrollback();
    const summary = printed.slice(printed.lastIndexOf('baton watch: '));
    expect(summary).toContain('2 findings:');
    for (const line of summary.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    // Every finding the audit of the same traces reports, whole once its continuation lines are rejoined.
    const audit = await runBaton(['audit', '--format', 'json', ...inputs], { cwd: dir });
    const messages = (JSON.parse(audit.stdout) as { findings: { message: string }[] }).findings.map((f) => f.message);
    expect(messages).toHaveLength(2);
    const rejoined = summary.replace(/\n {4}/g, ' ');
    for (const message of messages) expect(rejoined).toContain(message);
  }, 120_000);
});
