/**
 * Audits (or, as a baseline, only parses) one trace file in a process of its own
 * and prints one JSON line on stdout: time, spans, and the process's peak RSS.
 * A fresh process is the only way to see the memory one audit needs.
 *
 *   node --import tsx bench/audit-child.ts audit <file>
 *   node --import tsx bench/audit-child.ts parse <file>    # JSON Lines: read + JSON.parse per line only
 *
 * Peak RSS is process.resourceUsage().maxRSS (KiB): the whole process, so it
 * includes Node, tsx and the loaded modules (rssAtStartKiB shows that floor).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Auditor } from '../src/analyze/audit.js';
import { readTraceInputs } from '../src/ingest/index.js';
import type { TraceInputError } from '../src/ingest/errors.js';

export interface ChildResult {
  mode: 'audit' | 'parse';
  file: string;
  bytes: number;
  ms: number;
  /**
   * CPU time of the same work (user + system, every thread of the process), ms: on a shared machine
   * the wall time grows with the load and this much less.
   */
  cpuMs: number;
  spans: number;
  traces: number;
  findings: number;
  errors: number;
  maxRssKiB: number;
  rssAtStartKiB: number;
  /** Largest V8 heapUsed seen by a 50 ms sampler (between batches), KiB. */
  peakHeapUsedKiB: number;
  /** audit only: time in `Auditor.finish()` (analysis of the groups still open at the end), ms. */
  finishMs?: number;
  /** audit only: findings per rule, rules with none left out. */
  findingsByRule?: Record<string, number>;
}

/** The bare cost of JSON Lines: stream the bytes, split on newlines, JSON.parse each line, count spans. */
async function parseLines(file: string): Promise<{ spans: number; traces: number }> {
  let spans = 0;
  let traces = 0;
  const count = (line: string) => {
    if (line.trim() === '') return;
    const request = JSON.parse(line) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    for (const rs of request.resourceSpans) {
      traces++;
      for (const ss of rs.scopeSpans) spans += ss.spans.length;
    }
  };
  let carry: Buffer[] = [];
  for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = piece.indexOf(0x0a); end !== -1; end = piece.indexOf(0x0a, start)) {
      if (carry.length > 0) {
        carry.push(piece.subarray(start, end));
        count(Buffer.concat(carry).toString('utf8'));
        carry = [];
      } else count(piece.toString('utf8', start, end));
      start = end + 1;
    }
    if (start < piece.length) carry.push(piece.subarray(start));
  }
  if (carry.length > 0) count(Buffer.concat(carry).toString('utf8'));
  return { spans, traces };
}

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  if ((mode !== 'audit' && mode !== 'parse') || !file) {
    console.error('usage: node --import tsx bench/audit-child.ts audit|parse <file>');
    process.exitCode = 2;
    return;
  }
  const rssAtStartKiB = process.memoryUsage.rss() / 1024;
  let peakHeapUsed = 0;
  const sampler = setInterval(() => {
    peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
  }, 50);
  const bytes = (await stat(file)).size;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let spans: number;
  let traces: number;
  let findings = 0;
  let errors = 0;
  let finishMs: number | undefined;
  let findingsByRule: Record<string, number> | undefined;
  if (mode === 'audit') {
    const auditor = new Auditor();
    const problems: TraceInputError[] = [];
    for await (const batch of readTraceInputs([file], { onError: (e) => problems.push(e) })) auditor.addSpans(batch);
    const finishStarted = performance.now();
    const report = auditor.finish();
    finishMs = performance.now() - finishStarted;
    findingsByRule = {};
    for (const rule of report.rules) if (rule.findings > 0) findingsByRule[rule.ruleId] = rule.findings;
    spans = report.inputs.spans;
    traces = report.inputs.traces;
    findings = report.findings.length + report.findingsTruncated;
    errors = problems.length;
    for (const p of problems.slice(0, 3)) console.error(`input error: ${p.message}`);
  } else {
    ({ spans, traces } = await parseLines(file));
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  clearInterval(sampler);
  peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
  const result: ChildResult = {
    mode,
    file,
    bytes,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    spans,
    traces,
    findings,
    errors,
    maxRssKiB: process.resourceUsage().maxRSS,
    rssAtStartKiB,
    peakHeapUsedKiB: peakHeapUsed / 1024,
    ...(finishMs !== undefined ? { finishMs } : {}),
    ...(findingsByRule !== undefined ? { findingsByRule } : {}),
  };
  console.log(JSON.stringify(result));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
