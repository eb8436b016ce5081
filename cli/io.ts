/** What a command may touch of the process: passed in, so commands run in tests without a child process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes, as ESLint's: 0 clean, 1 findings at or above --fail-on, 2 usage error, bad input or internal fault. */
export const ExitCode = { Ok: 0, Findings: 1, Usage: 2 } as const;

/** A usage error: printed as one line with the command's usage hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Width of piped output when $COLUMNS says nothing: what a CI log, a pager or a diff shows unwrapped. */
export const PIPED_WIDTH = 80;

/**
 * Columns the text output may use: $COLUMNS when it holds a positive whole
 * number (the user's word, as less, ls and Python's shutil honour it), else the
 * terminal's width, else 80 when stdout is a pipe or a file.
 */
export function outputWidth(io: CliIo): number {
  const fromEnv = io.env.COLUMNS;
  if (fromEnv !== undefined && /^\s*\d+\s*$/.test(fromEnv) && Number(fromEnv) > 0) return Number(fromEnv);
  if (io.stdout.isTTY === true && typeof io.stdout.columns === 'number' && io.stdout.columns > 0) return io.stdout.columns;
  return PIPED_WIDTH;
}
