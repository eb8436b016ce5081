/**
 * Jaeger's JSON, as people download it: the query service's v1 API and the
 * UI's "Download JSON" (`{"data": [{traceID, spans, processes}]}`, or one such
 * trace object), and the v3 API (`{"result": <OTLP TracesData>}`, one object
 * per line when the response streams several chunks).
 *
 * v1 is Jaeger's own model, into which its OTLP receiver translated OTel
 * spans; reading undoes that translation (the OTel Collector's jaeger
 * translator, `pkg/translator/jaeger`): times in microseconds; the parent is
 * the first `CHILD_OF` reference in the same trace and every other reference
 * (`FOLLOWS_FROM`: each OTel link became one) is a link; `span.kind`,
 * `otel.status_code` / `otel.status_description` (or `error = true`) and
 * `otel.scope.name` (`otel.library.name` before it) tags return to the span's
 * kind, status and scope; process tags and `serviceName` become the resource;
 * logs become events, named by their `event` field.
 *
 * @see https://www.jaegertracing.io/docs/latest/apis/
 * @see https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/pkg/translator/jaeger
 */
import { TraceInputError } from '../errors.js';
import { MANY_ATTRIBUTES, SpanKindNumber, StatusCodeNumber, type AttributeValue, type SpanEventRecord, type SpanLinkRecord, type SpanRecord } from '../../model/span-record.js';
import { describeValue, parseOtlpJsonRequest } from '../otlp-json.js';
import type { JsonTraceEncoding } from './json-encoding.js';

type Json = Record<string, unknown>;

const KINDS: Readonly<Record<string, number>> = {
  internal: SpanKindNumber.Internal,
  server: SpanKindNumber.Server,
  client: SpanKindNumber.Client,
  producer: SpanKindNumber.Producer,
  consumer: SpanKindNumber.Consumer,
};

const NO_LINKS: readonly SpanLinkRecord[] = Object.freeze([]);
const NO_EVENTS: readonly SpanEventRecord[] = Object.freeze([]);
const HEX = /^[0-9a-fA-F]{1,32}$/;

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

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A v1 trace: an object with `traceID` and a `spans` array. */
function isJaegerTrace(value: unknown): boolean {
  return isObject(value) && typeof value.traceID === 'string' && Array.isArray(value.spans);
}

/** A grpc-gateway error object, as the v3 API streams one instead of a chunk. */
function isApiError(value: Json): boolean {
  const error = value.error;
  return Object.keys(value).length === 1 && isObject(error) && typeof error.message === 'string' && ('grpcCode' in error || 'httpCode' in error || 'code' in error);
}

/** Jaeger ids are hex without leading zeros at times (64-bit trace ids): OTLP's are fixed width. */
function readId(value: unknown, digits: number, path: string): string {
  if (typeof value === 'string' && HEX.test(value) && value.length <= digits) return value.toLowerCase().padStart(digits, '0');
  throw new ShapeError(path, `expected a hex id of up to ${digits} digits, got ${describeValue(value)}`);
}

/** The last trace id read and what it gave: every span of a trace and most of its references repeat it. */
let lastRawTraceId: unknown;
let lastTraceId = '';

function readTraceId(value: unknown, path: string): string {
  if (value === lastRawTraceId) return lastTraceId;
  const id = readId(value, 32, path);
  lastRawTraceId = value;
  lastTraceId = id;
  return id;
}

function readMicros(value: unknown, path: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return n;
  throw new ShapeError(path, `expected microseconds, got ${describeValue(value)}`);
}

/** A tag's value by its declared type (`string`, `bool`, `int64`, `float64`, `binary`); ints may arrive as strings. */
function tagValue(tag: Json): AttributeValue {
  const value = tag.value;
  switch (typeof tag.type === 'string' ? tag.type.toLowerCase() : '') {
    case 'bool':
      return value === true || value === 'true';
    case 'int64':
    case 'float64': {
      const n = typeof value === 'string' ? Number(value) : value;
      return typeof n === 'number' && Number.isFinite(n) ? n : typeof value === 'string' ? value : null;
    }
    default:
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : value === undefined || value === null ? null : JSON.stringify(value);
  }
}

function readTags(list: unknown, path: string, into: Record<string, AttributeValue>): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new ShapeError(path, `expected an array of tags, got ${describeValue(list)}`);
  for (let k = 0; k < list.length; k++) {
    const tag = list[k];
    if (!isObject(tag) || typeof tag.key !== 'string') throw new ShapeError(`${path}[${k}]`, `expected {"key", "type", "value"}, got ${describeValue(tag)}`);
    into[tag.key] = tagValue(tag);
  }
}

