/**
 * What the Redis and PostgreSQL adapters share: the per-call facts of a state
 * access (`withStateAccess`), the span each access becomes (docs/conventions.md,
 * state.read / state.write / event.publish), how Baton's span sits beside a
 * driver instrumentation's CLIENT span, and fault counting.
 *
 * Placement beside contrib instrumentations (@opentelemetry/instrumentation-ioredis,
 * -pg): one command must never have two CLIENT spans. When the driver method is
 * wrapped by an OTel instrumentation (shimmer's `__wrapped` marker, which every
 * contrib instrumentation leaves on the method it patched), the driver writes the
 * CLIENT span and Baton's span is INTERNAL around it, its parent; otherwise Baton's
 * span is the CLIENT span. Checked per command (one property read), so an
 * instrumentation enabled or disabled later is followed.
 *
 * Nothing here throws into the host: a fault inside instrumentation is counted,
 * reported once per operation through `diag`, and the host's command runs as if
 * uninstrumented.
 */
import {
  context as contextApi,
  createContextKey,
  diag,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import {
  BATON_CONVENTIONS_VERSION,
  BATON_EPOCH,
  BATON_FAULT_COUNT,
  BATON_OPERATION,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_FOUND,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TASK_ID,
  BatonOperation,
  CONVENTIONS_VERSION,
  DB_NAMESPACE,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  INSTRUMENTATION_SCOPE,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
} from '../model/attributes.js';
import type { TraceContextCarrier } from '../model/envelope.js';
import type { StateWriteOptions } from '../sdk/state-store.js';
import type { StateAccess } from '../sdk/options.js';
import { BatonError } from '../model/errors.js';
import { nowMs } from '../sdk/clock.js';
import { stateSpanAttributes, type StateSpanFacts } from '../sdk/state-access.js';
import { extractSpanContext, injectTraceContext, type PropagationMode } from '../sdk/trace-context.js';

/**
 * Facts about the state accesses made inside {@link withStateAccess}: the ones a
 * command cannot say itself (who writes, in which attempt, as which logical
 * operation). Each is recorded on every state span started inside.
 */
export type StateAccessFacts = Omit<StateAccess, 'key' | 'system' | 'collection'>;

/**
 * How Baton's span relates to a driver instrumentation's span. `auto` (default)
 * looks for an OTel instrumentation's wrapper on the driver method per command;
 * `present` / `absent` state it.
 */
/** Per-call facts of a pattern-store write (RedisStateStore, PgStateStore), besides the versioning options. */
export interface PatternWriteOptions extends StateWriteOptions {
  readonly agent?: string;
  readonly taskId?: string;
  readonly attempt?: number;
  readonly step?: string;
  /** The completion event, committed with the write (each store says how). */
  readonly event?: { readonly topic: string; readonly id?: string; readonly payload?: unknown };
}

/** What a pattern-store write tells its span. */
export function writeFactsOf(options: PatternWriteOptions): StateAccessFacts {
  return {
    agent: options.agent,
    taskId: options.taskId,
    epoch: options.epoch,
    attempt: options.attempt,
    idempotencyKey: options.idempotencyKey,
    step: options.step,
    expectedVersion: options.expectedVersion,
    announces: options.event?.topic,
  };
}

export type DriverInstrumentation = 'auto' | 'present' | 'absent';

/** Options every adapter takes. */
export interface StoreInstrumentationOptions {
  /** Default: `trace.getTracer('baton')` from the host's global provider, looked up per call. */
  readonly tracer?: Tracer;
  /** How trace context is written into messages; match the Baton instance's `propagation`. Default `'w3c'`. */
  readonly propagation?: PropagationMode;
  /** Default `'auto'`. */
  readonly driverInstrumentation?: DriverInstrumentation;
  /** `db.namespace` (the Redis database index, the PostgreSQL database); keys are compared within one. */
  readonly namespace?: string;
}

/** Counts of one adapter since it was made. */
export interface StoreInstrumentationStats {
  /** State reads and writes traced. */
  stateSpans: number;
  /** Publish, receive and settle spans. */
  messagingSpans: number;
  /** Faults inside instrumentation, counted instead of thrown. */
  faults: number;
}

const ACCESS_KEY = createContextKey('baton.stores.state-access');
const SUPPRESS_KEY = createContextKey('baton.stores.suppress');

/**
 * Runs `fn` with `facts` recorded on every state access inside it (nested calls
 * add to and override the outer facts). Returns what `fn` returns.
 *
 * ```ts
 * await withStateAccess({ agent: 'research', attempt: 2, idempotencyKey: 't-1:research' }, () =>
 *   redis.hset('task:t-1', { version: 3, summary }),
 * );
 * ```
 */
export function withStateAccess<T>(facts: StateAccessFacts, fn: () => T): T {
  const active = contextApi.active();
  const outer = active.getValue(ACCESS_KEY) as StateAccessFacts | undefined;
  const merged = outer ? mergeFacts(outer, facts) : facts;
  return contextApi.with(active.setValue(ACCESS_KEY, merged), fn);
}

/** Inner facts win; written out rather than spread so an explicit `undefined` never erases an outer fact. */
function mergeFacts(outer: StateAccessFacts, inner: StateAccessFacts): StateAccessFacts {
  return {
    agent: inner.agent ?? outer.agent,
    taskId: inner.taskId ?? outer.taskId,
    epoch: inner.epoch ?? outer.epoch,
    attempt: inner.attempt ?? outer.attempt,
    idempotencyKey: inner.idempotencyKey ?? outer.idempotencyKey,
    step: inner.step ?? outer.step,
    expectedVersion: inner.expectedVersion ?? outer.expectedVersion,
    announces: inner.announces ?? outer.announces,
  };
}

/** Runs `fn` with the adapters' command tracing off: the pattern stores trace their own commands as one access. */
export function untraced<T>(fn: () => T): T {
  return contextApi.with(contextApi.active().setValue(SUPPRESS_KEY, true), fn);
}

/** True inside {@link untraced}. */
export function isSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_KEY) === true;
}

