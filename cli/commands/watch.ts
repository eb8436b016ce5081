/**
 * `baton watch`: the live monitor. Receives OTLP over HTTP (4318) and gRPC
 * (4317) on loopback, or follows a growing OTLP/JSON Lines file (--follow), or
 * replays recorded traces at their pace (files given), and shows per-edge
 * coordination latency, agent states and findings as they happen: the Ink
 * dashboard on a terminal, plain periodic lines otherwise. Ink and React are
 * imported here, lazily, so `baton audit` never loads them.
 *
 * Shutdown (q, Ctrl-C, SIGTERM, or the end of a replay without a terminal)
 * stops the receivers, analyzes what is queued and open, flushes --record and
 * prints the final summary. Exit 0; 2 for a usage error, a port in use or an
 * unreadable input.
 */
import { resolve } from 'node:path';
import type { LiveSession } from '../../dashboards/live-session.js';
import type { ThreadedLiveSession } from '../../dashboards/threaded-session.js';
import type { AuditUpdate } from '../../src/analyze/audit.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import type { OtlpJsonRecorder } from '../../src/receiver/otlp-json-recorder.js';
import type { MetricsServer, WatchMetrics } from '../../src/receiver/prometheus-metrics.js';
import { formatHelp, parseCommandArgs, type CommandHelp, type OptionSpecs } from '../args.js';
import { ExitCode, UsageError, outputWidth, type CliIo } from '../io.js';
import { loadConfig, parseDialect } from './audit.js';

