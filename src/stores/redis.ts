/**
 * `baton-sdk/redis`: Baton for ioredis 5 (an optional peer dependency; this module
 * never imports it at run time, it instruments the client the app passes).
 * node-redis (`redis` v5) has its own entry point, `baton-sdk/node-redis`, with
 * the same spans (both read commands through ./redis-commands.ts).
 *
 * - {@link instrumentRedis}: one call on an app's existing client, a `Redis` or
 *   a `Cluster`. State reads and writes (GET, HGET, HMGET, HGETALL, SET, HSET,
 *   JSON.GET/SET, …) become state.read / state.write spans with key, version,
 *   epoch and the facts of {@link withStateAccess}; XADD / XREADGROUP / XACK
 *   become messaging spans, and XADD carries the producer's trace context in a
 *   `traceparent` field. Every other command (PING, INFO, CONFIG, EVAL, …) goes
 *   straight to the driver after one Map lookup.
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
import { context as contextApi, trace, type Context, type Span } from '@opentelemetry/api';
import type { Cluster, Redis } from 'ioredis';
import { BATON_STATE_KEY, BATON_STATE_VERSION_WRITTEN, BATON_TASK_ID, GEN_AI_AGENT_NAME } from '../model/attributes.js';
import type { EventMessage } from '../model/envelope.js';
import type { Baton } from '../sdk/baton.js';
import type { StateEntry, StateWriteResult, VersionedStateStore } from '../sdk/state-store.js';
import {
  isInstrumentationWrapped,
  isSuppressed,
  nowMs,
  StoreInstrumentation,
  traceAccess,
  untraced,
  withStateAccess,
  type StateAccessFacts,
  type StoreInstrumentationOptions,
  type StoreInstrumentationStats,
  type PatternWriteOptions,
  writeFactsOf,
  isClientObject,
} from './common.js';
import { StateConflictError, StaleEpochWriteError } from './errors.js';
import { publishEvent, type BusEvent, type EventBus } from './event-bus.js';
import {
  DEFAULT_STREAM_PREFIX,
  EXEC,
  EXEC_SPEC,
  parseMessage,
  PUBLISH,
  REDIS_COMMANDS,
  RedisCommandTracer,
  type RedisCommandOptions,
  type RedisCommandSpec,
  type RedisStateCommand,
  type RedisStateFacts,
  type TracedCommand,
} from './redis-commands.js';

export { withStateAccess, untraced, StateConflictError, StaleEpochWriteError };
export type { StateAccessFacts, StoreInstrumentationOptions, StoreInstrumentationStats, EventBus, BusEvent, RedisStateCommand, RedisStateFacts };

/** Options of {@link instrumentRedis}. */
export type RedisInstrumentationOptions = RedisCommandOptions;

/** An ioredis client: a `Redis` or a `Cluster` (same command path, `sendCommand(command, stream, node)`). */
type IORedisClient = Redis | Cluster;

/** The part of an ioredis Command the instrumentation reads. */
interface RedisCommandLike {
  readonly name: string;
  args: unknown[];
  /** Replaced (Command#initPromise) when a Cluster pipeline resends the command after a redirection. */
  readonly promise: Promise<unknown>;
  readonly inTransaction?: boolean;
  /** Position in its pipeline's queue (MULTI, the queued commands, EXEC), set by ioredis' Pipeline on each send. */
  readonly pipelineIndex?: number;
  /** Its trace; null once a send decided not to trace it (a fault, a key outside `keys`): later sends do not try again. */
  [TRACE]?: CommandTrace | null;
  [BATCH]?: BatchTrace;
  [QUEUED_CONTEXT]?: Context;
}

type SendCommand = (this: IORedisClient, command: RedisCommandLike, ...rest: unknown[]) => unknown;
type MakePipeline = (this: IORedisClient, ...args: unknown[]) => unknown;

/** The part of an ioredis Pipeline the instrumentation reads and wraps. */
interface PipelineLike {
  /** Settles once, with every command's final `[error, reply]`, after any resend ioredis made on a redirection. */
  readonly promise: Promise<unknown>;
  sendCommand: (command: RedisCommandLike) => unknown;
  readonly _queue?: unknown;
  [BATCH]?: BatchTrace;
}

