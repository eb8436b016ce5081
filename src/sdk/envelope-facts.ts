/**
 * What the SDK records about an envelope instead of its body: sizes, counts and
 * which context fields are missing. Payload bodies stay out of traces unless the
 * user opts in (see BatonOptions.recordPayloads).
 */
import {
  BATON_CONTEXT_CONSTRAINTS_COUNT,
  BATON_CONTEXT_DECISIONS_COUNT,
  BATON_CONTEXT_MISSING_FIELDS,
  BATON_CONTEXT_SIZE_BYTES,
  BATON_CONTEXT_TOKEN_COUNT,
  GEN_AI_REQUEST_MODEL,
} from '../model/attributes.js';

type Attributes = Record<string, string | number | boolean | string[]>;

const encoder = new TextEncoder();
const nodeBuffer = (globalThis as { Buffer?: { byteLength(s: string): number } }).Buffer;

/** UTF-8 length of a string; Buffer.byteLength where Node has it, as it does not allocate. */
export function utf8Length(text: string): number {
  return nodeBuffer ? nodeBuffer.byteLength(text) : encoder.encode(text).length;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Adds the context facts of an envelope to `attributes`: token count, context size,
 * decisions and constraints counts, and which of them are missing.
 */
export function addContextFacts(envelope: Record<string, unknown>, attributes: Attributes): void {
  const ctx = envelope.context;
  const missing: string[] = [];
  if (isPlainObject(ctx)) {
    const decisions = ctx.decisions_made;
    const constraints = ctx.constraints;
    if (Array.isArray(decisions)) attributes[BATON_CONTEXT_DECISIONS_COUNT] = decisions.length;
    else missing.push('decisions_made');
    if (Array.isArray(constraints)) attributes[BATON_CONTEXT_CONSTRAINTS_COUNT] = constraints.length;
    else missing.push('constraints');
    try {
      attributes[BATON_CONTEXT_SIZE_BYTES] = utf8Length(JSON.stringify(ctx));
    } catch {
      // Not serializable: the envelope check reports it; the size is simply unknown.
    }
  } else {
    missing.push('context');
  }
  attributes[BATON_CONTEXT_MISSING_FIELDS] = missing;
  const metadata = envelope.metadata;
  if (isPlainObject(metadata)) {
    if (typeof metadata.token_count === 'number') attributes[BATON_CONTEXT_TOKEN_COUNT] = metadata.token_count;
    if (typeof metadata.model === 'string') attributes[GEN_AI_REQUEST_MODEL] = metadata.model;
  }
}

/** Cuts a recorded body to at most `maxBytes` UTF-8 bytes, marking the cut. */
export function truncateBody(json: string, maxBytes: number): string {
  if (utf8Length(json) <= maxBytes) return json;
  // Slice by characters, then trim until it fits: never splits the result's encoding.
  let cut = json.slice(0, maxBytes);
  while (utf8Length(cut) > maxBytes - 12) cut = cut.slice(0, Math.floor(cut.length * 0.9));
  return `${cut}…[truncated]`;
}
