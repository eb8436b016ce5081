/**
 * The handoff graph as terminal text, Mermaid, Graphviz DOT or JSON: one node
 * per agent, one edge per source → target labelled with its handoff count (and
 * how many were in-process transfers), signed p95 latency and clock-skewed
 * samples, declared dependencies no handoff took as dashed "waits on" edges
 * drawn waiter → awaited (an arrow reads "writer waits on analysis", the way a
 * deadlock's cycle runs), and the edges and agents of every cycle in red. What
 * limits the latencies (approximate percentiles, millisecond-only times) is the
 * drawing's title.
 *
 * The text format is an indented edge list, agent by agent in the order work
 * flows (each agent's outgoing edges under it), as `npm ls` and `cargo tree`
 * print trees: it reads in any terminal and in a CI log, where a drawing of
 * boxes and lines would break at the first wrapped line.
 *
 * Agent names come from trace data, so they are never used as identifiers:
 * nodes get ids `a0, a1, …` and a label, cut to MAX_SHOWN_CHARS (Graphviz fails
 * past 16,384 characters). Mermaid labels use Mermaid's entity codes; DOT labels
 * are quoted strings with `\`, `"` and `&` escaped (Graphviz decodes `&…;` entities,
 * and `&#0;` then made SVG that is not XML). As a DOT id, a name starting with
 * `%` collided with Graphviz's own anonymous names (`%3`).
 * Mermaid: https://mermaid.js.org/syntax/flowchart.html#entity-codes-to-escape-characters
 * DOT: https://graphviz.org/doc/info/lang.html
 */
import type { AuditReport } from '../model/audit-report.js';
import { escapeJsonText } from './json.js';
import { capped, formatMs, percentileErrorText, plural, precisionNote, printable } from './format.js';
import { wrapHanging } from './table.js';

