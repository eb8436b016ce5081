/**
 * For receiver tests: an intake that keeps what it was given and can be told to
 * refuse (busy or unavailable) a number of times, spans made by the real SDK,
 * and a promise around a real exporter's export().
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { IntakeResult, RequestOrigin, SpanIntake } from '../../src/receiver/intake.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { createOtelHarness } from './otel.js';

export class RecordingIntake implements SpanIntake {
  readonly batches: { spans: SpanRecord[]; origin: RequestOrigin }[] = [];
  /** Refuse the next this many offers. */
  refuse = 0;
  refuseAs: 'busy' | 'unavailable' = 'busy';
  refused = 0;

  offer(spans: SpanRecord[], origin: RequestOrigin): IntakeResult {
    if (this.refuse > 0) {
      this.refuse--;
      this.refused++;
      return { status: this.refuseAs, retryAfterMs: 1000 };
    }
    this.batches.push({ spans, origin });
    return { status: 'accepted', rejected: 0 };
  }

  /** Spans the receiver refused itself, and the requests it could not read. */
  readonly refusedSpans: string[] = [];
  readonly refusedRequests: string[] = [];

  spansRefused(count: number, reason: string): void {
    this.refusedSpans.push(`${count}: ${reason}`);
  }

  requestRefused(reason: string): void {
    this.refusedRequests.push(reason);
  }

  spans(): SpanRecord[] {
    return this.batches.flatMap((b) => b.spans);
  }
}

/** `count` finished spans from the real SDK: one root and children, with attributes of each type. */
export async function makeSpans(count: number, name = 'work'): Promise<ReadableSpan[]> {
  const harness = createOtelHarness();
  const root = harness.tracer.startSpan(`${name}-root`);
  const { trace, context } = await import('@opentelemetry/api');
  const ctx = trace.setSpan(context.active(), root);
  for (let i = 1; i < count; i++) {
    const child = harness.tracer.startSpan(`${name}-${i}`, { attributes: { 'gen_ai.agent.name': `agent-${i % 3}`, index: i, ok: true, ratio: 0.5 } }, ctx);
    child.end();
  }
  root.end();
  const spans = harness.spans();
  await harness.shutdown();
  return spans;
}

/** Runs one export through a real exporter and resolves with its result. */
export function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

export { ExportResultCode };
