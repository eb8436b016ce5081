/**
 * The handoff graph in Mermaid, DOT and JSON, on the fixtures and on
 * hand-built reports: a node per agent, an edge per handoff edge (and per
 * declared dependency no handoff took) labelled with count, in-process
 * transfers, signed p95 and skewed samples, cycle edges in red, a title saying
 * how far the latencies can be trusted; and hostile agent names that still give
 * one well-formed statement per line, decoding back to the name.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditSpans } from '../../src/analyze/audit.js';
import { readTraceInputs } from '../../src/ingest/index.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import { printable } from '../../src/report/format.js';
import { escapeMermaidLabel, quoteDot } from '../../src/report/graph.js';
import { renderGraph, type HandoffGraphJson } from '../../src/report/index.js';
import { FIXTURE_NAMES } from './load-fixture.js';
import {
  allFixturesReport,
  cleanReport,
  emptyReport,
  fixtureReport,
  HOSTILE,
  HOSTILE_TARGET,
  hostileReport,
  sampleReport,
  withWholeMs,
} from './reports.js';

/** Every source → target pair that lies on one of the report's cycles. */
/**
 * The drawn edges on a cycle. Handoff edges run the cycle's way; the report lists dependencies
 * dependency → dependent and the graph draws them waiter → awaited, the way a deadlock's cycle runs.
 */
function cycleEdges(report: AuditReport): Set<string> {
  const steps = new Set<string>();
  for (const c of report.cycles) for (let i = 0; i + 1 < c.length; i++) steps.add(`${c[i]} → ${c[i + 1]}`);
  const keys = new Set<string>();
  for (const e of report.edges) if (steps.has(`${e.source} → ${e.target}`)) keys.add(`${e.source} → ${e.target}`);
  for (const d of report.dependencies) if (steps.has(`${d.target} → ${d.source}`)) keys.add(`${d.target} → ${d.source}`);
  return keys;
}

/** Every edge the graph draws: handoff edges, then dependencies (waiter → awaited), as `source → target`. */
function drawnEdges(report: AuditReport): string[] {
  return [...report.edges.map((e) => `${e.source} → ${e.target}`), ...report.dependencies.map((d) => `${d.target} → ${d.source}`)];
}

interface MermaidGraph {
  title?: string;
  nodes: Map<string, string>;
  links: { source: string; target: string; arrow: string; label: string }[];
  red: number[];
  redNodes: string[];
}

/** Reads a flowchart as renderMermaid writes it, failing on any line that is not one whole statement. */
function parseMermaid(text: string): MermaidGraph {
  const decode = (label: string) => label.replace(/#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
  let lines = text.trimEnd().split('\n');
  const graph: MermaidGraph = { nodes: new Map(), links: [], red: [], redNodes: [] };
  if (lines[0] === '---') {
    expect(lines[2]).toBe('---');
    graph.title = /^title: "([^"]*)"$/.exec(lines[1]!)![1];
    lines = lines.slice(3);
  }
  expect(lines[0]).toBe('flowchart LR');
  for (const line of lines.slice(1)) {
    let m: RegExpMatchArray | null;
    if ((m = /^ {2}(a\d+)\["([^"<>&`]*)"\]$/.exec(line))) graph.nodes.set(m[1]!, decode(m[2]!));
    else if ((m = /^ {2}(a\d+) (-->|-\.->)\|"([^"<>&`|]*)"\| (a\d+)$/.exec(line))) {
      graph.links.push({ source: graph.nodes.get(m[1]!)!, arrow: m[2]!, label: decode(m[3]!), target: graph.nodes.get(m[4]!)! });
    } else if ((m = /^ {2}linkStyle ([\d,]+) stroke:red,stroke-width:2px,color:red$/.exec(line))) graph.red = m[1]!.split(',').map(Number);
    else if (line === '  classDef onCycle stroke:red,stroke-width:2px') continue;
    else if ((m = /^ {2}class ([a\d,]+) onCycle$/.exec(line))) graph.redNodes = m[1]!.split(',').map((id) => graph.nodes.get(id)!);
    else throw new Error(`not a statement renderMermaid writes: ${JSON.stringify(line)}`);
  }
  return graph;
}

