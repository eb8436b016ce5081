/**
 * What the SDK records about an envelope instead of its body: sizes, counts and
 * which context fields are missing. Payload bodies stay out of traces unless the
 * user opts in (see BatonOptions.recordPayloads).
 *
 * Sizes are the UTF-8 length of `JSON.stringify(value)`, computed by walking the
 * value rather than by building the string: on a 2 KiB envelope the walk costs a
 * fraction of the serialization and allocates nothing, and serialization with its
 * garbage was a fifth of an instrumented handoff (docs/benchmarks.md). Anything
 * the walk does not model exactly (toJSON, class instances, boxed primitives,
 * strings that need escaping, deep nesting) is measured by JSON.stringify itself.
 */
import {
  BATON_CONTEXT_CONSTRAINTS_COUNT,
  BATON_CONTEXT_DECISIONS_COUNT,
  BATON_CONTEXT_MISSING_FIELDS,
  BATON_CONTEXT_SIZE_BYTES,
  BATON_CONTEXT_TOKEN_COUNT,
  GEN_AI_REQUEST_MODEL,
} from '../model/attributes.js';

/** Where facts go: a span itself (one `setAttribute` each, no intermediate object for OpenTelemetry to walk again). */
export interface AttributeSink {
  setAttribute(key: string, value: string | number | boolean | string[]): unknown;
}

const encoder = new TextEncoder();
const nodeBuffer = (globalThis as { Buffer?: { byteLength(s: string): number } }).Buffer;

/** UTF-8 length of a string; Buffer.byteLength where Node has it, as it does not allocate. */
export function utf8Length(text: string): number {
  return nodeBuffer ? nodeBuffer.byteLength(text) : encoder.encode(text).length;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Longest identifier (agent, task, handoff id, key) recorded from an envelope; longer ones are cut. */
export const MAX_RECORDED_NAME_CHARS = 256;

/** `value` if it is a string, cut to MAX_RECORDED_NAME_CHARS; else undefined. */
export function boundedString(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_RECORDED_NAME_CHARS ? `${value.slice(0, MAX_RECORDED_NAME_CHARS)}…` : value;
}

/** Printable ASCII but `"` and `\\`: such a string is its own length in JSON, plus the quotes. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Past this depth the walk hands over to JSON.stringify, which also detects cycles. */
const MAX_WALK_DEPTH = 64;

function stringBytes(text: string): number {
  // One regex pass and no byte count for the common case; anything else is measured as JSON.stringify writes it.
  return PLAIN_ASCII.test(text) ? text.length + 2 : utf8Length(JSON.stringify(text));
}

/**
 * JSON bytes of object keys seen so far. Keys repeat from envelope to envelope (a schema names
 * them) and a Map hit on an interned key costs less than the regex; bounded, so an app that
 * invents keys stops filling it and pays the regex as before.
 */
const KEY_BYTES = new Map<string, number>();
const MAX_CACHED_KEYS = 1024;

function keyBytes(key: string): number {
  let bytes = KEY_BYTES.get(key);
  if (bytes === undefined) {
    bytes = stringBytes(key);
    if (KEY_BYTES.size < MAX_CACHED_KEYS) KEY_BYTES.set(key, bytes);
  }
  return bytes;
}

function stringifiedBytes(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 4 : utf8Length(json);
}

/** Longest JSON text of a finite number (`-2.2250738585072014e-308`), rounded up. */
const MAX_NUMBER_CHARS = 25;

/**
 * Bytes of a value in JSON; -1 for a value a parent omits (undefined, function, symbol). Throws what
 * JSON.stringify throws. `bound`: an upper bound instead, without looking inside strings and numbers
 * (a UTF-16 unit is at most 6 bytes of JSON, `\uXXXX`; a number at most MAX_NUMBER_CHARS).
 */
function valueBytes(value: unknown, depth: number, bound: boolean): number {
  switch (typeof value) {
    case 'string':
      return bound ? value.length * 6 + 2 : stringBytes(value);
    case 'number':
      return !Number.isFinite(value) ? 4 : bound ? MAX_NUMBER_CHARS : String(value).length;
    case 'boolean':
      return value ? 4 : 5;
    case 'undefined':
    case 'function':
    case 'symbol':
      return -1;
    case 'bigint':
      return stringifiedBytes(value); // throws, as JSON.stringify does, unless the host gave BigInt a toJSON
    default:
      break;
  }
  if (value === null) return 4;
  if (depth > MAX_WALK_DEPTH) return stringifiedBytes(value);
  if (Array.isArray(value)) {
    const n = value.length;
    let bytes = n > 0 ? n + 1 : 2; // brackets and n − 1 commas
    for (let i = 0; i < n; i++) {
      const item = valueBytes(value[i], depth + 1, bound);
      bytes += item < 0 ? 4 : item; // omitted values are null in an array
    }
    return bytes;
  }
  const object = value as Record<string, unknown>;
  const proto = Object.getPrototypeOf(object);
  if ((proto !== Object.prototype && proto !== null) || typeof object.toJSON === 'function') return stringifiedBytes(object);
  let bytes = 2;
  let members = 0;
  if (inheritsEnumerableKeys()) {
    const keys = Object.keys(object);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = valueBytes(object[key], depth + 1, bound);
      if (item < 0) continue;
      bytes += (bound ? key.length * 6 + 2 : keyBytes(key)) + 1 + item;
      members++;
    }
  } else {
    // for-in walks the shape's cached key list and loads each value by its index: no keys array per object and
    // no keyed lookups, which was a fifth of the walk. With nothing enumerable on Object.prototype it visits
    // exactly the own enumerable string keys JSON.stringify writes.
    for (const key in object) {
      const item = valueBytes(object[key], depth + 1, bound);
      if (item < 0) continue;
      bytes += (bound ? key.length * 6 + 2 : keyBytes(key)) + 1 + item;
      members++;
    }
  }
  return members > 1 ? bytes + members - 1 : bytes;
}

