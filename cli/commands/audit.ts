/**
 * `baton audit <files|dirs|->`: reads traces, runs every detector, prints a report.
 * Exit 0 when nothing is at or above --fail-on, 1 when something is, 2 for a
 * usage error or any unreadable input (good inputs are still audited and reported).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditOptions } from '../../src/analyze/audit.js';
import type { AuditReport } from '../../src/model/audit-report.js';
import { ConfigError, TraceInputError } from '../../src/model/errors.js';
import type { Severity } from '../../src/model/finding.js';
import type { SpanRecord } from '../../src/model/span-record.js';
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
  --now <iso>      the time "now" for never-acknowledged handoffs (default: end of each trace)
  --no-color       plain output even on a terminal
  -h, --help       show this help

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage error or unreadable input.
`;

/** Shared by audit and graph: reads inputs, audits them, and reports input problems on stderr. */
export async function auditInputs(
  inputs: readonly string[],
  options: AuditOptions,
  io: CliIo,
  progress: boolean,
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
    io.stderr.write(`baton: ${error.message}\n`);
  };
  const showProgress = progress && io.stderr.isTTY === true;
  let lastShown = 0;
  const batches: AsyncIterable<readonly SpanRecord[]> = readTraceInputs(inputs, { stdin: io.stdin, onError, cwd: io.cwd });
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

export async function runAuditCommand(args: string[], io: CliIo): Promise<number> {
  const { RULE_IDS, DETECTORS, isRuleId } = await import('../../src/analyze/detectors/index.js');
  const { values, positionals } = parseCommandArgs(
    args,
    {
      format: { type: 'string' },
      'fail-on': { type: 'string' },
      rule: { type: 'string', multiple: true },
      config: { type: 'string' },
      now: { type: 'string' },
      'no-color': { type: 'boolean' },
      color: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(HELP.replace('RULES', RULE_IDS.map((id) => `                     ${id.padEnd(18)} ${DETECTORS[id].description}`).join('\n')));
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
  let now: number | undefined;
  if (values.now !== undefined) {
    now = Date.parse(values.now);
    if (Number.isNaN(now)) throw new UsageError(`--now must be an ISO 8601 time, not "${values.now}"`);
  }
  const options: AuditOptions = {
    ...(config ? auditOptionsFromConfig(config) : {}),
    ...(rules.length > 0 ? { only: rules.filter(isRuleId) } : {}),
    ...(now !== undefined ? { now } : {}),
  };
  const { report, problems } = await auditInputs(positionals, options, io, format === 'text');
  if (problems > 0 && report.inputs.spans === 0) {
    io.stderr.write(`baton: no trace could be read from ${positionals.length === 1 ? positionals[0] : `${positionals.length} inputs`}\n`);
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
  if (failOn === 'never') return ExitCode.Ok;
  const { hasFindingsAtOrAbove } = await import('../../src/analyze/audit.js');
  return hasFindingsAtOrAbove(report, failOn) ? ExitCode.Findings : ExitCode.Ok;
}
