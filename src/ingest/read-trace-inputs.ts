/**
 * Reads trace inputs (files, directories, stdin) as batches of spans, streaming.
 *
 * Encodings are told from content, not trusted from names: gzip and zstd by
 * their magic bytes (and the Collector file exporter's zstd records, each a
 * length-prefixed frame), JSON by its first character (after a UTF-8 byte order mark) or by a later
 * line that is a whole request, protobuf otherwise (a name like `.pb` or `.json`
 * only decides when content cannot). JSON Lines, the Collector file exporter's
 * output, is parsed line by line, so memory is bounded by a line (`maxLineBytes`),
 * not the file; a single JSON document must fit in one V8 string and is refused
 * above `maxDocumentBytes` with a hint to use JSON Lines; compressed input is
 * refused past `maxInflateRatio` before a bomb is buffered.
 *
 * Input is untrusted (issue 8): each real file is read once however many links lead
 * to it, pipes and FIFOs are read as streams, and bad input never stops the others:
 * each problem goes to `onError` as one TraceInputError naming the file and line,
 * column or byte, and reading goes on.
 */
import { createReadStream, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TraceInputError } from './errors.js';
import type { SpanRecord } from '../model/span-record.js';
import { jsonErrorOffset, jsonErrorReason, positionOf } from './json-error-position.js';
import { jsonEncodingOf } from './encodings/index.js';
import { concatenatedJsonValues, type JsonValues, type JsonValueSpan } from './json-values.js';
import { decodeOtlpProtobuf, splitProtobufFrames } from './otlp-protobuf.js';
import { createZstdDecompress, isZstdMagic, type InflateCheck } from './zstd.js';

/** Options of {@link readTraceInputs}. */
export interface ReadTraceOptions {
  /** The stream read for the input `-`. Default: none (then `-` is an error). */
  readonly stdin?: NodeJS.ReadableStream;
  /** Receives each bad input or line; reading goes on. Default: throw the first. */
  readonly onError?: (error: TraceInputError) => void;
  /** Base of relative paths. Default: process.cwd(). */
  readonly cwd?: string;
  /** Largest single JSON document read whole. Default 400 MiB (V8 strings end near 512 MiB). */
  readonly maxDocumentBytes?: number;
  /** Largest protobuf file, read whole. Default 2 GiB. */
  readonly maxProtobufBytes?: number;
  /** Bad lines reported per file before the rest of it is skipped. Default 20. */
  readonly maxErrorsPerFile?: number;
  /**
   * Longest JSON Lines line (and longest one-line document read from a stream),
   * in bytes; a longer one is reported and the rest of its file skipped, so a line
   * that never ends cannot fill memory. Default 128 MiB (`baton audit --max-line-mib`).
   */
  readonly maxLineBytes?: number;
  /**
   * Most bytes gzip or zstd input may inflate to per compressed byte, past the first
   * 64 MiB; beyond it the input is refused as a likely decompression bomb before
   * it is buffered. Default 100 (trace JSON compresses 10–20:1; `baton audit --max-inflate-ratio`).
   */
  readonly maxInflateRatio?: number;
}

/** File names a directory is searched for. */
export const TRACE_FILE_PATTERN = /\.(json|jsonl|ndjson|pb|binpb|otlp)(\.gz|\.zst)?$/i;

/** Names that say protobuf, compressed or not. */
const PROTOBUF_NAME = /\.(pb|binpb|otlp)(\.gz|\.zst)?$/i;

/** A decompressor: what it is called in errors, and its zlib-like stream. */
interface Codec {
  readonly label: 'gzip' | 'zstd';
  /** The stream; `check` is for a decoder that inflates a whole chunk at once (see zstd.ts). */
  create(check: InflateCheck): Transform;
}
const GZIP: Codec = { label: 'gzip', create: () => createGunzip() };
const ZSTD: Codec = { label: 'zstd', create: createZstdDecompress };

const DEFAULT_MAX_DOCUMENT_BYTES = 400 * 1024 * 1024;
const DEFAULT_MAX_PROTOBUF_BYTES = 2 * 1024 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
/** Default of {@link ReadTraceOptions.maxLineBytes}. */
export const DEFAULT_MAX_LINE_BYTES = 128 * 1024 * 1024;
/** Default of {@link ReadTraceOptions.maxInflateRatio}. */
export const DEFAULT_MAX_INFLATE_RATIO = 100;
/** Inflated bytes always allowed, whatever the ratio: a small file of repetitive spans compresses far better than 100:1. */
const INFLATE_ALLOWANCE_BYTES = 64 * 1024 * 1024;

