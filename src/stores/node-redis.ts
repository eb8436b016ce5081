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
import { context as contextApi, diag, trace } from '@opentelemetry/api';
import {
  isInstrumentationWrapped,
  isSuppressed,
  StoreInstrumentation,
  untraced,
  withStateAccess,
  type StateAccessFacts,
  type StoreInstrumentationOptions,
  type StoreInstrumentationStats,
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
 * `diag` warning.
 *
 * ```ts
 * const client = instrumentNodeRedis(await createClient({ url }).connect(), { keys: 'task:' });
 * await withStateAccess({ agent: 'research', attempt: 1 }, () => client.hSet('task:t-1', { version: 2, summary }));
 * ```
 */
export function instrumentNodeRedis<C extends object>(client: C, options: NodeRedisInstrumentationOptions = {}): C {
  const self = instanceOf(client);
  if (self[INSTRUMENTED]) return client;
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

  /** Wraps a batch method: spans for its state and Streams commands, each settled with its own reply. */
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

  Object.defineProperty(self, 'sendCommand', { value: sendCommand, writable: true, configurable: true, enumerable: false });
  if (typeof proto._executeMulti === 'function') {
    Object.defineProperty(self, '_executeMulti', { value: batchOf('_executeMulti', true), writable: true, configurable: true, enumerable: false });
  }
  if (typeof proto._executePipeline === 'function') {
    Object.defineProperty(self, '_executePipeline', { value: batchOf('_executePipeline', false), writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(self, INSTRUMENTED, { value: { inst } satisfies Instrumented, enumerable: false });
  return client;
}
