/**
 * Audit speed on OpenAI Agents SDK traces: the whole audit (readTraceInputs →
 * Auditor → finish, through the openai-agents encoding and dialect) of a large
 * file against the bare cost of getting it into memory (readFile + JSON.parse of
 * every line), in one process, as bench/audit.ts measures OTLP.
 *
 * The file is made of the recorded runs in fixtures/frameworks/openai-agents/
 * (the SDK's own JSON, and Baton's processor output as Collector JSON Lines),
 * repeated with fresh trace and span ids until it reaches the size asked.
 *
 * Run alone: npx tsx bench/openai-agents.ts [MiB]   (default 32; the goal: audit ≤ 2x parse)
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Auditor } from '../src/analyze/audit.js';
import { readTraceInputs } from '../src/ingest/index.js';
import { collectGarbage, fmt, fmtMs, fmtRatio, log, markdownTable, median, MiB } from './common.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/frameworks/openai-agents/', import.meta.url));
const SCENARIOS = ['chain', 'hub', 'cycle', 'retry', 'multiple-handoffs', 'concurrent'];
const RUNS = 3;

/** Lines of one copy, with every 32-hex trace id and 24/16-hex span id given copy number `n` in their last digits. */
function copyOf(lines: readonly string[], n: number): string {
  const tag = n.toString(16).padStart(8, '0');
  let out = '';
  for (const line of lines) out += `${line.replace(/(trace_[0-9a-f]{24}|span_[0-9a-f]{16}|"traceId":"[0-9a-f]{24}|"(?:span|parentSpan)Id":"[0-9a-f]{8})[0-9a-f]{8}/g, `$1${tag}`)}\n`;
  return out;
}

async function sourceLines(kind: 'native' | 'collector'): Promise<string[]> {
  const lines: string[] = [];
  for (const scenario of SCENARIOS) {
    const text = await readFile(join(FIXTURES, `${scenario}.${kind === 'native' ? 'native.jsonl' : 'collector.jsonl'}`), 'utf8');
    for (const line of text.split('\n')) if (line.length > 0) lines.push(line);
  }
  return lines;
}

/** Wall and CPU time (user + system of the whole process) of one run, ms: CPU time is steadier on a shared machine. */
async function time(fn: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  collectGarbage();
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await fn();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpuStart);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  const targetMiB = Number(process.argv[2] ?? 32);
  // BATON_BENCH_KEEP=<dir>: write the files there and keep them (to profile one with bench/audit-child.ts).
  const keep = process.env.BATON_BENCH_KEEP;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'baton-bench-oa-')));
  const rows: string[][] = [];
  try {
    for (const kind of ['native', 'collector'] as const) {
      const lines = await sourceLines(kind);
      const path = join(dir, `${kind}.jsonl`);
      const chunks: string[] = [];
      let bytes = 0;
      for (let n = 1; bytes < targetMiB * MiB; n++) {
        const chunk = copyOf(lines, n);
        chunks.push(chunk);
        bytes += Buffer.byteLength(chunk);
      }
      await writeFile(path, chunks.join(''));
      let spans = 0;
      let findings = 0;
      const parse = async () => {
        const text = await readFile(path, 'utf8');
        let start = 0;
        for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
          JSON.parse(text.slice(start, end));
          start = end + 1;
        }
      };
      const audit = async () => {
        const auditor = new Auditor();
        spans = 0;
        for await (const batch of readTraceInputs([path])) {
          spans += batch.length;
          auditor.addSpans(batch);
        }
        findings = auditor.finish().findings.length;
      };
      await audit(); // warm the JIT
      const bare = { wall: [] as number[], cpu: [] as number[] };
      const full = { wall: [] as number[], cpu: [] as number[] };
      for (let i = 0; i < RUNS; i++) {
        const b = await time(parse);
        bare.wall.push(b.wallMs);
        bare.cpu.push(b.cpuMs);
        const a = await time(audit);
        full.wall.push(a.wallMs);
        full.cpu.push(a.cpuMs);
      }
      const ratio = median(full.wall) / median(bare.wall);
      const cpuRatio = median(full.cpu) / median(bare.cpu);
      log(`openai-agents ${kind}: ${fmt(bytes / MiB, 1)} MiB, ${spans} spans, parse ${fmtMs(median(bare.wall))}, audit ${fmtMs(median(full.wall))}, ${fmtRatio(ratio)} wall, ${fmtRatio(cpuRatio)} CPU`);
      rows.push([
        kind === 'native' ? 'SDK JSON Lines' : "processor's spans, Collector JSON Lines",
        fmt(bytes / MiB, 1),
        String(spans),
        String(findings),
        `${fmtMs(median(bare.wall))} / ${fmtMs(median(bare.cpu))}`,
        `${fmtMs(median(full.wall))} / ${fmtMs(median(full.cpu))}`,
        `${fmtRatio(ratio)} / ${fmtRatio(cpuRatio)}`,
      ]);
    }
    process.stdout.write(`${markdownTable(['input', 'MiB', 'spans', 'findings', 'readFile + JSON.parse (wall / CPU)', 'audit (wall / CPU)', 'audit / parse (wall / CPU)'], rows)}\n`);
  } finally {
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}

await main();
