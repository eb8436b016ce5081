/**
 * Walks handoff chains: the hop into an agent before it handed off again.
 * A chain is A → B → C when B received from A before sending to C, in the same task.
 */
import type { Handoff, HandoffModel } from '../model/handoff-model.js';

/** When a handoff happened: its send, else its first receive. */
export function handoffStartMs(handoff: Handoff): number {
  return handoff.send?.startMs ?? handoff.receives[0]?.startMs ?? 0;
}

/** When the target got it: its first receive, else its send. */
export function handoffArrivalMs(handoff: Handoff): number {
  return handoff.receives[0]?.startMs ?? handoff.send?.startMs ?? 0;
}

/** Index of handoffs by (task, target), each list in arrival order. */
export class ChainIndex {
  readonly #into = new Map<string, Handoff[]>();

  constructor(model: HandoffModel) {
    for (const handoff of model.handoffs) {
      const key = `${handoff.taskId ?? ''}\u0000${handoff.target}`;
      let list = this.#into.get(key);
      if (!list) {
        list = [];
        this.#into.set(key, list);
      }
      list.push(handoff);
    }
    for (const list of this.#into.values()) list.sort((a, b) => handoffArrivalMs(a) - handoffArrivalMs(b));
  }

  /** The latest handoff into `handoff.source` of the same task that arrived before `handoff` left. */
  previousHop(handoff: Handoff): Handoff | undefined {
    const list = this.#into.get(`${handoff.taskId ?? ''}\u0000${handoff.source}`);
    if (!list) return undefined;
    const leftAt = handoffStartMs(handoff);
    let found: Handoff | undefined;
    for (let i = 0; i < list.length; i++) {
      const candidate = list[i]!;
      if (candidate === handoff) continue;
      if (handoffArrivalMs(candidate) <= leftAt) found = candidate;
      else break;
    }
    return found;
  }

  /** Chains ending at each handoff that no later hop continues, earliest hop first. */
  chains(model: HandoffModel): Handoff[][] {
    const continued = new Set<Handoff>();
    const previous = new Map<Handoff, Handoff>();
    for (const handoff of model.handoffs) {
      const prior = this.previousHop(handoff);
      if (prior) {
        previous.set(handoff, prior);
        continued.add(prior);
      }
    }
    const chains: Handoff[][] = [];
    for (const handoff of model.handoffs) {
      if (continued.has(handoff)) continue;
      const chain: Handoff[] = [];
      const seen = new Set<Handoff>();
      for (let h: Handoff | undefined = handoff; h && !seen.has(h); h = previous.get(h)) {
        seen.add(h);
        chain.push(h);
      }
      chains.push(chain.reverse());
    }
    return chains;
  }
}
