/**
 * Finds one directed cycle in a graphology graph and returns it as a path.
 *
 * graphology-dag's hasCycle answers only yes or no; callers use it as the gate
 * and this to name the cycle (A → B → C → A). Iterative DFS with three colours,
 * so deep graphs cannot overflow the stack.
 *
 * @see https://en.wikipedia.org/wiki/Depth-first_search#Output_of_a_depth-first_search (back edges)
 */
import type { AbstractGraph } from 'graphology-types';

const WHITE = 0;
const GREY = 1;
const BLACK = 2;

/**
 * Returns the nodes of one cycle, first node repeated at the end
 * (`['a', 'b', 'a']`; a self-loop is `['a', 'a']`), or null if the graph is acyclic.
 * Nodes are tried in insertion order, so the answer is deterministic.
 */
export function findCyclePath(graph: AbstractGraph): string[] | null {
  const colour = new Map<string, number>();
  graph.forEachNode((node) => colour.set(node, WHITE));
  const parent = new Map<string, string>();
  for (const start of graph.nodes()) {
    if (colour.get(start) !== WHITE) continue;
    const stack: { node: string; next: string[]; index: number }[] = [
      { node: start, next: graph.outNeighbors(start), index: 0 },
    ];
    colour.set(start, GREY);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.index >= frame.next.length) {
        colour.set(frame.node, BLACK);
        stack.pop();
        continue;
      }
      const neighbour = frame.next[frame.index++]!;
      const state = colour.get(neighbour);
      if (state === GREY) {
        const path = [neighbour];
        for (let node = frame.node; node !== neighbour; node = parent.get(node)!) path.push(node);
        path.push(neighbour);
        return path.reverse();
      }
      if (state === WHITE) {
        colour.set(neighbour, GREY);
        parent.set(neighbour, frame.node);
        stack.push({ node: neighbour, next: graph.outNeighbors(neighbour), index: 0 });
      }
    }
  }
  return null;
}

/**
 * Whether a directed edge list has a cycle: an iterative three-colour DFS over a plain
 * adjacency map. A cheap gate for the many small per-task graphs that have none, so
 * only graphs with a cycle pay for building a graphology graph to name it.
 */
export function edgeListHasCycle(edges: readonly (readonly [string, string])[]): boolean {
  const next = new Map<string, string[]>();
  for (const [from, to] of edges) {
    if (from === to) return true;
    let list = next.get(from);
    if (!list) next.set(from, (list = []));
    list.push(to);
  }
  const state = new Map<string, 1 | 2>(); // 1: on the current path, 2: done
  for (const start of next.keys()) {
    if (state.has(start)) continue;
    const stack: [string, number][] = [[start, 0]];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const out = next.get(top[0]);
      if (out && top[1] < out.length) {
        const to = out[top[1]++]!;
        const seen = state.get(to);
        if (seen === 1) return true;
        if (seen === undefined) {
          state.set(to, 1);
          stack.push([to, 0]);
        }
      } else {
        state.set(top[0], 2);
        stack.pop();
      }
    }
  }
  return false;
}
