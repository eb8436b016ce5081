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
 * Baton's, so a command's span starts at its first send, records the reply of
 * each attempt and ends when `_execute` answers the app: one span per command,
 * whatever the redirections. A command without a key (PING, INFO) skips all of
 * it. Cluster transactions and pipelines run on one node client
 * (`_executeMulti` / `_executePipeline`, not retried by node-redis on a
 * redirection: the app gets the error); the cluster's slot table hands each
 * node client out through `ClusterSlots#nodeClient`, wrapped to instrument those
 * two methods of each node client the first time it is handed out.
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
 * one span per command whatever MOVED/ASK redirections it went through, and
 * its MULTI / pipelines traced on the node that runs them.
 *
 * ```ts
 * const client = instrumentNodeRedis(await createClient({ url }).connect(), { keys: 'task:' });
 * await withStateAccess({ agent: 'research', attempt: 1 }, () => client.hSet('task:t-1', { version: 2, summary }));
 * ```
 */
export function instrumentNodeRedis<C extends object>(client: C, options: NodeRedisInstrumentationOptions = {}): C {
  if (!isClientObject('instrumentNodeRedis', 'a node-redis client or cluster', client)) return client;
  const self = instanceOf(client);
  if (self[INSTRUMENTED]) return client;
  if (isClusterInstance(self)) {
    instrumentCluster(self as ClusterInternals, options);
    return client;
  }
  const proto = Object.getPrototypeOf(self) as { sendCommand?: SendCommand; _executeMulti?: ExecuteBatch; _executePipeline?: ExecuteBatch } | null;
  if (proto === null || typeof proto.sendCommand !== 'function') {
    diag.warn('baton: instrumentNodeRedis was given an object without sendCommand (not a node-redis v5 client); left uninstrumented');
    return client;
  }
  const inst = new StoreInstrumentation('redis', { ...options, namespace: options.namespace ?? String(self.options?.database ?? 0) });
  const tracer = new RedisCommandTracer(inst, options);
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
    let driverSpan = false;
    try {
      driverSpan = inst.driverWritesClientSpan(isWrapped);
      traced = tracer.start(spec, sent, 1, ctx, driverSpan, false);
    } catch (error) {
      inst.fault(`redis ${spec.name}`, error, undefined);
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
  return client;
}

/**
 * Wraps the batch methods of a client instance (`_executeMulti`, what
 * `multi().exec()` calls; `_executePipeline`, what `execAsPipeline()` calls):
 * spans for their state and Streams commands, each settled with its own reply.
 */
function instrumentBatches(
  self: ClientInternals,
  proto: { _executeMulti?: ExecuteBatch; _executePipeline?: ExecuteBatch },
  inst: StoreInstrumentation,
  tracer: RedisCommandTracer,
  isWrapped: () => boolean,
): void {
  const batchOf = (method: '_executeMulti' | '_executePipeline', inTransaction: boolean) =>
    function executeBatch(this: unknown, commands: QueuedCommandLike[]): unknown {
      const original = proto[method]!;
      if (!Array.isArray(commands)) return original.apply(this, arguments as unknown as [QueuedCommandLike[]]);
      const ctx = contextApi.active();
      if (isSuppressed(ctx)) return original.apply(this, arguments as unknown as [QueuedCommandLike[]]);
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
          const one = tracer.start(spec, commandArgs, 1, ctx, driverSpan, inTransaction);
          if (one) (traced ??= new Array<TracedCommand | undefined>(commands.length))[i] = one;
        }
      } catch (error) {
        inst.fault(`redis ${method}`, error, undefined);
      }
      if (!traced) return original.apply(this, arguments as unknown as [QueuedCommandLike[]]);
      const batch = traced;
      const result = original.call(this, sent, arguments[1] as number | undefined);
      if (isThenable(result)) {
        result.then(
          (replies) => tracer.settleBatch(batch, Array.isArray(replies) ? replies : undefined, new Error('the batch answered no replies')),
          // A transaction WATCH aborted (WatchError), an EXECABORT, or a pipeline with a failed command: node-redis
          // rejects the whole batch, and no command's own reply is known.
          (error: unknown) => tracer.settleBatch(batch, undefined, error),
        );
      }
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
// Clusters (createCluster).

/** `fn` of RedisCluster#_execute: runs one attempt of a command on a node client. */
type AttemptOn = (nodeClient: object, options: unknown) => unknown;
type Execute = (this: unknown, firstKey: unknown, isReadonly: unknown, options: unknown, fn: AttemptOn) => unknown;
type NodeClientOf = (this: unknown, node: unknown) => unknown;

/** What of a node-redis cluster instance the instrumentation reads and wraps. */
interface ClusterInternals {
  _execute?: unknown;
  readonly _slots?: { nodeClient?: unknown };
  [INSTRUMENTED]?: Instrumented;
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

function ignore(): void {}

/**
 * One command on a cluster, across its attempts (the first send, and one more
 * per MOVED or ASK): the span starts at the first send and ends with what
 * `_execute` answers the app. Versions and stream entries are read from the
 * raw reply of the last attempt, the one that answered.
 */
class ClusterCommandRun {
  readonly #tracer: RedisCommandTracer;
  readonly #inst: StoreInstrumentation;
  readonly #ctx: Context;
  /** The app's argument array of the first send, and what is sent for it (an XADD's copy with trace context). */
  #args: unknown[] | undefined;
  #sent: unknown[] | undefined;
  #spanContext: Context | undefined;
  #decided = false;
  traced: TracedCommand | undefined;
  #reply: unknown;

  constructor(tracer: RedisCommandTracer, inst: StoreInstrumentation, ctx: Context) {
    this.#tracer = tracer;
    this.#inst = inst;
    this.#ctx = ctx;
  }

  /** `nodeClient` as this attempt's `fn` sees it: the same client, its `sendCommand` Baton's. */
  viewOf(nodeClient: object): object {
    if (nodeClient === null || typeof nodeClient !== 'object') return nodeClient;
    const view = Object.create(nodeClient) as object;
    const run = this;
    Object.defineProperty(view, 'sendCommand', {
      value: function sendCommand(args: unknown[], options?: unknown): unknown {
        return run.send(nodeClient as { sendCommand: SendCommand }, args, options);
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });
    return view;
  }

  send(nodeClient: { sendCommand: SendCommand }, args: unknown[], options: unknown): unknown {
    const original = nodeClient.sendCommand;
    if (!this.#decided) {
      this.#decided = true;
      this.#start(original, args);
    }
    const traced = this.traced;
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

  #start(original: SendCommand, args: unknown[]): void {
    const name = Array.isArray(args) ? args[0] : undefined;
    const spec = typeof name === 'string' ? REDIS_COMMANDS.get(name) : undefined;
    if (spec === undefined) return;
    try {
      // XADD gets the trace context appended: to a copy, never to an array the app passed and may reuse.
      const sent = spec.kind === PUBLISH ? args.slice() : args;
      const driverSpan = this.#inst.driverWritesClientSpan(() => isInstrumentationWrapped(original));
      const traced = this.#tracer.start(spec, sent, 1, this.#ctx, driverSpan, false);
      if (!traced) return;
      this.#args = args;
      this.#sent = sent;
      if (driverSpan) this.#spanContext = trace.setSpan(this.#ctx, traced.span);
      this.traced = traced;
    } catch (error) {
      this.#inst.fault(`redis ${spec.name}`, error, undefined);
    }
  }

  /** Ends the span with `_execute`'s outcome: the app's reply (read from the last raw reply) or its error. */
  end(ok: boolean, error: unknown): void {
    const traced = this.traced;
    if (traced === undefined) return;
    this.traced = undefined;
    if (ok) this.#tracer.finish(traced, this.#reply);
    else this.#tracer.fail(traced, error);
  }
}

/** Instruments a node-redis cluster instance in place (see the module header). */
function instrumentCluster(self: ClusterInternals, options: NodeRedisInstrumentationOptions): void {
  const proto = Object.getPrototypeOf(self) as { _execute: Execute };
  const slots = self._slots as { nodeClient: NodeClientOf };
  const slotsProto = Object.getPrototypeOf(slots) as { nodeClient: NodeClientOf };
  // A cluster has database 0 only.
  const inst = new StoreInstrumentation('redis', { ...options, namespace: options.namespace ?? '0' });
  const tracer = new RedisCommandTracer(inst, options);
  const nodeClients = new WeakSet<object>();

  /** Instruments the batch methods of a node client once: the cluster's MULTI and pipelines run there. */
  const adoptNodeClient = (nodeClient: unknown): void => {
    if (nodeClient === null || typeof nodeClient !== 'object' || nodeClients.has(nodeClient)) return;
    nodeClients.add(nodeClient);
    const nodeSelf = instanceOf(nodeClient);
    const nodeProto = Object.getPrototypeOf(nodeSelf) as { sendCommand?: SendCommand; _executeMulti?: ExecuteBatch; _executePipeline?: ExecuteBatch } | null;
    if (nodeProto === null || nodeSelf[INSTRUMENTED]) return;
    instrumentBatches(nodeSelf, nodeProto, inst, tracer, () => isInstrumentationWrapped(nodeProto.sendCommand));
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
    const run = new ClusterCommandRun(tracer, inst, ctx);
    const result = original.call(this, firstKey, isReadonly, commandOptions, (client, attemptOptions) => fn(run.viewOf(client), attemptOptions));
    if (isThenable(result)) {
      result.then(
        () => run.end(true, undefined),
        (error: unknown) => run.end(false, error),
      );
    }
    return result;
  };

  Object.defineProperty(self, '_execute', { value: execute, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(slots, 'nodeClient', { value: nodeClient, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(self, INSTRUMENTED, { value: { inst } satisfies Instrumented, enumerable: false });
}