/** The resource of each process, built once and shared by its spans. */
function readProcesses(value: unknown, path: string): Map<string, Readonly<Record<string, AttributeValue>>> {
  const out = new Map<string, Readonly<Record<string, AttributeValue>>>();
  if (value === undefined || value === null) return out;
  if (!isObject(value)) throw new ShapeError(path, `expected an object of processes by id, got ${describeValue(value)}`);
  for (const id of Object.keys(value)) out.set(id, resourceOf(value[id], `${path}.${id}`));
  return out;
}

function resourceOf(process: unknown, path: string): Readonly<Record<string, AttributeValue>> {
  if (!isObject(process)) throw new ShapeError(path, `expected a process {serviceName, tags}, got ${describeValue(process)}`);
  const resource: Record<string, AttributeValue> = {};
  readTags(process.tags, `${path}.tags`, resource);
  if (typeof process.serviceName === 'string') resource['service.name'] = process.serviceName;
  return resource;
}

function readLogs(list: unknown, path: string): readonly SpanEventRecord[] {
  if (list === undefined || list === null) return NO_EVENTS;
  if (!Array.isArray(list)) throw new ShapeError(path, `expected an array of logs, got ${describeValue(list)}`);
  if (list.length === 0) return NO_EVENTS;
  const events: SpanEventRecord[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const log = list[k];
    if (!isObject(log)) throw new ShapeError(`${path}[${k}]`, `expected {"timestamp", "fields"}, got ${describeValue(log)}`);
    const attributes: Record<string, AttributeValue> = {};
    readTags(log.fields, `${path}[${k}].fields`, attributes);
    const name = typeof attributes.event === 'string' ? attributes.event : 'log';
    delete attributes.event;
    events[k] = { name, timeMs: readMicros(log.timestamp, `${path}[${k}].timestamp`) / 1000, attributes };
  }
  return events;
}

/** Tags the OTel → Jaeger translation adds for fields of its own, dropped whatever their value. */
const TRANSLATION_TAGS: ReadonlySet<string> = new Set(['otel.scope.name', 'otel.scope.version', 'otel.library.name', 'otel.library.version', 'w3c.tracestate']);

/** Tags dropped only when their value was read into a field of the span: bits of {@link withoutTranslationTags}'s `read`. */
const READ_KIND = 1;
const READ_STATUS = 2;
const READ_DESCRIPTION = 4;
const READ_ERROR = 8;

function isTranslationTag(key: string, read: number): boolean {
  return (
    TRANSLATION_TAGS.has(key) ||
    ((read & READ_KIND) !== 0 && key === 'span.kind') ||
    ((read & READ_STATUS) !== 0 && key === 'otel.status_code') ||
    ((read & READ_DESCRIPTION) !== 0 && key === 'otel.status_description') ||
    ((read & READ_ERROR) !== 0 && key === 'error')
  );
}

/**
 * The span's tags without those the translation made of OTel fields (read into the span's kind,
 * status and scope). A copy rather than `delete`s, which turn the object into a slow hash table
 * (V8's dictionary mode) for the rest of the span's life; the tags themselves when nothing is dropped.
 */
function withoutTranslationTags(tags: Record<string, AttributeValue>, read: number): Record<string, AttributeValue> {
  let dropped = false;
  let count = 0;
  for (const key in tags) {
    count++;
    if (!dropped && isTranslationTag(key, read)) dropped = true;
  }
  if (!dropped) return tags;
  if (count >= MANY_ATTRIBUTES) {
    const pairs: [string, AttributeValue][] = [];
    for (const key in tags) if (!isTranslationTag(key, read)) pairs.push([key, tags[key]!]);
    return Object.fromEntries(pairs) as Record<string, AttributeValue>;
  }
  const kept: Record<string, AttributeValue> = {};
  for (const key in tags) if (!isTranslationTag(key, read)) kept[key] = tags[key]!;
  return kept;
}

/** The translation tags of one span as {@link readSpanTags} found them (the last of a repeated key), and its other tags. */
export interface SpanTags {
  attributes: Record<string, AttributeValue>;
  kind: AttributeValue | undefined;
  status: AttributeValue | undefined;
  description: AttributeValue | undefined;
  error: AttributeValue | undefined;
  scope: AttributeValue | undefined;
  library: AttributeValue | undefined;
}

/**
 * A span's tags in one pass: the translation tags into their fields, the rest straight into the
 * attributes (one object per span, where reading every tag and then copying all but the
 * translation tags made two). Gives up (undefined) wherever that could differ from the two-step
 * read, which {@link convertSpan} then does: a translation tag whose value is not the translation's
 * (a numeric `span.kind` stays an attribute, where it was), `__proto__`, or enough tags for the
 * attributes to be built as compact pairs.
 */
