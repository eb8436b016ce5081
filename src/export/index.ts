/** `baton-sdk/export`: span exporters for hosts and the CLI (they need the OTel SDK, which the `baton` entry never loads). */
export { OtlpJsonFileSpanExporter } from './otlp-json-file-exporter.js';
export type { OtlpJsonFileSpanExporterOptions } from './otlp-json-file-exporter.js';
export { ExportFileError } from '../model/errors.js';