/**
 * Reads every input in order and yields its spans in batches (one batch per
 * JSON Lines chunk, JSON document or protobuf message).
 */
export async function* readTraceInputs(inputs: readonly string[], options: ReadTraceOptions = {}): AsyncGenerator<SpanRecord[]> {
  const report =
    options.onError ??
    ((error: TraceInputError) => {
      throw error;
    });
  const cwd = options.cwd ?? process.cwd();
  // Each real file once per run (device and inode), however many names and links lead to it:
  // a symlink loop in a directory listed one file 41 times, its handoff then read as retried.
  const seen = new Set<string>();
  for (const input of inputs) {
    if (input === '-') {
      if (!options.stdin) {
        report(new TraceInputError('<stdin>', 'no standard input to read'));
        continue;
      }
      yield* readTraceStream(options.stdin, '<stdin>', options, report);
      continue;
    }
    const files = await expandInput(input, cwd, seen, report);
    for (const file of files) {
      yield* readTraceFile(file.path, file.display, options, report, file.regular);
    }
  }
}

interface InputFile {
  readonly path: string;
  /** As the user would name it: the input, or input/relative-path for a directory's file. */
  readonly display: string;
  /** False for a pipe, FIFO or device: read as a stream, never re-opened. */
  readonly regular: boolean;
}

const fileKey = (info: Stats) => `${info.dev}:${info.ino}`;

async function expandInput(input: string, cwd: string, seen: Set<string>, report: (error: TraceInputError) => void): Promise<InputFile[]> {
  const path = resolve(cwd, input);
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    report(new TraceInputError(input, fileErrorReason(error)));
    return [];
  }
  if (info.isFile()) {
    if (seen.has(fileKey(info))) return [];
    seen.add(fileKey(info));
    return [{ path, display: input, regular: true }];
  }
  // `baton audit <(zcat run.jsonl.gz)` names a pipe; a FIFO or a character device reads the same way.
  if (info.isFIFO() || info.isCharacterDevice() || info.isSocket()) return [{ path, display: input, regular: false }];
  if (!info.isDirectory()) {
    report(new TraceInputError(input, 'not a file or directory'));
    return [];
  }
  const found: InputFile[] = [];
  const walk = await walkDirectory(path, info, input, seen, found);
  if (walk.error !== undefined) {
    report(new TraceInputError(input, walk.error));
    return [];
  }
  // Only when it has none at all: files already read under another name are not missing.
  if (walk.traceFiles === 0) {
    report(new TraceInputError(input, 'directory has no trace files (*.json, *.jsonl, *.ndjson, *.pb, *.binpb, each optionally .gz or .zst)'));
  }
  return found;
}

/**
 * Collects a directory's trace files, in name order, following symlinks but each
 * real directory and file once (a link back up the tree ends there); hidden
 * entries and node_modules are skipped. Iterative, so depth costs no stack.
 * Returns how many trace files it holds (read before or not), or why the top
 * directory cannot be listed.
 */
async function walkDirectory(
  root: string,
  rootInfo: Stats,
  display: string,
  seen: Set<string>,
  found: InputFile[],
): Promise<{ traceFiles: number; error?: string }> {
  const visited = new Set<string>([fileKey(rootInfo)]);
  const files: { path: string; display: string; key: string }[] = [];
  const pending: { path: string; display: string }[] = [{ path: root, display }];
  while (pending.length > 0) {
    const directory = pending.pop()!;
    let entries: string[];
    try {
      entries = await readdir(directory.path);
    } catch (error) {
      if (directory.path === root) return { traceFiles: 0, error: fileErrorReason(error) };
      continue;
    }
    for (const entry of entries) {
      if (entry.startsWith('.') || entry === 'node_modules') continue;
      const full = join(directory.path, entry);
      let info: Stats;
      try {
        info = await stat(full);
      } catch {
        // A dangling link, or vanished between listing and reading: nothing to audit there.
        continue;
      }
      const key = fileKey(info);
      if (info.isDirectory()) {
        if (visited.has(key)) continue;
        visited.add(key);
        pending.push({ path: full, display: join(directory.display, entry) });
      } else if (info.isFile() && TRACE_FILE_PATTERN.test(entry)) {
        files.push({ path: full, display: join(directory.display, entry), key });
      }
    }
  }
  files.sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
  for (const file of files) {
    if (seen.has(file.key)) continue;
    seen.add(file.key);
    found.push({ path: file.path, display: file.display, regular: true });
  }
  return { traceFiles: files.length };
}

