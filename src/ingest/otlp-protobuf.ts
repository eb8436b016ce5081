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
import { TraceInputError } from './errors.js';
import { type AttributeValue, type SpanEventRecord, type SpanLinkRecord, type SpanRecord } from '../model/span-record.js';
import { attributeOfTree, MAX_ATTRIBUTE_NESTING, newKeyValueNode, type AttributeTree } from './any-value.js';
import { AttributeShapes } from '../model/attribute-shapes.js';
import descriptor from './otlp-trace.descriptor.json' with { type: 'json' };

const REQUEST_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

let requestType: protobuf.Type | undefined;

/**
 * The ExportTraceServiceRequest type, built once from the descriptor, with AnyValue
 * decoded by {@link decodeAnyValue} instead of protobufjs's generated decoder: that
 * one recurses per level (and refuses past 100 message levels, valid OTLP the
 * Collector accepts), and its result would be walked again to convert it.
 */
function exportTraceServiceRequest(): protobuf.Type {
  if (requestType) return requestType;
  const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  const anyValue = root.lookupType(ANY_VALUE_TYPE);
  // Generated decoders call `types[i].decode(reader, length, …)` on the field's type at each call.
  anyValue.setup();
  anyValue.decode = ((reader: protobuf.Reader, length?: number) => ({
    tree: decodeAnyValue(reader, length ?? reader.len - reader.pos, 0),
  })) as unknown as typeof anyValue.decode;
  // KeyValue too, so that its key goes through the key cache below.
  const keyValue = root.lookupType(KEY_VALUE_TYPE);
  keyValue.setup();
  keyValue.decode = ((reader: protobuf.Reader, length?: number) =>
    decodeKeyValueMessage(reader, length ?? reader.len - reader.pos)) as unknown as typeof keyValue.decode;
  requestType = root.lookupType(REQUEST_TYPE);
  return requestType;
}

const ANY_VALUE_TYPE = 'opentelemetry.proto.common.v1.AnyValue';
const KEY_VALUE_TYPE = 'opentelemetry.proto.common.v1.KeyValue';

/**
 * protobufjs's Buffer reader, except that a string whose length runs past its
 * message is an error: protobufjs cuts it at the end and reads on, so a corrupt
 * length became a span name holding the bytes after it, and the span was accepted.
 */
class StrictBufferReader extends protobuf.BufferReader {
  override string(): string {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.len) throw new RangeError(`index out of range: ${this.pos} + ${length} > ${this.len}`);
    const text = utf8Of(this.buf as Buffer, this.pos, end);
    this.pos = end;
    return text;
  }
}

/**
 * Buffer's own slice decoders. `toString(encoding, start, end)` reaches them through a
 * wrapper that checks its arguments and looks the encoding up on every call: for the
 * few-byte strings and ids of a span (a dozen per span) that wrapper cost more than the
 * decoding itself (13% of a bare decoding receiver's CPU). They are on Buffer.prototype in
 * every Node release; toString stays the fallback should one ever go.
 */
interface BufferSlicers {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}
const SLICERS = typeof (Buffer.prototype as unknown as Partial<BufferSlicers>).utf8Slice === 'function' && typeof (Buffer.prototype as unknown as Partial<BufferSlicers>).hexSlice === 'function';

function utf8Of(buffer: Buffer, start: number, end: number): string {
  return SLICERS ? (buffer as unknown as BufferSlicers).utf8Slice(start, end) : buffer.toString('utf8', start, end);
}

/** The wire type of each AnyValue field, by field number: string, bool, int64, double, array, kvlist, bytes, strindex. */
const ANY_VALUE_WIRE_TYPES: readonly (number | undefined)[] = [undefined, 2, 0, 0, 1, 2, 2, 2, 0];

/** Thrown for bytes that end or overrun a nested message; protobufjs's own reads name the position. */
function outOfRange(reader: protobuf.Reader, length: number): RangeError {
  return new RangeError(`index out of range: ${reader.pos} + ${length} > ${reader.len}`);
}

/**
 * One AnyValue (the `length` bytes at the reader) as a tree at most
 * MAX_ATTRIBUTE_NESTING deep, `depth` levels being above it. A nested array or
 * key-value list past the cap is skipped by its length, unread.
 */
