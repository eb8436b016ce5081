/**
 * Shared checks for the constructed framework fixtures (fixtures/frameworks/<framework>/):
 * each scenario is audited in every encoding it was written in, and the report
 * is held to the program's own log (`<scenario>.log.json`), never to the trace.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { AuditReport } from '../../../src/model/audit-report.js';
import type { ProgramLog } from '../../../fixtures/frameworks/log.js';
import { edgeCounts } from '../../../fixtures/frameworks/log.js';

export const FRAMEWORKS_DIR = fileURLToPath(new URL('../../../fixtures/frameworks/', import.meta.url));

/** Every encoding file of `scenario` in the framework's fixture directory. */
export async function encodingsOf(framework: string, scenario: string): Promise<string[]> {
  const dir = join(FRAMEWORKS_DIR, framework);
  const files = await readdir(dir);
  return files
    .filter((f) => f.startsWith(`${scenario}.`) && !f.endsWith('.log.json') && /\.(json|jsonl|pb)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export async function logOf(framework: string, scenario: string): Promise<ProgramLog> {
  return JSON.parse(await readFile(join(FRAMEWORKS_DIR, framework, `${scenario}.log.json`), 'utf8')) as ProgramLog;
}

export async function auditFile(file: string): Promise<AuditReport> {
  return auditSpans(readTraceInputs([file]), { idleMs: 3_600_000 });
}

/** The report's edges to known targets with their counts, as `source → target`. */
export function reportEdges(report: AuditReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const edge of report.edges) if (edge.target !== 'unknown') out[`${edge.source} → ${edge.target}`] = edge.handoffs;
  return out;
}

/** Holds a report to the program's log: agents, edges and counts, retries, failures, loops, undelivered messages, runs. */
export function expectReportMatchesLog(report: AuditReport, log: ProgramLog): void {
  expect(report.inputs.problems).toEqual([]);
  expect(reportEdges(report)).toEqual(edgeCounts(log));
  expect([...report.agents].filter((a) => a !== 'unknown').sort()).toEqual([...log.agents].sort());
  const retried = log.handoffs.filter((h) => h.attempts > 1);
  const reportRetries: Record<string, number> = {};
  for (const edge of report.edges) if (edge.retries > 0) reportRetries[`${edge.source} → ${edge.target}`] = edge.retries;
  const logRetries: Record<string, number> = {};
  for (const h of retried) logRetries[`${h.source} → ${h.target}`] = (logRetries[`${h.source} → ${h.target}`] ?? 0) + 1;
  expect(reportRetries).toEqual(logRetries);
  const unknown = report.edges.filter((e) => e.target === 'unknown').reduce((sum, e) => sum + e.handoffs, 0);
  expect(unknown).toBe(log.undelivered.length);
  expect(report.tasks.count).toBe(log.runs);
  const cycles = report.findings.filter((f) => f.ruleId === 'dependency-cycle');
  if (log.cycle) {
    expect(cycles).toHaveLength(1);
    const path = cycles[0]!.path!;
    // The rule names the cycle from where it closed: the same ring, maybe rotated.
    expect(new Set(path)).toEqual(new Set(log.cycle.path));
    expect(path).toHaveLength(log.cycle.path.length);
    // A circular delegation ("ran N laps: …") or a pair's revision loop ("ran N laps, over M round trips").
    expect(cycles[0]!.message).toMatch(new RegExp(`ran ${log.cycle.laps} lap${log.cycle.laps === 1 ? '' : 's'}[:,]`));
  } else {
    expect(cycles).toEqual([]);
  }
}
