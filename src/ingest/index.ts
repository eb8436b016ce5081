/**
 * `baton-cli/ingest`: OTLP trace data in the encodings people have (JSON, JSON Lines,
 * protobuf, gzip of each; files, directories, stdin) → batches of SpanRecord.
 */
export { readTraceFile, readTraceInputs, readTraceStream, TRACE_FILE_PATTERN } from './read-trace-inputs.js';
export type { ReadTraceOptions } from './read-trace-inputs.js';
export { parseOtlpJsonRequest } from './otlp-json.js';
export { decodeOtlpProtobuf } from './otlp-protobuf.js';
export { BatonError } from 'baton-sdk/errors';
export { TraceInputError } from './errors.js';