function decodeAnyValue(reader: protobuf.Reader, length: number, depth: number): AttributeTree {
  const end = reader.pos + length;
  if (end > reader.len) throw outOfRange(reader, length);
  const outer = reader.len;
  reader.len = end;
  let tree: AttributeTree = null;
  while (reader.pos < end) {
    const tag = reader.uint32();
    // A field on the wrong wire type is skipped as unknown, never read as its declared type.
    if (ANY_VALUE_WIRE_TYPES[tag >>> 3] !== (tag & 7)) {
      reader.skipType(tag & 7);
      continue;
    }
    switch (tag >>> 3) {
      case 1:
        tree = reader.string();
        break;
      case 2:
        tree = reader.bool();
        break;
      case 3:
        tree = int64ToNumber(reader.int64() as unknown as Int64);
        break;
      case 4:
        tree = reader.double();
        break;
      case 5:
        tree = decodeList(reader, reader.uint32(), depth, false);
        break;
      case 6:
        tree = decodeList(reader, reader.uint32(), depth, true);
        break;
      case 7: {
        const bytes = reader.bytes();
        tree = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
        break;
      }
      default:
        // string_value_strindex: a profiles dictionary index, no text here.
        tree = null;
        reader.skipType(tag & 7);
    }
  }
  if (reader.pos !== end) throw outOfRange(reader, 0);
  reader.len = outer;
  return tree;
}

/** An ArrayValue or KeyValueList (both: repeated field 1) of `length` bytes. */
function decodeList(reader: protobuf.Reader, length: number, depth: number, keyed: boolean): AttributeTree {
  const end = reader.pos + length;
  if (end > reader.len) throw outOfRange(reader, length);
  if (depth >= MAX_ATTRIBUTE_NESTING) {
    reader.pos = end;
    return null;
  }
  const outer = reader.len;
  reader.len = end;
  const items: AttributeTree[] = [];
  const object = keyed ? newKeyValueNode() : undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      reader.skipType(tag & 7);
      continue;
    }
    const itemLength = reader.uint32();
    if (object) decodeKeyValue(reader, itemLength, depth + 1, object);
    else items.push(decodeAnyValue(reader, itemLength, depth + 1));
  }
  if (reader.pos !== end) throw outOfRange(reader, 0);
  reader.len = outer;
  return object ?? items;
}

/**
 * One attribute (KeyValue: key 1, value 2; key_strindex 3, a profiles field, skipped) of
 * `length` bytes, as the span converter reads it. A field on the wrong wire type is skipped.
 */
function decodeKeyValueMessage(reader: protobuf.Reader, length: number): DecodedKeyValue {
  const end = reader.pos + length;
  if (end > reader.len) throw outOfRange(reader, length);
  const outer = reader.len;
  reader.len = end;
  let key = '';
  let value: DecodedAnyValue | null = null;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === KEY_TAG) {
      const keyLength = reader.uint32();
      const keyEnd = reader.pos + keyLength;
      if (keyEnd > end) throw outOfRange(reader, keyLength);
      key = attributeKeyOf(reader.buf as Buffer, reader.pos, keyEnd);
      reader.pos = keyEnd;
    } else if (tag === VALUE_TAG) value = { tree: decodeAnyValue(reader, reader.uint32(), 0) };
    else reader.skipType(tag & 7);
  }
  if (reader.pos !== end) throw outOfRange(reader, 0);
  reader.len = outer;
  return { key, value };
}

/** Field 1 and field 2 of KeyValue, both length-delimited (wire type 2). */
const KEY_TAG = (1 << 3) | 2;
const VALUE_TAG = (2 << 3) | 2;

/**
 * Attribute keys, by their bytes: a span's dozen keys are nearly always ones seen before
 * (`gen_ai.agent.name`, `baton.handoff.id`), so a hit returns the string made last time,
 * already internalized by its use as a property name, instead of decoding it again and
 * having V8 look it up in its string table at every store. Direct-mapped, KEY_CACHE_SLOTS
 * slots of keys up to KEY_CACHE_MAX_BYTES bytes (a longer key is decoded as any string); a
 * key whose slot another key took is decoded and takes it back. The bytes are copied into
 * one fixed array: a request's body is never kept alive by the cache.
 */
