/**
 * Recorded framework runs (fixtures/frameworks/<framework>/) read back through
 * Baton's real ingest in each encoding writeRecordedRun wrote, with the program's
 * own log of the run beside them: the expectations of the framework tests.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
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

/** A recorded run as the framework programs log it: its agents in order and the handoffs it made. */
export interface LoggedRun {
  readonly agentsInOrder: readonly string[];
  readonly handoffs: readonly { readonly source: string; readonly target: string; readonly attempts: number }[];
}

/**
 * The report of a recording holds what its program logged: the agents, each edge with its exact
 * count, retried handoffs (attempts > 1), every handoff an in-process transfer, all read by
 * `dialect` alone, and no input problem.
 */
export function expectReportMatchesRuns(report: AuditReport, runs: readonly LoggedRun[], dialect: string): void {
  const logged = runs.flatMap((r) => r.handoffs);
  expect(report.agents).toEqual([...new Set(runs.flatMap((r) => r.agentsInOrder))].sort());
  expect(report.edges.map((e) => [`${e.source} → ${e.target}`, e.handoffs])).toEqual(edgeCounts(logged));
  for (const edge of report.edges) {
    const mine = logged.filter((h) => h.source === edge.source && h.target === edge.target);
    expect(edge.retries).toBe(mine.filter((h) => h.attempts > 1).length);
    expect(edge.transfers).toBe(mine.length);
  }
  expect(report.inputs.dialects.filter((d) => d.spans > 0).map((d) => d.id)).toEqual([dialect]);
  expect(report.inputs.problems).toEqual([]);
}
