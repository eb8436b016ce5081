/**
 * `baton-sdk/node-redis`: Baton for node-redis (`redis` v5, an optional peer
 * dependency; this module never imports it at run time, it instruments the
 * client the app passes). The spans, options and extractors are those of
 * `baton-sdk/redis` (ioredis): both adapters read commands through
 * ./redis-commands.ts.
 *
 * node-redis sends every single command, whatever method the app called
 * (`get`, `hSet`, `xAdd`, `sendCommand`, a script), through one public method,
 * `RedisClient#sendCommand(args, options)`, with `args = [NAME, ...arguments]`
 * and the reply as the server sent it (RESP2 arrays or RESP3 maps, before the
 * command's reply transformer). That method is wrapped on the client instance
 * (the object every proxy `createClient()`, `withTypeMapping()` and
 * `withCommandOptions()` return inherits from). Transactions and pipelines do
 * not pass through it: node-redis queues their commands directly, so
 * `_executeMulti` / `_executePipeline` (what `multi().exec()` and
 * `execAsPipeline()` call, with every queued command's arguments and, back,
 * one reply per command) are wrapped too: a read inside MULTI gets its version
 * from its own element of EXEC's reply.
 *
 * A cluster (`createCluster()`) is instrumented by the same call. Each of its
 * commands runs in `RedisCluster#_execute(firstKey, isReadonly, options, fn)`,
 * which calls `fn(nodeClient, options)` once per attempt: again on the new owner
 * after a MOVED (once its slot map is rediscovered) or after ASKING on the
 * importing node after an ASK. That method is wrapped on the cluster instance:
 * `fn` gets a per-attempt view of the node client whose `sendCommand` is
 * Baton's, so a command's span starts when `_execute` was called, records the reply of
 * each attempt and ends when `_execute` answers the app: one span per command,
 * whatever the redirections. A command without a key (PING, INFO) skips all of
 * it. Cluster transactions and pipelines run on one node client
 * (`_executeMulti` / `_executePipeline`, not retried by node-redis on a
 * redirection: the app gets the error); the cluster's slot table hands each
 * node client out through `ClusterSlots#nodeClient`, wrapped to instrument those
 * two methods of each node client the first time it is handed out (with its
 * `sendCommand`, so that commands an app sends on `cluster.nodeClient(node)`
 * are traced too; a cluster attempt sends past that wrapper, once).
 *
 * A sentinel (`createSentinel()`) and its client leases (`use()`, `acquire()`)
 * run everything through `_execute(isReadonly, fn)`, `fn` getting the master's
 * or a replica's node client per attempt: wrapped like a cluster's, the view
 * also routing `_executeMulti` / `_executePipeline`. On both, a command that
 * fails before any attempt (no node, no replica, a released lease) is learned
 * by running its `fn` against a stand-in client that sends nothing, and
 * recorded as a failed access with the app's error.
 *
 * Beside @opentelemetry/instrumentation-redis: it patches
 * `RedisClient.prototype.sendCommand` (its CLIENT span per command) and, for
 * transactions, the multi command's `addCommand`/`exec`. Baton checks the
 * prototype's `sendCommand` for the instrumentation's wrapper per command:
 * present, Baton's span is INTERNAL (a single command's CLIENT span is its
 * child; a queued command's CLIENT span, started when the app queued it, is its
 * sibling); absent, Baton's span is the CLIENT span.
 *
 * @see https://github.com/redis/node-redis/blob/master/packages/client/lib/client/index.ts
 */
import { context as contextApi, diag, trace, type Context } from '@opentelemetry/api';
import {
  isInstrumentationWrapped,
  isSuppressed,
  nowMs,
  StoreInstrumentation,
  untraced,
  withStateAccess,
  type StateAccessFacts,
  type StoreInstrumentationOptions,
  type StoreInstrumentationStats,
  isClientObject,
} from './common.js';
import {
  PUBLISH,
  REDIS_COMMANDS,
  RedisCommandTracer,
  type RedisCommandOptions,
  type RedisCommandSpec,
  type RedisStateCommand,
  type RedisStateFacts,
  type TracedCommand,
} from './redis-commands.js';

export { withStateAccess, untraced };
export type { StateAccessFacts, StoreInstrumentationOptions, StoreInstrumentationStats, RedisStateCommand, RedisStateFacts };

/** Options of {@link instrumentNodeRedis}: those of `instrumentRedis` (baton-sdk/redis). */
export type NodeRedisInstrumentationOptions = RedisCommandOptions;

type SendCommand = (this: unknown, args: unknown[], options?: unknown) => unknown;

/** One command queued in a node-redis transaction or pipeline. */
interface QueuedCommandLike {
  readonly args: unknown[];
}

type ExecuteBatch = (this: unknown, commands: QueuedCommandLike[], selectedDB?: number) => unknown;

/** What of a node-redis client instance the instrumentation reads and wraps. */
interface ClientInternals {
  sendCommand?: unknown;
  _executeMulti?: unknown;
  _executePipeline?: unknown;
  readonly options?: { readonly database?: number };
  [INSTRUMENTED]?: Instrumented;
}

const INSTRUMENTED = Symbol.for('baton.stores.node-redis.instrumented');

interface Instrumented {
  readonly inst: StoreInstrumentation;
}

/**
 * The client instance behind what the app holds: `createClient()` returns a
 * proxy (`Object.create(client)`) and the commands run on `proxy._self`.
 */