/** ioredis' table plus EXEC, which settles the commands a transaction queued. */
const COMMANDS = new Map<string, RedisCommandSpec>(REDIS_COMMANDS);
COMMANDS.set('exec', EXEC_SPEC);

const INSTRUMENTED = Symbol.for('baton.stores.redis.instrumented');
/** On a Command: its trace, kept across sends (a Cluster pipeline's resend, an offline queue's flush). */
const TRACE = Symbol.for('baton.stores.redis.trace');
/** On a Command queued in a pipeline of an instrumented client: that pipeline's batch. */
const BATCH = Symbol.for('baton.stores.redis.batch');
/** On a Command queued in a pipeline: the context it was queued in (auto-pipelining sends it later, from another caller's context). */
const QUEUED_CONTEXT = Symbol.for('baton.stores.redis.queued-context');

/** The instrumentation state of a client instrumented by {@link instrumentRedis}. */
interface Instrumented {
  readonly inst: StoreInstrumentation;
}

/**
 * A traced command, from its first send to the reply the app got. Outside a
 * pipeline it ends with its promise. In a pipeline it records the outcome of
 * each send and ends when the pipeline settles: on a Cluster, ioredis answers a
 * pipeline whose commands all got one redirection (MOVED, ASK, TRYAGAIN,
 * CLUSTERDOWN) by resending every command with a new promise, so the first
 * send's rejection is not what the app sees.
 */
interface CommandTrace {
  readonly traced: TracedCommand;
  /** Its span's context, when a driver instrumentation's CLIENT span of a resend must be its child. */
  readonly spanContext: Context | undefined;
  readonly batch: BatchTrace | undefined;
  /** The promise of the latest send. */
  promise: Promise<unknown>;
  /** Outcome of the latest send: 0 none yet, 1 reply, 2 error. */
  state: 0 | 1 | 2;
  value: unknown;
  /** The reply is a transaction's QUEUED: it says nothing about the value. */
  queued: boolean;
  ended: boolean;
}

/** The traced commands of one pipeline (or MULTI/EXEC), ended together when the pipeline settles. */
interface BatchTrace {
  readonly promise: Promise<unknown>;
  readonly commands: CommandTrace[];
  listening: boolean;
}

/** A command queued in a transaction, waiting for its EXEC's reply (one per send). */
interface QueuedCommand {
  readonly trace: CommandTrace;
  readonly pipelineIndex: number;
  /** Settled already in this send (its queuing failed). */
  settled: boolean;
}

/** Counts of the instrumentation on `redis`, or undefined if it is not instrumented. */
export function redisInstrumentationStats(redis: IORedisClient): StoreInstrumentationStats | undefined {
  return (redis as unknown as { [INSTRUMENTED]?: Instrumented })[INSTRUMENTED]?.inst.stats();
}

/**
 * Whether an OTel instrumentation wraps the method that sends `redis`'s
 * commands: the client's own `sendCommand` for a `Redis`; for a `Cluster`,
 * which hands each command to a `Redis` per node, that of its nodes (what
 * @opentelemetry/instrumentation-ioredis patches). Returns the per-command
 * check: for a Cluster, the nodes' prototype is found once (`nodes()` builds
 * an array per call) and its `sendCommand` read per command, so an
 * instrumentation enabled later is still seen.
 */
function driverWrappedCheck(redis: IORedisClient): () => boolean {
  if ((redis as { isCluster?: boolean }).isCluster === true) {
    let nodeProto: { sendCommand?: unknown } | undefined;
    return () => {
      if (nodeProto === undefined) {
        const node = (redis as Cluster).nodes('all')[0];
        if (node === undefined) return false;
        nodeProto = Object.getPrototypeOf(node) as { sendCommand?: unknown };
      }
      return isInstrumentationWrapped(nodeProto.sendCommand);
    };
  }
  const proto = Object.getPrototypeOf(redis) as { sendCommand?: unknown };
  return () => isInstrumentationWrapped(proto.sendCommand);
}

