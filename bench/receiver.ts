/**
 * The live monitor's receivers: spans/s that `baton watch` accepts *and
 * analyzes* over real OTLP (HTTP protobuf, HTTP JSON, gRPC), against bare
 * servers on the same transports that only read the bodies, or read and decode
 * them with the same decoder (the issue's baseline: "a bare server that only
 * parses the same bodies"); the dashboard's CPU share at 10k spans/s; and the
 * session's memory over hours of data.
 *
 * Built to be read on a shared, loaded machine:
 * - Every server runs in a fresh child process of its own, and the load in
 *   another (neither shares a heap or event loop with this orchestrating one,
 *   which holds the spans); both get the same request bodies, from one file.
 * - Besides wall throughput, each server reports the CPU time it used per span
 *   (process.cpuUsage, all its threads, from the first request to the last span
 *   analyzed): other work on the machine stretches wall time far more than CPU time.
 * - Cases run interleaved, REPS rounds of every (transport, server) pair, so a
 *   ratio compares runs minutes apart at most, never one run now and one later.
 *
 * The load posts pre-built export requests of 512 spans (the BatchSpanProcessor's
 * batch size; whole traces of the example pipeline, about one in five with a fault,
 * each with fresh ids and its own task id) over keep-alive connections, CONCURRENCY
 * at a time, backing off 20 ms on 429 / RESOURCE_EXHAUSTED. A run is timed from
 * the first request to the last answer, plus, for the monitor, the analysis still
 * queued or open after it: every span accepted and analyzed, every group closed.
 * The monitor runs as `baton watch` does on a terminal: the analysis (decoding
 * included) on its worker thread (ThreadedLiveSession), the receiver and the
 * real dashboard (the Watch component, Ink, maxFps 10) drawing into a 120x40
 * terminal that discards its output on the main thread; its CPU time counts both.
 *
 * The dashboard's share: the same monitor fed at a steady 10k spans/s, with V8's
 * sampling profiler on in the server's main thread; the dashboard's share of that
 * thread's busy samples (use-live-graph, the components, React, Ink and its
 * layout) times the thread's CPU time (Linux's /proc/thread-self/stat), over the
 * server's CPU time (both threads). The samples alone are wall time, which a
 * loaded machine stretches: at load 14 they read 7x the dashboard's CPU time.
 * The views themselves are built on the analysis thread, which that profiler
 * does not see: "building views" reads 0 there.
 *
 *   npx tsx bench/receiver.ts      (BATON_BENCH_QUICK=1: fewer batches and rounds, one hour of data)
 *   BATON_BENCH_CPU_PROF=<dir>     also writes a <dir>/<case>.cpuprofile of every server's measured window (bench/cpuprofile-top.ts reads them)
 *   BATON_BENCH_CPU_PROF_THREADS=<dir>   runs each monitor under `node --cpu-prof`: <dir>/<case>/CPU.….cpuprofile, one per thread, the analysis worker's too (start-up included)
 *   BATON_BENCH_RECEIVER_BATCHES, _ROUNDS, _PROTOCOLS=http-proto,http-json,grpc   override the size, rounds and transports
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, request as httpRequest, Agent } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context } from '@opentelemetry/api';
import { runPipeline, type Fault } from '../examples/pipeline/pipeline.js';
import { LiveSession } from '../dashboards/live-session.js';
import { ThreadedLiveSession } from '../dashboards/threaded-session.js';
import { Auditor } from '../src/analyze/audit.js';
import { parseOtlpJsonRequest } from '../src/ingest/otlp-json.js';
import { decodeOtlpProtobuf } from '../src/ingest/otlp-protobuf.js';
import type { SpanRecord } from '../src/model/span-record.js';
import { startOtlpGrpcReceiver, TRACE_SERVICE_EXPORT_PATH } from '../src/receiver/otlp-grpc.js';
import { startOtlpHttpReceiver } from '../src/receiver/otlp-http.js';
import { spansToOtlpJson } from '../src/receiver/otlp-json-recorder.js';
import { Baton } from '../src/sdk/baton.js';
import { collectGarbage, fmt, fmtRatio, log, markdownTable, median, QUICK, runTsChild, verdict } from './common.js';
import { encodeOtlpJsonAsProtobuf } from './to-protobuf.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const BATCH_SPANS = 512;
const BATCHES = Number(process.env.BATON_BENCH_RECEIVER_BATCHES ?? (QUICK ? 200 : 400));
/** Rounds of every case, interleaved. */
const REPS = Number(process.env.BATON_BENCH_RECEIVER_ROUNDS ?? (QUICK ? 2 : 3));
/** The transports measured (a comma-separated subset, for profiling one). */
const PROTOCOLS = (process.env.BATON_BENCH_RECEIVER_PROTOCOLS ?? 'http-proto,http-json,grpc').split(',') as Protocol[];
const CONCURRENCY = 8;
/** The steady rate at which the dashboard's share is measured (the issue's "10k spans/s"). */
const DASHBOARD_RATE = 10_000;
/** The goals stated in the issue: the monitor sustains at least half of what a bare server parses; protobuf at least as fast as JSON. */
export const RECEIVER_GOAL = 0.5;

type Protocol = 'http-proto' | 'http-json' | 'grpc';
type Server = 'monitor' | 'bare-read' | 'bare-decode';

