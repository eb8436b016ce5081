/**
 * Builds the handoff graph of a model: one node per agent, one directed edge per
 * source → target pair holding that edge's handoffs. The model is not changed.
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

function emptyAgent(): Omit<AgentNodeAttributes, 'name'> {
  return { runs: 0, completed: 0, failed: 0, blocked: 0 };
}

/** Builds the graphology graph of agents and handoff edges for one model. Node keys are `nodeKey(agent)`; attributes carry the names. */
export function buildHandoffGraph(model: HandoffModel): HandoffGraph {
  const graph = new DirectedGraph<AgentNodeAttributes, HandoffEdgeAttributes>();
  const agents = new Map<string, { runs: number; completed: number; failed: number; blocked: number }>();
  const touch = (agent: string) => {
    let node = agents.get(agent);
    if (!node) {
      node = emptyAgent() as { runs: number; completed: number; failed: number; blocked: number };
      agents.set(agent, node);
    }
    return node;
  };
  for (const run of model.agentRuns) {
    const node = touch(run.agent);
    node.runs++;
    if (run.outcome === 'completed') node.completed++;
    else if (run.outcome === 'failed') node.failed++;
    else if (run.outcome === 'blocked') node.blocked++;
  }
  const edges = new Map<string, { source: string; target: string; handoffs: Handoff[] }>();
  for (const handoff of model.handoffs) {
    touch(handoff.source);
    touch(handoff.target);
    const key = `${handoff.source}\u0000${handoff.target}`;
    let edge = edges.get(key);
    if (!edge) {
      edge = { source: handoff.source, target: handoff.target, handoffs: [] };
      edges.set(key, edge);
    }
    edge.handoffs.push(handoff);
  }
  // Keys are prefixed (node-keys.ts): agent names like `constructor` would collide inside graphology.
  for (const [agent, attributes] of agents) graph.addNode(nodeKey(agent), { name: agent, ...attributes });
  for (const edge of edges.values()) {
    graph.addDirectedEdge(nodeKey(edge.source), nodeKey(edge.target), { source: edge.source, target: edge.target, handoffs: edge.handoffs });
  }
  return { model, graph };
}
