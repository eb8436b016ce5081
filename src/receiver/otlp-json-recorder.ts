/**
 * `--record`: everything a live session accepted, written as OTLP/JSON Lines
 * (one ExportTraceServiceRequest per accepted batch, as the Collector's file
 * exporter writes), so the session can be audited later with `baton audit`.
 *
 * The file is opened exclusively: an existing file is refused, or appended to
 * when asked, never overwritten. Spans are written as Baton read them (ids in
 * hex, times in the nanoseconds that read back as the same milliseconds, attributes with their
 * types; a key-value list attribute, which Baton reads as its JSON text, is
 * written as that text).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { AttributeValue, SpanRecord } from '../model/span-record.js';

/** Options of {@link openOtlpJsonRecorder}. */
export interface OtlpJsonRecorderOptions {
  /** Append to an existing file instead of refusing it. Default false. */
  readonly append?: boolean;
}

/** An open recording. */
export interface OtlpJsonRecorder {
  readonly path: string;
  /** Spans written so far. */
  readonly spans: number;
  /** Queues one batch as one line. */
  write(spans: readonly SpanRecord[]): void;
  /** Queues one line already serialized (one ExportTraceServiceRequest of `spans` spans, as `write` makes it, without its newline). */
  writeLine(line: string, spans: number): void;
  /** Flushes and closes; resolves when the bytes are on disk (rejects with a write error). */
  close(): Promise<void>;
}

/**
 * Opens `path` for recording; resolves once it is open.
 * @throws the open error (EEXIST when the file exists and `append` is not set).
 */
export async function openOtlpJsonRecorder(path: string, options: OtlpJsonRecorderOptions = {}): Promise<OtlpJsonRecorder> {
  const stream: WriteStream = createWriteStream(path, { flags: options.append ? 'a' : 'wx' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  let error: Error | undefined;
  stream.on('error', (e) => (error = e));
  let spans = 0;
  return {
    path,
    get spans() {
      return spans;
    },
    write(batch) {
      if (batch.length === 0 || error) return;
      spans += batch.length;
      stream.write(`${JSON.stringify(spansToOtlpJson(batch))}\n`);
    },
    writeLine(line, count) {
      if (count === 0 || error) return;
      spans += count;
      stream.write(`${line}\n`);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        stream.end(() => (error ? reject(error) : resolve()));
      }),
  };
}

type Json = Record<string, unknown>;

/** Spans → one OTLP/JSON ExportTraceServiceRequest, grouped by resource and scope as they came. */
export function spansToOtlpJson(spans: readonly SpanRecord[]): Json {
  const resources = new Map<SpanRecord['resource'], Map<string, Json[]>>();
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    let scopes = resources.get(span.resource);
    if (!scopes) resources.set(span.resource, (scopes = new Map()));
    let list = scopes.get(span.scopeName);
    if (!list) scopes.set(span.scopeName, (list = []));
    list.push(spanToJson(span));
  }
  const resourceSpans: Json[] = [];
  for (const [resource, scopes] of resources) {
    const scopeSpans: Json[] = [];
    for (const [name, list] of scopes) scopeSpans.push({ scope: { name }, spans: list });
    resourceSpans.push({ resource: { attributes: attributesToJson(resource) }, scopeSpans });
  }
  return { resourceSpans };
}

function spanToJson(span: SpanRecord): Json {
  const json: Json = {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: msToNanos(span.startMs),
    endTimeUnixNano: msToNanos(span.endMs),
    attributes: attributesToJson(span.attributes),
    status: span.statusMessage === '' ? { code: span.statusCode } : { code: span.statusCode, message: span.statusMessage },
  };
  if (span.parentSpanId !== '') json.parentSpanId = span.parentSpanId;
  if (span.links.length > 0) json.links = span.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId }));
  if (span.events.length > 0) {
    json.events = span.events.map((e) => ({ name: e.name, timeUnixNano: msToNanos(e.timeMs), attributes: attributesToJson(e.attributes) }));
  }
  return json;
}

// Neighbouring doubles, through the bits: a positive double's successor is the next integer bit pattern.
const DOUBLE = new Float64Array(1);
const DOUBLE_BITS = new BigInt64Array(DOUBLE.buffer);

function adjacentDouble(x: number, direction: 1n | -1n): number {
  DOUBLE[0] = x;
  DOUBLE_BITS[0]! += direction;
  return DOUBLE[0]!;
}

/**
 * Float milliseconds → uint64 nanoseconds as a decimal string that Baton's readers
 * (`Number(ns) / 1e6`) turn back into exactly `ms`, so a recording audits exactly as
 * the live session analyzed it: rounding to the microsecond moved latencies across
 * sketch buckets. `ms * 1e6` rounds once more than the reader's division, so the
 * integer that maps back is it or a neighbour (a neighbouring double past 2^53
 * nanoseconds, where doubles are 256 ns apart today); when none does (times that never
 * came from nanoseconds), the nearest nanosecond is written.
 */
function msToNanos(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns / 1e6 !== ms && ns > 0) {
    const wide = ns >= 2 ** 53;
    let below = ns;
    let above = ns;
    for (let k = 0; k < 2; k++) {
      below = wide ? adjacentDouble(below, -1n) : below - 1;
      above = wide ? adjacentDouble(above, 1n) : above + 1;
      if (below / 1e6 === ms) return BigInt(below).toString();
      if (above / 1e6 === ms) return BigInt(above).toString();
    }
  }
  return BigInt(ns).toString();
}

function attributesToJson(attributes: Readonly<Record<string, AttributeValue>>): Json[] {
  const out: Json[] = [];
  for (const key in attributes) out.push({ key, value: anyValue(attributes[key]!) });
  return out;
}

function anyValue(value: AttributeValue): Json {
  if (value === null) return {};
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { arrayValue: { values: value.map(anyValue) } };
}
