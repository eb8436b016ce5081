/**
 * Shared helpers of the benchmarks: machine facts, a forced GC between timed
 * runs, peak RSS, number formatting and a markdown table printer.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** `BATON_BENCH_QUICK=1` scales the file sizes down for a quick run. */
export const QUICK = process.env.BATON_BENCH_QUICK === '1';

export const MiB = 1024 * 1024;

export interface MachineFacts {
  node: string;
  v8: string;
  platform: string;
  cpu: string;
  cores: number;
  totalMemGiB: number;
  heapLimitMiB: number;
}

export async function machineFacts(): Promise<MachineFacts> {
  const { getHeapStatistics } = await import('node:v8');
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemGiB: os.totalmem() / 1024 ** 3,
    heapLimitMiB: getHeapStatistics().heap_size_limit / MiB,
  };
}

let gcFn: (() => void) | undefined;

/**
 * Runs a full GC so one timed run does not pay for the garbage of the previous one.
 * `npm run bench` cannot pass --expose-gc, so the flag is set at run time.
 */
export function collectGarbage(): void {
  if (!gcFn) {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (existing) gcFn = existing;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

/** This process's peak resident set size so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Formats with a fixed number of significant-looking decimals by magnitude. */
export function fmt(value: number, decimals?: number): string {
  if (!Number.isFinite(value)) return String(value);
  const d = decimals ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function fmtRatio(value: number): string {
  return `${fmt(value, 2)}x`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${fmt(ms / 1000, 2)} s` : `${fmt(ms, ms >= 100 ? 0 : 1)} ms`;
}

/** A markdown table; cells are right-aligned when they look numeric. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => /^[-+~≈]?[\d.,]+ ?(ns|ms|s|x|%|MiB|GiB|MiB\/s)?$/.test(r[c] ?? '')));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (numeric[c] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Goal verdict text. */
export function verdict(met: boolean): string {
  return met ? 'met' : 'NOT met';
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

const REPO = fileURLToPath(new URL('../', import.meta.url));

/** How a child run ended: its JSON result, killed at the timeout, or a non-zero exit. */
export type ChildOutcome<T> =
  | { status: 'ok'; result: T; wallMs: number }
  | { status: 'timeout'; wallMs: number }
  | { status: 'crash'; wallMs: number; exitCode: number | null; signal: string | null; stderrTail: string };

/**
 * Runs `bench/<script>` in a fresh node with the tsx loader like {@link runTsChild},
 * but never rejects for what the child did: past `timeoutMs` it is killed (SIGKILL)
 * and reported as a timeout; a non-zero exit (a stack overflow, running out of
 * heap) is reported with the tail of its stderr, which still passes through.
 */
export function runTsChildOutcome<T>(
  script: string,
  args: readonly string[],
  options: { nodeArgs?: readonly string[]; timeoutMs?: number } = {},
): Promise<ChildOutcome<T>> {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', path, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errTail = '';
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      errTail = (errTail + chunk).slice(-4000);
    });
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const wallMs = performance.now() - started;
      if (timedOut) return resolve({ status: 'timeout', wallMs });
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        return resolve({ status: 'crash', wallMs, exitCode: code, signal, stderrTail: errTail || out.slice(-2000) });
      }
      resolve({ status: 'ok', result: JSON.parse(line) as T, wallMs });
    });
  });
}

/**
 * Runs `bench/<script>` in a fresh node with the tsx loader (stderr passes through)
 * and returns the last line it printed on stdout, parsed as JSON, and the wall time.
 */
export async function runTsChild<T>(script: string, args: readonly string[], nodeArgs: readonly string[] = []): Promise<{ result: T; wallMs: number }> {
  const outcome = await runTsChildOutcome<T>(script, args, { nodeArgs });
  if (outcome.status !== 'ok') {
    const detail = outcome.status === 'crash' ? `exited with ${outcome.exitCode ?? outcome.signal}: ${outcome.stderrTail.slice(-500)}` : outcome.status;
    throw new Error(`${script} ${args.join(' ')} ${detail}`);
  }
  return { result: outcome.result, wallMs: outcome.wallMs };
}
