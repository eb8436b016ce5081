/**
 * The minimal span the analyzer works on, whatever encoding it was read from.
 *
 * Like jaeger-ui's critical-path span type, it holds only what analysis needs,
 * so readers can drop the rest of OTLP early. Times are float milliseconds since
 * the Unix epoch: OTLP's uint64 nanoseconds do not fit a double exactly, and
 * sub-microsecond error is far below any coordination latency worth reporting.
 */

/** An attribute value as OTLP carries it (bytes arrive as base64 strings). */
export type AttributeValue = string | number | boolean | readonly AttributeValue[] | null;

/**
 * From this many attributes on, a span's attributes are built from key-value pairs with
 * Object.fromEntries instead of one keyed store each: V8 turns an object given 20 or more
 * properties by keyed stores into a hash table (dictionary mode: about 1.5 KB for a handoff span's
 * 25 attributes, against a few hundred bytes), while Object.fromEntries lays the same keys out, in
 * the same order, as a compact fast-mode object. Below it, keyed stores are the faster build.
 * Object.fromEntries defines each key as an own data property, `__proto__` included, as
 * the ingest's setAttribute does; a repeated key keeps its first position and its last value, as there.
 */
export const MANY_ATTRIBUTES = 20;

/** OTLP SpanKind numbers. */
export const SpanKindNumber = {
  Unspecified: 0,
  Internal: 1,
  Server: 2,
  Client: 3,
  Producer: 4,
  Consumer: 5,
} as const;

/** OTLP status codes. */
export const StatusCodeNumber = { Unset: 0, Ok: 1, Error: 2 } as const;

export interface SpanLinkRecord {
  readonly traceId: string;
  readonly spanId: string;
}

export interface SpanEventRecord {
  readonly name: string;
  readonly timeMs: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** One span, normalized. Ids are lowercase hex. */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty string for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly links: readonly SpanLinkRecord[];
  readonly events: readonly SpanEventRecord[];
  /** Attributes of the resource that emitted the span; shared between its spans, never copied. */
  readonly resource: Readonly<Record<string, AttributeValue>>;
  readonly scopeName: string;
  /** Where the span was read from (`file:line` or `file`), for error messages and evidence. */
  readonly source: string;
}