export interface ThroughputRow {
  protocol: Protocol;
  server: Server;
  /** Round (0-based): rows of one round ran back to back. */
  rep: number;
  spans: number;
  ms: number;
  spansPerSecond: number;
  /** The server process's CPU time (user + system, all threads) per span, µs. */
  cpuUsPerSpan: number;
  /** The load process's CPU time per span, µs (what sending costs the machine, for scale). */
  loadCpuUsPerSpan: number;
  refusals: number;
  /** Monitor: wall time after the last answer until every span was analyzed. */
  tailMs?: number;
  /** Monitor: dashboard frames written to the terminal during the run. */
  frames?: number;
  /** Monitor: how busy each thread's event loop was over the run (0–1): the analysis thread's, the main thread's (receiver, dashboard). */
  analysisBusy?: number;
  mainBusy?: number;
}

/** The analysis alone, and each decoder alone, in one process on the same bodies (no network). */
export interface InProcessRow {
  what: 'auditor' | 'decode-proto' | 'decode-json' | 'session-proto' | 'session-json';
  spans: number;
  spansPerSecond: number;
  cpuUsPerSpan: number;
}

export interface DashboardShare {
  spansPerSecond: number;
  seconds: number;
  /** The server's CPU time over wall time (1 = one core busy). */
  serverCores: number;
  /** Dashboard CPU time over wall time. */
  dashboardCores: number;
  /** Dashboard CPU time over the server's CPU time. */
  dashboardShare: number;
  /** Of the dashboard, building the views (LiveSession.view). */
  viewShare: number;
  frames: number;
  /** The main thread's CPU time over wall time (Linux), of which the dashboard's is its share of the thread's busy samples. */
  mainCores?: number;
  /** The dashboard's sampled (wall) time over wall time: what the share read before CPU time per thread was known. */
  dashboardSampledCores?: number;
}

export interface MemoryPoint {
  dataMinutes: number;
  spans: number;
  heapMiB: number;
  rssMiB: number;
  tracesOpen: number;
}

export interface ReceiverResults {
  batchSpans: number;
  batches: number;
  concurrency: number;
  reps: number;
  loadAverage: number[];
  throughput: ThroughputRow[];
  inProcess: InProcessRow[];
  dashboard: DashboardShare;
  memory: MemoryPoint[];
}

// ---- data -------------------------------------------------------------------------------------

/** The example pipeline's spans (a clean run and a few faults), as templates for fresh traces. */
export async function templateTraces(): Promise<SpanRecord[][]> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const traces: SpanRecord[][] = [];
  // The audit benchmark's mix (bench/generate-traces.ts): mostly clean runs, about one in five with a fault.
  for (const faults of [[], [], [], [], ['stale-read'], [], [], [], ['duplicate-write'], ['ack-timeout']] as Fault[][]) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const meterProvider = new MeterProvider();
    const baton = new Baton({ tracer: provider.getTracer('baton'), meter: meterProvider.getMeter('baton') });
    await runPipeline({ baton, faults, taskId: `bench-${faults.join('+') || 'clean'}` });
    const text = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())!);
    traces.push(parseOtlpJsonRequest(JSON.parse(text), 'bench'));
    await provider.shutdown();
    await meterProvider.shutdown();
  }
  return traces;
}

let idCounter = 0n;
/** A fresh id of 64 or 128 bits (a multiplicative hash of a counter: distinct, well spread). */
function freshId(bits: 64 | 128): string {
  idCounter++;
  const id = ((idCounter * 0x9e3779b97f4a7c15n) & ((1n << 64n) - 1n)).toString(16).padStart(16, '0');
  return bits === 64 ? id : `${id}${(idCounter & 0xffffffffn).toString(16).padStart(16, '0')}`;
}

/**
 * Copy `k` of a template trace: fresh trace and span ids (links and parents follow), times moved
 * to `startMs`, and its task id made its own (in every attribute that holds it, state keys
 * included), as separate runs of a pipeline would have.
 */
function copyTrace(template: readonly SpanRecord[], k: number, startMs: number): SpanRecord[] {
  const traceIds = new Map<string, string>();
  const spanIds = new Map<string, string>();
  const trace = (id: string) => traceIds.get(id) ?? (traceIds.set(id, freshId(128)), traceIds.get(id)!);
  const span = (id: string) => (id === '' ? '' : (spanIds.get(id) ?? (spanIds.set(id, freshId(64)), spanIds.get(id)!)));
  const taskId = template[0]!.attributes['baton.task.id'];
  const task = typeof taskId === 'string' ? taskId : undefined;
  const shift = startMs - template[0]!.startMs;
  const out: SpanRecord[] = new Array(template.length);
  for (let i = 0; i < template.length; i++) {
    const s = template[i]!;
    let attributes = s.attributes;
    if (task !== undefined) {
      const copy: Record<string, SpanRecord['attributes'][string]> = {};
      for (const key in s.attributes) {
        const v = s.attributes[key]!;
        copy[key] = typeof v === 'string' && v.includes(task) ? v.split(task).join(`${task}-${k}`) : v;
      }
      attributes = copy;
    }
    out[i] = {
      ...s,
      traceId: trace(s.traceId),
      spanId: span(s.spanId),
      parentSpanId: span(s.parentSpanId),
      startMs: s.startMs + shift,
      endMs: s.endMs + shift,
      attributes,
      links: s.links.map((l) => ({ traceId: trace(l.traceId), spanId: span(l.spanId) })),
    };
  }
  return out;
}

/** BATCHES request bodies of BATCH_SPANS spans (whole traces), data time ending a minute ago. */
export function buildBatches(templates: SpanRecord[][]): SpanRecord[][] {
  const batches: SpanRecord[][] = [];
  let k = 0;
  const base = Date.now() - 60_000 - BATCHES * 20;
  for (let b = 0; b < BATCHES; b++) {
    const batch: SpanRecord[] = [];
    while (batch.length < BATCH_SPANS) {
      const trace = copyTrace(templates[k % templates.length]!, k, base + b * 20);
      k++;
      for (const s of trace) batch.push(s);
    }
    batches.push(batch);
  }
  return batches;
}

