/**
 * A private tmux server for tests that run Baton in a real terminal: its own socket
 * (so a developer's tmux is never touched), one session, and the screen read with
 * capture-pane. `batonCommand` is the shell line that runs the CLI from sources in
 * a temp directory and writes its exit status to a file the test polls.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** Whether tmux is installed (the terminal tests skip without it; .ci/run installs it). */
export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

export interface TmuxTerminal {
  /** Runs a tmux command on this server. */
  tmux(...args: string[]): string;
  /** What the session's pane shows now. */
  screen(): string;
  /** The pane and what scrolled off it, wrapped lines joined. */
  scrollback(): string;
  /** Ends the server and its session, if still running. */
  kill(): void;
}

export function tmuxTerminal(name: string, session: string): TmuxTerminal {
  const socket = `baton-${name}-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  return {
    tmux,
    screen: () => tmux('capture-pane', '-p', '-t', session),
    scrollback: () => tmux('capture-pane', '-p', '-J', '-S', '-3000', '-t', session),
    kill: () => {
      try {
        tmux('kill-server');
      } catch {
        // Already gone with its last session.
      }
    },
  };
}

/**
 * The shell line that runs `baton <args>` from the sources in `dir` and writes its exit
 * status to `exitFile`; `after` runs next (e.g. `sleep 600` to keep the pane for reading).
 * tsx reads tsconfig.json from the working directory: the project's is named (jsx: react-jsx).
 */
export function batonCommand(dir: string, args: string, exitFile: string, after = ''): string {
  const tsconfig = JSON.stringify(join(ROOT, 'tsconfig.json'));
  const bin = JSON.stringify(join(ROOT, 'cli/bin.ts'));
  return `cd ${JSON.stringify(dir)} && TSX_TSCONFIG_PATH=${tsconfig} ${JSON.stringify(process.execPath)} --import ${TSX_LOADER} ${bin} ${args}; echo $? > ${JSON.stringify(exitFile)}${after ? `; ${after}` : ''}`;
}
