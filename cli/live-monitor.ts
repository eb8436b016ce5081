/**
 * The live monitor shared by `baton watch` and `baton demo`: a LiveSession fed by
 * some source (receivers, a followed file, a replay, the demo's own pipeline)
 * shown as the Ink dashboard on a terminal, or as plain lines otherwise (a
 * status line every period on stderr, each finding once on stdout as it
 * happens), until q, Ctrl-C, SIGTERM or the end of the input.
 *
 * One shutdown path for all of them: `beforeClose` (the demo stops its pipeline
 * and flushes its exporter, so the spans of the task in progress still arrive),
 * then the session refuses new spans, the sources stop, what is queued and open
 * is analyzed and the recording is flushed. Ink and React are imported here,
 * lazily, only when a terminal is drawn.
 */
import type { LiveViewSource } from '../dashboards/use-live-graph.js';
import type { OtlpJsonRecorder } from '../src/receiver/otlp-json-recorder.js';
import type { CliIo } from './io.js';

/** What the monitor shows and shuts down: a LiveSession, or the one whose analysis runs on a worker thread. */
export interface MonitoredSession extends LiveViewSource {
  /** Refuses new spans from now on. */
  close(): void;
  /** Analyzes what is queued and open; resolves with the final report. */
  finish(): Promise<unknown>;
}

/** What {@link runLiveMonitor} runs. */
export interface LiveMonitorOptions {
  /** The command, for the plain lines: `baton watch`. */
  readonly command: string;
  readonly session: MonitoredSession;
  readonly io: CliIo;
  /** Draw the dashboard (both ends are a terminal and plain output was not asked for). */
  readonly interactive: boolean;
  /** The first plain line after the command's name: what is watched. */
  readonly banner: string;
  /** Between plain status lines. */
  readonly intervalMs: number;
  /** Settles when the input is over (a replay's end, the demo's last task); a rejection ends the monitor with that error. */
  readonly inputEnded?: Promise<void>;
  /** The end of the input ends the monitor on a terminal too (it always does without one). Default false: the last frame stays until q. */
  readonly endsWithInput?: boolean;
  /** Run once the monitor is quitting, before the session refuses spans. */
  readonly beforeClose?: () => Promise<void>;
  /** Stops the sources (receivers, follower, replay); run after beforeClose. */
  readonly stops: readonly (() => Promise<void>)[];
  /** The recording (`--record`), flushed and closed last; `label` names it in an error: `--record live.jsonl`. */
  readonly recorder?: { readonly recorder: OtlpJsonRecorder; readonly label: string };
}

/**
 * Shows the session until the monitor ends, then shuts everything down in order.
 * Resolves once the session is finished (its final report ready, the recording
 * on disk); rejects with the input's failure or a recording's write error.
 */
export async function runLiveMonitor(options: LiveMonitorOptions): Promise<void> {
  const { session, io, command } = options;
  let quit!: () => void;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  // The first signal shuts down in order (flushing --record); a second one, while that waits on
  // something stuck, exits at once, as a second Ctrl-C does in Vitest or Docker.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals === 1) return quit();
    io.stderr.write(`${command}: ${signal} again: exiting without waiting for the shutdown to finish\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failure: unknown;
  void options.inputEnded?.then(
    () => {
      if (options.endsWithInput || !options.interactive) quit();
    },
    (error: unknown) => {
      failure = error;
      quit();
    },
  );
  try {
    if (options.interactive) {
      // Ink draws only the last frame when $CI is set (is-in-ci, read once as Ink loads). Both ends
      // are a terminal here and the live view was asked for, so a CI variable left in the shell
      // (or a CI job driving a terminal) must not blank it.
      if (io.env.CI !== undefined || io.env.CONTINUOUS_INTEGRATION !== undefined) {
        delete process.env.CI;
        delete process.env.CONTINUOUS_INTEGRATION;
      }
      // React picks its build from NODE_ENV as it loads: unset, it is the development build, which
      // checks and logs every render (a dashboard frame cost a third more CPU with it; docs/benchmarks.md).
      // A NODE_ENV the user set is kept.
      process.env.NODE_ENV ??= 'production';
      const [{ render }, React, { Watch }] = await Promise.all([import('ink'), import('react'), import('../dashboards/Watch.js')]);
      const instance = render(React.createElement(Watch, { source: session, onQuit: quit }), {
        stdout: io.stdout as NodeJS.WriteStream,
        stdin: io.stdin as NodeJS.ReadStream,
        exitOnCtrlC: false,
        patchConsole: false,
        maxFps: 10,
      });
      await quitting;
      instance.unmount();
      await instance.waitUntilExit().catch(() => {});
    } else {
      io.stderr.write(`${command}: ${options.banner}\n`);
      io.stderr.write(`${command}: not a terminal: a status line every ${options.intervalMs / 1000} s, findings as they happen, a summary on exit\n`);
      const { statusLine, newFindingLines } = await import('../dashboards/plain-summary.js');
      let lastId = 0;
      const flushFindings = () => {
        const { lines, lastId: id } = newFindingLines(session.view(), lastId);
        lastId = id;
        for (const line of lines) io.stdout.write(`${line}\n`);
      };
      const findingsTimer = setInterval(flushFindings, 500);
      const statusTimer = setInterval(() => io.stderr.write(`${statusLine(session.view())}\n`), options.intervalMs);
      findingsTimer.unref();
      statusTimer.unref();
      // Keeps the process alive until quit (receivers' sockets do too, a replay's timers may not).
      const keepAlive = setInterval(() => {}, 1 << 30);
      await quitting;
      clearInterval(keepAlive);
      clearInterval(findingsTimer);
      clearInterval(statusTimer);
      // Not `await ended`: when a signal quit, the input may go on for its whole duration (a
      // replay, the demo's pipeline); beforeClose and the stops below end it. When the input's end
      // quit, its handler has already run.
      flushFindings();
      if (failure === undefined) io.stderr.write(`${statusLine(session.view())}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      await options.beforeClose?.();
    } catch (error) {
      failure ??= error;
    }
    session.close();
    for (const stop of options.stops) await stop();
    // A failed analysis still lets the recording below be flushed.
    await session.finish().catch((error: unknown) => {
      failure ??= error;
    });
    if (options.recorder) {
      try {
        await options.recorder.recorder.close();
      } catch (error) {
        io.stderr.write(`baton: ${options.recorder.label}: write failed: ${(error as Error).message}\n`);
        failure ??= error;
      }
    }
  }
  if (failure !== undefined) throw failure;
}
