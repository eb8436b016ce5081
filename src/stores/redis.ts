/**
 * `baton-sdk/redis`: Baton for ioredis 5 (an optional peer dependency; this module
 * never imports it at run time, it instruments the client the app passes).
 *
 * - {@link instrumentRedis}: one call on an app's existing client. State reads
 *   and writes (GET, HGET, HMGET, HGETALL, SET, HSET, JSON.GET/SET, …) become
 *   state.read / state.write spans with key, version, epoch and the facts of
 *   {@link withStateAccess}; XADD / XREADGROUP / XACK become messaging spans, and
 *   XADD carries the producer's trace context in a `traceparent` field. Every
 *   other command (PING, INFO, CONFIG, EVAL, …) goes straight to the driver after
 *   one Map lookup.
 * - {@link RedisStateStore}: versioned state with compare-and-set, idempotent
 *   writes, epoch fencing and write-with-event, each one atomic Lua script.
 * - {@link RedisStreamBus}: events on Redis Streams, consumed with
 *   `baton.consume` and acknowledged (XACK) after the handler succeeds.
 *
 * Why Lua and not WATCH/MULTI for the pattern: WATCH belongs to a connection,
 * and ioredis multiplexes one connection between every caller of the client, so
 * two concurrent compare-and-sets on one client would watch each other's keys.
 * A script runs atomically on the server like MULTI/EXEC and needs no dedicated
 * connection; it is also the only way to make the idempotency check, the
 * version check, the write and the XADD one step.
 *
 * @see https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 */
import { createHash } from 'node:crypto';
import { context as contextApi, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import {
  BATON_STATE_KEY,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TASK_ID,
  GEN_AI_AGENT_NAME,
  MESSAGING_BATCH_MESSAGE_COUNT,
} from '../model/attributes.js';
import type { EventMessage } from '../model/envelope.js';
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
} from './common.js';
import { StateConflictError, StaleEpochWriteError } from './errors.js';
import { publishEvent, type BusEvent, type EventBus } from './event-bus.js';

export { withStateAccess, untraced, StateConflictError, StaleEpochWriteError };
export type { StateAccessFacts, StoreInstrumentationOptions, StoreInstrumentationStats, EventBus, BusEvent };

/** The facts an extractor reads from one state command: the app's own version and epoch. */
export interface RedisStateFacts {
  readonly version?: number;
  readonly epoch?: number;
}

/** One state command, as an {@link RedisInstrumentationOptions.extract} extractor sees it. */
export interface RedisStateCommand {
  /** Lowercase command name: `get`, `hset`, … */
  readonly name: string;
  readonly key: string;
  readonly operation: 'read' | 'write';
  /** The command's arguments after the key (field/value pairs, values). */
  readonly args: readonly unknown[];
}

/** Options of {@link instrumentRedis}. */
export interface RedisInstrumentationOptions extends StoreInstrumentationOptions {
  /**
   * Which keys hold shared state. A string is a prefix, a RegExp is tested, a
   * function decides. Default: every key. Commands on other keys are not traced.
   */
  readonly keys?: string | RegExp | ((key: string) => boolean);
  /** `db.collection.name` of a key. Default: the part before the first `:` (`task:t-1` → `task`), else none. */
  readonly collectionOf?: (key: string) => string | undefined;
  /** Hash field (or JSON property) holding the app's version. Default `version`. */
  readonly versionField?: string;
  /** Hash field (or JSON property) holding the epoch. Default `epoch`. */
  readonly epochField?: string;
  /**
   * Reads version and epoch from a command and its reply, replacing the default
   * (the version/epoch fields of a hash, or of a JSON object value). `reply` is
   * undefined for the write's arguments. Return undefined when it says nothing.
   */
  readonly extract?: (command: RedisStateCommand, reply: unknown) => RedisStateFacts | undefined;
  /** Trace XADD, XREADGROUP, XREAD and XACK. Default true. */
  readonly streams?: boolean;
  /** Add the producer's trace context as a `traceparent` (and `tracestate`) field to each XADD. Default true. */
  readonly injectTraceContext?: boolean;
}

/** The part of an ioredis Command the instrumentation reads. */
interface RedisCommandLike {
  readonly name: string;
  args: unknown[];
  readonly promise: Promise<unknown>;
  readonly inTransaction?: boolean;
}