/** The facts of the access in `ctx`: withStateAccess, else the active span's task, agent and epoch. */
export function accessFactsOf(ctx: Context): StateAccessFacts | undefined {
  return ctx.getValue(ACCESS_KEY) as StateAccessFacts | undefined;
}

/**
 * The task, agent and epoch of the active handoff: a receive span carries the
 * envelope's task id, epoch and receiving agent; an agent run its name and
 * `taskId`. Read from the span's attributes where the tracer's spans expose them
 * (the OTel SDK's do); an API-only span has none, and nothing is read.
 */
function activeSpanFacts(ctx: Context): Attributes | undefined {
  const span = trace.getSpan(ctx) as (Span & { attributes?: Attributes }) | undefined;
  const attributes = span?.attributes;
  return attributes !== null && typeof attributes === 'object' ? attributes : undefined;
}

export { isClientObject } from '../sdk/fault-policy.js';

/** True when `fn` carries the wrapper marker (shimmer's) of an OpenTelemetry instrumentation. */
export function isInstrumentationWrapped(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as { __wrapped?: unknown }).__wrapped === true;
}

/** The facts a finished state access reports. */
export interface StateOutcome {
  readonly version?: number;
  readonly epoch?: number;
  readonly found?: boolean;
  readonly deduplicated?: boolean;
  readonly expectedVersion?: number;
}

type MutableAttributes = Record<string, string | number | boolean | string[]>;

