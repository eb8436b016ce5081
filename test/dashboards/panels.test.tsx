import fc from 'fast-check';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { AgentsPanel } from '../../dashboards/AgentsPanel.js';
import { EdgeDetail } from '../../dashboards/EdgeDetail.js';
import { EdgeTable, visibleWindow } from '../../dashboards/EdgeTable.js';
import { FindingsPanel } from '../../dashboards/FindingsPanel.js';
import { Header } from '../../dashboards/Header.js';
import { finalSummary, newFindingLines, statusLine } from '../../dashboards/plain-summary.js';
import { cell, histogram, rate, sparkline } from '../../dashboards/text.js';
import { agent, edge, finding, NOW, view } from './views.js';

describe('EdgeTable', () => {
  it('shows p99, max and the sparkline on a wide terminal and drops them on a narrow one', () => {
    const edges = [edge('a', 'b', { recentLatenciesMs: [1, 2, 3, 4, 5, 6, 7, 8] })];
    const wide = render(<EdgeTable edges={edges} selected={0} width={100} maxRows={5} sort="worst" />).lastFrame()!;
    expect(wide).toMatch(/P99\s+MAX\s+FAIL\s+RETRY RECENT/);
    expect(wide).toContain('▁▂▃▄▅▆▇█');
    const narrow = render(<EdgeTable edges={edges} selected={0} width={64} maxRows={5} sort="worst" />).lastFrame()!;
    expect(narrow).not.toContain('P99');
    expect(narrow).not.toContain('▁');
    expect(narrow).toMatch(/P50\s+P95\s+FAIL/);
  });

  it('shows an unknown latency as — (an edge with handoffs in flight and none analyzed)', () => {
    const frame = render(<EdgeTable edges={[edge('a', 'b', { handoffs: 0, inFlight: 2, p50Ms: null, p95Ms: null, p99Ms: null, maxMs: null })]} selected={-1} width={100} maxRows={5} sort="worst" />).lastFrame()!;
    expect(frame).toMatch(/a → b\s+0\s+4\s+2\s+—\s+—/);
  });
});

describe('visibleWindow', () => {
  it('always contains the selected row and never more than maxRows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (total, rows, pick) => {
        const selected = total === 0 ? -1 : pick % total;
        const { start, end } = visibleWindow(total, selected, rows);
        expect(end - start).toBeLessThanOrEqual(rows);
        expect(end).toBeLessThanOrEqual(total);
        if (selected >= 0) expect(selected >= start && selected < end).toBe(true);
      }),
    );
  });
});

describe('AgentsPanel', () => {
  it('names the state, when last seen, the task, and whom a waiting agent waits on', () => {
    const frame = render(
      <AgentsPanel agents={[agent('writer', { state: 'waiting', waitingOn: ['reviewer', 'editor'] }), agent('triage', { state: 'working', task: 't-1', lastSeenMs: NOW })]} nowMs={NOW} width={100} maxRows={5} />,
    ).lastFrame()!;
    expect(frame).toMatch(/writer\s+waiting\s+5s\s+waiting on reviewer, editor/);
    expect(frame).toMatch(/triage\s+working\s+now\s+task t-1/);
  });

  it('says how many more there are past its rows', () => {
    const frame = render(<AgentsPanel agents={['a', 'b', 'c', 'd'].map((n) => agent(n))} nowMs={NOW} width={100} maxRows={2} />).lastFrame()!;
    expect(frame).toContain('… 2 more');
  });
});

describe('FindingsPanel', () => {
  it('lists findings newest first with age, severity and rule', () => {
    const frame = render(<FindingsPanel findings={[finding(2, { severity: 'error', ruleId: 'dependency-cycle', foundAtMs: NOW }), finding(1)]} total={2} nowMs={NOW} width={100} maxRows={5} />).lastFrame()!;
    expect(frame).toContain('Findings (2)');
    expect(frame).toMatch(/now error\s+dependency-cycle[\s\S]*2s warning\s+ack-timeout/);
  });
});

describe('EdgeDetail', () => {
  it('shows clock skew when latencies went negative, in a bucket of their own', () => {
    const frame = render(<EdgeDetail edge={edge('a', 'b', { skewedSamples: 2, recentLatenciesMs: [-3, -1, 4, 8] })} findings={[]} nowMs={NOW} width={100} maxRows={20} />).lastFrame()!;
    expect(frame).toContain('clock skew in 2');
    expect(frame).toMatch(/<0–0\s+█+ 2/);
  });
});

