/** OTLP/JSON: an ExportTraceServiceRequest (or TracesData), as the OTLP/HTTP JSON exporters and the Collector write it. */
import { parseOtlpJsonRequest } from '../otlp-json.js';
import type { JsonTraceEncoding } from './json-encoding.js';

export const otlpJsonEncoding: JsonTraceEncoding = {
  id: 'otlp-json',
  description: 'OTLP/JSON (OTLP/HTTP JSON exporters, the Collector file exporter)',
  recognizes(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value) && 'resourceSpans' in value;
  },
  toSpans: parseOtlpJsonRequest,
};
