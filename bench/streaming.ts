/**
 * Streaming memory: a large OTLP JSON Lines file (the Collector file exporter's
 * format) audited in a child process of its own, reporting wall time, MiB/s and
 * the child's peak RSS; a second child only reads and JSON.parses the lines, as
 * the baseline for both time and memory.
 *
 * Run alone: npx tsx bench/streaming.ts   (BATON_BENCH_QUICK=1: 100 MiB instead of 1 GiB)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './audit-child.js';
import { fmt, fmtMs, fmtRatio, log, markdownTable, MiB, QUICK, runTsChild, verdict } from './common.js';
import { generateTraceFile } from './generate-traces.js';

/** The goal stated in the issue: auditing a 1 GB JSON Lines file peaks under 512 MiB RSS. */
export const RSS_GOAL_MIB = 512;

export const STREAM_MIB = QUICK ? 100 : 1024;


export interface StreamRun extends ChildResult {
  /** Wall time as the parent saw it: process start, loading, audit and exit. */
  wallMs: number;
}

export interface StreamResults {
  mib: number;
  audit: StreamRun;
  parse: StreamRun;
  /** The same size with traces in flight together (a busy service's exports: every line mixes open traces). */
  inFlight: { audit: StreamRun; parse: StreamRun };
}

/** Tasks whose spans are mixed together in the in-flight file (tasks start every 20 ms). */
export const IN_FLIGHT_TASKS = 256;

/** Runs audit-child.ts in a fresh process and returns what it printed. */
export async function runChild(mode: 'audit' | 'parse', file: string, nodeArgs: readonly string[] = []): Promise<StreamRun> {
  const { result, wallMs } = await runTsChild<ChildResult>('audit-child.ts', [mode, file], nodeArgs);
  return { ...result, wallMs };
}

async function measure(path: string, label: string): Promise<{ audit: StreamRun; parse: StreamRun }> {
  log(`streaming (${label}): baseline child (read + JSON.parse per line)`);
  const parse = await runChild('parse', path);
  log(`streaming (${label}): baseline ${fmtMs(parse.ms)}, peak RSS ${fmt(parse.maxRssKiB / 1024, 0)} MiB; audit child`);
  const audit = await runChild('audit', path);
  log(`streaming (${label}): audit ${fmtMs(audit.ms)}, peak RSS ${fmt(audit.maxRssKiB / 1024, 0)} MiB`);
  if (audit.errors > 0) throw new Error(`streaming audit reported ${audit.errors} input errors`);
  if (audit.spans !== parse.spans) throw new Error(`audit saw ${audit.spans} spans, the baseline ${parse.spans}`);
  return { audit, parse };
}

export async function runStreamingBench(dir: string, mib = STREAM_MIB): Promise<StreamResults> {
  const path = join(dir, `stream-${mib}mib.jsonl`);
  log(`streaming: generating ${mib} MiB OTLP JSON Lines, one trace after another`);
  await generateTraceFile(path, mib * MiB);
  let sequential: { audit: StreamRun; parse: StreamRun };
  try {
    sequential = await measure(path, 'sequential');
  } finally {
    await rm(path, { force: true });
  }
  const mixed = join(dir, `stream-${mib}mib-in-flight.jsonl`);
  log(`streaming: generating ${mib} MiB OTLP JSON Lines, ${IN_FLIGHT_TASKS} traces in flight together`);
  await generateTraceFile(mixed, mib * MiB, { inFlight: IN_FLIGHT_TASKS });
  try {
    return { mib, ...sequential, inFlight: await measure(mixed, 'in flight') };
  } finally {
    await rm(mixed, { force: true });
  }
}

export function formatStreamingResults(r: StreamResults): string {
  const rowOf = (name: string, run: StreamRun, goal: string) => [
    name,
    `${fmt(run.bytes / MiB, 0)} MiB`,
    run.spans.toLocaleString('en-US'),
    fmtMs(run.ms),
    fmtMs(run.wallMs),
    fmt(run.bytes / MiB / (run.ms / 1000), 0),
    `${fmt(run.maxRssKiB / 1024, 0)} MiB`,
    `${fmt(run.rssAtStartKiB / 1024, 0)} MiB`,
    `${fmt(run.peakHeapUsedKiB / 1024, 0)} MiB`,
    goal,
  ];
  const table = markdownTable(
    ['child process', 'file', 'spans', 'time (in child)', 'wall (spawn to exit)', 'MiB/s', 'peak RSS', 'RSS at start', 'peak heap used', `goal < ${RSS_GOAL_MIB} MiB RSS`],
    [
      rowOf('read + JSON.parse per line (baseline)', r.parse, ''),
      rowOf('audit (readTraceInputs + Auditor)', r.audit, verdict(r.audit.maxRssKiB / 1024 < RSS_GOAL_MIB)),
      rowOf(`in flight: read + JSON.parse per line`, r.inFlight.parse, ''),
      rowOf(`in flight: audit`, r.inFlight.audit, verdict(r.inFlight.audit.maxRssKiB / 1024 < RSS_GOAL_MIB)),
    ],
  );
  return [
    `### Streaming: ${fmt(r.mib, 0)} MiB OTLP JSON Lines, each in its own child process`,
    '',
    table,
    '',
    `- audit / baseline time: ${fmtRatio(r.audit.ms / r.parse.ms)}; ${r.audit.traces.toLocaleString('en-US')} traces, ${r.audit.findings.toLocaleString('en-US')} findings`,
    `- in flight (${IN_FLIGHT_TASKS} tasks' spans mixed, 32 spans a line, a task every 20 ms): audit / baseline ${fmtRatio(r.inFlight.audit.ms / r.inFlight.parse.ms)}; ${r.inFlight.audit.traces.toLocaleString('en-US')} traces, ${r.inFlight.audit.findings.toLocaleString('en-US')} findings`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  try {
    console.log(formatStreamingResults(await runStreamingBench(dir)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
