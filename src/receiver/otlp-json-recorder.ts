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

/**
 * Float milliseconds → uint64 nanoseconds as a decimal string that Baton's readers turn back into
 * exactly `ms`, so a recording audits exactly as the live session analyzed it (rounding to the
 * microsecond moved latencies across sketch buckets). The readers take the whole milliseconds and
 * the nanoseconds past them separately (`whole + nanos / 1e6`), so the string is written the same
 * way: `ms - floor(ms)` is exact, and the nanosecond rounding is far below the spacing of doubles at
 * epoch times, so the sum rounds back to `ms`. A time that never came from nanoseconds gets the nearest one.
 */
function msToNanos(ms: number): string {
  let whole = Math.floor(ms);
  let nanos = Math.round((ms - whole) * 1e6);
  if (nanos === 1e6) {
    whole += 1;
    nanos = 0;
  }
  return whole === 0 ? String(nanos) : `${whole}${String(nanos).padStart(6, '0')}`;
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
