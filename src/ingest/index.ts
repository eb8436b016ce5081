/**
 * Ingest: OTLP trace data in the encodings people have (JSON, JSON Lines,
 * protobuf, gzip of each; files, directories, stdin) → batches of SpanRecord.
 */
export { readTraceFile, readTraceInputs, readTraceStream, TRACE_FILE_PATTERN } from './read-trace-inputs.js';
export type { ReadTraceOptions } from './read-trace-inputs.js';
export { parseOtlpJsonRequest } from './otlp-json.js';
export { decodeOtlpProtobuf, detectProtobufFraming, splitProtobufFrames } from './otlp-protobuf.js';
export type { ProtobufFrame, ProtobufFraming } from './otlp-protobuf.js';
export { jsonErrorOffset, positionOf } from './json-error-position.js';
export type { TextPosition } from './json-error-position.js';