type SendCommand = (this: Redis, command: RedisCommandLike, ...rest: unknown[]) => unknown;

const READ = 1;
const WRITE = 2;
const PUBLISH = 3;
const RECEIVE = 4;
const SETTLE = 5;

/** Command name → what it is to Baton. Anything absent is not state access and passes through. */
const COMMANDS = new Map<string, number>([
  ['get', READ],
  ['getex', READ],
  ['hget', READ],
  ['hmget', READ],
  ['hgetall', READ],
  ['json.get', READ],
  ['set', WRITE],
  ['setex', WRITE],
  ['psetex', WRITE],
  ['setnx', WRITE],
  ['hset', WRITE],
  ['hmset', WRITE],
  ['hsetnx', WRITE],
  ['json.set', WRITE],
  ['xadd', PUBLISH],
  ['xreadgroup', RECEIVE],
  ['xread', RECEIVE],
  ['xack', SETTLE],
]);

const DEFAULT_STREAM_PREFIX = 'baton:events:';

const INSTRUMENTED = Symbol.for('baton.stores.redis.instrumented');
const TRACED = Symbol.for('baton.stores.redis.traced');

/** The instrumentation state of a client instrumented by {@link instrumentRedis}. */
interface Instrumented {
  readonly inst: StoreInstrumentation;
}

/** Counts of the instrumentation on `redis`, or undefined if it is not instrumented. */
export function redisInstrumentationStats(redis: Redis): StoreInstrumentationStats | undefined {
  return (redis as unknown as { [INSTRUMENTED]?: Instrumented })[INSTRUMENTED]?.inst.stats();
}

function keyFilter(keys: RedisInstrumentationOptions['keys']): ((key: string) => boolean) | undefined {
  if (keys === undefined) return undefined;
  if (typeof keys === 'string') return (key) => key.startsWith(keys);
  if (keys instanceof RegExp) return (key) => keys.test(key);
  return keys;
}

function defaultCollectionOf(key: string): string | undefined {
  const colon = key.indexOf(':');
  return colon > 0 ? key.slice(0, colon) : undefined;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}

/** Version and epoch of a JSON object stored as a string value; a non-JSON value says nothing. */
function factsOfJson(text: string | undefined, versionField: string, epochField: string): RedisStateFacts | undefined {
  if (text === undefined) return undefined;
  let start = 0;
  while (start < text.length && text.charCodeAt(start) <= 32) start++;
  const first = text.charCodeAt(start);
  if (first !== 123 /* { */ && first !== 91 /* [ */) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  // JSON.GET with a `$` path answers an array of matches.
  if (Array.isArray(parsed)) parsed = parsed[0];
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const record = parsed as Record<string, unknown>;
  return { version: toVersion(record[versionField]), epoch: toVersion(record[epochField]) };
}

/** Reads version/epoch of a state command from its arguments (writes) or reply (reads). */
function defaultFacts(
  command: RedisStateCommand,
  reply: unknown,
  versionField: string,
  epochField: string,
): RedisStateFacts | undefined {
  const { name, args } = command;
  if (command.operation === 'write') {
    if (name === 'hset' || name === 'hmset' || name === 'hsetnx') {
      let version: number | undefined;
      let epoch: number | undefined;
      for (let i = 0; i + 1 < args.length; i += 2) {
        const field = asText(args[i]);
        if (field === versionField) version = toVersion(asText(args[i + 1]) ?? args[i + 1]);
        else if (field === epochField) epoch = toVersion(asText(args[i + 1]) ?? args[i + 1]);
      }
      return { version, epoch };
    }
    if (name === 'set' || name === 'setnx') return factsOfJson(asText(args[0]), versionField, epochField);
    if (name === 'setex' || name === 'psetex') return factsOfJson(asText(args[1]), versionField, epochField);
    if (name === 'json.set') return factsOfJson(asText(args[1]), versionField, epochField);
    return undefined;
  }
  if (reply === null || reply === undefined) return undefined;
  if (name === 'hgetall') {
    const record = reply as Record<string, unknown>;
    return { version: toVersion(asText(record[versionField])), epoch: toVersion(asText(record[epochField])) };
  }
  if (name === 'hget') {
    const field = asText(args[0]);
    if (field === versionField) return { version: toVersion(asText(reply)) };
    if (field === epochField) return { epoch: toVersion(asText(reply)) };
    return undefined;
  }
  if (name === 'hmget' && Array.isArray(reply)) {
    let version: number | undefined;
    let epoch: number | undefined;
    for (let i = 0; i < args.length; i++) {
      const field = asText(args[i]);
      if (field === versionField) version = toVersion(asText(reply[i]));
      else if (field === epochField) epoch = toVersion(asText(reply[i]));
    }
    return { version, epoch };
  }
  return factsOfJson(asText(reply), versionField, epochField);
}

