/**
 * `baton watch` as a child process the test talks to: its receiver URLs read from
 * what it prints on stderr, signals sent as a user's terminal or init would, and
 * its exit code and output collected.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../cli/bin.ts', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface WatchProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the receivers' URLs once it printed them. */
  urls(): Promise<{ http?: string; grpc?: string }>;
  /** Resolves with the exit code. */
  exited(): Promise<number>;
}

export function startWatch(args: readonly string[], cwd: string): WatchProcess {
  return startBaton('watch', args, cwd);
}

/** Any live command (`watch`, `demo`) as a child process; `urls()` reads what `watch` prints. */
export function startBaton(command: string, args: readonly string[], cwd: string): WatchProcess {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, BIN, command, ...args], {
    cwd,
    // tsx reads tsconfig.json from the working directory: name the project's (jsx: react-jsx).
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', TSX_TSCONFIG_PATH: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    urls: async () => {
      for (let i = 0; i < 1200; i++) {
        const http = /OTLP (http:\/\/[\d.:]+)/.exec(err)?.[1];
        const grpc = /gRPC (http:\/\/[\d.:]+)/.exec(err)?.[1];
        if (http || grpc || /replaying|following/.test(err)) return { http, grpc };
        if (child.exitCode !== null) throw new Error(`baton watch exited: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`baton watch printed no address: ${err}`);
    },
    exited: () => exit,
  };
}
