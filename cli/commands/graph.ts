/**
 * `baton graph <files>`: the handoff graph (agents, per-edge handoff counts and
 * p95 latency, cycles highlighted) as an indented edge list for the terminal,
 * Mermaid, Graphviz DOT or JSON. Like
 * `baton audit`, a graph of nothing (no spans, or no agent in them) exits 1
 * unless --allow-empty.
 */
import { printable } from '../../src/report/format.js';
import { checkChoice, formatHelp, parseCommandArgs, type CommandHelp, type OptionSpecs } from '../args.js';
import { ExitCode, outputWidth, UsageError, type CliIo } from '../io.js';
import { auditInputs, describeInputs, loadConfig, parseDialect } from './audit.js';
import { auditOptionsFromConfig } from '../config.js';

const FORMATS = ['text', 'mermaid', 'dot', 'json'] as const;

/** The flags of `baton graph`, one declaration each; --help is laid out from them. */
export const GRAPH_OPTIONS = {
  format: {
    type: 'string',
    value: 'f',
    description: 'text (default: an indented edge list for a terminal), mermaid, dot (Graphviz), json',
  },
  config: { type: 'string', value: 'file', description: 'settings file (default: ./baton.config.json when present)' },
  dialect: {
    type: 'string',
    value: 'id',
    description: 'read every trace group as this vocabulary (default: each span as the first vocabulary that claims it); one of:',
  },
  'allow-empty': { type: 'boolean', description: 'accept a graph of nothing: no spans, or no agent in them (exit 0, not 1)' },
  'no-color': { type: 'boolean', description: 'plain text output even on a terminal (also when $NO_COLOR is set)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

const GRAPH_HELP: CommandHelp = {
  usage: 'baton graph <file|dir|->... [--format text|mermaid|dot|json]',
  description:
    'Prints the handoff graph of the traces: one node per agent, one edge per source → target with its handoff count and p95 latency; declared dependencies no handoff took as "waits on" edges, waiter → awaited; cycles in red.',
  footer: ['Exit codes: 0 ok; 1 nothing to draw (see --allow-empty); 2 usage error or unreadable input.'],
};

export async function runGraphCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, GRAPH_OPTIONS, true);
  if (values.help) {
    const { DIALECT_IDS } = await import('../../src/analyze/dialects/index.js');
    io.stdout.write(formatHelp(GRAPH_HELP, GRAPH_OPTIONS, { dialect: DIALECT_IDS.map((id) => ({ name: id })) }));
    return ExitCode.Ok;
  }
  const format = checkChoice('format', values.format ?? 'text', FORMATS);
  if (positionals.length === 0) throw new UsageError('no input: give trace files, directories, or - for stdin (see --help)');
  const dialect = await parseDialect(values.dialect);
  const config = await loadConfig(values.config, io);
  const options = { ...(config ? auditOptionsFromConfig(config) : {}), ...(dialect !== undefined ? { dialect } : {}) };
  const { report, problems } = await auditInputs(positionals, options, io, false);
  if (problems > 0 && report.inputs.spans === 0) return ExitCode.Usage;
  const { renderGraph } = await import('../../src/report/index.js');
  const color = !values['no-color'] && io.stdout.isTTY === true && !io.env.NO_COLOR;
  const output = renderGraph(report, format, { color, width: outputWidth(io) });
  io.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
  if (problems > 0) return ExitCode.Usage;
  if (!values['allow-empty']) {
    const accept = 'pass --allow-empty to accept';
    const nothing =
      report.inputs.spans === 0
        ? `nothing to draw: 0 spans in ${describeInputs(positionals)} (${accept})`
        : report.agents.length === 0 && report.edges.length === 0
          ? `nothing to draw: no agent in ${report.inputs.spans} span${report.inputs.spans === 1 ? '' : 's'} (${accept})`
          : undefined;
    if (nothing !== undefined) {
      io.stderr.write(`baton: ${printable(nothing)}\n`);
      return ExitCode.Findings;
    }
  }
  return ExitCode.Ok;
}