function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** Reads one file; a problem is reported and the file is skipped. */
export async function* readTraceFile(
  path: string,
  display: string,
  options: ReadTraceOptions,
  report: (error: TraceInputError) => void,
  /** False for a pipe or FIFO: it cannot be read a second time, whole. */
  regular = true,
): AsyncGenerator<SpanRecord[]> {
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  let size = Number.POSITIVE_INFINITY;
  if (regular) {
    try {
      size = (await stat(path)).size;
    } catch {
      // The stream reports why it cannot read.
    }
  }
  // A long first line is a single document: fs.readFile decodes a file about twice as fast as chunks can be joined.
  // Read as bytes, then decoded at once: readFile with an encoding decodes chunk by chunk into a rope
  // that the first read of a character then flattens, two copies of the text where this makes one.
  const wholeText = size <= (options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES) ? () => readWholeText(path) : undefined;
  yield* readTraceStream(stream, display, options, report, wholeText);
}

async function readWholeText(path: string): Promise<string> {
  return (await readFile(path)).toString('utf8');
}

/**
 * Reads one stream of trace data, whatever its encoding; `name` is used in
 * errors and as each span's source.
 */
export async function* readTraceStream(
  stream: NodeJS.ReadableStream,
  name: string,
  options: ReadTraceOptions,
  report: (error: TraceInputError) => void,
  wholeText?: () => Promise<string>,
): AsyncGenerator<SpanRecord[]> {
  const chunks = byteChunks(stream);
  try {
    let head = await chunks.next();
    while (!head.done && head.value.length === 0) head = await chunks.next();
    // An empty input holds no spans, which is not a fault of the input: an exporter opens its file
    // before its first span (Baton's, the Collector's file exporter), so a process that traced nothing
    // leaves one. The caller sees 0 spans from it (`baton audit`: "nothing to audit" when all are empty).
    if (head.done) return;
    let rest: AsyncIterator<Buffer> = chunks;
    let first = head.value;
    const maxRatio = options.maxInflateRatio ?? DEFAULT_MAX_INFLATE_RATIO;
    // The Collector's file exporter with `compression: zstd` (and no native-compression gate) writes each
    // export as a 4-byte big-endian length and one zstd frame of a JSON or protobuf request.
    if (first.length >= 8 && isZstdMagic(first, 4)) {
      yield* readCompressedRecords(prepend(first, chunks), name, options, report);
      return;
    }
    let compressed = false;
    const codec = first[0] === 0x1f && first[1] === 0x8b ? GZIP : isZstdMagic(first) ? ZSTD : undefined;
    if (codec) {
      compressed = true;
      rest = inflate(prepend(first, chunks), name, maxRatio, codec);
      const inner = await rest.next();
      // A compressed nothing (a rotated Collector file that received nothing): no spans, as above.
      if (inner.done || inner.value.length === 0) return;
      first = inner.value;
    }
    // A UTF-8 byte order mark, as some Windows editors and tools write: not part of the JSON.
    if (first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) first = first.subarray(3);
    const body = prepend(first, rest);
    const leading = firstNonWhitespace(first);
    const looksJson = leading === 0x7b /* { */ || leading === 0x5b /* [ */ || laterLineIsRequest(first);
    if (looksJson) yield* readJson(body, name, options, report, compressed ? undefined : wholeText);
    else if (leading === -1 && !compressed && !PROTOBUF_NAME.test(name)) {
      yield* readJson(body, name, options, report, wholeText);
    } else yield* readProtobuf(body, name, options, report);
  } catch (error) {
    if (error instanceof TraceInputError) report(error);
    else report(new TraceInputError(name, streamErrorReason(error)));
  } finally {
    await chunks.return?.(undefined);
  }
}

function streamErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') return fileErrorReason(error);
  return error instanceof Error ? error.message : String(error);
}

async function* byteChunks(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}