/** The formats `baton graph --format` takes. */
export const GRAPH_FORMATS = ['text', 'mermaid', 'dot', 'json'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** One edge of the graph, as `renderGraph(report, 'json')` prints it. */
export interface GraphEdge {
  readonly source: string;
  readonly target: string;
  /**
   * `handoff`: handoffs were seen, source → target; `dependency`: a declared
   * dependency no handoff took, as a wait-for edge: `source` waits on `target`.
   */
  readonly kind: 'handoff' | 'dependency';
  readonly handoffs: number;
  /** Of `handoffs`, those passed in-process as one span. */
  readonly transfers: number;
  /** Send → receive latency p95; negative when clocks are skewed. */
  readonly p95LatencyMs: number | null;
  /** Negative latency samples (the receiver's clock behind the sender's). */
  readonly skewedSamples: number;
  readonly onCycle: boolean;
}

/** The graph `renderGraph(report, 'json')` prints. */
export interface HandoffGraphJson {
  readonly nodes: readonly { readonly id: string; readonly onCycle: boolean }[];
  readonly edges: readonly GraphEdge[];
  /** As in the report: each a path whose last agent is its first. */
  readonly cycles: readonly (readonly string[])[];
}

const KEY_SEPARATOR = '\u0000';

/** The graph every format draws: nodes, handoff edges then dependency edges, and what lies on a cycle. */
function buildGraph(report: AuditReport): HandoffGraphJson {
  const cycleEdges = new Set<string>();
  const cycleNodes = new Set<string>();
  for (const cycle of report.cycles) {
    for (let i = 0; i < cycle.length; i++) {
      cycleNodes.add(cycle[i]!);
      if (i + 1 < cycle.length) cycleEdges.add(`${cycle[i]}${KEY_SEPARATOR}${cycle[i + 1]}`);
    }
  }
  const onCycle = (source: string, target: string) => cycleEdges.has(`${source}${KEY_SEPARATOR}${target}`);
  // The report's agents, plus any edge end it lacks (a report from elsewhere may not list them all).
  const names = new Set(report.agents);
  for (const e of report.edges) names.add(e.source).add(e.target);
  for (const d of report.dependencies) names.add(d.source).add(d.target);
  return {
    nodes: [...names].sort().map((id) => ({ id, onCycle: cycleNodes.has(id) })),
    edges: [
      ...report.edges.map((e) => ({
        source: e.source,
        target: e.target,
        kind: 'handoff' as const,
        handoffs: e.handoffs,
        transfers: e.transfers,
        p95LatencyMs: e.latencyMs?.p95 ?? null,
        skewedSamples: e.skewedSamples,
        onCycle: onCycle(e.source, e.target),
      })),
      // The report lists dependencies dependency → dependent; drawn the other way, waiter → awaited.
      ...report.dependencies.map((d) => ({
        source: d.target,
        target: d.source,
        kind: 'dependency' as const,
        handoffs: 0,
        transfers: 0,
        p95LatencyMs: null,
        skewedSamples: 0,
        onCycle: onCycle(d.target, d.source),
      })),
    ],
    cycles: report.cycles,
  };
}

/** `3 handoffs (1 in-process) · p95 62.0 ms · 2 skewed`, or `waits on` for a dependency edge. */
function edgeLabel(edge: GraphEdge): string {
  if (edge.kind === 'dependency') return 'waits on';
  let label = plural(edge.handoffs, 'handoff');
  if (edge.transfers > 0) label += ` (${edge.transfers} in-process)`;
  if (edge.p95LatencyMs !== null) label += ` · p95 ${formatMs(edge.p95LatencyMs)}`;
  if (edge.skewedSamples > 0) label += ` · ${edge.skewedSamples} skewed`;
  return label;
}

/** `p95 ±1% · latencies only millisecond-precise`: what the drawing's latencies cannot say; '' when nothing. */
function graphNote(report: AuditReport): string {
  const notes: string[] = [];
  const error = percentileErrorText(report);
  if (error !== undefined && report.edges.some((e) => e.latencyMs !== null)) notes.push(error.replace('percentiles', 'p95'));
  if (precisionNote(report) !== undefined) notes.push('latencies only millisecond-precise');
  return notes.join(' · ');
}

/**
 * Text for inside a quoted Mermaid label: `#` (Mermaid reads `#code;` as an
 * entity), quotes, markup, `|`, and `:` `;` `%` (which Mermaid's own
 * pre-processing and comments look for) become numeric entity codes, in one
 * pass so no code is escaped twice; a line break becomes a space.
 */
export function escapeMermaidLabel(text: string): string {
  return printable(capped(text).replace(/\r\n|[\r\n]/g, ' ')).replace(/[#"<>&`:;%|]/g, (c) => `#${c.charCodeAt(0)};`);
}

/**
 * A quoted DOT string: `\` and `"` escaped, so no name can end the string early,
 * and `&` as `&amp;`, so Graphviz reads no entity in it; cut to MAX_SHOWN_CHARS.
 */
export function quoteDot(text: string): string {
  return `"${printable(capped(text)).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/&/g, '&amp;')}"`;
}

const RED = 'red';

function renderMermaid(graph: HandoffGraphJson, note: string): string {
  const id = new Map(graph.nodes.map((node, i) => [node.id, `a${i}`]));
  // The note is our own text (no trace data); a front-matter title is what Mermaid draws above a flowchart.
  const lines = note === '' ? ['flowchart LR'] : ['---', `title: "${note}"`, '---', 'flowchart LR'];
  for (const node of graph.nodes) lines.push(`  ${id.get(node.id)}["${escapeMermaidLabel(node.id)}"]`);
  const red: number[] = [];
  graph.edges.forEach((edge, i) => {
    const arrow = edge.kind === 'dependency' ? '-.->' : '-->';
    lines.push(`  ${id.get(edge.source)} ${arrow}|"${escapeMermaidLabel(edgeLabel(edge))}"| ${id.get(edge.target)}`);
    // linkStyle counts links in the order they are defined: the index in graph.edges.
    if (edge.onCycle) red.push(i);
  });
  if (red.length > 0) {
    lines.push(`  linkStyle ${red.join(',')} stroke:${RED},stroke-width:2px,color:${RED}`);
    lines.push(`  classDef onCycle stroke:${RED},stroke-width:2px`);
    lines.push(
      `  class ${graph.nodes
        .filter((n) => n.onCycle)
        .map((n) => id.get(n.id))
        .join(',')} onCycle`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderDot(graph: HandoffGraphJson, note: string): string {
  const id = new Map(graph.nodes.map((node, i) => [node.id, `a${i}`]));
  const lines = ['digraph handoffs {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  if (note !== '') lines.push(`  label=${quoteDot(note)};`, '  labelloc=t;');
  for (const node of graph.nodes) lines.push(`  ${id.get(node.id)} [label=${quoteDot(node.id)}${node.onCycle ? `, color=${RED}, penwidth=2` : ''}];`);
  for (const edge of graph.edges) {
    const attributes = [`label=${quoteDot(edgeLabel(edge))}`];
    if (edge.kind === 'dependency') attributes.push('style=dashed');
    if (edge.onCycle) attributes.push(`color=${RED}`, `fontcolor=${RED}`, 'penwidth=2');
    lines.push(`  ${id.get(edge.source)} -> ${id.get(edge.target)} [${attributes.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * Agents in the order work flows: those no handoff reaches first (a source of
 * the graph), then breadth-first along handoff edges, then whatever is left
 * (agents only on a cycle, or only waiting), alphabetical within each step. What
 * is left starts at the agent that hands to the most others: a supervisor whose
 * workers all hand back is reached by each of them, so no agent is a source, and
 * the hub is where its work flows from.
 */
function flowOrder(graph: HandoffGraphJson): string[] {
  const handoffs = graph.edges.filter((e) => e.kind === 'handoff');
  const reached = new Set(handoffs.map((e) => e.target));
  const order: string[] = [];
  const seen = new Set<string>();
  const queue = graph.nodes.map((n) => n.id).filter((id) => !reached.has(id));
  const visit = (start: string[]) => {
    for (let i = 0; i < start.length; i++) {
      const id = start[i]!;
      if (seen.has(id)) continue;
      seen.add(id);
      order.push(id);
      for (const e of handoffs) if (e.source === id && !seen.has(e.target)) start.push(e.target);
    }
  };
  visit(queue);
  const targets = new Map<string, number>();
  for (const e of handoffs) targets.set(e.source, (targets.get(e.source) ?? 0) + 1);
  const rest = graph.nodes.map((n) => n.id).filter((id) => !seen.has(id));
  rest.sort((a, b) => (targets.get(b) ?? 0) - (targets.get(a) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
  for (const id of rest) visit([id]);
  return order;
}

/** Options of the `text` format. */
export interface TextGraphOptions {
  /** ANSI red for what lies on a cycle. Default false. */
  readonly color?: boolean;
  /**
   * Columns a line may use: longer lines wrap at spaces (a name longer than a
   * line is cut where the line ends), their continuations indented under the
   * text they continue, the tree's `│` kept. Default: no wrapping.
   */
  readonly width?: number;
}


/** Adds `text`, wrapped under a hanging indent, to `lines`, each whole line (indent included) painted. */
function wrapped(lines: string[], first: string, rest: string, text: string, width: number | undefined, paint: (line: string) => string): void {
  for (const line of wrapHanging(text, width, first, rest)) lines.push(paint(line));
}

function renderText(graph: HandoffGraphJson, note: string, options: TextGraphOptions): string {
  const red = (text: string) => (options.color ? `\u001b[31m${text}\u001b[39m` : text);
  const plain = (text: string) => text;
  const width = options.width !== undefined && Number.isFinite(options.width) && options.width > 0 ? Math.floor(options.width) : undefined;
  const lines: string[] = [];
  if (note !== '') wrapped(lines, '', ' ', `(${note})`, width, plain);
  if (graph.nodes.length === 0) lines.push('no agents');
  for (const id of flowOrder(graph)) {
    const node = graph.nodes.find((n) => n.id === id)!;
    const out = graph.edges.filter((e) => e.source === id);
    wrapped(lines, '', '  ', node.onCycle ? `${printable(id)}  (on a cycle)` : printable(id), width, node.onCycle ? red : plain);
    for (let i = 0; i < out.length; i++) {
      const edge = out[i]!;
      const last = i === out.length - 1;
      // A handoff reads "→ target", a wait-for edge "waits on target": both say what the agent above does.
      const arrow = edge.kind === 'dependency' ? '⇢ waits on' : '→';
      const label = edge.kind === 'dependency' ? '(declared dependency, no handoff)' : edgeLabel(edge);
      const text = `${printable(edge.target)}  ${label}${edge.onCycle ? '  on a cycle' : ''}`;
      // Continuations hang under the target, the trunk drawn on for the edges still to come.
      wrapped(lines, `  ${last ? '└─' : '├─'} ${arrow} `, last ? '       ' : '  │    ', text, width, edge.onCycle ? red : plain);
    }
  }
  for (const cycle of graph.cycles) wrapped(lines, '', '       ', `cycle: ${cycle.map(printable).join(' → ')}`, width, red);
  return `${lines.join('\n')}\n`;
}

/**
 * The report's handoff graph in `format`: `text` (an indented edge list for a
 * terminal), `mermaid` (a flowchart for Markdown and GitHub), `dot` (Graphviz)
 * or `json` ({@link HandoffGraphJson}).
 */
export function renderGraph(report: AuditReport, format: GraphFormat, options: TextGraphOptions = {}): string {
  const graph = buildGraph(report);
  switch (format) {
    case 'text':
      return renderText(graph, graphNote(report), options);
    case 'mermaid':
      return renderMermaid(graph, graphNote(report));
    case 'dot':
      return renderDot(graph, graphNote(report));
    case 'json':
      return `${escapeJsonText(JSON.stringify(graph, null, 2))}\n`;
    default:
      throw new TypeError(`renderGraph: unknown format "${String(format)}"; one of ${GRAPH_FORMATS.join(', ')}`);
  }
}