/** `db.namespace` of a client: its database index (a Cluster has only database 0). */
function namespaceOf(redis: IORedisClient): string {
  return String((redis.options as { db?: number } | undefined)?.db ?? 0);
}

function isPipeline(value: unknown): value is PipelineLike {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as PipelineLike).sendCommand === 'function' &&
    typeof (value as { promise?: { then?: unknown } }).promise?.then === 'function'
  );
}

/**
 * Instruments an existing ioredis client (a `Redis` or a `Cluster`) in place and
 * returns it: the app keeps using the same object. Calling it twice on one
 * client does nothing the second time. Commands of pipelines are traced like
 * any other and end when the pipeline answers; commands queued in a MULTI/EXEC
 * transaction are traced from when they are sent to when EXEC answers, each
 * reading its version from its own element of EXEC's reply (a transaction WATCH
 * aborted ends them as failed). On a Cluster, a pipeline or transaction ioredis
 * resends after a redirection (MOVED or ASK while a slot migrates) keeps its
 * spans: they record the resent commands' replies, what the app got. With
 * auto-pipelining, each command keeps the context (and withStateAccess facts)
 * of its own caller.
 *
 * ```ts
 * const redis = instrumentRedis(new Redis(6379), { keys: 'task:' });
 * await withStateAccess({ agent: 'research', attempt: 1 }, () => redis.hset('task:t-1', { version: 2, summary }));
 * ```
 */
