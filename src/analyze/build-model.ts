/**
 * Builds the normalized HandoffModel of one trace group from its spans, reading
 * the attributes of docs/conventions.md (names only from model/attributes.ts).
 * Spans Baton did not write are kept only as timing (TimedSpan).
 */
import {
  BATON_ACK_DELAY_MS,
  BATON_ACK_WITHIN_BUDGET,
  BATON_AGENT_DEPENDS_ON,
  BATON_AGENT_OUTCOME,
  BATON_ATTEMPT,
  BATON_CONTEXT_CONSTRAINTS_COUNT,
  BATON_CONTEXT_DECISIONS_COUNT,
  BATON_CONTEXT_MISSING_FIELDS,
  BATON_CONTEXT_SIZE_BYTES,
  BATON_CONTEXT_TOKEN_COUNT,
  BATON_CONVENTIONS_VERSION,
  BATON_ENVELOPE_SCHEMA_ID,
  BATON_ENVELOPE_SCHEMA_VERSION,
  BATON_ENVELOPE_SENDER_SCHEMA_VERSION,
  BATON_ENVELOPE_SIZE_BYTES,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_HANDOFF_ID,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_STATUS,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_STEP,
  BATON_TASK_ID,
  BATON_TIMEOUT_BUDGET_MS,
  BATON_VALIDATION_DURATION_MS,
  BATON_VALIDATION_ERROR_KEYWORD,
  BATON_VALIDATION_ERROR_PATH,
  BATON_VALIDATION_RESULT,
  BatonOperation,
  GEN_AI_AGENT_NAME,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
} from '../model/attributes.js';
import type {
  AgentRunRecord,
  EnvelopeFacts,
  EventRecord,
  Handoff,
  HandoffAck,
  HandoffModel,
  HandoffReceive,
  HandoffSend,
  StateAccessRecord,
  TimedSpan,
  ValidationFacts,
} from '../model/handoff-model.js';
import { StatusCodeNumber, type AttributeValue, type SpanRecord } from '../model/span-record.js';

type Attrs = Readonly<Record<string, AttributeValue>>;

function str(attrs: Attrs, key: string): string | undefined {
  const v = attrs[key];
  return typeof v === 'string' ? v : undefined;
}

