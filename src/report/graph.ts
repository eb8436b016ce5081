/**
 * The handoff graph as Mermaid, Graphviz DOT or JSON: one node per agent, one
 * edge per source → target with its handoff count and p95 latency, declared
 * dependencies no handoff took as dashed "waits" edges, and the edges of cycles in red.
 */
import type { AuditReport, EdgeStats } from '../model/audit-report.js';
import { formatDuration } from './format.js';

export const GRAPH_FORMATS = ['mermaid', 'dot', 'json'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** Edges on some cycle, as `source\0target` keys. */
function cycleEdges(report: AuditReport): Set<string> {
  const keys = new Set<string>();
  for (const cycle of report.cycles) {
    for (let i = 0; i + 1 < cycle.length; i++) keys.add(`${cycle[i]}\u0000${cycle[i + 1]}`);
  }
  return keys;
}

function label(edge: EdgeStats): string {
  const p95 = edge.latencyMs ? `p95 ${formatDuration(edge.latencyMs.p95)} ms` : 'no latency';
  return `${edge.handoffs}× · ${p95}`;
}

/** Every agent: the report's agents plus any edge end it lacks. */
function nodesOf(report: AuditReport): string[] {
  const nodes = new Set(report.agents);
  for (const e of [...report.edges, ...report.dependencies]) {
    nodes.add(e.source);
    nodes.add(e.target);
  }
  return [...nodes].sort();
}

function renderMermaid(report: AuditReport): string {
  const nodes = nodesOf(report);
  const id = new Map(nodes.map((name, i) => [name, `a${i}`]));
  // Mermaid labels are quoted; inside them only #quot; style entities are safe.
  const text = (s: string) => s.replace(/"/g, '#quot;').replace(/[\r\n]+/g, ' ');
  const lines = ['flowchart LR'];
  for (const name of nodes) lines.push(`  ${id.get(name)}["${text(name)}"]`);
  const onCycle = cycleEdges(report);
  const red: number[] = [];
  report.edges.forEach((e, i) => {
    lines.push(`  ${id.get(e.source)} -->|"${text(label(e))}"| ${id.get(e.target)}`);
    if (onCycle.has(`${e.source}\u0000${e.target}`)) red.push(i);
  });
  report.dependencies.forEach((d, i) => {
    lines.push(`  ${id.get(d.source)} -.->|"waits"| ${id.get(d.target)}`);
    if (onCycle.has(`${d.source}\u0000${d.target}`)) red.push(report.edges.length + i);
  });
  if (red.length > 0) lines.push(`  linkStyle ${red.join(',')} stroke:#d62728,stroke-width:2px,color:#d62728`);
  return `${lines.join('\n')}\n`;
}

function renderDot(report: AuditReport): string {
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
  const lines = ['digraph handoffs {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  for (const name of nodesOf(report)) lines.push(`  ${quote(name)};`);
  const onCycle = cycleEdges(report);
  for (const e of report.edges) {
    const cyc = onCycle.has(`${e.source}\u0000${e.target}`);
    lines.push(`  ${quote(e.source)} -> ${quote(e.target)} [label=${quote(label(e))}${cyc ? ', color="red", fontcolor="red", penwidth=2' : ''}];`);
  }
  for (const d of report.dependencies) {
    const cyc = onCycle.has(`${d.source}\u0000${d.target}`);
    lines.push(`  ${quote(d.source)} -> ${quote(d.target)} [label="waits", style=dashed${cyc ? ', color="red", fontcolor="red", penwidth=2' : ''}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function renderGraphJson(report: AuditReport): string {
  const onCycle = cycleEdges(report);
  const graph = {
    nodes: nodesOf(report).map((name) => ({ id: name })),
    edges: report.edges.map((e) => ({
      source: e.source,
      target: e.target,
      handoffs: e.handoffs,
      p95LatencyMs: e.latencyMs?.p95 ?? null,
      onCycle: onCycle.has(`${e.source}\u0000${e.target}`),
    })),
    dependencies: report.dependencies.map((d) => ({ ...d, onCycle: onCycle.has(`${d.source}\u0000${d.target}`) })),
    cycles: report.cycles,
  };
  return `${JSON.stringify(graph, null, 2)}\n`;
}

/** The report's handoff graph in `format`. */
export function renderGraph(report: AuditReport, format: GraphFormat): string {
  switch (format) {
    case 'mermaid':
      return renderMermaid(report);
    case 'dot':
      return renderDot(report);
    case 'json':
      return renderGraphJson(report);
  }
}
