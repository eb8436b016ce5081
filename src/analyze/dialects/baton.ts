/**
 * The `baton` dialect: spans written by Baton's SDK, which say what they are in
 * `baton.operation` (docs/conventions.md). The first and most detailed
 * vocabulary: message handoffs with envelopes, acknowledgements, versioned
 * state and events.
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
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_EXPECTED,
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
  DB_NAMESPACE,
  DB_SYSTEM_NAME,
  ERROR_TYPE,
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
} from '../../model/attributes.js';
import type { EnvelopeFacts, ValidationFacts } from '../../model/handoff-model.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { put, readBoolean, readName, readNumber, readString, readStrings, type Attributes } from './attribute-readers.js';
import type { AckPart, AgentRunPart, Dialect, DialectResult, EventPart, HandoffPart, IgnoredSpan, Mutable, ReceivePart, SendPart, StateAccessPart } from './dialect.js';

function validationOf(attrs: Attributes): ValidationFacts | undefined {
  const result = readString(attrs, BATON_VALIDATION_RESULT);
  if (result !== 'valid' && result !== 'invalid' && result !== 'error') return undefined;
  const facts: Mutable<ValidationFacts> = { result };
  put(facts, 'errorPath', readString(attrs, BATON_VALIDATION_ERROR_PATH));
  put(facts, 'errorKeyword', readString(attrs, BATON_VALIDATION_ERROR_KEYWORD));
  put(facts, 'durationMs', readNumber(attrs, BATON_VALIDATION_DURATION_MS));
  return facts;
}

/** Adds the envelope facts of `attrs` to `facts` in place (no spread per span in this hot loop). */
function addEnvelopeFacts(facts: Mutable<EnvelopeFacts>, attrs: Attributes): void {
  put(facts, 'schemaId', readString(attrs, BATON_ENVELOPE_SCHEMA_ID));
  put(facts, 'schemaVersion', readString(attrs, BATON_ENVELOPE_SCHEMA_VERSION));
  put(facts, 'validation', validationOf(attrs));
  put(facts, 'attempt', readNumber(attrs, BATON_ATTEMPT));
  put(facts, 'epoch', readNumber(attrs, BATON_EPOCH));
  put(facts, 'stateVersion', readNumber(attrs, BATON_STATE_VERSION_WRITTEN));
  put(facts, 'idempotencyKey', readString(attrs, BATON_IDEMPOTENCY_KEY));
  put(facts, 'timeoutBudgetMs', readNumber(attrs, BATON_TIMEOUT_BUDGET_MS));
  put(facts, 'tokenCount', readNumber(attrs, BATON_CONTEXT_TOKEN_COUNT));
  put(facts, 'contextBytes', readNumber(attrs, BATON_CONTEXT_SIZE_BYTES));
  put(facts, 'envelopeBytes', readNumber(attrs, BATON_ENVELOPE_SIZE_BYTES));
  put(facts, 'decisionsCount', readNumber(attrs, BATON_CONTEXT_DECISIONS_COUNT));
  put(facts, 'constraintsCount', readNumber(attrs, BATON_CONTEXT_CONSTRAINTS_COUNT));
  put(facts, 'missingFields', readStrings(attrs, BATON_CONTEXT_MISSING_FIELDS));
  put(facts, 'status', readString(attrs, BATON_HANDOFF_STATUS));
}

/** The task and the two agents of a handoff part, as every side of a handoff records them. */
function putRoute(part: { taskId?: string; source?: string; target?: string }, attrs: Attributes): void {
  put(part, 'taskId', readName(attrs, BATON_TASK_ID));
  put(part, 'source', readName(attrs, BATON_HANDOFF_SOURCE_AGENT));
  put(part, 'target', readName(attrs, BATON_HANDOFF_TARGET_AGENT));
}

/**
 * `db.system.name` plus `db.namespace`, so the same key in two databases is two
 * keys. The collection is left out on purpose: a replica or a read view of the
 * same data often has another collection name, and a stale read from it is
 * exactly what the rules look for.
 */
function storeOf(attrs: Attributes): string {
  const system = readName(attrs, DB_SYSTEM_NAME) ?? '';
  const namespace = readName(attrs, DB_NAMESPACE);
  return namespace === undefined ? system : `${system}/${namespace}`;
}

