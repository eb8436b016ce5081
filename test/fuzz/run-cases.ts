/**
 * Child process of the fuzz suite: runs `baton audit --format json <case> <good>`
 * in-process for each case of a manifest, as the bin does but with captured
 * streams, and writes one JSON result per line. Run with a heap cap
 * (--max-old-space-size), so a case that needs more memory than the cap kills
 * this process, and the harness names the case it was on (`started` lines come
 * before each run).
 *
 * Usage: node --import tsx run-cases.ts <manifest.json> <results.jsonl> [first case]
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { main } from '../../cli/main.js';

export interface FuzzCase {
  /** File name inside the manifest's directory (may hold any byte but `/` and NUL). */
  readonly file: string;
  /** How the case was made, for failure messages. */
  readonly kind: string;
}

export interface FuzzManifest {
  readonly dir: string;
  readonly good: string;
  readonly cases: readonly FuzzCase[];
}

export interface FuzzResult {
  readonly index: number;
  readonly exit: number;
  readonly stdout: string;
  readonly stderr: string;
  /** CPU time of the run (user + system), for the suite's summary; never asserted as a race. */
  readonly cpuMs: number;
  /** The process's peak resident memory after the run. */
  readonly maxRssMiB: number;
}

function collector(): { stream: Writable & { isTTY: false }; text: () => string } {
  const parts: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      parts.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      done();
    },
  }) as Writable & { isTTY: false };
  stream.isTTY = false;
  return { stream, text: () => parts.join('') };
}

async function runOne(args: string[], cwd: string): Promise<{ exit: number; stdout: string; stderr: string }> {
  const stdout = collector();
  const stderr = collector();
  const exit = await main(args, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: Readable.from([]),
    cwd,
    env: { NO_COLOR: '1' },
  });
  return { exit, stdout: stdout.text(), stderr: stderr.text() };
}

const [manifestPath, resultsPath, first] = process.argv.slice(2);
if (manifestPath && resultsPath) {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as FuzzManifest;
  // Resumed after a case that killed the previous child: its results stay, the run goes on after it.
  if (first === undefined) writeFileSync(resultsPath, '');
  for (let index = Number(first ?? 0); index < manifest.cases.length; index++) {
    appendFileSync(resultsPath, `${JSON.stringify({ started: index })}\n`);
    const cpu = process.cpuUsage();
    const run = await runOne(['audit', '--format', 'json', '--allow-empty', manifest.cases[index]!.file, manifest.good], manifest.dir);
    const used = process.cpuUsage(cpu);
    const result: FuzzResult = {
      index,
      ...run,
      cpuMs: (used.user + used.system) / 1000,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    appendFileSync(resultsPath, `${JSON.stringify(result)}\n`);
  }
  appendFileSync(resultsPath, `${JSON.stringify({ done: true })}\n`);
}
