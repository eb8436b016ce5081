/**
 * Argument parsing on node:util's parseArgs, declared once per command: each
 * flag is one entry of the command's options object (its parseArgs type plus a
 * value name for help, `<f>`, and a description), and the help text is laid out from those
 * entries, so a new flag is one declaration and its help can never go missing.
 * parseArgs's errors become one-line UsageErrors, with "did you mean" for a
 * mistyped flag, as npm's CLI suggests.
 */
import { parseArgs } from 'node:util';
import { wrapWords } from '../src/report/table.js';
import { UsageError } from './io.js';
import { didYouMean } from './suggest.js';

/** One flag: parseArgs's settings plus what its help line says. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder of the value in help: `--format <f>`. Only for strings. */
  readonly value?: string;
  /** What the flag does, with its default; wrapped to fit the help width. */
  readonly description: string;
}

/** A command's flags by long name (without the dashes). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** What `baton <command> --help` prints around the flags. */
export interface CommandHelp {
  /** `baton audit <file|dir|->... [options]`. */
  readonly usage: string;
  /** What the command does: one paragraph, wrapped. */
  readonly description: string;
  /** Paragraphs after the flags (exit codes, examples), each wrapped. */
  readonly footer?: readonly string[];
}

/** A named item listed under a flag in help: a rule id and what it finds, a fault and what it injects. */
export interface HelpChoice {
  readonly name: string;
  readonly description?: string;
}

type ParsedArgs<T extends OptionSpecs, P extends boolean> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: P; strict: true }>
>;

/** Parses `args` against `options`; throws a one-line UsageError (exit 2) naming the flag at fault. */
export function parseCommandArgs<T extends OptionSpecs, P extends boolean>(
  args: string[],
  options: T,
  allowPositionals: P,
): ParsedArgs<T, P> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(usageMessage(error as Error & { code?: string }, options));
  }
}

function usageMessage(error: Error & { code?: string }, options: OptionSpecs): string {
  const message = error.message;
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? '';
    const names = [...Object.keys(options), 'help'];
    const hint = flag.startsWith('--') ? didYouMean(flag.slice(2).split('=')[0]!, names, (name) => `--${name}`) : '';
    return `unknown option ${flag}${hint || ' (see --help)'}`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(?:-\w, )?(--[^ ']+)/.exec(message)?.[1];
    if (flag !== undefined && message.includes('argument missing')) return `${flag} needs a value`;
    if (flag !== undefined && message.includes('does not take an argument')) return `${flag} takes no value`;
    if (flag !== undefined && message.includes('ambiguous')) {
      return `${flag} needs a value, and the next argument is a flag (write ${flag}=<value> for a value that starts with -)`;
    }
  }
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const argument = /'([^']*)'/.exec(message)?.[1] ?? '';
    return `unexpected argument "${argument}": this command takes no file arguments`;
  }
  // Any other parseArgs message is one sentence already; its hint about '--' would double the line.
  return message.split('. To specify')[0] ?? message;
}

/** Refuses a flag's value outside `choices`, suggesting the closest: `--format must be one of text, json; not "jsn"; did you mean "json"?`. */
export function checkChoice<C extends string>(flag: string, value: string, choices: readonly C[]): C {
  if ((choices as readonly string[]).includes(value)) return value as C;
  throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, not "${value}"${didYouMean(value, choices)}`);
}

/** Widest help line, as `git` and `npm` keep theirs: it reads in any terminal and in a CI log. */
export const HELP_WIDTH = 80;
// Descriptions start at this column at most; a longer flag puts its description on the next line.
const MAX_FLAG_COLUMN = 24;

/**
 * The help text of a command: usage, description, one entry per flag (those in
 * `choices` followed by their list), then the footer; no line wider than `width`.
 */
export function formatHelp(
  help: CommandHelp,
  options: OptionSpecs,
  choices: Readonly<Record<string, readonly HelpChoice[]>> = {},
  width: number = HELP_WIDTH,
): string {
  const lines: string[] = [`Usage: ${help.usage}`, '', ...wrapWords(help.description, width), '', 'Options:'];
  const entries: [label: string, spec: OptionSpec, name: string][] = [];
  for (const name of Object.keys(options)) {
    const spec = options[name]!;
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}`;
    entries.push([spec.type === 'string' ? `${flag} <${spec.value ?? 'value'}>` : flag, spec, name]);
  }
  if (!('help' in options)) entries.push(['-h, --help', { type: 'boolean', description: 'show this help' }, 'help']);
  const column = Math.min(MAX_FLAG_COLUMN, 2 + Math.max(...entries.map(([label]) => label.length)) + 2);
  for (const [label, spec, name] of entries) {
    const text = wrapWords(spec.description, width - column);
    if (2 + label.length + 2 <= column) lines.push(`  ${label.padEnd(column - 2)}${text[0] ?? ''}`);
    else lines.push(`  ${label}`, ' '.repeat(column) + (text[0] ?? ''));
    for (const more of text.slice(1)) lines.push(' '.repeat(column) + more);
    const list = choices[name];
    // Under the flag, not under its description: a list of names with their own descriptions needs the room.
    if (list) lines.push(...choiceLines(list, 8, width));
  }
  for (const paragraph of help.footer ?? []) lines.push('', ...wrapWords(paragraph, width));
  return `${lines.join('\n')}\n`;
}

/** `name  description` pairs under a flag, the descriptions aligned and wrapped. */
function choiceLines(list: readonly HelpChoice[], indent: number, width: number): string[] {
  const nameWidth = Math.max(...list.map((c) => c.name.length));
  const lines: string[] = [];
  for (const choice of list) {
    const descriptionColumn = indent + nameWidth + 2;
    const text = choice.description ? wrapWords(choice.description, Math.max(20, width - descriptionColumn)) : [];
    lines.push(`${' '.repeat(indent)}${choice.name.padEnd(nameWidth)}${text.length > 0 ? `  ${text[0]}` : ''}`.trimEnd());
    for (const more of text.slice(1)) lines.push(' '.repeat(descriptionColumn) + more);
  }
  return lines;
}
