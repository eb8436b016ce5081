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
