/**
 * buildHandoffGraph builds its graphology graph on the first read of `graph`.
 * The graph read is the one an eager build gives (nodes, edges, attributes, order),
 * the grouped lists the Auditor reads instead agree with it, and no rule reads
 * `graph`, so an audit never builds one.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectedGraph } from 'graphology';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHandoffGraph, forEachAgentOf, handoffEdgesOf } from '../../src/analyze/build-graph.js';
import { buildHandoffModel } from '../../src/analyze/build-model.js';
import { DETECTORS, RULE_IDS } from '../../src/analyze/detectors/index.js';
import { nodeKey } from '../../src/graph/node-keys.js';
import { readTraceInputs } from '../../src/ingest/index.js';
import type { HandoffGraph, HandoffModel } from '../../src/model/handoff-model.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

/** The graph as buildHandoffGraph built it before it was lazy: the reference. */
function eagerGraph(model: HandoffModel): HandoffGraph['graph'] {
  const graph = new DirectedGraph();
  const agents = new Map<string, { runs: number; completed: number; failed: number; blocked: number }>();
  const touch = (agent: string) => {
    let node = agents.get(agent);
    if (!node) agents.set(agent, (node = { runs: 0, completed: 0, failed: 0, blocked: 0 }));
    return node;
  };
  for (const run of model.agentRuns) {
    const node = touch(run.agent);
    node.runs++;
    if (run.outcome === 'completed') node.completed++;
    else if (run.outcome === 'failed') node.failed++;
    else if (run.outcome === 'blocked') node.blocked++;
  }
  const edges = new Map<string, { source: string; target: string; handoffs: unknown[] }>();
  for (const handoff of model.handoffs) {
    touch(handoff.source);
    touch(handoff.target);
    const key = `${handoff.source}\u0000${handoff.target}`;
    let edge = edges.get(key);
    if (!edge) edges.set(key, (edge = { source: handoff.source, target: handoff.target, handoffs: [] }));
    edge.handoffs.push(handoff);
  }
  for (const [agent, counts] of agents) graph.addNode(nodeKey(agent), { name: agent, ...counts });
  for (const edge of edges.values()) graph.addDirectedEdge(nodeKey(edge.source), nodeKey(edge.target), { ...edge });
  return graph as unknown as HandoffGraph['graph'];
}

function withoutEdgeKeys(graph: HandoffGraph['graph']): unknown {
  const exported = graph.export();
  return { ...exported, edges: exported.edges.map(({ key: _key, ...edge }) => edge) };
}

function isUnbuilt(handoffGraph: HandoffGraph): boolean {
  return Object.getOwnPropertyDescriptor(handoffGraph, 'graph')?.get !== undefined;
}

let models: HandoffModel[] = [];

beforeAll(async () => {
  const files = (await readdir(FIXTURES_DIR)).filter((n) => n.endsWith('.json')).map((n) => join(FIXTURES_DIR, n));
  for (const dir of ['autogen', 'agent-framework', 'openai-agents', 'langgraph']) {
    for (const n of await readdir(join(FIXTURES_DIR, 'frameworks', dir))) if (n.endsWith('.otlp.json')) files.push(join(FIXTURES_DIR, 'frameworks', dir, n));
  }
  for (const file of files) {
    const byTrace = new Map<string, SpanRecord[]>();
    for await (const batch of readTraceInputs([file])) for (const span of batch) (byTrace.get(span.traceId) ?? byTrace.set(span.traceId, []).get(span.traceId)!).push(span);
    for (const spans of byTrace.values()) models.push(buildHandoffModel(spans));
  }
});

describe('buildHandoffGraph', () => {
  it('gives, on first read of graph, the graph an eager build gives: nodes, edges and attributes in order', () => {
    expect(models.filter((m) => m.handoffs.length > 1).length).toBeGreaterThan(10);
    for (const model of models) {
      const lazy = buildHandoffGraph(model);
      expect(isUnbuilt(lazy)).toBe(true);
      const reference = eagerGraph(model);
      // Edge keys are graphology's generated ids (numbered per graph instance): all else must match.
      expect(withoutEdgeKeys(lazy.graph)).toEqual(withoutEdgeKeys(reference));
      expect(isUnbuilt(lazy)).toBe(false);
      expect(lazy.graph).toBe(lazy.graph);
    }
  });

  it('lists the agents and edges in the graph’s order without building it', () => {
    for (const model of models) {
      const lazy = buildHandoffGraph(model);
      const agents: string[] = [];
      forEachAgentOf(lazy, (agent) => agents.push(agent));
      const edges = handoffEdgesOf(lazy);
      expect(isUnbuilt(lazy)).toBe(true);
      const reference = eagerGraph(model);
      expect(agents).toEqual(reference.mapNodes((_key, node) => node.name));
      expect(edges).toEqual(reference.mapEdges((_edge, attributes) => attributes));
    }
  });

  it('is never built by a rule', () => {
    for (const model of models) {
      const lazy = buildHandoffGraph(model);
      for (const id of RULE_IDS) (DETECTORS[id].detect as (g: HandoffGraph, o: object) => unknown)(lazy, {});
      expect(isUnbuilt(lazy)).toBe(true);
    }
  });

  it('behaves as a plain object: a spread carries the graph, an assigned graph replaces it for every reader', () => {
    const model = models.find((m) => m.handoffs.length > 0)!;
    const spread = { ...buildHandoffGraph(model) };
    expect(Object.getOwnPropertyDescriptor(spread, 'graph')?.value).toBeDefined();
    expect(spread.graph.order).toBeGreaterThan(0);
    const assigned = buildHandoffGraph(model) as { graph: HandoffGraph['graph']; model: HandoffModel };
    const other = eagerGraph({ ...model, handoffs: [], agentRuns: [] });
    assigned.graph = other;
    expect(assigned.graph).toBe(other);
    expect(handoffEdgesOf(assigned)).toEqual([]);
  });

  it('gives a frozen result its graph too, the same one at every read', () => {
    const model = models.find((m) => m.handoffs.length > 0)!;
    const frozen = Object.freeze(buildHandoffGraph(model));
    const graph = frozen.graph;
    expect(graph.order).toBe(eagerGraph(model).order);
    expect(frozen.graph).toBe(graph);
  });
});