export function readSpanTags(list: unknown): SpanTags | undefined {
  if (!Array.isArray(list) || list.length >= MANY_ATTRIBUTES) return undefined;
  const out: SpanTags = { attributes: {}, kind: undefined, status: undefined, description: undefined, error: undefined, scope: undefined, library: undefined };
  const attributes = out.attributes;
  for (let k = 0; k < list.length; k++) {
    const tag = list[k];
    if (!isObject(tag) || typeof tag.key !== 'string') return undefined;
    const key = tag.key;
    const value = tagValue(tag);
    switch (key) {
      case 'span.kind':
        out.kind = value;
        break;
      case 'otel.status_code':
        out.status = value;
        break;
      case 'otel.status_description':
        out.description = value;
        break;
      case 'error':
        out.error = value;
        break;
      case 'otel.scope.name':
        out.scope = value;
        break;
      case 'otel.library.name':
        out.library = value;
        break;
      case 'otel.scope.version':
      case 'otel.library.version':
      case 'w3c.tracestate':
        break;
      case '__proto__':
        return undefined;
      default:
        attributes[key] = value;
    }
  }
  if (out.kind !== undefined && typeof out.kind !== 'string') return undefined;
  if (out.status !== undefined && typeof out.status !== 'string') return undefined;
  if (out.description !== undefined && typeof out.description !== 'string') return undefined;
  if (out.error !== undefined && out.error !== true && out.error !== 'true') return undefined;
  return out;
}

/** The two-step read (every tag, then a copy without the translation tags): the reference {@link readSpanTags} agrees with. */
export function readSpanTagsInTwoSteps(list: unknown): SpanTags {
  const tags: Record<string, AttributeValue> = {};
  readTags(list, '.tags', tags);
  const kind = tags['span.kind'];
  const status = tags['otel.status_code'];
  const description = tags['otel.status_description'];
  const error = tags.error;
  const read =
    (typeof kind === 'string' ? READ_KIND : 0) |
    (typeof status === 'string' ? READ_STATUS : 0) |
    (typeof description === 'string' ? READ_DESCRIPTION : 0) |
    (error === true || error === 'true' ? READ_ERROR : 0);
  return { attributes: withoutTranslationTags(tags, read), kind, status, description, error, scope: tags['otel.scope.name'], library: tags['otel.library.name'] };
}

/**
 * One span of a v1 trace, its translation tags turned back into OTel fields. Error paths are
 * relative to the span (`.traceID`): the caller prefixes the span's own path when one is thrown,
 * as building a path string for every field of every span cost more than reading the field.
 */
function convertSpan(value: unknown, processes: Map<string, Readonly<Record<string, AttributeValue>>>, source: string): SpanRecord {
  if (!isObject(value)) throw new ShapeError('', `expected a span object, got ${describeValue(value)}`);
  const traceId = readTraceId(value.traceID, '.traceID');
  const spanId = readId(value.spanID, 16, '.spanID');
  const name = value.operationName;
  if (typeof name !== 'string') throw new ShapeError('.operationName', `expected a string, got ${describeValue(name)}`);
  const startUs = readMicros(value.startTime, '.startTime');
  const durationUs = value.duration === undefined ? 0 : readMicros(value.duration, '.duration');

  let parentSpanId = '';
  let links: SpanLinkRecord[] | undefined;
  const references = value.references;
  if (references !== undefined && references !== null) {
    if (!Array.isArray(references)) throw new ShapeError('.references', `expected an array, got ${describeValue(references)}`);
    for (let k = 0; k < references.length; k++) {
      const ref = references[k];
      if (!isObject(ref)) throw new ShapeError(`.references[${k}]`, `expected {"refType", "traceID", "spanID"}, got ${describeValue(ref)}`);
      let refTrace: string;
      let refSpan: string;
      try {
        refTrace = readTraceId(ref.traceID, '.traceID');
        refSpan = readId(ref.spanID, 16, '.spanID');
      } catch (error) {
        throw error instanceof ShapeError ? error.under(`.references[${k}]`) : error;
      }
      if (parentSpanId === '' && ref.refType === 'CHILD_OF' && refTrace === traceId) parentSpanId = refSpan;
      else (links ??= []).push({ traceId: refTrace, spanId: refSpan });
    }
  }
  // Older exports carry the parent beside the references.
  if (parentSpanId === '' && typeof value.parentSpanID === 'string' && value.parentSpanID !== '' && !/^0+$/.test(value.parentSpanID)) {
    parentSpanId = readId(value.parentSpanID, 16, '.parentSpanID');
  }

  const tags = readSpanTags(value.tags) ?? readSpanTagsInTwoSteps(value.tags);
  let kind: number = SpanKindNumber.Unspecified;
  const kindTag = tags.kind;
  if (typeof kindTag === 'string') kind = KINDS[kindTag.toLowerCase()] ?? SpanKindNumber.Unspecified;
  let statusCode: number = StatusCodeNumber.Unset;
  let statusMessage = '';
  const status = tags.status;
  if (typeof status === 'string') {
    const upper = status.toUpperCase();
    statusCode = upper === 'ERROR' || upper === 'STATUS_CODE_ERROR' ? StatusCodeNumber.Error : upper === 'OK' || upper === 'STATUS_CODE_OK' ? StatusCodeNumber.Ok : StatusCodeNumber.Unset;
  }
  const description = tags.description;
  if (typeof description === 'string') statusMessage = description;
  const error = tags.error;
  // The translator writes error=true beside an ERROR status; a native Jaeger client writes only it.
  if ((error === true || error === 'true') && statusCode === StatusCodeNumber.Unset) statusCode = StatusCodeNumber.Error;
  let scopeName = '';
  const scope = tags.scope ?? tags.library;
  if (typeof scope === 'string') scopeName = scope;
  const attributes = tags.attributes;

  let resource = typeof value.processID === 'string' ? processes.get(value.processID) : undefined;
  if (resource === undefined && value.process !== undefined) resource = resourceOf(value.process, '.process');
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startMs: startUs / 1000,
    endMs: (startUs + durationUs) / 1000,
    statusCode,
    statusMessage,
    attributes,
    links: links ?? NO_LINKS,
    events: readLogs(value.logs, '.logs'),
    resource: resource ?? EMPTY_RESOURCE,
    scopeName,
    source,
  };
}

