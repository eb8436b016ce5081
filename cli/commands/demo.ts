/**
 * `baton demo`: the whole job in one command. The five-agent example pipeline
 * runs task after task under the real OpenTelemetry Node SDK, as a host app
 * sets it up, its spans exported by the real OTLP/HTTP (protobuf) exporter to a
 * receiver embedded in this command (127.0.0.1, a free port), the same receiver
 * and live session `baton watch` runs. The failure modes of the founding
 * document are injected at intervals, one task at a time, and the dashboard
 * shows edges, agents and findings as they arrive (plain lines without a
 * terminal). Everything received is recorded as OTLP/JSON Lines (a new file,
 * never overwritten), and at the end the audit of it is printed, as
 * `baton audit <file>` prints it.
 *
 * Exit 0 whatever the audit finds (the findings are the point of the demo);
 * 2 for a usage error or an unwritable --out.
 */
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Fault, PipelineResult } from '../../examples/pipeline/pipeline.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { plural, printable } from '../../src/report/format.js';
import { wrapWords } from '../../src/report/table.js';
import { formatHelp, parseCommandArgs, type CommandHelp, type OptionSpecs } from '../args.js';
import { ExitCode, UsageError, outputWidth, type CliIo } from '../io.js';
import { didYouMean } from '../suggest.js';

