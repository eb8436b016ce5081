/**
 * OTLP/JSON → SpanRecord: one ExportTraceServiceRequest (as the Collector's file
 * exporter and the OTLP/HTTP JSON protocol write it) turned into the analyzer's
 * minimal spans. Spec: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
 *
 * Reading is strict about what analysis relies on (ids, times, names) and lenient
 * about what the protobuf JSON mapping allows besides the OTLP profile: ids in
 * base64 as well as hex, enums by name as well as number, int64 as string or
 * number. A request that carries metrics or logs instead of spans yields nothing.
 */
import { TraceInputError } from './errors.js';
import { type AttributeValue, type SpanEventRecord, type SpanLinkRecord, type SpanRecord } from '../model/span-record.js';
import { attributeOfTree, MAX_ATTRIBUTE_NESTING, newKeyValueNode, type AttributeTree } from './any-value.js';
import { AttributeShapes } from '../model/attribute-shapes.js';

type Json = Record<string, unknown>;

const SPAN_KIND_NAMES: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

const STATUS_CODE_NAMES: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

const NO_LINKS: readonly SpanLinkRecord[] = Object.freeze([]);
const NO_EVENTS: readonly SpanEventRecord[] = Object.freeze([]);
const NO_ATTRIBUTES: Readonly<Record<string, AttributeValue>> = Object.freeze({});

/** Thrown inside the walk; carries the JSON path for the error message. */
class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }

  /** The same error at `prefix` + its path: for walks that learn their place only when they fail. */
  under(prefix: string): ShapeError {
    return new ShapeError(`${prefix}${this.path}`, this.message);
  }
}

/** True when `value` has any OTLP signal key: a request of metrics or logs is skipped, not an error. */
function isOtherSignal(value: Json): boolean {
  return 'resourceMetrics' in value || 'resourceLogs' in value || 'resourceProfiles' in value;
}

/**
 * Converts one parsed OTLP/JSON ExportTraceServiceRequest (or TracesData) to spans.
 * `source` is where it came from (`file` or `file:line`), used in errors and kept on each span.
 * @throws TraceInputError naming `source` and the JSON path when the shape is wrong.
 */
export function parseOtlpJsonRequest(value: unknown, source: string): SpanRecord[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TraceInputError(source, `expected an OTLP request object with "resourceSpans", got ${describeValue(value)}`);
  }
  const request = value as Json;
  const resourceSpans = request.resourceSpans;
  if (resourceSpans === undefined) {
    if (isOtherSignal(request)) return [];
    if ('resource_spans' in request) {
      throw new TraceInputError(source, 'found "resource_spans": OTLP/JSON uses lowerCamelCase keys ("resourceSpans")');
    }
    const keys = Object.keys(request).slice(0, 3).map(describeValue).join(', ');
    throw new TraceInputError(source, `expected "resourceSpans"${keys ? `, found ${keys}` : ' in an empty object'}`);
  }
  const spans: SpanRecord[] = [];
  try {
    convertResourceSpans(resourceSpans, source, spans);
  } catch (error) {
    if (error instanceof ShapeError) throw new TraceInputError(source, `${error.path}: ${error.message}`);
    throw error;
  }
  return spans;
}

function convertResourceSpans(resourceSpans: unknown, source: string, out: SpanRecord[]): void {
  if (!Array.isArray(resourceSpans)) throw new ShapeError('resourceSpans', `expected an array, got ${describeValue(resourceSpans)}`);
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = resourceSpans[r] as Json | null;
    if (typeof rs !== 'object' || rs === null || Array.isArray(rs)) throw new ShapeError(`resourceSpans[${r}]`, `expected an object, got ${describeValue(rs)}`);
    const resourceValue = rs.resource as Json | undefined;
    const resource =
      resourceValue === undefined || resourceValue === null
        ? NO_ATTRIBUTES
        : convertAttributes(resourceValue.attributes, `resourceSpans[${r}].resource.attributes`);
    const scopeSpans = rs.scopeSpans ?? rs.instrumentationLibrarySpans;
    if (scopeSpans === undefined) continue;
    if (!Array.isArray(scopeSpans)) throw new ShapeError(`resourceSpans[${r}].scopeSpans`, `expected an array, got ${describeValue(scopeSpans)}`);
    for (let s = 0; s < scopeSpans.length; s++) {
      const ss = scopeSpans[s] as Json | null;
      if (typeof ss !== 'object' || ss === null || Array.isArray(ss)) {
        throw new ShapeError(`resourceSpans[${r}].scopeSpans[${s}]`, `expected an object, got ${describeValue(ss)}`);
      }
      const scope = (ss.scope ?? ss.instrumentationLibrary) as Json | undefined;
      const scopeName = scope && typeof scope.name === 'string' ? scope.name : '';
      const spans = ss.spans;
      if (spans === undefined) continue;
      if (!Array.isArray(spans)) throw new ShapeError(`resourceSpans[${r}].scopeSpans[${s}].spans`, `expected an array, got ${describeValue(spans)}`);
      for (let i = 0; i < spans.length; i++) {
        out.push(convertSpan(spans[i], resource, scopeName, source, r, s, i));
      }
    }
  }
}

