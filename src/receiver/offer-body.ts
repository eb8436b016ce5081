/**
 * One request body through a {@link SpanIntake}: decoded (protobuf or OTLP/JSON),
 * split into the spans kept and those refused (invalid ids or times), offered,
 * and summed up as the verdict a receiver answers with. The HTTP and gRPC
 * receivers run it on their own thread for a span intake; the live session's
 * analysis worker runs the same function on its thread, so both paths answer
 * alike.
 */
import { TraceInputError } from '../ingest/errors.js';
import { parseOtlpJsonRequest } from '../ingest/otlp-json.js';
import { decodeOtlpProtobuf } from '../ingest/otlp-protobuf.js';
import type { SpanRecord } from '../model/span-record.js';
import type { BodyVerdict, RequestOrigin, SpanIntake } from './intake.js';
import { partitionValidSpans } from './otlp-wire.js';

/** Decodes one OTLP trace request body; throws TraceInputError naming `source` when it does not decode. */
export function decodeRequestBody(body: Uint8Array, encoding: RequestOrigin['encoding'], source: string): SpanRecord[] {
  if (encoding === 'protobuf') return decodeOtlpProtobuf(body, source);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new TraceInputError(source, `not JSON: ${(error as Error).message}`);
  }
  return parseOtlpJsonRequest(value, source);
}

/** Decodes `body`, tells the intake of refused spans, offers the rest and says what to answer. */
export function offerBodyTo(intake: SpanIntake, body: Uint8Array, origin: RequestOrigin, source: string): BodyVerdict {
  let spans: SpanRecord[];
  try {
    spans = decodeRequestBody(body, origin.encoding, source);
  } catch (error) {
    return { status: 'invalid', reason: error instanceof TraceInputError ? error.reason : (error as Error).message };
  }
  const { kept, rejected, reason } = partitionValidSpans(spans);
  if (rejected > 0) intake.spansRefused?.(rejected, reason, origin);
  const result = intake.offer(kept, origin);
  if (result.status !== 'accepted') return result;
  const totalRejected = rejected + result.rejected;
  let message = '';
  if (totalRejected > 0) {
    const why = reason !== '' && result.message ? `${reason}; ${result.message}` : reason !== '' ? reason : (result.message ?? '');
    message = `${totalRejected} of ${spans.length} spans refused: ${why}`;
  }
  return { status: 'accepted', spans: spans.length, rejected: totalRejected, message };
}
