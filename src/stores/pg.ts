/**
 * `baton-sdk/pg`: Baton for node-postgres 8 (`pg`, an optional peer dependency; this
 * module never imports it at run time, it instruments the Pool or Client the app
 * passes).
 *
 * - {@link instrumentPg}: one call on an app's Pool or Client. Statements on the
 *   state tables it is told about (single-row SELECT / UPDATE / INSERT keyed by a
 *   parameter) become state.read / state.write spans with key, version (read from
 *   the row, RETURNING, or the statement's parameters), epoch and the facts of
 *   {@link withStateAccess}; `pg_notify` / NOTIFY become publish spans (a JSON
 *   object payload carries the trace context) and notifications received run in
 *   consume spans. Every other statement goes to the driver after a Map lookup.
 * - {@link PgStateStore}: versioned state with compare-and-set
 *   (`UPDATE … WHERE version = $n` in a READ COMMITTED transaction holding the
 *   row lock), idempotent writes, epoch fencing and a transactional outbox.
 * - {@link PgOutboxRelay}: publishes committed outbox rows on any EventBus, each
 *   publish linked to the writer's stored trace context.
 * - {@link PgNotifyBus}: events over LISTEN/NOTIFY.
 */
import { context as contextApi, diag, trace, type Span } from '@opentelemetry/api';
import type { ClientBase, Notification, Pool, PoolClient, QueryResult } from 'pg';
import { MESSAGING_MESSAGE_ID } from '../model/attributes.js';
import type { EventMessage, TraceContextCarrier } from '../model/envelope.js';
import type { Baton } from '../sdk/baton.js';
import type { StateEntry, StateWriteOptions, StateWriteResult, VersionedStateStore } from '../sdk/state-store.js';
import {
  isInstrumentationWrapped,
  isSuppressed,
  nowMs,
  StoreInstrumentation,
  toVersion,
  traceAccess,
  untraced,
  withStateAccess,
  type StateAccessFacts,
  type StateOutcome,
  type StoreInstrumentationOptions,
  type StoreInstrumentationStats,
  type PatternWriteOptions,
  writeFactsOf,
  isClientObject,
} from './common.js';
import { StaleEpochWriteError, StateConflictError } from './errors.js';
import { publishEvent, type BusEvent, type EventBus } from './event-bus.js';
import { classifySql, type SqlAccess, type StateTable } from './sql.js';

export { withStateAccess, untraced, StateConflictError, StaleEpochWriteError };
export type { StateAccessFacts, StoreInstrumentationOptions, StoreInstrumentationStats, EventBus, BusEvent, StateTable };

/** Version and epoch an extractor reads from a statement and its result. */
export interface PgStateFacts {
  readonly version?: number;
  readonly epoch?: number;
}

/** One state statement, as an {@link PgInstrumentationOptions.extract} extractor sees it. */
export interface PgStateQuery {
  readonly operation: 'read' | 'write';
  readonly table: string;
  readonly key: string;
  readonly text: string;
  readonly values: readonly unknown[];
}

/** Options of {@link instrumentPg}. */
export interface PgInstrumentationOptions extends StoreInstrumentationOptions {
  /**
   * The state tables and how each stores key, version and epoch (defaults
   * `key`, `version`, `epoch`). Statements on other tables are not state access.
   * Default: `{ baton_state: {} }`, the table of {@link PgStateStore}.
   */
  readonly tables?: Readonly<Record<string, StateTable>>;
  /** Reads version and epoch from a statement and its result, replacing the default (the configured columns). */
  readonly extract?: (query: PgStateQuery, result: QueryResult | undefined) => PgStateFacts | undefined;
  /** Trace NOTIFY / pg_notify and received notifications. Default true. */
  readonly notifications?: boolean;
  /** Add `trace_context` to a pg_notify payload that is a JSON object. Default true. */
  readonly injectTraceContext?: boolean;
}

type QueryFn = (this: ClientBase, ...args: unknown[]) => unknown;
type EmitFn = (this: ClientBase, event: string | symbol, ...args: unknown[]) => boolean;


const INSTRUMENTED = Symbol.for('baton.stores.pg.instrumented');
/** Marks each client whose query/emit are wrapped (a Client given directly carries both marks). */
const CLIENT_INSTRUMENTED = Symbol.for('baton.stores.pg.client-instrumented');
const CACHE_LIMIT = 2048;

