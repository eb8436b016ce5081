/**
 * `baton watch <files>`: replays recorded traces as if they were arriving, at
 * their original pace or `speed` times faster, so a recorded run can be watched
 * the way it happened. Each span is delivered when the replayed clock reaches its
 * end time (exporters send a span when it ends); the replayed clock is what the
 * live session analyzes against, so budgets run out and groups close exactly as
 * they would have. Quiet gaps longer than `maxGapMs` of trace time are skipped
 * (a file with two runs an hour apart does not leave you waiting an hour).
 */
import { TraceInputError } from '../ingest/errors.js';
import type { SpanRecord } from '../model/span-record.js';
import { readTraceInputs } from '../ingest/read-trace-inputs.js';

/** Options of {@link replayTraceFiles}. */
export interface ReplayOptions {
  /** Replayed milliseconds per wall millisecond; Infinity delivers as fast as analysis takes it. Default 1. */
  readonly speed?: number;
  /** Longest quiet stretch of trace time replayed as is. Default 10 000. */
  readonly maxGapMs?: number;
  readonly cwd?: string;
  readonly onError?: (error: TraceInputError) => void;
  /** Stops the replay early. */
  readonly signal?: AbortSignal;
  /** Wall clock; injectable for tests. Default performance.now. */
  readonly wallMs?: () => number;
}

/** The replayed time, shared with the live session as its clock. */
export class ReplayClock {
  #originMs = Number.NaN;
  #wallStartMs = 0;
  #latestMs = Number.NEGATIVE_INFINITY;
  constructor(
    readonly speed: number,
    readonly wallMs: () => number,
  ) {}

  /** Starts the clock at trace time `ms` (the first span's end). */
  start(ms: number): void {
    this.#originMs = ms;
    this.#wallStartMs = this.wallMs();
  }

  get started(): boolean {
    return !Number.isNaN(this.#originMs);
  }

  /** Jumps forward by `ms` of trace time (a skipped gap). */
  skip(ms: number): void {
    this.#originMs += ms;
  }

  /** Notes a delivered span's end (at infinite speed, the clock is the latest one). */
  delivered(endMs: number): void {
    if (endMs > this.#latestMs) this.#latestMs = endMs;
  }

  /** The replayed time now (ms since the epoch); 0 before the first span. */
  now(): number {
    if (!this.started) return 0;
    if (!Number.isFinite(this.speed)) return Math.max(this.#originMs, this.#latestMs);
    return this.#originMs + (this.wallMs() - this.#wallStartMs) * this.speed;
  }
}

/**
 * Reads `inputs` and hands their spans to `deliver` at the replayed pace; the
 * returned clock is the replayed time. Resolves when every span was delivered.
 */
export function replayTraceFiles(
  inputs: readonly string[],
  deliver: (spans: SpanRecord[]) => void | Promise<void>,
  options: ReplayOptions = {},
): { clock: ReplayClock; done: Promise<void> } {
  const speed = options.speed ?? 1;
  const maxGapMs = options.maxGapMs ?? 10_000;
  const clock = new ReplayClock(speed, options.wallMs ?? (() => performance.now()));
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  async function run(): Promise<void> {
    const batches = readTraceInputs(inputs, { cwd: options.cwd, onError: options.onError ?? (() => {}) });
    for await (const batch of batches) {
      if (options.signal?.aborted) return;
      const spans = batch.slice().sort((a, b) => a.endMs - b.endMs);
      let i = 0;
      while (i < spans.length) {
        if (options.signal?.aborted) return;
        if (!clock.started) clock.start(spans[0]!.endMs);
        const now = clock.now();
        let j = i;
        while (j < spans.length && spans[j]!.endMs <= now) j++;
        if (j === i && !Number.isFinite(speed)) j = nextSecond(spans, i);
        if (j > i) {
          const due = spans.slice(i, j);
          for (const span of due) clock.delivered(span.endMs);
          await deliver(due);
          i = j;
          continue;
        }
        const aheadMs = spans[i]!.endMs - now;
        if (aheadMs > maxGapMs) {
          clock.skip(aheadMs - maxGapMs);
          continue;
        }
        // Wake at the next span's time, at least every 100 ms so delivery stays smooth.
        await wait(Math.max(1, Math.min(100, aheadMs / speed)));
      }
    }
  }

  return { clock, done: run() };
}

/** At infinite speed, spans go in one-second slices of trace time, so analysis still sees time pass. */
function nextSecond(spans: readonly SpanRecord[], from: number): number {
  const until = spans[from]!.endMs + 1000;
  let j = from + 1;
  while (j < spans.length && spans[j]!.endMs <= until) j++;
  return j;
}
