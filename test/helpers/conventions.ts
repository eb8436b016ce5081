/**
 * The change from conventions 1 to 2 (docs/conventions.md, "Version 2"), as a function
 * on spans: what the SDK of conventions 1 wrote, as the SDK of conventions 2 writes
 * it. Version 2 only stopped writing attributes that another attribute or span
 * already says; no name and no meaning changed. The example pipeline's test checks
 * that this is exactly the difference between the committed conventions-1 fixtures
 * and what the SDK writes now; the compatibility test checks that both audit alike.
 */
import {
  BATON_ATTEMPT,
  BATON_CONTEXT_CONSTRAINTS_COUNT,
  BATON_CONTEXT_DECISIONS_COUNT,
  BATON_CONTEXT_MISSING_FIELDS,
  BATON_CONTEXT_SIZE_BYTES,
  BATON_CONTEXT_TOKEN_COUNT,
  BATON_CONVENTIONS_VERSION,
  BATON_ENVELOPE_SIZE_BYTES,
  BATON_HANDOFF_SENT_AT,
  BATON_HANDOFF_SOURCE_AGENT,
  BATON_HANDOFF_STATUS,
  BATON_HANDOFF_TARGET_AGENT,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_STATE_VERSION_WRITTEN,
  BATON_TIMEOUT_BUDGET_MS,
  BatonOperation,
  GEN_AI_AGENT_NAME,
  GEN_AI_REQUEST_MODEL,
} from '../../src/model/attributes.js';
import type { AttributeValue, SpanRecord } from '../../src/model/span-record.js';

/** Attributes conventions 1 wrote and 2 does not, by `baton.operation`. */
export const DROPPED_IN_CONVENTIONS_2: Readonly<Record<string, readonly string[]>> = {
  // gen_ai.agent.name was the source; sent_at is the span's start.
  [BatonOperation.HandoffSend]: [GEN_AI_AGENT_NAME, BATON_HANDOFF_SENT_AT],
  // The envelope's facts are the send span's; the receive keeps what pairs it and what it alone knows.
  [BatonOperation.HandoffReceive]: [
    BATON_HANDOFF_STATUS,
    BATON_ATTEMPT,
    BATON_IDEMPOTENCY_KEY,
    BATON_STATE_VERSION_WRITTEN,
    BATON_HANDOFF_SENT_AT,
    BATON_CONTEXT_DECISIONS_COUNT,
    BATON_CONTEXT_CONSTRAINTS_COUNT,
    BATON_CONTEXT_SIZE_BYTES,
    BATON_CONTEXT_MISSING_FIELDS,
    BATON_CONTEXT_TOKEN_COUNT,
    GEN_AI_REQUEST_MODEL,
    BATON_ENVELOPE_SIZE_BYTES,
  ],
  // A child of its receive span, which has the edge and the budget.
  [BatonOperation.HandoffAck]: [GEN_AI_AGENT_NAME, BATON_HANDOFF_SOURCE_AGENT, BATON_HANDOFF_TARGET_AGENT, BATON_TIMEOUT_BUDGET_MS],
};

/** `spans` as conventions 2 writes them: the dropped attributes left out, Baton spans marked version 2. Spans are copied, never changed. */
export function toConventions2(spans: readonly SpanRecord[]): SpanRecord[] {
  return spans.map((span) => {
    const version = span.attributes[BATON_CONVENTIONS_VERSION];
    if (version === undefined) return span;
    const dropped = DROPPED_IN_CONVENTIONS_2[String(span.attributes[BATON_OPERATION])] ?? [];
    const attributes: Record<string, AttributeValue> = {};
    for (const key of Object.keys(span.attributes)) {
      if (!dropped.includes(key)) attributes[key] = span.attributes[key]!;
    }
    attributes[BATON_CONVENTIONS_VERSION] = '2';
    return { ...span, attributes };
  });
}

/** How many attributes `toConventions2` leaves out of `spans`. */
export function countDropped(spans: readonly SpanRecord[]): number {
  let count = 0;
  for (const span of spans) {
    const dropped = DROPPED_IN_CONVENTIONS_2[String(span.attributes[BATON_OPERATION])] ?? [];
    for (const key of dropped) if (span.attributes[key] !== undefined) count++;
  }
  return count;
}