async function* emptyChunks(): AsyncGenerator<Buffer> {
  // Nothing: the tail of a stream that was read whole.
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/**
 * Inflates gzip or zstd, refusing output beyond `maxRatio` times the compressed bytes
 * fed so far (past an allowance): a 10 MiB bomb inflates to 10 GiB, and every reader
 * downstream buffers at least a line of it.
 */
async function* inflate(source: AsyncIterator<Buffer>, name: string, maxRatio: number, codec: Codec): AsyncGenerator<Buffer> {
  const refuse = (inflated: number, fed: number): TraceInputError | undefined =>
    inflated > INFLATE_ALLOWANCE_BYTES && inflated > maxRatio * fed
      ? new TraceInputError(
          name,
          `${codec.label} data inflates more than ${maxRatio}:1 (${formatMiB(inflated)} from ${formatMiB(fed)} so far): refused as a likely decompression bomb; if it is real, raise --max-inflate-ratio`,
        )
      : undefined;
  const inflate = codec.create((inflated, fed) => {
    const refusal = refuse(inflated, fed);
    if (refusal) throw refusal;
  });
  let fedBytes = 0;
  let inflatedBytes = 0;
  const feed = (async () => {
    try {
      // Stops when the reader stops early (the stream destroyed): a destroyed stream never drains.
      for (let next = await source.next(); !next.done && !inflate.destroyed; next = await source.next()) {
        fedBytes += next.value.length;
        if (!inflate.write(next.value) && !inflate.destroyed) await drainOrClose(inflate);
      }
      if (!inflate.destroyed) inflate.end();
    } catch (error) {
      inflate.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      inflatedBytes += (chunk as Buffer).length;
      const refusal = refuse(inflatedBytes, fedBytes);
      if (refusal) throw refusal;
      yield chunk as Buffer;
    }
  } catch (error) {
    // The decompressor's own errors (zlib's Z_*, zstd's ZSTD_*; a cut zstd stream is Z_BUF_ERROR too) name
    // the codec here; the source's (a read error passed through destroy) go on as they are.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ZSTD_'))) {
      throw new TraceInputError(name, `corrupt ${codec.label} data (${(error as Error).message})`);
    }
    throw error;
  } finally {
    inflate.destroy();
    await feed;
  }
}

function drainOrClose(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      stream.off('drain', finish);
      stream.off('close', finish);
      done();
    };
    stream.on('drain', finish);
    stream.on('close', finish);
  });
}

/** Lines of the first chunk looked at by {@link laterLineIsRequest}. */
const SNIFFED_LINES = 16;

/**
 * True when a line after the first in `chunk` is a whole request: JSON Lines
 * whose first line is bad (or not JSON at all) is still JSON Lines. Protobuf bytes
 * may hold a newline and a brace (0x0a is also a field tag) but not a parsable line.
 */
function laterLineIsRequest(chunk: Buffer): boolean {
  let start = chunk.indexOf(0x0a) + 1;
  for (let seen = 0; start > 0 && seen < SNIFFED_LINES; seen++) {
    const end = chunk.indexOf(0x0a, start);
    if (end === -1) return false;
    const leading = firstNonWhitespace(chunk.subarray(start, end));
    if (leading === 0x7b) {
      try {
        if (looksLikeRequest(JSON.parse(chunk.toString('utf8', start, end)))) return true;
      } catch {
        // Not this one.
      }
    }
    start = end + 1;
  }
  return false;
}

/** The first byte that is not JSON whitespace, or -1 when there is none in `chunk`. */
function firstNonWhitespace(chunk: Buffer): number {
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]!;
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
  }
  return -1;
}

/**
 * JSON Lines when the first line is a whole JSON value (the Collector writes one
 * request per line; a one-line document is the same thing) or fails before its
 * end (a bad line, reported, and the rest read); otherwise one (pretty-printed)
 * document, read whole, and JSON Lines after all when it fails where a later line
 * is a whole request.
 */
