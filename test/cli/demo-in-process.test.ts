/**
 * `baton demo` in-process, through the CLI's IO seam (one run per file: the
 * OpenTelemetry Node SDK registers process-wide globals): an absolute --out
 * used as given, the span count of the file it wrote, its latency table
 * against the audit it prints, and piped output within 80 columns.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOtlpJsonRequest } from '../../src/ingest/otlp-json.js';
import { runBatonInProcess, type CliRun } from '../helpers/cli.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

let work: string;
let out: string;
let run: CliRun;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-demo-in-process-'));
  out = join(work, 'nested', '..', 'dup.jsonl');
  // The working directory is elsewhere: an absolute --out must not be joined to it.
  run = await runBatonInProcess(['demo', '--fault', 'duplicate-write', '--out', out], { cwd: FIXTURES_DIR });
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('baton demo (in-process)', () => {
  it('writes the trace where an absolute --out says and exits 0', async () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Trace: ${join(work, 'dup.jsonl')} (`);
  });

  it('counts the spans in the file, not the span ids (links and parents name span ids too)', async () => {
    const text = await readFile(join(work, 'dup.jsonl'), 'utf8');
    const lines = text.split('\n').filter((line) => line !== '');
    const spans = lines.reduce((sum, line, i) => sum + parseOtlpJsonRequest(JSON.parse(line), `line ${i + 1}`).length, 0);
    expect(run.stdout).toContain(`(${spans} spans, OTLP/JSON Lines)`);
    // The old count, of `"spanId":` in the text, is larger as soon as one span links to another.
    expect((text.match(/"spanId":/g) ?? []).length).toBeGreaterThan(spans);
  });

  it('says where its histogram counts a redelivered handoff twice and the audit once', () => {
    // The pipeline's own log: research crashed and the coordinator retried it, so triage's handoff was received twice.
    const flat = run.stdout.replace(/\s+/g, ' ');
    expect(flat).toContain('coordinator retries research (attempt 2)');
    expect(flat).toMatch(/Handoffs sent 4, received 5;/);
    const table = run.stdout.slice(run.stdout.indexOf('Handoff latency per edge'), run.stdout.indexOf('Handoffs sent'));
    expect(table).toMatch(/^ {2}triage → research +2 /m);
    for (const edge of ['research → analysis', 'analysis → writer', 'writer → reviewer']) expect(table).toMatch(new RegExp(`^  ${edge} +1 `, 'm'));
    const note = table.replace(/\s+/g, ' ');
    expect(note).toContain('triage → research: 1 handoff received 2 times (redelivered after a retry');
    expect(note).toContain('the audit below times send → first receive');
    // Only that edge differs, so only it has a note.
    expect(note.match(/received \d+ times/g)).toHaveLength(1);
  });

  it('fits 80 columns when piped', () => {
    for (const line of run.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });
});
