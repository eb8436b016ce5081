/**
 * Audit speed: the whole audit of an OTLP file (readTraceInputs → Auditor.addSpans
 * → finish) against the bare cost of getting the same file into memory as
 * objects (readFile + JSON.parse, or readFile + protobufjs decode), in one
 * process and one run, so the ratio compares like with like.
 *
 * JSON files are single documents (one ExportTraceServiceRequest, as the
 * Collector's OTLP/HTTP JSON path and `generate-traces.ts json` write them);
 * the protobuf files are the same content encoded with protobufjs. Every timed
 * run starts after a full GC; the first file is run once untimed to warm the JIT.
 *
 * Run alone: npx tsx bench/audit.ts   (BATON_BENCH_QUICK=1 for small files)
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Auditor } from '../src/analyze/audit.js';
import { readTraceInputs } from '../src/ingest/index.js';
import type { TraceInputError } from '../src/ingest/errors.js';
import { collectGarbage, fmt, fmtMs, fmtRatio, log, markdownTable, median, MiB, QUICK, verdict } from './common.js';
import { generateTraceFile } from './generate-traces.js';
import { decodeOtlpProtobuf } from '../src/ingest/otlp-protobuf.js';
import { convertJsonFileToProtobuf, exportTraceServiceRequest } from './to-protobuf.js';

/** The goal stated in the issue: auditing a file takes at most 2x parsing it. */
export const AUDIT_GOAL = 2;

export interface Timing {
  /** Median of the timed runs, ms. */
  ms: number;
  runs: number[];
  /** Median CPU time (user + system of the whole process) of the runs, ms: steadier than wall time on a shared machine. */
  cpuMs: number;
  cpuRuns: number[];
}

export interface AuditRow {
  encoding: 'json' | 'protobuf';
  /** Size of the file audited. */
  bytes: number;
  /** For protobuf: the size of the OTLP/JSON it was converted from. */
  jsonBytes?: number;
  spans: number;
  traces: number;
  findings: number;
  /** readFile + JSON.parse, or readFile + protobufjs decode. */
  bare: Timing;
  /** protobuf only: readFile + decode + conversion to spans (the ingest alone, no analysis). */
  decodeToObject?: Timing;
  audit: Timing;
  ratio: number;
  /** The same ratio in CPU time. */
  cpuRatio: number;
}

async function time(fn: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  collectGarbage();
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await fn();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

interface AuditOutcome {
  spans: number;
  traces: number;
  findings: number;
}

/** The whole audit, as `baton audit <file>` does it minus rendering. */
export async function auditFile(path: string): Promise<AuditOutcome> {
  const auditor = new Auditor();
  const errors: TraceInputError[] = [];
  for await (const batch of readTraceInputs([path], { onError: (e) => errors.push(e) })) auditor.addSpans(batch);
  const report = auditor.finish();
  if (errors.length > 0) throw new Error(`audit of ${path} reported input errors: ${errors.map((e) => e.message).join('; ')}`);
  return { spans: report.inputs.spans, traces: report.inputs.traces, findings: report.findings.length + report.findingsTruncated };
}

async function bareJsonParse(path: string): Promise<number> {
  const value = JSON.parse(await readFile(path, 'utf8')) as { resourceSpans: unknown[] };
  return value.resourceSpans.length;
}

async function bareProtobufDecode(path: string): Promise<number> {
  const message = exportTraceServiceRequest().decode(await readFile(path)) as unknown as { resourceSpans: unknown[] };
  return message.resourceSpans.length;
}

/** The ingest step alone: decode and convert to spans, no analysis. */
async function protobufIngest(path: string): Promise<number> {
  return decodeOtlpProtobuf(await readFile(path), path).length;
}

/** Alternates the measured functions `reps` times and keeps each one's times. */
async function measure(reps: number, fns: Record<string, () => Promise<unknown>>): Promise<Record<string, Timing>> {
  const runs: Record<string, number[]> = {};
  const cpuRuns: Record<string, number[]> = {};
  for (const name of Object.keys(fns)) {
    runs[name] = [];
    cpuRuns[name] = [];
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, fn] of Object.entries(fns)) {
      const t = await time(fn);
      runs[name]!.push(t.ms);
      cpuRuns[name]!.push(t.cpuMs);
    }
  }
  const out: Record<string, Timing> = {};
  for (const [name, list] of Object.entries(runs)) out[name] = { ms: median(list), runs: list, cpuMs: median(cpuRuns[name]!), cpuRuns: cpuRuns[name]! };
  return out;
}

export interface AuditSizes {
  json: number[];
  protobuf: number[];
}

export const AUDIT_SIZES: AuditSizes = QUICK ? { json: [10, 50], protobuf: [10] } : { json: [10, 200], protobuf: [10, 50] };

function repsFor(mib: number): number {
  return mib <= 20 ? 5 : 3;
}