describe('text helpers', () => {
  it('cell never exceeds its width and never lets a control character through', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 50 }), (text, width) => {
        const out = cell(text, width);
        expect([...out].length).toBeLessThanOrEqual(width);
        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      }),
    );
  });

  it('rate says a trickle is under 0.1/s, never 0/s, and zero only for nothing', () => {
    expect([0, 0.01, 0.04, 0.05, 0.4, 9.96, 52, 12_345].map(rate)).toEqual(['0', '<0.1', '<0.1', '0.1', '0.4', '10', '52', '12.3k']);
  });

  it('sparkline draws one bar per value, lowest to highest', () => {
    expect(sparkline([1, 5, 9], 10)).toBe('▁▅█');
    expect(sparkline([3, 3], 10)).toBe('▁▁');
    expect(sparkline([1, 2, 3, 4], 2)).toBe('▁█');
  });

  it('histogram counts every value exactly once', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -100, max: 1e6, noNaN: true }), { maxLength: 200 }), fc.integer({ min: 1, max: 12 }), (values, n) => {
        const total = histogram(values, n).reduce((sum, b) => sum + b.count, 0);
        expect(total).toBe(values.length);
      }),
    );
  });
});

describe('plain summary', () => {
  const v = view({ edges: [edge('writer', 'reviewer', { failures: 1 })], findings: [finding(2, { message: 'two\nlines' }), finding(1)], findingsTotal: 2 });

  it('statusLine states every counter on one line', () => {
    expect(statusLine(v)).toMatch(/^12:00:00  receive  spans 1,234 \(52\/s\)  rejected 2  throttled 5  aged out 1  traces open 3 done 12  edges 1  findings 2$/);
  });

  it('newFindingLines gives each finding once, oldest first, escaped', () => {
    const first = newFindingLines(v, 0);
    expect(first.lines).toEqual([
      `finding warning ack-timeout: finding number 1 (trace ${'bb'.repeat(16)})`,
      `finding warning ack-timeout: two\\nlines (trace ${'bb'.repeat(16)})`,
    ]);
    expect(newFindingLines(v, first.lastId).lines).toEqual([]);
  });

  it('finalSummary lists edges with percentiles and every finding', () => {
    const text = finalSummary(v);
    expect(text).toContain('1,234 spans accepted, 2 rejected, 5 throttled');
    expect(text).toMatch(/writer → reviewer\s+10\s+12\.0\s+40\.0\s+55\.0\s+60\.0\s+1/);
    expect(text).toContain('2 findings:');
  });

  it('finalSummary leads with the command that ran the session: baton watch unless the view names another', () => {
    expect(finalSummary(v).startsWith('baton watch: 1,234 spans accepted')).toBe(true);
    expect(finalSummary({ ...v, title: 'baton demo' }).startsWith('baton demo: 1,234 spans accepted')).toBe(true);
  });
});

describe('Header', () => {
  const v0 = view({});

  it('names the command that runs the session, baton watch unless the view names another', () => {
    expect(render(<Header view={v0} paused={false} width={100} filter="" />).lastFrame()).toMatch(/^baton watch \[live\]/);
    expect(render(<Header view={{ ...v0, title: 'baton demo' }} paused={false} width={100} filter="" />).lastFrame()).toMatch(/^baton demo \[live\]/);
  });

  it('keeps the recording and the filter in sight at 80 columns, on their own line when the counters fill it', () => {
    const recording = { ...v0, recording: { path: '/tmp/session-recording.jsonl', spans: 1234 } };
    const narrow = render(<Header view={recording} paused={false} width={80} filter="planner" />).lastFrame()!.split('\n');
    expect(narrow.some((line) => line.includes('rec /tmp/session-recording.jsonl (1,234)') && line.includes('filter /planner'))).toBe(true);
    for (const line of narrow) expect([...line].length).toBeLessThanOrEqual(80);
    // With room beside the counters (ink-testing-library's terminal is 100 columns), no extra line.
    const short = { ...v0, recording: { path: '/r.jsonl', spans: 1234 } };
    const wide = render(<Header view={short} paused={false} width={100} filter="" />).lastFrame()!.split('\n');
    expect(wide).toHaveLength(2);
    expect(wide[1]).toMatch(/^spans .*  rec \/r\.jsonl \(1,234\)$/);
  });
});