interface DotEdge {
  source: string;
  target: string;
  attributes: string;
}

/**
 * Reads DOT as renderDot writes it with Graphviz's own quoting rules (scan.l:
 * `\"` is a quote, `\\` a backslash pair, nothing else escapes; `&amp;` is the
 * entity for `&`), failing on any line that is not one whole statement. Nodes
 * are ids `a0, a1, …` with their name as label; nodes and edges are returned by name.
 */
function parseDot(text: string): { label?: string; nodes: Map<string, string>; edges: DotEdge[] } {
  const quoted = String.raw`"((?:\\\\|\\"|[^"\\])*)"`;
  const decode = (s: string) => s.replace(/\\(["\\])/g, '$1').replace(/&amp;/g, '&');
  const lines = text.trimEnd().split('\n');
  expect(lines.slice(0, 3)).toEqual(['digraph handoffs {', '  rankdir=LR;', '  node [shape=box, style=rounded];']);
  expect(lines.at(-1)).toBe('}');
  const names = new Map<string, string>();
  const nodes = new Map<string, string>();
  const edges: DotEdge[] = [];
  let label: string | undefined;
  for (const line of lines.slice(3, -1)) {
    let m: RegExpMatchArray | null;
    if ((m = new RegExp(`^ {2}label=${quoted};$`).exec(line))) label = decode(m[1]!);
    else if (line === '  labelloc=t;') continue;
    else if ((m = new RegExp(`^ {2}(a\\d+) \\[label=${quoted}(?:, ([^\\]]*))?\\];$`).exec(line))) {
      expect(names.has(m[1]!)).toBe(false);
      names.set(m[1]!, decode(m[2]!));
      nodes.set(decode(m[2]!), m[3] ?? '');
    } else if ((m = new RegExp(`^ {2}(a\\d+) -> (a\\d+) \\[label=${quoted}((?:, [a-z]+=[a-z0-9]+)*)\\];$`).exec(line))) {
      expect(names.has(m[1]!) && names.has(m[2]!)).toBe(true);
      edges.push({ source: names.get(m[1]!)!, target: names.get(m[2]!)!, attributes: `label=${decode(m[3]!)}${m[4]}` });
    } else throw new Error(`not a statement renderDot writes: ${JSON.stringify(line)}`);
  }
  return { ...(label !== undefined ? { label } : {}), nodes, edges };
}

let all: AuditReport;
let cycle: AuditReport;
let loop: AuditReport;
beforeAll(async () => {
  [all, cycle, loop] = await Promise.all([allFixturesReport(), fixtureReport('cycle'), fixtureReport('revision-loop')]);
});

describe('renderGraph', () => {
  it.each(FIXTURE_NAMES)('%s: Mermaid has a node per agent and a link per edge, labelled with count and p95', async (name) => {
    const report = await fixtureReport(name);
    const graph = parseMermaid(renderGraph(report, 'mermaid'));
    expect([...graph.nodes.values()]).toEqual(report.agents);
    expect(graph.links.map((l) => `${l.source} → ${l.target}`)).toEqual(drawnEdges(report));
    report.edges.forEach((e, i) => {
      expect(graph.links[i]!.arrow).toBe('-->');
      expect(graph.links[i]!.label).toMatch(new RegExp(`^${e.handoffs} handoffs?( · p95 [\\d.]+ ms)?$`));
      if (e.latencyMs) expect(graph.links[i]!.label).toContain('p95');
    });
    for (const link of graph.links.slice(report.edges.length)) expect(link).toMatchObject({ arrow: '-.->', label: 'waits on' });
  });

  it.each(FIXTURE_NAMES)('%s: DOT has a node per agent and an edge per edge', async (name) => {
    const report = await fixtureReport(name);
    const dot = parseDot(renderGraph(report, 'dot'));
    expect([...dot.nodes.keys()]).toEqual(report.agents);
    expect(dot.edges.map((e) => `${e.source} → ${e.target}`)).toEqual(drawnEdges(report));
  });

  it('colours exactly the edges and agents on a cycle red: dependency edges of a deadlock (cycle.json)', () => {
    expect(cycle.cycles).toHaveLength(1);
    expect(cycle.dependencies.length).toBeGreaterThan(0);
    const onCycle = cycleEdges(cycle);
    const mermaid = parseMermaid(renderGraph(cycle, 'mermaid'));
    const drawn = drawnEdges(cycle);
    expect(mermaid.red).toEqual(drawn.flatMap((e, i) => (onCycle.has(e) ? [i] : [])));
    expect(mermaid.red).toHaveLength(cycle.cycles[0]!.length - 1);
    expect(mermaid.redNodes.sort()).toEqual([...new Set(cycle.cycles[0])].sort());
    const dot = parseDot(renderGraph(cycle, 'dot'));
    for (const e of dot.edges) {
      expect(e.attributes.includes('color=red'), `${e.source} → ${e.target}`).toBe(onCycle.has(`${e.source} → ${e.target}`));
    }
    for (const agent of cycle.cycles[0]!) expect(dot.nodes.get(agent)).toBe('color=red, penwidth=2');
    expect(dot.nodes.get('triage')).toBe('');
  });

  it('colours a handoff loop’s edges red (revision-loop.json)', () => {
    expect(loop.cycles).toEqual([['writer', 'reviewer', 'writer']]);
    const dot = parseDot(renderGraph(loop, 'dot'));
    const red = dot.edges.filter((e) => e.attributes.includes('color=red')).map((e) => `${e.source} → ${e.target}`);
    expect(red.sort()).toEqual(['reviewer → writer', 'writer → reviewer']);
    const mermaid = parseMermaid(renderGraph(loop, 'mermaid'));
    expect(mermaid.red.map((i) => `${mermaid.links[i]!.source} → ${mermaid.links[i]!.target}`).sort()).toEqual(red.sort());
  });

  it('draws no red on an acyclic graph', async () => {
    const clean = await fixtureReport('clean');
    expect(clean.cycles).toEqual([]);
    expect(renderGraph(clean, 'mermaid')).not.toContain('red');
    expect(renderGraph(clean, 'dot')).not.toContain('red');
  });

  it('JSON: nodes, edges (handoff then dependency) with count, p95 and onCycle, and the cycles', () => {
    for (const report of [all, cycle, loop]) {
      const graph = JSON.parse(renderGraph(report, 'json')) as HandoffGraphJson;
      expect(Object.keys(graph)).toEqual(['nodes', 'edges', 'cycles']);
      expect(graph.nodes.map((n) => n.id)).toEqual(report.agents);
      expect(graph.edges.map((e) => `${e.source} → ${e.target}`)).toEqual(drawnEdges(report));
      const onCycle = cycleEdges(report);
      report.edges.forEach((e, i) => {
        expect(graph.edges[i]).toEqual({
          source: e.source,
          target: e.target,
          kind: 'handoff',
          handoffs: e.handoffs,
          transfers: e.transfers,
          p95LatencyMs: e.latencyMs?.p95 ?? null,
          skewedSamples: e.skewedSamples,
          onCycle: onCycle.has(`${e.source} → ${e.target}`),
        });
      });
      for (const d of graph.edges.slice(report.edges.length))
        expect(d).toMatchObject({ kind: 'dependency', handoffs: 0, p95LatencyMs: null });
      expect(graph.cycles).toEqual(report.cycles);
    }
  });

  it('labels each edge with its handoffs, in-process transfers, signed p95 and skewed samples', () => {
    const report = sampleReport();
    const skewed = {
      ...report,
      edges: [{ ...report.edges[0]!, latencyMs: { ...report.edges[0]!.latencyMs!, p95: -4.5 } }, ...report.edges.slice(1)],
    };
    const labels = [
      '4 handoffs (2 in-process) · p95 -4.50 ms · 3 skewed',
      '1 handoff · p95 5.00 ms',
      '3 handoffs · p95 62.0 ms',
      '2 handoffs · p95 12.0 ms',
      'waits on',
    ];
    expect(parseMermaid(renderGraph(skewed, 'mermaid')).links.map((l) => l.label)).toEqual(labels);
    expect(parseDot(renderGraph(skewed, 'dot')).edges.map((e) => e.attributes.split(', ')[0])).toEqual(labels.map((l) => `label=${l}`));
    const json = JSON.parse(renderGraph(skewed, 'json')) as HandoffGraphJson;
    expect(json.edges[0]).toMatchObject({ handoffs: 4, transfers: 2, p95LatencyMs: -4.5, skewedSamples: 3 });
    expect(json.edges.at(-1)).toMatchObject({ kind: 'dependency', transfers: 0, skewedSamples: 0 });
  });

  it('titles the drawing with the p95 error and millisecond precision, and only when there is something to say', () => {
    expect(parseMermaid(renderGraph(sampleReport(), 'mermaid')).title).toBe('p95 ±1%');
    expect(parseDot(renderGraph(sampleReport(), 'dot')).label).toBe('p95 ±1%');
    const coarse = withWholeMs(sampleReport());
    expect(parseMermaid(renderGraph(coarse, 'mermaid')).title).toBe('p95 ±1% · latencies only millisecond-precise');
    expect(parseDot(renderGraph(coarse, 'dot')).label).toBe('p95 ±1% · latencies only millisecond-precise');
    expect(renderGraph(cleanReport(), 'mermaid').startsWith('flowchart LR\n')).toBe(true);
    expect(parseDot(renderGraph(cleanReport(), 'dot')).label).toBeUndefined();
  });

  it('keeps hostile agent names inside their quotes: one statement per line, decoding back to the name', () => {
    const report = hostileReport();
    const shown = (name: string) => printable(name.replace(/\r\n|[\r\n]/g, ' '));
    const mermaid = parseMermaid(renderGraph(report, 'mermaid'));
    expect([...mermaid.nodes.values()].sort()).toEqual([HOSTILE, HOSTILE_TARGET, 'bystander'].map(shown).sort());
    expect(mermaid.links.map((l) => [l.source, l.target])).toEqual([
      [shown(HOSTILE), shown(HOSTILE_TARGET)],
      [shown(HOSTILE_TARGET), shown(HOSTILE)],
      [shown(HOSTILE), 'bystander'],
    ]);
    expect(mermaid.red).toEqual([0, 1]);
    const dot = parseDot(renderGraph(report, 'dot'));
    expect([...dot.nodes.keys()].sort()).toEqual([HOSTILE, HOSTILE_TARGET, 'bystander'].map(printable).sort());
    expect(dot.edges.filter((e) => e.attributes.includes('color=red'))).toHaveLength(2);
    for (const format of ['mermaid', 'dot'] as const) {
      // eslint-disable-next-line no-control-regex
      expect(renderGraph(report, format)).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    }
    // JSON is data: it keeps the exact name (JSON.stringify escapes the controls).
    // eslint-disable-next-line no-control-regex
    expect(renderGraph(report, 'json')).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect((JSON.parse(renderGraph(report, 'json')) as HandoffGraphJson).nodes.map((n) => n.id)).toContain(HOSTILE);
  });

  it('writes DOT that Graphviz draws as well-formed SVG, whatever the names (entities, `%3`, 20,000 characters)', () => {
    const name = `%3 &#0; &amp; ${'x'.repeat(20_000)}`;
    const report = JSON.parse(JSON.stringify(hostileReport()), (_key, value: unknown) =>
      typeof value === 'string' ? value.split(HOSTILE).join(name) : value,
    ) as AuditReport;
    const svg = execFileSync('dot', ['-Tsvg'], { input: renderGraph(report, 'dot'), encoding: 'utf8' });
    expect(XMLValidator.validate(svg)).toBe(true);
    // Every agent drawn as its own node: a name starting with `%` once merged with Graphviz's anonymous `%3`.
    expect(svg.match(/<g id="node\d+" class="node">/g)).toHaveLength(3);
    expect(svg).toContain('%3 &amp;#0; &amp;amp; xxx');
  });

  it('rejects an unknown format', () => {
    expect(() => renderGraph(all, 'svg' as never)).toThrow(/^renderGraph: unknown format "svg"/);
  });
});

describe('escapeMermaidLabel', () => {
  it.each([
    ['plain name', 'plain name'],
    ['say "hi"', 'say #34;hi#34;'],
    ['<b>&amp;</b>', '#60;b#62;#38;amp#59;#60;/b#62;'],
    ['#quot; stays text', '#35;quot#59; stays text'],
    ['a|b `c` 50% x:y', 'a#124;b #96;c#96; 50#37; x#58;y'],
    ['two\nlines', 'two lines'],
  ])('%j → %j', (input, expected) => {
    expect(escapeMermaidLabel(input)).toBe(expected);
  });
});

describe('quoteDot', () => {
  it.each([
    ['plain', '"plain"'],
    ['say "hi"', String.raw`"say \"hi\""`],
    ['ends in \\', String.raw`"ends in \\"`],
    ['\\"', String.raw`"\\\""`],
    ['two\nlines', String.raw`"two\\nlines"`],
    ['&#0; &amp;', '"&amp;#0; &amp;amp;"'],
    ['%3', '"%3"'],
    ['x'.repeat(20_000), `"${'x'.repeat(200)}…(19800 more characters)"`],
  ])('%j → %s', (input, expected) => {
    expect(quoteDot(input)).toBe(expected);
  });
});

describe('renderGraph text', () => {
  it('lists agents in the order work flows, each with its outgoing edges; wait-for edges read waiter → awaited', () => {
    expect(renderGraph(sampleReport(), 'text')).toBe(
      [
        '(p95 ±1%)',
        'triage',
        '  └─ → research  4 handoffs (2 in-process) · p95 30.5 ms · 3 skewed',
        'research',
        '  └─ → writer  1 handoff · p95 5.00 ms',
        'writer  (on a cycle)',
        '  └─ → reviewer  3 handoffs · p95 62.0 ms  on a cycle',
        'reviewer  (on a cycle)',
        '  ├─ → writer  2 handoffs · p95 12.0 ms  on a cycle',
        // The report's dependency triage → reviewer (dependency → dependent): reviewer waits on triage.
        '  └─ ⇢ waits on triage  (declared dependency, no handoff)',
        'cycle: writer → reviewer → writer',
        '',
      ].join('\n'),
    );
  });

  it('starts a hub whose workers all hand back at the hub, where the run began (LangGraph supervisor)', async () => {
    const dir = fileURLToPath(new URL('../../fixtures/frameworks/langgraph/', import.meta.url));
    const log = JSON.parse(readFileSync(join(dir, 'supervisor.log.json'), 'utf8')) as { runs: { agentsInOrder: string[] }[] };
    const report = await auditSpans(readTraceInputs([join(dir, 'supervisor.otlp.json')]));
    // Every agent is reached by some handoff (the workers hand back), so no agent is a source.
    expect(new Set(report.edges.map((e) => e.target))).toEqual(new Set(report.agents));
    const agentLines = renderGraph(report, 'text')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith(' ') && !line.startsWith('(') && !line.startsWith('cycle: '));
    expect(agentLines[0]).toBe(log.runs[0]!.agentsInOrder[0]);
  });

  it('draws a deadlock of declared dependencies the way its cycle runs (cycle.json)', async () => {
    const report = await fixtureReport('cycle');
    const text = renderGraph(report, 'text');
    expect(report.cycles).toHaveLength(1);
    const cycle = report.cycles[0]!;
    for (let i = 0; i + 1 < cycle.length; i++) {
      expect(text).toContain(`${cycle[i]}  (on a cycle)\n  └─ ⇢ waits on ${cycle[i + 1]}  (declared dependency, no handoff)  on a cycle\n`);
    }
  });

  it('names every agent once, escapes hostile names, and colours only when asked', () => {
    const report = hostileReport();
    const text = renderGraph(report, 'text');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    const agentLines = text.split('\n').filter((line) => line !== '' && !line.startsWith(' ') && !line.startsWith('cycle: '));
    expect(agentLines.map((line) => line.replace(/ {2}\(on a cycle\)$/, '')).sort()).toEqual([HOSTILE, HOSTILE_TARGET, 'bystander'].map(printable).sort());
    expect(renderGraph(report, 'text', { color: true })).toContain('\u001b[31m');
  });

  it('says so when there is no agent', () => {
    expect(renderGraph(emptyReport(), 'text')).toBe('no agents\n');
  });
});

/** `report` with agent `from` named `to` wherever the graph reads names. */
function renamed(report: AuditReport, from: string, to: string): AuditReport {
  const name = (agent: string) => (agent === from ? to : agent);
  return {
    ...report,
    agents: report.agents.map(name),
    edges: report.edges.map((e) => ({ ...e, source: name(e.source), target: name(e.target) })),
    dependencies: report.dependencies.map((d) => ({ ...d, source: name(d.source), target: name(d.target) })),
    cycles: report.cycles.map((c) => c.map(name)),
  };
}

/** The text of wrapped lines with indents, tree trunks and line breaks taken out: what must survive wrapping. */
function unwrappedText(text: string): string {
  return text.replace(/\u001b\[\d+m/g, '').replace(/[\s│├└─]/g, '');
}

const LONG_AGENT = 'research-and-competitive-pricing-analysis-agent-for-b2b-vendors';

describe('renderGraph text, wrapped to a width', () => {
  it('wraps a long edge and a long agent name with hanging indents, the trunk drawn on between edges', () => {
    expect(renderGraph(renamed(sampleReport(), 'research', LONG_AGENT), 'text', { width: 60 })).toBe(
      [
        '(p95 ±1%)',
        'triage',
        '  └─ → research-and-competitive-pricing-analysis-agent-for-b',
        '       2b-vendors  4 handoffs (2 in-process) · p95 30.5 ms ·',
        '       3 skewed',
        'research-and-competitive-pricing-analysis-agent-for-b2b-vend',
        '  ors',
        '  └─ → writer  1 handoff · p95 5.00 ms',
        'writer  (on a cycle)',
        '  └─ → reviewer  3 handoffs · p95 62.0 ms  on a cycle',
        'reviewer  (on a cycle)',
        '  ├─ → writer  2 handoffs · p95 12.0 ms  on a cycle',
        '  └─ ⇢ waits on triage  (declared dependency, no handoff)',
        'cycle: writer → reviewer → writer',
        '',
      ].join('\n'),
    );
    // A continuation of an edge that has another below it keeps the trunk.
    expect(renderGraph(sampleReport(), 'text', { width: 30 })).toContain('  ├─ → writer  2 handoffs ·\n  │    p95 12.0 ms  on a cycle\n');
  });

  it.each([80, 60, 40])('fits %i columns with every fixture and hostile name, losing nothing, escaped as unwrapped', async (width) => {
    for (const report of [await allFixturesReport(), renamed(hostileReport(), HOSTILE, `${HOSTILE}${LONG_AGENT}`)]) {
      const whole = renderGraph(report, 'text');
      const text = renderGraph(report, 'text', { width });
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(width);
      expect(unwrappedText(text)).toBe(unwrappedText(whole));
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    }
  });

  it('colours each wrapped line of a cycle on its own, no colour code across a line break', () => {
    const text = renderGraph(renamed(sampleReport(), 'writer', LONG_AGENT), 'text', { width: 40, color: true });
    const red = text.split('\n').filter((line) => line.includes('\u001b[31m'));
    expect(red.length).toBeGreaterThan(4);
    for (const line of red) expect(line).toMatch(/^\u001b\[31m.*\u001b\[39m$/);
  });

  it('leaves lines whole without a width, or with a width it cannot use', () => {
    const report = renamed(sampleReport(), 'research', LONG_AGENT);
    const whole = renderGraph(report, 'text');
    expect(whole).toContain(`  └─ → ${LONG_AGENT}  4 handoffs (2 in-process) · p95 30.5 ms · 3 skewed\n`);
    for (const width of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(renderGraph(report, 'text', { width })).toBe(whole);
  });
});
