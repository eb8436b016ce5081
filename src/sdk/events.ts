/**
 * Events: publish (a producer span and the message, carrying an id and trace
 * context) and consume (the handler run in a consumer span linked back to it).
 */
import { context as contextApi, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import {
  BATON_CONVENTIONS_VERSION,
  BATON_ENVELOPE_BODY,
  BATON_OPERATION,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TASK_ID,
  BatonOperation,
  CONVENTIONS_VERSION,
  GEN_AI_AGENT_NAME,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_BODY_SIZE,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
} from '../model/attributes.js';
import type { EventMessage } from '../model/envelope.js';
import { nowMs } from './clock.js';
import { isPlainObject, truncateBody, utf8Length } from './envelope-facts.js';
import type { ConsumeOptions, PublishEvent } from './options.js';
import { activeTracer, endFallible, newId, receiveParent, runInSpan, type SdkRuntime, type SpanAttributes } from './runtime.js';
import { extractSpanContext, injectTraceContext } from './trace-context.js';

export function eventAttributes(
  operation: BatonOperation,
  message: Pick<EventMessage, 'id' | 'topic' | 'task_id' | 'key' | 'state_version'>,
  system: string | undefined,
  agent: string | undefined,
): SpanAttributes {
  const attrs: SpanAttributes = {
    [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
    [BATON_OPERATION]: operation,
    [MESSAGING_SYSTEM]: system ?? 'baton',
    [MESSAGING_DESTINATION_NAME]: String(message.topic),
    [MESSAGING_MESSAGE_ID]: String(message.id),
  };
  if (agent !== undefined) attrs[GEN_AI_AGENT_NAME] = agent;
  if (typeof message.task_id === 'string') attrs[BATON_TASK_ID] = message.task_id;
  if (typeof message.key === 'string') attrs[BATON_STATE_KEY] = message.key;
  if (typeof message.state_version === 'number') attrs[BATON_STATE_VERSION_WRITTEN] = message.state_version;
  return attrs;
}

export function describePayload(rt: SdkRuntime, span: Span, payload: unknown): void {
  const json = JSON.stringify(payload);
  if (json === undefined) return;
  span.setAttribute(MESSAGING_MESSAGE_BODY_SIZE, utf8Length(json));
  if (rt.recordPayloads) span.setAttribute(BATON_ENVELOPE_BODY, truncateBody(json, rt.maxRecordedPayloadBytes));
}

/**
 * Publishes an event: a `publish <topic>` producer span, and the message to hand
 * to the bus, carrying an id and trace context so consumers link back.
 */
export function publishEvent(rt: SdkRuntime, event: PublishEvent): EventMessage {
  let span: Span | undefined;
  const message: {
    id: string;
    topic: string;
    task_id?: string;
    key?: string;
    state_version?: number;
    payload?: unknown;
    trace_context?: EventMessage['trace_context'];
  } = { id: event.id ?? newId(), topic: event.topic };
  if (event.taskId !== undefined) message.task_id = event.taskId;
  if (event.key !== undefined) message.key = event.key;
  if (event.stateVersion !== undefined) message.state_version = event.stateVersion;
  if (event.payload !== undefined) message.payload = event.payload;
  try {
    const attrs = eventAttributes(BatonOperation.EventPublish, message, event.system, event.agent);
    attrs[MESSAGING_OPERATION_TYPE] = 'send';
    attrs[MESSAGING_OPERATION_NAME] = 'publish';
    span = activeTracer(rt).startSpan(`publish ${event.topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: attrs,
      startTime: nowMs(),
    });
    const carrier = injectTraceContext(trace.setSpan(contextApi.active(), span), rt.propagation);
    if (carrier) message.trace_context = carrier;
    if (event.payload !== undefined) describePayload(rt, span, event.payload);
  } catch (error) {
    rt.policy.fault('publish', error, span);
  } finally {
    span?.end(nowMs());
  }
  return message;
}

/**
 * Consumes an event: runs `fn` in a `process <topic>` consumer span linked (or
 * parented) to the publish span. Returns what `fn` returns; rethrows its errors.
 */
export function consumeEvent<T>(rt: SdkRuntime, message: EventMessage, fn: () => T, options: ConsumeOptions = {}): T {
  let span: Span | undefined;
  let ctx: Context = contextApi.active();
  try {
    const msg = isPlainObject(message) ? (message as unknown as EventMessage) : undefined;
    const remote = extractSpanContext(msg?.trace_context, rt.propagation);
    const { parent, links } = receiveParent(remote, options.parenting ?? rt.parenting);
    const attrs = eventAttributes(
      BatonOperation.EventConsume,
      msg ?? { id: 'unknown', topic: 'unknown' },
      options.system,
      options.agent,
    );
    attrs[MESSAGING_OPERATION_TYPE] = 'process';
    attrs[MESSAGING_OPERATION_NAME] = 'consume';
    span = activeTracer(rt).startSpan(
      `process ${msg?.topic ?? 'unknown'}`,
      { kind: SpanKind.CONSUMER, attributes: attrs, links, startTime: nowMs() },
      parent,
    );
    ctx = trace.setSpan(parent, span);
  } catch (error) {
    rt.policy.fault('consume', error, span);
  }
  if (!span) return fn();
  const consumeSpan = span;
  return contextApi.with(ctx, () => runInSpan(consumeSpan, fn, (error, failed) => endFallible(rt, consumeSpan, error, failed)));
}
