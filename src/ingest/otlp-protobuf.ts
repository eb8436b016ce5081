/**
 * OTLP protobuf → SpanRecord, decoded by protobufjs from the official
 * opentelemetry-proto definitions (vendored in ./proto, compiled to
 * ./otlp-trace.descriptor.json by scripts/generate-otlp-descriptor.ts).
 *
 * A file holds either one bare ExportTraceServiceRequest (what OTLP/HTTP posts
 * and most tools write as .binpb), or a sequence of them, each prefixed by its
 * length: as a varint (protobuf's delimited format, which the OTLP file-exporter
 * spec asks for) or as a 4-byte big-endian integer (the Collector's file exporter).
 * Spec: https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md
 */
import protobuf from 'protobufjs/light.js';
import { TraceInputError } from '../model/errors.js';
import type { AttributeValue, SpanEventRecord, SpanLinkRecord, SpanRecord } from '../model/span-record.js';
import descriptor from './otlp-trace.descriptor.json' with { type: 'json' };

const REQUEST_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

let requestType: protobuf.Type | undefined;

/** The ExportTraceServiceRequest type, built once from the descriptor. */
function exportTraceServiceRequest(): protobuf.Type {
  requestType ??= protobuf.Root.fromJSON(descriptor as protobuf.INamespace).lookupType(REQUEST_TYPE);
  return requestType;
}

/**
 * Decodes one ExportTraceServiceRequest (or TracesData: the same field 1).
 * @throws TraceInputError naming `source` and the byte offset when it does not decode.
 */
export function decodeOtlpProtobuf(bytes: Uint8Array, source: string, byteOffset = 0): SpanRecord[] {
  const type = exportTraceServiceRequest();
  let message: DecodedRequest;
  try {
    message = type.decode(bytes) as unknown as DecodedRequest;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // protobufjs names the reader position in its messages ("index out of range: 21 + 4474 > 512", "... at offset 3").
    const at = /index out of range: (\d+)|at offset (\d+)/.exec(reason);
    const byte = at ? byteOffset + Number(at[1] ?? at[2]) : undefined;
    throw new TraceInputError(byte === undefined ? source : `${source} (byte ${byte})`, `not an OTLP protobuf trace request: ${reason}`);
  }
  try {
    return convertRequest(message, source);
  } catch (error) {
    if (error instanceof ShapeError) throw new TraceInputError(source, `${error.path}: ${error.message}`);
    throw error;
  }
}

// The decoded message, as protobufjs builds it from the descriptor: camelCase fields, absent
// fields read from prototype defaults, bytes as Uint8Array, 64-bit integers as Long (or number).
interface LongLike {
  toNumber(): number;
}
type Int64 = number | LongLike;
interface DecodedAnyValue {
  /** The oneof: the name of the field that is set. */
  readonly value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
  readonly stringValue: string;
  readonly boolValue: boolean;
  readonly intValue: Int64;
  readonly doubleValue: number;
  readonly arrayValue: { readonly values: readonly DecodedAnyValue[] } | null;
  readonly kvlistValue: { readonly values: readonly DecodedKeyValue[] } | null;
  readonly bytesValue: Uint8Array;
}
interface DecodedKeyValue {
  readonly key: string;
  readonly value: DecodedAnyValue | null;
}
interface DecodedSpan {
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly parentSpanId: Uint8Array;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: Int64;
  readonly endTimeUnixNano: Int64;
  readonly attributes: readonly DecodedKeyValue[];
  readonly events: readonly { readonly timeUnixNano: Int64; readonly name: string; readonly attributes: readonly DecodedKeyValue[] }[];
  readonly links: readonly { readonly traceId: Uint8Array; readonly spanId: Uint8Array }[];
  readonly status: { readonly code: number; readonly message: string } | null;
}
interface DecodedRequest {
  readonly resourceSpans: readonly {
    readonly resource: { readonly attributes: readonly DecodedKeyValue[] } | null;
    readonly scopeSpans: readonly { readonly scope: { readonly name: string } | null; readonly spans: readonly DecodedSpan[] }[];
  }[];
}

class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const NO_LINKS: readonly SpanLinkRecord[] = Object.freeze([]);
const NO_EVENTS: readonly SpanEventRecord[] = Object.freeze([]);
const NO_ATTRIBUTES: Readonly<Record<string, AttributeValue>> = Object.freeze({});

/**
 * Decoded message → spans, directly: the same result as the OTLP/JSON reader gives
 * for the same data (a test holds both to it), without an intermediate JSON shape.
 */
function convertRequest(request: DecodedRequest, source: string): SpanRecord[] {
  const out: SpanRecord[] = [];
  const resourceSpans = request.resourceSpans;
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = resourceSpans[r]!;
    const resource = rs.resource ? convertAttributes(rs.resource.attributes) : NO_ATTRIBUTES;
    for (let s = 0; s < rs.scopeSpans.length; s++) {
      const ss = rs.scopeSpans[s]!;
      const scopeName = ss.scope?.name ?? '';
      for (let i = 0; i < ss.spans.length; i++) {
        const span = ss.spans[i]!;
        const path = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
        out.push({
          traceId: idOf(span.traceId, 16, path, 'traceId'),
          spanId: idOf(span.spanId, 8, path, 'spanId'),
          parentSpanId: span.parentSpanId.length === 0 ? '' : idOf(span.parentSpanId, 8, path, 'parentSpanId'),
          name: span.name,
          kind: span.kind,
          startMs: nanosToMs(span.startTimeUnixNano),
          endMs: nanosToMs(span.endTimeUnixNano),
          statusCode: span.status?.code ?? 0,
          statusMessage: span.status?.message ?? '',
          attributes: span.attributes.length === 0 ? NO_ATTRIBUTES : convertAttributes(span.attributes),
          links: span.links.length === 0 ? NO_LINKS : span.links.map((l, k) => ({
            traceId: idOf(l.traceId, 16, path, `links[${k}].traceId`),
            spanId: idOf(l.spanId, 8, path, `links[${k}].spanId`),
          })),
          events:
            span.events.length === 0
              ? NO_EVENTS
              : span.events.map((e) => ({ name: e.name, timeMs: nanosToMs(e.timeUnixNano), attributes: convertAttributes(e.attributes) })),
          resource,
          scopeName,
          source,
        });
      }
    }
  }
  return out;
}

