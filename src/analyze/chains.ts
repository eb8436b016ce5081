/**
 * Walks handoff chains: the hop into an agent before it handed off again.
 * A chain is A → B → C when B received from A before sending to C, in the same task.
 * Lookups are binary searches over per-(task, agent) arrival times, so a
 * 10k-lap loop or a 100k-deep chain costs n log n, not n².
 */
import type { Handoff, HandoffModel } from '../model/handoff-model.js';
import { upperBound } from './state-index.js';

/** When a handoff happened: its send, else its first receive. */
export function handoffStartMs(handoff: Handoff): number {
  return handoff.send?.startMs ?? handoff.receives[0]?.startMs ?? 0;
}

/** When the target got it: its first receive, else its send. */
export function handoffArrivalMs(handoff: Handoff): number {
  return handoff.receives[0]?.startMs ?? handoff.send?.startMs ?? 0;
}

interface ArrivalList {
  readonly handoffs: Handoff[];
  arrivals: Float64Array;
}

const indexes = new WeakMap<HandoffModel, ChainIndex>();
const EMPTY_ARRIVALS = new Float64Array(0);

function compareArrival(a: Handoff, b: Handoff): number {
  return handoffArrivalMs(a) - handoffArrivalMs(b);
}

/**
 * The chain index of a model, built once: dependency-cycle, context-blowup,
 * context-loss and the critical path all walk the same chains of one group.
 */
export function chainIndexOf(model: HandoffModel): ChainIndex {
  let index = indexes.get(model);
  if (!index) indexes.set(model, (index = new ChainIndex(model)));
  return index;
}

/** Index of handoffs by (task, target), each list in arrival order. */
export class ChainIndex {
  /**
   * Task id (or '') → target agent → handoffs into it. Two lookups of names the model already
   * holds, not a joined key: a key string built per lookup was a new string to hash on each of
   * the several calls per handoff.
   */
  readonly #into = new Map<string, Map<string, ArrivalList>>();
  readonly #model: Pick<HandoffModel, 'handoffs'>;

  /** Takes a model, or the handoffs of one task gathered from several trace groups. */
  constructor(model: Pick<HandoffModel, 'handoffs'>) {
    this.#model = model;
    const handoffs = model.handoffs;
    for (let i = 0; i < handoffs.length; i++) {
      const handoff = handoffs[i]!;
      const task = handoff.taskId ?? '';
      let byTarget = this.#into.get(task);
      if (!byTarget) this.#into.set(task, (byTarget = new Map()));
      let list = byTarget.get(handoff.target);
      if (!list) byTarget.set(handoff.target, (list = { handoffs: [], arrivals: EMPTY_ARRIVALS }));
      list.handoffs.push(handoff);
    }
    for (const byTarget of this.#into.values()) {
      for (const list of byTarget.values()) {
        // Stable: equal arrival times keep model order (send start, then span id).
        if (list.handoffs.length > 1) list.handoffs.sort(compareArrival);
        const arrivals = new Float64Array(list.handoffs.length);
        for (let i = 0; i < arrivals.length; i++) arrivals[i] = handoffArrivalMs(list.handoffs[i]!);
        list.arrivals = arrivals;
      }
    }
  }

  /** The latest handoff into `handoff.source` of the same task that arrived before `handoff` left. */
  previousHop(handoff: Handoff): Handoff | undefined {
    const list = this.#into.get(handoff.taskId ?? '')?.get(handoff.source);
    if (!list) return undefined;
    for (let i = upperBound(list.arrivals, handoffStartMs(handoff)) - 1; i >= 0; i--) {
      const candidate = list.handoffs[i]!;
      if (candidate !== handoff) return candidate;
    }
    return undefined;
  }

  /** Chains ending at each handoff that no later hop continues, earliest hop first (computed once). */
  chains(): Handoff[][] {
    this.#chains ??= this.#buildChains(this.#model);
    return this.#chains;
  }

  #chains: Handoff[][] | undefined;

  #buildChains(model: Pick<HandoffModel, 'handoffs'>): Handoff[][] {
    const continued = new Set<Handoff>();
    const previous = new Map<Handoff, Handoff>();
    // Indexed loops: on one large group this runs once, before V8 optimizes it, and an iterator
    // there allocates a result per handoff.
    const handoffs = model.handoffs;
    for (let i = 0; i < handoffs.length; i++) {
      const handoff = handoffs[i]!;
      const prior = this.previousHop(handoff);
      if (prior) {
        previous.set(handoff, prior);
        continued.add(prior);
      }
    }
    const chains: Handoff[][] = [];
    for (let i = 0; i < handoffs.length; i++) {
      const handoff = handoffs[i]!;
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