const KEY_CACHE_SLOTS = 1024;
const KEY_CACHE_MAX_BYTES = 64;
const keyCacheBytes = new Uint8Array(KEY_CACHE_SLOTS * KEY_CACHE_MAX_BYTES);
const keyCacheLengths = new Int32Array(KEY_CACHE_SLOTS).fill(-1);
const keyCacheStrings: string[] = new Array<string>(KEY_CACHE_SLOTS).fill('');

function attributeKeyOf(buffer: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length > KEY_CACHE_MAX_BYTES) return utf8Of(buffer, start, end);
  let hash = length;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + buffer[i]!) | 0;
  const slot = (hash ^ (hash >>> 16)) & (KEY_CACHE_SLOTS - 1);
  const at = slot * KEY_CACHE_MAX_BYTES;
  if (keyCacheLengths[slot] === length) {
    let i = 0;
    while (i < length && keyCacheBytes[at + i] === buffer[start + i]) i++;
    if (i === length) return keyCacheStrings[slot]!;
  }
  const key = utf8Of(buffer, start, end);
  keyCacheBytes.set(buffer.subarray(start, end), at);
  keyCacheLengths[slot] = length;
  keyCacheStrings[slot] = key;
  return key;
}

/** One KeyValue (key 1, value 2) of `length` bytes, stored into `object`. */
function decodeKeyValue(reader: protobuf.Reader, length: number, depth: number, object: { [key: string]: AttributeTree }): void {
  const end = reader.pos + length;
  if (end > reader.len) throw outOfRange(reader, length);
  const outer = reader.len;
  reader.len = end;
  let key = '';
  let value: AttributeTree = null;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) key = reader.string();
    else if (tag >>> 3 === 2 && (tag & 7) === 2) value = decodeAnyValue(reader, reader.uint32(), depth);
    else reader.skipType(tag & 7);
  }
  if (reader.pos !== end) throw outOfRange(reader, 0);
  reader.len = outer;
  object[key] = value;
}

/**
 * Decodes one ExportTraceServiceRequest (or TracesData: the same field 1).
 * @throws TraceInputError naming `source` and the byte offset when it does not decode.
 */