// ---- children: one JSON object per line out, one word per line in -------------------------------

/** A child process of this script that answers in JSON lines on stdout and takes words on stdin. */
class LineChild {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  #closed: Error | undefined;
  readonly exited: Promise<void>;

  constructor(args: readonly string[], nodeArgs: readonly string[] = []) {
    this.#child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SELF, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(line);
      else this.#lines.push(line);
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('close', (code) => {
        this.#closed = new Error(`bench child ${args.slice(0, 3).join(' ')} exited with ${code}`);
        for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closed);
        resolve();
      });
    });
  }

  async next<T>(): Promise<T> {
    const line = this.#lines.shift() ?? (await new Promise<string>((resolve, reject) => (this.#closed ? reject(this.#closed) : this.#waiters.push({ resolve, reject }))));
    return JSON.parse(line) as T;
  }

  send(word: string): void {
    this.#child.stdin!.write(`${word}\n`);
  }
}

/** In a child: the next word the orchestrator sends. */
const words = process.argv[2] === '--serve' || process.argv[2] === '--load' ? createInterface({ input: process.stdin })[Symbol.asyncIterator]() : undefined;
async function expectWord(word: string): Promise<void> {
  const next = await words!.next();
  if (next.done || next.value !== word) throw new Error(`expected "${word}" from the orchestrator, got ${next.done ? 'the end' : JSON.stringify(next.value)}`);
}

