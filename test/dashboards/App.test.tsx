import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App, filterView } from '../../dashboards/App.js';
import { agent, edge, finding, view } from './views.js';

// ink-testing-library renders 100 columns; layouts are given the size explicitly.
const W = 100;
const H = 30;

const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

async function press(stdin: { write(data: string): void }, ...keys: string[]) {
  for (const key of keys) {
    stdin.write(key);
    await tick();
  }
}

const busy = view({
  edges: [edge('writer', 'reviewer', { p95Ms: 900, failures: 2 }), edge('triage', 'research', { p95Ms: 30, handoffs: 50 }), edge('research', 'analysis', { p95Ms: 5 })],
  agents: [agent('writer', { state: 'waiting', waitingOn: ['reviewer'] }), agent('reviewer', { state: 'working', task: 'task-7' }), agent('triage', { state: 'failed' })],
  findings: [finding(2, { severity: 'error', ruleId: 'stale-epoch-read', message: 'analysis read stale data', agents: ['analysis', 'research'] }), finding(1)],
  findingsTotal: 2,
});

afterEach(() => vi.restoreAllMocks());

describe('App', () => {
  it('shows the header counters, every edge worst first, agents and findings', () => {
    const { lastFrame } = render(<App view={busy} width={W} height={H} onQuit={() => {}} />);
    const frame = lastFrame()!;
    expect(frame).toContain('OTLP http://127.0.0.1:4318');
    expect(frame).toMatch(/spans 1,234 \(52\/s\)\s+rejected 2\s+throttled 5\s+aged out 1/);
    const rows = ['writer → reviewer', 'triage → research', 'research → analysis'].map((e) => frame.indexOf(e));
    expect(rows.every((i) => i > 0)).toBe(true);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
    expect(frame).toMatch(/writer\s+waiting.*waiting on reviewer/);
    expect(frame).toMatch(/reviewer\s+working.*task task-7/);
    expect(frame).toMatch(/triage\s+failed/);
    expect(frame.indexOf('stale-epoch-read')).toBeLessThan(frame.indexOf('finding number 1'));
  });

  it('says so before anything arrived', () => {
    const { lastFrame } = render(<App view={view()} width={W} height={H} onQuit={() => {}} />);
    expect(lastFrame()).toContain('no handoffs yet');
    expect(lastFrame()).toContain('none seen yet');
    expect(lastFrame()).toContain('none so far');
  });

  it('redraws with the new view on rerender, keeping the selected edge selected', async () => {
    const { lastFrame, rerender, stdin } = render(<App view={busy} width={W} height={H} onQuit={() => {}} />);
    await press(stdin, 'j', '\r');
    expect(lastFrame()).toContain('triage → research (Esc to go back)');
    // A new view where the selected edge moved to the top: the detail stays on it.
    const next = { ...busy, edges: [edge('triage', 'research', { p95Ms: 5000, handoffs: 51 }), ...busy.edges.filter((e) => e.source !== 'triage')] };
    rerender(<App view={next} width={W} height={H} onQuit={() => {}} />);
    expect(lastFrame()).toContain('triage → research (Esc to go back)');
    expect(lastFrame()).toContain('handoffs 51');
  });

  it('opens an edge in detail with Enter: histogram, recent handoffs with trace ids, its findings; Esc goes back', async () => {
    const withFinding = { ...busy, findings: [finding(3, { agents: ['writer', 'reviewer'], message: 'late ack on writer to reviewer' }), ...busy.findings] };
    const { lastFrame, stdin } = render(<App view={withFinding} width={W} height={H} onQuit={() => {}} />);
    await press(stdin, '\r');
    const frame = lastFrame()!;
    expect(frame).toContain('writer → reviewer (Esc to go back)');
    expect(frame).toContain('Recent latency (last 5)');
    expect(frame).toContain(`trace ${'aa'.repeat(16)}`);
    expect(frame).toContain('late ack on writer to reviewer');
    expect(frame).not.toContain('analysis read stale data');
    await press(stdin, '\u001b');
    await tick();
    expect(lastFrame()).not.toContain('Esc to go back');
    expect(lastFrame()).toContain('Agents (3)');
  });

  it('filters by agent with /, keeps the filter on Enter and clears it on Esc', async () => {
    const { lastFrame, stdin } = render(<App view={busy} width={W} height={H} onQuit={() => {}} />);
    await press(stdin, '/', 'a', 'n', 'a', '\r');
    let frame = lastFrame()!;
    expect(frame).toContain('filter /ana');
    expect(frame).toContain('research → analysis');
    expect(frame).not.toContain('writer → reviewer');
    expect(frame).toContain('analysis read stale data');
    expect(frame).not.toContain('finding number 1');
    await press(stdin, '\u001b');
    await tick();
    frame = lastFrame()!;
    expect(frame).toContain('writer → reviewer');
  });

  it('pauses with p: the frame stays as it was while new views arrive, and p resumes', async () => {
    const { lastFrame, rerender, stdin } = render(<App view={busy} width={W} height={H} onQuit={() => {}} />);
    await press(stdin, 'p');
    expect(lastFrame()).toContain('[PAUSED]');
    const later = { ...busy, counters: { ...busy.counters, accepted: 99_999 } };
    rerender(<App view={later} width={W} height={H} onQuit={() => {}} />);
    expect(lastFrame()).toContain('spans 1,234');
    await press(stdin, 'p');
    expect(lastFrame()).toContain('spans 99,999');
  });

  it('sorts by count and by name with s', async () => {
    const { lastFrame, stdin } = render(<App view={busy} width={W} height={H} onQuit={() => {}} />);
    await press(stdin, 's');
    expect(lastFrame()).toContain('most handoffs first');
    expect(lastFrame()!.indexOf('triage → research')).toBeLessThan(lastFrame()!.indexOf('writer → reviewer'));
    await press(stdin, 's');
    expect(lastFrame()).toContain('by name');
    expect(lastFrame()!.indexOf('research → analysis')).toBeLessThan(lastFrame()!.indexOf('triage → research'));
  });

  it('shows the keys with ? and quits with q', async () => {
    const onQuit = vi.fn();
    const { lastFrame, stdin } = render(<App view={busy} width={W} height={H} onQuit={onQuit} />);
    await press(stdin, '?');
    expect(lastFrame()).toContain('filter by agent name');
    expect(onQuit).not.toHaveBeenCalled();
    await press(stdin, 'q');
    expect(onQuit).toHaveBeenCalledTimes(1);
  });

  it('fits 80x24: no line wider than 80, the table keeps latency and failure columns', () => {
    const many = { ...busy, edges: Array.from({ length: 30 }, (_, i) => edge(`agent-${i}`, `agent-${i + 1}`, { p95Ms: 100 - i })) };
    const { lastFrame } = render(<App view={many} width={80} height={24} onQuit={() => {}} />);
    const lines = lastFrame()!.split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
    expect(lastFrame()).toMatch(/P50\s+P95\s+FAIL/);
    expect(lastFrame()).toMatch(/rows 1–\d+ of 30/);
  });

  it('keeps the selection in view when moving past the visible rows', async () => {
    const many = { ...busy, edges: Array.from({ length: 30 }, (_, i) => edge(`agent-${i}`, `agent-${i + 1}`, { p95Ms: 100 - i })) };
    const { lastFrame, stdin } = render(<App view={many} width={80} height={24} onQuit={() => {}} />);
    await press(stdin, 'G', '\r');
    expect(lastFrame()).toContain('agent-29 → agent-30 (Esc to go back)');
  });

  it('prints trace text escaped: no control characters or bidi overrides reach the terminal', () => {
    const hostile = view({
      edges: [edge('evil\u001b[2J', 'x')],
      agents: [agent('name\nwith newline'), agent('x\u202eyz')],
      findings: [finding(1, { message: 'bell\u0007 and \u001b]0;title\u0007' })],
      findingsTotal: 1,
    });
    const { lastFrame } = render(<App view={hostile} width={W} height={H} onQuit={() => {}} />);
    const frame = lastFrame()!;
    expect(frame).toContain('evil\\u001b[2J');
    expect(frame).toContain('x\\u202eyz');
    expect(frame).toContain('name\\nwith newline');
    expect(frame).not.toMatch(/\u0007|\u202e|\u001b\[2J/);
  });
});

describe('filterView', () => {
  it('keeps edges touching the agent, that agent, and findings naming it (case-insensitive)', () => {
    const v = filterView(busy, 'WRITER');
    expect(v.edges.map((e) => e.key)).toEqual(['writer\u0000reviewer']);
    expect(v.agents.map((a) => a.name)).toEqual(['writer']);
    expect(v.findings.map((f) => f.id)).toEqual([1]);
    expect(filterView(busy, '')).toBe(busy);
  });
});