function convertSpan(
  value: unknown,
  resource: Readonly<Record<string, AttributeValue>>,
  scopeName: string,
  source: string,
  r: number,
  s: number,
  i: number,
): SpanRecord {
  if (typeof value !== 'object' || value === null) {
    throw new ShapeError(spanPath(r, s, i), `expected a span object, got ${describeValue(value)}`);
  }
  const span = value as Json;
  const traceId = readId(span.traceId, 16, r, s, i, 'traceId');
  const spanId = readId(span.spanId, 8, r, s, i, 'spanId');
  const parent = span.parentSpanId;
  const parentSpanId = parent === undefined || parent === '' || parent === null ? '' : readId(parent, 8, r, s, i, 'parentSpanId');
  const name = span.name;
  if (typeof name !== 'string') throw new ShapeError(`${spanPath(r, s, i)}.name`, `expected a string, got ${describeValue(name)}`);
  const startMs = readNanosAsMs(span.startTimeUnixNano, r, s, i, 'startTimeUnixNano');
  const endMs = readNanosAsMs(span.endTimeUnixNano, r, s, i, 'endTimeUnixNano');
  const status = span.status as Json | undefined;
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: readEnum(span.kind, SPAN_KIND_NAMES),
    startMs,
    endMs,
    statusCode: status ? readEnum(status.code, STATUS_CODE_NAMES) : 0,
    statusMessage: status && typeof status.message === 'string' ? status.message : '',
    attributes: span.attributes === undefined ? NO_ATTRIBUTES : convertAttributesAt(span.attributes, r, s, i, -1),
    links: span.links === undefined ? NO_LINKS : convertLinks(span.links, r, s, i),
    events: span.events === undefined ? NO_EVENTS : convertEvents(span.events, r, s, i),
    resource,
    scopeName,
    source,
  };
}

