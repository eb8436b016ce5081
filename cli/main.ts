/**
 * The CLI's single entry: parses the command, imports it lazily (so `audit` never
 * loads Ink or the OTel SDK), and turns every error into one stderr line and an
 * exit code. A stack is printed only with --debug.
 */
import { BatonError } from '../src/model/errors.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  audit: {
    summary: 'audit traces for coordination failures; latency per edge',
    load: async () => (await import('./commands/audit.js')).runAuditCommand,
  },
  graph: {
    summary: 'print the handoff graph as Mermaid, DOT or JSON',
    load: async () => (await import('./commands/graph.js')).runGraphCommand,
  },
  demo: {
    summary: 'run the five-agent example pipeline, write its trace and audit it',
    load: async () => (await import('./commands/demo.js')).runDemoCommand,
  },
  watch: {
    summary: 'receive OTLP (or follow or replay files) and watch handoffs live',
    load: async () => (await import('./commands/watch.js')).runWatchCommand,
  },
};

const VERSION = '0.1.0';

function usage(): string {
  const lines = ['Usage: baton <command> [options]', '', 'Commands:'];
  for (const [name, { summary }] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  lines.push('', 'Run `baton <command> --help` for a command\'s options. Exit codes: 0 ok, 1 findings (or nothing to audit), 2 usage or input error.');
  return lines.join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${VERSION}\n`);
    return ExitCode.Ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`baton: unknown command "${name}"\n${usage()}\n`);
    return ExitCode.Usage;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`baton ${name}: ${error.message}\n`);
    } else if (error instanceof BatonError) {
      io.stderr.write(`baton: ${error.message}\n`);
    } else {
      io.stderr.write(`baton: internal error: ${error instanceof Error ? error.message : String(error)} (rerun with --debug for details)\n`);
    }
    if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return ExitCode.Usage;
  }
}