export async function runAuditBench(dir: string, sizes: AuditSizes = AUDIT_SIZES): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  let warmed = false;
  for (const mib of sizes.json) {
    const path = join(dir, `audit-${mib}mib.json`);
    log(`audit: generating ${mib} MiB OTLP/JSON document`);
    const { bytes } = await generateTraceFile(path, mib * MiB, { singleDocument: true });
    if (!warmed) {
      log('audit: warming up (one untimed parse and audit)');
      await bareJsonParse(path);
      await auditFile(path);
      warmed = true;
    }
    const outcome = await auditFile(path);
    log(`audit: ${mib} MiB JSON: ${outcome.spans} spans, ${outcome.traces} traces; timing ${repsFor(mib)} runs each`);
    const t = await measure(repsFor(mib), { bare: () => bareJsonParse(path), audit: () => auditFile(path) });
    rows.push({ encoding: 'json', bytes, ...outcome, bare: t.bare!, audit: t.audit!, ratio: t.audit!.ms / t.bare!.ms, cpuRatio: t.audit!.cpuMs / t.bare!.cpuMs });
    await rm(path, { force: true });
    collectGarbage();
  }
  for (const mib of sizes.protobuf) {
    const jsonPath = join(dir, `audit-${mib}mib-source.json`);
    const pbPath = join(dir, `audit-${mib}mib.pb`);
    log(`audit: generating ${mib} MiB OTLP/JSON and converting it to protobuf`);
    const { bytes: jsonBytes } = await generateTraceFile(jsonPath, mib * MiB, { singleDocument: true });
    await convertJsonFileToProtobuf(jsonPath, pbPath);
    const jsonOutcome = await auditFile(jsonPath);
    await rm(jsonPath, { force: true });
    collectGarbage();
    const bytes = (await stat(pbPath)).size;
    const outcome = await auditFile(pbPath); // also warms the protobuf path
    if (outcome.spans !== jsonOutcome.spans || outcome.findings !== jsonOutcome.findings) {
      throw new Error(`protobuf audit differs from JSON: ${JSON.stringify(outcome)} vs ${JSON.stringify(jsonOutcome)}`);
    }
    log(`audit: ${mib} MiB JSON as ${fmt(bytes / MiB, 1)} MiB protobuf: timing ${repsFor(mib)} runs each`);
    const t = await measure(repsFor(mib), {
      bare: () => bareProtobufDecode(pbPath),
      decodeToObject: () => protobufIngest(pbPath),
      audit: () => auditFile(pbPath),
    });
    rows.push({
      encoding: 'protobuf',
      bytes,
      jsonBytes,
      ...outcome,
      bare: t.bare!,
      decodeToObject: t.decodeToObject!,
      audit: t.audit!,
      ratio: t.audit!.ms / t.bare!.ms,
      cpuRatio: t.audit!.cpuMs / t.bare!.cpuMs,
    });
    await rm(pbPath, { force: true });
    collectGarbage();
  }
  return rows;
}

const mibPerS = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

export function formatAuditResults(rows: readonly AuditRow[]): string {
  const table = markdownTable(
    ['file', 'spans', 'bare: read + parse/decode', 'MiB/s', 'audit', 'MiB/s', 'kspans/s', 'audit / bare', 'audit / bare, CPU', `goal ≤ ${AUDIT_GOAL}x`],
    rows.map((r) => [
      r.encoding === 'json' ? `${fmt(r.bytes / MiB, 1)} MiB OTLP/JSON` : `${fmt(r.bytes / MiB, 1)} MiB protobuf (${fmt(r.jsonBytes! / MiB, 0)} MiB as JSON)`,
      r.spans.toLocaleString('en-US'),
      fmtMs(r.bare.ms),
      fmt(mibPerS(r.bytes, r.bare.ms), 0),
      fmtMs(r.audit.ms),
      fmt(mibPerS(r.bytes, r.audit.ms), 0),
      fmt(r.spans / r.audit.ms, 0),
      fmtRatio(r.ratio),
      `${fmtRatio(r.cpuRatio)} (${fmtMs(r.audit.cpuMs)} vs ${fmtMs(r.bare.cpuMs)})`,
      verdict(r.ratio <= AUDIT_GOAL),
    ]),
  );
  const notes = rows
    .filter((r) => r.decodeToObject)
    .map(
      (r) =>
        `protobuf ${fmt(r.bytes / MiB, 1)} MiB: decode ${fmtMs(r.bare.ms)}, decode + conversion to spans (ingest alone) ${fmtMs(r.decodeToObject!.ms)} ` +
        `(${fmtRatio(r.decodeToObject!.ms / r.bare.ms)} of decode), whole audit ${fmtMs(r.audit.ms)}`,
    );
  const runs = rows.map(
    (r) =>
      `${r.encoding} ${fmt(r.bytes / MiB, 1)} MiB runs (ms): bare ${r.bare.runs.map((x) => fmt(x, 0)).join(' / ')}; ` +
      `audit ${r.audit.runs.map((x) => fmt(x, 0)).join(' / ')}; CPU bare ${r.bare.cpuRuns.map((x) => fmt(x, 0)).join(' / ')}, audit ${r.audit.cpuRuns.map((x) => fmt(x, 0)).join(' / ')}`,
  );
  return ['### Audit speed (medians; every run after a full GC)', '', table, '', ...notes.map((n) => `- ${n}`), ...runs.map((n) => `- ${n}`)].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  try {
    console.log(formatAuditResults(await runAuditBench(dir)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
