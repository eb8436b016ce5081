/**
 * The seam between a parsed JSON value and the analyzer's spans: one encoding per
 * vocabulary a tool writes (OTLP/JSON, Jaeger's JSON, an agent SDK's own export).
 *
 * The reader splits files into JSON values (a document, or one per JSON Lines line)
 * and hands each value to the first encoding that recognizes it, so one file may mix
 * encodings line by line and a new one plugs in as one file without touching the
 * reader. `recognizes` must be cheap (it looks at keys, never walks the value).
 */
import type { SpanRecord } from '../../model/span-record.js';

export interface JsonTraceEncoding {
  /** Short id used in messages and options (`otlp-json`, `jaeger-json`, …). */
  readonly id: string;
  /** One line for `--help` and docs: what writes this encoding. */
  readonly description: string;
  /** True when `value` (one parsed document or line) is in this encoding. */
  recognizes(value: unknown): boolean;
  /**
   * Converts one value to spans. `source` is `file` or `file:line`, kept on each span.
   * @throws TraceInputError naming `source` and the path inside the value when the shape is wrong.
   */
  toSpans(value: unknown, source: string): SpanRecord[];
}
