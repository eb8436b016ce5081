/**
 * `baton demo`: the embedded default. Runs the five-agent example pipeline under
 * the real OpenTelemetry Node SDK, as a host app would set it up, with spans
 * exported as OTLP/JSON Lines to a new file, then prints what happened: the
 * pipeline's outcome, per-edge handoff latency from Baton's metrics, where the
 * trace is, and the audit of that trace (as `baton audit` prints it). Faults from
 * the founding document can be injected with --fault.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import type { EdgeStats } from '../../src/model/audit-report.js';
import { wrapWords } from '../../src/report/table.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ExitCode, UsageError, outputWidth, type CliIo } from '../io.js';
import { formatHelp, parseCommandArgs, type CommandHelp, type OptionSpecs } from '../args.js';
import { didYouMean } from '../suggest.js';
import { formatMsColumn, plural, printable } from '../../src/report/format.js';

/** The flags of `baton demo`, one declaration each; --help is laid out from them. */
export const DEMO_OPTIONS = {
  fault: { type: 'string', multiple: true, value: 'name', description: 'inject a failure mode (repeatable); one of:' },
  out: { type: 'string', value: 'file', description: 'where to write the trace (default: a new file under .baton/); never overwritten' },
  task: { type: 'string', value: 'id', description: 'task id (default research-001)' },
  'no-audit': { type: 'boolean', description: 'only run the pipeline; do not audit the trace afterwards' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

const DEMO_HELP: CommandHelp = {
  usage: 'baton demo [--fault <name>]... [--out <file>] [--task <id>]',
  description:
    'Runs the example pipeline (triage → research → analysis → writer → reviewer) with scripted models, instrumented with Baton under the OpenTelemetry Node SDK, writes its trace as OTLP/JSON Lines and audits it.',
};

interface EdgeLatency {
  source: string;
  target: string;
  /** Receives the histogram recorded: one per receive, a redelivered handoff counted each time. */
  receives: number;
  meanMs: number;
  maxMs: number;
}

export async function runDemoCommand(args: string[], io: CliIo): Promise<number> {
  const { FAULTS, FAULT_DESCRIPTIONS, runPipeline } = await import('../../examples/pipeline/pipeline.js');
  const { values } = parseCommandArgs(args, DEMO_OPTIONS, false);
  if (values.help) {
    const faults = FAULTS.map((name) => ({ name, description: FAULT_DESCRIPTIONS[name] }));
    io.stdout.write(formatHelp(DEMO_HELP, DEMO_OPTIONS, { fault: faults }));
    return ExitCode.Ok;
  }
  const faults = values.fault ?? [];
  for (const fault of faults) {
    if (!(FAULTS as readonly string[]).includes(fault)) {
      throw new UsageError(`unknown fault "${printable(fault)}"${didYouMean(fault, FAULTS) || `; one of: ${FAULTS.join(', ')}`}`);
    }
  }
  let out = values.out;
  if (out === undefined) {
    const dir = join(io.cwd, '.baton');
    await mkdir(dir, { recursive: true });
    out = join(dir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.otlp.jsonl`);
  } else {
    // resolve, not join: an absolute --out is used as given.
    out = resolve(io.cwd, out);
  }

  const [{ NodeSDK }, { OtlpJsonFileSpanExporter }, metricsSdk, traceSdk, { Baton }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('baton-sdk/export'),
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/sdk-trace-base'),
    import('baton-sdk'),
  ]);
  // Claim the file first ('wx' fails if it exists), so a name the user gave is never overwritten.
  try {
    await (await open(out, 'wx')).close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${relative(io.cwd, out) || out}: ${code === 'EEXIST' ? 'the file exists (choose another --out)' : (code ?? (error as Error).message)}`);
  }
  const exporter = new OtlpJsonFileSpanExporter(out, { append: true });
  const metricExporter = new metricsSdk.InMemoryMetricExporter(metricsSdk.AggregationTemporality.CUMULATIVE);
  const metricReader = new metricsSdk.PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const sdk = new NodeSDK({
    serviceName: 'baton-demo-pipeline',
    spanProcessors: [new traceSdk.BatchSpanProcessor(exporter)],
    metricReaders: [metricReader],
    instrumentations: [],
  });
  sdk.start();
  let edges: EdgeLatency[] = [];
  let result;
  const baton = new Baton();
  try {
    result = await runPipeline({ baton, faults: faults as never, taskId: values.task ?? 'research-001' });
    const { resourceMetrics } = await metricReader.collect();
    edges = edgeLatencies(resourceMetrics);
  } finally {
    await sdk.shutdown();
  }
  const spanCount = countSpans(await readFile(out, 'utf8'));

  // The audit comes first (printed last), so the latency table can say where its figures differ from the audit's.
  // Relative when under the working directory (short, and what the user typed); else as resolved.
  const fromCwd = relative(io.cwd, out);
  const shown = fromCwd === '' || fromCwd.startsWith('..') || isAbsolute(fromCwd) ? out : fromCwd;
  const width = outputWidth(io);
  let auditText: string | undefined;
  let auditEdges: readonly EdgeStats[] | undefined;
  if (!values['no-audit']) {
    const [{ auditInputs }, { renderText }] = await Promise.all([import('./audit.js'), import('../../src/report/index.js')]);
    const { report } = await auditInputs([out], {}, io, false);
    const color = io.stdout.isTTY === true && !io.env.NO_COLOR;
    auditText = renderText(report, { color, width }).trimEnd();
    auditEdges = report.edges;
  }

  const stats = baton.stats();
  const w = (line = ''): void => void io.stdout.write(`${line}\n`);
  // Prose wrapped to the width the audit below uses, continuation lines indented under the first.
  const say = (text: string, first = '', rest = first): void => {
    wrapWords(text, width - Math.max(first.length, rest.length)).forEach((line, i) => w(`${i === 0 ? first : rest}${line}`));
  };
  say(`baton demo: task ${printable(result.taskId)} ${result.outcome}${faults.length ? ` (faults: ${faults.join(', ')})` : ''}`);
  for (const note of result.notes) say(printable(note), '  - ', '    ');
  w();
  for (const line of latencyTableLines(edges, auditEdges, width)) w(line);
  w();
  say(
    `Handoffs sent ${stats.handoffsSent}, received ${stats.handoffsReceived}; validation failures ${stats.validationFailures}; ` +
      `acks past budget ${stats.ackTimeouts}; instrumentation faults ${stats.faults}.`,
  );
  // Not wrapped: a path is copied whole.
  w(`Trace: ${shown} (${plural(spanCount, 'span')}, OTLP/JSON Lines)`);
  if (auditText === undefined) return ExitCode.Ok;

  // The second half of the job: the audit of the trace just written, exactly as `baton audit <file>` prints it.
  w();
  w(`baton audit ${shown}`);
  w();
  w(auditText);
  return ExitCode.Ok;
}

/** Spans in an OTLP/JSON Lines file: each line's resourceSpans → scopeSpans → spans (links and parents hold span ids too, so no text search). */
export function countSpans(jsonLines: string): number {
  let count = 0;
  for (const line of jsonLines.split('\n')) {
    if (line.trim() === '') continue;
    const request = JSON.parse(line) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
    for (const resource of request.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) count += scope.spans?.length ?? 0;
  }
  return count;
}

/**
 * The demo's own view of latency, from Baton's metrics (what a host's
 * Prometheus would show): the histogram records every receive, so a handoff
 * redelivered after a retry counts twice, its second sample timed from the
 * same send. The audit times send → first receive; where the two count
 * differently, a note under the table says so, edge by edge.
 */
export function latencyTableLines(edges: readonly EdgeLatency[], audited: readonly EdgeStats[] | undefined, width: number): string[] {
  const lines = wrapWords('Handoff latency per edge, from the baton.handoff.latency histogram (send → each receive):', width);
  if (edges.length === 0) return [...lines, '  no handoff was received'];
  const labels = edges.map((e) => `${printable(e.source)} → ${printable(e.target)}`);
  const means = formatMsColumn(edges.map((e) => e.meanMs));
  const maxes = formatMsColumn(edges.map((e) => e.maxMs));
  const labelWidth = Math.max(4, ...labels.map((l) => l.length));
  const meanWidth = Math.max(4, ...means.map((m) => m.length));
  const maxWidth = Math.max(3, ...maxes.map((m) => m.length));
  lines.push(`  ${'edge'.padEnd(labelWidth)}  receives  ${'mean'.padStart(meanWidth)}  ${'max'.padStart(maxWidth)}`);
  edges.forEach((e, i) => {
    lines.push(`  ${labels[i]!.padEnd(labelWidth)}  ${String(e.receives).padStart(8)}  ${means[i]!.padStart(meanWidth)}  ${maxes[i]!.padStart(maxWidth)}`);
  });
  const notes = ['ms, mean and max over the receives of each edge'];
  for (const e of edges) {
    const audit = audited?.find((a) => a.source === e.source && a.target === e.target);
    if (audit === undefined || audit.handoffs === e.receives) continue;
    notes.push(
      `${printable(e.source)} → ${printable(e.target)}: ${plural(audit.handoffs, 'handoff')} received ${plural(e.receives, 'time')} ` +
        `(redelivered after a retry, each receive timed from the one send), so the mean and max here include the redelivery; ` +
        `the audit below times send → first receive (p50 ${formatMsColumn([audit.latencyMs?.p50])[0]} ms)`,
    );
  }
  lines.push(...wrapWords(notes.join('; '), width - 2).map((line) => `  ${line}`));
  return lines;
}

/** Reads the per-edge latency histogram out of collected metrics. */
function edgeLatencies(resourceMetrics: import('@opentelemetry/sdk-metrics').ResourceMetrics): EdgeLatency[] {
  const rows: EdgeLatency[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'baton.handoff.latency') continue;
      for (const point of metric.dataPoints) {
        const value = point.value as { count: number; sum?: number; max?: number };
        rows.push({
          source: String(point.attributes['baton.handoff.source_agent']),
          target: String(point.attributes['baton.handoff.target_agent']),
          receives: value.count,
          meanMs: ((value.sum ?? 0) / Math.max(1, value.count)) * 1000,
          maxMs: (value.max ?? 0) * 1000,
        });
      }
    }
  }
  return rows;
}