/**
 * True when Object.prototype has enumerable keys (a library added one), which `for…in` would visit
 * on every plain object: then the walk reads `Object.keys` instead. Checked per object, as a getter
 * in the value walked may add one.
 */
function inheritsEnumerableKeys(): boolean {
  for (const _ in EMPTY) return true;
  return false;
}
const EMPTY = Object.freeze({});

/** UTF-8 length of `JSON.stringify(value)`, or -1 when it cannot be serialized (a cycle, a BigInt, a getter that throws). */
export function jsonByteLength(value: unknown): number {
  try {
    const bytes = valueBytes(value, 0, false);
    return bytes < 0 ? -1 : bytes;
  } catch {
    return -1;
  }
}

/**
 * For a size limit: a number of bytes at most `limitBytes` when `JSON.stringify(value)` fits in
 * it (an upper bound, not the size), else its exact UTF-8 length; -1 when it cannot be serialized.
 * What the receiver of an object needs for `maxEnvelopeBytes` without reading every string,
 * which was most of the size walk's cost: a 2 KiB envelope is bounded at ~12 KiB, far under the limit.
 */
export function jsonByteLengthForLimit(value: unknown, limitBytes: number): number {
  try {
    const bound = valueBytes(value, 0, true);
    if (bound < 0) return -1;
    if (bound <= limitBytes) return bound;
    const bytes = valueBytes(value, 0, false);
    return bytes < 0 ? -1 : bytes;
  } catch {
    return -1;
  }
}

/**
 * UTF-8 length of `JSON.stringify(envelope)` and of its `context` member, in one
 * walk (sizing the context again would walk it twice); -1 for what cannot be
 * serialized. The total is -1 when anything in the envelope cannot be.
 */
export interface EnvelopeSizes {
  /** Bytes of the envelope's JSON, without the member left out; -1 when it cannot be serialized. */
  readonly total: number;
  /** Bytes of its `context` object, -1 when there is none or it cannot be serialized. */
  readonly context: number;
  /** Members counted in `total` (for adding one). */
  readonly members: number;
}

export function envelopeJsonBytes(envelope: Record<string, unknown>, leaveOut?: string): EnvelopeSizes {
  let context = -1;
  try {
    const proto = Object.getPrototypeOf(envelope);
    if (leaveOut !== undefined && (proto === Object.prototype || proto === null) && typeof envelope.toJSON !== 'function' && Object.hasOwn(envelope, '__proto__')) {
      // An own `__proto__` key: measured by JSON.stringify on a copy without the member left out, defined
      // (not assigned, which would set the copy's prototype), so the member can still be added exactly.
      const rest: Record<string, unknown> = {};
      const keys = Object.keys(envelope);
      let members = 0;
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] === leaveOut) continue;
        Object.defineProperty(rest, keys[i]!, { value: envelope[keys[i]!], enumerable: true, writable: true, configurable: true });
        members++;
      }
      const total = jsonByteLength(rest);
      return { total, context: isPlainObject(envelope.context) ? jsonByteLength(envelope.context) : -1, members: total < 0 ? -1 : members };
    }
    if ((proto !== Object.prototype && proto !== null) || typeof envelope.toJSON === 'function') {
      // Not a plain object: JSON.stringify decides (the member left out is then counted; only sizes are affected).
      const total = jsonByteLength(envelope);
      return { total, context: isPlainObject(envelope.context) ? jsonByteLength(envelope.context) : -1, members: -1 };
    }
    const keys = Object.keys(envelope);
    let bytes = 2;
    let members = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === leaveOut) continue;
      const value = envelope[key];
      let item: number;
      if (key === 'context') {
        try {
          item = valueBytes(value, 1, false);
        } catch {
          return { total: -1, context: -1, members };
        }
        if (isPlainObject(value)) context = item;
      } else {
        item = valueBytes(value, 1, false);
      }
      if (item < 0) continue;
      bytes += keyBytes(key) + 1 + item;
      members++;
    }
    return { total: members > 1 ? bytes + members - 1 : bytes, context, members };
  } catch {
    return { total: -1, context, members: 0 };
  }
}

