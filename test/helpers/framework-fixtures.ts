/**
 * Recorded framework runs (fixtures/frameworks/<framework>/) read back through
 * Baton's real ingest in each encoding writeRecordedRun wrote, with the program's
 * own log of the run beside them: the expectations of the framework tests.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { auditSpans } from '../../src/analyze/audit.js';
import { buildHandoffModel } from '../../src/analyze/build-model.js';
import { readTraceInputs } from '../../src/ingest/read-trace-inputs.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { HandoffModel } from '../../src/model/handoff-model.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { recordedRunFiles } from '../../fixtures/frameworks/encodings.js';

export const FRAMEWORK_FIXTURES = fileURLToPath(new URL('../../fixtures/frameworks/', import.meta.url));

/** The encodings every recorded run is written in. */
export const ENCODINGS = ['otlpJson', 'collectorJsonl', 'protobuf'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export async function readRecordedSpans(framework: string, scenario: string, encoding: Encoding): Promise<SpanRecord[]> {
  const file = recordedRunFiles(`${FRAMEWORK_FIXTURES}${framework}`, scenario)[encoding];
  const spans: SpanRecord[] = [];
  for await (const batch of readTraceInputs([file])) for (const span of batch) spans.push(span);
  return spans;
}

export async function readRunLog<T>(framework: string, scenario: string): Promise<T> {
  return JSON.parse(await readFile(`${FRAMEWORK_FIXTURES}${framework}/${scenario}.log.json`, 'utf8')) as T;
}

/** The audit report of one recorded run, read from one encoding. */
export async function auditRecorded(framework: string, scenario: string, encoding: Encoding): Promise<AuditReport> {
  const file = recordedRunFiles(`${FRAMEWORK_FIXTURES}${framework}`, scenario)[encoding];
  return auditSpans(readTraceInputs([file]));
}

/** One model per trace, in the order the traces' roots started. */
export function modelsByTrace(spans: readonly SpanRecord[], onIgnored?: (dialect: string, span: SpanRecord, reason: string) => void): HandoffModel[] {
  const byTrace = new Map<string, SpanRecord[]>();
  for (const span of spans) {
    let list = byTrace.get(span.traceId);
    if (!list) byTrace.set(span.traceId, (list = []));
    list.push(span);
  }
  const groups = [...byTrace.values()].sort((a, b) => Math.min(...a.map((s) => s.startMs)) - Math.min(...b.map((s) => s.startMs)));
  return groups.map((group) => buildHandoffModel(group, onIgnored ? { onIgnored: (dialect, ignored) => onIgnored(dialect, ignored.span, ignored.reason) } : {}));
}

/** `source → target` with the number of handoffs, sorted. */
export function edgeCounts(pairs: readonly { source: string; target: string }[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const p of pairs) counts.set(`${p.source} → ${p.target}`, (counts.get(`${p.source} → ${p.target}`) ?? 0) + 1);
  return [...counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
