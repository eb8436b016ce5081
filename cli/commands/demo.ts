/**
 * `baton demo`: the embedded default. Runs the five-agent example pipeline under
 * the real OpenTelemetry Node SDK, as a host app would set it up, with spans
 * exported as OTLP/JSON Lines to a new file, then prints what happened: the
 * pipeline's outcome, per-edge handoff latency from Baton's metrics, where the
 * trace is, and the audit of that trace (as `baton audit` prints it). Faults from
 * the founding document can be injected with --fault.
 */
import { mkdir, open } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { parseCommandArgs } from '../args.js';

const HELP = `Usage: baton demo [--fault <name>]... [--out <file>] [--task <id>]

Runs the example pipeline (triage → research → analysis → writer → reviewer) with
scripted models, instrumented with Baton, and writes its trace as OTLP/JSON Lines.

Options:
  --fault <name>  inject a failure mode (repeatable); one of:
FAULTS
  --out <file>    where to write the trace (default: a new file under .baton/); never overwritten
  --task <id>     task id (default research-001)
  --no-audit      only run the pipeline; do not audit the trace afterwards
  -h, --help      show this help
`;

interface EdgeLatency {
  edge: string;
  count: number;
  meanMs: number;
  maxMs: number;
}

export async function runDemoCommand(args: string[], io: CliIo): Promise<number> {
  const { FAULTS, FAULT_DESCRIPTIONS, runPipeline } = await import('../../examples/pipeline/pipeline.js');
  const { values } = parseCommandArgs(
    args,
    {
      fault: { type: 'string', multiple: true },
      out: { type: 'string' },
      task: { type: 'string' },
      'no-audit': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    const faults = FAULTS.map((f) => `                    ${f.padEnd(20)} ${FAULT_DESCRIPTIONS[f]}`).join('\n');
    io.stdout.write(HELP.replace('FAULTS', faults));
    return ExitCode.Ok;
  }
  const faults = values.fault ?? [];
  for (const fault of faults) {
    if (!(FAULTS as readonly string[]).includes(fault)) {
      throw new UsageError(`unknown fault "${fault}"; one of: ${FAULTS.join(', ')}`);
    }
  }
  let out = values.out;
  if (out === undefined) {
    const dir = join(io.cwd, '.baton');
    await mkdir(dir, { recursive: true });
    out = join(dir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.otlp.jsonl`);
  } else {
    out = join(io.cwd, out);
  }

  const [{ NodeSDK }, { OtlpJsonFileSpanExporter }, metricsSdk, traceSdk, { Baton }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('../../src/export/otlp-json-file-exporter.js'),
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/sdk-trace-base'),
    import('../../src/sdk/baton.js'),
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
  let spanCount = 0;
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
  const { readFile } = await import('node:fs/promises');
  for (const line of (await readFile(out, 'utf8')).split('\n')) {
    if (line) spanCount += (line.match(/"spanId":/g) ?? []).length;
  }

  const stats = baton.stats();
  const w = (line = ''): void => void io.stdout.write(`${line}\n`);
  w(`baton demo: task ${result.taskId} ${result.outcome}${faults.length ? ` (faults: ${faults.join(', ')})` : ''}`);
  for (const note of result.notes) w(`  - ${note}`);
  w();
  w('Handoff latency per edge (send → receive, from the baton.handoff.latency histogram):');
  for (const e of edges) {
    w(`  ${e.edge.padEnd(24)} ${String(e.count).padStart(3)} handoff(s)  mean ${e.meanMs.toFixed(1).padStart(6)} ms  max ${e.maxMs.toFixed(1).padStart(6)} ms`);
  }
  w();
  w(`Handoffs sent ${stats.handoffsSent}, received ${stats.handoffsReceived}; validation failures ${stats.validationFailures}; acks past budget ${stats.ackTimeouts}; instrumentation faults ${stats.faults}.`);
  const shown = relative(io.cwd, out) || out;
  w(`Trace: ${shown} (${spanCount} spans, OTLP/JSON Lines)`);
  if (values['no-audit']) return ExitCode.Ok;

  // The second half of the job: audit the trace just written, exactly as `baton audit <file>` would.
  w();
  w(`baton audit ${shown}`);
  w();
  const [{ auditInputs }, { renderText }] = await Promise.all([import('./audit.js'), import('../../src/report/index.js')]);
  const { report } = await auditInputs([out], {}, io, false);
  const color = io.stdout.isTTY === true && !io.env.NO_COLOR;
  w(renderText(report, { color, width: io.stdout.columns ?? 100 }).trimEnd());
  return ExitCode.Ok;
}

/** Reads the per-edge latency histogram out of collected metrics. */
function edgeLatencies(resourceMetrics: import('@opentelemetry/sdk-metrics').ResourceMetrics): EdgeLatency[] {
  const rows: EdgeLatency[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'baton.handoff.latency') continue;
      for (const point of metric.dataPoints) {
        const value = point.value as { count: number; sum?: number; max?: number };
        const edge = `${String(point.attributes['baton.handoff.source_agent'])} → ${String(point.attributes['baton.handoff.target_agent'])}`;
        rows.push({ edge, count: value.count, meanMs: ((value.sum ?? 0) / Math.max(1, value.count)) * 1000, maxMs: (value.max ?? 0) * 1000 });
      }
    }
  }
  return rows;
}
