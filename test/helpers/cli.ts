/**
 * Runs the `baton` CLI as a user does: a child process with its exit code,
 * stdout and stderr. It runs from source through tsx, so tests never depend on
 * a stale build.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../cli/bin.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
// Resolved here, not by the child: its working directory may be a temp dir without node_modules.
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `baton ...args` in `cwd`, with colour off; `input` goes to its stdin, `env` over the test's environment. */
export function runBaton(args: readonly string[], options: { cwd: string; input?: Buffer | string; env?: NodeJS.ProcessEnv }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', TSX_LOADER, BIN, ...args],
      // TSX_TSCONFIG_PATH: from another working directory tsx would miss tsconfig.json's paths and load
      // baton-sdk from node_modules (a build) instead of the sources.
      { cwd: options.cwd, env: { ...process.env, ...options.env, NO_COLOR: '1', FORCE_COLOR: '0', TSX_TSCONFIG_PATH: TSCONFIG }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? '');
  });
}

/** How {@link runBatonInProcess} presents the process to the CLI. */
export interface InProcessOptions {
  readonly cwd: string;
  readonly input?: string;
  /** Merged over an environment without NO_COLOR, FORCE_COLOR or COLUMNS. */
  readonly env?: NodeJS.ProcessEnv;
  /** stdout is a terminal of this many columns; default: a pipe. */
  readonly ttyColumns?: number;
}

/**
 * Runs `baton ...args` inside the test process through the CLI's IO seam
 * (cli/io.ts): the same main() the bin calls, with stdout and stderr captured,
 * so coverage sees cli/ and a test can present a terminal of any width.
 */
export async function runBatonInProcess(args: readonly string[], options: InProcessOptions): Promise<CliRun> {
  const { main } = await import('../../cli/main.js');
  const { PassThrough, Readable } = await import('node:stream');
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    return { stream, text: () => text };
  };
  const out = capture();
  const err = capture();
  const stdout = Object.assign(out.stream, options.ttyColumns === undefined ? { isTTY: false } : { isTTY: true, columns: options.ttyColumns });
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!['NO_COLOR', 'FORCE_COLOR', 'COLUMNS'].includes(key)) env[key] = value;
  const code = await main(args, {
    stdout,
    stderr: Object.assign(err.stream, { isTTY: false }),
    stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    cwd: options.cwd,
    env: { ...env, ...options.env },
  });
  // PassThrough delivers written chunks on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: out.text(), stderr: err.text() };
}