function idOf(bytes: Uint8Array, length: number, path: string, field: string): string {
  if (bytes.length !== length) throw new ShapeError(`${path}.${field}`, `expected a ${length}-byte id, got ${bytes.length} bytes`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function nanosToMs(value: Int64): number {
  // As in the JSON reader: the double keeps ~256 ns of the uint64 nanoseconds.
  return (typeof value === 'number' ? value : value.toNumber()) / 1e6;
}

function convertAttributes(list: readonly DecodedKeyValue[]): Readonly<Record<string, AttributeValue>> {
  const attributes: Record<string, AttributeValue> = {};
  for (let k = 0; k < list.length; k++) {
    const kv = list[k]!;
    attributes[kv.key] = kv.value ? convertAnyValue(kv.value) : null;
  }
  return attributes;
}

function convertAnyValue(v: DecodedAnyValue): AttributeValue {
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'intValue':
      return typeof v.intValue === 'number' ? v.intValue : v.intValue.toNumber();
    case 'doubleValue':
      return v.doubleValue;
    case 'boolValue':
      return v.boolValue;
    case 'arrayValue':
      return v.arrayValue ? v.arrayValue.values.map(convertAnyValue) : [];
    case 'kvlistValue': {
      const object: Record<string, AttributeValue> = {};
      for (const kv of v.kvlistValue?.values ?? []) object[kv.key] = kv.value ? convertAnyValue(kv.value) : null;
      return JSON.stringify(object);
    }
    case 'bytesValue':
      return Buffer.from(v.bytesValue.buffer, v.bytesValue.byteOffset, v.bytesValue.length).toString('base64');
    default:
      return null;
  }
}

/** How the messages in a protobuf file are framed. */
export type ProtobufFraming = 'single' | 'varint-delimited' | 'uint32-delimited';

/** The first byte of an ExportTraceServiceRequest: field 1 (resource_spans), wire type 2. */
const REQUEST_FIRST_BYTE = 0x0a;

/**
 * Tells how `bytes` (a whole file) is framed: a delimited framing is taken only
 * when its lengths chain exactly to the end and every message starts like a request.
 */
export function detectProtobufFraming(bytes: Uint8Array): ProtobufFraming {
  if (chainsExactly(bytes, readUint32Length)) return 'uint32-delimited';
  if (bytes[0] !== REQUEST_FIRST_BYTE && chainsExactly(bytes, readVarintLength)) return 'varint-delimited';
  return 'single';
}

type LengthReader = (bytes: Uint8Array, offset: number) => { length: number; headerBytes: number } | undefined;

function readUint32Length(bytes: Uint8Array, offset: number): { length: number; headerBytes: number } | undefined {
  if (offset + 4 > bytes.length) return undefined;
  const length = ((bytes[offset]! << 24) >>> 0) + (bytes[offset + 1]! << 16) + (bytes[offset + 2]! << 8) + bytes[offset + 3]!;
  return { length, headerBytes: 4 };
}

function readVarintLength(bytes: Uint8Array, offset: number): { length: number; headerBytes: number } | undefined {
  let length = 0;
  for (let i = 0; i < 5 && offset + i < bytes.length; i++) {
    const byte = bytes[offset + i]!;
    length += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { length, headerBytes: i + 1 };
  }
  return undefined;
}

function chainsExactly(bytes: Uint8Array, read: LengthReader): boolean {
  if (bytes.length === 0) return false;
  let offset = 0;
  while (offset < bytes.length) {
    const frame = read(bytes, offset);
    if (frame === undefined || frame.length === 0) return false;
    const start = offset + frame.headerBytes;
    if (bytes[start] !== REQUEST_FIRST_BYTE) return false;
    offset = start + frame.length;
  }
  return offset === bytes.length;
}

/** One framed message: its bytes and where it starts in the file. */
export interface ProtobufFrame {
  readonly bytes: Uint8Array;
  readonly byteOffset: number;
}

/** Splits a whole protobuf file into its request messages. */
export function* splitProtobufFrames(bytes: Uint8Array, framing: ProtobufFraming = detectProtobufFraming(bytes)): Generator<ProtobufFrame> {
  if (framing === 'single') {
    yield { bytes, byteOffset: 0 };
    return;
  }
  const read = framing === 'uint32-delimited' ? readUint32Length : readVarintLength;
  let offset = 0;
  while (offset < bytes.length) {
    const frame = read(bytes, offset)!;
    const start = offset + frame.headerBytes;
    yield { bytes: bytes.subarray(start, start + frame.length), byteOffset: start };
    offset = start + frame.length;
  }
}
