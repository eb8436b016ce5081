/**
 * `baton demo` as a newcomer runs it: the pipeline under the real Node SDK, its
 * trace written as OTLP/JSON Lines, then audited.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBaton } from '../helpers/cli.js';

const baton = (args: string[], cwd: string) => runBaton(args, { cwd });

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-demo-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('baton demo', () => {
  it('runs the clean pipeline, writes its trace and audits it with no findings', async () => {
    const run = await baton(['demo', '--out', 'clean.jsonl'], work);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/task research-001 completed/);
    expect(run.stdout).toContain('Trace: clean.jsonl');
    expect(run.stdout).toContain('baton audit clean.jsonl');
    const lines = (await readFile(join(work, 'clean.jsonl'), 'utf8')).trim().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('resourceSpans');
    const audit = await baton(['audit', '--format', 'json', 'clean.jsonl'], work);
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout).findings).toEqual([]);
  });

  it('with a fault injected, the audit it prints names the rule', async () => {
    const run = await baton(['demo', '--fault', 'stale-read', '--out', 'stale.jsonl'], work);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('stale-epoch-read');
  });

  it('never overwrites an existing file', async () => {
    await writeFile(join(work, 'keep.jsonl'), 'precious');
    const run = await baton(['demo', '--out', 'keep.jsonl'], work);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('baton demo: cannot write keep.jsonl: the file exists (choose another --out)\n');
    expect(await readFile(join(work, 'keep.jsonl'), 'utf8')).toBe('precious');
  });

  it('refuses an unknown fault with the list of known ones', async () => {
    const run = await baton(['demo', '--fault', 'gremlins'], work);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^baton demo: unknown fault "gremlins"; one of: cycle, /);
  });
});
