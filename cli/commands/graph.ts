/**
 * `baton graph <files>`: the handoff graph (agents, per-edge handoff counts and
 * p95 latency, cycles highlighted) as Mermaid, Graphviz DOT or JSON.
 */
import { parseCommandArgs } from '../args.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { auditInputs, loadConfig } from './audit.js';
import { auditOptionsFromConfig } from '../config.js';

const FORMATS = ['mermaid', 'dot', 'json'] as const;

const HELP = `Usage: baton graph <file|dir|->... [--format mermaid|dot|json]

Prints the handoff graph of the traces: one node per agent, one edge per
source → target with its handoff count and p95 latency; cycles in red.

Options:
  --format <f>     mermaid (default), dot, json
  --config <file>  settings file (default: ./baton.config.json when present)
  -h, --help       show this help
`;

export async function runGraphCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { format: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.Ok;
  }
  const format = (values.format ?? 'mermaid') as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${values.format}"`);
  if (positionals.length === 0) throw new UsageError('no input: give trace files, directories, or - for stdin (see --help)');
  const config = await loadConfig(values.config, io);
  const { report, problems } = await auditInputs(positionals, config ? auditOptionsFromConfig(config) : {}, io, false);
  if (problems > 0 && report.inputs.spans === 0) return ExitCode.Usage;
  const { renderGraph } = await import('../../src/report/index.js');
  const output = renderGraph(report, format);
  io.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
  return problems > 0 ? ExitCode.Usage : ExitCode.Ok;
}
