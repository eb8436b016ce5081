/**
 * `baton watch`'s live session with its analysis on a worker thread
 * (dashboards/analysis-worker.ts), so receiving, answering and drawing on the
 * main thread never wait behind decoding and auditing, and the two run on two
 * cores when there are.
 *
 * The receivers hand each request body over still encoded (its memory
 * transferred to the worker: no copy, no structured clone of span objects) and
 * answer when the worker's verdict comes back: 200 with partial success, 400 /
 * INVALID_ARGUMENT for a body that does not decode (a cheap framing check here
 * could not tell: a body can frame well and still not decode, and partial
 * success needs the decoder's counts), 429 / RESOURCE_EXHAUSTED when the
 * worker's queue is full. The reply waits a decode (milliseconds), but no
 * receiver thread does the decoding.
 *
 * The worker decodes a body only when its analysis can take it (bodies wait encoded
 * in its message port), so the backlog is bounded here, by the time it would take
 * to clear: bodies handed over but not yet answered are refused at once, their
 * spans counted (from the protobuf framing, or JSON.parse) as throttled, once the
 * worker's recent pace says they would wait more than `maxPendingMs`, or past
 * `maxPendingBytes` in any case. The time bound is what exporters need: one waits
 * 10 s for its answer by default, then sends the same spans again, so a body
 * answered later than that would be taken twice. The recording
 * (`--record`) is written here, from the line the worker serialized for each
 * accepted batch, so it stays in acceptance order and is flushed by the main
 * thread's shutdown. Views, the report (for `--metrics-port`) and the analysis
 * updates arrive at redraw rate.
 */
import { createRequire } from 'node:module';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AuditUpdate } from '../src/analyze/audit.js';
import type { AuditReport } from '../src/model/audit-report.js';
import type { BodyIntake, BodyVerdict, RequestOrigin } from '../src/receiver/intake.js';
import { countRequestSpans } from '../src/receiver/otlp-wire.js';
import type { LiveCounters, LiveSessionOptions } from './live-session.js';
import type { LiveView } from './view-model.js';

/** The live session's options that cross to the worker (no functions, no clock: the worker's is wall time). */
export type WorkerSessionOptions = Omit<LiveSessionOptions, 'clock' | 'onAccepted' | 'onAnalysis' | 'sources'>;

/** Options of {@link ThreadedLiveSession.start}. */
export interface ThreadedLiveSessionOptions extends WorkerSessionOptions {
  /** What the header names as the sources; read at each view, so receivers started later can be added. */
  readonly sources?: readonly string[];
  /** Called with each accepted batch as one OTLP/JSON line (the --record writer), in acceptance order. */
  readonly onRecord?: (line: string, spans: number) => void;
  /** Called with each result of the analysis, at redraw rate (the --metrics-port instruments). */
  readonly onAnalysis?: (update: AuditUpdate) => void;
  /** Keep the report (`report()`) fresh at redraw rate, for /metrics scrapes. Default false: only the final one. */
  readonly reports?: boolean;
  /** Bytes handed to the worker and not yet answered before bodies are refused here. Default 64 MiB. */
  readonly maxPendingBytes?: number;
  /**
   * Longest wait, at the worker's recent pace, of a body handed over behind those not yet
   * answered, before bodies are refused here (a body is always taken when none is waiting).
   * Default 2 000 ms: well inside an exporter's 10 s timeout.
   */
  readonly maxPendingMs?: number;
  /** How often the worker sends a view when something changed. Default 250 ms (the dashboard draws at most every 500). */
  readonly viewIntervalMs?: number;
}

/** What the worker is started with (workerData). */
export interface AnalysisWorkerData {
  readonly session: WorkerSessionOptions;
  readonly record: boolean;
  readonly analysisUpdates: boolean;
  readonly reports: boolean;
  readonly viewIntervalMs: number;
}

/** Main thread → worker. */
export type ToWorker =
  | { readonly type: 'body'; readonly id: number; readonly bytes: Uint8Array; readonly origin: RequestOrigin; readonly source: string }
  | { readonly type: 'refused'; readonly reason: string }
  | { readonly type: 'notify'; readonly notice: string }
  | { readonly type: 'close' }
  | { readonly type: 'finish' };