function say(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

// ---- load generator (a child process) ----------------------------------------------------------

interface BodiesFile {
  bodies: string[];
  spans: number[];
}

interface LoadResult {
  refusals: number;
  ms: number;
  cpuMs: number;
}

/**
 * Posts every body, CONCURRENCY at a time; with `spansPerSecond`, no body before its turn at
 * that steady rate (by the spans sent before it), as a busy app's exporters would send.
 */
async function runLoad(url: string, protocol: Protocol, file: string, spansPerSecond: number): Promise<void> {
  const { bodies, spans } = JSON.parse(await readFile(file, 'utf8')) as BodiesFile;
  const payloads = bodies.map((b) => Buffer.from(b, 'base64'));
  const dueMs: number[] = [];
  let sent = 0;
  for (const n of spans) {
    dueMs.push(spansPerSecond > 0 ? (sent / spansPerSecond) * 1000 : 0);
    sent += n;
  }
  let send: (body: Buffer) => Promise<boolean>;
  let close: () => void;
  if (protocol === 'grpc') {
    const Client = grpc.makeGenericClientConstructor({ export: PASS_THROUGH_EXPORT }, 'TraceService');
    const client = new Client(url.replace('http://', ''), grpc.credentials.createInsecure()) as unknown as {
      export(b: Buffer, cb: (e: grpc.ServiceError | null) => void): void;
      close(): void;
    };
    send = (body) =>
      new Promise((resolve, reject) =>
        client.export(body, (error) => (!error ? resolve(true) : error.code === grpc.status.RESOURCE_EXHAUSTED ? resolve(false) : reject(error))),
      );
    close = () => client.close();
  } else {
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const type = protocol === 'http-json' ? 'application/json' : 'application/x-protobuf';
    send = (body) =>
      new Promise((resolve, reject) => {
        const req = httpRequest(`${url}/v1/traces`, { method: 'POST', agent, headers: { 'content-type': type, 'content-length': body.length } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(true) : res.statusCode === 429 ? resolve(false) : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    close = () => agent.destroy();
  }
  say({ ready: true });
  await expectWord('go');
  const cpu = process.cpuUsage();
  let next = 0;
  let refusals = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < payloads.length) {
        const i = next++;
        const wait = started + dueMs[i]! - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        while (!(await send(payloads[i]!))) {
          refusals++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  const ms = performance.now() - started;
  close();
  say({ refusals, ms, cpuMs: cpuMsSince(cpu) } satisfies LoadResult);
}

// ---- servers (each a child process) ------------------------------------------------------------

/** The trace service with pass-through (de)serializers, for the bare server and the load's client. */
const PASS_THROUGH_EXPORT = {
  path: TRACE_SERVICE_EXPORT_PATH,
  requestStream: false,
  responseStream: false,
  requestSerialize: (v: Buffer) => v,
  requestDeserialize: (v: Buffer) => v,
  responseSerialize: (v: Buffer) => v,
  responseDeserialize: (v: Buffer) => v,
} as const;

/** A node:http server that reads each body (and decodes it, for bare-decode) and answers 200. */
async function startBareHttp(decode: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (decode) {
        if ((req.headers['content-type'] ?? '').includes('json')) parseOtlpJsonRequest(JSON.parse(body.toString('utf8')), 'bare');
        else decodeOtlpProtobuf(body, 'bare');
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeIdleConnections(); }),
  };
}

/** A grpc-js server with the same service that only takes the bytes (and decodes them, for bare-decode). */
async function startBareGrpc(decode: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(
    { export: PASS_THROUGH_EXPORT },
    {
      export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (decode) decodeOtlpProtobuf(call.request, 'bare');
        cb(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

/** A terminal of `columns` x `rows` that discards what is drawn, counting frames. */
class NullTerminal extends Writable {
  readonly isTTY = true;
  frames = 0;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  override _write(_chunk: unknown, _encoding: string, callback: () => void): void {
    this.frames++;
    callback();
  }
}

/** A keyboard nobody types on, that Ink can put in raw mode. */
function idleKeyboard(): NodeJS.ReadStream {
  const stdin = new Readable({ read() {} }) as Readable & { isTTY: boolean; setRawMode(on: boolean): unknown; ref(): unknown; unref(): unknown };
  stdin.isTTY = true;
  stdin.setRawMode = () => stdin;
  stdin.ref = () => stdin;
  stdin.unref = () => stdin;
  return stdin as unknown as NodeJS.ReadStream;
}

/** The monitor as `baton watch` runs on a terminal: session, receiver, and the real dashboard drawing. */
async function startMonitor(protocol: Protocol): Promise<{ url: string; session: ThreadedLiveSession; terminal: NullTerminal; close(): Promise<void> }> {
  // As shipped: the analysis on its worker thread, the receiver and the dashboard on this one.
  const session = await ThreadedLiveSession.start({ mode: 'receive', settleMs: 200 });
  const receiver = protocol === 'grpc' ? await startOtlpGrpcReceiver(session, { port: 0 }) : await startOtlpHttpReceiver(session, { port: 0 });
  // As baton watch sets them on a terminal: Ink draws only the last frame under CI (is-in-ci reads
  // it as Ink loads), and React is its production build unless NODE_ENV says otherwise.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  if (process.env.BATON_BENCH_REACT_DEV !== '1') process.env.NODE_ENV ??= 'production';
  const [{ render }, React, { Watch }] = await Promise.all([import('ink'), import('react'), import('../dashboards/Watch.js')]);
  const terminal = new NullTerminal(120, 40);
  const instance = render(React.createElement(Watch, { source: session, onQuit: () => {} }), {
    stdout: terminal as unknown as NodeJS.WriteStream,
    stdin: idleKeyboard(),
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 10,
  });
  return {
    url: receiver.url,
    session,
    terminal,
    close: async () => {
      instance.unmount();
      await receiver.close();
    },
  };
}

/** Library code that draws the dashboard: the components, the hook, React, Ink and its layout engine. */
// Not the session's own files: the threaded session's main-thread side hands bodies over and takes verdicts (receiving, not drawing).
const DASHBOARD_CODE = /\/node_modules\/(ink|react|react-reconciler|scheduler|yoga-layout|es-toolkit|wrap-ansi|cli-truncate|slice-ansi|string-width|widest-line|chalk|ansi-escapes|ansi-styles|strip-ansi|log-update|cli-cursor|cli-boxes|indent-string|emoji-regex|get-east-asian-width)\/|\/dashboards\/(?!live-session|plain-summary|threaded-session|analysis-worker)[^/]+$/;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/**
 * Sampled time (ms) under the dashboard's code and, of that, in LiveSession.view, and the thread's
 * sampled time not idle. Samples are taken on wall time: on a loaded machine a sample's time includes
 * the time the thread waited for a core, so only ratios of them are read (see measureDashboard).
 */
function dashboardTimeOf(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }): { dashboardMs: number; viewMs: number; busyMs: number } {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  // 0: other, 1: dashboard, 2: building a view inside it.
  const category = new Map<number, number>();
  const stack: [number, number][] = [[profile.nodes[0]!.id, 0]];
  while (stack.length > 0) {
    const [id, inherited] = stack.pop()!;
    const node = byId.get(id)!;
    const { url, functionName } = node.callFrame;
    let own = inherited;
    if (url.includes('/dashboards/live-session') && functionName === 'view') own = inherited === 0 ? 0 : 2;
    else if (own === 0 && DASHBOARD_CODE.test(url)) own = 1;
    category.set(id, own);
    for (const child of node.children ?? []) stack.push([child, own]);
  }
  let dashboardMs = 0;
  let viewMs = 0;
  let busyMs = 0;
  const idle = new Set<number>();
  for (const node of profile.nodes) if (node.callFrame.functionName === '(idle)') idle.add(node.id);
  for (let i = 0; i < profile.samples.length; i++) {
    const c = category.get(profile.samples[i]!) ?? 0;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    if (!idle.has(profile.samples[i]!)) busyMs += ms;
    if (c > 0) dashboardMs += ms;
    if (c === 2) viewMs += ms;
  }
  return { dashboardMs, viewMs, busyMs };
}

/** This thread's CPU time (user + system), ms, from Linux's /proc/thread-self/stat (undefined elsewhere). */
function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the parenthesized name: state is the 3rd field, utime and stime the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
/** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

interface ServerResult {
  cpuMs: number;
  wallMs: number;
  tailMs: number;
  frames: number;
  analysisBusy?: number;
  mainBusy?: number;
  dashboardMs?: number;
  viewMs?: number;
  /** The main thread's sampled time not idle, and its CPU time (Linux), for the dashboard's CPU. */
  mainBusySampledMs?: number;
  mainCpuMs?: number;
}

/**
 * A server child: starts, says its URL, and on "start" … "done" measures its CPU time (and, for
 * the monitor, waits until every span is analyzed); with `profileDashboard`, V8's sampling
 * profiler runs in between and the dashboard's samples are counted.
 */
async function serve(protocol: Protocol, server: Server, spans: number, profileDashboard: boolean, profileTo: string | undefined): Promise<void> {
  const monitor = server === 'monitor' ? await startMonitor(protocol) : undefined;
  const bare = monitor ? undefined : protocol === 'grpc' ? await startBareGrpc(server === 'bare-decode') : await startBareHttp(server === 'bare-decode');
  collectGarbage();
  say({ url: monitor?.url ?? bare!.url });
  await expectWord('start');
  const inspector = profileDashboard || profileTo !== undefined ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 1000 });
    await inspector.post('Profiler.start');
  }
  const framesBefore = monitor?.terminal.frames ?? 0;
  const analysisLoop = monitor?.session.analysisUtilization();
  const mainLoop = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const mainCpuBefore = threadCpuMs();
  const started = performance.now();
  say({ started: true });
  await expectWord('done');
  const answered = performance.now();
  if (monitor) await monitor.session.finish();
  const ended = performance.now();
  const cpuMs = cpuMsSince(cpu);
  const mainCpuAfter = threadCpuMs();
  const result: ServerResult = { cpuMs, wallMs: ended - started, tailMs: ended - answered, frames: (monitor?.terminal.frames ?? 0) - framesBefore };
  if (monitor && analysisLoop) {
    result.analysisBusy = monitor.session.analysisUtilization(analysisLoop).utilization;
    result.mainBusy = performance.eventLoopUtilization(mainLoop).utilization;
  }
  if (inspector) {
    const { profile } = await inspector.post('Profiler.stop');
    if (profileDashboard) {
      const { dashboardMs, viewMs, busyMs } = dashboardTimeOf(profile as unknown as Parameters<typeof dashboardTimeOf>[0]);
      Object.assign(result, { dashboardMs, viewMs, mainBusySampledMs: busyMs });
      if (mainCpuBefore !== undefined && mainCpuAfter !== undefined) result.mainCpuMs = mainCpuAfter - mainCpuBefore;
    }
    if (profileTo !== undefined) await writeFile(profileTo, JSON.stringify(profile));
    inspector.disconnect();
  }
  if (monitor) {
    const view = monitor.session.view();
    if (view.counters.accepted !== spans || view.counters.tracesOpen !== 0) throw new Error(`monitor accepted ${view.counters.accepted} of ${spans} spans`);
    await monitor.close();
  } else await bare!.close();
  say(result);
}

/** The Auditor alone on the decoded spans, and each decoder alone on the bodies, in this process. */
async function measureInProcess(protoFile: string, jsonFile: string): Promise<InProcessRow[]> {
  const proto = (JSON.parse(await readFile(protoFile, 'utf8')) as BodiesFile).bodies.map((b) => Buffer.from(b, 'base64'));
  const json = (JSON.parse(await readFile(jsonFile, 'utf8')) as BodiesFile).bodies.map((b) => Buffer.from(b, 'base64'));
  const rows: InProcessRow[] = [];
  const time = (what: InProcessRow['what'], run: () => number) => {
    collectGarbage();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const spans = run();
    const ms = performance.now() - started;
    rows.push({ what, spans, spansPerSecond: spans / (ms / 1000), cpuUsPerSpan: (cpuMsSince(cpu) * 1000) / spans });
  };
  // A first pass of each warms the JIT; the second is the one timed. Neither keeps what it
  // decoded (as a bare server does not), so neither pays for the other's garbage.
  for (let pass = 0; pass < 2; pass++) {
    const decodeProto = () => proto.reduce((n, body) => n + decodeOtlpProtobuf(body, 'bench').length, 0);
    const decodeJson = () => json.reduce((n, body) => n + parseOtlpJsonRequest(JSON.parse(body.toString('utf8')), 'bench').length, 0);
    if (pass === 0) {
      decodeProto();
      decodeJson();
    } else {
      time('decode-proto', decodeProto);
      time('decode-json', decodeJson);
    }
  }
  // Decoding and the live session (queue, observe, Auditor) without network or dashboard: the monitor minus its receiver and its drawing.
  for (const encoding of ['proto', 'json'] as const) {
    collectGarbage();
    const cpu = process.cpuUsage();
    const started = performance.now();
    // As the analysis worker runs it: each batch analyzed as it is offered.
    const session = new LiveSession({ mode: 'receive', settleMs: 200, analyzeOnOffer: true });
    session.start();
    const origin = { protocol: 'http', encoding: encoding === 'proto' ? 'protobuf' : 'json', peer: 'bench' } as const;
    let spans = 0;
    for (const body of encoding === 'proto' ? proto : json) {
      const batch = encoding === 'proto' ? decodeOtlpProtobuf(body, 'bench') : parseOtlpJsonRequest(JSON.parse(body.toString('utf8')), 'bench');
      spans += batch.length;
      session.offer(batch, origin);
      // As a receiver between requests: the event loop turns, so the queue drains in slices.
      await new Promise((r) => setImmediate(r));
    }
    await session.finish();
    const ms = performance.now() - started;
    rows.push({ what: `session-${encoding}`, spans, spansPerSecond: spans / (ms / 1000), cpuUsPerSpan: (cpuMsSince(cpu) * 1000) / spans });
  }
  const batches = proto.map((body) => decodeOtlpProtobuf(body, 'bench'));
  time('auditor', () => {
    // As the live session runs it: complete groups close once settled, the clock moves every batch.
    const auditor = new Auditor({ softOpenSpans: 0, completeIdleMs: 200, retentionMs: 3_600_000, idleMs: 60_000, onUpdate: () => {} });
    let spans = 0;
    for (const batch of batches) {
      auditor.addSpans(batch);
      auditor.advance(Date.now());
      spans += batch.length;
    }
    auditor.finish();
    return spans;
  });
  return rows;
}

/** Hours of data through a session (no network: the clock is the data's), heap after GC every 15 minutes of data. */
async function measureMemoryAsync(templates: SpanRecord[][]): Promise<MemoryPoint[]> {
  const hours = QUICK ? 1 : 3;
  const spansPerSecond = QUICK ? 100 : 100;
  const perTrace = templates[0]!.length;
  const start = Date.parse('2026-01-01T00:00:00Z');
  let clockMs = start;
  const session = new LiveSession({ mode: 'receive', clock: () => clockMs });
  const points: MemoryPoint[] = [];
  const origin = { protocol: 'http', encoding: 'protobuf', peer: 'bench' } as const;
  let k = 0;
  let spans = 0;
  let owed = 0;
  for (let second = 0; second < hours * 3600; second++) {
    clockMs = start + second * 1000;
    owed += spansPerSecond / perTrace;
    const batch: SpanRecord[] = [];
    for (; owed >= 1; owed--) for (const s of copyTrace(templates[k % templates.length]!, k++, clockMs - 2000)) batch.push(s);
    spans += batch.length;
    session.offer(batch, origin);
    if (second % 10 === 9) {
      await session.drained();
      session.tick();
    }
    if ((second + 1) % 900 === 0) {
      await session.drained();
      session.tick();
      collectGarbage();
      const view = session.view();
      if (view.counters.accepted !== spans) throw new Error('memory run lost spans');
      points.push({
        dataMinutes: (second + 1) / 60,
        spans,
        heapMiB: process.memoryUsage().heapUsed / 1024 / 1024,
        rssMiB: process.memoryUsage().rss / 1024 / 1024,
        tracesOpen: view.counters.tracesOpen,
      });
      log(`receiver: memory at ${(second + 1) / 60} min of data: heap ${fmt(points.at(-1)!.heapMiB, 0)} MiB`);
    }
  }
  return points;
}

// ---- the orchestrator --------------------------------------------------------------------------

const PROFILE_DIR = process.env.BATON_BENCH_CPU_PROF;
/** `node --cpu-prof` on every monitor server: one profile per thread, the analysis worker's included. */
const WORKER_PROFILE_DIR = process.env.BATON_BENCH_CPU_PROF_THREADS;

/** One server child and one load child, the load released once the server measures. */
async function runCase(protocol: Protocol, server: Server, file: string, spans: number, rate: number, profileDashboard: boolean, name: string): Promise<{ load: LoadResult; server: ServerResult }> {
  // The profile covers the measured window only (not start-up): the server takes it with the inspector.
  const profileTo = PROFILE_DIR ? join(PROFILE_DIR, `${name}.cpuprofile`) : '-';
  // Node's own profiler (start-up included) sees the analysis thread too, which the inspector here does not.
  const nodeArgs = WORKER_PROFILE_DIR && server === 'monitor' ? ['--cpu-prof', '--cpu-prof-dir', join(WORKER_PROFILE_DIR, name)] : [];
  const serverChild = new LineChild(['--serve', protocol, server, String(spans), profileDashboard ? 'dashboard' : 'plain', profileTo], nodeArgs);
  const { url } = await serverChild.next<{ url: string }>();
  const loadChild = new LineChild(['--load', url, protocol, file, String(rate)]);
  await loadChild.next();
  serverChild.send('start');
  await serverChild.next();
  loadChild.send('go');
  const load = await loadChild.next<LoadResult>();
  serverChild.send('done');
  const result = await serverChild.next<ServerResult>();
  await Promise.all([serverChild.exited, loadChild.exited]);
  return { load, server: result };
}

async function measure(protocol: Protocol, server: Server, rep: number, file: string, spans: number): Promise<ThroughputRow> {
  const { load, server: s } = await runCase(protocol, server, file, spans, 0, false, `${protocol}-${server}-${rep}`);
  // Timed from the load's first request (its own clock, so its start-up is not counted) to its
  // last answer, plus, for the monitor, the analysis still queued or open after it.
  const ms = load.ms + (server === 'monitor' ? s.tailMs : 0);
  return {
    protocol, server, rep, spans, ms, spansPerSecond: spans / (ms / 1000),
    cpuUsPerSpan: (s.cpuMs * 1000) / spans, loadCpuUsPerSpan: (load.cpuMs * 1000) / spans, refusals: load.refusals,
    ...(server === 'monitor' ? { tailMs: s.tailMs, frames: s.frames, analysisBusy: s.analysisBusy, mainBusy: s.mainBusy } : {}),
  };
}

async function measureDashboard(file: string, spans: number): Promise<DashboardShare> {
  const { server: s } = await runCase('http-proto', 'monitor', file, spans, DASHBOARD_RATE, true, 'dashboard-10k');
  // The profiler's samples are wall time (on a loaded machine, a sample's time includes the wait for
  // a core), the server's CPU time is CPU time: the dashboard's CPU is its share of the main
  // thread's busy samples times that thread's CPU time, where the thread's CPU time is known.
  const sampled = s.dashboardMs ?? 0;
  const dashboardMs = s.mainCpuMs !== undefined && (s.mainBusySampledMs ?? 0) > 0 ? (s.mainCpuMs * sampled) / s.mainBusySampledMs! : sampled;
  return {
    spansPerSecond: spans / (s.wallMs / 1000),
    seconds: s.wallMs / 1000,
    serverCores: s.cpuMs / s.wallMs,
    dashboardCores: dashboardMs / s.wallMs,
    dashboardShare: dashboardMs / s.cpuMs,
    viewShare: sampled > 0 ? (s.viewMs ?? 0) / sampled : 0,
    frames: s.frames,
    ...(s.mainCpuMs !== undefined ? { mainCores: s.mainCpuMs / s.wallMs, dashboardSampledCores: sampled / s.wallMs } : {}),
  };
}

async function writeBodies(path: string, bodies: readonly Uint8Array[], spans: number[]): Promise<void> {
  await writeFile(path, JSON.stringify({ bodies: bodies.map((b) => Buffer.from(b).toString('base64')), spans } satisfies BodiesFile));
}

/** Writes one set of bodies per encoding into `dir`: json.txt and proto.txt. */
async function writeBodyFiles(dir: string): Promise<{ files: { json: string; proto: string }; spans: number }> {
  const templates = await templateTraces();
  const batches = buildBatches(templates);
  const spans = batches.reduce((n, b) => n + b.length, 0);
  const json = batches.map((b) => JSON.stringify(spansToOtlpJson(b)));
  const proto = json.map((text) => encodeOtlpJsonAsProtobuf(JSON.parse(text)));
  const counts = batches.map((b) => b.length);
  const files = { json: join(dir, 'json.txt'), proto: join(dir, 'proto.txt') };
  await writeBodies(files.json, json.map((t) => Buffer.from(t)), counts);
  await writeBodies(files.proto, proto, counts);
  return { files, spans };
}

async function runThroughput(): Promise<Omit<ReceiverResults, 'memory' | 'batchSpans' | 'batches' | 'concurrency' | 'reps'>> {
  const loadAverage = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-receiver-'));
  const throughput: ThroughputRow[] = [];
  try {
    // One set of bodies per encoding, read by every server and the in-process runs alike.
    const { files, spans } = await writeBodyFiles(dir);
    for (let rep = 0; rep < REPS; rep++) {
      for (const protocol of PROTOCOLS) {
        // The order within a round alternates, so neither server always runs first.
        const order: Server[] = rep % 2 === 0 ? ['bare-read', 'bare-decode', 'monitor'] : ['monitor', 'bare-decode', 'bare-read'];
        for (const server of order) {
          log(`receiver: round ${rep + 1}/${REPS}: ${protocol} ${server} (${spans.toLocaleString('en-US')} spans)`);
          throughput.push(await measure(protocol, server, rep, protocol === 'http-json' ? files.json : files.proto, spans));
        }
      }
    }
    log(`receiver: the dashboard at ${DASHBOARD_RATE.toLocaleString('en-US')} spans/s`);
    const dashboard = await measureDashboard(files.proto, spans);
    log('receiver: the Auditor and the decoders alone, same bodies');
    const inProcess = (await runTsChild<{ rows: InProcessRow[] }>('receiver.ts', ['--in-process', files.proto, files.json])).result.rows;
    return { loadAverage, throughput, inProcess, dashboard };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the benchmark: throughput and memory each in a child process of its own (a fresh heap for the memory curve). */
export async function runReceiverBench(): Promise<ReceiverResults> {
  const throughput = (await runTsChild<Awaited<ReturnType<typeof runThroughput>>>('receiver.ts', ['--json', 'throughput'])).result;
  const memory = (await runTsChild<{ rows: MemoryPoint[] }>('receiver.ts', ['--json', 'memory'])).result.rows;
  return { batchSpans: BATCH_SPANS, batches: BATCHES, concurrency: CONCURRENCY, reps: REPS, ...throughput, memory };
}

function rowsOf(results: ReceiverResults, protocol: Protocol, server: Server): ThroughputRow[] {
  return results.throughput.filter((r) => r.protocol === protocol && r.server === server);
}

/** Per round: monitor / `against`, as wall spans/s (`cpu`: as CPU time per span, inverted so higher is better too). */
function roundRatios(results: ReceiverResults, protocol: Protocol, against: Server, measure: 'wall' | 'cpu'): number[] {
  const ratios: number[] = [];
  for (let rep = 0; rep < results.reps; rep++) {
    const m = results.throughput.find((r) => r.protocol === protocol && r.server === 'monitor' && r.rep === rep);
    const b = results.throughput.find((r) => r.protocol === protocol && r.server === against && r.rep === rep);
    if (m && b) ratios.push(measure === 'wall' ? m.spansPerSecond / b.spansPerSecond : b.cpuUsPerSpan / m.cpuUsPerSpan);
  }
  return ratios;
}

/** monitor / bare-decode spans/s for a protocol: the lowest of the rounds. */
export function monitorRatio(results: ReceiverResults, protocol: Protocol, against: Server = 'bare-decode'): number {
  const ratios = roundRatios(results, protocol, against, 'wall');
  return ratios.length === 0 ? Number.NaN : Math.min(...ratios);
}

function range(values: readonly number[], format: (v: number) => string): string {
  if (values.length === 0) return '';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return format(lo) === format(hi) ? format(lo) : `${format(lo)}–${format(hi)}`;
}

const IN_PROCESS_LABELS: Record<InProcessRow['what'], string> = {
  'decode-proto': 'protobuf decoder alone',
  'decode-json': 'JSON.parse + OTLP/JSON reader alone',
  'session-proto': 'protobuf decoder + live session (queue, Auditor), no network or dashboard',
  'session-json': 'JSON reader + live session, no network or dashboard',
  auditor: 'the Auditor alone (live settings)',
};

export function formatReceiverResults(results: ReceiverResults): string {
  const label: Record<Server, string> = { monitor: 'baton watch (analysis and dashboard on)', 'bare-read': 'bare: reads the body', 'bare-decode': 'bare: reads and decodes' };
  const rows: string[][] = [];
  for (const protocol of ['http-proto', 'http-json', 'grpc'] as const) {
    for (const server of ['bare-read', 'bare-decode', 'monitor'] as const) {
      const list = rowsOf(results, protocol, server);
      if (list.length === 0) continue;
      rows.push([
        protocol,
        label[server],
        `${fmt(median(list.map((r) => r.spansPerSecond)), 0)} (${range(list.map((r) => r.spansPerSecond), (v) => fmt(v, 0))})`,
        `${fmt(median(list.map((r) => r.cpuUsPerSpan)), 1)} (${range(list.map((r) => r.cpuUsPerSpan), (v) => fmt(v, 1))})`,
        range(list.map((r) => r.loadCpuUsPerSpan), (v) => fmt(v, 1)),
        String(list.reduce((n, r) => n + r.refusals, 0)),
      ]);
    }
  }
  const lines = [
    `## Receiver (\`baton watch\`): ${results.batches} requests of ${results.batchSpans} spans, ${results.concurrency} concurrent, ${results.reps} interleaved rounds, each server and the load in processes of their own (1-minute load ${fmt(results.loadAverage[0] ?? 0, 2)} at the start)`,
    '',
    markdownTable(['transport', 'server', 'spans/s, median (min–max)', 'server CPU µs/span, median (min–max)', 'load CPU µs/span', '429 / RESOURCE_EXHAUSTED'], rows),
    '',
  ];
  for (const protocol of ['http-proto', 'http-json', 'grpc'] as const) {
    const wall = roundRatios(results, protocol, 'bare-decode', 'wall');
    const cpu = roundRatios(results, protocol, 'bare-decode', 'cpu');
    lines.push(
      `- ${protocol}: monitor / bare decode per round: wall ${range(wall, fmtRatio)}, CPU per span ${range(cpu, fmtRatio)} (bare decode's CPU per span over the monitor's); monitor / bare read, wall ${range(roundRatios(results, protocol, 'bare-read', 'wall'), fmtRatio)} (goal ≥ ${RECEIVER_GOAL}x of the parsing server in every round: ${verdict(wall.length > 0 && Math.min(...wall) >= RECEIVER_GOAL)})`,
    );
    const monitors = rowsOf(results, protocol, 'monitor').filter((r) => r.analysisBusy !== undefined);
    if (monitors.length > 0) {
      lines.push(
        `  - event loops busy over the monitor's run: the analysis thread ${range(monitors.map((r) => r.analysisBusy! * 100), (v) => `${fmt(v, 0)}%`)}, the main thread (receiver, dashboard) ${range(monitors.map((r) => r.mainBusy! * 100), (v) => `${fmt(v, 0)}%`)}`,
      );
    }
  }
  const protoOverJson: number[] = [];
  const protoOverJsonCpu: number[] = [];
  for (let rep = 0; rep < results.reps; rep++) {
    const p = results.throughput.find((r) => r.protocol === 'http-proto' && r.server === 'monitor' && r.rep === rep);
    const j = results.throughput.find((r) => r.protocol === 'http-json' && r.server === 'monitor' && r.rep === rep);
    if (p && j) {
      protoOverJson.push(p.spansPerSecond / j.spansPerSecond);
      protoOverJsonCpu.push(j.cpuUsPerSpan / p.cpuUsPerSpan);
    }
  }
  lines.push(
    `- protobuf / JSON through the monitor per round: wall ${range(protoOverJson, fmtRatio)}, CPU per span ${range(protoOverJsonCpu, fmtRatio)} (goal ≥ 1x: ${verdict(protoOverJson.length > 0 && Math.min(...protoOverJson) >= 1)})`,
  );
  const d = results.dashboard;
  lines.push(
    `- the dashboard at ${fmt(d.spansPerSecond, 0)} spans/s over ${fmt(d.seconds, 1)} s (HTTP protobuf, ${d.frames} frames): the server used ${fmt(d.serverCores * 100, 1)}% of a core${d.mainCores !== undefined ? ` (its main thread ${fmt(d.mainCores * 100, 1)}%)` : ''}, the dashboard ${fmt(d.dashboardCores * 100, 1)}% of a core, ${fmt(d.dashboardShare * 100, 1)}% of the server's CPU time (building views: ${fmt(d.viewShare * 100, 1)}% of the dashboard's)${d.dashboardSampledCores !== undefined ? `; read as sampled wall time, as before: ${fmt(d.dashboardSampledCores * 100, 1)}% of a core` : ''}`,
    '',
    markdownTable(
      ['in one process, same bodies, no network', 'spans/s', 'CPU µs/span'],
      results.inProcess.map((r) => [
        IN_PROCESS_LABELS[r.what],
        fmt(r.spansPerSecond, 0),
        fmt(r.cpuUsPerSpan, 1),
      ]),
    ),
    '',
    markdownTable(['data time', 'spans', 'heap after GC', 'RSS', 'traces open'], results.memory.map((m) => [`${m.dataMinutes} min`, m.spans.toLocaleString('en-US'), `${fmt(m.heapMiB, 0)} MiB`, `${fmt(m.rssMiB, 0)} MiB`, String(m.tracesOpen)])),
  );
  return lines.join('\n');
}

if (process.argv[1] === SELF) {
  const [, , mode, ...args] = process.argv;
  if (mode === '--load') {
    await runLoad(args[0]!, args[1] as Protocol, args[2]!, Number(args[3] ?? 0));
    process.exit(0);
  } else if (mode === '--serve') {
    await serve(args[0] as Protocol, args[1] as Server, Number(args[2]), args[3] === 'dashboard', args[4] === '-' ? undefined : args[4]);
    process.exit(0);
  } else if (mode === '--bodies') {
    say(await writeBodyFiles(args[0]!));
    process.exit(0);
  } else if (mode === '--in-process') {
    say({ rows: await measureInProcess(args[0]!, args[1]!) });
    process.exit(0);
  } else if (mode === '--json') {
    // An object, as runTsChild expects of a child's last line.
    say(args[0] === 'memory' ? { rows: await measureMemoryAsync(await templateTraces()) } : await runThroughput());
    process.exit(0);
  } else {
    console.log(formatReceiverResults(await runReceiverBench()));
    process.exit(0);
  }
}
