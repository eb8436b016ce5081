/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): the functions with the most
 * self time and the most total (inclusive) time, with their source location.
 *
 *   npx tsx bench/cpuprofile-top.ts <file.cpuprofile> [top=25] [filter-regex]
 *
 * The filter (e.g. `src/(ingest|analyze)`) keeps only matching locations in the
 * listing; percentages stay relative to the whole profile.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionTime {
  key: string;
  selfMs: number;
  totalMs: number;
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const url = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/work\/main\//, '');
  return `${name} ${url}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(profile: CpuProfile): { totalMs: number; functions: FunctionTime[] } {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const times = new Map<string, FunctionTime>();
  const entry = (key: string) => {
    let t = times.get(key);
    if (!t) times.set(key, (t = { key, selfMs: 0, totalMs: 0 }));
    return t;
  };
  let totalMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    let id: number | undefined = profile.samples[i]!;
    entry(label(byId.get(id)!.callFrame)).selfMs += ms;
    const seen = new Set<string>();
    for (; id !== undefined; id = parent.get(id)) {
      const key = label(byId.get(id)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      entry(key).totalMs += ms;
    }
  }
  return { totalMs, functions: [...times.values()] };
}

export function formatTop(summary: { totalMs: number; functions: FunctionTime[] }, top: number, filter?: RegExp): string {
  const keep = (f: FunctionTime) => !filter || filter.test(f.key);
  const pct = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1)}%`;
  const lines: string[] = [`profile: ${summary.totalMs.toFixed(0)} ms sampled`, '', 'self time:'];
  for (const f of summary.functions.filter(keep).sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) {
    lines.push(`  ${f.selfMs.toFixed(0).padStart(7)} ms ${pct(f.selfMs).padStart(6)}  ${f.key}`);
  }
  lines.push('', 'total (inclusive) time:');
  for (const f of summary.functions.filter(keep).sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) {
    lines.push(`  ${f.totalMs.toFixed(0).padStart(7)} ms ${pct(f.totalMs).padStart(6)}  ${f.key}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top, filter] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/cpuprofile-top.ts <file.cpuprofile> [top] [filter-regex]');
    process.exitCode = 2;
  } else {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    console.log(formatTop(summarizeProfile(profile), Number(top ?? 25), filter ? new RegExp(filter) : undefined));
  }
}
