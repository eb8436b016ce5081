/**
 * Builds the handoff graph of a model: one node per agent, one directed edge per
 * source → target pair holding that edge's handoffs. The model is not changed.
 *
 * The graphology graph is built on first read of `graph`: the Auditor and the
 * per-edge statistics need only the agents and the edge list, which are grouped
 * here once, and a graphology graph costs about 20 µs to construct (it defines
 * its methods and properties one by one), which on a file of many small trace
 * groups was 5–11% of the whole audit. Library users reading `graph` see the
 * same graph as before, built once.
 */
import { DirectedGraph } from 'graphology';
import { nodeKey } from '../graph/node-keys.js';
import type {
  AgentNodeAttributes,
  Handoff,
  HandoffEdgeAttributes,
  HandoffGraph,
  HandoffModel,
} from '../model/handoff-model.js';

interface AgentCounts {
  runs: number;
  completed: number;
  failed: number;
  blocked: number;
}

interface EdgeDraft {
  readonly source: string;
  readonly target: string;
  readonly handoffs: Handoff[];
}

/** What a graph is built from: agents (insertion order) and edges (first handoff order), as graphology would iterate them. */
interface GroupedGraph {
  readonly agents: ReadonlyMap<string, AgentCounts>;
  readonly edges: readonly HandoffEdgeAttributes[];
}

/** The grouped agents and edges of each graph built here, so readers of only those never build the graphology graph. */
const GROUPED = new WeakMap<HandoffGraph, GroupedGraph>();

function groupModel(model: HandoffModel): GroupedGraph {
  const agents = new Map<string, AgentCounts>();
  const runs = model.agentRuns;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    let node = agents.get(run.agent);
    if (!node) agents.set(run.agent, (node = { runs: 0, completed: 0, failed: 0, blocked: 0 }));
    node.runs++;
    if (run.outcome === 'completed') node.completed++;
    else if (run.outcome === 'failed') node.failed++;
    else if (run.outcome === 'blocked') node.blocked++;
  }
  const edges: EdgeDraft[] = [];
  const handoffs = model.handoffs;
  if (handoffs.length > 0) {
    const byKey = new Map<string, EdgeDraft>();
    for (let i = 0; i < handoffs.length; i++) {
      const handoff = handoffs[i]!;
      if (!agents.has(handoff.source)) agents.set(handoff.source, { runs: 0, completed: 0, failed: 0, blocked: 0 });
      if (!agents.has(handoff.target)) agents.set(handoff.target, { runs: 0, completed: 0, failed: 0, blocked: 0 });
      const key = `${handoff.source}\u0000${handoff.target}`;
      let edge = byKey.get(key);
      if (!edge) {
        edge = { source: handoff.source, target: handoff.target, handoffs: [] };
        byKey.set(key, edge);
        edges.push(edge);
      }
      edge.handoffs.push(handoff);
    }
  }
  return { agents, edges };
}

function materialize(grouped: GroupedGraph): DirectedGraph<AgentNodeAttributes, HandoffEdgeAttributes> {
  const graph = new DirectedGraph<AgentNodeAttributes, HandoffEdgeAttributes>();
  // Keys are prefixed (node-keys.ts): agent names like `constructor` would collide inside graphology.
  for (const [agent, counts] of grouped.agents) {
    graph.addNode(nodeKey(agent), { name: agent, runs: counts.runs, completed: counts.completed, failed: counts.failed, blocked: counts.blocked });
  }
  for (const edge of grouped.edges) {
    graph.addDirectedEdge(nodeKey(edge.source), nodeKey(edge.target), { source: edge.source, target: edge.target, handoffs: edge.handoffs });
  }
  return graph;
}

/** Builds the graphology graph of agents and handoff edges for one model. Node keys are `nodeKey(agent)`; attributes carry the names. */
export function buildHandoffGraph(model: HandoffModel): HandoffGraph {
  const grouped = groupModel(model);
  const result = { model } as { model: HandoffModel; graph: HandoffGraph['graph'] };
  // An own, enumerable property as before (a spread or toEqual sees it), replaced by a plain data
  // property, as the object literal had, on first read or write.
  // A caller may freeze the result: the getter then keeps the graph it built in this closure,
  // since the property can no longer be redefined.
  let built: HandoffGraph['graph'] | undefined;
  const settle = (graph: HandoffGraph['graph']): void => {
    built = graph;
    if (Object.isExtensible(result)) Object.defineProperty(result, 'graph', { value: graph, enumerable: true, writable: true, configurable: true });
  };
  Object.defineProperty(result, 'graph', {
    enumerable: true,
    configurable: true,
    get() {
      if (built !== undefined) return built;
      const graph = materialize(grouped);
      settle(graph);
      return graph;
    },
    // A graph assigned by the caller replaces the grouped lists too: readers then walk that graph.
    set(graph: HandoffGraph['graph']) {
      GROUPED.delete(result);
      settle(graph);
    },
  });
  GROUPED.set(result, grouped);
  return result;
}

/** The agents of a handoff graph, read without building its graphology graph when it came from buildHandoffGraph. */
export function forEachAgentOf(handoffGraph: HandoffGraph, visit: (agent: string) => void): void {
  const grouped = GROUPED.get(handoffGraph);
  // forEach, not an iterator: a group of 40k agents is walked once, before V8 optimizes this.
  if (grouped) grouped.agents.forEach((_counts, agent) => visit(agent));
  else handoffGraph.graph.forEachNode((_key, node) => visit(node.name));
}

/** The edges of a handoff graph in graphology's order, read without building its graphology graph when it came from buildHandoffGraph. */
export function handoffEdgesOf(handoffGraph: HandoffGraph): readonly HandoffEdgeAttributes[] {
  const grouped = GROUPED.get(handoffGraph);
  if (grouped) return grouped.edges;
  const edges: HandoffEdgeAttributes[] = [];
  handoffGraph.graph.forEachEdge((_edge, attributes) => void edges.push(attributes));
  return edges;
}

/** True when the value's `graph` exists, without building a graph that is built on first read. */
export function hasHandoffGraph(value: object): boolean {
  if (GROUPED.has(value as HandoffGraph)) return true;
  return Boolean((value as { graph?: unknown }).graph);
}
