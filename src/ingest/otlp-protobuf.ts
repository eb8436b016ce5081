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
import type { SpanRecord } from '../model/span-record.js';
import descriptor from './otlp-trace.descriptor.json' with { type: 'json' };
import { parseOtlpJsonRequest } from './otlp-json.js';

const REQUEST_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

let requestType: protobuf.Type | undefined;

/** The ExportTraceServiceRequest type, built once from the descriptor. */
function exportTraceServiceRequest(): protobuf.Type {
  requestType ??= protobuf.Root.fromJSON(descriptor as protobuf.INamespace).lookupType(REQUEST_TYPE);
  return requestType;
}

/**
 * The protobuf JSON mapping of the decoded message: camelCase keys, int64 as
 * decimal strings and bytes as base64, which the OTLP/JSON reader accepts, so
 * both encodings go through one conversion and cannot disagree.
 */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, bytes: String, enums: Number, defaults: false };

/**
 * Decodes one ExportTraceServiceRequest (or TracesData: the same field 1).
 * @throws TraceInputError naming `source` and the byte offset when it does not decode.
 */
export function decodeOtlpProtobuf(bytes: Uint8Array, source: string, byteOffset = 0): SpanRecord[] {
  const type = exportTraceServiceRequest();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // protobufjs names the reader position in its messages ("index out of range: 21 + 4474 > 512", "... at offset 3").
    const at = /index out of range: (\d+)|at offset (\d+)/.exec(reason);
    const byte = at ? byteOffset + Number(at[1] ?? at[2]) : undefined;
    throw new TraceInputError(byte === undefined ? source : `${source} (byte ${byte})`, `not an OTLP protobuf trace request: ${reason}`);
  }
  return parseOtlpJsonRequest(type.toObject(message, TO_OBJECT), source);
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
