/**
 * The OpenTelemetry Python SDK's own JSON for one span, `ReadableSpan.to_json()`:
 * what its `ConsoleSpanExporter` prints (indented, one span after another, which
 * the reader splits into values) and what many Python frameworks' quick starts
 * leave in a terminal or a log file (Strands' `setup_console_exporter()`,
 * Semantic Kernel's console telemetry sample, AutoGen's and others' docs).
 *
 * Its shape, from opentelemetry-python (`sdk/trace/__init__.py`, `to_json`,
 * `_format_context`, `_format_events`, `_format_links`; `sdk/util` `ns_to_iso_str`;
 * `sdk/resources` `Resource.to_json`):
 *
 *     {"name", "context": {"trace_id": "0x<32 hex>", "span_id": "0x<16 hex>", "trace_state"},
 *      "kind": "SpanKind.INTERNAL", "parent_id": "0x<16 hex>" | null,
 *      "start_time": "2026-11-30T10:00:00.123456Z", "end_time": …,
 *      "status": {"status_code": "UNSET" | "OK" | "ERROR", "description"?},
 *      "attributes": {key: value}, "events": [{"name", "timestamp", "attributes"}],
 *      "links": [{"context": {…}, "attributes"}], "resource": {"attributes": {…}, "schema_url"}}
 *
 * Times are microseconds (Python's `%f`). The instrumentation scope is not
 * written (`scopeName` is ''): the dialects that know a framework by its scope read
 * such spans by what only its instrumentation writes, and the one vocabulary that
 * cannot be recognised without it (OpenInference's OpenAI Agents bridge) is explained
 * as such; docs/frameworks.md ("The Python SDK's console output") lists what is read.
 */
import { TraceInputError } from '../errors.js';
import { SpanKindNumber, StatusCodeNumber, type AttributeValue, type SpanEventRecord, type SpanLinkRecord, type SpanRecord } from '../../model/span-record.js';
import { digitsAt, isoTimeMsOf } from '../../model/iso-time.js';
import { describeValue } from '../otlp-json.js';
import type { JsonTraceEncoding } from './json-encoding.js';

type Json = Record<string, unknown>;

const KINDS: Readonly<Record<string, number>> = {
  'SpanKind.INTERNAL': SpanKindNumber.Internal,
  'SpanKind.SERVER': SpanKindNumber.Server,
  'SpanKind.CLIENT': SpanKindNumber.Client,
  'SpanKind.PRODUCER': SpanKindNumber.Producer,
  'SpanKind.CONSUMER': SpanKindNumber.Consumer,
};
const STATUS: Readonly<Record<string, number>> = { UNSET: StatusCodeNumber.Unset, OK: StatusCodeNumber.Ok, ERROR: StatusCodeNumber.Error };