async function* readJson(
  chunks: AsyncIterator<Buffer>,
  name: string,
  options: ReadTraceOptions,
  report: (error: TraceInputError) => void,
  wholeText?: () => Promise<string>,
  /** Set when a whole-document parse already sent this text here as JSON Lines: it must not go back. */
  linesTried = false,
): AsyncGenerator<SpanRecord[]> {
  const maxErrors = options.maxErrorsPerFile ?? 20;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  // Lines are split on the newline byte, which never occurs inside a UTF-8 sequence, and
  // each line is decoded natively once it is whole: no quadratic re-scanning or re-copying.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let lineNumber = 0;
  // Sent back from a document that turned out to be JSON Lines: its first line is a line, whatever it holds.
  let mode: 'undecided' | 'lines' = linesTried ? 'lines' : 'undecided';
  let errors = 0;
  // While undecided only blank lines can have been consumed; kept so document positions stay true.
  let leadingBlank = '';
  let batch: SpanRecord[] = [];

  const parseLine = (line: string, number: number): boolean => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      // Only a line that fails at its end can begin a multi-line document (a JSON string
      // never holds a raw newline); one that fails before is a bad JSON Lines line.
      if (mode === 'undecided' && mayBeginDocument(line, error as Error)) return false;
      mode = 'lines';
      errors++;
      report(syntaxError(`${name}:${number}`, line, error as Error, true));
      return true;
    }
    mode = 'lines';
    try {
      const spans = parseRequests(value, `${name}:${number}`);
      for (let i = 0; i < spans.length; i++) batch.push(spans[i]!);
    } catch (error) {
      if (!(error instanceof TraceInputError)) throw error;
      errors++;
      report(error);
    }
    return true;
  };
  const takeLine = (piece: Buffer, start: number, end: number): string => {
    if (carry.length === 0) return piece.toString('utf8', start, end);
    carry.push(piece.subarray(start, end));
    const line = Buffer.concat(carry, carryBytes + end - start).toString('utf8');
    carry = [];
    carryBytes = 0;
    return line;
  };

  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    const piece = next.value;
    let start = 0;
    for (let end = piece.indexOf(0x0a); end !== -1; end = piece.indexOf(0x0a, start)) {
      lineNumber++;
      const line = takeLine(piece, start, end);
      start = end + 1;
      if (isBlank(line)) {
        if (mode === 'undecided') leadingBlank += `${line}\n`;
        continue;
      }
      if (!parseLine(line, lineNumber)) {
        // The first line is not a whole value: a multi-line document.
        if (wholeText) yield* parseDocument(await wholeText(), name, options, report, linesTried);
        else yield* readDocument([Buffer.from(`${leadingBlank}${line}\n`), piece.subarray(start)], chunks, name, options, report, linesTried);
        return;
      }
      if (errors >= maxErrors) {
        report(new TraceInputError(name, `${errors} bad lines; the rest of the file was skipped`));
        if (batch.length > 0) yield batch;
        return;
      }
    }
    if (start < piece.length) {
      if (mode === 'undecided' && wholeText && leadingBlank === '' && start === 0) {
        // No line ends in the first chunk: most likely one single-line document.
        yield* parseDocument(await wholeText(), name, options, report, linesTried);
        return;
      }
      carry.push(start === 0 ? piece : piece.subarray(start));
      carryBytes += piece.length - start;
      if (carryBytes > maxLineBytes) {
        report(
          new TraceInputError(
            `${name}:${lineNumber + 1}`,
            mode === 'undecided'
              ? `a line over ${formatMiB(maxLineBytes)} read from a stream (raise --max-line-mib, or write JSON Lines: one request per line)`
              : `line over ${formatMiB(maxLineBytes)} (raise --max-line-mib); the rest of the file was skipped`,
          ),
        );
        if (batch.length > 0) yield batch;
        return;
      }
    }
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  const last = Buffer.concat(carry, carryBytes).toString('utf8');
  if (!isBlank(last)) {
    lineNumber++;
    if (mode === 'undecided') {
      // The whole input is one line without a newline: one document.
      yield* parseDocument(leadingBlank + last, name, options, report, linesTried);
      return;
    }
    parseLine(last, lineNumber);
  }
  // Still undecided here: the input held only blank lines, so no spans (as an empty input, above).
  if (batch.length > 0) yield batch;
}

