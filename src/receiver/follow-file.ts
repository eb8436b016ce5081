/**
 * `baton watch --follow <file>`: tails a growing OTLP/JSON Lines file, the
 * layout the OpenTelemetry Collector's file exporter writes (one
 * ExportTraceServiceRequest per line), like `tail -F`: it waits for a file that
 * does not exist yet, reads what is there, then each complete line as it is
 * appended, and starts over when the file is truncated or replaced (rotation).
 * A line still being written is held until its newline arrives. A bad line is
 * reported with its file and line number, and reading goes on.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { TraceInputError } from '../ingest/errors.js';
import type { SpanRecord } from '../model/span-record.js';
import { jsonEncodingOf } from '../ingest/encodings/index.js';

/** Options of {@link followJsonLinesFile}. */
export interface FollowOptions {
  /** How often the file is looked at. Default 200 ms. */
  readonly pollMs?: number;
  /** Largest line held while waiting for its newline. Default 64 MiB (a line is one export request). */
  readonly maxLineBytes?: number;
  /** Told of each bad line, and of the file coming and going. */
  readonly onError?: (error: TraceInputError) => void;
  /** Told of what the follower is doing (`waiting for runs.jsonl`, `runs.jsonl was truncated: reading from the start`). */
  readonly onNotice?: (notice: string) => void;
}

/** A running follower. */
export interface FileFollower {
  /** Stops at the next poll; resolves once the file is closed (after delivering every complete line read). */
  stop(): Promise<void>;
  /** Resolves when it stopped (by stop(), or a fatal error). */
  readonly done: Promise<void>;
}

const READ_BYTES = 1024 * 1024;

/**
 * Follows `path` (shown as `display` in messages and span sources), handing
 * each line's spans to `deliver`, which may return a promise to slow reading down.
 */
export function followJsonLinesFile(
  path: string,
  display: string,
  deliver: (spans: SpanRecord[]) => void | Promise<void>,
  options: FollowOptions = {},
): FileFollower {
  const pollMs = options.pollMs ?? 200;
  const maxLine = options.maxLineBytes ?? 64 * 1024 * 1024;
  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function run(): Promise<void> {
    let handle: FileHandle | undefined;
    let inode = -1;
    let position = 0;
    let line = 1;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let skipping = false;
    let waitingSaid = false;
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    try {
      while (true) {
        if (!handle) {
          try {
            handle = await open(path, 'r');
            inode = (await handle.stat()).ino;
            position = 0;
            line = 1;
            pending = [];
            pendingBytes = 0;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
            if (!waitingSaid) options.onNotice?.(`waiting for ${display} to appear`);
            waitingSaid = true;
            if (stopping) return;
            await sleep();
            continue;
          }
        }
        const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, position);
        if (bytesRead > 0) {
          if (position === 0 && buffer[0] === 0x1f && buffer[1] === 0x8b) {
            throw new TraceInputError(display, 'is gzip-compressed: a growing gzip file cannot be followed (audit it when complete, or write plain JSON Lines)');
          }
          position += bytesRead;
          let start = 0;
          for (let i = 0; i < bytesRead; i++) {
            if (buffer[i] !== 0x0a) continue;
            const piece = buffer.subarray(start, i);
            start = i + 1;
            if (!skipping) {
              const text = pendingBytes > 0 ? Buffer.concat([...pending, piece]).toString('utf8') : piece.toString('utf8');
              await readLine(text, line);
            }
            skipping = false;
            pending = [];
            pendingBytes = 0;
            line++;
          }
          if (start < bytesRead && !skipping) {
            // A line still being written: keep a copy (the buffer is reused) until its newline comes.
            pending.push(Buffer.from(buffer.subarray(start, bytesRead)));
            pendingBytes += bytesRead - start;
            if (pendingBytes > maxLine) {
              options.onError?.(new TraceInputError(`${display}:${line}`, `line is longer than ${maxLine} bytes: skipped`));
              skipping = true;
              pending = [];
              pendingBytes = 0;
            }
          }
          if (bytesRead === READ_BYTES) continue;
        }
        if (stopping) return;
        await sleep();
        // Rotated (a new file under the name) or truncated: start over, and say so.
        let info;
        try {
          info = await stat(path);
        } catch {
          info = undefined;
        }
        if (!info || info.ino !== inode || info.size < position) {
          options.onNotice?.(`${display} was ${!info ? 'removed' : info.ino !== inode ? 'replaced' : 'truncated'}: reading it from the start`);
          await handle.close();
          handle = undefined;
          waitingSaid = !info;
        }
      }
    } finally {
      await handle?.close();
    }
  }

  async function readLine(text: string, line: number): Promise<void> {
    if (text.trim() === '') return;
    const source = `${display}:${line}`;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      options.onError?.(new TraceInputError(source, `not JSON: ${(error as Error).message}`));
      return;
    }
    let spans: SpanRecord[];
    try {
      spans = jsonEncodingOf(value).toSpans(value, source);
    } catch (error) {
      if (!(error instanceof TraceInputError)) throw error;
      options.onError?.(error);
      return;
    }
    if (spans.length > 0) await deliver(spans);
  }

  const done = run().catch((error: unknown) => {
    options.onError?.(error instanceof TraceInputError ? error : new TraceInputError(display, (error as Error).message));
  });
  return {
    done,
    stop: async () => {
      stopping = true;
      wake?.();
      await done;
    },
  };
}