/** Numbers may arrive as strings (OTLP/JSON int64). */
function num(attrs: Attrs, key: string): number | undefined {
  const v = attrs[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.length > 0) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function bool(attrs: Attrs, key: string): boolean | undefined {
  const v = attrs[key];
  return typeof v === 'boolean' ? v : undefined;
}

function strings(attrs: Attrs, key: string): string[] | undefined {
  const v = attrs[key];
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string') out.push(v[i] as string);
  return out;
}

/** Assigns only defined values, so optional fields stay absent rather than `undefined`. */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function validationOf(attrs: Attrs): ValidationFacts | undefined {
  const result = str(attrs, BATON_VALIDATION_RESULT);
  if (result !== 'valid' && result !== 'invalid' && result !== 'error') return undefined;
  const facts: { -readonly [K in keyof ValidationFacts]: ValidationFacts[K] } = { result };
  put(facts, 'errorPath', str(attrs, BATON_VALIDATION_ERROR_PATH));
  put(facts, 'errorKeyword', str(attrs, BATON_VALIDATION_ERROR_KEYWORD));
  put(facts, 'durationMs', num(attrs, BATON_VALIDATION_DURATION_MS));
  return facts;
}

/** Adds the envelope facts of `attrs` to `facts` (in place: no spread per span in this hot loop). */
function addEnvelopeFacts<T extends EnvelopeFacts>(facts: { -readonly [K in keyof EnvelopeFacts]: EnvelopeFacts[K] }, attrs: Attrs): T {
  put(facts, 'schemaId', str(attrs, BATON_ENVELOPE_SCHEMA_ID));
  put(facts, 'schemaVersion', str(attrs, BATON_ENVELOPE_SCHEMA_VERSION));
  put(facts, 'validation', validationOf(attrs));
  put(facts, 'attempt', num(attrs, BATON_ATTEMPT));
  put(facts, 'epoch', num(attrs, BATON_EPOCH));
  put(facts, 'stateVersion', num(attrs, BATON_STATE_VERSION_WRITTEN));
  put(facts, 'idempotencyKey', str(attrs, BATON_IDEMPOTENCY_KEY));
  put(facts, 'timeoutBudgetMs', num(attrs, BATON_TIMEOUT_BUDGET_MS));
  put(facts, 'tokenCount', num(attrs, BATON_CONTEXT_TOKEN_COUNT));
  put(facts, 'contextBytes', num(attrs, BATON_CONTEXT_SIZE_BYTES));
  put(facts, 'envelopeBytes', num(attrs, BATON_ENVELOPE_SIZE_BYTES));
  put(facts, 'decisionsCount', num(attrs, BATON_CONTEXT_DECISIONS_COUNT));
  put(facts, 'constraintsCount', num(attrs, BATON_CONTEXT_CONSTRAINTS_COUNT));
  put(facts, 'missingFields', strings(attrs, BATON_CONTEXT_MISSING_FIELDS));
  put(facts, 'status', str(attrs, BATON_HANDOFF_STATUS));
  return facts as T;
}

interface HandoffDraft {
  id: string;
  taskId: string | undefined;
  source: string;
  target: string;
  send: HandoffSend | undefined;
  sendSpanIds: string[];
  sendCount: number;
  receives: HandoffReceive[];
  acks: HandoffAck[];
}

function draftFor(drafts: Map<string, HandoffDraft>, id: string, attrs: Attrs): HandoffDraft {
  let draft = drafts.get(id);
  if (!draft) {
    draft = {
      id,
      taskId: undefined,
      source: 'unknown',
      target: 'unknown',
      send: undefined,
      sendSpanIds: [],
      sendCount: 0,
      receives: [],
      acks: [],
    };
    drafts.set(id, draft);
  }
  draft.taskId ??= str(attrs, BATON_TASK_ID);
  const source = str(attrs, BATON_HANDOFF_SOURCE_AGENT);
  const target = str(attrs, BATON_HANDOFF_TARGET_AGENT);
  if (source !== undefined && draft.source === 'unknown') draft.source = source;
  if (target !== undefined && draft.target === 'unknown') draft.target = target;
  return draft;
}

function compareRefs(a: { startMs: number; spanId: string }, b: { startMs: number; spanId: string }): number {
  return a.startMs - b.startMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

/**
 * Builds the model of one trace group. Pure: the spans are read, never changed.
 * Records are sorted by start time, then span id.
 */
export function buildHandoffModel(spans: readonly SpanRecord[]): HandoffModel {
  const byId = new Map<string, SpanRecord>();
  const traceIds = new Set<string>();
  const versions = new Set<string>();
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    byId.set(span.spanId, span);
    traceIds.add(span.traceId);
    if (span.startMs < startMs) startMs = span.startMs;
    if (span.endMs > endMs) endMs = span.endMs;
  }

  // The nearest enclosing agent run, memoized: state accesses are attributed to it.
  const agentRunOf = new Map<string, string | undefined>();
  const findAgentRun = (spanId: string): string | undefined => {
    const path: string[] = [];
    let current: string | undefined = spanId;
    let found: string | undefined;
    while (current) {
      if (agentRunOf.has(current)) {
        found = agentRunOf.get(current);
        break;
      }
      path.push(current);
      const span = byId.get(current);
      if (!span) break;
      if (current !== spanId && span.attributes[BATON_OPERATION] === BatonOperation.AgentRun) {
        found = current;
        break;
      }
      current = span.parentSpanId || undefined;
    }
    for (let i = 0; i < path.length; i++) agentRunOf.set(path[i]!, found);
    return found;
  };

  const drafts = new Map<string, HandoffDraft>();
  const stateAccesses: StateAccessRecord[] = [];
  const events: EventRecord[] = [];
  const agentRuns: AgentRunRecord[] = [];
  const timed: TimedSpan[] = new Array(spans.length);
  const sendSpanIds = new Set<string>();

  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    const attrs = span.attributes;
    const operation = str(attrs, BATON_OPERATION) ?? '';
    const version = str(attrs, BATON_CONVENTIONS_VERSION);
    if (version !== undefined) versions.add(version);
    timed[i] = {
      traceId: span.traceId,
      spanId: span.spanId,
      startMs: span.startMs,
      endMs: span.endMs,
      parentSpanId: span.parentSpanId,
      name: span.name,
      operation,
      agent: str(attrs, GEN_AI_AGENT_NAME),
    };
    switch (operation) {
      case BatonOperation.HandoffSend: {
        const draft = draftFor(drafts, str(attrs, BATON_HANDOFF_ID) ?? `span:${span.spanId}`, attrs);
        // A second send under the same id (a resend) keeps the first; the receives tell the rest.
        // A resend under the same id (a retry) is one handoff: the earliest send is its start,
        // and a receive linked to any of its sends is linked.
        draft.sendSpanIds.push(span.spanId);
        if (!draft.send || compareRefs(span, draft.send) < 0) {
          draft.send = addEnvelopeFacts<HandoffSend>(
            { traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, endMs: span.endMs, parentSpanId: span.parentSpanId } as HandoffSend,
            attrs,
          );
        }
        sendSpanIds.add(span.spanId);
        break;
      }
      case BatonOperation.HandoffReceive: {
        const draft = draftFor(drafts, str(attrs, BATON_HANDOFF_ID) ?? `span:${span.spanId}`, attrs);
        const receive = addEnvelopeFacts<HandoffReceive>(
          {
            traceId: span.traceId,
            spanId: span.spanId,
            startMs: span.startMs,
            endMs: span.endMs,
            parentSpanId: span.parentSpanId,
            links: span.links,
            linkedToSend: false, // resolved below, once every send is known
            carriesRemoteContext: false,
            agent: str(attrs, BATON_HANDOFF_TARGET_AGENT) ?? str(attrs, GEN_AI_AGENT_NAME) ?? 'unknown',
          } as HandoffReceive,
          attrs,
        );
        const sender = str(attrs, BATON_ENVELOPE_SENDER_SCHEMA_VERSION);
        if (sender !== undefined) (receive as { senderSchemaVersion?: string }).senderSchemaVersion = sender;
        draft.receives.push(receive);
        const delayMs = num(attrs, BATON_ACK_DELAY_MS);
        if (delayMs !== undefined) {
          const ack: { -readonly [K in keyof HandoffAck]: HandoffAck[K] } = { traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, endMs: span.endMs, atMs: span.startMs, delayMs, manual: false };
          put(ack, 'withinBudget', bool(attrs, BATON_ACK_WITHIN_BUDGET));
          draft.acks.push(ack);
        }
        break;
      }
      case BatonOperation.HandoffAck: {
        const id = str(attrs, BATON_HANDOFF_ID);
        if (id === undefined) break;
        const draft = draftFor(drafts, id, attrs);
        const ack: { -readonly [K in keyof HandoffAck]: HandoffAck[K] } = { traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, endMs: span.endMs, atMs: span.startMs, manual: true };
        put(ack, 'delayMs', num(attrs, BATON_ACK_DELAY_MS));
        put(ack, 'withinBudget', bool(attrs, BATON_ACK_WITHIN_BUDGET));
        draft.acks.push(ack);
        break;
      }
      case BatonOperation.StateRead:
      case BatonOperation.StateWrite: {
        const key = str(attrs, BATON_STATE_KEY);
        if (key === undefined) break;
        const access: { -readonly [K in keyof StateAccessRecord]: StateAccessRecord[K] } = {
          traceId: span.traceId,
          spanId: span.spanId,
          startMs: span.startMs,
          endMs: span.endMs,
          kind: operation === BatonOperation.StateRead ? 'read' : 'write',
          key,
          agent: str(attrs, GEN_AI_AGENT_NAME),
          taskId: str(attrs, BATON_TASK_ID),
          ok: span.statusCode !== StatusCodeNumber.Error,
          agentRunSpanId: findAgentRun(span.spanId),
        };
        put(access, 'versionRead', num(attrs, BATON_STATE_VERSION_READ));
        put(access, 'versionWritten', num(attrs, BATON_STATE_VERSION_WRITTEN));
        put(access, 'found', bool(attrs, BATON_STATE_FOUND));
        put(access, 'epoch', num(attrs, BATON_EPOCH));
        put(access, 'attempt', num(attrs, BATON_ATTEMPT));
        put(access, 'idempotencyKey', str(attrs, BATON_IDEMPOTENCY_KEY));
        put(access, 'step', str(attrs, BATON_STEP));
        put(access, 'expectedTopic', str(attrs, BATON_EVENT_EXPECTED_TOPIC));
        stateAccesses.push(access);
        break;
      }
      case BatonOperation.EventPublish:
      case BatonOperation.EventConsume: {
        const event: { -readonly [K in keyof EventRecord]: EventRecord[K] } = {
          traceId: span.traceId,
          spanId: span.spanId,
          startMs: span.startMs,
          endMs: span.endMs,
          kind: operation === BatonOperation.EventPublish ? 'publish' : 'consume',
          messageId: str(attrs, MESSAGING_MESSAGE_ID) ?? `span:${span.spanId}`,
          topic: str(attrs, MESSAGING_DESTINATION_NAME) ?? 'unknown',
          taskId: str(attrs, BATON_TASK_ID),
          agent: str(attrs, GEN_AI_AGENT_NAME),
          links: span.links,
          parentSpanId: span.parentSpanId,
        };
        put(event, 'key', str(attrs, BATON_STATE_KEY));
        put(event, 'stateVersion', num(attrs, BATON_STATE_VERSION_WRITTEN));
        events.push(event);
        break;
      }
      case BatonOperation.AgentRun: {
        const outcome = str(attrs, BATON_AGENT_OUTCOME);
        const run: { -readonly [K in keyof AgentRunRecord]: AgentRunRecord[K] } = {
          traceId: span.traceId,
          spanId: span.spanId,
          startMs: span.startMs,
          endMs: span.endMs,
          agent: str(attrs, GEN_AI_AGENT_NAME) ?? 'unknown',
          taskId: str(attrs, BATON_TASK_ID),
          parentSpanId: span.parentSpanId,
          outcome: outcome === 'completed' || outcome === 'failed' || outcome === 'blocked' ? outcome : undefined,
          dependsOn: strings(attrs, BATON_AGENT_DEPENDS_ON) ?? [],
        };
        put(run, 'inputTokens', num(attrs, GEN_AI_USAGE_INPUT_TOKENS));
        put(run, 'outputTokens', num(attrs, GEN_AI_USAGE_OUTPUT_TOKENS));
        agentRuns.push(run);
        break;
      }
      default:
        break;
    }
  }

  const handoffs: Handoff[] = [];
  for (const draft of drafts.values()) {
    const sends = draft.sendSpanIds;
    for (let i = 0; i < draft.receives.length; i++) {
      const receive = draft.receives[i]! as { -readonly [K in keyof HandoffReceive]: HandoffReceive[K] };
      let linked = sends.includes(receive.parentSpanId);
      for (let j = 0; !linked && j < receive.links.length; j++) linked = sends.includes(receive.links[j]!.spanId);
      receive.linkedToSend = linked;
      // A parent outside the data came from the envelope's traceparent (this export holds only the receiving side).
      receive.carriesRemoteContext =
        linked ||
        receive.links.length > 0 ||
        sendSpanIds.has(receive.parentSpanId) ||
        (receive.parentSpanId !== '' && !byId.has(receive.parentSpanId));
    }
    draft.sendCount = sends.length;
    draft.receives.sort(compareRefs);
    draft.acks.sort((a, b) => a.atMs - b.atMs);
    // An ack whose send and receive fell outside the group tells nothing on its own.
    if (draft.send || draft.receives.length > 0) {
      handoffs.push({
        id: draft.id,
        taskId: draft.taskId,
        source: draft.source,
        target: draft.target,
        send: draft.send,
        sendCount: draft.sendCount,
        receives: draft.receives,
        acks: draft.acks,
      });
    }
  }
  handoffs.sort((a, b) => compareRefs(a.send ?? a.receives[0]!, b.send ?? b.receives[0]!));
  stateAccesses.sort(compareRefs);
  events.sort(compareRefs);
  agentRuns.sort(compareRefs);

  return {
    traceIds: [...traceIds].sort(),
    spanCount: spans.length,
    horizon: {
      startMs: Number.isFinite(startMs) ? startMs : 0,
      endMs: Number.isFinite(endMs) ? endMs : 0,
    },
    handoffs,
    stateAccesses,
    events,
    agentRuns,
    spans: timed,
    conventionsVersions: [...versions].sort(),
  };
}