const EMPTY_RESOURCE: Readonly<Record<string, AttributeValue>> = Object.freeze({});

function convertTrace(trace: unknown, source: string, path: string, out: SpanRecord[]): void {
  if (!isObject(trace)) throw new ShapeError(path, `expected a trace {traceID, spans, processes}, got ${describeValue(trace)}`);
  const spans = trace.spans;
  if (!Array.isArray(spans)) throw new ShapeError(`${path}.spans`, `expected an array, got ${describeValue(spans)}`);
  const processes = readProcesses(trace.processes, `${path}.processes`);
  for (let i = 0; i < spans.length; i++) {
    try {
      out.push(convertSpan(spans[i], processes, source));
    } catch (error) {
      throw error instanceof ShapeError ? error.under(`${path}.spans[${i}]`) : error;
    }
  }
}

/** Converts a v1 response, a single v1 trace, an array of them, or a v3 chunk. */
export function parseJaegerJson(value: unknown, source: string): SpanRecord[] {
  if (isObject(value) && 'result' in value) {
    if (!isObject(value.result)) throw new TraceInputError(source, `result: expected OTLP TracesData, got ${describeValue(value.result)}`);
    try {
      return parseOtlpJsonRequest(value.result, source);
    } catch (error) {
      if (error instanceof TraceInputError) throw new TraceInputError(source, `result.${error.reason}`);
      throw error;
    }
  }
  if (isObject(value) && isApiError(value)) {
    throw new TraceInputError(source, `the Jaeger API returned an error instead of traces: ${String((value.error as Json).message)}`);
  }
  const out: SpanRecord[] = [];
  try {
    if (Array.isArray(value)) {
      for (let t = 0; t < value.length; t++) convertTrace(value[t], source, `[${t}]`, out);
    } else if (isObject(value) && Array.isArray(value.data)) {
      for (let t = 0; t < value.data.length; t++) convertTrace(value.data[t], source, `data[${t}]`, out);
    } else {
      convertTrace(value, source, 'trace', out);
    }
  } catch (error) {
    if (error instanceof ShapeError) throw new TraceInputError(source, `${error.path}: ${error.message}`);
    throw error;
  }
  return out;
}

/**
 * Jaeger's JSON. `recognizes` looks for Jaeger's own keys only, so other
 * encodings with a top-level `data` array (an agent SDK's export) are not taken:
 * `data` must hold a trace with `traceID` and `spans` (or be empty beside
 * Jaeger's `total`/`limit`/`offset`/`errors`).
 */
export const jaegerJsonEncoding: JsonTraceEncoding = {
  id: 'jaeger-json',
  description: 'Jaeger JSON (the UI download and the v1 query API; the v3 API\'s {"result": OTLP})',
  recognizes(value) {
    if (Array.isArray(value)) return value.length > 0 && isJaegerTrace(value[0]);
    if (!isObject(value)) return false;
    if ('result' in value) return isObject(value.result) && 'resourceSpans' in value.result;
    if (isApiError(value)) return true;
    if (isJaegerTrace(value)) return true;
    const data = value.data;
    if (!Array.isArray(data)) return false;
    if (data.length > 0) return isJaegerTrace(data[0]);
    return 'total' in value && 'limit' in value && 'offset' in value && 'errors' in value;
  },
  toSpans: parseJaegerJson,
};