function foundOf(name: string, reply: unknown): boolean {
  if (reply === null || reply === undefined) return false;
  if (name === 'hgetall') return Object.keys(reply as object).length > 0;
  if (name === 'hmget' && Array.isArray(reply)) return reply.some((v) => v !== null);
  return true;
}

/** The stream names of an XREAD/XREADGROUP: the first half of what follows STREAMS. */
function streamsOf(args: readonly unknown[]): string[] {
  for (let i = 0; i < args.length; i++) {
    const word = asText(args[i]);
    if (word !== undefined && word.toUpperCase() === 'STREAMS') {
      const rest = args.length - i - 1;
      const names: string[] = [];
      for (let j = 0; j < rest / 2; j++) names.push(asText(args[i + 1 + j]) ?? '');
      return names;
    }
  }
  return [];
}

/** Links to each producer whose context a stream entry carries (a `traceparent` field, or a Baton `message`). */
function linksOfEntries(inst: StoreInstrumentation, reply: unknown): { links: Link[]; count: number; onlyId?: string } {
  const links: Link[] = [];
  let count = 0;
  let onlyId: string | undefined;
  if (!Array.isArray(reply)) return { links, count };
  for (const stream of reply) {
    const entries = Array.isArray(stream) ? stream[1] : undefined;
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (!Array.isArray(entry) || !Array.isArray(entry[1])) continue;
      count++;
      const fields = entry[1] as unknown[];
      let traceparent: string | undefined;
      let tracestate: string | undefined;
      let messageId: string | undefined;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const field = asText(fields[i]);
        if (field === 'traceparent') traceparent = asText(fields[i + 1]);
        else if (field === 'tracestate') tracestate = asText(fields[i + 1]);
        else if (field === 'message' && traceparent === undefined) {
          const message = parseMessage(asText(fields[i + 1]));
          if (message?.trace_context) {
            traceparent = message.trace_context.traceparent;
            tracestate = message.trace_context.tracestate;
          }
          messageId = message?.id;
        }
      }
      onlyId = messageId ?? asText(entry[0]);
      if (traceparent !== undefined) {
        const link = inst.linkFrom(tracestate === undefined ? { traceparent } : { traceparent, tracestate });
        if (link) links.push(link);
      }
    }
  }
  return count === 1 ? { links, count, onlyId } : { links, count };
}

