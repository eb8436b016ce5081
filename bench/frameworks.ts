/**
 * The framework dialects and the Jaeger reader at size: the constructed
 * AutoGen (SelectorGroupChat hub) and Agent Framework (fan-out/fan-in) traces
 * replicated with fresh ids into Collector JSON Lines files, and the Agent
 * Framework trace as one Jaeger v1 document, each audited (`readTraceInputs` →
 * `Auditor` → `finish`) against the bare parse (read the lines or the document,
 * `JSON.parse` each). Medians of 3 runs, after a GC when exposed.
 *
 * Run: npx tsx --expose-gc bench/frameworks.ts [MiB per file, default 40]
 *      (BATON_BENCH_KEEP=<dir> keeps the generated files there)
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Auditor } from '../src/analyze/audit.js';
import { readTraceInputs } from '../src/ingest/index.js';

const FRAMEWORKS = fileURLToPath(new URL('../fixtures/frameworks/', import.meta.url));
const targetBytes = Number(process.argv[2] ?? 40) * 1024 * 1024;
const ID = /"([0-9a-f]{32}|[0-9a-f]{16})"/g;
const OTLP_TIME = /"(startTimeUnixNano|endTimeUnixNano|timeUnixNano)":("?)(\d+)"?/g;
const JAEGER_TIME = /"(startTime|timestamp)":(\d+)/g;
/** Copies start 10 s apart, as tasks one after another: a service's day, not every task at the same instant. */
const COPY_GAP_NS = 10_000_000_000n;

/** The text with every trace and span id given copy `k`'s prefix (copies never share an id) and its times moved `k` gaps on. */
function copyOf(text: string, k: number): string {
  const prefix = k.toString(16).padStart(6, '0');
  const shiftNs = COPY_GAP_NS * BigInt(k);
  return text
    .replace(ID, (_m, id: string) => `"${prefix}${id.slice(6)}"`)
    .replace(OTLP_TIME, (_m, key: string, quote: string, ns: string) => `"${key}":${quote}${(BigInt(ns) + shiftNs).toString()}${quote}`)
    .replace(JAEGER_TIME, (_m, key: string, us: string) => `"${key}":${(BigInt(us) + shiftNs / 1000n).toString()}`);
}

async function replicateLines(source: string, out: string): Promise<number> {
  const lines = (await readFile(source, 'utf8')).trim().split('\n');
  const parts: string[] = [];
  let bytes = 0;
  for (let k = 1; bytes < targetBytes; k++) for (const line of lines) {
    const copy = copyOf(line, k);
    parts.push(copy);
    bytes += copy.length + 1;
  }
  await writeFile(out, `${parts.join('\n')}\n`);
  return bytes;
}

async function replicateJaeger(source: string, out: string): Promise<number> {
  const doc = JSON.parse(await readFile(source, 'utf8')) as { data: unknown[] };
  const trace = JSON.stringify(doc.data[0]);
  const copies: string[] = [];
  let bytes = 0;
  for (let k = 1; bytes < targetBytes; k++) {
    const copy = copyOf(trace, k);
    copies.push(copy);
    bytes += copy.length + 1;
  }
  await writeFile(out, `{"data":[${copies.join(',')}],"total":0,"limit":0,"offset":0,"errors":null}\n`);
  return bytes;
}

async function bare(file: string, lines: boolean): Promise<number> {
  if (!lines) return (JSON.parse(await readFile(file, 'utf8')) as unknown) ? 1 : 0;
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line) n += (JSON.parse(line) as unknown) ? 1 : 0;
  return n;
}

async function audit(file: string): Promise<number> {
  const auditor = new Auditor();
  for await (const batch of readTraceInputs([file])) auditor.addSpans(batch);
  return auditor.finish().inputs.spans;
}

/** Median wall and CPU (user + system of the whole process, ms) of 3 runs: CPU time is steadier on a shared machine. */
async function median(fn: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    await fn();
    wall.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wallMs: wall.sort((a, b) => a - b)[1]!, cpuMs: cpu.sort((a, b) => a - b)[1]! };
}

/** BATON_BENCH_KEEP=<dir>: write the files there and keep them (to profile one with bench/audit-child.ts). */
const keep = process.env.BATON_BENCH_KEEP;
const dir = keep ?? (await mkdtemp(join(tmpdir(), 'baton-bench-frameworks-')));
try {
  const cases = [
    { name: 'AutoGen SelectorGroupChat, Collector JSONL', file: join(dir, 'autogen.jsonl'), make: (f: string) => replicateLines(join(FRAMEWORKS, 'autogen', 'selector-hub.collector.jsonl'), f), lines: true },
    { name: 'Agent Framework fan-out, Collector JSONL', file: join(dir, 'maf.jsonl'), make: (f: string) => replicateLines(join(FRAMEWORKS, 'agent-framework', 'fan-out.collector.jsonl'), f), lines: true },
    { name: 'Agent Framework fan-out, Jaeger v1 JSON', file: join(dir, 'maf.jaeger.json'), make: (f: string) => replicateJaeger(join(FRAMEWORKS, 'agent-framework', 'fan-out.jaeger-v1.json'), f), lines: false },
  ];
  console.log('| input | MiB | spans | bare parse ms (wall / CPU) | audit ms (wall / CPU) | audit / bare (wall / CPU) |');
  console.log('|---|--:|--:|--:|--:|--:|');
  for (const c of cases) {
    const bytes = await c.make(c.file);
    const spans = await audit(c.file);
    const b = await median(() => bare(c.file, c.lines));
    const a = await median(() => audit(c.file));
    console.log(
      `| ${c.name} | ${(bytes / 1048576).toFixed(0)} | ${spans.toLocaleString('en-US')} | ${b.wallMs.toFixed(0)} / ${b.cpuMs.toFixed(0)} | ${a.wallMs.toFixed(0)} / ${a.cpuMs.toFixed(0)} | ${(a.wallMs / b.wallMs).toFixed(2)} / ${(a.cpuMs / b.cpuMs).toFixed(2)} |`,
    );
  }
} finally {
  if (keep === undefined) await rm(dir, { recursive: true, force: true });
}
