/**
 * `baton graph <files>`: the handoff graph (agents, per-edge handoff counts and
 * p95 latency, cycles highlighted) as Mermaid, Graphviz DOT or JSON. Like
 * `baton audit`, a graph of nothing (no spans, or no agent in them) exits 1
 * unless --allow-empty.
 */
import { printable } from '../../src/report/format.js';
import { parseCommandArgs } from '../args.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { auditInputs, describeInputs, loadConfig, parseDialect } from './audit.js';
import { auditOptionsFromConfig } from '../config.js';

const FORMATS = ['mermaid', 'dot', 'json'] as const;

const HELP = `Usage: baton graph <file|dir|->... [--format mermaid|dot|json]

Prints the handoff graph of the traces: one node per agent, one edge per
source → target with its handoff count and p95 latency; cycles in red.

Options:
  --format <f>     mermaid (default), dot, json
  --config <file>  settings file (default: ./baton.config.json when present)
  --dialect <id>   read every trace group as this vocabulary: DIALECTS
                   (default: each span as the first vocabulary that claims it)
  --allow-empty    accept a graph of nothing: no spans, or no agent in them (exit 0, not 1)
  -h, --help       show this help

Exit codes: 0 ok; 1 nothing to draw (see --allow-empty); 2 usage error or unreadable input.
`;

export async function runGraphCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      format: { type: 'string' },
      config: { type: 'string' },
      dialect: { type: 'string' },
      'allow-empty': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    const { DIALECT_IDS } = await import('../../src/analyze/dialects/index.js');
    io.stdout.write(HELP.replace('DIALECTS', DIALECT_IDS.join(', ')));
    return ExitCode.Ok;
  }
  const format = (values.format ?? 'mermaid') as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${values.format}"`);
  if (positionals.length === 0) throw new UsageError('no input: give trace files, directories, or - for stdin (see --help)');
  const dialect = await parseDialect(values.dialect);
  const config = await loadConfig(values.config, io);
  const options = { ...(config ? auditOptionsFromConfig(config) : {}), ...(dialect !== undefined ? { dialect } : {}) };
  const { report, problems } = await auditInputs(positionals, options, io, false);
  if (problems > 0 && report.inputs.spans === 0) return ExitCode.Usage;
  const { renderGraph } = await import('../../src/report/index.js');
  const output = renderGraph(report, format);
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