/** True when JSON.parse failed at the end of `line` (past trailing whitespace): it may go on in the next line. */
function mayBeginDocument(line: string, error: Error): boolean {
  const offset = jsonErrorOffset(line, error);
  if (offset === undefined) return true;
  let end = line.length;
  while (end > 0 && isJsonWhitespace(line.charCodeAt(end - 1))) end--;
  return offset >= end;
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function documentTooLarge(name: string, maxBytes: number): TraceInputError {
  return new TraceInputError(
    name,
    `a single JSON document over ${formatMiB(maxBytes)} cannot be read whole; write JSON Lines (one request per line, as the Collector's file exporter does)`,
  );
}

/** Reads the rest of a multi-line document (after `head`, the bytes so far) and parses it whole. */
async function* readDocument(
  head: Buffer[],
  chunks: AsyncIterator<Buffer>,
  name: string,
  options: ReadTraceOptions,
  report: (error: TraceInputError) => void,
  linesTried = false,
): AsyncGenerator<SpanRecord[]> {
  const maxBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const parts = head;
  let size = head.reduce((sum, part) => sum + part.length, 0);
  for (let next = await chunks.next(); size <= maxBytes && !next.done; next = await chunks.next()) {
    size += next.value.length;
    parts.push(next.value);
  }
  if (size > maxBytes) {
    report(documentTooLarge(name, maxBytes));
    return;
  }
  yield* parseDocument(Buffer.concat(parts, size).toString('utf8'), name, options, report, linesTried);
}

async function* parseDocument(
  text: string,
  name: string,
  options: ReadTraceOptions,
  report: (error: TraceInputError) => void,
  linesTried = false,
): AsyncGenerator<SpanRecord[]> {
  // A byte order mark, when the text was read whole (the stream reader drops its bytes).
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    // Pretty-printed values one after another (the Python SDK's ConsoleSpanExporter writes each
    // span indented, then a line break): each value read on its own. One whose first value fits
    // on one line is JSON Lines, read below.
    if (/non-whitespace character after JSON/.test((error as Error).message)) {
      const found = concatenatedJsonValues(json);
      const values = found?.values;
      if (found !== undefined && values!.length > 1 && isMultiLine(json, values![0]!)) {
        const spans = parseConcatenatedValues(json, found, name, options.maxErrorsPerFile ?? 20, report);
        if (spans.length > 0) yield spans;
        return;
      }
    }
    // JSON Lines after all: a first line longer than a read chunk, or one that looked like the
    // start of a document. Only once: `{…} x` on one line is trailing data, said with its position
    // (it used to bounce between the two readers until the heap ran out).
    if (!linesTried && isJsonLines(json, error as Error)) {
      yield* readJson(prepend(Buffer.from(json), emptyChunks()), name, options, report, undefined, true);
      return;
    }
    report(syntaxError(name, json, error as Error, false));
    return;
  }
  let spans: SpanRecord[];
  try {
    spans = parseRequests(value, name);
  } catch (error) {
    if (!(error instanceof TraceInputError)) throw error;
    report(error);
    return;
  }
  // Dropped before the spans go out: this frame stays suspended while the whole batch is
  // analyzed, and the parsed tree (several times the text in objects) would be marked by every
  // full GC of the analysis for nothing (the spans hold only its strings).
  value = undefined;
  if (spans.length > 0) yield spans;
}

/** Whether a value spans lines: one that fits on its line starts JSON Lines, read line by line. */
function isMultiLine(text: string, place: JsonValueSpan): boolean {
  const newline = text.indexOf('\n', place.start);
  return newline !== -1 && newline < place.end;
}

/**
 * Each value (places in `text`) parsed and converted on its own; a bad one is reported at its
 * line and skipped, as are lines that were not JSON; past `maxErrors` the rest is skipped, said once.
 */
function parseConcatenatedValues(text: string, found: JsonValues, name: string, maxErrors: number, report: (error: TraceInputError) => void): SpanRecord[] {
  const spans: SpanRecord[] = [];
  let errors = 0;
  const tooMany = () => {
    if (errors < maxErrors) return false;
    report(new TraceInputError(name, `${errors} bad values or lines; the rest of the file was skipped`));
    return true;
  };
  const { values, skipped } = found;
  let skip = 0;
  /** Says, once per run of lines, the text that was not JSON before `line`; false once past the cap. */
  const sayNotJsonBefore = (line: number): boolean => {
    for (; skip < skipped.length && skipped[skip]!.first < line; skip++) {
      if (tooMany()) return false;
      errors++;
      report(notJson(name, skipped[skip]!));
    }
    return true;
  };
  for (const place of values) {
    if (!sayNotJsonBefore(place.line) || tooMany()) return spans;
    const source = `${name}:${place.line}`;
    const valueText = text.slice(place.start, place.end);
    let value: unknown;
    try {
      value = JSON.parse(valueText);
    } catch (error) {
      const offset = jsonErrorOffset(valueText, error as Error);
      errors++;
      if (offset === undefined) report(new TraceInputError(source, `invalid JSON: ${jsonErrorReason(error as Error)}`));
      else {
        // The value's own line and column, as places in the file.
        const { line, column } = positionOf(valueText, offset);
        const lineStart = text.lastIndexOf('\n', place.start - 1) + 1;
        const fileColumn = line === 1 ? column + (place.start - lineStart) : column;
        report(new TraceInputError(`${name}:${place.line + line - 1}:${fileColumn}`, `invalid JSON: ${jsonErrorReason(error as Error)}`));
      }
      continue;
    }
    try {
      const part = parseRequests(value, source);
      for (let k = 0; k < part.length; k++) spans.push(part[k]!);
    } catch (error) {
      if (!(error instanceof TraceInputError)) throw error;
      errors++;
      report(error);
    }
  }
  sayNotJsonBefore(Number.POSITIVE_INFINITY);
  return spans;
}

