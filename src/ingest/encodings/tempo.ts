/**
 * Grafana Tempo's JSON, as its query API returns a trace: `GET /api/traces/<id>`
 * answers `{"batches": [<ResourceSpans>…]}` (Tempo's `tempopb.Trace`, whose one
 * field is named `batches`), and `GET /api/v2/traces/<id>` wraps the trace in a
 * response, `{"trace": {…}, "status": …}`, the trace's ResourceSpans under
 * `resourceSpans` (or `batches`). Inside, it is OTLP/JSON as Go's protobuf JSON
 * mapping writes it: ids in base64 (`"B3vTDy+BVLWUjcBHJPif9Q=="`), enums by name
 * (`SPAN_KIND_SERVER`), which the OTLP/JSON reader already takes.
 *
 * Recognized by content: `batches` must be an array whose first element (if any)
 * looks like ResourceSpans, so other JSON with a `batches` key is left alone.
 * Tempo's protobuf answer (`Accept: application/protobuf`) is the same message,
 * wire-compatible with OTLP's TracesData, and needs nothing here.
 *
 * @see https://grafana.com/docs/tempo/latest/api_docs/#query
 */
import { TraceInputError } from '../errors.js';
import type { SpanRecord } from '../../model/span-record.js';
import { parseOtlpJsonRequest } from '../otlp-json.js';
import type { JsonTraceEncoding } from './json-encoding.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An array that is empty or starts with something shaped like ResourceSpans. */
function isResourceSpansArray(value: unknown): value is unknown[] {
  if (!Array.isArray(value)) return false;
  if (value.length === 0) return true;
  const first: unknown = value[0];
  return isObject(first) && ('scopeSpans' in first || 'instrumentationLibrarySpans' in first || 'resource' in first);
}

/** Where the trace's ResourceSpans are, as a path for messages, or undefined when `value` is no Tempo answer. */
function resourceSpansOf(value: unknown): { at: string; resourceSpans: unknown[] } | undefined {
  if (!isObject(value) || 'resourceSpans' in value) return undefined;
  if (isResourceSpansArray(value.batches)) return { at: 'batches', resourceSpans: value.batches };
  const trace = value.trace;
  if (!isObject(trace)) return undefined;
  if (isResourceSpansArray(trace.resourceSpans)) return { at: 'trace.resourceSpans', resourceSpans: trace.resourceSpans };
  if (isResourceSpansArray(trace.batches)) return { at: 'trace.batches', resourceSpans: trace.batches };
  // A v2 answer for a trace with no spans: `{"trace": {}}`.
  if (Object.keys(trace).length === 0 && ('status' in value || 'metrics' in value)) return { at: 'trace', resourceSpans: [] };
  return undefined;
}

export const tempoJsonEncoding: JsonTraceEncoding = {
  id: 'tempo-json',
  description: "Grafana Tempo's trace-by-id JSON (`/api/traces/<id>`: `batches`; `/api/v2/traces/<id>`: `trace`)",
  recognizes(value) {
    return resourceSpansOf(value) !== undefined;
  },
  toSpans(value, source): SpanRecord[] {
    const found = resourceSpansOf(value);
    if (found === undefined) throw new TraceInputError(source, 'expected a Tempo trace ("batches", or "trace" with "resourceSpans")');
    try {
      return parseOtlpJsonRequest({ resourceSpans: found.resourceSpans }, source);
    } catch (error) {
      // The OTLP reader names places from `resourceSpans`; in this file they are under `found.at`.
      if (error instanceof TraceInputError && error.reason.startsWith('resourceSpans')) {
        throw new TraceInputError(source, `${found.at}${error.reason.slice('resourceSpans'.length)}`);
      }
      throw error;
    }
  },
};