function instanceOf(client: object): ClientInternals {
  const self = (client as { _self?: unknown })._self;
  return (self !== null && typeof self === 'object' ? self : client) as ClientInternals;
}

/** Counts of the instrumentation on `client`, or undefined if it is not instrumented. */
/**
 * `method(fn)` of a pool or sentinel that calls `fn` with a client it hands out (`execute`,
 * `use`), wrapped so `adopt` sees that client before the app's `fn` runs; anything but a
 * function goes to the method as it is, for the driver to refuse.
 */
function handingOut(method: (this: unknown, fn: unknown) => unknown, adopt: (client: unknown) => void): (this: unknown, fn: unknown) => unknown {
  return function (this: unknown, fn: unknown): unknown {
    if (typeof fn !== 'function') return method.apply(this, arguments as unknown as [unknown]);
    return method.call(this, function (this: unknown, client: unknown): unknown {
      adopt(client);
      return (fn as (...args: unknown[]) => unknown).apply(this, arguments as unknown as unknown[]);
    });
  };
}

export function nodeRedisInstrumentationStats(client: object): StoreInstrumentationStats | undefined {
  return instanceOf(client)[INSTRUMENTED]?.inst.stats();
}

function isThenable(value: unknown): value is Promise<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Instruments an existing node-redis v5 client (`createClient()`, before or
 * after `connect()`) in place and returns it: the app keeps using the same
 * object, and every proxy of it (`withTypeMapping`, `withCommandOptions`) is
 * traced as well. Calling it twice on one client does nothing the second time;
 * an object that is not a node-redis client is returned untouched, with a
 * `diag` warning. A cluster (`createCluster()`) is instrumented the same way:
 * one span per command whatever MOVED/ASK redirections it went through, its
 * MULTI / pipelines traced on the node that runs them, and the node clients it
 * hands out (`cluster.nodeClient(node)`) traced like itself. So is a sentinel
 * (`createSentinel()`), with the client leases of its `use()` and `acquire()`;
 * a lease taken before the sentinel was instrumented can be given on its own;
 * and a client pool (`createClientPool()`), each pooled client as it is handed out.
 *
 * ```ts
 * const client = instrumentNodeRedis(await createClient({ url }).connect(), { keys: 'task:' });
 * await withStateAccess({ agent: 'research', attempt: 1 }, () => client.hSet('task:t-1', { version: 2, summary }));
 * ```
 */
export function instrumentNodeRedis<C extends object>(client: C, options: NodeRedisInstrumentationOptions = {}): C {
  if (!isClientObject('instrumentNodeRedis', 'a node-redis client, pool, cluster or sentinel', client)) return client;
  const self = instanceOf(client);
  if (self[INSTRUMENTED]) return client;
  if (isClusterInstance(self)) {
    instrumentCluster(self as ClusterInternals, options);
    return client;
  }
  if (isSentinelInstance(self)) {
    instrumentSentinel(self as SentinelInternals, options);
    return client;
  }
  if (isClientPool(self)) {
    instrumentPool(self as PoolInternals, options);
    return client;
  }
  if (isSentinelLease(self)) {
    // The sentinel's database is not readable from a lease: learned from the node client of its first command.
    const inst = new StoreInstrumentation('redis', options);
    instrumentExecutor(self as ExecutorInternals, { inst, tracer: new RedisCommandTracer(inst, options), learnNamespace: options.namespace === undefined });
    return client;
  }
  const proto = Object.getPrototypeOf(self) as ClientPrototype | null;
  if (proto === null || typeof proto.sendCommand !== 'function') {
    diag.warn('baton: instrumentNodeRedis was given an object without sendCommand (not a node-redis v5 client); left uninstrumented');
    return client;
  }
  const inst = new StoreInstrumentation('redis', { ...options, namespace: options.namespace ?? String(self.options?.database ?? 0) });
  instrumentClient(self, proto, inst, new RedisCommandTracer(inst, options));
  return client;
}

/** The methods of a node-redis client's prototype the instrumentation calls. */
interface ClientPrototype {
  sendCommand?: SendCommand;
  _executeMulti?: ExecuteBatch;
  _executePipeline?: ExecuteBatch;
}

/**
 * Instruments one client instance: its `sendCommand` (every single command) and
 * its batch methods, recording to `inst` (the client's own, or the cluster's
 * that handed the client out).
 */