interface PgInstrumented {
  readonly inst: StoreInstrumentation;
}

/** Counts of the instrumentation on a Pool or Client, or undefined if it is not instrumented. */
export function pgInstrumentationStats(target: Pool | ClientBase): StoreInstrumentationStats | undefined {
  return (target as unknown as { [INSTRUMENTED]?: PgInstrumented })[INSTRUMENTED]?.inst.stats();
}

function isPool(target: Pool | ClientBase): target is Pool {
  return typeof (target as Pool).totalCount === 'number' && typeof (target as Pool).connect === 'function' && !('processID' in target);
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

function rowFacts(result: QueryResult | undefined, access: SqlAccess): PgStateFacts | undefined {
  const row = result?.rows?.[0] as Record<string, unknown> | undefined;
  if (!row || typeof row !== 'object') return undefined;
  return { version: toVersion(row[access.versionColumn]), epoch: toVersion(row[access.epochColumn]) };
}

/** The version and epoch a write statement committed, from RETURNING or its parameters. */
function writtenFacts(result: QueryResult | undefined, access: SqlAccess, values: readonly unknown[]): StateOutcome {
  const returned = rowFacts(result, access);
  const expected = access.expectedParam !== undefined ? toVersion(values[access.expectedParam]) : undefined;
  if (result && result.rowCount === 0) return { expectedVersion: expected };
  let version = returned?.version;
  if (version === undefined && access.versionParam !== undefined) version = toVersion(values[access.versionParam]);
  if (version === undefined && access.versionLiteral !== undefined) version = access.versionLiteral;
  if (version === undefined && access.incrementsVersion && expected !== undefined) version = expected + 1;
  let epoch = returned?.epoch;
  if (epoch === undefined && access.epochParam !== undefined) epoch = toVersion(values[access.epochParam]);
  return { version, epoch, expectedVersion: expected };
}

function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text.charCodeAt(0) !== 123) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Instruments a Pool (every client it hands out, and `pool.query`) or a Client in
 * place and returns it. Calling it twice does nothing the second time.
 *
 * ```ts
 * const pool = instrumentPg(new pg.Pool(config), { tables: { agent_state: { key: 'id', version: 'rev' } } });
 * await withStateAccess({ agent: 'research', attempt: 1 }, () =>
 *   pool.query('UPDATE agent_state SET doc = $2, rev = rev + 1 WHERE id = $1 AND rev = $3', [id, doc, rev]),
 * );
 * ```
 */
export function instrumentPg<T extends Pool | ClientBase>(target: T, options: PgInstrumentationOptions = {}): T {
  // Never throws into the host: a pool that is not there yet (null, undefined from a config path
  // not taken) is handed back untouched and reported, and the app starts as it would without Baton.
  if (!isClientObject('instrumentPg', 'a pg Pool or Client', target)) return target;
  const holder = target as unknown as { [INSTRUMENTED]?: PgInstrumented };
  if (holder[INSTRUMENTED]) return target;
  const inst = new StoreInstrumentation('postgresql', options);
  const tables = new Map(Object.entries(options.tables ?? { baton_state: {} }));
  const cache = new Map<string, SqlAccess | null>();
  const config = {
    inst,
    tables,
    cache,
    extract: options.extract,
    notify: options.notifications ?? true,
    inject: options.injectTraceContext ?? true,
  };
  Object.defineProperty(target, INSTRUMENTED, { value: { inst } satisfies PgInstrumented, enumerable: false });
  if (isPool(target)) {
    target.on('connect', (client: PoolClient) => instrumentClient(client, config));
    // Clients the pool already holds (idle or lent out) are instrumented too.
    for (const client of ((target as unknown as { _clients?: ClientBase[] })._clients ?? [])) instrumentClient(client, config);
  } else {
    instrumentClient(target, config);
  }
  return target;
}

interface ClientConfig {
  readonly inst: StoreInstrumentation;
  readonly tables: ReadonlyMap<string, StateTable>;
  readonly cache: Map<string, SqlAccess | null>;
  readonly extract: PgInstrumentationOptions['extract'];
  readonly notify: boolean;
  readonly inject: boolean;
}

