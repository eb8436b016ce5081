/**
 * Baton's instrumentation SDK: wraps the two sides of a handoff, agent runs,
 * state-store access and event publish/consume in OpenTelemetry spans that follow
 * docs/conventions.md, validates envelopes at send and at receive, and carries
 * trace context inside the envelope so both sides link up across processes.
 *
 * It uses whatever tracer and meter provider the host registered (or the ones
 * passed in) and never registers one itself. In warn mode (the default) nothing
 * here throws into the host: invalid envelopes and instrumentation faults are
 * recorded on spans, counted and reported through `diag`. Strict mode throws.
 *
 * This class is a thin facade over the five concerns, one file each:
 * handoffs.ts (send, receive, ack), agent-runs.ts, state-access.ts, events.ts
 * and fault-policy.ts; runtime.ts holds what they share.
 */
import { BatonOperation } from '../model/attributes.js';
import type { EventMessage, HandoffBlock } from '../model/envelope.js';
import type { SchemaRegistry } from '../schemas/validators.js';
import { runAgent } from './agent-runs.js';
import { consumeEvent, publishEvent } from './events.js';
import { receiveHandoff, sendHandoff } from './handoffs.js';
import type {
  AgentRun,
  BatonMode,
  BatonOptions,
  BatonStats,
  ConsumeOptions,
  PublishEvent,
  ReceivedHandoff,
  ReceiveOptions,
  RunAgentOptions,
  SendOptions,
  StateAccess,
} from './options.js';
import { resolveRuntime, type SdkRuntime } from './runtime.js';
import { traceState } from './state-access.js';

export type {
  AgentRun,
  BatonMode,
  BatonOptions,
  BatonStats,
  ConsumeOptions,
  PublishEvent,
  ReceivedHandoff,
  ReceiveOptions,
  ReceiveParenting,
  RunAgentOptions,
  SendOptions,
  StateAccess,
  StateResultFacts,
  ValidationSampling,
} from './options.js';

/**
 * The instrumentation entry point. Make one per process (or per agent) and use it
 * at every handoff:
 *
 * ```ts
 * const baton = new Baton();
 * const envelope = baton.send(draft, { timeoutBudgetMs: 30_000 });   // in the sender
 * const rx = baton.receive(JSON.parse(body));                       // in the receiver
 * await rx.run(() => analyst.work(rx.envelope));
 * ```
 */
export class Baton {
  readonly mode: BatonMode;
  readonly schemas: SchemaRegistry;
  readonly #rt: SdkRuntime;

  /**
   * Never throws in warn mode: an option that cannot be read or makes no sense
   * falls back to its default, a meter that cannot create an instrument is
   * replaced by a no-op one; both are faults (counted, reported once through
   * diag). In strict mode the first such fault is thrown as a BatonError.
   */
  constructor(options: BatonOptions = {}) {
    this.#rt = resolveRuntime(options);
    this.mode = this.#rt.mode;
    this.schemas = this.#rt.schemas;
  }

  /** Counts since construction; a copy. */
  stats(): BatonStats {
    const stats = this.#rt.policy.stats;
    return {
      handoffsSent: stats.handoffsSent,
      handoffsReceived: stats.handoffsReceived,
      validationFailures: stats.validationFailures,
      ackTimeouts: stats.ackTimeouts,
      faults: stats.faults,
    };
  }

  /**
   * Sends a handoff: opens a `handoff send <target>` span, fills in the envelope's
   * handoff block (id, attempt, schema version, budget, W3C trace context), validates
   * the finished envelope and records the outcome. Returns a new envelope; the input
   * is not modified. In warn mode an invalid envelope is still returned.
   */
  send<E extends object>(envelope: E, options?: SendOptions): E & { handoff: HandoffBlock } {
    return sendHandoff(this.#rt, envelope, options);
  }

  /**
   * Receives a handoff: extracts the sender's trace context from the envelope,
   * opens a `handoff receive <source>` span parented or linked to the send span,
   * validates against the receiver's schema version and records both sides'
   * versions, and (unless `ack: 'manual'`) acknowledges against the budget.
   * Accepts the envelope as an object or as the JSON text that crossed the wire.
   */
  receive<E = Record<string, unknown>>(input: unknown, options?: ReceiveOptions): ReceivedHandoff<E> {
    return receiveHandoff<E>(this.#rt, input, options);
  }

  /**
   * Runs one agent's turn in an `invoke_agent <name>` span (GenAI conventions). The
   * function's result is returned, its error rethrown untouched: those are the host's.
   */
  runAgent<T>(name: string, fn: (run: AgentRun) => T, options?: RunAgentOptions): T {
    return runAgent(this.#rt, name, fn, options);
  }

  /**
   * Traces a state-store read. `fn` does the read; if its result has a numeric
   * `version` (and `epoch`), they are recorded as the version and epoch read, and
   * `undefined`/`null` is recorded as not found.
   */
  traceStateRead<T>(access: StateAccess, fn: () => T): T {
    return traceState(this.#rt, BatonOperation.StateRead, access, fn);
  }

  /**
   * Traces a state-store write. `fn` does the write; a numeric `version` on its
   * result is recorded as the version written. `access.announces` names the
   * completion event that must follow, so the analyzer can tell when it never did.
   */
  traceStateWrite<T>(access: StateAccess, fn: () => T): T {
    return traceState(this.#rt, BatonOperation.StateWrite, access, fn);
  }

  /**
   * Publishes an event: a `publish <topic>` producer span, and the message to hand
   * to the bus, carrying an id and trace context so consumers link back.
   */
  publish(event: PublishEvent): EventMessage {
    return publishEvent(this.#rt, event);
  }

  /**
   * Consumes an event: runs `fn` in a `process <topic>` consumer span linked (or
   * parented) to the publish span. Returns what `fn` returns; rethrows its errors.
   */
  consume<T>(message: EventMessage, fn: () => T, options?: ConsumeOptions): T {
    return consumeEvent(this.#rt, message, fn, options);
  }
}