function instrumentClient(self: ClientInternals, proto: ClientPrototype, inst: StoreInstrumentation, tracer: RedisCommandTracer): void {
  const isWrapped = () => isInstrumentationWrapped(proto.sendCommand);

  // `arguments`, not rest parameters: a command that is not state access is handed on without an array built for it.
  const sendCommand = function sendCommand(this: unknown, args: unknown[]): unknown {
    // The prototype's method is looked up per call, so a contrib instrumentation enabled later still runs.
    const original = proto.sendCommand!;
    const name = Array.isArray(args) ? args[0] : undefined;
    const spec = typeof name === 'string' ? REDIS_COMMANDS.get(name) : undefined;
    if (spec === undefined) return original.apply(this, arguments as unknown as [unknown[], unknown]);
    const ctx = contextApi.active();
    if (isSuppressed(ctx)) return original.apply(this, arguments as unknown as [unknown[], unknown]);
    // XADD gets the trace context appended: to a copy, never to an array the app passed and may reuse.
    const sent = spec.kind === PUBLISH ? args.slice() : args;
    const commandOptions = arguments[1] as unknown;
    let traced: TracedCommand | undefined;
    let deferred: DeferredCommand | undefined;
    let driverSpan = false;
    try {
      driverSpan = inst.driverWritesClientSpan(isWrapped);
      // node-redis writes its queue to the socket on setImmediate: the span is made in the immediate queued
      // after that write, so Baton's work runs while the command is on the wire instead of before it is sent
      // (its start time is taken now). A driver instrumentation needs Baton's span active before the send,
      // and an XADD carries the span's context: those are made first.
      if (!driverSpan && spec.kind !== PUBLISH) deferred = new DeferredCommand(tracer, spec, sent, ctx, nowMs());
      else traced = tracer.start(spec, sent, 1, ctx, driverSpan, false);
    } catch (error) {
      inst.fault(`redis ${spec.name}`, error, undefined);
    }
    if (deferred) {
      const result = original.call(this, sent, commandOptions);
      deferred.follow(result);
      return result;
    }
    if (!traced) return original.apply(this, arguments as unknown as [unknown[], unknown]);
    const commandTrace = traced;
    // Only a driver instrumentation needs Baton's span active (to parent its CLIENT span).
    const result = driverSpan
      ? contextApi.with(trace.setSpan(ctx, commandTrace.span), () => original.call(this, sent, commandOptions))
      : original.call(this, sent, commandOptions);
    if (isThenable(result)) {
      result.then(
        (reply) => tracer.finish(commandTrace, reply),
        (error: unknown) => tracer.fail(commandTrace, error),
      );
    } else {
      tracer.finish(commandTrace, undefined);
    }
    return result;
  };

  Object.defineProperty(self, 'sendCommand', { value: sendCommand, writable: true, configurable: true, enumerable: false });
  instrumentBatches(self, proto, inst, tracer, isWrapped);
  Object.defineProperty(self, INSTRUMENTED, { value: { inst } satisfies Instrumented, enumerable: false });
}

/**
 * A command whose span is made after node-redis wrote it (see instrumentClient):
 * started by the immediate queued after the driver's write, or by its reply or
 * error if that came first (a closed client rejects at once).
 */
class DeferredCommand {
  readonly #tracer: RedisCommandTracer;
  readonly #spec: RedisCommandSpec;
  readonly #args: unknown[];
  readonly #ctx: Context;
  readonly #startMs: number;
  #started = false;
  #traced: TracedCommand | undefined;

  constructor(tracer: RedisCommandTracer, spec: RedisCommandSpec, args: unknown[], ctx: Context, startMs: number) {
    this.#tracer = tracer;
    this.#spec = spec;
    this.#args = args;
    this.#ctx = ctx;
    this.#startMs = startMs;
  }

  /** The span, made on the first call (RedisCommandTracer#start counts its own faults). */
  start(): TracedCommand | undefined {
    if (!this.#started) {
      this.#started = true;
      this.#traced = this.#tracer.start(this.#spec, this.#args, 1, this.#ctx, false, false, this.#startMs);
    }
    return this.#traced;
  }

  follow(result: unknown): void {
    if (isThenable(result)) {
      setImmediate(startDeferred, this);
      result.then(
        (reply) => {
          const traced = this.start();
          if (traced) this.#tracer.finish(traced, reply);
        },
        (error: unknown) => {
          const traced = this.start();
          if (traced) this.#tracer.fail(traced, error);
        },
      );
    } else {
      const traced = this.start();
      if (traced) this.#tracer.finish(traced, undefined);
    }
  }
}

function startDeferred(command: DeferredCommand): void {
  command.start();
}

const NO_REPLIES = 'the batch answered no replies';

/** The state and Streams commands of one batch, their spans started, and the queue to send (a copy where an XADD got trace context). */
interface StartedBatch {
  readonly traced: (TracedCommand | undefined)[];
  readonly sent: QueuedCommandLike[];
}

/**
 * Starts a span for each state and Streams command of a transaction or
 * pipeline (`commands`, node-redis' queue); undefined when none is traced.
 * `inTransaction`: in MULTI no trace context is added to an XADD. `startMs`:
 * when the batch was called, if before now.
 */
function startBatch(
  inst: StoreInstrumentation,
  tracer: RedisCommandTracer,
  commands: QueuedCommandLike[],
  ctx: Context,
  isWrapped: () => boolean,
  inTransaction: boolean,
  operation: string,
  startMs?: number,
): StartedBatch | undefined {
  let traced: (TracedCommand | undefined)[] | undefined;
  let sent = commands;
  try {
    const driverSpan = inst.driverWritesClientSpan(isWrapped);
    for (let i = 0; i < commands.length; i++) {
      const args = commands[i]?.args;
      const name = Array.isArray(args) ? args[0] : undefined;
      const spec = typeof name === 'string' ? REDIS_COMMANDS.get(name) : undefined;
      if (spec === undefined) continue;
      let commandArgs = args!;
      if (spec.kind === PUBLISH && !inTransaction) {
        // A copy of the queue and of this command: the app's multi object is left as it queued it.
        if (sent === commands) sent = commands.slice();
        commandArgs = args!.slice();
        sent[i] = { ...commands[i]!, args: commandArgs };
      }
      const one = tracer.start(spec, commandArgs, 1, ctx, driverSpan, inTransaction, startMs);
      if (one) (traced ??= new Array<TracedCommand | undefined>(commands.length))[i] = one;
    }
  } catch (error) {
    inst.fault(operation, error, undefined);
  }
  return traced ? { traced, sent } : undefined;
}