/** The flags of `baton watch`, one declaration each; --help is laid out from them. */
export const WATCH_OPTIONS = {
  host: { type: 'string', value: 'addr', description: 'interface to listen on (default 127.0.0.1; traces can hold prompts)' },
  port: { type: 'string', value: 'n', description: 'OTLP/HTTP port (default 4318; 0 picks a free one)' },
  'grpc-port': { type: 'string', value: 'n', description: 'OTLP/gRPC port (default 4317; 0 picks a free one)' },
  'no-grpc': { type: 'boolean', description: 'leave the gRPC receiver off' },
  'no-http': { type: 'boolean', description: 'leave the HTTP receiver off' },
  'metrics-port': {
    type: 'string',
    value: 'n',
    description: 'serve Prometheus metrics (per-edge latency histograms, handoffs, findings, span counts) at http://<host>:<n>/metrics; 0 picks a free port',
  },
  'metrics-max-edges': { type: 'string', value: 'n', description: 'edges with series of their own on /metrics, 1–1999 (default 200); later ones share one overflow series' },
  'max-request-mib': { type: 'string', value: 'n', description: 'largest request after decompression (default 64)' },
  follow: { type: 'string', value: 'file', description: 'follow this OTLP/JSON Lines file instead of receiving' },
  speed: {
    type: 'string',
    value: 'x|max',
    description: 'replay speed: 1 is the original pace (default), 10 ten times faster, max as fast as it goes',
  },
  record: {
    type: 'string',
    value: 'file',
    description: 'write everything received as OTLP/JSON Lines (flushed on exit); an existing file is refused',
  },
  append: { type: 'boolean', description: 'with --record: add to an existing file instead' },
  'settle-ms': { type: 'string', value: 'ms', description: 'a complete-looking trace is analyzed this long after its last span (default 6000)' },
  'idle-ms': { type: 'string', value: 'ms', description: 'an incomplete trace is analyzed after this long with nothing new (default 60000)' },
  'retention-ms': { type: 'string', value: 'ms', description: 'how long analyzed traces are remembered to join late spans (default 3600000)' },
  rule: { type: 'string', multiple: true, value: 'id', description: 'run only this rule (repeatable)' },
  dialect: { type: 'string', value: 'id', description: 'read every trace group as this vocabulary; one of:' },
  config: { type: 'string', value: 'file', description: 'settings file (default: ./baton.config.json when present)' },
  plain: { type: 'boolean', description: 'plain lines even on a terminal (the default without one)' },
  interval: { type: 'string', value: 's', description: 'seconds between plain status lines (default 10)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

const WATCH_HELP: CommandHelp = {
  usage: 'baton watch [options] | baton watch --follow <file> | baton watch <file|dir>...',
  description:
    'Receives OTLP (or follows a growing OTLP/JSON Lines file, or replays recorded traces at their pace) and shows coordination latency per edge (p50/p95/p99), agent states and findings as they happen. Point an app at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 (HTTP) or http://127.0.0.1:4317 (gRPC).',
  footer: [
    'Keys: ↑↓ move, Enter edge detail, / filter by agent, s sort, p pause, ? help, q quit.',
    'Exit codes: 0 ok; 2 usage error, a port in use or an unreadable input.',
    'Scale-out (several instances behind an OpenTelemetry Collector, aggregated by Prometheus): docs/scale-out.md.',
  ],
};

/** A port option: an integer 0..65535. */
function parsePort(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError(`${name} must be a port number 0–65535, not "${value}"`);
  return n;
}

function parsePositive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, not "${value}"`);
  return n;
}

/** --metrics-max-edges: an integer 1..1999 (under OTel's default of 2000 series per instrument). */
function parseMaxEdges(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_999) throw new UsageError(`--metrics-max-edges must be an integer 1–1999, not "${value}"`);
  return n;
}

function listenError(what: string, host: string, port: number, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  const reason = /EADDRINUSE|address already in use|No address added/i.test(String(code) + String((error as Error).message))
    ? 'the port is in use (is a Collector or another baton watch running? pass another port, or 0 for a free one)'
    : String(code);
  return new UsageError(`cannot listen for ${what} on ${host}:${port}: ${reason}`);
}

export async function runWatchCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, WATCH_OPTIONS, true);
  if (values.help) {
    const { DIALECT_IDS } = await import('../../src/analyze/dialects/index.js');
    io.stdout.write(formatHelp(WATCH_HELP, WATCH_OPTIONS, { dialect: DIALECT_IDS.map((id) => ({ name: id })) }));
    return ExitCode.Ok;
  }
  const mode = values.follow !== undefined ? 'follow' : positionals.length > 0 ? 'replay' : 'receive';
  if (values.follow !== undefined && positionals.length > 0) throw new UsageError('give either --follow <file> or files to replay, not both');
  if (values.speed !== undefined && mode !== 'replay') throw new UsageError('--speed applies to a replay: give the files to replay');
  if (values.append && values.record === undefined) throw new UsageError('--append applies to --record <file>');
  const speed = values.speed === 'max' ? Number.POSITIVE_INFINITY : parsePositive('--speed', values.speed, 1);
  const host = values.host ?? '127.0.0.1';
  const httpPort = parsePort('--port', values.port, 4318);
  const grpcPort = parsePort('--grpc-port', values['grpc-port'], 4317);
  if (mode === 'receive' && values['no-http'] && values['no-grpc']) throw new UsageError('--no-http and --no-grpc leave nothing to receive on');
  const maxRequestBytes = Math.floor(parsePositive('--max-request-mib', values['max-request-mib'], 64) * 1024 * 1024);
  const intervalMs = parsePositive('--interval', values.interval, 10) * 1000;
  const settleMs = parsePositive('--settle-ms', values['settle-ms'], 6_000);
  const idleMs = parsePositive('--idle-ms', values['idle-ms'], 60_000);
  const retentionMs = parsePositive('--retention-ms', values['retention-ms'], 3_600_000);
  const metricsPort = values['metrics-port'] === undefined ? undefined : parsePort('--metrics-port', values['metrics-port'], 9464);
  if (values['metrics-max-edges'] !== undefined && metricsPort === undefined) throw new UsageError('--metrics-max-edges applies to --metrics-port <n>');
  const metricsMaxEdges = parseMaxEdges(values['metrics-max-edges']);
  const { RULE_IDS, isRuleId } = await import('../../src/analyze/detectors/index.js');
  const rules = values.rule ?? [];
  for (const rule of rules) if (!isRuleId(rule)) throw new UsageError(`unknown rule "${rule}"; one of: ${RULE_IDS.join(', ')}`);
  const dialect = await parseDialect(values.dialect);
  const config = await loadConfig(values.config, io);
  const { auditOptionsFromConfig } = await import('../config.js');
  const fromConfig = config ? auditOptionsFromConfig(config, rules) : undefined;

  const interactive = !values.plain && io.stdout.isTTY === true && (io.stdin as { isTTY?: boolean }).isTTY === true;

  // --record first: an existing file is refused before anything listens.
  let recorder: OtlpJsonRecorder | undefined;
  if (values.record !== undefined) {
    const { openOtlpJsonRecorder } = await import('../../src/receiver/otlp-json-recorder.js');
    try {
      recorder = await openOtlpJsonRecorder(resolve(io.cwd, values.record), { append: values.append === true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new UsageError(`--record ${values.record}: the file exists and is never overwritten; choose another name, or pass --append to add to it`);
      throw new UsageError(`--record ${values.record}: cannot write: ${code ?? (error as Error).message}`);
    }
  }

  let clock: () => number = Date.now;
  const sources: string[] = [];
  let metrics: WatchMetrics | undefined;
  const audit = {
    ...(fromConfig?.rules ? { rules: fromConfig.rules } : {}),
    ...(rules.length > 0 ? { only: rules.filter(isRuleId) } : {}),
    ...(dialect !== undefined ? { dialect } : {}),
  };
  const onAnalysis =
    metricsPort === undefined
      ? undefined
      : (update: AuditUpdate) => {
          if (update.kind === 'group') metrics?.recordLatencies(update.edges);
          metrics?.recordFindings(update.findings);
        };
  // Receiving: the analysis runs on a worker thread, the receivers, --record and the dashboard here.
  // A followed file or a replay feeds decoded spans at the pace it reads them: analyzed on this thread.
  let threaded: ThreadedLiveSession | undefined;
  let inThread: LiveSession | undefined;
  if (mode === 'receive') {
    const { ThreadedLiveSession } = await import('../../dashboards/threaded-session.js');
    threaded = await ThreadedLiveSession.start({
      mode,
      sources,
      audit,
      settleMs,
      idleMs: fromConfig?.idleMs ?? idleMs,
      retentionMs,
      onRecord: recorder
        ? (line, spans) => {
            recorder!.writeLine(line, spans);
            threaded!.recorded(spans);
          }
        : undefined,
      onAnalysis,
      reports: metricsPort !== undefined,
    });
  } else {
    const { LiveSession } = await import('../../dashboards/live-session.js');
    inThread = new LiveSession({
      mode,
      sources,
      clock: () => clock(),
      audit,
      settleMs,
      idleMs: fromConfig?.idleMs ?? idleMs,
      retentionMs,
      onAccepted: recorder
        ? (spans: readonly SpanRecord[]) => {
            recorder!.write(spans);
            inThread!.recorded(spans.length);
          }
        : undefined,
      onAnalysis,
    });
  }
  const session: LiveSession | ThreadedLiveSession = threaded ?? inThread!;
  if (recorder) {
    session.setRecording(values.record!);
    if (values.append) session.notify(`appending to ${values.record}`);
  }

  // Sources.
  const stops: (() => Promise<void>)[] = [];
  let inputEnded: Promise<void> | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    if (metricsPort !== undefined) {
      const [{ WatchMetrics: Metrics, startMetricsServer }, { cliPackage }] = await Promise.all([
        import('../../src/receiver/prometheus-metrics.js'),
        import('../version.js'),
      ]);
      const instruments = new Metrics(
        { counters: () => session.counters(), edgeHandoffs: () => session.report().edges },
        { version: cliPackage().version, ...(metricsMaxEdges !== undefined ? { maxEdges: metricsMaxEdges } : {}) },
      );
      metrics = instruments;
      const server = await startMetricsServer(instruments, { host, port: metricsPort }).catch(async (e: unknown) => {
        await instruments.shutdown();
        throw listenError('Prometheus metrics', host, metricsPort, e);
      });
      metricsServer = server;
      // The endpoint first, then the instruments it reads.
      stops.push(
        () => server.close(),
        () => instruments.shutdown(),
      );
    }
    if (mode === 'receive') {
      const { startOtlpHttpReceiver } = await import('../../src/receiver/otlp-http.js');
      const { startOtlpGrpcReceiver } = await import('../../src/receiver/otlp-grpc.js');
      if (!values['no-http']) {
        const http = await startOtlpHttpReceiver(threaded!, { host, port: httpPort, maxRequestBytes }).catch((e: unknown) => {
          throw listenError('OTLP/HTTP', host, httpPort, e);
        });
        sources.push(`OTLP ${http.url}`);
        stops.push(() => http.close());
      }
      if (!values['no-grpc']) {
        const grpc = await startOtlpGrpcReceiver(threaded!, { host, port: grpcPort, maxRequestBytes }).catch((e: unknown) => {
          throw listenError('OTLP/gRPC', host, grpcPort, e);
        });
        sources.push(`gRPC ${grpc.url}`);
        stops.push(() => grpc.close());
      }
    } else if (mode === 'follow') {
      const { followJsonLinesFile } = await import('../../src/receiver/follow-file.js');
      const follower = followJsonLinesFile(resolve(io.cwd, values.follow!), values.follow!, (spans) => inThread!.push(spans), {
        onError: (error) => inThread!.requestRefused(error.message),
        onNotice: (notice) => inThread!.notify(notice),
      });
      sources.push(`following ${values.follow}`);
      stops.push(() => follower.stop());
    } else {
      const { replayTraceFiles } = await import('../../src/receiver/replay-files.js');
      const controller = new AbortController();
      let problems = 0;
      const replay = replayTraceFiles(positionals, (spans) => inThread!.push(spans), {
        speed,
        cwd: io.cwd,
        signal: controller.signal,
        onError: (error) => {
          problems++;
          inThread!.requestRefused(error.message);
          if (!interactive) io.stderr.write(`baton: ${error.message}\n`);
        },
      });
      clock = () => replay.clock.now();
      sources.push(`replaying ${positionals.length === 1 ? positionals[0] : `${positionals.length} inputs`} at ${Number.isFinite(speed) ? `${speed}x` : 'max speed'}`);
      stops.push(async () => controller.abort());
      inputEnded = replay.done.then(async () => {
        await inThread!.finish();
        if (problems > 0 && inThread!.view().counters.accepted === 0) throw new UsageError(`no trace could be read from ${positionals.join(', ')}`);
      });
    }
  } catch (error) {
    for (const stop of stops) await stop();
    // The analysis thread ends with the session.
    await threaded?.finish().catch(() => {});
    await recorder?.close();
    throw error;
  }
  // After the receivers: the header lists where to send first.
  if (metricsServer) sources.push(`metrics ${metricsServer.url}`);
  inThread?.start();

  const { runLiveMonitor } = await import('../live-monitor.js');
  await runLiveMonitor({
    command: 'baton watch',
    session,
    io,
    interactive,
    banner: `${sources.join(', ')}${recorder ? `; recording to ${values.record}` : ''}`,
    intervalMs,
    inputEnded,
    stops,
    recorder: recorder ? { recorder, label: `--record ${values.record}` } : undefined,
  });
  const { finalSummary } = await import('../../dashboards/plain-summary.js');
  // On a terminal the summary is printed under the dashboard's last frame: wrapped to its width. Piped, it is a
  // log: one line per finding, the edge table as wide as before.
  io.stdout.write(
    finalSummary(session.view(), interactive ? outputWidth(io) : (io.stdout.columns ?? 100), {
      wrap: interactive,
      ...(recorder ? { auditNowMs: session.report().inputs.nowMs } : {}),
    }),
  );
  return ExitCode.Ok;
}