/** Worker → main thread. */
export type ToMain =
  | { readonly type: 'verdict'; readonly id: number; readonly verdict: BodyVerdict; readonly record: string | undefined }
  | { readonly type: 'view'; readonly view: LiveView; readonly report: AuditReport | undefined; readonly updates: AuditUpdate[] | undefined }
  | { readonly type: 'finished'; readonly view: LiveView; readonly report: AuditReport; readonly updates: AuditUpdate[] | undefined };

interface Pending {
  readonly resolve: (verdict: BodyVerdict) => void;
  readonly bytes: number;
  /** When it was posted to the worker (performance.now()). */
  readonly postedMs: number;
}

/**
 * How to start the worker: its module next to this one, `.js` once built; from source (tsx,
 * vitest) a thread does not inherit its parent's TypeScript loader (module hooks are per thread,
 * and Node 20 checks a worker's entry before --import hooks run), so a small bootstrap registers
 * tsx's in the thread first, then imports the `.ts` module.
 */
function newAnalysisWorker(data: AnalysisWorkerData): Worker {
  const options = { workerData: data };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./analysis-worker.js', import.meta.url), options);
  const entry = new URL('./analysis-worker.ts', import.meta.url).href;
  // tsx/esm/api's `import` target, as its package.json exports name it (require.resolve would give the CommonJS one).
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, ...options });
}

/** A live session whose analysis runs on a worker thread. Implements the receivers' body intake. */
export class ThreadedLiveSession implements BodyIntake {
  readonly #options: ThreadedLiveSessionOptions;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #pendingBytes = 0;
  /** The worker's pace, in body bytes answered per ms while it had more waiting (a moving average); 0 until known. */
  #bytesPerMs = 0;
  /** When the latest verdict came, and whether bodies were still waiting then (so the next one's time was all work). */
  #lastSettledMs = 0;
  #busyAfterLast = false;
  #view: LiveView;
  #report: AuditReport | undefined;
  #finalReport: AuditReport | undefined;
  #version = 0;
  /** Spans refused here (past maxPendingBytes, or after the worker stopped), on top of the worker's count. */
  #throttled = 0;
  #recording: { path: string; spans: number } | null = null;
  #failure: Error | undefined;
  #lastUtilization: EventLoopUtilization | undefined;
  #finishing: { resolve: (report: AuditReport) => void; reject: (error: Error) => void } | undefined;
  #finished: Promise<AuditReport> | undefined;
  readonly #listeners = new Set<() => void>();

  private constructor(options: ThreadedLiveSessionOptions, worker: Worker, first: LiveView) {
    this.#options = options;
    this.#worker = worker;
    this.#view = first;
    worker.on('message', (message: ToMain) => this.#onMessage(message));
    worker.on('error', (error: Error) => this.#fail(error));
    worker.on('exit', (code) => {
      if (this.#finalReport === undefined) this.#fail(new Error(`the analysis thread exited with code ${code}`));
    });
    // The thread never holds the process open by itself: receivers and the dashboard do, and finish() holds it while it waits.
    worker.unref();
  }

  /** Starts the worker; resolves once it has sent its first view (rejects if it cannot start). */
  static async start(options: ThreadedLiveSessionOptions): Promise<ThreadedLiveSession> {
    const { sources: _sources, onRecord, onAnalysis, reports, maxPendingBytes: _max, maxPendingMs: _maxMs, viewIntervalMs, ...session } = options;
    const data: AnalysisWorkerData = {
      session,
      record: onRecord !== undefined,
      analysisUpdates: onAnalysis !== undefined,
      reports: reports === true,
      viewIntervalMs: viewIntervalMs ?? 250,
    };
    const worker = newAnalysisWorker(data);
    const first = await new Promise<ToMain>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      const onExit = (code: number) => reject(new Error(`the analysis thread exited with code ${code} while starting`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: ToMain) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(message);
      });
    });
    if (first.type !== 'view') throw new Error(`the analysis thread sent ${first.type} before its first view`);
    const threaded = new ThreadedLiveSession(options, worker, first.view);
    threaded.#report = first.report;
    return threaded;
  }

  // ---- intake (called by the receivers) ---------------------------------------------------------