/** The flags of `baton demo`, one declaration each; --help is laid out from them. */
export const DEMO_OPTIONS = {
  faults: {
    type: 'string',
    value: 'none|all|list',
    description: 'failure modes to inject, one task at a time at intervals: all (default), none, or a comma list of:',
  },
  fault: { type: 'string', multiple: true, value: 'name', description: 'add one failure mode to the list (repeatable)' },
  duration: {
    type: 'string',
    value: 'time',
    description: 'how long the pipeline runs: 20s on a terminal, 3s otherwise (default); 90, 90s, 2m, 500ms; every fault listed runs at least once',
  },
  out: { type: 'string', value: 'file', description: 'where to record the trace (default: a new file under .baton/); never overwritten' },
  task: { type: 'string', value: 'prefix', description: 'task ids are <prefix>-0001, <prefix>-0002, … (default research)' },
  plain: { type: 'boolean', description: 'plain lines even on a terminal (the default without one)' },
  'no-audit': { type: 'boolean', description: 'do not print the audit at the end' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

const DEMO_HELP: CommandHelp = {
  usage: 'baton demo [--faults none|all|<list>] [--duration <time>] [--out <file>]',
  description:
    'Runs the example pipeline (triage → research → analysis → writer → reviewer, scripted models, no network) task after task under the OpenTelemetry Node SDK, exporting OTLP/HTTP to a receiver in this command, and shows it live as `baton watch` does, with failure modes injected at intervals. The trace is recorded as OTLP/JSON Lines; at the end the audit of it is printed.',
  footer: [
    'Keys on a terminal: q ends the demo early (the audit is still printed); the rest as in `baton watch`.',
    'Exit codes: 0 whatever the audit finds; 2 usage error or an unwritable --out.',
  ],
};

const DEFAULT_DURATION_TERMINAL_MS = 20_000;
const DEFAULT_DURATION_PLAIN_MS = 3_000;
/** Between two tasks: a steady stream a reader can follow, not a burst. */
const TASK_GAP_MS = 100;
/** Longest wait between two injected faults: a long demo cycles through the list again. */
const MAX_FAULT_INTERVAL_MS = 5_000;
/**
 * A trace's group closes this long after its last span (live findings wait for it). The
 * exporter sends every 200 ms and a task's root span ends last, so 2 s leaves a busy machine
 * room and the group is still whole when it closes: the live audit is the audit of the file.
 */
const SETTLE_MS = 2_000;
const EXPORT_DELAY_MS = 200;

/**
 * Which task carries which fault: over `durationMs`, the faults are spread at even
 * intervals (at most {@link MAX_FAULT_INTERVAL_MS} apart, cycling through the list
 * in a long run), the first half an interval in, so the demo starts clean; a fault
 * that falls due while a task runs goes to the next task. Each task carries one
 * fault at most, so each finding points at one cause.
 */
export class FaultSchedule {
  readonly #faults: readonly Fault[];
  /** Between two injections; Infinity with no faults. */
  readonly intervalMs: number;
  #injected = 0;

  constructor(faults: readonly Fault[], durationMs: number) {
    this.#faults = faults;
    this.intervalMs = faults.length === 0 ? Number.POSITIVE_INFINITY : Math.min(MAX_FAULT_INTERVAL_MS, durationMs / faults.length);
  }

  /** The fault for a task starting `elapsedMs` after the first, or undefined for a clean task. */
  next(elapsedMs: number): Fault | undefined {
    if (this.#faults.length === 0) return undefined;
    const due = Math.floor(elapsedMs / this.intervalMs + 0.5);
    if (this.#injected >= due) return undefined;
    return this.#faults[this.#injected++ % this.#faults.length];
  }

  /** True once every fault of the list was injected at least once. */
  get complete(): boolean {
    return this.#injected >= this.#faults.length;
  }
}

/**
 * The faults `--faults` and `--fault` name, in the order given, each once:
 * `all` (every fault), `none`, or a comma list; `--fault` adds one.
 * @throws UsageError naming the unknown or empty name
 */
export function parseFaults(faults: string | undefined, extra: readonly string[], known: readonly Fault[]): Fault[] {
  const names: string[] = [];
  if (faults === undefined) {
    if (extra.length === 0) return [...known];
  } else if (faults.trim() === 'all' || faults.trim() === 'none') {
    if (extra.length > 0) throw new UsageError(`--faults ${faults.trim()} and --fault ${printable(extra[0]!)} contradict each other: give one list`);
    return faults.trim() === 'all' ? [...known] : [];
  } else {
    for (const name of faults.split(',')) {
      if (name.trim() === '') throw new UsageError(`--faults: empty name in "${printable(faults)}" (a comma list such as stale-read,ack-timeout)`);
      names.push(name.trim());
    }
  }
  names.push(...extra);
  const chosen: Fault[] = [];
  for (const name of names) {
    if (!(known as readonly string[]).includes(name)) {
      throw new UsageError(`unknown fault "${printable(name)}"${didYouMean(name, [...known, 'all', 'none']) || `; one of: all, none, ${known.join(', ')}`}`);
    }
    if (!chosen.includes(name as Fault)) chosen.push(name as Fault);
  }
  return chosen;
}

/** `--duration`: `90` or `90s` seconds, `2m`, `500ms`; above zero. */
export function parseDuration(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m)?\s*$/.exec(value);
  const ms = match ? Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1_000) : Number.NaN;
  if (!(ms > 0)) throw new UsageError(`--duration must be a time above zero such as 20, 20s, 2m or 500ms, not "${printable(value)}"`);
  return ms;
}

/** One task the demo ran, as the pipeline itself tells it. */
interface TaskRun {
  readonly fault: Fault | undefined;
  readonly result: PipelineResult;
}

export async function runDemoCommand(args: string[], io: CliIo): Promise<number> {
  const { AGENTS, FAULTS, FAULT_DESCRIPTIONS, runPipeline } = await import('../../examples/pipeline/pipeline.js');
  const { values } = parseCommandArgs(args, DEMO_OPTIONS, false);
  if (values.help) {
    const faults = FAULTS.map((name) => ({ name, description: FAULT_DESCRIPTIONS[name] }));
    io.stdout.write(formatHelp(DEMO_HELP, DEMO_OPTIONS, { faults }));
    return ExitCode.Ok;
  }
  const faults = parseFaults(values.faults, values.fault ?? [], FAULTS);
  const interactive = !values.plain && io.stdout.isTTY === true && (io.stdin as { isTTY?: boolean }).isTTY === true;
  const durationMs = values.duration !== undefined ? parseDuration(values.duration) : interactive ? DEFAULT_DURATION_TERMINAL_MS : DEFAULT_DURATION_PLAIN_MS;
  const prefix = values.task ?? 'research';
  if (prefix.trim() === '') throw new UsageError('--task needs a non-empty prefix');

  let out = values.out;
  if (out === undefined) {
    const dir = join(io.cwd, '.baton');
    await mkdir(dir, { recursive: true });
    out = join(dir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.otlp.jsonl`);
  } else {
    // resolve, not join: an absolute --out is used as given.
    out = resolve(io.cwd, out);
  }
  // Relative when under the working directory (short, and what the user typed); else as resolved.
  const fromCwd = relative(io.cwd, out);
  const shown = fromCwd === '' || fromCwd.startsWith('..') || isAbsolute(fromCwd) ? out : fromCwd;

  const [{ openOtlpJsonRecorder }, { LiveSession }, { startOtlpHttpReceiver }, { runLiveMonitor }] = await Promise.all([
    import('../../src/receiver/otlp-json-recorder.js'),
    import('../../dashboards/live-session.js'),
    import('../../src/receiver/otlp-http.js'),
    import('../live-monitor.js'),
  ]);
  // Opened exclusively ('wx'): a file the user has is never overwritten.
  let recorder: Awaited<ReturnType<typeof openOtlpJsonRecorder>>;
  try {
    recorder = await openOtlpJsonRecorder(out);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${shown}: ${code === 'EEXIST' ? 'the file exists (choose another --out)' : (code ?? (error as Error).message)}`);
  }

  const sources: string[] = [];
  const session = new LiveSession({
    mode: 'receive',
    title: 'baton demo',
    sources,
    settleMs: SETTLE_MS,
    idleMs: 10_000,
    onAccepted: (spans: readonly SpanRecord[]) => {
      recorder.write(spans);
      session.recorded(spans.length);
    },
  });
  session.setRecording(shown);
  let receiver: Awaited<ReturnType<typeof startOtlpHttpReceiver>>;
  try {
    receiver = await startOtlpHttpReceiver(session, { host: '127.0.0.1', port: 0 });
  } catch (error) {
    await recorder.close();
    throw new UsageError(`cannot listen on 127.0.0.1 for the pipeline's spans: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const endpoint = `${receiver.url}/v1/traces`;
  sources.push(`OTLP ${receiver.url}`, `demo pipeline (${faults.length > 0 ? plural(faults.length, 'fault') : 'no faults'})`);

  // The host app's side: the Node SDK with the stock OTLP/HTTP protobuf exporter, as an app is set up.
  const [{ NodeSDK }, { OTLPTraceExporter }, { AlwaysOnSampler, BatchSpanProcessor }, { Baton }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/sdk-trace-base'),
    import('baton-sdk'),
  ]);
  const exporter = new OTLPTraceExporter({ url: endpoint });
  // What the exporter reported as delivered or lost: the count to hold against the receiver's.
  const exported = { spans: 0, failedSpans: 0 };
  const sdk = new NodeSDK({
    serviceName: 'baton-demo-pipeline',
    spanProcessors: [
      new BatchSpanProcessor(
        {
          export: (spans, done) =>
            exporter.export(spans, (result) => {
              if (result.code === 0) exported.spans += spans.length;
              else exported.failedSpans += spans.length;
              done(result);
            }),
          shutdown: () => exporter.shutdown(),
          forceFlush: () => exporter.forceFlush(),
        },
        { scheduledDelayMillis: EXPORT_DELAY_MS },
      ),
    ],
    // Set here, not read from the environment: an OTEL_TRACES_SAMPLER or attribute limit left in the
    // shell would drop spans or the attributes the rules read, and the audit would not be of what ran.
    sampler: new AlwaysOnSampler(),
    spanLimits: { attributeCountLimit: 128, attributeValueLengthLimit: Number.POSITIVE_INFINITY, eventCountLimit: 128, linkCountLimit: 128 },
    // Without these the SDK would add OTLP metric and log exporters aimed at localhost:4318, where a
    // real `baton watch` or Collector may listen.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  const baton = new Baton();

  // The pipeline, task after task until the duration is over and every fault ran once.
  const schedule = new FaultSchedule(faults, durationMs);
  const tasks: TaskRun[] = [];
  let stopping = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(done, ms);
      wake = () => {
        clearTimeout(timer);
        done();
      };
    });
  const startedMs = performance.now();
  const pipeline = (async () => {
    for (let n = 1; !stopping; n++) {
      const elapsedMs = performance.now() - startedMs;
      if (elapsedMs >= durationMs && schedule.complete) break;
      const fault = schedule.next(elapsedMs);
      const taskId = `${prefix}-${String(n).padStart(4, '0')}`;
      if (fault !== undefined) {
        session.notify(`${taskId}: injected ${fault}`);
        if (!interactive) io.stderr.write(`baton demo: ${printable(taskId)}: injected ${fault}\n`);
      }
      const result = await runPipeline({ baton, faults: fault === undefined ? [] : [fault], taskId });
      tasks.push({ fault, result });
      if (!stopping) await pause(TASK_GAP_MS);
    }
  })();
  let flushed: Promise<void> | undefined;
  // The last spans leave the exporter, the receiver takes them, the session analyzes its queue.
  // The SDK shuts down even when the pipeline threw, so the tasks before it still reach the audit.
  const flush = () => (flushed ??= pipeline.finally(() => sdk.shutdown()).then(() => session.drained()));
  session.start();

  await runLiveMonitor({
    command: 'baton demo',
    session,
    io,
    interactive,
    banner: `the example pipeline exports OTLP/HTTP to ${receiver.url}; ${faults.length > 0 ? `faults: ${faults.join(', ')}` : 'no faults'}; recording to ${shown}`,
    intervalMs: durationMs > 10_000 ? 5_000 : 1_000,
    inputEnded: flush(),
    endsWithInput: true,
    beforeClose: async () => {
      stopping = true;
      wake?.();
      await flush();
    },
    stops: [() => receiver.close()],
    recorder: { recorder, label: `--out ${shown}` },
  });

  const width = outputWidth(io);
  const w = (line = ''): void => void io.stdout.write(`${line}\n`);
  // Prose wrapped to the width the audit below uses, continuation lines indented under the first.
  const say = (text: string, first = '', rest = first): void => {
    wrapWords(text, width - Math.max(first.length, rest.length)).forEach((line, i) => w(`${i === 0 ? first : rest}${line}`));
  };
  const view = session.view();
  if (!interactive) {
    const { finalSummary } = await import('../../dashboards/plain-summary.js');
    io.stdout.write(finalSummary(view, width));
    w();
  }

  // The pipeline's own account: what ran, what was injected where, what the SDK counted.
  const faulty = tasks.filter((t) => t.fault !== undefined);
  const clean = tasks.filter((t) => t.fault === undefined);
  const cleanOutcomes = countBy(clean.map((t) => t.result.outcome));
  const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
  say(
    `Pipeline: ${plural(tasks.length, 'task')} in ${seconds} s (${AGENTS.join(' → ')}): ${plural(clean.length, 'clean task')} (${cleanOutcomes || 'none'}), ` +
      `${faulty.length} with a fault injected${faulty.length > 0 ? ':' : '.'}`,
  );
  const idWidth = Math.max(0, ...faulty.map((t) => printable(t.result.taskId).length));
  const faultWidth = Math.max(0, ...faulty.map((t) => t.fault!.length));
  for (const task of faulty) {
    w(`  ${printable(task.result.taskId).padEnd(idWidth)}  ${task.fault!.padEnd(faultWidth)}  ${task.result.outcome}`);
    // The first note restates the injected fault; the rest is what the run did about it.
    for (const note of task.result.notes) say(printable(note), '    - ', '      ');
  }
  const stats = baton.stats();
  say(
    `Handoffs sent ${stats.handoffsSent}, received ${stats.handoffsReceived}; validation failures ${stats.validationFailures}; ` +
      `acks past budget ${stats.ackTimeouts}; instrumentation faults ${stats.faults}.`,
  );
  say(
    `Exported ${plural(exported.spans, 'span')} with the OTLP/HTTP protobuf exporter to ${endpoint}` +
      `${exported.failedSpans > 0 ? ` (${exported.failedSpans} failed)` : ''}; the receiver accepted ${view.counters.accepted}.`,
  );
  if (exported.spans + exported.failedSpans === 0 && tasks.length > 0) {
    io.stderr.write(`baton demo: the OpenTelemetry SDK exported no spans${io.env.OTEL_SDK_DISABLED ? ' (OTEL_SDK_DISABLED is set in the environment)' : ''}\n`);
  }
  // Not wrapped: a path is copied whole.
  w(`Trace: ${shown} (${plural(recorder.spans, 'span')}, OTLP/JSON Lines)`);
  if (values['no-audit']) return ExitCode.Ok;

  // The audit of everything received: what `baton audit <file>` prints for the recording.
  const { renderText } = await import('../../src/report/index.js');
  const color = io.stdout.isTTY === true && !io.env.NO_COLOR;
  w();
  w(`baton audit ${shown}`);
  w();
  w(renderText(session.report(), { color, width }).trimEnd());
  return ExitCode.Ok;
}

/** `12 completed, 1 failed`: how many of each, in first-seen order. */
function countBy(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, n]) => `${n} ${value}`).join(', ');
}