function notJson(name: string, { first, last }: { readonly first: number; readonly last: number }): TraceInputError {
  return new TraceInputError(`${name}:${first}`, `${last === first ? 'a line' : `${last - first + 1} lines`} that ${last === first ? 'is' : 'are'} not JSON (not a span): skipped`);
}

/**
 * True when `value` is a whole request on its own (in an encoding the reader knows, or
 * OTLP of another signal): what a JSON Lines line holds, and a line inside a
 * pretty-printed document (`{}`, `"key": 1,`) almost never does.
 */
function looksLikeRequest(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if ('resourceSpans' in value || 'resourceMetrics' in value || 'resourceLogs' in value) return true;
  return jsonEncodingOf(value).recognizes(value);
}

/**
 * True when a document that failed to parse is JSON Lines: it has more than one line
 * and fails where a later line holds a whole request (a value after the first, or a
 * line break inside an unfinished first line); a pretty document with a missing
 * comma stays one document with one error.
 */
function isJsonLines(text: string, error: Error): boolean {
  const newline = text.indexOf('\n');
  if (newline === -1) return false;
  if (/non-whitespace character after JSON/.test(error.message)) return true;
  const offset = jsonErrorOffset(text, error);
  if (offset === undefined || offset <= newline) return false;
  // The line the error is on, and the next one: one of them starts a value of its own.
  let start = text.lastIndexOf('\n', offset - 1) + 1;
  for (let tries = 0; tries < 2 && start > 0 && start < text.length; tries++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    try {
      if (looksLikeRequest(JSON.parse(text.slice(start, end)))) return true;
    } catch {
      // Not a value of its own.
    }
    start = end + 1;
  }
  return false;
}

/**
 * One value in any JSON encoding (see encodings/), or an array of OTLP requests
 * (some tools write `[{...}, {...}]`) unless an encoding claims the array itself.
 */
function parseRequests(value: unknown, source: string): SpanRecord[] {
  if (!Array.isArray(value)) return jsonEncodingOf(value).toSpans(value, source);
  const arrayEncoding = jsonEncodingOf(value);
  if (arrayEncoding.recognizes(value)) return arrayEncoding.toSpans(value, source);
  // Not an empty trace: nothing here says it holds traces at all.
  if (value.length === 0) throw new TraceInputError(source, 'expected an OTLP request object with "resourceSpans" (or an array of them), got an empty array');
  const spans: SpanRecord[] = [];
  for (let i = 0; i < value.length; i++) {
    let part: SpanRecord[];
    try {
      part = jsonEncodingOf(value[i]).toSpans(value[i], source);
    } catch (error) {
      if (error instanceof TraceInputError) throw new TraceInputError(source, `request [${i}]: ${error.reason}`);
      throw error;
    }
    for (let k = 0; k < part.length; k++) spans.push(part[k]!);
  }
  return spans;
}

/** `location` is `file:line` for a JSON Lines line (the column is appended) or `file` for a document. */
function syntaxError(location: string, text: string, error: Error, isLine: boolean): TraceInputError {
  const offset = jsonErrorOffset(text, error);
  const reason =
    offset === text.length ? 'invalid JSON: unexpected end of data (truncated?)' : `invalid JSON: ${jsonErrorReason(error)}`;
  if (offset === undefined) return new TraceInputError(location, reason);
  const { line, column } = positionOf(text, offset);
  return new TraceInputError(isLine ? `${location}:${column}` : `${location}:${line}:${column}`, reason);
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

async function* readProtobuf(
  chunks: AsyncIterator<Buffer>,
  name: string,
  options: ReadTraceOptions,
  report: (error: TraceInputError) => void,
): AsyncGenerator<SpanRecord[]> {
  const maxBytes = options.maxProtobufBytes ?? DEFAULT_MAX_PROTOBUF_BYTES;
  const parts: Buffer[] = [];
  let size = 0;
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    size += next.value.length;
    if (size > maxBytes) {
      report(new TraceInputError(name, `protobuf input over ${formatMiB(maxBytes)}; split it into several files`));
      return;
    }
    parts.push(next.value);
  }
  const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  const named = PROTOBUF_NAME.test(name);
  let decoded = 0;
  for (const frame of splitProtobufFrames(bytes)) {
    let spans: SpanRecord[];
    try {
      spans = decodeOtlpProtobuf(frame.bytes, name, frame.byteOffset);
    } catch (error) {
      if (!(error instanceof TraceInputError)) throw error;
      // Only guessed to be protobuf (the first read chunk held no whole line to tell JSON Lines
      // by), and a later line is a whole request: JSON Lines whose first line is longer garbage.
      if (!named && decoded === 0 && laterLineIsRequest(bytes)) {
        yield* readJson(prepend(bytes, emptyChunks()), name, options, report, undefined, true);
        return;
      }
      // Content that was only guessed to be protobuf may be neither encoding.
      report(
        named || !error.reason.startsWith('not an OTLP protobuf')
          ? error
          : new TraceInputError(error.location, `neither OTLP/JSON nor OTLP protobuf (${error.reason.replace('not an OTLP protobuf trace request: ', 'protobuf: ')})`),
      );
      return;
    }
    decoded++;
    if (spans.length > 0) yield spans;
  }
}