function spanPath(r: number, s: number, i: number): string {
  return `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
}

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Reads a trace or span id: hex (the OTLP/JSON profile) or base64 (the plain
 * protobuf JSON mapping some exporters write). Returns lowercase hex.
 */
function readId(value: unknown, bytes: number, r: number, s: number, i: number, field: string): string {
  if (typeof value === 'string') {
    if (value.length === bytes * 2 && HEX.test(value)) return value.toLowerCase();
    if (value.length === Math.ceil(bytes / 3) * 4) {
      const decoded = Buffer.from(value, 'base64');
      if (decoded.length === bytes) return decoded.toString('hex');
    }
  }
  throw new ShapeError(`${spanPath(r, s, i)}.${field}`, `expected ${bytes === 8 ? 'an' : 'a'} ${bytes}-byte id as ${bytes * 2} hex digits, got ${describeValue(value)}`);
}

/** 2^64 - 1, the largest uint64, as the decimal text OTLP/JSON writes. */
const MAX_UINT64_TEXT = '18446744073709551615';

/**
 * Nanoseconds since the epoch, as OTLP/JSON writes a uint64: a decimal string or a
 * whole number, 0 to 2^64 - 1. Anything else (`""`, `" "`, `"0x10"`, `"1e3"`, a
 * fraction, a negative or larger number) is refused: Number() would read the first
 * two as 0 and the rest as times no exporter wrote.
 */
function readNanosAsMs(value: unknown, r: number, s: number, i: number, field: string): number {
  if (typeof value === 'string') {
    const ms = uint64TextAsMs(value);
    if (ms >= 0) return ms;
  } else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 64) {
    // Past 2^53 the number itself is ±128 ns off: whole microseconds, so a whole-millisecond time stays whole.
    return Math.round(value / 1e3) / 1e3;
  }
  throw new ShapeError(`${spanPath(r, s, i)}.${field}`, `expected nanoseconds since the epoch (a decimal integer, 0 to 2^64-1), got ${describeValue(value)}`);
}

/**
 * 1 to 20 decimal digits, at most 2^64 - 1, as milliseconds; -1 when not such a text. The digits are
 * read as whole milliseconds and the nanoseconds past them, both exact: `Number(text) / 1e6` rounds
 * the nanoseconds to a double first, and 1796152863774000000 came out as 1796152863774.0002, so
 * whole-millisecond spans read as not whole. (A loop: two per span, a regex here cost a tenth of the read.)
 */
function uint64TextAsMs(text: string): number {
  const length = text.length;
  if (length === 0 || length > 20 || (length === 20 && text > MAX_UINT64_TEXT)) return -1;
  const split = length - 6;
  let whole = 0;
  let nanos = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    if (i < split) whole = whole * 10 + digit;
    else nanos = nanos * 10 + digit;
  }
  return nanos === 0 ? whole : whole + nanos / 1e6;
}

function readEnum(value: unknown, names: Readonly<Record<string, number>>): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return names[value] ?? (Number(value) || 0);
  return 0;
}

/**
 * The attributes of span `i` (or of its event `event`, when not -1), the JSON path worked out only
 * when they are malformed: a path string built for every span cost about as much as its attributes.
 */
function convertAttributesAt(list: unknown, r: number, s: number, i: number, event: number): Readonly<Record<string, AttributeValue>> {
  try {
    return convertAttributes(list, '');
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw error.under(`${spanPath(r, s, i)}${event === -1 ? '' : `.events[${event}]`}.attributes`);
  }
}

function convertAttributes(list: unknown, path: string): Readonly<Record<string, AttributeValue>> {
  if (list === undefined || list === null) return NO_ATTRIBUTES;
  if (!Array.isArray(list)) throw new ShapeError(path, `expected an array of key-value pairs, got ${describeValue(list)}`);
  SHAPES.start();
  for (let k = 0; k < list.length; k++) {
    const kv = list[k] as Json | null;
    if (typeof kv !== 'object' || kv === null || typeof kv.key !== 'string') {
      throw new ShapeError(`${path}[${k}]`, `expected {"key": string, "value": AnyValue}, got ${describeValue(kv)}`);
    }
    SHAPES.add(kv.key, convertAnyValue(kv.value));
  }
  return SHAPES.finish();
}

/** Attribute maps of every span, event and resource this reader converts (one at a time). */
const SHAPES = new AttributeShapes();

/** An OTLP AnyValue; bytes stay base64 text, nesting as any-value.ts keeps it. */
function convertAnyValue(value: unknown): AttributeValue {
  return attributeOfTree(treeOfAnyValue(value, 0));
}

/** The value as a tree at most MAX_ATTRIBUTE_NESTING deep (`depth` levels are above it); what is deeper is null, unread. */
function treeOfAnyValue(value: unknown, depth: number): AttributeTree {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Json;
  if (v.stringValue !== undefined) return typeof v.stringValue === 'string' ? v.stringValue : String(v.stringValue);
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  if (v.boolValue !== undefined) return v.boolValue === true || v.boolValue === 'true';
  if (v.arrayValue !== undefined) {
    if (depth >= MAX_ATTRIBUTE_NESTING) return null;
    const values = (v.arrayValue as Json | null)?.values;
    if (!Array.isArray(values)) return [];
    const out: AttributeTree[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = treeOfAnyValue(values[i], depth + 1);
    return out;
  }
  if (v.kvlistValue !== undefined) {
    if (depth >= MAX_ATTRIBUTE_NESTING) return null;
    const values = (v.kvlistValue as Json | null)?.values;
    const object = newKeyValueNode();
    if (Array.isArray(values)) {
      for (let i = 0; i < values.length; i++) {
        const kv = values[i] as Json | null;
        if (kv && typeof kv.key === 'string') object[kv.key] = treeOfAnyValue(kv.value, depth + 1);
      }
    }
    return object;
  }
  if (v.bytesValue !== undefined) return typeof v.bytesValue === 'string' ? v.bytesValue : null;
  return null;
}

function convertLinks(list: unknown, r: number, s: number, i: number): readonly SpanLinkRecord[] {
  if (!Array.isArray(list)) throw new ShapeError(`${spanPath(r, s, i)}.links`, `expected an array, got ${describeValue(list)}`);
  if (list.length === 0) return NO_LINKS;
  const links: SpanLinkRecord[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const link = list[k] as Json | null;
    if (typeof link !== 'object' || link === null) {
      throw new ShapeError(`${spanPath(r, s, i)}.links[${k}]`, `expected an object, got ${describeValue(link)}`);
    }
    links[k] = {
      traceId: readId(link.traceId, 16, r, s, i, `links[${k}].traceId`),
      spanId: readId(link.spanId, 8, r, s, i, `links[${k}].spanId`),
    };
  }
  return links;
}

function convertEvents(list: unknown, r: number, s: number, i: number): readonly SpanEventRecord[] {
  if (!Array.isArray(list)) throw new ShapeError(`${spanPath(r, s, i)}.events`, `expected an array, got ${describeValue(list)}`);
  if (list.length === 0) return NO_EVENTS;
  const events: SpanEventRecord[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const event = list[k] as Json | null;
    if (typeof event !== 'object' || event === null) {
      throw new ShapeError(`${spanPath(r, s, i)}.events[${k}]`, `expected an object, got ${describeValue(event)}`);
    }
    events[k] = {
      name: typeof event.name === 'string' ? event.name : '',
      timeMs: readNanosAsMs(event.timeUnixNano ?? 0, r, s, i, `events[${k}].timeUnixNano`),
      attributes: convertAttributesAt(event.attributes, r, s, i, k),
    };
  }
  return events;
}

/** A short description of an unexpected value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 37)}..."` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  return `${typeof value} ${String(value)}`;
}
