/**
 * The CLI's single entry: parses the command, imports it lazily (so `audit` never
 * loads Ink or the OTel SDK), and turns every error into one stderr line and an
 * exit code. A stack is printed only with --debug. `baton help <command>` is
 * `baton <command> --help`; a mistyped command gets the closest one suggested.
 */
import { BatonError } from 'baton-sdk/errors';
import { printable } from '../src/report/format.js';
import { wrapWords } from '../src/report/table.js';
import { HELP_WIDTH } from './args.js';
import { ExitCode, UsageError, type CliIo } from './io.js';
import { didYouMean } from './suggest.js';
import { cliPackage } from './version.js';

type Command = (args: string[], io: CliIo) => Promise<number>;

/** The commands, by name: a one-line summary for `baton --help`, and the module, loaded only when run. */
const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {
  audit: {
    summary: 'audit traces for coordination failures; latency per edge',
    load: async () => (await import('./commands/audit.js')).runAuditCommand,
  },
  graph: {
    summary: 'print the handoff graph: a terminal edge list, Mermaid, DOT or JSON',
    load: async () => (await import('./commands/graph.js')).runGraphCommand,
  },
  demo: {
    summary: 'run the example pipeline live with faults injected, then audit it',
    load: async () => (await import('./commands/demo.js')).runDemoCommand,
  },
  watch: {
    summary: 'receive OTLP (or follow or replay files) and watch handoffs live',
    load: async () => (await import('./commands/watch.js')).runWatchCommand,
  },
};

function usage(): string {
  const names = Object.keys(COMMANDS);
  const column = 2 + Math.max(...names.map((n) => n.length)) + 2;
  const lines = ['Usage: baton <command> [options]', '', 'Commands:'];
  for (const name of names) {
    const [first = '', ...rest] = wrapWords(COMMANDS[name]!.summary, HELP_WIDTH - column);
    lines.push(`  ${name.padEnd(column - 2)}${first}`, ...rest.map((line) => ' '.repeat(column) + line));
  }
  lines.push(
    '',
    'Options:',
    '  -h, --help     show this help; `baton help <command>` for a command\'s options',
    '  -V, --version  print the version',
    '  --debug        print the stack of an internal error',
    '',
    ...wrapWords('Exit codes: 0 ok; 1 findings at or above --fail-on, or nothing to audit; 2 usage error, unreadable input or internal error.', HELP_WIDTH),
  );
  return `${lines.join('\n')}\n`;
}

function unknownCommand(name: string): string {
  const hint = didYouMean(name, [...Object.keys(COMMANDS), 'help']);
  return `baton: unknown command "${printable(name)}"${hint || '; one of: ' + Object.keys(COMMANDS).join(', ')} (see baton --help)\n`;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  let [name, ...rest] = args;
  if (name === undefined) {
    io.stderr.write(usage());
    return ExitCode.Usage;
  }
  if (name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return ExitCode.Ok;
  }
  if (name === '--version' || name === '-V' || name === '-v') {
    io.stdout.write(`${cliPackage().version}\n`);
    return ExitCode.Ok;
  }
  if (name === 'help') {
    // `baton help audit` is `baton audit --help`, as with git and npm.
    if (rest.length === 0) {
      io.stdout.write(usage());
      return ExitCode.Ok;
    }
    name = rest[0]!;
    rest = ['--help'];
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(name.startsWith('-') ? `baton: unknown option ${printable(name)}; a command comes first (see baton --help)\n` : unknownCommand(name));
    return ExitCode.Usage;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (error) {
    // Every message is made printable here too, whatever the command did: one line, no control
    // character from a flag value, a file name or a trace, however the message was built.
    if (error instanceof UsageError) {
      io.stderr.write(`baton ${name}: ${printable(error.message)}\n`);
    } else if (error instanceof BatonError) {
      io.stderr.write(`baton: ${printable(error.message)}\n`);
    } else {
      io.stderr.write(`baton: internal error: ${printable(error instanceof Error ? error.message : String(error))} (rerun with --debug for details)\n`);
    }
    if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return ExitCode.Usage;
  }
}