/**
 * The Collector file exporter's compressed records: each a 4-byte big-endian length and
 * one zstd frame holding a whole request, OTLP/JSON or protobuf (told by its first
 * byte). Read one record at a time, so memory is bounded by a record; a problem is
 * reported as `file (record n)` and the rest of the file skipped, since a bad length
 * leaves no way to find the next record.
 */
async function* readCompressedRecords(
  chunks: AsyncIterator<Buffer>,
  name: string,
  options: ReadTraceOptions,
  report: (error: TraceInputError) => void,
): AsyncGenerator<SpanRecord[]> {
  const maxRatio = options.maxInflateRatio ?? DEFAULT_MAX_INFLATE_RATIO;
  const maxRecordBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  // Chunks not yet consumed; joined only once they hold the whole next record (joining per chunk is quadratic).
  const held: Buffer[] = [];
  let heldBytes = 0;
  let offset = 0;
  let record = 0;
  for (let next = await chunks.next(); ; next = await chunks.next()) {
    if (!next.done) {
      held.push(next.value);
      heldBytes += next.value.length;
    }
    while (heldBytes >= 4) {
      if (held[0]!.length < 4) held.splice(0, held.length, Buffer.concat(held, heldBytes));
      const length = held[0]!.readUInt32BE(0);
      const location = `${name} (record ${record + 1}, byte ${offset})`;
      if (length > maxRecordBytes) {
        report(new TraceInputError(location, `a compressed record of ${formatMiB(length)} is over the ${formatMiB(maxRecordBytes)} limit (--max-line-mib)`));
        return;
      }
      if (heldBytes < 4 + length) break;
      if (held[0]!.length < 4 + length) held.splice(0, held.length, Buffer.concat(held, heldBytes));
      const frame = held[0]!.subarray(4, 4 + length);
      if (!isZstdMagic(frame)) {
        report(new TraceInputError(location, 'not a zstd frame: the file starts as the Collector file exporter’s compressed records but this record is not one'));
        return;
      }
      record++;
      const parts: Buffer[] = [];
      let inflatedBytes = 0;
      for await (const part of inflate(prepend(frame, emptyChunks()), location, maxRatio, ZSTD)) {
        inflatedBytes += part.length;
        // A record is read whole, as a JSON Lines line is: the same bound, on what it inflates to.
        if (inflatedBytes > maxRecordBytes) {
          report(new TraceInputError(location, `a compressed record inflates past the ${formatMiB(maxRecordBytes)} limit (--max-line-mib)`));
          return;
        }
        parts.push(part);
      }
      const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      const leading = firstNonWhitespace(bytes);
      let spans: SpanRecord[];
      try {
        if (leading === 0x7b /* { */ || leading === 0x5b /* [ */) {
          const text = bytes.toString('utf8');
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch (error) {
            report(syntaxError(location, text, error as Error, false));
            return;
          }
          spans = parseRequests(value, location);
        } else {
          spans = decodeOtlpProtobuf(bytes, location, 0);
        }
      } catch (error) {
        if (!(error instanceof TraceInputError)) throw error;
        report(error);
        return;
      }
      if (spans.length > 0) yield spans;
      offset += 4 + length;
      heldBytes -= 4 + length;
      if (held[0]!.length === 4 + length) held.shift();
      else held[0] = held[0]!.subarray(4 + length);
    }
    if (next.done) break;
  }
  if (heldBytes > 0) report(new TraceInputError(`${name} (record ${record + 1}, byte ${offset})`, 'the file ends inside a compressed record (truncated?)'));
}

function formatMiB(bytes: number): string {
  return bytes >= 1048576 ? `${Math.round(bytes / 1048576)} MiB` : `${bytes} bytes`;
}
