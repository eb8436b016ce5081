/**
 * What OTLP receivers send back, in both encodings: the ExportTraceServiceResponse
 * (empty, or with `partial_success`), and the `google.rpc.Status` error body with
 * an optional `google.rpc.RetryInfo` detail. Also the per-span checks that decide
 * which spans are refused as partial success.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#partial-success
 * Status: https://github.com/googleapis/googleapis/blob/master/google/rpc/status.proto
 * RetryInfo: https://github.com/googleapis/googleapis/blob/master/google/rpc/error_details.proto
 */
import type { SpanRecord } from '../model/span-record.js';

/** gRPC status codes used here (the numbers of google.rpc.Code). */
export const RpcCode = { Ok: 0, InvalidArgument: 3, ResourceExhausted: 8, Internal: 13, Unavailable: 14 } as const;

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** A protobuf writer just big enough for these three small messages. */
class Writer {
  readonly #bytes: number[] = [];

  varint(value: number): this {
    let v = value;
    while (v >= 0x80) {
      this.#bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#bytes.push(v);
    return this;
  }

  tag(field: number, wireType: 0 | 2): this {
    return this.varint(field * 8 + wireType);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (let i = 0; i < data.length; i++) this.#bytes.push(data[i]!);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, Buffer.from(text, 'utf8'));
  }

  uint(field: number, value: number): this {
    return this.tag(field, 0).varint(value);
  }

  finish(): Buffer {
    return Buffer.from(this.#bytes);
  }
}

/** `RetryInfo { retry_delay: Duration }` as bytes. */
function encodeRetryInfo(retryAfterMs: number): Buffer {
  const seconds = Math.floor(retryAfterMs / 1000);
  const nanos = Math.round((retryAfterMs - seconds * 1000) * 1e6);
  const duration = new Writer();
  if (seconds > 0) duration.uint(1, seconds);
  if (nanos > 0) duration.uint(2, nanos);
  return new Writer().bytes(1, duration.finish()).finish();
}

/** A `google.rpc.Status` as protobuf, with a RetryInfo detail when `retryAfterMs` is given. */
export function encodeRpcStatus(code: number, message: string, retryAfterMs?: number): Buffer {
  const w = new Writer();
  if (code !== 0) w.uint(1, code);
  if (message !== '') w.string(2, message);
  if (retryAfterMs !== undefined) {
    const any = new Writer().string(1, RETRY_INFO_TYPE_URL).bytes(2, encodeRetryInfo(retryAfterMs)).finish();
    w.bytes(3, any);
  }
  return w.finish();
}

/** The same Status in the protobuf JSON mapping (what OTLP/HTTP JSON clients parse). */
export function rpcStatusJson(code: number, message: string, retryAfterMs?: number): string {
  const status: { code: number; message: string; details?: unknown[] } = { code, message };
  if (retryAfterMs !== undefined) {
    status.details = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: `${(retryAfterMs / 1000).toFixed(3).replace(/\.?0+$/, '')}s` }];
  }
  return JSON.stringify(status);
}

/**
 * An ExportTraceServiceResponse as protobuf: empty when nothing was refused, else
 * `partial_success { rejected_spans, error_message }`.
 */
export function encodeExportResponse(rejectedSpans: number, message: string): Buffer {
  if (rejectedSpans === 0 && message === '') return Buffer.alloc(0);
  const partial = new Writer();
  if (rejectedSpans > 0) partial.uint(1, rejectedSpans);
  if (message !== '') partial.string(2, message);
  return new Writer().bytes(1, partial.finish()).finish();
}

/** The same response as OTLP/JSON (int64 as a string, per the JSON mapping). */
export function exportResponseJson(rejectedSpans: number, message: string): string {
  if (rejectedSpans === 0 && message === '') return '{}';
  return JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage: message } });
}

const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';

/**
 * Splits a decoded request into the spans kept and the reason for the first one
 * refused. Refused: all-zero trace or span ids (invalid by the W3C and OTLP specs,
 * nothing could ever join them) and spans without a start or end time (no
 * latency can come from them). Everything else is kept, clock skew included:
 * a negative duration is a measurement to show, not to hide.
 */
export function partitionValidSpans(spans: SpanRecord[]): { kept: SpanRecord[]; rejected: number; reason: string } {
  let rejected = 0;
  let reason = '';
  let kept: SpanRecord[] | undefined;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    let why = '';
    if (span.traceId === ZERO_TRACE_ID) why = 'an all-zero trace id';
    else if (span.spanId === ZERO_SPAN_ID) why = 'an all-zero span id';
    else if (!(span.startMs > 0) || !(span.endMs > 0)) why = 'no start or end time';
    if (why === '') {
      kept?.push(span);
      continue;
    }
    // Copy only once something is refused: the common all-valid request is returned as is.
    if (kept === undefined) kept = spans.slice(0, i);
    rejected++;
    if (reason === '') reason = `span ${i} (${span.spanId}) has ${why}`;
  }
  return { kept: kept ?? spans, rejected, reason };
}

/**
 * How many spans an OTLP trace request holds, without decoding it: for protobuf a
 * walk of the framing only (ExportTraceServiceRequest.resource_spans →
 * ResourceSpans.scope_spans → ScopeSpans.spans, every other field skipped), for
 * JSON a parse and a count of the `spans` arrays. For counting spans refused
 * before decoding (overload): a body that does not frame counts what framed.
 */
export function countRequestSpans(body: Uint8Array, encoding: 'protobuf' | 'json'): number {
  if (encoding === 'json') {
    try {
      const request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as { resourceSpans?: unknown };
      let n = 0;
      if (!Array.isArray(request?.resourceSpans)) return 0;
      for (const rs of request.resourceSpans as { scopeSpans?: unknown }[]) {
        if (!Array.isArray(rs?.scopeSpans)) continue;
        for (const ss of rs.scopeSpans as { spans?: unknown }[]) if (Array.isArray(ss?.spans)) n += ss.spans.length;
      }
      return n;
    } catch {
      return 0;
    }
  }
  // Field numbers of the messages along the path: 1 in the request, 2 in ResourceSpans, 2 in ScopeSpans.
  return countFields(body, 0, body.length, [1, 2, 2], 0);
}

/** Counts, inside [start, end), the length-delimited fields `path[depth]` (recursing along the path). */
function countFields(bytes: Uint8Array, start: number, end: number, path: readonly number[], depth: number): number {
  let n = 0;
  let at = start;
  while (at < end) {
    const tag = readVarint(bytes, at, end);
    if (tag === undefined) return n;
    at = tag.next;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    let next: number;
    if (wireType === 0) {
      const v = readVarint(bytes, at, end);
      if (v === undefined) return n;
      next = v.next;
    } else if (wireType === 1) next = at + 8;
    else if (wireType === 5) next = at + 4;
    else if (wireType === 2) {
      const length = readVarint(bytes, at, end);
      if (length === undefined) return n;
      at = length.next;
      next = at + length.value;
      if (next > end) return n;
      if (field === path[depth]) n += depth === path.length - 1 ? 1 : countFields(bytes, at, next, path, depth + 1);
    } else return n;
    at = next;
  }
  return n;
}

function readVarint(bytes: Uint8Array, start: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let at = start; at < end && at < start + 10; at++) {
    const byte = bytes[at]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return { value, next: at + 1 };
  }
  return undefined;
}
