/**
 * `baton audit <files|dirs|->`: reads traces, runs every detector, prints a report.
 * Exit 0 when nothing is at or above --fail-on, 1 when something is, 2 for a
 * usage error or any unreadable input (good inputs are still audited and reported).
 * An audit of nothing (no spans, or no rule could run) also exits 1 unless
 * --allow-empty, as Vitest's "No test files found" does unless --passWithNoTests:
 * a green CI job must never come from an exporter that wrote nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditOptions } from '../../src/analyze/audit.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import { ConfigError, TraceInputError } from '../../src/model/errors.js';
import type { Severity } from '../../src/model/finding.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import type { ReadTraceOptions } from '../../src/ingest/read-trace-inputs.js';
import { plural, printable } from '../../src/report/format.js';
import { parseCommandArgs } from '../args.js';
import { auditOptionsFromConfig, parseConfig, type BatonConfig } from '../config.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';

const FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
type AuditFormat = (typeof FORMATS)[number];
const FAIL_ON = ['error', 'warning', 'never'] as const;

const HELP = `Usage: baton audit <file|dir|->... [options]

Reads OTLP traces (JSON, JSON Lines, protobuf, gzip of each, directories, or - for stdin),
builds the handoff graph and reports coordination failures and latency per edge.

Options:
  --format <f>     text (default), json, junit, markdown
  --fail-on <s>    error (default), warning, never: exit 1 when findings are at or above it
  --rule <id>      run only this rule (repeatable); one of:
RULES
  --config <file>  settings file (default: ./baton.config.json when present)
  --dialect <id>   read every trace group as this vocabulary: DIALECTS
                   (default: each span as the first vocabulary that claims it)
  --now <iso>      the time "now" for never-acknowledged handoffs (default: the end of all input)
  --allow-empty    accept an audit of nothing: no spans, or no rule could run (exit 0, not 1)
  --max-line-mib <n>
                   longest JSON Lines line read, in MiB (default 128); a longer one is
                   reported and the rest of its file skipped
  --max-inflate-ratio <n>
                   most bytes gzip input may inflate to per compressed byte past its
                   first 64 MiB (default 100); more is refused as a decompression bomb
  --no-color       plain output even on a terminal
  -h, --help       show this help

Exit codes: 0 clean; 1 findings at or above --fail-on, or nothing to audit (no spans, or
no rule could run; see --allow-empty); 2 usage error or unreadable input.
`;

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
  if (!DIALECT_IDS.includes(value)) throw new UsageError(`--dialect must be one of ${DIALECT_IDS.join(', ')}, not "${value}"`);
  return value;
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

/** Loads --config, or ./baton.config.json when present; undefined when neither. */
export async function loadConfig(path: string | undefined, io: CliIo): Promise<BatonConfig | undefined> {
  const file = path === undefined ? join(io.cwd, 'baton.config.json') : join(io.cwd, path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (path === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? (error as Error).message);
    throw new ConfigError(path ?? 'baton.config.json', `cannot read: ${reason}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path ?? 'baton.config.json', jsonErrorPosition(text, error as Error));
  }
  return parseConfig(value, path ?? 'baton.config.json');
}

/** "Unexpected token } in JSON at position 42" → "line 3 column 7: Unexpected token }". */
function jsonErrorPosition(text: string, error: Error): string {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return error.message;
  const offset = Number(match[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${line}:${column}: ${error.message.replace(/ in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '')}`;
}

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
  const { values, positionals } = parseCommandArgs(
    args,
    {
      format: { type: 'string' },
      'fail-on': { type: 'string' },
      rule: { type: 'string', multiple: true },
      config: { type: 'string' },
      now: { type: 'string' },
      dialect: { type: 'string' },
      'allow-empty': { type: 'boolean' },
      'max-line-mib': { type: 'string' },
      'max-inflate-ratio': { type: 'string' },
      'no-color': { type: 'boolean' },
      color: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(
      HELP.replace('RULES', RULE_IDS.map((id) => `                     ${id.padEnd(18)} ${DETECTORS[id].description}`).join('\n')).replace(
        'DIALECTS',
        DIALECT_IDS.join(', '),
      ),
    );
    return ExitCode.Ok;
  }
  const format = (values.format ?? 'text') as AuditFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${values.format}"`);
  if (positionals.length === 0) throw new UsageError('no input: give trace files, directories, or - for stdin (see --help)');
  const rules = values.rule ?? [];
  for (const rule of rules) if (!isRuleId(rule)) throw new UsageError(`unknown rule "${rule}"; one of: ${RULE_IDS.join(', ')}`);
  const config = await loadConfig(values.config, io);
  const failOn = (values['fail-on'] ?? config?.failOn ?? 'error') as Severity | 'never';
  if (!(FAIL_ON as readonly string[]).includes(failOn)) {
    throw new UsageError(`--fail-on must be one of ${FAIL_ON.join(', ')}, not "${values['fail-on']}"`);
  }
  const dialect = await parseDialect(values.dialect);
  let now: number | undefined;
  if (values.now !== undefined) {
    now = Date.parse(values.now);
    if (Number.isNaN(now)) throw new UsageError(`--now must be an ISO 8601 time, not "${values.now}"`);
  }
  const options: AuditOptions = {
    ...(config ? auditOptionsFromConfig(config) : {}),
    ...(rules.length > 0 ? { only: rules.filter(isRuleId) } : {}),
    ...(now !== undefined ? { now } : {}),
    ...(dialect !== undefined ? { dialect } : {}),
  };
  const limits: Pick<ReadTraceOptions, 'maxLineBytes' | 'maxInflateRatio'> = {
    ...(values['max-line-mib'] !== undefined ? { maxLineBytes: Math.round(positiveNumber('--max-line-mib', values['max-line-mib']) * 1024 * 1024) } : {}),
    ...(values['max-inflate-ratio'] !== undefined ? { maxInflateRatio: positiveNumber('--max-inflate-ratio', values['max-inflate-ratio']) } : {}),
  };
  const { report, problems } = await auditInputs(positionals, options, io, format === 'text', limits);
  if (problems > 0 && report.inputs.spans === 0) {
    io.stderr.write(`baton: no trace could be read from ${printable(describeInputs(positionals))}\n`);
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
          : render.renderText(report, { color, width: (io.stdout as { columns?: number }).columns ?? 100 });
  io.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
  if (problems > 0) return ExitCode.Usage;
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