function instrumentClient(client: ClientBase, config: ClientConfig): void {
  const marked = client as unknown as { [CLIENT_INSTRUMENTED]?: true };
  if (marked[CLIENT_INSTRUMENTED]) return;
  Object.defineProperty(client, CLIENT_INSTRUMENTED, { value: true, enumerable: false });
  const proto = Object.getPrototypeOf(client) as { query: QueryFn; emit: EmitFn };
  const { inst, tables, cache, extract } = config;
  const driverWrapped = () => isInstrumentationWrapped(proto.query);

  // `arguments`, not rest parameters: a statement that is not state access is handed on without an array built for it.
  const query = function query(this: ClientBase, first?: unknown, second?: unknown): unknown {
    // The prototype's method is looked up per call, so a contrib instrumentation enabled later still runs.
    const original = proto.query;
    let text: string | undefined;
    let values: unknown[] | undefined;
    if (typeof first === 'string') {
      text = first;
      if (Array.isArray(second)) values = second as unknown[];
    } else if (first !== null && typeof first === 'object' && typeof (first as { submit?: unknown }).submit !== 'function') {
      const q = first as { text?: unknown; values?: unknown };
      if (typeof q.text === 'string') text = q.text;
      values = Array.isArray(q.values) ? (q.values as unknown[]) : Array.isArray(second) ? (second as unknown[]) : undefined;
    }
    if (text === undefined) return original.apply(this, arguments as unknown as unknown[]);
    let access = cache.get(text);
    if (access === undefined) {
      try {
        access = classifySql(text, tables, config.notify);
      } catch (error) {
        inst.fault('pg classify', error, undefined);
        access = null;
      }
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(text, access);
    }
    if (access === null) return original.apply(this, arguments as unknown as unknown[]);
    const args: unknown[] = Array.prototype.slice.call(arguments);
    const ctx = contextApi.active();
    if (isSuppressed(ctx)) return original.apply(this, args);
    const params = values ?? [];
    let span: Span | undefined;
    let stateQuery: PgStateQuery | undefined;
    let callArgs = args;
    let driverSpan = false;
    /** Set when the statement is sent before its span is made (see below). */
    let sentAtMs: number | undefined;
    try {
      if (access.kind === 'publish') {
        const channel = access.channel ?? textOf(params[access.channelParam ?? -1]) ?? 'unknown';
        driverSpan = inst.driverWritesClientSpan(driverWrapped);
        span = inst.startMessaging('publish', channel, ctx, undefined);
        if (span && config.inject && access.payloadParam !== undefined) {
          const payload = parseJsonObject(textOf(params[access.payloadParam]));
          const carrier = payload ? inst.carrierOf(span, ctx) : undefined;
          if (payload && carrier) {
            payload.trace_context = carrier;
            const injected = params.slice();
            injected[access.payloadParam] = JSON.stringify(payload);
            callArgs = typeof first === 'string' ? [first, injected, ...args.slice(2)] : [{ ...(first as object), values: injected }, ...args.slice(Array.isArray(args[1]) ? 2 : 1)];
            if (typeof payload.id === 'string') span.setAttribute(MESSAGING_MESSAGE_ID, payload.id);
          }
        }
      } else {
        const key = textOf(params[access.keyParam ?? -1]);
        if (key !== undefined) {
          stateQuery = { operation: access.kind, table: access.table, key, text, values: params };
          driverSpan = inst.driverWritesClientSpan(driverWrapped);
          // pg writes the statement to the socket inside query(): sent first and the span made after (starting
          // when it was sent), Baton's work runs while the statement is on the wire. A driver instrumentation
          // needs Baton's span active to parent its CLIENT span, and a callback is wrapped before the call.
          if (!driverSpan && typeof args[args.length - 1] !== 'function') sentAtMs = nowMs();
          else span = inst.startState(access.kind, key, access.table, driverSpan, ctx);
        }
      }
    } catch (error) {
      inst.fault('pg query', error, span);
    }
    let sentResult: unknown;
    if (sentAtMs !== undefined && stateQuery) {
      sentResult = original.apply(this, args);
      span = inst.startState(stateQuery.operation, stateQuery.key, stateQuery.table, false, ctx, undefined, sentAtMs);
      if (!span) return sentResult;
    }
    if (!span) return original.apply(this, args);
    const querySpan = span;
    const onResult = (result: QueryResult | undefined) => {
      if (!stateQuery || !access) {
        inst.endMessaging(querySpan, undefined);
        return;
      }
      let outcome: StateOutcome | undefined;
      try {
        if (stateQuery.operation === 'read') {
          const facts = extract ? extract(stateQuery, result) : rowFacts(result, access);
          outcome = { version: facts?.version, epoch: facts?.epoch, found: (result?.rowCount ?? 0) > 0 };
        } else if (extract) {
          const facts = extract(stateQuery, result);
          outcome = (result?.rowCount ?? 1) === 0 ? undefined : { version: facts?.version, epoch: facts?.epoch };
        } else {
          outcome = writtenFacts(result, access, stateQuery.values);
        }
      } catch (error) {
        inst.fault('pg result', error, querySpan);
      }
      inst.endState(querySpan, stateQuery.operation, outcome);
    };
    const last = callArgs[callArgs.length - 1];
    if (typeof last === 'function') {
      const callback = last as (error: unknown, result: unknown) => void;
      const withCallback = callArgs.slice(0, -1);
      withCallback.push((error: unknown, result: unknown) => {
        if (error) inst.endFailed(querySpan, error);
        else onResult(result as QueryResult);
        callback(error, result);
      });
      return driverSpan
        ? contextApi.with(trace.setSpan(ctx, querySpan), () => original.apply(this, withCallback))
        : original.apply(this, withCallback);
    }
    // Only a driver instrumentation needs Baton's span active (to parent its CLIENT span).
    const result =
      sentAtMs !== undefined
        ? sentResult
        : driverSpan
          ? contextApi.with(trace.setSpan(ctx, querySpan), () => original.apply(this, callArgs))
          : original.apply(this, callArgs);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<QueryResult>).then(onResult, (error: unknown) => inst.endFailed(querySpan, error));
    } else {
      onResult(undefined);
    }
    return result;
  };
  Object.defineProperty(client, 'query', { value: query, writable: true, configurable: true, enumerable: false });

  if (!config.notify) return;
  const emit = function emit(this: ClientBase, event: string | symbol, note?: Notification): boolean {
    if (event !== 'notification') return proto.emit.apply(this, arguments as unknown as [string | symbol, ...unknown[]]);
    let span: Span | undefined;
    try {
      const payload = parseJsonObject(note?.payload);
      const link = payload ? inst.linkFrom(payload.trace_context) : undefined;
      const ctx = contextApi.active();
      span = inst.startMessaging('receive', note?.channel ?? 'unknown', ctx, link ? [link] : undefined);
      if (span && payload && typeof payload.id === 'string') span.setAttribute(MESSAGING_MESSAGE_ID, payload.id);
    } catch (error) {
      inst.fault('pg notification', error, span);
    }
    if (!span) return proto.emit.call(this, event, note);
    const receiveSpan = span;
    try {
      return contextApi.with(trace.setSpan(contextApi.active(), receiveSpan), () => proto.emit.call(this, event, note));
    } finally {
      inst.endMessaging(receiveSpan, undefined);
    }
  };
  Object.defineProperty(client, 'emit', { value: emit, writable: true, configurable: true, enumerable: false });
}

