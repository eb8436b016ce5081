/**
 * `baton demo` in-process, through the CLI's IO seam (one run per file: the
 * OpenTelemetry Node SDK registers process-wide globals): the old repeatable
 * --fault as the list of faults, an absolute --out used as given, the span
 * count of the file it recorded, and its own text within 80 columns when piped.
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
  out = join(work, 'nested', '..', 'two.jsonl');
  // The working directory is elsewhere: an absolute --out must not be joined to it.
  run = await runBatonInProcess(['demo', '--fault', 'duplicate-write', '--fault', 'stale-read', '--duration', '1s', '--out', out], { cwd: FIXTURES_DIR });
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('baton demo (in-process)', () => {
  it('records where an absolute --out says and exits 0, with nothing but its own lines on stderr', () => {
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Trace: ${join(work, 'two.jsonl')} (`);
    for (const line of run.stderr.trimEnd().split('\n')) expect(line).toMatch(/^(baton demo: |\d\d:\d\d:\d\d {2})/);
  });

  it('takes the repeated --fault as the list: those faults only, each in a task of its own', () => {
    const injected = [...run.stderr.matchAll(/^baton demo: (\S+): injected (\S+)$/gm)].map((m) => m[2]);
    expect(injected).toEqual(['duplicate-write', 'stale-read']);
    const flat = run.stdout.replace(/\s+/g, ' ');
    expect(flat).toMatch(/, 2 with a fault injected:/);
    // The pipeline's own notes for them, and the audit's rules for them.
    expect(flat).toContain('coordinator retries research (attempt 2)');
    const audit = run.stdout.slice(run.stdout.indexOf('\nbaton audit '));
    for (const rule of ['duplicate-write', 'partial-handoff', 'stale-epoch-read']) expect(audit).toContain(`  ${rule}  1 finding`);
  });

  it('counts the spans it recorded, as read back from the file', async () => {
    const text = await readFile(join(work, 'two.jsonl'), 'utf8');
    const lines = text.split('\n').filter((line) => line !== '');
    const spans = lines.reduce((sum, line, i) => sum + parseOtlpJsonRequest(JSON.parse(line), `line ${i + 1}`).length, 0);
    expect(spans).toBeGreaterThan(0);
    expect(run.stdout).toContain(`(${spans} spans, OTLP/JSON Lines)`);
    expect(run.stdout).toContain(`the receiver accepted ${spans}.`);
  });

  it('fits 80 columns when piped, from its account of the pipeline to the end of the audit', () => {
    // Before it, the plain monitor's finding lines are log lines, one a finding, as `baton watch` prints them.
    const own = run.stdout.slice(run.stdout.indexOf('Pipeline: '));
    expect(own.length).toBeGreaterThan(0);
    for (const line of own.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });
});
