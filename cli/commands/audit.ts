/**
 * `baton audit <files|dirs|->`: reads traces, runs every detector, prints a report.
 * Exit 0 when nothing is at or above --fail-on, 1 when something is, 2 for a
 * usage error or any unreadable input (good inputs are still audited and reported).
 * An audit of nothing (no spans, or no rule could run) also exits 1 unless
 * --allow-empty, as Vitest's "No test files found" does unless --passWithNoTests:
 * a green CI job must never come from an exporter that wrote nothing.
 */
import type { AuditOptions } from '../../src/analyze/audit.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import type { TraceInputError } from '../../src/ingest/errors.js';
import type { Severity } from '../../src/model/finding.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import type { ReadTraceOptions } from '../../src/ingest/read-trace-inputs.js';
import { plural, printable } from '../../src/report/format.js';
import { checkChoice, formatHelp, parseCommandArgs, type CommandHelp, type OptionSpecs } from '../args.js';
import { auditOptionsFromConfig, loadConfig } from '../config.js';
import { didYouMean } from '../suggest.js';
import { ExitCode, UsageError, outputWidth, type CliIo } from '../io.js';

const FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
type AuditFormat = (typeof FORMATS)[number];
const FAIL_ON = ['error', 'warning', 'never'] as const;

/** The flags of `baton audit`, one declaration each; --help is laid out from them. */
export const AUDIT_OPTIONS = {
  format: { type: 'string', value: 'f', description: 'text (default), json, junit, markdown' },
  'fail-on': { type: 'string', value: 's', description: 'error (default), warning, never: exit 1 when findings are at or above it' },
  rule: { type: 'string', multiple: true, value: 'id', description: 'run only this rule (repeatable); one of:' },
  config: { type: 'string', value: 'file', description: 'settings file (default: ./baton.config.json when present)' },
  dialect: {
    type: 'string',
    value: 'id',
    description: 'read every trace group as this vocabulary (default: each span as the first vocabulary that claims it); one of:',
  },
  now: { type: 'string', value: 'iso', description: 'the time "now" for never-acknowledged handoffs (default: the end of all input)' },
  explain: {
    type: 'boolean',
    description:
      'per trace: the dialect chosen, the spans it interpreted and ignored (with the reason), and whether each edge was declared or inferred (json: "explain")',
  },
  'allow-empty': { type: 'boolean', description: 'accept an audit of nothing: no spans, or no rule could run (exit 0, not 1)' },
  'max-line-mib': {
    type: 'string',
    value: 'n',
    description: 'longest JSON Lines line read, in MiB (default 128); a longer one is reported and the rest of its file skipped',
  },
  'max-inflate-ratio': {
    type: 'string',
    value: 'n',
    description: 'most bytes gzip or zstd input may inflate to per compressed byte past its first 64 MiB (default 100); more is refused as a decompression bomb',
  },
  'no-color': { type: 'boolean', description: 'plain output even on a terminal (also when $NO_COLOR is set)' },
  color: { type: 'boolean', description: 'colour even when piped' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

const AUDIT_HELP: CommandHelp = {
  usage: 'baton audit <file|dir|->... [options]',
  description:
    'Reads OTLP traces (JSON, JSON Lines, protobuf, gzip or zstd of each, directories, or - for stdin), builds the handoff graph and reports coordination failures and latency per edge. Text output fits the terminal, or 80 columns when piped ($COLUMNS overrides).',
  footer: [
    'Exit codes: 0 clean; 1 findings at or above --fail-on, or nothing to audit (no spans, or no rule could run; see --allow-empty); 2 usage error or unreadable input.',
  ],
};

/** Where the spans came from, for a message: the one input, `stdin`, or `3 inputs`. */
export function describeInputs(inputs: readonly string[]): string {
  if (inputs.length !== 1) return `${inputs.length} inputs`;
  return inputs[0] === '-' ? 'stdin' : inputs[0]!;
}

/**
 * Why an audit checked nothing, as the one stderr line's text, or undefined
 * when it checked something: no spans; no rule on; no rule that was on could run.
 */
export function nothingAudited(report: AuditReport, inputs: readonly string[]): string | undefined {
  const accept = 'pass --allow-empty to accept';
  if (report.inputs.spans === 0) return `nothing to audit: 0 spans in ${describeInputs(inputs)} (${accept})`;
  const on = report.rules.filter((r) => r.status !== 'off');
  if (on.length === 0) return `nothing to audit: every rule is off in the config or left out by --rule (${accept})`;
  if (on.every((r) => r.couldNotRun || r.status === 'could-not-run')) {
    return `no rule could run on ${plural(report.inputs.spans, 'span')}: none records what the rules need (see the report; ${accept})`;
  }
  return undefined;
}

/** Checks --dialect against the dialects the analyzer has. */
export async function parseDialect(value: string | undefined): Promise<string | undefined> {
  if (value === undefined) return undefined;
  const { DIALECT_IDS } = await import('../../src/analyze/dialects/index.js');
  return checkChoice('dialect', value, DIALECT_IDS);
}

/** Shared by audit and graph: reads inputs, audits them, and reports input problems on stderr. */
export async function auditInputs(
  inputs: readonly string[],
  options: AuditOptions,
  io: CliIo,
  progress: boolean,
  limits: Pick<ReadTraceOptions, 'maxLineBytes' | 'maxInflateRatio'> = {},
): Promise<{ report: AuditReport; problems: number }> {
  const [{ Auditor }, { readTraceInputs }] = await Promise.all([
    import('../../src/analyze/audit.js'),
    import('../../src/ingest/index.js'),
  ]);
  const auditor = new Auditor(options);
  let problems = 0;
  let spans = 0;
  const onError = (error: TraceInputError) => {
    problems++;
    auditor.addProblem({ location: error.location, message: error.reason });
    // File names and reasons quote the input: escaped, so a file cannot send a terminal escape sequences or break the line.
    io.stderr.write(`baton: ${printable(error.message)}\n`);
  };
  const showProgress = progress && io.stderr.isTTY === true;
  let lastShown = 0;
  const batches: AsyncIterable<readonly SpanRecord[]> = readTraceInputs(inputs, { stdin: io.stdin, onError, cwd: io.cwd, ...limits });
  for await (const batch of batches) {
    auditor.addSpans(batch);
    spans += batch.length;
    if (showProgress && spans - lastShown >= 50_000) {
      lastShown = spans;
      io.stderr.write(`\rbaton: read ${spans.toLocaleString('en-US')} spans…`);
    }
  }
  if (showProgress && lastShown > 0) io.stderr.write('\r\u001b[2K');
  return { report: auditor.finish(), problems };
}

// Kept here too: graph (and any command that audits) imports it with auditInputs.
export { loadConfig };

/** A limit given on the command line: a finite number above 0. */
function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a number above 0, not "${printable(value)}"`);
  return n;
}

export async function runAuditCommand(args: string[], io: CliIo): Promise<number> {
  const [{ RULE_IDS, DETECTORS, isRuleId }, { DIALECT_IDS }] = await Promise.all([
    import('../../src/analyze/detectors/index.js'),
    import('../../src/analyze/dialects/index.js'),
  ]);
  const { values, positionals } = parseCommandArgs(args, AUDIT_OPTIONS, true);
  if (values.help) {
    const choices = {
      rule: RULE_IDS.map((id) => ({ name: id, description: DETECTORS[id].description })),
      dialect: DIALECT_IDS.map((id) => ({ name: id })),
    };
    io.stdout.write(formatHelp(AUDIT_HELP, AUDIT_OPTIONS, choices));
    return ExitCode.Ok;
  }
  const format: AuditFormat = checkChoice('format', values.format ?? 'text', FORMATS);
  if (positionals.length === 0) throw new UsageError('no input: give trace files, directories, or - for stdin (see --help)');
  const rules = values.rule ?? [];
  for (const rule of rules) {
    if (!isRuleId(rule)) throw new UsageError(`unknown rule "${printable(rule)}"${didYouMean(rule, RULE_IDS) || `; one of: ${RULE_IDS.join(', ')}`}`);
  }
  const config = await loadConfig(values.config, io);
  const failOn: Severity | 'never' = checkChoice('fail-on', values['fail-on'] ?? config?.failOn ?? 'error', FAIL_ON);
  const dialect = await parseDialect(values.dialect);
  let now: number | undefined;
  if (values.now !== undefined) {
    now = Date.parse(values.now);
    if (Number.isNaN(now)) throw new UsageError(`--now must be an ISO 8601 time, not "${printable(values.now)}"`);
  }
  const options: AuditOptions = {
    ...(config ? auditOptionsFromConfig(config, rules) : {}),
    ...(rules.length > 0 ? { only: rules.filter(isRuleId) } : {}),
    ...(now !== undefined ? { now } : {}),
    ...(dialect !== undefined ? { dialect } : {}),
    ...(values.explain ? { explain: true } : {}),
  };
  const limits: Pick<ReadTraceOptions, 'maxLineBytes' | 'maxInflateRatio'> = {
    ...(values['max-line-mib'] !== undefined ? { maxLineBytes: Math.round(positiveNumber('--max-line-mib', values['max-line-mib']) * 1024 * 1024) } : {}),
    ...(values['max-inflate-ratio'] !== undefined ? { maxInflateRatio: positiveNumber('--max-inflate-ratio', values['max-inflate-ratio']) } : {}),
  };
  const { report, problems } = await auditInputs(positionals, options, io, format === 'text', limits);
  if (problems > 0 && report.inputs.spans === 0) {
    // One bad file is one line; the summary only adds something when several problems or inputs were involved.
    if (problems > 1 || positionals.length > 1) io.stderr.write(`baton: no trace could be read from ${printable(describeInputs(positionals))}\n`);
    return ExitCode.Usage;
  }
  const color = values['no-color'] ? false : values.color === true || (io.stdout.isTTY === true && !io.env.NO_COLOR);
  const render = await import('../../src/report/index.js');
  const output =
    format === 'json'
      ? render.renderJson(report)
      : format === 'junit'
        ? render.renderJunit(report)
        : format === 'markdown'
          ? render.renderMarkdown(report)
          : render.renderText(report, { color, width: outputWidth(io) });
  io.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
  if (values.explain && report.explain && format !== 'json') {
    // JSON carries it in the report; the other formats stay parseable with it on stderr.
    // Fitted to the terminal as the report above it; on stderr beside another format, its lines stay whole.
    const explainOptions = { truncated: report.explainTruncated ?? 0, ...(format === 'text' ? { width: outputWidth(io) } : {}) };
    (format === 'text' ? io.stdout : io.stderr).write(`\n${render.renderExplainText(report.explain, explainOptions)}`);
  }
  // Traces the analyzer could not read (read fine, analyzed badly) are problems too: said once each, exit 2.
  const unanalyzed = report.inputs.problems.filter((p) => p.location.startsWith('trace ') && p.message.endsWith('the other traces were audited'));
  for (const p of unanalyzed) io.stderr.write(`baton: ${p.location}: ${p.message}\n`);
  if (problems > 0 || unanalyzed.length > 0) return ExitCode.Usage;
  const nothing = nothingAudited(report, positionals);
  if (nothing !== undefined && !values['allow-empty']) {
    io.stderr.write(`baton: ${printable(nothing)}\n`);
    // 1: the gate failed, as with findings (a clean report must never come from missing evidence).
    return ExitCode.Findings;
  }
  if (failOn === 'never') return ExitCode.Ok;
  const { hasFindingsAtOrAbove } = await import('../../src/analyze/audit.js');
  return hasFindingsAtOrAbove(report, failOn) ? ExitCode.Findings : ExitCode.Ok;
}
