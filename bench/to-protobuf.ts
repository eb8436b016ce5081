/**
 * OTLP/JSON → OTLP protobuf for the benchmark, with protobufjs and the same
 * descriptor the ingest decodes with (src/ingest/otlp-trace.descriptor.json).
 * OTLP/JSON writes trace and span ids as hex; the protobuf JSON mapping that
 * `Type.fromObject` follows wants bytes, so ids are converted first.
 */
import { readFile, writeFile } from 'node:fs/promises';
import protobuf from 'protobufjs/light.js';
import descriptor from '../src/ingest/otlp-trace.descriptor.json' with { type: 'json' };

export const REQUEST_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

let requestType: protobuf.Type | undefined;

export function exportTraceServiceRequest(): protobuf.Type {
  requestType ??= protobuf.Root.fromJSON(descriptor as protobuf.INamespace).lookupType(REQUEST_TYPE);
  return requestType;
}

type Json = Record<string, unknown>;

function idBytes(value: unknown): Uint8Array {
  return typeof value === 'string' && value !== '' ? Buffer.from(value, 'hex') : new Uint8Array(0);
}

/** Rewrites the ids of a parsed OTLP/JSON request in place as bytes. */
function idsToBytes(request: Json): Json {
  for (const rs of (request.resourceSpans as Json[] | undefined) ?? []) {
    for (const ss of (rs.scopeSpans as Json[] | undefined) ?? []) {
      for (const span of (ss.spans as Json[] | undefined) ?? []) {
        span.traceId = idBytes(span.traceId);
        span.spanId = idBytes(span.spanId);
        span.parentSpanId = idBytes(span.parentSpanId);
        for (const link of (span.links as Json[] | undefined) ?? []) {
          link.traceId = idBytes(link.traceId);
          link.spanId = idBytes(link.spanId);
        }
      }
    }
  }
  return request;
}

/** Encodes one parsed OTLP/JSON ExportTraceServiceRequest (modified in place) as protobuf. */
export function encodeOtlpJsonAsProtobuf(request: Json): Uint8Array {
  const type = exportTraceServiceRequest();
  return type.encode(type.fromObject(idsToBytes(request))).finish();
}

/** Reads an OTLP/JSON single-document file and writes it as one bare protobuf ExportTraceServiceRequest. */
export async function convertJsonFileToProtobuf(jsonPath: string, pbPath: string): Promise<number> {
  const bytes = encodeOtlpJsonAsProtobuf(JSON.parse(await readFile(jsonPath, 'utf8')) as Json);
  await writeFile(pbPath, bytes);
  return bytes.length;
}