function errorTypeOf(error: unknown): string {
  if (error instanceof BatonError) return error.code;
  if (error instanceof Error) {
    // A code the driver or server gave says most: PostgreSQL's statement_timeout (57014) cancelled and
    // rolled the statement back, which is not the `timeout` of a reply that never came (it may have committed).
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code === 'ETIMEDOUT' ? 'timeout' : code;
    // ioredis and pg report lost replies as plain Errors; the semantic conventions name them `timeout`.
    if (/timed? ?out/i.test(error.message)) return 'timeout';
    // node-redis' error classes (WatchError, ClientOfflineError, …) keep the name `Error`: the class says which.
    if (error.name === 'Error' || !error.name) return error.constructor?.name || 'Error';
    return error.name;
  }
  return typeof error;
}

/**
 * One adapter's span factory: names the store, resolves per-call facts, decides
 * the span kind beside a driver instrumentation, and counts faults.
 */
export class StoreInstrumentation {
  readonly #tracer: Tracer | undefined;
  readonly #driver: DriverInstrumentation;
  readonly system: string;
  /** Writable: a node-redis sentinel's database is learned from its first node client (it keeps its options private). */
  namespace: string | undefined;
  readonly propagation: PropagationMode;
  readonly #warned = new Set<string>();
  /** Spans whose epoch the accessor stated (the epoch it acts in): the store's stored epoch must not replace it. */
  readonly #actingEpoch = new WeakSet<Span>();
  readonly #stats: StoreInstrumentationStats = { stateSpans: 0, messagingSpans: 0, faults: 0 };

  constructor(system: string, options: StoreInstrumentationOptions = {}) {
    this.system = system;
    this.#tracer = options.tracer;
    this.#driver = options.driverInstrumentation ?? 'auto';
    this.namespace = options.namespace;
    this.propagation = options.propagation ?? 'w3c';
  }