export function decodeOtlpProtobuf(bytes: Uint8Array, source: string, byteOffset = 0): SpanRecord[] {
  const type = exportTraceServiceRequest();
  let message: DecodedRequest;
  try {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    message = type.decode(new StrictBufferReader(buffer)) as unknown as DecodedRequest;
  } catch (error) {
    // protobufjs says "index out of range" without saying where or in what: the wire walk below tells both.
    const fault = locateProtobufFault(bytes, type);
    if (fault) {
      throw new TraceInputError(`${source} (byte ${byteOffset + fault.offset})`, `not an OTLP protobuf trace request: ${fault.path}: ${fault.problem}`);
    }
    const reason = error instanceof Error ? error.message : String(error);
    // protobufjs names the reader position in some messages ("index out of range: 21 + 4474 > 512", "... at offset 3").
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
  /** The two 32-bit halves (int32: `>>> 0` reads them unsigned). */
  readonly high: number;
  readonly low: number;
  toNumber(): number;
}
type Int64 = number | LongLike;
/** What the AnyValue decoder above returns, boxed (a bare tree may be falsy, and protobufjs reads null as unset). */
interface DecodedAnyValue {
  readonly tree: AttributeTree;
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
  if (bytes.length !== length) throw new ShapeError(`${path}.${field}`, `expected ${length === 8 ? 'an' : 'a'} ${length}-byte id, got ${bytes.length} bytes`);
  // protobufjs's Buffer reader hands out bytes fields as Buffers already: no second view needed.
  if (SLICERS && Buffer.isBuffer(bytes)) return (bytes as unknown as BufferSlicers).hexSlice(0, length);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function nanosToMs(value: Int64): number {
  // As in the JSON reader, exact to the nanosecond: whole milliseconds stay whole (the uint64 as one double
  // is ±128 ns off past 2^53). high·2^32 = high·4294·10^6 + high·967296, and high·967296 + low < 2^53.
  if (typeof value === 'number') return Math.round(value / 1e3) / 1e3;
  const rest = (value.high >>> 0) * 967_296 + (value.low >>> 0);
  const nanos = rest % 1e6;
  const whole = (value.high >>> 0) * 4294 + (rest - nanos) / 1e6;
  return nanos === 0 ? whole : whole + nanos / 1e6;
}

function int64ToNumber(value: Int64): number {
  return typeof value === 'number' ? value : value.toNumber();
}

function convertAttributes(list: readonly DecodedKeyValue[]): Readonly<Record<string, AttributeValue>> {
  SHAPES.start();
  for (let k = 0; k < list.length; k++) {
    const kv = list[k]!;
    SHAPES.add(kv.key, kv.value ? attributeOfTree(kv.value.tree) : null);
  }
  return SHAPES.finish();
}

/** Attribute maps of every span, event and resource this reader converts (one at a time). */
const SHAPES = new AttributeShapes();

/** Where a message stops following the wire format: its byte, the field's path, and what is wrong. */
interface ProtobufFault {
  readonly offset: number;
  readonly path: string;
  readonly problem: string;
}

interface WalkFrame {
  readonly type: protobuf.Type | undefined;
  readonly end: number;
  readonly path: string;
  /** Entries seen so far per repeated field id, for `[i]` in paths. */
  readonly counts: Map<number, number>;
}

/** Path segments kept in a fault's path: the outermost few, then `…` and the innermost few. */
const MAX_PATH_FRAMES = 12;

/**
 * Walks `bytes` by the wire format alone, naming fields from `root`'s descriptor, and
 * returns the first place the encoding breaks (a length past its message's end, a
 * truncated varint, an invalid wire type), or undefined when the wire format holds
 * and the fault is in a value. Iterative: nesting depth costs no stack.
 * Wire format: https://protobuf.dev/programming-guides/encoding/
 */
export function locateProtobufFault(bytes: Uint8Array, root: protobuf.Type): ProtobufFault | undefined {
  const stack: WalkFrame[] = [{ type: root, end: bytes.length, path: '', counts: new Map() }];
  let pos = 0;
  let depth = 0;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (pos === frame.end) {
      stack.pop();
      depth--;
      continue;
    }
    const tagStart = pos;
    const tag = readVarint(bytes, pos, frame.end);
    if (tag === undefined) return { offset: tagStart, path: frame.path || '(message)', problem: 'truncated field tag (a varint runs past the end of its message)' };
    pos = tag.next;
    const id = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    const field = frame.type?.fieldsById[id];
    const index = frame.counts.get(id) ?? 0;
    frame.counts.set(id, index + 1);
    const name = field ? (field.repeated ? `${field.name}[${index}]` : field.name) : `field ${id}`;
    const path = frame.path === '' ? name : depth < MAX_PATH_FRAMES ? `${frame.path}.${name}` : frame.path.endsWith('…') ? frame.path : `${frame.path}.…`;
    if (id === 0) return { offset: tagStart, path: frame.path || '(message)', problem: 'field number 0 (not a protobuf message here)' };
    switch (wireType) {
      case 0: {
        const value = readVarint(bytes, pos, frame.end);
        if (value === undefined) return { offset: pos, path, problem: 'truncated varint' };
        pos = value.next;
        break;
      }
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (pos + size > frame.end) return { offset: pos, path, problem: `${size}-byte value runs past the end of its message (byte ${frame.end})` };
        pos += size;
        break;
      }
      case 2: {
        const length = readVarint(bytes, pos, frame.end);
        if (length === undefined) return { offset: pos, path, problem: 'truncated length' };
        pos = length.next;
        if (pos + length.value > frame.end) {
          const problem =
            stack.length === 1
              ? `length ${length.value} runs past the end of the data (${frame.end - pos} bytes left; truncated?)`
              : `length ${length.value} runs past the end of its message (${frame.end - pos} bytes left)`;
          return { offset: tagStart, path, problem };
        }
        const resolved = field?.resolve().resolvedType;
        if (resolved instanceof protobuf.Type) {
          stack.push({ type: resolved, end: pos + length.value, path, counts: new Map() });
          depth++;
        } else pos += length.value;
        break;
      }
      default:
        return { offset: tagStart, path, problem: `wire type ${wireType}, which OTLP never uses (not a protobuf message here)` };
    }
  }
  return undefined;
}

function readVarint(bytes: Uint8Array, start: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 10 && start + i < end; i++) {
    const byte = bytes[start + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: start + i + 1 };
  }
  return undefined;
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