// ---------------------------------------------------------------------------
// The pattern: versioned state, idempotent writes, epochs, transactional outbox.

/** Per-call facts of a pattern-store write, besides the versioning options. */
export interface PgWriteOptions extends PatternWriteOptions {
  /**
   * The completion event, written to the outbox in the write's transaction: it
   * exists if and only if the write committed. {@link PgOutboxRelay} publishes it.
   */
  readonly event?: { readonly topic: string; readonly id?: string; readonly payload?: unknown };
}

/** What a pattern-store write returns. */
export interface PgWriteResult extends StateWriteResult {
  /** The id of the outbox message written with it (absent on a deduplicated write). */
  readonly messageId?: string;
}

/** Options of {@link PgStateStore}. */
export interface PgStateStoreOptions extends StoreInstrumentationOptions {
  /** Default `baton_state`. */
  readonly table?: string;
  /** Default `baton_idempotency`. */
  readonly idempotencyTable?: string;
  /** Default `baton_outbox`. */
  readonly outboxTable?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function checkName(name: string, what: string): string {
  if (!NAME.test(name)) throw new TypeError(`baton-sdk/pg: ${what} ${JSON.stringify(name)} is not a plain SQL identifier`);
  return name;
}

/**
 * Runs `fn` in one transaction on a client checked out of `pool`: COMMIT when it returns, ROLLBACK
 * when it throws. A checked-out client emits a lost connection as 'error' (unheard, Node would
 * crash the host); the statement in flight rejects with it anyway, which is how the caller learns
 * of it, and a client whose connection broke is destroyed instead of handed back to the pool.
 */
async function inTransaction<T>(pool: Pool, begin: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: unknown;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError;
    }
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/**
 * A VersionedStateStore in PostgreSQL: one row per key (`key`, `value` jsonb,
 * `version`, `epoch`). A write is one transaction at READ COMMITTED that takes
 * the key's row lock (`SELECT … FOR UPDATE`), then checks the idempotency key,
 * the expected version (StateConflictError) and the epoch (StaleEpochWriteError),
 * updates with `WHERE version = $n`, records the idempotency key and, with
 * `event`, inserts the outbox row. The row lock, not the isolation level,
 * serializes writers of one key: under READ COMMITTED each statement after the
 * lock sees the latest committed row, so no retry loop is needed (REPEATABLE READ
 * would fail the second writer with a serialization error instead).
 */
export class PgStateStore<V = unknown> implements VersionedStateStore<V> {
  readonly #pool: Pool;
  readonly #inst: StoreInstrumentation;
  readonly #table: string;
  readonly #idempotency: string;
  readonly #outbox: string;