function parseMessage(text: string | undefined): EventMessage | undefined {
  if (text === undefined || text.charCodeAt(0) !== 123) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object') return undefined;
    const message = value as EventMessage;
    return typeof message.id === 'string' && typeof message.topic === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Instruments an existing ioredis client in place and returns it: the app keeps
 * using the same object. Calling it twice on one client does nothing the second
 * time. Commands inside MULTI/EXEC blocks and pipelines are traced like any
 * other; a queued command's reply is `QUEUED`, so its version comes from its
 * arguments only.
 *
 * ```ts
 * const redis = instrumentRedis(new Redis(6379), { keys: 'task:' });
 * await withStateAccess({ agent: 'research', attempt: 1 }, () => redis.hset('task:t-1', { version: 2, summary }));
 * ```
 */
export function instrumentRedis<R extends Redis>(redis: R, options: RedisInstrumentationOptions = {}): R {
  const holder = redis as unknown as { [INSTRUMENTED]?: Instrumented; sendCommand: SendCommand };
  if (holder[INSTRUMENTED]) return redis;
  const inst = new StoreInstrumentation('redis', {
    ...options,
    namespace: options.namespace ?? String((redis.options as { db?: number } | undefined)?.db ?? 0),
  });
  const filter = keyFilter(options.keys);
  const collectionOf = options.collectionOf ?? defaultCollectionOf;
  const versionField = options.versionField ?? 'version';
  const epochField = options.epochField ?? 'epoch';
  const extract = options.extract;
  const streams = options.streams ?? true;
  const inject = options.injectTraceContext ?? true;
  const proto = Object.getPrototypeOf(redis) as { sendCommand: SendCommand };
  const driverWrapped = () => isInstrumentationWrapped(proto.sendCommand);

  // `arguments`, not rest parameters: a command that is not state access is handed on without an array built for it.
  const wrapped = function sendCommand(this: Redis, command: RedisCommandLike): unknown {
    // The prototype's method is looked up per call, so a contrib instrumentation enabled later still runs.
    const original = proto.sendCommand;
    const kind = command && typeof command === 'object' ? COMMANDS.get(command.name) : undefined;
    if (kind === undefined || (command as { [TRACED]?: boolean })[TRACED]) {
      return original.apply(this, arguments as unknown as [RedisCommandLike, ...unknown[]]);
    }
    const ctx = contextApi.active();
    if (isSuppressed(ctx)) return original.apply(this, arguments as unknown as [RedisCommandLike, ...unknown[]]);
    const rest: unknown[] = Array.prototype.slice.call(arguments, 1);
    let span: Span | undefined;
    let operation: 'read' | 'write' = 'read';
    let stateCommand: RedisStateCommand | undefined;
    let written: RedisStateFacts | undefined;
    let driverSpan = false;
    try {
      (command as { [TRACED]?: boolean })[TRACED] = true;
      if (kind === READ || kind === WRITE) {
        const key = asText(command.args[0]);
        if (key !== undefined && (filter === undefined || filter(key))) {
          operation = kind === WRITE ? 'write' : 'read';
          stateCommand = { name: command.name, key, operation, args: command.args.slice(1) };
          driverSpan = inst.driverWritesClientSpan(driverWrapped);
          span = inst.startState(operation, key, collectionOf(key), driverSpan, ctx);
          if (span && operation === 'write') {
            written = extract ? extract(stateCommand, undefined) : defaultFacts(stateCommand, undefined, versionField, epochField);
          }
        }
      } else if (streams) {
        driverSpan = inst.driverWritesClientSpan(driverWrapped);
        span = startStreamSpan(inst, kind, command, ctx, inject, driverSpan);
      }
    } catch (error) {
      inst.fault(`redis ${command.name}`, error, span);
    }
    if (!span) return original.call(this, command, ...rest);
    const commandSpan = span;
    // Only a driver instrumentation needs Baton's span active (to parent its CLIENT span): without one, the
    // context switch is skipped, the command's cost on the hot path.
    const result = driverSpan
      ? contextApi.with(trace.setSpan(ctx, commandSpan), () => original.call(this, command, ...rest))
      : original.call(this, command, ...rest);
    command.promise.then(
      (reply) => {
        if (stateCommand) {
          let outcome: StateOutcome | undefined;
          try {
            if (operation === 'read' && command.inTransaction) {
              // Queued inside MULTI: the reply is QUEUED, the value arrives with EXEC. Nothing to read.
            } else if (operation === 'read') {
              const facts = extract ? extract(stateCommand, reply) : defaultFacts(stateCommand, reply, versionField, epochField);
              outcome = { version: facts?.version, epoch: facts?.epoch, found: foundOf(command.name, reply) };
            } else if (written && reply !== null) {
              // A conditional SET (NX/XX) that answered nil wrote nothing: no version is claimed.
              outcome = written;
            }
          } catch (error) {
            inst.fault(`redis ${command.name}`, error, commandSpan);
          }
          inst.endState(commandSpan, operation, outcome);
        } else {
          endStreamSpan(inst, kind, commandSpan, reply);
        }
      },
      (error: unknown) => inst.endFailed(commandSpan, error),
    );
    return result;
  };
  Object.defineProperty(redis, 'sendCommand', { value: wrapped, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(redis, INSTRUMENTED, { value: { inst } satisfies Instrumented, enumerable: false });
  return redis;
}

function startStreamSpan(
  inst: StoreInstrumentation,
  kind: number,
  command: RedisCommandLike,
  ctx: Context,
  inject: boolean,
  driverSpan: boolean,
): Span | undefined {
  if (kind === PUBLISH) {
    const stream = asText(command.args[0]) ?? '';
    const span = inst.startMessaging('publish', stream, ctx, undefined);
    if (span && inject && !command.inTransaction) {
      const carrier = inst.carrierOf(span, ctx);
      // Appended as one more field/value pair: valid after any XADD options and the id.
      if (carrier) {
        command.args.push('traceparent', carrier.traceparent);
        if (carrier.tracestate) command.args.push('tracestate', carrier.tracestate);
      }
    }
    return span;
  }
  if (kind === RECEIVE) {
    return inst.startMessaging('receive', streamsOf(command.args).join(','), ctx, undefined);
  }
  return inst.startMessaging('settle', asText(command.args[0]) ?? '', ctx, undefined, undefined, { driverSpan });
}

function endStreamSpan(inst: StoreInstrumentation, kind: number, span: Span, reply: unknown): void {
  if (kind === PUBLISH) {
    inst.endMessaging(span, asText(reply));
    return;
  }
  if (kind === RECEIVE) {
    try {
      const { links, count, onlyId } = linksOfEntries(inst, reply);
      if (links.length > 0) span.addLinks(links);
      span.setAttribute(MESSAGING_BATCH_MESSAGE_COUNT, count);
      inst.endMessaging(span, onlyId);
    } catch (error) {
      inst.fault('redis receive', error, span);
      inst.endMessaging(span, undefined);
    }
    return;
  }
  inst.endMessaging(span, undefined);
}

// ---------------------------------------------------------------------------
// The pattern: versioned state, idempotent writes, epochs, write with event.

/** Per-call facts of a pattern-store write, besides the versioning options. */
export interface RedisWriteOptions extends PatternWriteOptions {
  /**
   * The completion event published atomically with the write (XADD in the same
   * script): it is on the stream if and only if the write committed.
   */
  readonly event?: { readonly topic: string; readonly id?: string; readonly payload?: unknown };
}

/** What a pattern-store write returns. */
export interface RedisWriteResult extends StateWriteResult {
  /** The id of the event message published with the write (absent on a deduplicated write: the first one published it). */
  readonly messageId?: string;
  /** The stream entry id of that event. */
  readonly streamEntryId?: string;
}

/** Options of {@link RedisStateStore}. */
export interface RedisStateStoreOptions extends StoreInstrumentationOptions {
  /** Prefix of every key the store writes. Default `''`. */
  readonly keyPrefix?: string;
  /** `db.collection.name` of its spans. Default `baton_state`. */
  readonly collection?: string;
  /** How long idempotency keys are remembered, per state key, since its last write. Default 7 days. */
  readonly idempotencyTtlSeconds?: number;
  /** Where events go; default a RedisStreamBus on the same client with its defaults. */
  readonly streamPrefix?: string;
  readonly serialize?: (value: unknown) => string;
  readonly deserialize?: (text: string) => unknown;
}

const SET_SCRIPT = `
local idem = ARGV[4]
if idem ~= '' then
  local seen = redis.call('HGET', KEYS[2], idem)
  if seen then return {'dedup', seen, ''} end
end
local cur = redis.call('HMGET', KEYS[1], 'version', 'epoch')
local version = tonumber(cur[1]) or 0
local stored_epoch = cur[2]
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= version then return {'conflict', tostring(version), ''} end
local epoch = ARGV[3]
if epoch ~= '' and stored_epoch and tonumber(epoch) < tonumber(stored_epoch) then
  return {'stale_epoch', stored_epoch, ''}
end
if epoch == '' then epoch = stored_epoch or '' end
version = version + 1
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'version', version)
if epoch ~= '' then redis.call('HSET', KEYS[1], 'epoch', epoch) end
local result = version .. '|' .. epoch
if idem ~= '' then
  redis.call('HSET', KEYS[2], idem, result)
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
local entry = ''
if ARGV[6] ~= '' then
  local message = string.sub(ARGV[6], 1, -2) .. ',"state_version":' .. version .. '}'
  entry = redis.call('XADD', KEYS[3], '*', 'message', message)
end
return {'ok', result, entry}
`;
const SET_SCRIPT_SHA = createHash('sha1').update(SET_SCRIPT).digest('hex');

const ADVANCE_EPOCH_SCRIPT = `
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
return {epoch, redis.call('HGET', KEYS[1], 'version') or ''}
`;
const ADVANCE_EPOCH_SHA = createHash('sha1').update(ADVANCE_EPOCH_SCRIPT).digest('hex');

async function runScript(redis: Redis, sha: string, script: string, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}

function parseResult(text: string): { version: number; epoch: number | undefined } {
  const bar = text.indexOf('|');
  const epochText = text.slice(bar + 1);
  return { version: Number(text.slice(0, bar)), epoch: epochText === '' ? undefined : Number(epochText) };
}

/**
 * A VersionedStateStore in Redis hashes (`value`, `version`, `epoch` fields).
 * Every write is one Lua script: the idempotency check, the compare-and-set on
 * `expectedVersion` (StateConflictError), the epoch fence (StaleEpochWriteError),
 * the write and, with `event`, the XADD of its completion event. Reads return
 * the version. Each access is a traced state span; its commands are not traced
 * again by {@link instrumentRedis}.
 *
 * Keys of one write (the state hash, its idempotency hash, the event stream) must
 * live on one node: under Redis Cluster, give them one hash tag (`{t-1}`).
 */
export class RedisStateStore<V = unknown> implements VersionedStateStore<V> {
  readonly #redis: Redis;
  readonly #inst: StoreInstrumentation;
  readonly #prefix: string;
  readonly #collection: string;
  readonly #ttl: string;
  readonly #streamPrefix: string;
  readonly #serialize: (value: unknown) => string;
  readonly #deserialize: (text: string) => unknown;

  constructor(redis: Redis, options: RedisStateStoreOptions = {}) {
    this.#redis = redis;
    this.#inst = new StoreInstrumentation('redis', {
      ...options,
      namespace: options.namespace ?? String((redis.options as { db?: number } | undefined)?.db ?? 0),
    });
    this.#prefix = options.keyPrefix ?? '';
    this.#collection = options.collection ?? 'baton_state';
    this.#ttl = String(options.idempotencyTtlSeconds ?? 7 * 24 * 3600);
    this.#streamPrefix = options.streamPrefix ?? DEFAULT_STREAM_PREFIX;
    this.#serialize = options.serialize ?? JSON.stringify;
    this.#deserialize = options.deserialize ?? JSON.parse;
  }

  /** Counts of this store's instrumentation. */
  stats(): StoreInstrumentationStats {
    return this.#inst.stats();
  }

  #driverSpan(): boolean {
    const proto = Object.getPrototypeOf(this.#redis) as { sendCommand?: unknown };
    return this.#inst.driverWritesClientSpan(() => isInstrumentationWrapped(proto.sendCommand));
  }

  /** Reads an entry with its version and epoch; undefined when the key does not exist. */
  get(key: string, access: StateAccessFacts = {}): Promise<StateEntry<V> | undefined> {
    return traceAccess(
      this.#inst,
      'read',
      key,
      this.#collection,
      this.#driverSpan(),
      access,
      () =>
        untraced(async () => {
          const [value, version, epoch] = (await this.#redis.hmget(this.#prefix + key, 'value', 'version', 'epoch')) as (string | null)[];
          if (value === null || value === undefined || version === null || version === undefined) return undefined;
          const entry: { value: V; version: number; epoch?: number } = { value: this.#deserialize(value) as V, version: Number(version) };
          if (epoch !== null && epoch !== undefined) entry.epoch = Number(epoch);
          return entry as StateEntry<V>;
        }),
      (entry) => (entry ? { version: entry.version, epoch: entry.epoch, found: true } : { found: false }),
    );
  }

  /**
   * Writes `value` as the next version. Rejects with StateConflictError when
   * `expectedVersion` is not the stored version (0: the key must not exist), with
   * StaleEpochWriteError when `epoch` is older than the stored one. A repeat of an
   * `idempotencyKey` commits nothing and answers the first write's version with
   * `deduplicated: true`.
   */
  set(key: string, value: V, options: RedisWriteOptions = {}): Promise<RedisWriteResult> {
    const facts = writeFactsOf(options);
    const event = options.event;
    let publishStartMs = 0;
    let messageId: string | undefined;
    return traceAccess<RedisWriteResult>(
      this.#inst,
      'write',
      key,
      this.#collection,
      this.#driverSpan(),
      facts,
      (span) =>
        untraced(async () => {
          const stateKey = this.#prefix + key;
          const keys = [stateKey, `${this.#prefix}${key}:idempotency`];
          let template = '';
          if (event) {
            messageId = event.id ?? globalThis.crypto.randomUUID();
            keys.push(this.#streamPrefix + event.topic);
            // The message carries the write's own trace context: consumers join the writer's trace.
            const carrier = span ? this.#inst.carrierOf(span, contextApi.active()) : undefined;
            const draft: BusEvent = { topic: event.topic, key, taskId: options.taskId, payload: event.payload };
            template = JSON.stringify(messageOfDraft(draft, messageId, carrier));
            publishStartMs = nowMs();
          }
          const reply = (await runScript(this.#redis, SET_SCRIPT_SHA, SET_SCRIPT, keys, [
            this.#serialize(value),
            options.expectedVersion === undefined ? '' : String(options.expectedVersion),
            options.epoch === undefined ? '' : String(options.epoch),
            options.idempotencyKey ?? '',
            this.#ttl,
            template,
          ])) as [string, string, string];
          const [status, detail, entry] = reply;
          if (status === 'conflict') throw new StateConflictError(key, options.expectedVersion ?? 0, Number(detail));
          if (status === 'stale_epoch') throw new StaleEpochWriteError(key, options.epoch ?? 0, Number(detail));
          const { version, epoch } = parseResult(detail);
          if (status === 'dedup') {
            const result: RedisWriteResult = { version, epoch, deduplicated: true };
            return result;
          }
          if (event && span && messageId !== undefined) {
            this.#recordAtomicPublish(span, event.topic, key, version, options, messageId, publishStartMs);
          }
          const result: RedisWriteResult = event ? { version, epoch, messageId, streamEntryId: entry } : { version, epoch };
          return result;
        }),
      (result) => ({ version: result.version, epoch: result.epoch, deduplicated: result.deduplicated === true }),
    );
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
      this.#collection,
      this.#driverSpan(),
      access,
      () =>
        untraced(async () => {
          const [epoch] = (await runScript(this.#redis, ADVANCE_EPOCH_SHA, ADVANCE_EPOCH_SCRIPT, [this.#prefix + key], [])) as [number, string];
          return Number(epoch);
        }),
      // The epoch is the stage the key is now in, whatever epoch the caller acted in.
      (epoch) => ({ epoch }),
    );
  }

  /** The publish span of an event the write's script XADDed: it started with the script, inside the write. */
  #recordAtomicPublish(
    writeSpan: Span,
    topic: string,
    key: string,
    version: number,
    options: RedisWriteOptions,
    messageId: string,
    startMs: number,
  ): void {
    const ctx = trace.setSpan(contextApi.active(), writeSpan);
    const extra: Record<string, string | number> = { [BATON_STATE_KEY]: key, [BATON_STATE_VERSION_WRITTEN]: version };
    if (options.taskId !== undefined) extra[BATON_TASK_ID] = options.taskId;
    if (options.agent !== undefined) extra[GEN_AI_AGENT_NAME] = options.agent;
    // Started when the script was sent (the XADD ran inside it), ended on its reply: the span is
    // recorded once the script said the write committed, so a refused write publishes nothing.
    const span = this.#inst.startMessaging('publish', topic, ctx, undefined, extra, { startMs });
    if (span) this.#inst.endMessaging(span, messageId);
  }
}

function messageOfDraft(event: BusEvent, id: string, carrier: EventMessage['trace_context']): EventMessage {
  const message: Record<string, unknown> = { id, topic: event.topic };
  if (event.taskId !== undefined) message.task_id = event.taskId;
  if (event.key !== undefined) message.key = event.key;
  if (event.payload !== undefined) message.payload = event.payload;
  if (carrier) message.trace_context = carrier;
  return message as unknown as EventMessage;
}

// ---------------------------------------------------------------------------
// Events on Redis Streams.

/** Options of {@link RedisStreamBus}. */
export interface RedisStreamBusOptions extends StoreInstrumentationOptions {
  /** Stream key of a topic: prefix + topic. Default `baton:events:`. */
  readonly streamPrefix?: string;
  /** Trim each stream to about this many entries (XADD MAXLEN ~). Default: no trimming. */
  readonly maxLength?: number;
}

/** One message delivered to a consumer group. */
export interface StreamDelivery {
  readonly topic: string;
  /** The stream entry id, acknowledged with XACK. */
  readonly entryId: string;
  /** The Baton event message; undefined when the entry is not one (it is acknowledged untouched by {@link RedisStreamBus.process}). */
  readonly message: EventMessage | undefined;
}

/** Options of {@link RedisStreamBus.read}. */
export interface StreamReadOptions {
  /** Default 10. */
  readonly count?: number;
  /** Block up to this long for new entries; default: do not block. Blocks the connection: use a dedicated client. */
  readonly blockMs?: number;
  /** `>` (new entries, default) or `0` (this consumer's pending entries, to retry). */
  readonly from?: '>' | '0';
}

/**
 * Baton events on Redis Streams, one stream per topic. `publish` is a traced
 * XADD whose message carries trace context; consumers read with a consumer group
 * and `process` each delivery in a `baton.consume` span, acknowledging (XACK)
 * only after the handler succeeded, so a crashed consumer's message stays pending
 * for a retry.
 */
export class RedisStreamBus implements EventBus {
  readonly system = 'redis';
  readonly #baton: Baton;
  readonly #redis: Redis;
  readonly #inst: StoreInstrumentation;
  readonly #prefix: string;
  readonly #maxLength: number | undefined;

  constructor(baton: Baton, redis: Redis, options: RedisStreamBusOptions = {}) {
    this.#baton = baton;
    this.#redis = redis;
    this.#inst = new StoreInstrumentation('redis', options);
    this.#prefix = options.streamPrefix ?? DEFAULT_STREAM_PREFIX;
    this.#maxLength = options.maxLength;
  }

  /** The stream key of `topic`. */
  streamOf(topic: string): string {
    return this.#prefix + topic;
  }

  async send(message: EventMessage): Promise<void> {
    const json = JSON.stringify(message);
    const stream = this.streamOf(message.topic);
    await untraced(() =>
      this.#maxLength === undefined
        ? this.#redis.xadd(stream, '*', 'message', json)
        : this.#redis.xadd(stream, 'MAXLEN', '~', String(this.#maxLength), '*', 'message', json),
    );
  }

  /** Publishes `event` in a traced `publish <topic>` span. */
  publish(event: BusEvent): Promise<EventMessage> {
    return publishEvent(this.#inst, this, event);
  }

  /** Creates the consumer group of `topic` (and its stream) unless it exists. */
  async ensureGroup(topic: string, group: string, startId = '0'): Promise<void> {
    try {
      await untraced(() => this.#redis.xgroup('CREATE', this.streamOf(topic), group, startId, 'MKSTREAM'));
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
    }
  }

  /** Reads deliveries of `topic` for `consumer` in `group` (XREADGROUP). */
  async read(topic: string, group: string, consumer: string, options: StreamReadOptions = {}): Promise<StreamDelivery[]> {
    const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', options.count ?? 10];
    if (options.blockMs !== undefined) args.push('BLOCK', options.blockMs);
    args.push('STREAMS', this.streamOf(topic), options.from ?? '>');
    const reply = (await untraced(() =>
      (this.#redis.xreadgroup as (...a: (string | number)[]) => Promise<unknown>)(...args),
    )) as [string, [string, string[]][]][] | null;
    const deliveries: StreamDelivery[] = [];
    for (const [, entries] of reply ?? []) {
      for (const [entryId, fields] of entries) {
        let text: string | undefined;
        for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'message') text = fields[i + 1];
        deliveries.push({ topic, entryId, message: parseMessage(text) });
      }
    }
    return deliveries;
  }

  /**
   * Runs `fn` for a delivery in a `process <topic>` consume span (parented or
   * linked to the producer, as `baton.consume` decides), then acknowledges it.
   * If `fn` throws, the delivery stays pending and the error is rethrown.
   */
  async process<T>(group: string, delivery: StreamDelivery, fn: (message: EventMessage) => T | Promise<T>, options: { agent?: string } = {}): Promise<T | undefined> {
    const stream = this.streamOf(delivery.topic);
    if (!delivery.message) {
      await untraced(() => this.#redis.xack(stream, group, delivery.entryId));
      return undefined;
    }
    const message = delivery.message;
    const result = await this.#baton.consume(message, () => fn(message), { system: 'redis', agent: options.agent });
    await untraced(() => this.#redis.xack(stream, group, delivery.entryId));
    return result;
  }
}