  offerBody(body: Buffer, encoding: RequestOrigin['encoding'], origin: RequestOrigin, source: string): Promise<BodyVerdict> {
    const maxPending = this.#options.maxPendingBytes ?? 64 * 1024 * 1024;
    const waited = this.#pendingBytes + body.length;
    const waitMs = this.#bytesPerMs > 0 ? waited / this.#bytesPerMs : 0;
    if (
      this.#failure !== undefined ||
      (this.#pendingBytes > 0 && (waited > maxPending || waitMs > (this.#options.maxPendingMs ?? 2_000)))
    ) {
      // The worker is behind (or gone): refused here, its spans counted all the same.
      this.#throttled += countRequestSpans(body, encoding);
      this.#changed();
      return Promise.resolve(
        this.#failure !== undefined
          ? { status: 'unavailable', retryAfterMs: 5_000 }
          : { status: 'busy', retryAfterMs: Math.min(30_000, Math.max(1_000, Math.ceil(waitMs / 1_000) * 1_000)) },
      );
    }
    // A buffer that owns all its memory is moved; a slice (Node's pool of small buffers, another's
    // frame) is copied first, so nothing else loses its bytes.
    const bytes = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : new Uint8Array(body);
    const id = ++this.#nextId;
    this.#pendingBytes += bytes.byteLength;
    return new Promise<BodyVerdict>((resolve) => {
      this.#pending.set(id, { resolve, bytes: bytes.byteLength, postedMs: performance.now() });
      // While a verdict is awaited the thread holds the process open, as a socket would.
      if (this.#pending.size === 1) this.#worker.ref();
      this.#post({ type: 'body', id, bytes, origin, source }, [bytes.buffer as ArrayBuffer]);
    });
  }

  requestRefused(reason: string): void {
    this.#post({ type: 'refused', reason });
  }

  // ---- what the command calls -----------------------------------------------------------------

  /** Names the --record file; `recorded` is called for each batch written. */
  setRecording(path: string): void {
    this.#recording = { path, spans: 0 };
  }

  recorded(spans: number): void {
    if (this.#recording) this.#recording.spans += spans;
  }

  /** Shows a one-line problem in the header (and the plain output). */
  notify(notice: string): void {
    this.#post({ type: 'notify', notice });
  }

  /** Refuses new spans ("unavailable, retry") from now on: for shutting down. */
  close(): void {
    this.#post({ type: 'close' });
  }

  /**
   * Ends the input: the worker analyzes its queue and every open group and sends the final
   * report; the thread then ends. Call it after the receivers stopped (their last bodies answered).
   * Rejects when the worker failed.
   */
  finish(): Promise<AuditReport> {
    if (this.#finished) return this.#finished;
    this.#finished = new Promise<AuditReport>((resolve, reject) => {
      if (this.#failure !== undefined) return reject(this.#failure);
      this.#finishing = { resolve, reject };
      this.#worker.ref();
      this.#post({ type: 'finish' });
    });
    return this.#finished;
  }

  /** True once finish() has its report. */
  get finished(): boolean {
    return this.#finalReport !== undefined;
  }

  // ---- the view --------------------------------------------------------------------------------

  /** Called whenever a view arrived; returns an unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Moves each time a view arrives (or a count kept here changes). */
  get version(): number {
    return this.#version;
  }

  /** The latest view from the worker, with what is known here: sources, recording, spans refused here. */
  view(): LiveView {
    const view = this.#view;
    const notice = this.#failure !== undefined ? `the analysis stopped: ${this.#failure.message}` : view.notice;
    return {
      ...view,
      sources: this.#options.sources ?? view.sources,
      counters: this.#throttled === 0 ? view.counters : { ...view.counters, throttled: view.counters.throttled + this.#throttled },
      recording: this.#recording ? { ...this.#recording } : null,
      notice,
    };
  }

  /** The span and trace counters, as of the latest view. */
  counters(): LiveCounters {
    const c = this.view().counters;
    return {
      accepted: c.accepted,
      rejected: c.rejected,
      throttled: c.throttled,
      agedOut: c.agedOut,
      badRequests: c.badRequests,
      tracesOpen: c.tracesOpen,
      tracesAnalyzed: c.tracesAnalyzed,
    };
  }

  /** The final report once finished; before, the latest snapshot (kept fresh with `reports`; else the first one). */
  report(): AuditReport {
    const report = this.#finalReport ?? this.#report;
    if (report === undefined) throw new Error('ThreadedLiveSession: no report yet (start with reports: true for live ones)');
    return report;
  }

  /**
   * How busy the analysis thread's event loop was since it started (or since `since`), as
   * node:perf_hooks measures it: 1 means it never waited for a body, the bound of the monitor.
   */
  analysisUtilization(since?: EventLoopUtilization): EventLoopUtilization {
    // Once the thread has ended, its last reading (taken as it finished) stands for now.
    const now = this.#lastUtilization ?? this.#worker.performance.eventLoopUtilization();
    if (since === undefined) return now;
    const idle = now.idle - since.idle;
    const active = now.active - since.active;
    return { idle, active, utilization: idle + active > 0 ? active / (idle + active) : 0 };
  }

  // ---- messages ----------------------------------------------------------------------------------

  #post(message: ToWorker, transfer?: ArrayBuffer[]): void {
    if (this.#failure !== undefined) {
      if (message.type === 'body') this.#settle(message.id, { status: 'unavailable', retryAfterMs: 5_000 });
      return;
    }
    this.#worker.postMessage(message, transfer);
  }

  #settle(id: number, verdict: BodyVerdict): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    this.#pendingBytes -= pending.bytes;
    const now = performance.now();
    if (this.#busyAfterLast && now > this.#lastSettledMs) {
      // The worker went from the previous body straight to this one: its time was this body's work.
      const pace = pending.bytes / (now - this.#lastSettledMs);
      this.#bytesPerMs = this.#bytesPerMs === 0 ? pace : this.#bytesPerMs * 0.8 + pace * 0.2;
    } else if (now > pending.postedMs) {
      // A body on its own took at most the time since it was posted: a pace at least this fast.
      // Without it, a pace measured low once (a cold worker, a small body's fixed costs) would
      // refuse every second body for good, and with one body at a time it is never measured again.
      const atLeast = pending.bytes / (now - pending.postedMs);
      // Only ever raised: not measured yet (0) means nothing is refused for time.
      if (this.#bytesPerMs > 0 && atLeast > this.#bytesPerMs) this.#bytesPerMs = (this.#bytesPerMs + atLeast) / 2;
    }
    this.#lastSettledMs = now;
    this.#busyAfterLast = this.#pending.size > 0;
    if (this.#pending.size === 0 && this.#finishing === undefined) this.#worker.unref();
    pending.resolve(verdict);
  }

  #onMessage(message: ToMain): void {
    switch (message.type) {
      case 'verdict':
        // Recorded before the reply goes out: a span an exporter was told is taken is in the file.
        if (message.record !== undefined && message.verdict.status === 'accepted') {
          this.#options.onRecord?.(message.record, message.verdict.spans - message.verdict.rejected);
        }
        this.#settle(message.id, message.verdict);
        return;
      case 'view':
        this.#view = message.view;
        if (message.report) this.#report = message.report;
        this.#deliver(message.updates);
        this.#changed();
        return;
      case 'finished':
        this.#view = message.view;
        this.#finalReport = message.report;
        this.#deliver(message.updates);
        this.#changed();
        this.#finishing?.resolve(message.report);
        this.#finishing = undefined;
        this.#lastUtilization = this.#worker.performance.eventLoopUtilization();
        void this.#worker.terminate();
        return;
    }
  }

  #deliver(updates: readonly AuditUpdate[] | undefined): void {
    if (updates === undefined || !this.#options.onAnalysis) return;
    for (let i = 0; i < updates.length; i++) this.#options.onAnalysis(updates[i]!);
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    // Bodies handed over and never answered: "unavailable, retry" (their spans were not taken).
    for (const id of [...this.#pending.keys()]) this.#settle(id, { status: 'unavailable', retryAfterMs: 5_000 });
    this.#finishing?.reject(error);
    this.#finishing = undefined;
    this.#changed();
  }

  #changed(): void {
    this.#version++;
    for (const listener of this.#listeners) listener();
  }
}
