import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';
import { readTraceInputs } from '../../src/ingest/read-trace-inputs.js';
import type { TraceInputError } from '../../src/ingest/errors.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { followJsonLinesFile } from '../../src/receiver/follow-file.js';
import { openOtlpJsonRecorder, spansToOtlpJson } from '../../src/receiver/otlp-json-recorder.js';
import { replayTraceFiles } from '../../src/receiver/replay-files.js';
import { FIXTURES_DIR, runPipelineSpans, toOtlpJson, toSpanRecords } from '../helpers/traces.js';

let dir: string;
let lines: string[];
let expectedIds: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-watch-'));
  // Three exports of the real pipeline, as three JSON Lines (what the Collector's file exporter writes).
  lines = [];
  expectedIds = [];
  for (const fault of ['ack-timeout', 'stale-read', 'cycle'] as const) {
    const { spans } = await runPipelineSpans([fault], { taskId: `follow-${fault}` });
    lines.push(toOtlpJson(spans));
    for (const s of spans) expectedIds.push(s.spanContext().spanId);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sortedIds = (spans: readonly SpanRecord[]) => spans.map((s) => s.spanId).sort();

describe('followJsonLinesFile', () => {
  it('reads what is there, then each line as it is appended, holding a line until its newline', async () => {
    const path = join(dir, 'grow.jsonl');
    await writeFile(path, `${lines[0]}\n`);
    const got: SpanRecord[] = [];
    const follower = followJsonLinesFile(path, 'grow.jsonl', (spans) => void got.push(...spans), { pollMs: 20 });
    await expect.poll(() => got.length).toBeGreaterThan(0);
    const half = Math.floor(lines[1]!.length / 2);
    await appendFile(path, lines[1]!.slice(0, half));
    await new Promise((r) => setTimeout(r, 100));
    const afterFirst = got.length;
    await appendFile(path, `${lines[1]!.slice(half)}\n${lines[2]}\n`);
    await expect.poll(() => got.length).toBe(expectedIds.length);
    await follower.stop();
    expect(afterFirst).toBeLessThan(expectedIds.length);
    expect(sortedIds(got)).toEqual([...expectedIds].sort());
    expect(got[got.length - 1]!.source).toBe('grow.jsonl:3');
  });

  it('waits for a file that does not exist yet, and starts over when it is replaced', async () => {
    const path = join(dir, 'later.jsonl');
    const got: SpanRecord[] = [];
    const notices: string[] = [];
    const follower = followJsonLinesFile(path, 'later.jsonl', (spans) => void got.push(...spans), { pollMs: 20, onNotice: (n) => notices.push(n) });
    await expect.poll(() => notices).toContain('waiting for later.jsonl to appear');
    await writeFile(path, `${lines[0]}\n`);
    await expect.poll(() => got.length).toBeGreaterThan(0);
    const first = got.length;
    const next = join(dir, 'later.next');
    await writeFile(next, `${lines[1]}\n`);
    await rename(next, path);
    await expect.poll(() => got.length, { timeout: 3000 }).toBeGreaterThan(first);
    await follower.stop();
    expect(notices.some((n) => /later\.jsonl was (replaced|truncated)/.test(n))).toBe(true);
  });

  it('reports a bad line with its file and line number and goes on', async () => {
    const path = join(dir, 'bad.jsonl');
    await writeFile(path, `${lines[0]}\n{"resourceSpans": [\n${lines[1]}\n`);
    const got: SpanRecord[] = [];
    const errors: TraceInputError[] = [];
    const follower = followJsonLinesFile(path, 'bad.jsonl', (spans) => void got.push(...spans), { pollMs: 20, onError: (e) => errors.push(e) });
    await expect.poll(() => errors.length).toBe(1);
    await expect.poll(() => got.map((s) => s.source).filter((s) => s === 'bad.jsonl:3').length).toBeGreaterThan(0);
    await follower.stop();
    expect(errors[0]!.location).toBe('bad.jsonl:2');
  });

  it('refuses a gzip file with a reason (a growing gzip cannot be followed)', async () => {
    const path = join(dir, 'x.jsonl.gz');
    await writeFile(path, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    const errors: TraceInputError[] = [];
    const follower = followJsonLinesFile(path, 'x.jsonl.gz', () => {}, { pollMs: 20, onError: (e) => errors.push(e) });
    await follower.done;
    expect(errors[0]!.message).toContain('gzip');
  });
});

describe('replayTraceFiles', () => {
  it('delivers every span in end-time order, with the replayed clock at or past each span as it arrives', async () => {
    const path = join(dir, 'replay.jsonl');
    await writeFile(path, `${lines.join('\n')}\n`);
    const got: SpanRecord[] = [];
    const seenAt: number[] = [];
    const replay = replayTraceFiles([path], (spans) => {
      for (const s of spans) {
        got.push(s);
        seenAt.push(replay.clock.now());
      }
    }, { speed: 50 });
    await replay.done;
    expect(sortedIds(got)).toEqual([...expectedIds].sort());
    for (let i = 0; i < got.length; i++) expect(seenAt[i]!).toBeGreaterThanOrEqual(got[i]!.endMs);
  });

  it('skips quiet gaps longer than maxGapMs instead of waiting through them', async () => {
    const { spans } = await runPipelineSpans([], { taskId: 'gap' });
    const records = toSpanRecords(spans);
    const hourLater = records.map((s) => ({ ...s, startMs: s.startMs + 3_600_000, endMs: s.endMs + 3_600_000 }));
    const path = join(dir, 'gap.json');
    await writeFile(path, JSON.stringify(spansToOtlpJson([...records, ...hourLater])));
    let delivered = 0;
    let skippedAt = 0;
    const replay = replayTraceFiles([path], (s) => {
      delivered += s.length;
      if (s[0]!.endMs > records[0]!.endMs + 3_000_000 && skippedAt === 0) skippedAt = replay.clock.now();
    }, { speed: 20, maxGapMs: 1000 });
    await replay.done;
    expect(delivered).toBe(records.length * 2);
    // The replayed clock jumped the hour: it reached the later spans (at 20x, an hour would take three minutes).
    expect(skippedAt).toBeGreaterThanOrEqual(hourLater[0]!.endMs - 1);
  });

  it('reports an unreadable input and replays the rest', async () => {
    const errors: TraceInputError[] = [];
    let delivered = 0;
    const replay = replayTraceFiles([join(dir, 'missing.json'), join(FIXTURES_DIR, 'clean.json')], (s) => void (delivered += s.length), {
      speed: Number.POSITIVE_INFINITY,
      onError: (e) => errors.push(e),
    });
    await replay.done;
    expect(errors[0]!.reason).toBe('no such file or directory');
    expect(delivered).toBeGreaterThan(0);
  });
});

describe('openOtlpJsonRecorder', () => {
  it('writes what it is given as OTLP/JSON Lines that baton reads back the same', async () => {
    const path = join(dir, 'rec.jsonl');
    const batches = lines.map((l, i) => parseLine(l, i));
    const recorder = await openOtlpJsonRecorder(path);
    for (const batch of batches) recorder.write(batch);
    await recorder.close();
    expect(recorder.spans).toBe(expectedIds.length);
    expect((await readFile(path, 'utf8')).trimEnd().split('\n')).toHaveLength(3);
    const back: SpanRecord[] = [];
    for await (const batch of readTraceInputs([path])) back.push(...batch);
    // Times too, to the last bit: the recording audits exactly as the live session analyzed it.
    const strip = (s: SpanRecord) => ({ ...s, source: '' });
    const a = back.map(strip);
    const b = batches.flat().map(strip);
    for (let i = 0; i < a.length; i++) expect(a[i]).toEqual(b[i]);
  });

  it('writes times that read back as the same milliseconds, whatever the nanoseconds they came from', () => {
    const [template] = parseLine(lines[0]!, 0);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 12n }), (start, duration) => {
        // The milliseconds the reader itself makes of OTLP's uint64 nanoseconds.
        const first = JSON.parse(JSON.stringify(spansToOtlpJson([template!])));
        const written = first.resourceSpans[0].scopeSpans[0].spans[0];
        written.startTimeUnixNano = start.toString();
        written.endTimeUnixNano = (start + duration).toString();
        written.events = [{ name: 'e', timeUnixNano: (start + duration).toString(), attributes: [] }];
        const [read] = parseOtlpJsonRequest(first, 'x');
        const { startMs, endMs } = read!;
        const span = { ...template!, startMs, endMs, events: [{ name: 'e', timeMs: endMs, attributes: {} }] };
        const [back] = parseOtlpJsonRequest(JSON.parse(JSON.stringify(spansToOtlpJson([span]))), 'x');
        expect([back!.startMs, back!.endMs, back!.events[0]!.timeMs]).toEqual([startMs, endMs, endMs]);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never overwrites an existing file: refuses it, or appends when asked', async () => {
    const path = join(dir, 'exists.jsonl');
    await writeFile(path, 'keep me\n');
    await expect(openOtlpJsonRecorder(path)).rejects.toMatchObject({ code: 'EEXIST' });
    const recorder = await openOtlpJsonRecorder(path, { append: true });
    recorder.write(parseLine(lines[0]!, 0));
    await recorder.close();
    const text = await readFile(path, 'utf8');
    expect(text.startsWith('keep me\n{"resourceSpans"')).toBe(true);
  });
});

/** One JSON line as the analyzer reads it. */
function parseLine(line: string, i: number): SpanRecord[] {
  return parseOtlpJsonRequest(JSON.parse(line), `line-${i}`);
}
