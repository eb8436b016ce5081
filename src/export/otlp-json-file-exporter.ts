/**
 * A SpanExporter that appends OTLP/JSON to a file, one ExportTraceServiceRequest
 * per line: the JSON Lines layout the OpenTelemetry Collector's file exporter
 * writes, which `baton audit` reads. Serialization is the OTel JS SDK's own
 * (JsonTraceSerializer), so the bytes are what an OTLP/HTTP JSON exporter sends.
 *
 * The file is created exclusively: an existing file is never overwritten
 * (pass `{ append: true }` to add to one on purpose).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Options of {@link OtlpJsonFileSpanExporter}. */
export interface OtlpJsonFileSpanExporterOptions {
  /** Append to an existing file instead of refusing it. Default false. */
  readonly append?: boolean;
}

/** Writes spans as OTLP/JSON Lines to `path`. */
export class OtlpJsonFileSpanExporter implements SpanExporter {
  readonly path: string;
  readonly #stream: WriteStream;
  #error: Error | undefined;
  #shutdown = false;

  constructor(path: string, options: OtlpJsonFileSpanExporterOptions = {}) {
    this.path = path;
    this.#stream = createWriteStream(path, { flags: options.append ? 'a' : 'wx' });
    this.#stream.on('error', (error) => {
      this.#error = error;
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#error || this.#shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: this.#error ?? new Error('exporter is shut down') });
      return;
    }
    const bytes = JsonTraceSerializer.serializeRequest(spans);
    if (!bytes) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('spans could not be serialized') });
      return;
    }
    this.#stream.write(bytes);
    this.#stream.write('\n', (error) => {
      resultCallback(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS });
    });
  }

  async forceFlush(): Promise<void> {
    if (this.#shutdown || this.#error) return;
    await new Promise<void>((resolve) => this.#stream.write('', () => resolve()));
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    this.#shutdown = true;
    await new Promise<void>((resolve) => this.#stream.end(() => resolve()));
    if (this.#error) throw this.#error;
  }
}