function interpretSpan(span: SpanRecord): HandoffPart | string {
  const attrs = span.attributes;
  const operation = readString(attrs, BATON_OPERATION);
  switch (operation) {
    case BatonOperation.HandoffSend: {
      const part: Mutable<SendPart> = { type: 'send', span };
      putRoute(part, attrs);
      put(part, 'handoffId', readName(attrs, BATON_HANDOFF_ID));
      addEnvelopeFacts(part, attrs);
      return part;
    }
    case BatonOperation.HandoffReceive: {
      const part: Mutable<ReceivePart> = { type: 'receive', span };
      putRoute(part, attrs);
      put(part, 'handoffId', readName(attrs, BATON_HANDOFF_ID));
      put(part, 'agent', readName(attrs, BATON_HANDOFF_TARGET_AGENT) ?? readName(attrs, GEN_AI_AGENT_NAME));
      put(part, 'senderSchemaVersion', readString(attrs, BATON_ENVELOPE_SENDER_SCHEMA_VERSION));
      addEnvelopeFacts(part, attrs);
      const delayMs = readNumber(attrs, BATON_ACK_DELAY_MS);
      if (delayMs !== undefined) {
        const ack: { delayMs?: number; withinBudget?: boolean } = { delayMs };
        put(ack, 'withinBudget', readBoolean(attrs, BATON_ACK_WITHIN_BUDGET));
        part.ack = ack;
      }
      return part;
    }
    case BatonOperation.HandoffAck: {
      const handoffId = readName(attrs, BATON_HANDOFF_ID);
      if (handoffId === undefined) return `${BATON_OPERATION} ${operation} without ${BATON_HANDOFF_ID}: nothing to acknowledge`;
      const part: Mutable<AckPart> = { type: 'ack', span, handoffId };
      putRoute(part, attrs);
      put(part, 'delayMs', readNumber(attrs, BATON_ACK_DELAY_MS));
      put(part, 'withinBudget', readBoolean(attrs, BATON_ACK_WITHIN_BUDGET));
      return part;
    }
    case BatonOperation.StateRead:
    case BatonOperation.StateWrite: {
      const key = readString(attrs, BATON_STATE_KEY);
      if (key === undefined) return `${BATON_OPERATION} ${operation} without ${BATON_STATE_KEY}`;
      const part: Mutable<StateAccessPart> = {
        type: operation === BatonOperation.StateRead ? 'state-read' : 'state-write',
        span,
        key,
        store: storeOf(attrs),
      };
      put(part, 'agent', readName(attrs, GEN_AI_AGENT_NAME));
      put(part, 'taskId', readName(attrs, BATON_TASK_ID));
      put(part, 'versionRead', readNumber(attrs, BATON_STATE_VERSION_READ));
      put(part, 'versionWritten', readNumber(attrs, BATON_STATE_VERSION_WRITTEN));
      put(part, 'found', readBoolean(attrs, BATON_STATE_FOUND));
      put(part, 'epoch', readNumber(attrs, BATON_EPOCH));
      put(part, 'attempt', readNumber(attrs, BATON_ATTEMPT));
      put(part, 'idempotencyKey', readString(attrs, BATON_IDEMPOTENCY_KEY));
      put(part, 'step', readString(attrs, BATON_STEP));
      put(part, 'expectedTopic', readString(attrs, BATON_EVENT_EXPECTED_TOPIC));
      put(part, 'deduplicated', readBoolean(attrs, BATON_STATE_DEDUPLICATED));
      if (part.type === 'state-write') {
        put(part, 'versionExpected', readNumber(attrs, BATON_STATE_VERSION_EXPECTED));
        // A client-side timeout (the store adapters write `timeout`): the command may have run all the same. Not a
        // statement PostgreSQL cancelled itself (statement_timeout, SQLSTATE 57014): that one rolled back.
        if (
          span.statusCode === StatusCodeNumber.Error &&
          readString(attrs, ERROR_TYPE) === 'timeout' &&
          !span.statusMessage.startsWith('canceling statement')
        )
          part.outcomeUnknown = true;
      }
      return part;
    }
    case BatonOperation.EventPublish:
    case BatonOperation.EventConsume: {
      const part: Mutable<EventPart> = {
        type: operation === BatonOperation.EventPublish ? 'publish' : 'consume',
        span,
        topic: readName(attrs, MESSAGING_DESTINATION_NAME) ?? 'unknown',
      };
      put(part, 'messageId', readName(attrs, MESSAGING_MESSAGE_ID));
      put(part, 'taskId', readName(attrs, BATON_TASK_ID));
      put(part, 'agent', readName(attrs, GEN_AI_AGENT_NAME));
      put(part, 'key', readString(attrs, BATON_STATE_KEY));
      put(part, 'stateVersion', readNumber(attrs, BATON_STATE_VERSION_WRITTEN));
      return part;
    }
    case BatonOperation.AgentRun: {
      const outcome = readString(attrs, BATON_AGENT_OUTCOME);
      const part: Mutable<AgentRunPart> = {
        type: 'agent-run',
        span,
        agent: readName(attrs, GEN_AI_AGENT_NAME) ?? 'unknown',
      };
      put(part, 'agentId', readName(attrs, GEN_AI_AGENT_ID));
      put(part, 'taskId', readName(attrs, BATON_TASK_ID));
      if (outcome === 'completed' || outcome === 'failed' || outcome === 'blocked') part.outcome = outcome;
      put(part, 'dependsOn', readStrings(attrs, BATON_AGENT_DEPENDS_ON));
      put(part, 'inputTokens', readNumber(attrs, GEN_AI_USAGE_INPUT_TOKENS));
      put(part, 'outputTokens', readNumber(attrs, GEN_AI_USAGE_OUTPUT_TOKENS));
      return part;
    }
    default:
      return `unknown ${BATON_OPERATION} "${String(operation)}" (conventions newer than this Baton?)`;
  }
}

/**
 * The attributes of other conventions this dialect reads besides its own `baton.*`;
 * the rest of a span is not kept while its trace is open.
 */
const FOREIGN_ATTRIBUTES: ReadonlySet<string> = new Set([
  DB_NAMESPACE,
  DB_SYSTEM_NAME,
  ERROR_TYPE,
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
]);

/** Spans written by Baton's SDK (docs/conventions.md). */
export const batonDialect: Dialect = {
  id: 'baton',
  description: "Baton's own conventions (baton.operation): message handoffs, envelopes, acks, versioned state, events",
  readsAttribute(name) {
    return name.startsWith('baton.') || FOREIGN_ATTRIBUTES.has(name);
  },
  claims(span) {
    return span.attributes[BATON_OPERATION] !== undefined;
  },
  interpret(spans): DialectResult {
    const parts: HandoffPart[] = [];
    const ignored: IgnoredSpan[] = [];
    const versions = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const version = span.attributes[BATON_CONVENTIONS_VERSION];
      if (typeof version === 'string') versions.add(version);
      const part = interpretSpan(span);
      if (typeof part === 'string') ignored.push({ span, reason: part });
      else parts.push(part);
    }
    return { parts, ignored, versions: [...versions].sort() };
  },
};