  constructor(pool: Pool, options: PgStateStoreOptions = {}) {
    this.#pool = pool;
    this.#inst = new StoreInstrumentation('postgresql', options);
    this.#table = checkName(options.table ?? 'baton_state', 'table');
    this.#idempotency = checkName(options.idempotencyTable ?? 'baton_idempotency', 'idempotencyTable');
    this.#outbox = checkName(options.outboxTable ?? 'baton_outbox', 'outboxTable');
  }

  /** The outbox table's name, for {@link PgOutboxRelay}. */
  get outboxTable(): string {
    return this.#outbox;
  }

  stats(): StoreInstrumentationStats {
    return this.#inst.stats();
  }

  /** Creates the state, idempotency and outbox tables unless they exist. */
  async ensureSchema(): Promise<void> {
    await untraced(() =>
      this.#pool.query(`
        CREATE TABLE IF NOT EXISTS ${this.#table} (
          key text PRIMARY KEY,
          value jsonb,
          version bigint NOT NULL,
          epoch bigint,
          updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS ${this.#idempotency} (
          state_key text NOT NULL,
          idempotency_key text NOT NULL,
          version bigint NOT NULL,
          epoch bigint,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (state_key, idempotency_key)
        );
        CREATE TABLE IF NOT EXISTS ${this.#outbox} (
          seq bigserial PRIMARY KEY,
          id text NOT NULL UNIQUE,
          topic text NOT NULL,
          key text,
          state_version bigint,
          task_id text,
          agent text,
          payload jsonb,
          trace_context jsonb,
          created_at timestamptz NOT NULL DEFAULT now(),
          published_at timestamptz
        );
        CREATE INDEX IF NOT EXISTS ${this.#outbox}_unpublished ON ${this.#outbox} (seq) WHERE published_at IS NULL;
      `),
    );
  }

  #driverSpan(): boolean {
    return this.#inst.driverWritesClientSpan(() => {
      const clientProto = (this.#pool as unknown as { Client?: { prototype?: { query?: unknown } } }).Client?.prototype;
      return isInstrumentationWrapped(clientProto?.query);
    });
  }

  /** Reads an entry with its version and epoch; undefined when the key has no value. */
  get(key: string, access: StateAccessFacts = {}): Promise<StateEntry<V> | undefined> {
    return traceAccess(
      this.#inst,
      'read',
      key,
      this.#table,
      this.#driverSpan(),
      access,
      () =>
        untraced(async () => {
          const { rows } = await this.#pool.query(`SELECT value, version, epoch FROM ${this.#table} WHERE key = $1`, [key]);
          const row = rows[0] as { value: V; version: string; epoch: string | null } | undefined;
          if (!row || Number(row.version) === 0) return undefined;
          const entry: { value: V; version: number; epoch?: number } = { value: row.value, version: Number(row.version) };
          if (row.epoch !== null) entry.epoch = Number(row.epoch);
          return entry as StateEntry<V>;
        }),
      (entry) => (entry ? { version: entry.version, epoch: entry.epoch, found: true } : { found: false }),
    );
  }

  /**
   * Writes `value` as the next version, in one transaction. Rejects with
   * StateConflictError when `expectedVersion` is not the stored version (0: the key
   * must not exist), with StaleEpochWriteError when `epoch` is older than the
   * stored one. A repeat of an `idempotencyKey` commits nothing and answers the
   * first write's version with `deduplicated: true`, even when its reply was lost.
   */
  set(key: string, value: V, options: PgWriteOptions = {}): Promise<PgWriteResult> {
    const facts = writeFactsOf(options);
    return traceAccess<PgWriteResult>(
      this.#inst,
      'write',
      key,
      this.#table,
      this.#driverSpan(),
      facts,
      (span) => untraced(() => inTransaction(this.#pool, 'BEGIN ISOLATION LEVEL READ COMMITTED', (client) => this.#write(client, key, value, options, span))),
      (result) => ({ version: result.version, epoch: result.epoch, deduplicated: result.deduplicated === true }),
    );
  }

  async #write(client: PoolClient, key: string, value: V, options: PgWriteOptions, span: Span | undefined): Promise<PgWriteResult> {
    // Ensure the row exists so FOR UPDATE has something to lock, even for a first write.
    await client.query(`INSERT INTO ${this.#table} (key, value, version) VALUES ($1, NULL, 0) ON CONFLICT (key) DO NOTHING`, [key]);
    const { rows } = await client.query(`SELECT version, epoch FROM ${this.#table} WHERE key = $1 FOR UPDATE`, [key]);
    const current = rows[0] as { version: string; epoch: string | null };
    if (options.idempotencyKey !== undefined) {
      const seen = await client.query(
        `SELECT version, epoch FROM ${this.#idempotency} WHERE state_key = $1 AND idempotency_key = $2`,
        [key, options.idempotencyKey],
      );
      const first = seen.rows[0] as { version: string; epoch: string | null } | undefined;
      if (first) return { version: Number(first.version), epoch: first.epoch === null ? undefined : Number(first.epoch), deduplicated: true };
    }
    const version = Number(current.version);
    const storedEpoch = current.epoch === null ? undefined : Number(current.epoch);
    if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
      throw new StateConflictError(key, options.expectedVersion, version);
    }
    if (options.epoch !== undefined && storedEpoch !== undefined && options.epoch < storedEpoch) {
      throw new StaleEpochWriteError(key, options.epoch, storedEpoch);
    }
    const epoch = options.epoch ?? storedEpoch;
    const updated = await client.query(
      `UPDATE ${this.#table} SET value = $2, version = version + 1, epoch = $3, updated_at = now()
       WHERE key = $1 AND version = $4 RETURNING version`,
      [key, JSON.stringify(value === undefined ? null : value), epoch ?? null, version],
    );
    if (updated.rowCount !== 1) throw new StateConflictError(key, version, version + 1);
    const written = Number((updated.rows[0] as { version: string }).version);
    if (options.idempotencyKey !== undefined) {
      await client.query(
        `INSERT INTO ${this.#idempotency} (state_key, idempotency_key, version, epoch) VALUES ($1, $2, $3, $4)`,
        [key, options.idempotencyKey, written, epoch ?? null],
      );
    }
    let messageId: string | undefined;
    if (options.event) {
      messageId = options.event.id ?? globalThis.crypto.randomUUID();
      // The writer's trace context goes into the row: the relay's publish links back to this write.
      const carrier: TraceContextCarrier | undefined = span ? this.#inst.carrierOf(span, contextApi.active()) : undefined;
      await client.query(
        `INSERT INTO ${this.#outbox} (id, topic, key, state_version, task_id, agent, payload, trace_context)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          messageId,
          options.event.topic,
          key,
          written,
          options.taskId ?? null,
          options.agent ?? null,
          options.event.payload === undefined ? null : JSON.stringify(options.event.payload),
          carrier ? JSON.stringify(carrier) : null,
        ],
      );
    }
    return messageId === undefined ? { version: written, epoch } : { version: written, epoch, messageId };
  }

  /**
   * Starts the next stage of the task that owns `key`: increments its epoch and
   * returns it. Writes from earlier epochs are refused from then on, and a read
   * reporting an older epoch is what `stale-epoch-read` flags.
   */
  advanceEpoch(key: string, access: StateAccessFacts = {}): Promise<number> {
    return traceAccess(
      this.#inst,
      'write',
      key,
      this.#table,
      this.#driverSpan(),
      access,
      () =>
        untraced(async () => {
          const { rows } = await this.#pool.query(
            `INSERT INTO ${this.#table} (key, value, version, epoch) VALUES ($1, NULL, 0, 1)
             ON CONFLICT (key) DO UPDATE SET epoch = COALESCE(${this.#table}.epoch, 0) + 1, updated_at = now()
             RETURNING epoch`,
            [key],
          );
          return Number((rows[0] as { epoch: string }).epoch);
        }),
      (epoch) => ({ epoch }),
    );
  }

}

/** Options of {@link PgOutboxRelay}. */
export interface PgOutboxRelayOptions extends StoreInstrumentationOptions {
  /** Default `baton_outbox` (the default of {@link PgStateStore}). */
  readonly table?: string;
  /** Rows per batch. Default 100. */
  readonly batchSize?: number;
}

/**
 * Publishes committed outbox rows on an EventBus, oldest first, and marks them
 * published in the same transaction that locked them (`FOR UPDATE SKIP LOCKED`,
 * so several relays share the work). Delivery is at least once: a relay that dies
 * after publishing and before its commit publishes those rows again, with the
 * same message ids, for consumers to deduplicate. Each publish span links to the
 * writer's stored trace context, so the audit joins the write and its event.
 */
export class PgOutboxRelay {
  readonly #pool: Pool;
  readonly #bus: EventBus;
  readonly #inst: StoreInstrumentation;
  readonly #table: string;
  readonly #batchSize: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(pool: Pool, bus: EventBus, options: PgOutboxRelayOptions = {}) {
    this.#pool = pool;
    this.#bus = bus;
    this.#inst = new StoreInstrumentation(bus.system, options);
    this.#table = checkName(options.table ?? 'baton_outbox', 'table');
    this.#batchSize = options.batchSize ?? 100;
  }

  stats(): StoreInstrumentationStats {
    return this.#inst.stats();
  }

  /** Publishes one batch of pending rows; resolves to how many were published. A bus error is rethrown after the rows published before it are marked. */
  relayOnce(): Promise<number> {
    this.#running ??= this.#relay().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #relay(): Promise<number> {
    const { published, failure } = await untraced(() =>
      inTransaction(this.#pool, 'BEGIN', async (client) => {
        const { rows } = await client.query(
          `SELECT id, topic, key, state_version, task_id, agent, payload, trace_context FROM ${this.#table}
           WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [this.#batchSize],
        );
        const published: string[] = [];
        let failure: unknown;
        for (const row of rows as OutboxRow[]) {
          const link = this.#inst.linkFrom(row.trace_context);
          const event: BusEvent = {
            id: row.id,
            topic: row.topic,
            key: row.key ?? undefined,
            stateVersion: row.state_version === null ? undefined : Number(row.state_version),
            taskId: row.task_id ?? undefined,
            agent: row.agent ?? undefined,
            payload: row.payload ?? undefined,
          };
          try {
            // A relay run has no span of its own to belong to: each publish starts its own trace, linked to the writer.
            await contextApi.with(trace.deleteSpan(contextApi.active()), () =>
              publishEvent(this.#inst, this.#bus, event, { links: link ? [link] : undefined }),
            );
            published.push(row.id);
          } catch (error) {
            failure = error;
            break;
          }
        }
        if (published.length > 0) {
          await client.query(`UPDATE ${this.#table} SET published_at = now() WHERE id = ANY($1)`, [published]);
        }
        // What was published before a failure is marked and committed; the failure is thrown after.
        return { published: published.length, failure };
      }),
    );
    if (failure !== undefined) throw failure;
    return published;
  }

  /** Relays every `intervalMs` until {@link stop}; errors go to `onError` (default: diag.error) and the next round retries. */
  start(intervalMs = 500, onError: (error: unknown) => void = (error) => diag.error(`baton: outbox relay: ${String(error)}`)): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.relayOnce().catch(onError);
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a batch in flight. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }
}

interface OutboxRow {
  id: string;
  topic: string;
  key: string | null;
  state_version: string | null;
  task_id: string | null;
  agent: string | null;
  payload: unknown;
  trace_context: unknown;
}

/** Options of {@link PgNotifyBus}. */
export interface PgNotifyBusOptions extends StoreInstrumentationOptions {
  /** Channel of a topic: prefix + topic. Default `''`. */
  readonly channelPrefix?: string;
}

/** A subscription made by {@link PgNotifyBus.listen}. */
export interface PgSubscription {
  /** UNLISTEN and release the dedicated connection. */
  close(): Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Baton events over PostgreSQL LISTEN/NOTIFY: `send` is `pg_notify(channel,
 * message)` (payloads up to 8000 bytes), `listen` holds one dedicated connection
 * and runs each notification's handler in a `baton.consume` span joined to the
 * producer. NOTIFY reaches only listeners connected at the time: an event sent
 * while none listens is gone, which the outbox (rows stay until relayed) and
 * Redis Streams (entries stay until acknowledged) do not allow.
 */
export class PgNotifyBus implements EventBus {
  readonly system = 'postgresql';
  readonly #baton: Baton;
  readonly #pool: Pool;
  readonly #inst: StoreInstrumentation;
  readonly #prefix: string;

  constructor(baton: Baton, pool: Pool, options: PgNotifyBusOptions = {}) {
    this.#baton = baton;
    this.#pool = pool;
    this.#inst = new StoreInstrumentation('postgresql', options);
    this.#prefix = options.channelPrefix ?? '';
  }

  channelOf(topic: string): string {
    return this.#prefix + topic;
  }

  async send(message: EventMessage): Promise<void> {
    await untraced(() => this.#pool.query('SELECT pg_notify($1, $2)', [this.channelOf(message.topic), JSON.stringify(message)]));
  }

  /** Publishes `event` in a traced `publish <topic>` span. */
  publish(event: BusEvent): Promise<EventMessage> {
    return publishEvent(this.#inst, this, event);
  }

  /**
   * Runs `handler` for each event of `topic`, in a consume span. A handler error
   * is recorded on its span and passed to `onError` (default: diag.error).
   */
  async listen(
    topic: string,
    handler: (message: EventMessage) => unknown,
    options: { agent?: string; onError?: (error: unknown, message: EventMessage) => void } = {},
  ): Promise<PgSubscription> {
    const channel = this.channelOf(topic);
    const client = await untraced(() => this.#pool.connect());
    const onError = options.onError ?? ((error: unknown) => diag.error(`baton: handler of ${topic} failed: ${String(error)}`));
    const onNotification = (note: Notification) => {
      if (note.channel !== channel) return;
      const message = parseJsonObject(note.payload) as EventMessage | undefined;
      if (!message || typeof message.id !== 'string' || typeof message.topic !== 'string') return;
      // Outside the connection's context: each notification's consume span joins its own producer.
      contextApi.with(trace.deleteSpan(contextApi.active()), () => {
        let outcome: unknown;
        try {
          outcome = this.#baton.consume(message, () => handler(message), { system: 'postgresql', agent: options.agent });
        } catch (error) {
          onError(error, message);
          return;
        }
        if (outcome && typeof (outcome as Promise<unknown>).then === 'function') {
          (outcome as Promise<unknown>).then(undefined, (error: unknown) => onError(error, message));
        }
      });
    };
    let broken: Error | undefined;
    // A lost listening connection is reported once to onError instead of crashing the host.
    const onClientError = (error: Error) => {
      broken = error;
      onError(error, { id: 'unknown', topic });
    };
    client.on('notification', onNotification);
    client.on('error', onClientError);
    await untraced(() => client.query(`LISTEN ${quoteIdent(channel)}`));
    return {
      close: async () => {
        client.off('notification', onNotification);
        try {
          if (!broken) await untraced(() => client.query(`UNLISTEN ${quoteIdent(channel)}`));
        } finally {
          client.off('error', onClientError);
          client.release(broken);
        }
      },
    };
  }
}