/**
 * The total of `sizes` with one more member `key: value`; -1 when either cannot be serialized.
 * `valueBytes`, when given, is the value's JSON size already known to the caller.
 */
export function withMemberBytes(sizes: EnvelopeSizes, key: string, value: unknown, knownValueBytes?: number): number {
  if (sizes.total < 0) return -1;
  if (sizes.members < 0) return sizes.total; // measured whole by JSON.stringify, the member included
  const item = knownValueBytes ?? jsonByteLength(value);
  if (item < 0) return -1;
  return sizes.total + (sizes.members > 0 ? 1 : 0) + keyBytes(key) + 1 + item;
}

/** JSON bytes of an object key, quotes included. */
export function keyJsonBytes(key: string): number {
  return keyBytes(key);
}

/**
 * JSON bytes of one object member, `"key":value`; -1 when JSON.stringify leaves it out
 * (undefined, a function, a symbol). Throws what JSON.stringify throws (a cycle, a BigInt).
 */
export function memberJsonBytes(key: string, value: unknown): number {
  const item = valueBytes(value, 1, false);
  return item < 0 ? -1 : keyBytes(key) + 1 + item;
}

/**
 * JSON bytes of a member whose value is a string the caller built of printable ASCII
 * without `"` or `\\` (a time send wrote, a generated UUID, a traceparent): its length, no scan.
 */
export function plainStringMemberJsonBytes(key: string, text: string): number {
  return keyBytes(key) + 3 + text.length;
}

/** `baton.context.missing_fields` of a complete context: one frozen array, not a new one per handoff. */
const NONE_MISSING: string[] = Object.freeze([]) as unknown as string[];

/**
 * Sets the context facts of an envelope on `attributes`: token count, decisions
 * and constraints counts, and which of them are missing. The context's size is
 * added when `contextBytes` is given (≥ 0), else measured here.
 */
export function addContextFacts(envelope: Record<string, unknown>, attributes: AttributeSink, contextBytes?: number): void {
  const ctx = envelope.context;
  let missing = NONE_MISSING;
  if (isPlainObject(ctx)) {
    const decisions = ctx.decisions_made;
    const constraints = ctx.constraints;
    if (Array.isArray(decisions)) attributes.setAttribute(BATON_CONTEXT_DECISIONS_COUNT, decisions.length);
    else missing = ['decisions_made'];
    if (Array.isArray(constraints)) attributes.setAttribute(BATON_CONTEXT_CONSTRAINTS_COUNT, constraints.length);
    else missing = missing === NONE_MISSING ? ['constraints'] : ['decisions_made', 'constraints'];
    const sizeBytes = contextBytes === undefined ? jsonByteLength(ctx) : contextBytes;
    // Not serializable: the envelope check reports it; the size is simply unknown.
    if (sizeBytes >= 0) attributes.setAttribute(BATON_CONTEXT_SIZE_BYTES, sizeBytes);
  } else {
    missing = ['context'];
  }
  attributes.setAttribute(BATON_CONTEXT_MISSING_FIELDS, missing);
  const metadata = envelope.metadata;
  if (isPlainObject(metadata)) {
    const tokenCount = metadata.token_count;
    if (typeof tokenCount === 'number') attributes.setAttribute(BATON_CONTEXT_TOKEN_COUNT, tokenCount);
    const model = boundedString(metadata.model);
    if (model !== undefined) attributes.setAttribute(GEN_AI_REQUEST_MODEL, model);
  }
}

const TRUNCATION_MARK = '…[truncated]';
const TRUNCATION_MARK_BYTES = utf8Length(TRUNCATION_MARK);

/**
 * Cuts a recorded body to at most `maxBytes` UTF-8 bytes, the truncation mark
 * included, never splitting a character. A body that fits is returned whole.
 */
export function truncateBody(json: string, maxBytes: number): string {
  if (utf8Length(json) <= maxBytes) return json;
  const room = maxBytes - TRUNCATION_MARK_BYTES;
  if (room < 0) return ''; // no room even for the mark: record nothing rather than more than allowed
  // Count UTF-8 bytes code point by code point (Buffer's rule: a lone surrogate is 3 bytes, U+FFFD).
  let bytes = 0;
  let end = 0;
  const length = json.length;
  while (end < length) {
    const code = json.charCodeAt(end);
    let width = 3;
    let step = 1;
    if (code < 0x80) width = 1;
    else if (code < 0x800) width = 2;
    else if (code >= 0xd800 && code <= 0xdbff && end + 1 < length) {
      const next = json.charCodeAt(end + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        width = 4;
        step = 2;
      }
    }
    if (bytes + width > room) break;
    bytes += width;
    end += step;
  }
  const cut = json.slice(0, end);
  return `${cut}${TRUNCATION_MARK}`;
}
