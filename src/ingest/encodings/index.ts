/**
 * The JSON encodings the reader understands, in the order they are asked. OTLP is
 * last as well as first: a value no other encoding recognizes goes to OTLP, whose
 * errors ("expected \"resourceSpans\", found …") are the most useful for a near miss.
 */
import { jaegerJsonEncoding } from './jaeger.js';
import type { JsonTraceEncoding } from './json-encoding.js';
import { openAiAgentsJsonEncoding } from './openai-agents.js';
import { otlpJsonEncoding } from './otlp.js';
import { pythonSpanJsonEncoding } from './python-span-json.js';
import { tempoJsonEncoding } from './tempo.js';

export type { JsonTraceEncoding } from './json-encoding.js';

export const JSON_ENCODINGS: readonly JsonTraceEncoding[] = [otlpJsonEncoding, openAiAgentsJsonEncoding, jaegerJsonEncoding, tempoJsonEncoding, pythonSpanJsonEncoding];

/** The encoding for one parsed value: the first that recognizes it, else OTLP/JSON. */
export function jsonEncodingOf(value: unknown): JsonTraceEncoding {
  for (const encoding of JSON_ENCODINGS) if (encoding.recognizes(value)) return encoding;
  return otlpJsonEncoding;
}