/** Ends a batch's spans when `result` (what node-redis' batch method returned) settles. */
function settleBatchOn(tracer: RedisCommandTracer, traced: readonly (TracedCommand | undefined)[], result: unknown): void {
  if (isThenable(result)) {
    result.then(
      (replies) => tracer.settleBatch(traced, Array.isArray(replies) ? replies : undefined, new Error(NO_REPLIES)),
      // A transaction WATCH aborted (WatchError), an EXECABORT, or a pipeline with a failed command: node-redis
      // rejects the whole batch, and no command's own reply is known.
      (error: unknown) => tracer.settleBatch(traced, undefined, error),
    );
  } else {
    tracer.settleBatch(traced, Array.isArray(result) ? result : undefined, new Error(NO_REPLIES));
  }
}

/** Queues that reached an instrumented node client's batch method: a cluster MULTI that failed without one did so before it was sent. */
const BATCHES_REACHED = new WeakSet<object>();

/**
 * Wraps the batch methods of a client instance (`_executeMulti`, what
 * `multi().exec()` calls; `_executePipeline`, what `execAsPipeline()` calls):
 * spans for their state and Streams commands, each settled with its own reply.
 */
function instrumentBatches(
  self: ClientInternals,
  proto: ClientPrototype,
  inst: StoreInstrumentation,
  tracer: RedisCommandTracer,
  isWrapped: () => boolean,
): void {
  const batchOf = (method: '_executeMulti' | '_executePipeline', inTransaction: boolean) =>
    function executeBatch(this: unknown, commands: QueuedCommandLike[]): unknown {
      const original = proto[method]!;
      if (!Array.isArray(commands)) return original.apply(this, arguments as unknown as [QueuedCommandLike[]]);
      BATCHES_REACHED.add(commands);
      const ctx = contextApi.active();
      if (isSuppressed(ctx)) return original.apply(this, arguments as unknown as [QueuedCommandLike[]]);
      const batch = startBatch(inst, tracer, commands, ctx, isWrapped, inTransaction, `redis ${method}`);
      if (!batch) return original.apply(this, arguments as unknown as [QueuedCommandLike[]]);
      const result = original.call(this, batch.sent, arguments[1] as number | undefined);
      settleBatchOn(tracer, batch.traced, result);
      return result;
    };
  if (typeof proto._executeMulti === 'function') {
    Object.defineProperty(self, '_executeMulti', { value: batchOf('_executeMulti', true), writable: true, configurable: true, enumerable: false });
  }
  if (typeof proto._executePipeline === 'function') {
    Object.defineProperty(self, '_executePipeline', { value: batchOf('_executePipeline', false), writable: true, configurable: true, enumerable: false });
  }
}

// ---------------------------------------------------------------------------
// Clusters (createCluster) and sentinels (createSentinel): commands run through
// `_execute`, which hands each attempt's node client to the command's `fn`.

/** `fn` of `_execute`: runs one attempt of a command on a node client (a cluster passes per-attempt options too). */
type AttemptOn = (nodeClient: object, options?: unknown) => unknown;
type ClusterExecute = (this: unknown, firstKey: unknown, isReadonly: unknown, options: unknown, fn: AttemptOn) => unknown;
type SentinelExecute = (this: unknown, isReadonly: unknown, fn: AttemptOn) => unknown;
type NodeClientOf = (this: unknown, node: unknown) => unknown;
/** What a cluster's `MULTI()` gives its multi object to run the queue: finds the node, then runs the batch there. */
type ClusterBatchExecute = (this: unknown, firstKey: unknown, isReadonly: unknown, commands: QueuedCommandLike[]) => unknown;

/** What of a node-redis cluster instance the instrumentation reads and wraps. */
interface ClusterInternals {
  _execute?: unknown;
  readonly _slots?: { nodeClient?: unknown };
  [INSTRUMENTED]?: Instrumented;
}

/** What of a sentinel, or of one of its client leases, the instrumentation wraps. */
interface ExecutorInternals {
  _execute?: unknown;
  [INSTRUMENTED]?: Instrumented;
}

interface SentinelInternals extends ExecutorInternals {
  use?: unknown;
  acquire?: unknown;
}

function isClusterInstance(self: object): boolean {
  const slots = (self as ClusterInternals)._slots;
  return (
    typeof (self as ClusterInternals)._execute === 'function' &&
    slots !== null &&
    typeof slots === 'object' &&
    typeof slots.nodeClient === 'function'
  );
}

/** A `RedisSentinel`: `_execute(isReadonly, fn)`, and client leases through `use(fn)` and `acquire()`. */
function isSentinelInstance(self: object): boolean {
  const sentinel = self as SentinelInternals;
  return typeof sentinel._execute === 'function' && typeof sentinel.use === 'function' && typeof sentinel.acquire === 'function';
}

/** A `RedisSentinelClient` (a lease of `use()` / `acquire()`): `_execute(isReadonly, fn)`, given back with `release()`. */
function isSentinelLease(self: object): boolean {
  return typeof (self as ExecutorInternals)._execute === 'function' && typeof (self as { release?: unknown }).release === 'function';
}

/** A `RedisClientPool` (`createClientPool()`): every command, MULTI and pipeline runs in `execute(fn)` on a pooled client. */
function isClientPool(self: object): boolean {
  const pool = self as PoolInternals;
  return typeof pool.execute === 'function' && typeof pool._executeCommand !== 'function' && typeof pool._execute !== 'function';
}