export function instrumentRedis<R extends IORedisClient>(redis: R, options: RedisInstrumentationOptions = {}): R {
  if (!isClientObject('instrumentRedis', 'an ioredis Redis or Cluster', redis)) return redis;
  const holder = redis as unknown as { [INSTRUMENTED]?: Instrumented };
  if (holder[INSTRUMENTED]) return redis;
  const inst = new StoreInstrumentation('redis', { ...options, namespace: options.namespace ?? namespaceOf(redis) });
  const tracer = new RedisCommandTracer(inst, options);
  const proto = Object.getPrototypeOf(redis) as { sendCommand: SendCommand; pipeline?: MakePipeline; multi?: MakePipeline };
  const isWrapped = driverWrappedCheck(redis);
  const isCluster = (redis as { isCluster?: boolean }).isCluster === true;
  // Commands queued in a transaction, per pipeline send (ioredis passes one `stream` object to every command of it).
  const queued = new WeakMap<object, QueuedCommand[]>();

  /** Records a send's outcome; a command outside a pipeline ends with it. */
  const record = (trace: CommandTrace, state: 1 | 2, value: unknown, isQueuedReply: boolean): void => {
    if (trace.ended) return;
    trace.state = state;
    trace.value = value;
    trace.queued = isQueuedReply;
    if (trace.batch === undefined) endTrace(tracer, trace, undefined);
  };

  /** Follows one send of a traced command: its promise, or (queued in a transaction) its EXEC's reply. */
  const follow = (trace: CommandTrace, command: RedisCommandLike, batch: unknown): void => {
    const promise = command.promise;
    trace.promise = promise;
    if (command.inTransaction === true && typeof command.pipelineIndex === 'number' && batch !== null && typeof batch === 'object') {
      // Queued: its reply is QUEUED; its value (an XADD's entry id, a read's version) and whether it ran at all come with EXEC.
      const entry: QueuedCommand = { trace, pipelineIndex: command.pipelineIndex, settled: false };
      let waiting = queued.get(batch);
      if (!waiting) queued.set(batch, (waiting = []));
      waiting.push(entry);
      promise.then(undefined, (error: unknown) => {
        entry.settled = true;
        record(trace, 2, error, false);
      });
    } else {
      promise.then(
        // `multi({ pipeline: false })` sends each command on its own: a QUEUED reply says nothing about the value.
        (reply) => record(trace, 1, reply, command.inTransaction === true || reply === 'QUEUED'),
        (error: unknown) => record(trace, 2, error, false),
      );
    }
    const pipeline = trace.batch;
    if (pipeline !== undefined && !pipeline.listening) {
      pipeline.listening = true;
      // Settled after every command's own promise (ioredis resolves it from the last reply's handler).
      pipeline.promise.then(
        () => endBatch(tracer, pipeline, undefined),
        (error: unknown) => endBatch(tracer, pipeline, error),
      );
    }
  };

  /** Settles one send's queued commands with its EXEC's reply (see {@link execElementOf}). */
  const settleOnExec = (exec: RedisCommandLike, waiting: readonly QueuedCommand[]): void => {
    const execIndex = exec.pipelineIndex;
    exec.promise.then(
      (reply) => {
        for (const entry of waiting) {
          if (entry.settled) continue;
          entry.settled = true;
          if (!Array.isArray(reply) || typeof execIndex !== 'number') {
            record(entry.trace, 2, new Error('EXEC aborted the transaction (a WATCHed key changed): the command did not run'), false);
            continue;
          }
          const element = execElementOf(reply, execIndex, entry.pipelineIndex);
          record(entry.trace, element instanceof Error ? 2 : 1, element, false);
        }
      },
      (error: unknown) => {
        for (const entry of waiting) {
          if (entry.settled) continue;
          entry.settled = true;
          record(entry.trace, 2, error, false);
        }
      },
    );
  };

  // `arguments`, not rest parameters: a command that is not state access is handed on without an array built for it.
  const wrapped = function sendCommand(this: IORedisClient, command: RedisCommandLike): unknown {
    // The prototype's method is looked up per call, so a contrib instrumentation enabled later still runs.
    const original = proto.sendCommand;
    const spec = command && typeof command === 'object' ? COMMANDS.get(command.name) : undefined;
    if (spec === undefined) return original.apply(this, arguments as unknown as [RedisCommandLike, ...unknown[]]);
    const argv = arguments as unknown as [RedisCommandLike, ...unknown[]];
    if (spec.kind === EXEC) {
      const batch = argv[1] as unknown;
      const waiting = batch !== null && typeof batch === 'object' ? queued.get(batch) : undefined;
      if (waiting) {
        queued.delete(batch as object);
        try {
          settleOnExec(command, waiting);
        } catch (error) {
          inst.fault('redis exec', error, undefined);
        }
      }
      return original.apply(this, argv);
    }
    const previous = command[TRACE];
    if (previous === null) return original.apply(this, argv);
    if (previous !== undefined) {
      // Sent again: a resend with a new promise is followed; a flush of the offline queue (same promise) is not.
      try {
        if (previous.promise !== command.promise && !previous.ended) follow(previous, command, argv[1]);
      } catch (error) {
        inst.fault(`redis ${command.name}`, error, previous.traced.span);
      }
      const spanContext = previous.spanContext;
      return spanContext === undefined ? original.apply(this, argv) : contextApi.with(spanContext, () => original.apply(this, argv));
    }
    // A pipelined command is traced in the context its caller queued it in.
    const ctx = command[QUEUED_CONTEXT] ?? contextApi.active();
    // Seen: a later send of it (the offline queue flushed on connect, outside the untraced() call that sent it)
    // is not traced a second time.
    command[TRACE] = null;
    if (isSuppressed(ctx)) return original.apply(this, argv);
    let driverSpan = false;
    try {
      driverSpan = inst.driverWritesClientSpan(isWrapped);
    } catch (error) {
      inst.fault(`redis ${command.name}`, error, undefined);
    }
    const inTransaction = command.inTransaction === true;
    let traced: TracedCommand | undefined;
    let spanContext: Context | undefined;
    let result: unknown;
    if (driverSpan || spec.kind === PUBLISH) {
      // Started before sending: the driver's CLIENT span needs Baton's span active to be its child, and an
      // XADD carries the span's trace context.
      traced = tracer.start(spec, command.args, 0, ctx, driverSpan, inTransaction);
      if (!traced) return original.apply(this, argv);
      if (driverSpan) {
        spanContext = trace.setSpan(ctx, traced.span);
        const active = spanContext;
        result = contextApi.with(active, () => original.apply(this, argv));
        // A Cluster retries a command it sent on its own (no node given) from inside the `reject` it has just put
        // on it, called from the socket's reply: run in Baton's span, the driver's CLIENT span of a retry after
        // MOVED or ASK is its child too, as the first one is.
        if (isCluster && argv[2] === undefined) bindRetries(command, active);
      } else {
        result = original.apply(this, argv);
      }
    } else {
      // Sent first, then the span made (starting when the command was sent): ioredis writes the command to the
      // socket inside sendCommand, so Baton's work runs while it is on the wire instead of before it.
      const startMs = nowMs();
      result = original.apply(this, argv);
      traced = tracer.start(spec, command.args, 0, ctx, false, inTransaction, startMs);
      if (!traced) return result;
    }
    const commandTrace: CommandTrace = {
      traced,
      spanContext,
      batch: command[BATCH],
      promise: command.promise,
      state: 0,
      value: undefined,
      queued: false,
      ended: false,
    };
    try {
      command[TRACE] = commandTrace;
      commandTrace.batch?.commands.push(commandTrace);
      follow(commandTrace, command, argv[1]);
    } catch (error) {
      // The host's command is on its way whatever happens here; its span is ended rather than left open.
      inst.fault(`redis ${command.name}`, error, traced.span);
      if (!commandTrace.ended) endTrace(tracer, commandTrace, error);
    }
    return result;
  };

  /** Marks a command queued in an instrumented pipeline: its batch, and its caller's context if it may be traced. */
  const adoptCommand = (command: unknown, batch: BatchTrace): void => {
    if (command === null || typeof command !== 'object') return;
    const commandLike = command as RedisCommandLike;
    // Queued again by a resend (Pipeline#fillResult): it keeps the context its caller queued it in.
    if (commandLike[BATCH] === batch || !COMMANDS.has(commandLike.name)) return;
    commandLike[BATCH] = batch;
    commandLike[QUEUED_CONTEXT] = contextApi.active();
  };

  /** Makes a pipeline's traced commands one batch: their spans end when it settles, after any resend. */
  const adoptPipeline = (pipeline: unknown): void => {
    if (!isPipeline(pipeline) || pipeline[BATCH] !== undefined) return;
    const batch: BatchTrace = { promise: pipeline.promise, commands: [], listening: false };
    Object.defineProperty(pipeline, BATCH, { value: batch, enumerable: false });
    // Queued already by `pipeline(commands)`, `multi(commands)` (and MULTI itself).
    const already = pipeline._queue;
    if (Array.isArray(already)) for (let i = 0; i < already.length; i++) adoptCommand(already[i], batch);
    const queue = pipeline.sendCommand;
    Object.defineProperty(pipeline, 'sendCommand', {
      value: function sendCommand(this: PipelineLike, command: RedisCommandLike): unknown {
        try {
          adoptCommand(command, batch);
        } catch (error) {
          inst.fault('redis pipeline', error, undefined);
        }
        return queue.apply(this, arguments as unknown as [RedisCommandLike]);
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });
  };

  /** `pipeline()` / `multi()` of the client: the Pipeline they return is adopted (auto-pipelining calls `pipeline()` too). */
  const pipelineMaker = (name: 'pipeline' | 'multi') =>
    function makePipeline(this: IORedisClient): unknown {
      const made = proto[name]!.apply(this, arguments as unknown as unknown[]);
      try {
        adoptPipeline(made);
      } catch (error) {
        inst.fault(`redis ${name}`, error, undefined);
      }
      return made;
    };

  Object.defineProperty(redis, 'sendCommand', { value: wrapped, writable: true, configurable: true, enumerable: false });
  if (typeof proto.pipeline === 'function') {
    Object.defineProperty(redis, 'pipeline', { value: pipelineMaker('pipeline'), writable: true, configurable: true, enumerable: false });
  }
  if (typeof proto.multi === 'function') {
    Object.defineProperty(redis, 'multi', { value: pipelineMaker('multi'), writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(redis, INSTRUMENTED, { value: { inst } satisfies Instrumented, enumerable: false });
  return redis;
}

/** Runs the retries a Cluster makes of `command` (from its `reject`) in `ctx`. */
function bindRetries(command: RedisCommandLike, ctx: Context): void {
  const reject = (command as { reject?: unknown }).reject;
  if (typeof reject === 'function') (command as { reject?: unknown }).reject = contextApi.bind(ctx, reject);
}

/**
 * A queued command's element of EXEC's reply. EXEC answers one element per
 * queued command, in order, and ioredis' Pipeline places each at
 * `pipelineIndex`: element `length - (execIndex - pipelineIndex)` (the
 * arithmetic of ioredis' own `fillResult`).
 */
function execElementOf(reply: readonly unknown[], execIndex: number, pipelineIndex: number): unknown {
  return reply[reply.length - (execIndex - pipelineIndex)];
}

/** Ends a command's span with its latest send's outcome, or with `error` (the pipeline failed as a whole, or no reply came). */
function endTrace(tracer: RedisCommandTracer, trace: CommandTrace, error: unknown): void {
  trace.ended = true;
  if (trace.state === 1) tracer.finish(trace.traced, trace.value, trace.queued);
  else if (trace.state === 2) tracer.fail(trace.traced, trace.value);
  else tracer.fail(trace.traced, error ?? new Error('the pipeline answered without this command’s reply'));
}

/** Ends the spans of a pipeline's commands once the pipeline settled: the outcome each last send had is what the app got. */
function endBatch(tracer: RedisCommandTracer, batch: BatchTrace, error: unknown): void {
  const commands = batch.commands;
  for (let i = 0; i < commands.length; i++) if (!commands[i]!.ended) endTrace(tracer, commands[i]!, error);
  commands.length = 0;
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

/**
 * The idempotency hash of a state key, in the state key's hash slot, so one
 * script can touch both on a Redis Cluster. A key with a hash tag (`{t-1}/out`)
 * gives it that tag (`{t-1}/out:idempotency`); a key without one is hashed
 * whole, so it becomes the tag (`{task-1/out}:idempotency`), which needs the key
 * to contain no `}` (else the old `<key>:idempotency`, one slot apart on a
 * cluster).
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
 */
function idempotencyKeyOf(stateKey: string): string {
  const open = stateKey.indexOf('{');
  if (open >= 0) {
    const close = stateKey.indexOf('}', open + 1);
    if (close > open + 1) return `${stateKey}:idempotency`;
  }
  return stateKey.includes('}') ? `${stateKey}:idempotency` : `{${stateKey}}:idempotency`;
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

async function runScript(redis: IORedisClient, sha: string, script: string, keys: string[], args: string[]): Promise<unknown> {
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
  readonly #redis: IORedisClient;
  readonly #isWrapped: () => boolean;
  readonly #inst: StoreInstrumentation;
  readonly #prefix: string;
  readonly #collection: string;
  readonly #ttl: string;
  readonly #streamPrefix: string;
  readonly #serialize: (value: unknown) => string;
  readonly #deserialize: (text: string) => unknown;

  constructor(redis: IORedisClient, options: RedisStateStoreOptions = {}) {
    this.#redis = redis;
    // No client (null, a config path not taken): said once, and the store's calls reject as the app's own calls on it would.
    const usable = isClientObject('RedisStateStore', 'an ioredis Redis or Cluster', redis);
    this.#isWrapped = usable ? driverWrappedCheck(redis) : () => false;
    this.#inst = new StoreInstrumentation('redis', { ...options, namespace: options.namespace ?? (usable ? namespaceOf(redis) : '0') });
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
    return this.#inst.driverWritesClientSpan(this.#isWrapped);
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
          const keys = [stateKey, idempotencyKeyOf(stateKey)];
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
  readonly #redis: IORedisClient;
  readonly #inst: StoreInstrumentation;
  readonly #prefix: string;
  readonly #maxLength: number | undefined;

  constructor(baton: Baton, redis: IORedisClient, options: RedisStreamBusOptions = {}) {
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
