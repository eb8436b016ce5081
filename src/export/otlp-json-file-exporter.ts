/**
 * A SpanExporter that appends OTLP/JSON to a file, one ExportTraceServiceRequest
 * per line: the JSON Lines layout the OpenTelemetry Collector's file exporter
 * writes, which `baton audit` reads. Serialization is the OTel JS SDK's own
 * (JsonTraceSerializer), so the bytes are what an OTLP/HTTP JSON exporter sends.
 *
 * The file is opened at construction, exclusively unless `append` is given: an
 * existing file is never overwritten, and a path that cannot be written (it
 * exists, its directory does not, no permission) fails right there with
 * ExportFileError, instead of every span being dropped until shutdown says why.
 *
 * Works with the spans of OpenTelemetry JS 1.x (sdk-trace-base 1.x: `parentSpanId`,
 * `instrumentationLibrary`) as well as 2.x (`parentSpanContext`,
 * `instrumentationScope`): otlp-transformer reads only the 2.x shape, so 1.x spans
 * are given a 2.x view of themselves first.
 */
import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { diag, type SpanContext } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportFileError } from '../model/errors.js';
import { checkContextManagerOnce } from '../sdk/context-check.js';

/** Options of {@link OtlpJsonFileSpanExporter}. */
export interface OtlpJsonFileSpanExporterOptions {
  /** Append to the file when it exists instead of refusing it. Default false: the file must not exist. */
  readonly append?: boolean;
}

/** The fields of an OpenTelemetry JS 1.x ReadableSpan that 2.x renamed. */
interface LegacySpanFields {
  readonly parentSpanId?: string;
  readonly instrumentationLibrary?: { name: string; version?: string; schemaUrl?: string };
}

/** True for a span of sdk-trace-base 1.x, which has no `instrumentationScope`. */
function isLegacySpan(span: ReadableSpan): boolean {
  return (span as Partial<ReadableSpan>).instrumentationScope === undefined;
}

/**
 * A 2.x ReadableSpan view of a 1.x one: the scope under its new name and the
 * parent as a span context (1.x kept only the parent's id; its trace is the
 * span's own, and whether it was remote 1.x did not record).
 */
function asCurrentSpan(span: ReadableSpan): ReadableSpan {
  const legacy = span as unknown as LegacySpanFields & ReadableSpan;
  const context = span.spanContext();
  const parentSpanContext: SpanContext | undefined = legacy.parentSpanId
    ? { traceId: context.traceId, spanId: legacy.parentSpanId, traceFlags: context.traceFlags }
    : undefined;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: span.attributes,
    links: span.links,
    events: span.events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: legacy.instrumentationLibrary ?? { name: 'unknown' },
    droppedAttributesCount: span.droppedAttributesCount ?? 0,
    droppedEventsCount: span.droppedEventsCount ?? 0,
    droppedLinksCount: span.droppedLinksCount ?? 0,
  };
}

/** Writes spans as OTLP/JSON Lines to `path`. */
export class OtlpJsonFileSpanExporter implements SpanExporter {
  readonly path: string;
  readonly #stream: WriteStream;
  #error: Error | undefined;
  #shutdown = false;

  /**
   * Opens `path` now. Throws ExportFileError (code `BATON_EXPORT_FILE`) when the
   * file exists and `append` is not set, or when it cannot be opened for writing.
   */
  constructor(path: string, options: OtlpJsonFileSpanExporterOptions = {}) {
    this.path = path;
    const append = options.append === true;
    let fd: number;
    try {
      fd = openSync(path, append ? 'a' : 'wx');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'EEXIST'
          ? 'exists; pass { append: true } to add to it, or choose a new file'
          : code === 'ENOENT'
            ? 'cannot be created: its directory does not exist'
            : `cannot be opened for writing (${code ?? (error as Error).message})`;
      throw new ExportFileError(path, reason, { cause: error });
    }
    try {
      this.#stream = createWriteStream(path, { fd, autoClose: true });
    } catch (error) {
      closeSync(fd);
      throw new ExportFileError(path, `cannot be written (${(error as Error).message})`, { cause: error });
    }
    this.#stream.on('error', (error) => {
      this.#error = error;
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#error || this.#shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: this.#error ?? new Error('exporter is shut down') });
      return;
    }
    let bytes: Uint8Array | undefined;
    try {
      checkContextManagerOnce((_kind, message) => diag.warn(`baton: ${message}`));
      const current = spans.some(isLegacySpan) ? spans.map((span) => (isLegacySpan(span) ? asCurrentSpan(span) : span)) : spans;
      bytes = JsonTraceSerializer.serializeRequest(current);
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
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