interface PoolInternals {
  execute?: unknown;
  _executeCommand?: unknown;
  _execute?: unknown;
  [INSTRUMENTED]?: Instrumented;
}

/**
 * Instruments a node-redis client pool in place: `execute(fn)`, through which
 * the pool runs everything, instruments each pooled client the first time it
 * hands it to `fn` (as a client of the pool's own, counted as the pool's), so
 * that an app's own `pool.execute(async (client) => …)` of several commands is
 * one span per command too. A command that fails before a client is handed out
 * (a closed pool, `acquireTimeout`) records nothing: `fn` may be the app's own,
 * and is never run for Baton.
 */
function instrumentPool(self: PoolInternals, options: NodeRedisInstrumentationOptions): void {
  const proto = Object.getPrototypeOf(self) as { execute: (this: unknown, fn: unknown) => unknown };
  // The pool's clients are made from one set of options; their database is read from the first.
  const inst = new StoreInstrumentation('redis', options);
  const tracer = new RedisCommandTracer(inst, options);
  const adopt = (pooled: unknown): void => {
    try {
      if (pooled === null || typeof pooled !== 'object') return;
      const pooledSelf = instanceOf(pooled);
      if (pooledSelf[INSTRUMENTED]) return;
      const pooledProto = Object.getPrototypeOf(pooledSelf) as ClientPrototype | null;
      if (pooledProto === null || typeof pooledProto.sendCommand !== 'function') return;
      if (inst.namespace === undefined && options.namespace === undefined) inst.namespace = String(pooledSelf.options?.database ?? 0);
      instrumentClient(pooledSelf, pooledProto, inst, tracer);
    } catch (error) {
      inst.fault('redis pool client', error, undefined);
    }
  };
  const execute = handingOut(proto.execute, adopt);
  Object.defineProperty(self, 'execute', { value: execute, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(self, INSTRUMENTED, { value: { inst } satisfies Instrumented, enumerable: false });
}

function ignore(): void {}

/** What every `_execute` of one instrumented cluster or sentinel (and of the sentinel's leases) records to. */
interface ExecuteTracing {
  readonly inst: StoreInstrumentation;
  readonly tracer: RedisCommandTracer;
  /** Take `db.namespace` from the first node client's database: a sentinel keeps its options private. */
  readonly learnNamespace: boolean;
}

type RawMethod = 'sendCommand' | '_executeMulti' | '_executePipeline';

/**
 * The method of a node client that sends for an `_execute` attempt. A node client
 * Baton instruments itself (one an instrumented cluster handed out, or one the
 * app instrumented) has Baton's wrapper on the instance: its prototype's method
 * is called instead, so that the attempt is traced once, by the command's run.
 */
function rawMethodOf(nodeClient: object, name: RawMethod): ((this: unknown, ...args: unknown[]) => unknown) | undefined {
  const self = instanceOf(nodeClient) as ClientInternals & Record<string, unknown>;
  if (self[INSTRUMENTED] !== undefined) {
    const method = (Object.getPrototypeOf(self) as Record<string, unknown> | null)?.[name];
    if (typeof method === 'function') return method as (this: unknown, ...args: unknown[]) => unknown;
  }
  const method = (nodeClient as Record<string, unknown>)[name];
  return typeof method === 'function' ? (method as (this: unknown, ...args: unknown[]) => unknown) : undefined;
}

const RUN = Symbol('baton.stores.node-redis.run');

/** Per node client, the prototype of its per-attempt views: its three sending methods routed to the view's run. */
const VIEW_PROTOTYPES = new WeakMap<object, object>();

function viewPrototypeOf(nodeClient: object): object {
  let prototype = VIEW_PROTOTYPES.get(nodeClient);
  if (prototype !== undefined) return prototype;
  prototype = Object.create(nodeClient) as object;
  const methods = {
    sendCommand(this: { [RUN]: ExecuteRun }, args: unknown[], options?: unknown): unknown {
      return this[RUN].send(nodeClient, args, options);
    },
    _executeMulti(this: { [RUN]: ExecuteRun }, commands: QueuedCommandLike[], selectedDB?: unknown): unknown {
      return this[RUN].executeBatch(nodeClient, '_executeMulti', true, commands, selectedDB);
    },
    _executePipeline(this: { [RUN]: ExecuteRun }, commands: QueuedCommandLike[], selectedDB?: unknown): unknown {
      return this[RUN].executeBatch(nodeClient, '_executePipeline', false, commands, selectedDB);
    },
  };
  for (const name of ['sendCommand', '_executeMulti', '_executePipeline'] as const) {
    Object.defineProperty(prototype, name, { value: methods[name], writable: true, configurable: true, enumerable: false });
  }
  VIEW_PROTOTYPES.set(nodeClient, prototype);
  return prototype;
}

/**
 * Stands in for a node client when a command failed before any attempt reached
 * one (no node for its slot, a closed cluster, a released lease, no replica to
 * read from): the command's own `fn` is run against it to learn what it would
 * have sent. It sends nothing and answers nothing.
 */
class CommandProbe {
  args: unknown[] | undefined;
  commands: QueuedCommandLike[] | undefined;
  inTransaction = false;

  sendCommand(args: unknown): void {
    if (Array.isArray(args)) this.args = args;
  }

  _executeCommand(_command: unknown, parser: unknown): void {
    const args = (parser as { redisArgs?: unknown } | null | undefined)?.redisArgs;
    if (Array.isArray(args)) this.args = args;
  }

  _executeMulti(commands: unknown): void {
    if (Array.isArray(commands)) this.commands = commands as QueuedCommandLike[];
    this.inTransaction = true;
  }

  _executePipeline(commands: unknown): void {
    if (Array.isArray(commands)) this.commands = commands as QueuedCommandLike[];
  }
}

/**
 * One command (or one sentinel batch) run by `_execute`, across its attempts
 * (a cluster's first send and one more per MOVED or ASK; a sentinel's retry on
 * READONLY after a failover): the span starts when `_execute` was called and
 * ends with what it answers the app. Versions and stream entries are read from
 * the raw reply of the last attempt, the one that answered. A command that
 * failed before any attempt still gets its span, failed with the app's error.
 */
class ExecuteRun {
  readonly #tracing: ExecuteTracing;
  readonly #ctx: Context;
  readonly #startMs: number;
  #decided = false;
  /** A single command: its trace, the app's argument array of the first send and what is sent for it (an XADD's copy with trace context). */
  #traced: TracedCommand | undefined;
  #args: unknown[] | undefined;
  #sent: unknown[] | undefined;
  #spanContext: Context | undefined;
  #reply: unknown;
  /** A batch (a sentinel's MULTI or pipeline): its traces, the app's queue and what is sent for it. */
  #batch: (TracedCommand | undefined)[] | undefined;
  #commands: QueuedCommandLike[] | undefined;
  #sentCommands: QueuedCommandLike[] | undefined;
  #replies: unknown;

  constructor(tracing: ExecuteTracing, ctx: Context) {
    this.#tracing = tracing;
    this.#ctx = ctx;
    this.#startMs = nowMs();
  }

  /** `nodeClient` as this attempt's `fn` sees it: the same client, its sending methods Baton's. */
  viewOf(nodeClient: object): object {
    if (nodeClient === null || typeof nodeClient !== 'object') return nodeClient;
    const view = Object.create(viewPrototypeOf(nodeClient)) as { [RUN]: ExecuteRun };
    view[RUN] = this;
    return view;
  }

  #learnNamespace(nodeClient: object): void {
    const inst = this.#tracing.inst;
    if (!this.#tracing.learnNamespace || inst.namespace !== undefined) return;
    const database = instanceOf(nodeClient).options?.database;
    inst.namespace = String(database ?? 0);
  }

  send(nodeClient: object, args: unknown[], options: unknown): unknown {
    const original = rawMethodOf(nodeClient, 'sendCommand')!;
    if (!this.#decided) {
      this.#decided = true;
      this.#start(original, args, nodeClient);
    }
    const traced = this.#traced;
    if (traced === undefined) return original.call(nodeClient, args, options);
    const sent = args === this.#args ? this.#sent! : args;
    const spanContext = this.#spanContext;
    const result = spanContext === undefined ? original.call(nodeClient, sent, options) : contextApi.with(spanContext, () => original.call(nodeClient, sent, options));
    if (isThenable(result)) {
      // The reply as the server sent it, before the command's transformer: the last attempt's is the one the app got.
      result.then((reply) => {
        this.#reply = reply;
      }, ignore);
    }
    return result;
  }

  #start(original: SendCommand, args: unknown[], nodeClient: object): void {
    const name = Array.isArray(args) ? args[0] : undefined;
    const spec = typeof name === 'string' ? REDIS_COMMANDS.get(name) : undefined;
    if (spec === undefined) return;
    const { inst, tracer } = this.#tracing;
    try {
      this.#learnNamespace(nodeClient);
      // XADD gets the trace context appended: to a copy, never to an array the app passed and may reuse.
      const sent = spec.kind === PUBLISH ? args.slice() : args;
      const driverSpan = inst.driverWritesClientSpan(() => isInstrumentationWrapped(original));
      const traced = tracer.start(spec, sent, 1, this.#ctx, driverSpan, false, this.#startMs);
      if (!traced) return;
      this.#args = args;
      this.#sent = sent;
      if (driverSpan) this.#spanContext = trace.setSpan(this.#ctx, traced.span);
      this.#traced = traced;
    } catch (error) {
      inst.fault(`redis ${spec.name}`, error, undefined);
    }
  }

  /** One attempt of a sentinel's MULTI or pipeline (`_executeMulti` / `_executePipeline` on the attempt's node client). */
  executeBatch(nodeClient: object, method: '_executeMulti' | '_executePipeline', inTransaction: boolean, commands: QueuedCommandLike[], selectedDB: unknown): unknown {
    const original = rawMethodOf(nodeClient, method)!;
    if (!this.#decided) {
      this.#decided = true;
      if (Array.isArray(commands)) {
        this.#learnNamespace(nodeClient);
        const proto = Object.getPrototypeOf(instanceOf(nodeClient)) as ClientPrototype | null;
        const { inst, tracer } = this.#tracing;
        const batch = startBatch(inst, tracer, commands, this.#ctx, () => isInstrumentationWrapped(proto?.sendCommand), inTransaction, `redis ${method}`, this.#startMs);
        if (batch) {
          this.#batch = batch.traced;
          this.#commands = commands;
          this.#sentCommands = batch.sent;
        }
      }
    }
    if (this.#batch === undefined) return original.call(nodeClient, commands, selectedDB);
    const result = original.call(nodeClient, commands === this.#commands ? this.#sentCommands : commands, selectedDB);
    if (isThenable(result)) {
      result.then((replies) => {
        this.#replies = replies;
      }, ignore);
    }
    return result;
  }

  /** Follows what `_execute` answered the app; `fn` is the command's own, to learn a command no attempt reached. */
  follow(result: unknown, fn: AttemptOn): void {
    if (isThenable(result)) {
      result.then(
        () => this.#end(true, undefined, fn),
        (error: unknown) => this.#end(false, error, fn),
      );
    }
  }

  #end(ok: boolean, error: unknown, fn: AttemptOn): void {
    const tracer = this.#tracing.tracer;
    const traced = this.#traced;
    if (traced !== undefined) {
      this.#traced = undefined;
      if (ok) tracer.finish(traced, this.#reply);
      else tracer.fail(traced, error);
      return;
    }
    const batch = this.#batch;
    if (batch !== undefined) {
      this.#batch = undefined;
      const replies = this.#replies;
      if (ok) tracer.settleBatch(batch, Array.isArray(replies) ? replies : undefined, new Error(NO_REPLIES));
      else tracer.settleBatch(batch, undefined, error);
      return;
    }
    if (!ok && !this.#decided) this.#recordUnsent(fn, error);
  }

  /**
   * A command that failed before any attempt: its span, started when `_execute`
   * was called and failed with the app's error. Its arguments come from running
   * its `fn` against a {@link CommandProbe}; an `fn` that calls anything else
   * (WATCH through a sentinel: `client.watch(key)`) is not state access.
   */
  #recordUnsent(fn: AttemptOn, error: unknown): void {
    const probe = new CommandProbe();
    try {
      const returned = fn(probe, undefined);
      if (isThenable(returned)) returned.then(undefined, ignore);
    } catch {
      return;
    }
    const { inst, tracer } = this.#tracing;
    try {
      // No driver span: nothing reached the driver, so Baton's span is the command's only one.
      const args = probe.args;
      if (args !== undefined) {
        const name = args[0];
        const spec = typeof name === 'string' ? REDIS_COMMANDS.get(name) : undefined;
        if (spec === undefined) return;
        // As in a transaction: nothing is appended to the app's arguments of an XADD that was never sent.
        const traced = tracer.start(spec, args, 1, this.#ctx, false, true, this.#startMs);
        if (traced) tracer.fail(traced, error);
        return;
      }
      const commands = probe.commands;
      if (commands !== undefined) {
        const batch = startBatch(inst, tracer, commands, this.#ctx, () => false, true, 'redis batch', this.#startMs);
        if (batch) tracer.settleBatch(batch.traced, undefined, error);
      }
    } catch (fault) {
      inst.fault('redis unsent command', fault, undefined);
    }
  }
}

/** Instruments a node-redis cluster instance in place (see the module header). */
function instrumentCluster(self: ClusterInternals, options: NodeRedisInstrumentationOptions): void {
  const proto = Object.getPrototypeOf(self) as { _execute: ClusterExecute };
  const slots = self._slots as { nodeClient: NodeClientOf };
  const slotsProto = Object.getPrototypeOf(slots) as { nodeClient: NodeClientOf };
  // A cluster has database 0 only.
  const inst = new StoreInstrumentation('redis', { ...options, namespace: options.namespace ?? '0' });
  const tracer = new RedisCommandTracer(inst, options);
  const tracing: ExecuteTracing = { inst, tracer, learnNamespace: false };

  /**
   * Instruments a node client the first time the slot table hands it out, as a
   * client of the cluster's own (its commands, MULTI and pipelines recorded to
   * the cluster's counts): the cluster's MULTI and pipelines run there, and so
   * do the commands an app sends on `cluster.nodeClient(node)`. The cluster's
   * own commands reach it through `_execute`, which sends past this wrapper.
   */
  const adoptNodeClient = (nodeClient: unknown): void => {
    if (nodeClient === null || typeof nodeClient !== 'object') return;
    const nodeSelf = instanceOf(nodeClient);
    if (nodeSelf[INSTRUMENTED]) return;
    const nodeProto = Object.getPrototypeOf(nodeSelf) as ClientPrototype | null;
    if (nodeProto === null || typeof nodeProto.sendCommand !== 'function') return;
    instrumentClient(nodeSelf, nodeProto, inst, tracer);
  };

  const nodeClient = function nodeClient(this: unknown, node: unknown): unknown {
    const result = slotsProto.nodeClient.apply(this, arguments as unknown as [unknown]);
    try {
      // Set (created, or connecting) by the time nodeClient returns.
      adoptNodeClient((node as { client?: unknown } | null)?.client);
    } catch (error) {
      inst.fault('redis nodeClient', error, undefined);
    }
    return result;
  };

  const execute = function _execute(this: unknown, firstKey: unknown, isReadonly: unknown, commandOptions: unknown, fn: AttemptOn): unknown {
    const original = proto._execute;
    // No key: not state access, not a stream (PING, INFO, CLUSTER …).
    if (firstKey === undefined || typeof fn !== 'function') return original.apply(this, arguments as unknown as [unknown, unknown, unknown, AttemptOn]);
    const ctx = contextApi.active();
    if (isSuppressed(ctx)) return original.apply(this, arguments as unknown as [unknown, unknown, unknown, AttemptOn]);
    const run = new ExecuteRun(tracing, ctx);
    const result = original.call(this, firstKey, isReadonly, commandOptions, (client, attemptOptions) => fn(run.viewOf(client), attemptOptions));
    run.follow(result, fn);
    return result;
  };

  /**
   * A cluster MULTI or pipeline finds its node itself (`getClientAndSlotNumber`, then the node client's
   * `_executeMulti` / `_executePipeline`, traced there). One that failed before reaching a node (no node
   * for its slot, a closed cluster, a node that did not connect) is traced here, its spans failed with the
   * app's error: the cluster's `Multi` class is extended on the instance to see the two functions
   * `MULTI()` gives each multi object.
   */
  const unsentTraced = (execute: ClusterBatchExecute, inTransaction: boolean): ClusterBatchExecute =>
    function executeBatch(this: unknown, firstKey: unknown, isReadonly: unknown, commands: QueuedCommandLike[]): unknown {
      const result = execute.apply(this, arguments as unknown as [unknown, unknown, QueuedCommandLike[]]);
      if (!isThenable(result) || !Array.isArray(commands)) return result;
      const ctx = contextApi.active();
      if (isSuppressed(ctx)) return result;
      const startMs = nowMs();
      result.then(undefined, (error: unknown) => {
        if (BATCHES_REACHED.has(commands)) return;
        const batch = startBatch(inst, tracer, commands, ctx, () => false, true, 'redis unsent batch', startMs);
        if (batch) tracer.settleBatch(batch.traced, undefined, error);
      });
      return result;
    };
  const Multi = (self as { Multi?: unknown }).Multi;
  if (typeof Multi === 'function') {
    const ClusterMulti = Multi as new (executeMulti: unknown, executePipeline: unknown, ...rest: unknown[]) => object;
    const TracedMulti = class extends ClusterMulti {
      constructor(executeMulti: unknown, executePipeline: unknown, ...rest: unknown[]) {
        super(
          typeof executeMulti === 'function' ? unsentTraced(executeMulti as ClusterBatchExecute, true) : executeMulti,
          typeof executePipeline === 'function' ? unsentTraced(executePipeline as ClusterBatchExecute, false) : executePipeline,
          ...rest,
        );
      }
    };
    Object.defineProperty(self, 'Multi', { value: TracedMulti, writable: true, configurable: true, enumerable: false });
  }

  Object.defineProperty(self, '_execute', { value: execute, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(slots, 'nodeClient', { value: nodeClient, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(self, INSTRUMENTED, { value: { inst } satisfies Instrumented, enumerable: false });
}

/**
 * Wraps `_execute(isReadonly, fn)` of a sentinel or of one of its leases: every
 * command, MULTI and pipeline of either runs there, `fn` getting the master's
 * (or a replica's) node client once per attempt. Keyless commands pass through
 * the run at the cost of one object: their first send says what they are.
 */
function instrumentExecutor(self: ExecutorInternals, tracing: ExecuteTracing): void {
  const proto = Object.getPrototypeOf(self) as { _execute: SentinelExecute };
  const execute = function _execute(this: unknown, isReadonly: unknown, fn: AttemptOn): unknown {
    const original = proto._execute;
    if (typeof fn !== 'function') return original.apply(this, arguments as unknown as [unknown, AttemptOn]);
    const ctx = contextApi.active();
    if (isSuppressed(ctx)) return original.apply(this, arguments as unknown as [unknown, AttemptOn]);
    const run = new ExecuteRun(tracing, ctx);
    const result = original.call(this, isReadonly, (client) => fn(run.viewOf(client)));
    run.follow(result, fn);
    return result;
  };
  Object.defineProperty(self, '_execute', { value: execute, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(self, INSTRUMENTED, { value: { inst: tracing.inst } satisfies Instrumented, enumerable: false });
}

/**
 * Instruments a node-redis sentinel in place: its `_execute`, and each client
 * lease it hands out (`use(fn)`'s argument, `acquire()`'s result), recorded to
 * the sentinel's counts. The sentinel's node clients are its own (replaced on
 * a failover), reached only through `_execute`.
 */
function instrumentSentinel(self: SentinelInternals, options: NodeRedisInstrumentationOptions): void {
  const proto = Object.getPrototypeOf(self) as { use: (this: unknown, fn: unknown) => unknown; acquire: (this: unknown) => unknown };
  const inst = new StoreInstrumentation('redis', options);
  const tracing: ExecuteTracing = { inst, tracer: new RedisCommandTracer(inst, options), learnNamespace: options.namespace === undefined };

  const adoptLease = (lease: unknown): void => {
    try {
      if (lease === null || typeof lease !== 'object') return;
      const leaseSelf = instanceOf(lease) as ExecutorInternals;
      if (!leaseSelf[INSTRUMENTED] && isSentinelLease(leaseSelf)) instrumentExecutor(leaseSelf, tracing);
    } catch (error) {
      inst.fault('redis sentinel lease', error, undefined);
    }
  };

  const use = handingOut(proto.use, adoptLease);

  const acquire = function acquire(this: unknown): unknown {
    const result = proto.acquire.apply(this, arguments as unknown as []);
    if (!isThenable(result)) return result;
    return result.then((lease) => {
      adoptLease(lease);
      return lease;
    });
  };

  Object.defineProperty(self, 'use', { value: use, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(self, 'acquire', { value: acquire, writable: true, configurable: true, enumerable: false });
  instrumentExecutor(self, tracing);
}
