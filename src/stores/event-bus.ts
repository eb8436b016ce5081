/**
 * The one small interface an event transport implements (Redis Streams,
 * PostgreSQL NOTIFY, or an app's own), and the traced publish every transport
 * shares: a `publish <topic>` PRODUCER span whose context travels inside the
 * message, so a consumer's `baton.consume(message, fn)` joins the producer's
 * trace. A publish may take span links (the outbox relay links the writer's
 * stored context), which is how a write and its event published later from
 * another trace are joined by the analyzer.
 */
import { context as contextApi, trace, type Link } from '@opentelemetry/api';
import {
  BATON_STATE_KEY,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TASK_ID,
  GEN_AI_AGENT_NAME,
  MESSAGING_MESSAGE_BODY_SIZE,
} from '../model/attributes.js';
import type { EventMessage, TraceContextCarrier } from '../model/envelope.js';
import type { PublishEvent } from '../sdk/options.js';
import { untraced, type StoreInstrumentation } from './common.js';

/** A transport for Baton event messages. */
export interface EventBus {
  /** `messaging.system` of its spans, e.g. `redis`, `postgresql`. */
  readonly system: string;
  /** Hands a finished message (id, topic, trace context) to the transport; resolves once the transport accepted it. */
  send(message: EventMessage): Promise<void>;
}

/** An event to publish through an {@link EventBus}. */
export type BusEvent = Omit<PublishEvent, 'system'>;

/** Options of {@link publishEvent}. */
export interface PublishEventOptions {
  /** Span links, e.g. to the writer whose outbox row this publish relays. */
  readonly links?: Link[];
  /**
   * Trace context to carry in the message instead of the publish span's own
   * (an atomic write-with-event carries the write's). Default: the publish span's.
   */
  readonly carry?: TraceContextCarrier;
}

/** A message ready for a bus: the event's fields in the EventMessage shape. */
export function messageOf(event: BusEvent, id: string, traceContext: TraceContextCarrier | undefined): EventMessage {
  const message: {
    id: string;
    topic: string;
    task_id?: string;
    key?: string;
    state_version?: number;
    payload?: unknown;
    trace_context?: TraceContextCarrier;
  } = { id, topic: event.topic };
  if (event.taskId !== undefined) message.task_id = event.taskId;
  if (event.key !== undefined) message.key = event.key;
  if (event.stateVersion !== undefined) message.state_version = event.stateVersion;
  if (event.payload !== undefined) message.payload = event.payload;
  if (traceContext) message.trace_context = traceContext;
  return message;
}

/**
 * Publishes `event` on `bus` in a `publish <topic>` span (PRODUCER, `messaging.system`
 * the bus's). Returns the message sent. A transport error is recorded on the span and
 * rethrown: it is the host's.
 */
export async function publishEvent(
  inst: StoreInstrumentation,
  bus: EventBus,
  event: BusEvent,
  options: PublishEventOptions = {},
): Promise<EventMessage> {
  const id = event.id ?? globalThis.crypto.randomUUID();
  const ctx = contextApi.active();
  const extra: Record<string, string | number> = {};
  if (event.taskId !== undefined) extra[BATON_TASK_ID] = event.taskId;
  if (event.agent !== undefined) extra[GEN_AI_AGENT_NAME] = event.agent;
  if (event.key !== undefined) extra[BATON_STATE_KEY] = event.key;
  if (event.stateVersion !== undefined) extra[BATON_STATE_VERSION_WRITTEN] = event.stateVersion;
  const span = inst.startMessaging('publish', event.topic, ctx, options.links, extra);
  const carrier = options.carry ?? (span ? inst.carrierOf(span, ctx) : undefined);
  const message = messageOf(event, id, carrier);
  if (span && event.payload !== undefined) {
    try {
      const json = JSON.stringify(event.payload);
      if (json !== undefined) span.setAttribute(MESSAGING_MESSAGE_BODY_SIZE, Buffer.byteLength(json));
    } catch (error) {
      inst.fault('publish', error, span);
    }
  }
  if (!span) {
    await untraced(() => bus.send(message));
    return message;
  }
  try {
    await contextApi.with(trace.setSpan(ctx, span), () => untraced(() => bus.send(message)));
  } catch (error) {
    inst.endFailed(span, error);
    throw error;
  }
  inst.endMessaging(span, id);
  return message;
}