const NO_LINKS: readonly SpanLinkRecord[] = Object.freeze([]);
const NO_EVENTS: readonly SpanEventRecord[] = Object.freeze([]);
const HEX = /^[0-9a-f]+$/i;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** `0x`-prefixed hex (Python's `f"0x{format_span_id(…)}"`), or bare hex. */
function readId(value: unknown, digits: number, path: string): string {
  if (typeof value === 'string') {
    const hex = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
    if (hex.length === digits && HEX.test(hex) && !/^0+$/.test(hex)) return hex.toLowerCase();
  }
  throw new ShapeError(path, `expected a ${digits / 2}-byte id as "0x" and ${digits} hex digits, got ${describeValue(value)}`);
}

/** Milliseconds of `%Y-%m-%dT%H:%M:%S.%fZ`, keeping the microseconds `isoTimeMsOf` cuts. */
function readTime(value: unknown, path: string): number {
  if (typeof value === 'string') {
    const ms = isoTimeMsOf(value);
    if (Number.isFinite(ms)) {
      // Digits 4–6 of the fraction, when written: the microseconds past the millisecond.
      const micros = value.length >= 27 && value.charCodeAt(19) === 46 ? digitsAt(value, 23, 3) : -1;
      return micros > 0 ? ms + micros / 1000 : ms;
    }
  }
  throw new ShapeError(path, `expected an ISO 8601 time ("2026-11-30T10:00:00.123456Z"), got ${describeValue(value)}`);
}

/** A Python attribute dict: str, bool, int, float, or a sequence of them (written as a list). */
function readAttributes(value: unknown, path: string): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (value === undefined || value === null) return out;
  if (!isObject(value)) throw new ShapeError(path, `expected an object of attributes, got ${describeValue(value)}`);
  for (const key of Object.keys(value)) {
    if (key === '__proto__') continue;
    const v = value[key];
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (Array.isArray(v) && v.every((x) => x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) out[key] = v as AttributeValue[];
    else out[key] = JSON.stringify(v);
  }
  return out;
}

function readContext(value: unknown, path: string): { traceId: string; spanId: string } {
  if (!isObject(value)) throw new ShapeError(path, `expected {"trace_id", "span_id"}, got ${describeValue(value)}`);
  return { traceId: readId(value.trace_id, 32, `${path}.trace_id`), spanId: readId(value.span_id, 16, `${path}.span_id`) };
}

function convertSpan(value: Json, source: string): SpanRecord {
  const { traceId, spanId } = readContext(value.context, 'context');
  const name = value.name;
  if (typeof name !== 'string') throw new ShapeError('name', `expected a string, got ${describeValue(name)}`);
  const parentSpanId = value.parent_id === null || value.parent_id === undefined ? '' : readId(value.parent_id, 16, 'parent_id');
  const startMs = readTime(value.start_time, 'start_time');
  const endMs = readTime(value.end_time, 'end_time');
  let statusCode: number = StatusCodeNumber.Unset;
  let statusMessage = '';
  if (isObject(value.status)) {
    const code = value.status.status_code;
    if (typeof code === 'string') statusCode = STATUS[code] ?? StatusCodeNumber.Unset;
    if (typeof value.status.description === 'string') statusMessage = value.status.description;
  }
  let links: SpanLinkRecord[] | undefined;
  if (Array.isArray(value.links)) {
    for (let i = 0; i < value.links.length; i++) {
      const link: unknown = value.links[i];
      (links ??= []).push(readContext(isObject(link) ? link.context : link, `links[${i}].context`));
    }
  }
  let events: SpanEventRecord[] | undefined;
  if (Array.isArray(value.events)) {
    for (let i = 0; i < value.events.length; i++) {
      const event: unknown = value.events[i];
      if (!isObject(event) || typeof event.name !== 'string') throw new ShapeError(`events[${i}]`, `expected {"name", "timestamp", "attributes"}, got ${describeValue(event)}`);
      (events ??= []).push({ name: event.name, timeMs: readTime(event.timestamp, `events[${i}].timestamp`), attributes: readAttributes(event.attributes, `events[${i}].attributes`) });
    }
  }
  const resource = isObject(value.resource) ? readAttributes(value.resource.attributes, 'resource.attributes') : {};
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: typeof value.kind === 'string' ? (KINDS[value.kind] ?? SpanKindNumber.Unspecified) : SpanKindNumber.Unspecified,
    startMs,
    endMs,
    statusCode,
    statusMessage,
    attributes: readAttributes(value.attributes, 'attributes'),
    links: links ?? NO_LINKS,
    events: events ?? NO_EVENTS,
    resource: Object.freeze(resource),
    scopeName: '',
    source,
  };
}

/** True for one span as `to_json()` writes it: a name, a context with `trace_id`, and the SDK's kind or times. */
function isPythonSpan(value: unknown): value is Json {
  if (!isObject(value) || typeof value.name !== 'string' || !isObject(value.context)) return false;
  return typeof value.context.trace_id === 'string' && (typeof value.kind === 'string' || 'start_time' in value);
}

export const pythonSpanJsonEncoding: JsonTraceEncoding = {
  id: 'otel-python-json',
  description: "the OpenTelemetry Python SDK's span JSON (`ConsoleSpanExporter`, `span.to_json()`), one span per value",
  recognizes(value) {
    return isPythonSpan(value) || (Array.isArray(value) && value.length > 0 && isPythonSpan(value[0]));
  },
  toSpans(value, source): SpanRecord[] {
    const spans = Array.isArray(value) ? value : [value];
    const out: SpanRecord[] = [];
    for (let i = 0; i < spans.length; i++) {
      const span: unknown = spans[i];
      const at = Array.isArray(value) ? `[${i}].` : '';
      if (!isPythonSpan(span)) throw new TraceInputError(source, `${at === '' ? '' : `[${i}]: `}expected a span as the Python SDK writes it ({"name", "context": {"trace_id", …}}), got ${describeValue(span)}`);
      try {
        out.push(convertSpan(span, source));
      } catch (error) {
        if (error instanceof ShapeError) throw new TraceInputError(source, `${at}${error.path}: ${error.message}`);
        throw error;
      }
    }
    return out;
  },
};
