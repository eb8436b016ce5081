/**
 * A store-agnostic view of versioned shared state, and its instrumentation.
 *
 * The production pattern of the founding document: every state entry carries a
 * version (and the task epoch it was written in), writers may state the version
 * they expect to replace, and a write that must be announced names its event.
 * Any store that can say which version it read or wrote fits VersionedStateStore;
 * InMemoryStateStore is the reference implementation for examples and tests.
 */
import { BatonError } from '../model/errors.js';
import type { Baton, StateAccess } from './baton.js';

/** One entry as read from a store. */
export interface StateEntry<V = unknown> {
  readonly value: V;
  /** Monotonic per key, starting at 1 for the first write. */
  readonly version: number;
  readonly epoch?: number;
}

/** What a write reports back. */
export interface StateWriteResult {
  readonly version: number;
  readonly epoch?: number;
}

/** Options of a versioned write. */
export interface StateWriteOptions {
  /** Reject the write unless the current version is this one (0: the key must not exist). */
  readonly expectedVersion?: number;
  readonly epoch?: number;
}

/** The interface Baton's state instrumentation needs from a store. */
export interface VersionedStateStore<V = unknown> {
  get(key: string): Promise<StateEntry<V> | undefined>;
  set(key: string, value: V, options?: StateWriteOptions): Promise<StateWriteResult>;
}

/** A write's expected version did not match the stored one. */
export class StateConflictError extends BatonError {
  readonly code = 'BATON_STATE_CONFLICT';
  constructor(
    readonly key: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`state ${key} is at version ${actualVersion}, not the expected ${expectedVersion}`);
  }
}

/** A process-local VersionedStateStore. Values are stored as given (not copied). */
export class InMemoryStateStore<V = unknown> implements VersionedStateStore<V> {
  readonly #entries = new Map<string, StateEntry<V>>();

  async get(key: string): Promise<StateEntry<V> | undefined> {
    return this.#entries.get(key);
  }

  async set(key: string, value: V, options: StateWriteOptions = {}): Promise<StateWriteResult> {
    const current = this.#entries.get(key);
    const currentVersion = current?.version ?? 0;
    if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
      throw new StateConflictError(key, options.expectedVersion, currentVersion);
    }
    const entry: StateEntry<V> = { value, version: currentVersion + 1, epoch: options.epoch ?? current?.epoch };
    this.#entries.set(key, entry);
    return { version: entry.version, epoch: entry.epoch };
  }

  /** A point-in-time copy: reads from it lag behind later writes, like a read replica. */
  snapshot(): InMemoryStateStore<V> {
    const copy = new InMemoryStateStore<V>();
    for (const [key, entry] of this.#entries) copy.#entries.set(key, entry);
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

/**
 * Wraps a store so every get/set is a state.read/state.write span with key,
 * versions, epoch, writer, attempt and idempotency key.
 */
export function instrumentStore<V>(
  baton: Baton,
  store: VersionedStateStore<V>,
  defaults: StoreAccessDefaults = {},
): InstrumentedStateStore<V> {
  return {
    store,
    get: (key, access = {}) => baton.traceStateRead({ ...defaults, ...access, key }, () => store.get(key)),
    set: (key, value, access = {}) => {
      const merged: StateAccess = { ...defaults, ...access, key };
      const options: { expectedVersion?: number; epoch?: number } = {};
      if (merged.expectedVersion !== undefined) options.expectedVersion = merged.expectedVersion;
      if (merged.epoch !== undefined) options.epoch = merged.epoch;
      return baton.traceStateWrite(merged, () => store.set(key, value, options));
    },
  };
}
