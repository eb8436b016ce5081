/**
 * A store-agnostic view of versioned shared state, and its instrumentation.
 *
 * The production pattern of the founding document: every state entry carries a
 * version (and the task epoch it was written in), writers may state the version
 * they expect to replace, a write that must be announced names its event, and a
 * retried write carries an idempotency key so the store can tell it is a repeat.
 * Any store that can say which version it read or wrote fits VersionedStateStore;
 * InMemoryStateStore is the reference implementation for examples and tests.
 */
import { StateConflictError } from '../model/errors.js';
import type { Baton, StateAccess } from './baton.js';
import { isClientObject } from './fault-policy.js';

/** One entry as read from a store. */
export interface StateEntry<V = unknown> {
  readonly value: V;
  /** Monotonic per key, starting at 1 for the first write. */
  readonly version: number;
  readonly epoch?: number;
}

/** What a write reports back. */
export interface StateWriteResult {
  /** The version committed; for a deduplicated write, the one the first write with its idempotency key committed. */
  readonly version: number;
  readonly epoch?: number;
  /** True when the store recognised the write as a repeat (same idempotency key) and committed nothing new. */
  readonly deduplicated?: boolean;
}

/** Options of a versioned write. */
export interface StateWriteOptions {
  /** Reject the write unless the current version is this one (0: the key must not exist). */
  readonly expectedVersion?: number;
  readonly epoch?: number;
  /**
   * One logical write across retries. A store that supports it commits the first
   * write with a key and answers every later one with that write's result and
   * `deduplicated: true`; a store that does not ignores it.
   */
  readonly idempotencyKey?: string;
}

/** The interface Baton's state instrumentation needs from a store. */
export interface VersionedStateStore<V = unknown> {
  get(key: string): Promise<StateEntry<V> | undefined>;
  set(key: string, value: V, options?: StateWriteOptions): Promise<StateWriteResult>;
}

// Defined with the SDK's other errors, so `baton-sdk/errors` holds every one of them.
export { StateConflictError };

/**
 * A process-local VersionedStateStore. Values are stored as given (not copied).
 * Idempotency keys are remembered per state key for the store's life, like its
 * entries: a repeat is answered before the expected version is checked, since a
 * retry expects the version its first attempt replaced.
 */
export class InMemoryStateStore<V = unknown> implements VersionedStateStore<V> {
  readonly #entries = new Map<string, StateEntry<V>>();
  /** State key → idempotency key → what the first write with that key returned. */
  readonly #committed = new Map<string, Map<string, StateWriteResult>>();

  async get(key: string): Promise<StateEntry<V> | undefined> {
    return this.#entries.get(key);
  }

  async set(key: string, value: V, options: StateWriteOptions = {}): Promise<StateWriteResult> {
    const { idempotencyKey } = options;
    const seen = idempotencyKey === undefined ? undefined : this.#committed.get(key)?.get(idempotencyKey);
    if (seen) return { ...seen, deduplicated: true };
    const current = this.#entries.get(key);
    const currentVersion = current?.version ?? 0;
    if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
      throw new StateConflictError(key, options.expectedVersion, currentVersion);
    }
    const entry: StateEntry<V> = { value, version: currentVersion + 1, epoch: options.epoch ?? current?.epoch };
    this.#entries.set(key, entry);
    const result: StateWriteResult = { version: entry.version, epoch: entry.epoch };
    if (idempotencyKey !== undefined) {
      let keys = this.#committed.get(key);
      if (!keys) this.#committed.set(key, (keys = new Map()));
      keys.set(idempotencyKey, result);
    }
    return result;
  }

  /** A point-in-time copy: reads from it lag behind later writes, like a read replica. */
  snapshot(): InMemoryStateStore<V> {
    const copy = new InMemoryStateStore<V>();
    for (const [key, entry] of this.#entries) copy.#entries.set(key, entry);
    for (const [key, keys] of this.#committed) copy.#committed.set(key, new Map(keys));
    return copy;
  }
}

/** Defaults applied to every access through an instrumented store. */
export type StoreAccessDefaults = Omit<StateAccess, 'key' | 'expectedVersion'>;

/** A VersionedStateStore whose reads and writes are traced; per-call access facts are optional. */
export interface InstrumentedStateStore<V = unknown> {
  get(key: string, access?: Omit<StateAccess, 'key'>): Promise<StateEntry<V> | undefined>;
  set(key: string, value: V, access?: Omit<StateAccess, 'key'>): Promise<StateWriteResult>;
  /** The store underneath, untraced. */
  readonly store: VersionedStateStore<V>;
}

/** `{ ...defaults, ...access, key }`, or undefined when either cannot be read (a hostile object). */
function mergeAccess(defaults: StoreAccessDefaults, access: Omit<StateAccess, 'key'> | undefined, key: string): StateAccess | undefined {
  try {
    return { ...defaults, ...access, key };
  } catch {
    return undefined;
  }
}

/**
 * Wraps a store so every get/set is a state.read/state.write span with key,
 * versions, epoch, writer, attempt and idempotency key. The idempotency key is
 * passed on to the store, and a write it deduplicated is recorded as such
 * (`baton.state.deduplicated`), with the version the first write committed.
 *
 * Never throws on Baton's account: access facts that cannot be read are left to
 * the store as they were given (untraced), as the app would have called it.
 */
export function instrumentStore<V>(
  baton: Baton,
  store: VersionedStateStore<V>,
  defaults: StoreAccessDefaults = {},
): InstrumentedStateStore<V> {
  // No store (null, a config path not taken): said once, as the store adapters say it; its calls fail as the app's own would.
  isClientObject('instrumentStore', 'a store with get and set', store);
  return {
    store,
    get: (key, access) => {
      const merged = mergeAccess(defaults, access, key);
      return merged ? baton.traceStateRead(merged, () => store.get(key)) : store.get(key);
    },
    set: (key, value, access) => {
      const merged = mergeAccess(defaults, access, key);
      if (!merged) return store.set(key, value, access as StateWriteOptions | undefined);
      const options: { -readonly [K in keyof StateWriteOptions]: StateWriteOptions[K] } = {};
      if (merged.expectedVersion !== undefined) options.expectedVersion = merged.expectedVersion;
      if (merged.epoch !== undefined) options.epoch = merged.epoch;
      if (merged.idempotencyKey !== undefined) options.idempotencyKey = merged.idempotencyKey;
      return baton.traceStateWrite(merged, () => store.set(key, value, options));
    },
  };
}
