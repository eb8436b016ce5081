/**
 * Runs the `baton` CLI as a user does: a child process with its exit code,
 * stdout and stderr. It runs from source through tsx, so tests never depend on
 * a stale build.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../cli/bin.ts', import.meta.url));
// Resolved here, not by the child: its working directory may be a temp dir without node_modules.
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `baton ...args` in `cwd`, with colour off; `input` goes to its stdin. */
export function runBaton(args: readonly string[], options: { cwd: string; input?: Buffer | string }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', TSX_LOADER, BIN, ...args],
      { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? '');
  });
}
