/**
 * `baton demo` in a real terminal, as the README's first command runs: tmux
 * starts it at 80x24, and what the screen shows is read with capture-pane. The
 * dashboard must show the pipeline's edges and, once the demo says it injected
 * a fault, that fault's finding; q ends the demo early with status 0, and the
 * audit of what was recorded is still printed after the last frame.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS, FAULTS } from '../../examples/pipeline/pipeline.js';
import { runBaton } from '../helpers/cli.js';
import { batonCommand, hasTmux, tmuxTerminal } from '../helpers/tmux.js';

const SESSION = 'demo';
const { tmux, screen, scrollback, kill } = tmuxTerminal('demo-test', SESSION);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-demo-tmux-'));
});
afterAll(async () => {
  kill();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTmux)('baton demo in a terminal', () => {
  it('shows the edges and an injected fault\'s finding live at 80x24; q ends it with status 0 and the audit follows', async () => {
    const exitFile = join(dir, 'exit');
    // A long --duration: only q can end it within the test. The pane is kept after the demo ends, to read what it printed.
    const command = batonCommand(dir, 'demo --duration 10m --out demo.jsonl', exitFile, 'sleep 600');
    tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', command);
    await expect.poll(screen, { timeout: 90_000, interval: 250 }).toMatch(/OTLP http:\/\/127\.0\.0\.1:\d+/);

    // The demo says in its header which fault it injected into which task (the first of the list comes first).
    await expect.poll(screen, { timeout: 90_000, interval: 250 }).toMatch(new RegExp(`! (\\S+-\\d{4}): injected ${FAULTS[0]}`));
    const chain = AGENTS.slice(0, -1).map((a, i) => `${a} → ${AGENTS[i + 1]}`);
    // Its finding (a deadlock) once the trace settled, and every hop of the chain by then.
    await expect.poll(screen, { timeout: 90_000, interval: 250 }).toMatch(/error\s+dependency-cycle/);
    const frame = screen();
    for (const edge of chain) expect(frame).toMatch(new RegExp(`${edge}\\s+\\d+\\s`));
    expect(frame).toMatch(/Findings \(\d+\)/);
    expect(frame.split('\n').every((line) => [...line].length <= 80)).toBe(true);

    tmux('send-keys', '-t', SESSION, 'q');
    await expect.poll(async () => readFile(exitFile, 'utf8').catch(() => ''), { timeout: 60_000, interval: 200 }).toBe('0\n');
    // After the last frame: the pipeline's account, then the audit of the recording, which has the finding too.
    const after = scrollback();
    expect(after).toMatch(/Pipeline: \d+ tasks/);
    expect(after).toContain('baton audit demo.jsonl');
    const audit = await runBaton(['audit', '--format', 'json', 'demo.jsonl'], { cwd: dir });
    const rules = (JSON.parse(audit.stdout) as { findings: { ruleId: string }[] }).findings.map((f) => f.ruleId);
    expect(rules).toContain('dependency-cycle');
  }, 300_000);
});
