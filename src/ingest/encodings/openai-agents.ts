/**
 * The OpenAI Agents SDK's own trace JSON (`Trace.toJSON()` / `Span.toJSON()` of
 * @openai/agents-core) as an input encoding, in the three shapes it is found in:
 *
 * - the payload the SDK's OpenAI exporter posts to the traces ingest endpoint,
 *   `{"data": [item, …]}`;
 * - a bare array of items (a custom exporter's dump);
 * - one item per JSON Lines line.
 *
 * An item is `{"object": "trace", "id": "trace_…", "workflow_name", "group_id",
 * "metadata"}` or `{"object": "trace.span", "id": "span_…", "trace_id",
 * "parent_id", "started_at", "ended_at" (ISO 8601), "span_data": {"type", …},
 * "error"}`. Spans become SpanRecords through the same mapping the tracing
 * processor uses (src/model/openai-agents.ts): same names, attributes and ids,
 * so the `openai-agents` dialect reads either. A trace item carries no times and
 * becomes no span; its group id is given to the spans of that trace in the same
 * value as `gen_ai.conversation.id`. Payloads stay out (names, ids, counts only).
 */
import { GEN_AI_CONVERSATION_ID, GEN_AI_WORKFLOW_NAME } from '../../model/attributes.js';
import { isoTimeMsOf } from '../../model/iso-time.js';
import { TraceInputError } from '../errors.js';
import { describeAgentsSpan, otelSpanIdOf, otelTraceIdOf } from '../../model/openai-agents.js';
import { SpanKindNumber, StatusCodeNumber, type AttributeValue, type SpanEventRecord, type SpanLinkRecord, type SpanRecord } from '../../model/span-record.js';
import type { JsonTraceEncoding } from './json-encoding.js';

type Json = Record<string, unknown>;

const NO_LINKS: readonly SpanLinkRecord[] = Object.freeze([]);
const NO_EVENTS: readonly SpanEventRecord[] = Object.freeze([]);
const RESOURCE: Readonly<Record<string, AttributeValue>> = Object.freeze({ 'telemetry.sdk.name': 'openai-agents' });
const NO_GROUPS: ReadonlyMap<string, Json> = new Map();
/** Scope of spans read from the SDK's JSON (the SDK names none of its own). */
export const OPENAI_AGENTS_JSON_SCOPE = 'openai-agents';

function isItem(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const object = (value as Json).object;
  return object === 'trace.span' || object === 'trace';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value;
}

class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function idOf(item: Json, key: string, prefix: string, path: string): string {
  const id = item[key];
  if (typeof id !== 'string' || id.length === 0) throw new ShapeError(`${path}.${key}`, `expected a ${prefix}… id, got ${describe(id)}`);
  return id;
}

function timeOf(item: Json, key: string, path: string): number {
  const text = item[key];
  const ms = typeof text === 'string' ? isoTimeMsOf(text) : Number.NaN;
  if (!Number.isFinite(ms)) throw new ShapeError(`${path}.${key}`, `expected an ISO 8601 time, got ${describe(text)}`);
  return ms;
}

function spanOf(item: Json, path: string, source: string, groups: ReadonlyMap<string, Json>): SpanRecord {
  const id = idOf(item, 'id', 'span_', path);
  const traceId = idOf(item, 'trace_id', 'trace_', path);
  const parent = item.parent_id;
  if (parent !== null && parent !== undefined && typeof parent !== 'string') throw new ShapeError(`${path}.parent_id`, `expected a span_… id or null, got ${describe(parent)}`);
  const data = item.span_data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ShapeError(`${path}.span_data`, `expected an object, got ${describe(data)}`);
  const startMs = timeOf(item, 'started_at', path);
  // An item exported before its span ended (a processor's own dump): it has a start only.
  const endMs = item.ended_at === null || item.ended_at === undefined ? startMs : timeOf(item, 'ended_at', path);
  const error = item.error === undefined ? null : item.error;
  const shape = describeAgentsSpan({ spanId: id, traceId, parentId: typeof parent === 'string' ? parent : null }, data, error);
  const trace = groups.get(traceId);
  if (trace) {
    if (typeof trace.group_id === 'string' && trace.group_id.length > 0) shape.attributes[GEN_AI_CONVERSATION_ID] = trace.group_id;
    if (typeof trace.workflow_name === 'string' && trace.workflow_name.length > 0) shape.attributes[GEN_AI_WORKFLOW_NAME] = trace.workflow_name;
  }
  return {
    traceId: otelTraceIdOf(traceId),
    spanId: otelSpanIdOf(id),
    parentSpanId: typeof parent === 'string' && parent.length > 0 ? otelSpanIdOf(parent) : '',
    name: shape.name,
    kind: shape.kind === 'client' ? SpanKindNumber.Client : SpanKindNumber.Internal,
    startMs,
    endMs,
    statusCode: shape.error ? StatusCodeNumber.Error : StatusCodeNumber.Unset,
    statusMessage: shape.statusMessage,
    attributes: shape.attributes,
    links: NO_LINKS,
    events: NO_EVENTS,
    resource: RESOURCE,
    scopeName: OPENAI_AGENTS_JSON_SCOPE,
    source,
  };
}

/** Items of one value: `{data: [...]}`, an array, or one item. */
function itemsOf(value: unknown): { items: readonly unknown[]; path: string } {
  if (Array.isArray(value)) return { items: value, path: '' };
  if (value === null || typeof value !== 'object') throw new ShapeError('/', `expected {"data": [...]}, an array of items or one item, got ${describe(value)}`);
  const data = (value as Json).data;
  if (data !== undefined) {
    if (!Array.isArray(data)) throw new ShapeError('data', `expected an array of trace and trace.span items, got ${describe(data)}`);
    return { items: data, path: 'data' };
  }
  return { items: [value], path: '' };
}

/** Converts one value in the SDK's JSON to spans (see the file header). */
export function parseOpenAiAgentsJson(value: unknown, source: string): SpanRecord[] {
  const spans: SpanRecord[] = [];
  try {
    const { items, path } = itemsOf(value);
    const single = items.length === 1 && items[0] === value;
    // JSON Lines give one item a value: no map for the (mostly no) trace items beside it.
    let groups: Map<string, Json> | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Json;
      if (item !== null && typeof item === 'object' && item.object === 'trace' && typeof item.id === 'string') (groups ??= new Map()).set(item.id, item);
    }
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const at = single ? '' : `${path}[${i}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new ShapeError(at || '/', `expected a trace or trace.span item, got ${describe(item)}`);
      const object = (item as Json).object;
      if (object === 'trace') continue;
      if (object !== 'trace.span') throw new ShapeError(`${at}${at ? '.' : ''}object`, `expected "trace" or "trace.span", got ${describe(object)}`);
      spans.push(spanOf(item as Json, at || 'item', source, groups ?? NO_GROUPS));
    }
  } catch (error) {
    if (error instanceof ShapeError) throw new TraceInputError(source, `${error.path}: ${error.message}`);
    throw error;
  }
  return spans;
}

export const openAiAgentsJsonEncoding: JsonTraceEncoding = {
  id: 'openai-agents-json',
  description: "OpenAI Agents SDK trace JSON (its exporter's {data:[…]} payload, an array of items, or one item per line)",
  recognizes(value) {
    if (Array.isArray(value)) return value.length > 0 && isItem(value[0]);
    if (value === null || typeof value !== 'object') return false;
    if (isItem(value)) return true;
    const data = (value as Json).data;
    return Array.isArray(data) && data.length > 0 && isItem(data[0]) && !('resourceSpans' in value);
  },
  toSpans: parseOpenAiAgentsJson,
};