  stats(): StoreInstrumentationStats {
    return { stateSpans: this.#stats.stateSpans, messagingSpans: this.#stats.messagingSpans, faults: this.#stats.faults };
  }

  get tracer(): Tracer {
    return this.#tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE);
  }

  /** Whether a driver instrumentation will write the CLIENT span; `wrapped` is its per-command check. */
  driverWritesClientSpan(wrapped: () => boolean): boolean {
    if (this.#driver === 'auto') return wrapped();
    return this.#driver === 'present';
  }

  /**
   * Starts a state.read / state.write span, or returns undefined after counting a fault.
   * `collection` names the span (`read pipeline_state`); without one, the key does.
   * `startMs`: when the access began, if before now (a command already sent).
   */
  startState(
    operation: 'read' | 'write',
    key: string,
    collection: string | undefined,
    driverSpan: boolean,
    ctx: Context,
    given?: StateAccessFacts,
    startMs?: number,
  ): Span | undefined {
    try {
      const isWrite = operation === 'write';
      const inContext = ctx.getValue(ACCESS_KEY) as StateAccessFacts | undefined;
      const stated = given ? (inContext ? mergeFacts(inContext, given) : given) : inContext;
      // Who and when: stated facts first, else the active handoff's span (a receive, an agent run).
      const spanFacts = activeSpanFacts(ctx);
      let epoch: number | undefined;
      let facts: StateSpanFacts | undefined;
      // Neither (a command outside any agent's work): no facts object is made for a span that gets none.
      if (stated !== undefined || spanFacts !== undefined) {
        epoch = stated?.epoch ?? numberAttr(spanFacts, BATON_EPOCH);
        facts = {
          agent: stated?.agent ?? stringAttr(spanFacts, GEN_AI_AGENT_NAME),
          taskId: stated?.taskId ?? stringAttr(spanFacts, BATON_TASK_ID),
          epoch,
          attempt: stated?.attempt,
          idempotencyKey: stated?.idempotencyKey,
          step: stated?.step,
          expectedVersion: stated?.expectedVersion,
          announces: stated?.announces,
        };
      }
      const attrs = stateSpanAttributes(isWrite, key, this.system, collection, facts);
      if (this.namespace !== undefined) attrs[DB_NAMESPACE] = this.namespace;
      this.#stats.stateSpans++;
      const span = this.tracer.startSpan(
        `${operation} ${collection ?? key}`,
        { kind: driverSpan ? SpanKind.INTERNAL : SpanKind.CLIENT, attributes: attrs, startTime: startMs ?? nowMs() },
        ctx,
      );
      if (epoch !== undefined) this.#actingEpoch.add(span);
      return span;
    } catch (error) {
      this.fault(`state.${operation}`, error, undefined);
      return undefined;
    }
  }

  /** Records what a state access returned and ends its span. Never throws. */
  endState(span: Span, operation: 'read' | 'write', outcome: StateOutcome | undefined): void {
    try {
      if (outcome) {
        if (outcome.version !== undefined) {
          span.setAttribute(operation === 'write' ? BATON_STATE_VERSION_WRITTEN : BATON_STATE_VERSION_READ, outcome.version);
        }
        // As in the SDK's traceStateRead/Write: the epoch the agent acts in wins over the one stored,
        // so a reader of an older epoch reading a newer entry is what stale-epoch-read sees.
        if (outcome.epoch !== undefined && !this.#actingEpoch.has(span)) span.setAttribute(BATON_EPOCH, outcome.epoch);
        if (operation === 'read' && outcome.found !== undefined) span.setAttribute(BATON_STATE_FOUND, outcome.found);
        if (operation === 'write' && outcome.deduplicated !== undefined) span.setAttribute(BATON_STATE_DEDUPLICATED, outcome.deduplicated);
        if (outcome.expectedVersion !== undefined) span.setAttribute(BATON_STATE_VERSION_EXPECTED, outcome.expectedVersion);
      }
      span.end(nowMs());
    } catch (error) {
      this.fault(`state.${operation}`, error, span);
    }
  }

  /** Records the host's error on a span (status, error.type, exception) and ends it. Never throws. */
  endFailed(span: Span, error: unknown): void {
    try {
      span.setAttribute(ERROR_TYPE, errorTypeOf(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      if (error instanceof Error) span.recordException(error, nowMs());
      span.end(nowMs());
    } catch (fault) {
      this.fault('end', fault, undefined);
    }
  }

  /**
   * Starts a messaging span (docs/conventions.md: event.publish / event.consume;
   * a settle span carries no `baton.operation`: it is timing, not a handoff part).
   */
  startMessaging(
    kind: 'publish' | 'receive' | 'settle',
    destination: string,
    ctx: Context,
    links: Link[] | undefined,
    extra?: MutableAttributes,
    options: { driverSpan?: boolean; startMs?: number } = {},
  ): Span | undefined {
    try {
      const attrs: MutableAttributes = {
        [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
        [MESSAGING_SYSTEM]: this.system,
        [MESSAGING_DESTINATION_NAME]: destination,
      };
      let name: string;
      let spanKind: SpanKind;
      if (kind === 'publish') {
        attrs[BATON_OPERATION] = BatonOperation.EventPublish;
        attrs[MESSAGING_OPERATION_TYPE] = 'send';
        attrs[MESSAGING_OPERATION_NAME] = 'publish';
        name = `publish ${destination}`;
        spanKind = SpanKind.PRODUCER;
      } else if (kind === 'receive') {
        attrs[BATON_OPERATION] = BatonOperation.EventConsume;
        attrs[MESSAGING_OPERATION_TYPE] = 'receive';
        attrs[MESSAGING_OPERATION_NAME] = 'receive';
        name = `receive ${destination}`;
        spanKind = SpanKind.CONSUMER;
      } else {
        attrs[MESSAGING_OPERATION_TYPE] = 'settle';
        attrs[MESSAGING_OPERATION_NAME] = 'ack';
        name = `ack ${destination}`;
        spanKind = options.driverSpan ? SpanKind.INTERNAL : SpanKind.CLIENT;
      }
      const facts = ctx.getValue(ACCESS_KEY) as StateAccessFacts | undefined;
      const spanFacts = activeSpanFacts(ctx);
      const agent = facts?.agent ?? stringAttr(spanFacts, GEN_AI_AGENT_NAME);
      const taskId = facts?.taskId ?? stringAttr(spanFacts, BATON_TASK_ID);
      if (agent !== undefined) attrs[GEN_AI_AGENT_NAME] = agent;
      if (taskId !== undefined) attrs[BATON_TASK_ID] = taskId;
      if (extra) {
        for (const name of Object.keys(extra)) attrs[name] = extra[name]!;
      }
      this.#stats.messagingSpans++;
      return this.tracer.startSpan(name, { kind: spanKind, attributes: attrs, links, startTime: options.startMs ?? nowMs() }, ctx);
    } catch (error) {
      this.fault(`messaging.${kind}`, error, undefined);
      return undefined;
    }
  }

  /** Ends a messaging span, recording the message id when the reply gave one. Never throws. */
  endMessaging(span: Span, messageId: string | undefined): void {
    try {
      if (messageId !== undefined) span.setAttribute(MESSAGING_MESSAGE_ID, messageId);
      span.end(nowMs());
    } catch (error) {
      this.fault('messaging.end', error, span);
    }
  }

  /** W3C trace context of `span` for a message, or undefined. */
  carrierOf(span: Span, ctx: Context): TraceContextCarrier | undefined {
    try {
      return injectTraceContext(trace.setSpan(ctx, span), this.propagation);
    } catch (error) {
      this.fault('inject', error, span);
      return undefined;
    }
  }

  /** A link to the producer whose context `carrier` holds, or undefined. */
  linkFrom(carrier: unknown): Link | undefined {
    try {
      const remote = extractSpanContext(carrier, this.propagation);
      return remote ? { context: remote } : undefined;
    } catch (error) {
      this.fault('extract', error, undefined);
      return undefined;
    }
  }

  /** Counts an instrumentation fault and reports it through diag once per operation. Never throws. */
  fault(operation: string, error: unknown, span: Span | undefined): void {
    this.#stats.faults++;
    try {
      span?.setAttribute(BATON_FAULT_COUNT, 1);
      span?.setAttribute(ERROR_TYPE, errorTypeOf(error));
      if (!this.#warned.has(operation)) {
        this.#warned.add(operation);
        diag.warn(
          `baton: ${this.system} instrumentation fault in ${operation} (counted; later ones of this kind are only counted): ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
      }
    } catch {
      // A broken span or diag logger must not turn a counted fault into a thrown one.
    }
  }
}

function stringAttr(attrs: Attributes | undefined, name: string): string | undefined {
  const value = attrs?.[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function numberAttr(attrs: Attributes | undefined, name: string): number | undefined {
  const value = attrs?.[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Now on the SDK's clock (epoch ms with a sub-millisecond part). */
export { nowMs };

/** An integer from a stored field (`"3"`, `3`), or undefined. */
export function toVersion(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
  if (value instanceof Uint8Array) return toVersion(Buffer.from(value).toString('latin1'));
  return undefined;
}

/** Runs a state access: the span, `fn` inside it, and the outcome read from its result. Errors of `fn` are rethrown. */
export async function traceAccess<T>(
  inst: StoreInstrumentation,
  operation: 'read' | 'write',
  key: string,
  collection: string | undefined,
  driverSpan: boolean,
  facts: StateAccessFacts | undefined,
  fn: (span: Span | undefined) => Promise<T>,
  outcomeOf: (result: T) => StateOutcome | undefined,
): Promise<T> {
  const ctx = contextApi.active();
  const span = inst.startState(operation, key, collection, driverSpan, ctx, facts);
  if (!span) return fn(undefined);
  let result: T;
  try {
    result = await contextApi.with(trace.setSpan(ctx, span), () => fn(span));
  } catch (error) {
    inst.endFailed(span, error);
    throw error;
  }
  let outcome: StateOutcome | undefined;
  try {
    outcome = outcomeOf(result);
  } catch (error) {
    inst.fault(`state.${operation}`, error, span);
  }
  inst.endState(span, operation, outcome);
  return result;
}
