/**
 * Events: publish (a producer span and the message, carrying an id and trace
 * context) and consume (the handler run in a consumer span linked back to it).
 *
 * The message publish() returns is built from the host's event as given (it goes
 * to the host's bus); only what is recorded on spans is bounded. Both entry points
 * are guarded: a null, hostile or odd event is a fault in warn mode (publish still
 * returns a message with an id, consume still runs the handler).
 */
import { SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
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
import { boundedString, isPlainObject, jsonByteLength, truncateBody } from './envelope-facts.js';
import { toBatonError } from './fault-policy.js';
import type { ConsumeOptions, PublishEvent } from './options.js';
import {
  activeTracer,
  checkContextManager,
  endFallible,
  faultOnMissing,
  endSpan,
  newId,
  NO_FAULT,
  parentingOf,
  receiveParent,
  runInContext,
  runInSpan,
  type SdkRuntime,
  type SpanAttributes,
} from './runtime.js';
import { extractSpanContext, injectSpanContext } from './trace-context.js';

type MutableMessage = { -readonly [K in keyof EventMessage]: EventMessage[K] };

function eventAttributes(
  operation: BatonOperation,
  message: Partial<EventMessage>,
  system: unknown,
  agent: unknown,
): SpanAttributes {
  const attrs: SpanAttributes = {
    [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
    [BATON_OPERATION]: operation,
    [MESSAGING_SYSTEM]: boundedString(system) ?? 'baton',
    [MESSAGING_DESTINATION_NAME]: boundedString(message.topic) || 'unknown',
    [MESSAGING_MESSAGE_ID]: boundedString(message.id) ?? 'unknown',
  };
  const agentName = boundedString(agent);
  if (agentName !== undefined) attrs[GEN_AI_AGENT_NAME] = agentName;
  const taskId = boundedString(message.task_id);
  if (taskId !== undefined) attrs[BATON_TASK_ID] = taskId;
  const key = boundedString(message.key);
  if (key !== undefined) attrs[BATON_STATE_KEY] = key;
  if (typeof message.state_version === 'number') attrs[BATON_STATE_VERSION_WRITTEN] = message.state_version;
  return attrs;
}

function describePayload(rt: SdkRuntime, span: Span, payload: unknown): void {
  const sizeBytes = jsonByteLength(payload);
  if (sizeBytes < 0) return; // not serializable: the bus will say so; nothing to measure
  span.setAttribute(MESSAGING_MESSAGE_BODY_SIZE, sizeBytes);
  if (rt.recordPayloads)
    span.setAttribute(BATON_ENVELOPE_BODY, truncateBody(JSON.stringify(payload), rt.maxRecordedPayloadBytes));
}

/**
 * Publishes an event: a `publish <topic>` producer span, and the message to hand
 * to the bus, carrying an id and trace context so consumers link back.
 */
export function publishEvent(rt: SdkRuntime, event: PublishEvent): EventMessage {
  let span: Span | undefined;
  const message: MutableMessage = { id: '', topic: '' };
  let fault: unknown = NO_FAULT;
  try {
    if (event === null || typeof event !== 'object') throw new TypeError('publish() needs an event object with a topic');
    const id = event.id;
    message.id = id ?? newId();
    message.topic = event.topic;
    const taskId = event.taskId;
    if (taskId !== undefined) message.task_id = taskId;
    const key = event.key;
    if (key !== undefined) message.key = key;
    const stateVersion = event.stateVersion;
    if (stateVersion !== undefined) message.state_version = stateVersion;
    const payload = event.payload;
    if (payload !== undefined) message.payload = payload;
    const attrs = eventAttributes(BatonOperation.EventPublish, message, event.system, event.agent);
    attrs[MESSAGING_OPERATION_TYPE] = 'send';
    attrs[MESSAGING_OPERATION_NAME] = 'publish';
    checkContextManager(rt);
    span = activeTracer(rt).startSpan(`publish ${attrs[MESSAGING_DESTINATION_NAME]}`, {
      kind: SpanKind.PRODUCER,
      attributes: attrs,
      startTime: nowMs(),
    });
    const carrier = injectSpanContext(span, rt.propagation);
    if (carrier) message.trace_context = carrier;
    if (payload !== undefined) describePayload(rt, span, payload);
    // An event without a topic reaches no consumer: the message and its span are still made (warn mode), and it is a
    // fault as a missing event object is.
    if (typeof message.topic !== 'string' || message.topic.length === 0) throw new TypeError('publish() needs an event object with a topic');
  } catch (error) {
    fault = error;
    rt.policy.fault('publish', error, span, false);
  }
  const endFault = endSpan(rt, span, 'publish', true);
  if (rt.mode === 'strict') {
    if (fault !== NO_FAULT) throw toBatonError('publish', fault);
    if (endFault) throw endFault;
  }
  if (message.id === '') message.id = newId();
  return message;
}

function hasTopic(message: unknown): boolean {
  if (!isPlainObject(message)) return false;
  const topic = (message as { topic?: unknown }).topic;
  return typeof topic === 'string' && topic.length > 0;
}

/**
 * Consumes an event: runs `fn` in a `process <topic>` consumer span linked (or
 * parented) to the publish span. Returns what `fn` returns; rethrows its errors.
 */
export function consumeEvent<T>(rt: SdkRuntime, message: EventMessage, fn: () => T, options: ConsumeOptions | undefined): T {
  let span: Span | undefined;
  let ctx: Context | undefined;
  let optionFault: TypeError | undefined;
  try {
    const opts: ConsumeOptions = options !== null && typeof options === 'object' ? options : {};
    const msg = isPlainObject(message) ? (message as EventMessage) : undefined;
    const remote = extractSpanContext(msg?.trace_context, rt.propagation);
    // As at receive: a value outside the documented ones falls back to the default and is a fault.
    const { parenting, fault: parentingFault } = parentingOf(opts.parenting, rt.parenting);
    optionFault = parentingFault;
    const { parent, links } = receiveParent(remote, parenting);
    const attrs = eventAttributes(BatonOperation.EventConsume, msg ?? {}, opts.system, opts.agent);
    attrs[MESSAGING_OPERATION_TYPE] = 'process';
    attrs[MESSAGING_OPERATION_NAME] = 'consume';
    checkContextManager(rt);
    span = activeTracer(rt).startSpan(
      `process ${attrs[MESSAGING_DESTINATION_NAME]}`,
      { kind: SpanKind.CONSUMER, attributes: attrs, links, startTime: nowMs() },
      parent,
    );
    ctx = trace.setSpan(parent, span);
  } catch (error) {
    rt.policy.fault('consume', error, span, false);
    if (span) endFallible(rt, span, 'consume', undefined, false);
    if (rt.mode === 'strict') throw toBatonError('consume', error);
    span = undefined;
  }
  // As a publish without a topic: it joins no publish.
  if (span && !hasTopic(message)) faultOnMissing(rt, span, 'consume', 'consume() needs the event message publish() returned, with its topic', false);
  if (optionFault) {
    rt.policy.fault('options', optionFault, span, false);
    if (rt.mode === 'strict') {
      // Thrown before fn runs, as any strict consume fault; the span ends without it.
      if (span) endFallible(rt, span, 'consume', undefined, false);
      throw toBatonError('options', optionFault);
    }
  }
  if (!span || !ctx) return fn();
  const consumeSpan = span;
  return runInContext(rt, ctx, () =>
    runInSpan(rt, consumeSpan, fn, (result, failed) => endFallible(rt, consumeSpan, 'consume', result, failed)),
  );
}
