/** `baton audit` on hostile input, as a user runs it: the limits' flags and escaped messages (issue 8). */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipBomb, oneSpanJson } from '../../fixtures/malformed/large.js';
import { runBaton } from '../helpers/cli.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let work: string;
let validate: ValidateFunction;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-cli-hostile-'));
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  (addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020)(ajv);
  validate = ajv.compile(JSON.parse(await readFile(fileURLToPath(new URL('../../docs/audit-report.schema.json', import.meta.url)), 'utf8')) as object);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const baton = (args: string[]) => runBaton(args, { cwd: work });

describe('baton audit limits', () => {
  it('--help documents --max-line-mib and --max-inflate-ratio with their defaults', async () => {
    const run = await baton(['audit', '--help']);
    // Help lays descriptions out within 80 columns: compare the words, not the wrapping.
    const help = run.stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--max-line-mib <n> longest JSON Lines line read, in MiB \(default 128\)/);
    expect(help).toMatch(/--max-inflate-ratio <n> most bytes gzip or zstd input may inflate to .*\(default 100\)/);
  });

  it.each([
    ['--max-line-mib', '0'],
    ['--max-line-mib', 'lots'],
    ['--max-inflate-ratio', '-5'],
    ['--max-inflate-ratio', ''],
  ])('refuses %s %j as a usage error', async (flag, value) => {
    const run = await baton(['audit', `${flag}=${value}`, 'x.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`baton audit: ${flag} must be a number above 0, not "${value}"\n`);
  });

  it('reads a 2 MiB line by default and refuses it under --max-line-mib 1, auditing the lines before it', async () => {
    const big = oneSpanJson([`{"key":"note","value":{"stringValue":"${'n'.repeat(2 * 1024 * 1024)}"}}`], 'aaaaaaaaaaaaaaa2');
    await writeFile(join(work, 'long.jsonl'), `${oneSpanJson([], 'aaaaaaaaaaaaaaa1')}\n${big}\n`);
    const byDefault = await baton(['audit', '--format', 'json', '--allow-empty', 'long.jsonl']);
    expect(byDefault.stderr).toBe('');
    expect((JSON.parse(byDefault.stdout) as { inputs: { spans: number } }).inputs.spans).toBe(2);
    const limited = await baton(['audit', '--format', 'json', '--allow-empty', '--max-line-mib', '1', 'long.jsonl']);
    expect(limited.code).toBe(2);
    expect(limited.stderr).toBe('baton: long.jsonl:2: line over 1 MiB (raise --max-line-mib); the rest of the file was skipped\n');
    expect((JSON.parse(limited.stdout) as { inputs: { spans: number } }).inputs.spans).toBe(1);
  });

  it('refuses a gzip bomb with one line, and --max-inflate-ratio lets it on to the line bound', async () => {
    await writeFile(join(work, 'bomb.json.gz'), gzipBomb(1024));
    const run = await baton(['audit', 'bomb.json.gz']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^baton: bomb\.json\.gz: gzip data inflates more than 100:1 \(\d+ MiB from \d+ (MiB|bytes) so far\): refused as a likely decompression bomb; if it is real, raise --max-inflate-ratio\n$/);
    const raised = await baton(['audit', '--max-inflate-ratio', '100000', '--max-line-mib', '1', 'bomb.json.gz']);
    expect(raised.stderr.split('\n')[0]).toBe('baton: bomb.json.gz:1: a line over 1 MiB read from a stream (raise --max-line-mib, or write JSON Lines: one request per line)');
  });
});

describe('baton audit --format json on hostile numbers', () => {
  it.each(['"NaN"', '"Infinity"', '"-Infinity"', '1e308', '-1e308'])(
    'prints a report valid against its schema when every number attribute of every fixture is %s',
    async (value) => {
      const names = (await readdir(FIXTURES_DIR)).filter((n) => n.endsWith('.json'));
      for (const name of names) {
        const text = await readFile(join(FIXTURES_DIR, name), 'utf8');
        await writeFile(join(work, `numbers-${name}`), text.replace(/"(intValue|doubleValue)":("[^"]*"|[-0-9.e+]+)/g, `"doubleValue":${value}`));
      }
      const run = await baton(['audit', '--format', 'json', '--allow-empty', ...names.map((n) => `numbers-${n}`)]);
      expect(run.stderr).toBe('');
      const report = JSON.parse(run.stdout) as unknown;
      expect(validate(report), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    },
  );
});

describe('baton audit messages', () => {
  it('escapes a hostile file name and file content onto one line each: no raw escape, OSC, newline or bidi character', async () => {
    const name = 'run\u001b]0;owned\u0007\nx\u202e.json';
    await writeFile(join(work, name), '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"\\u001b[2J\\u009b","spanId":"x"}]}]}]}');
    const run = await baton(['audit', name]);
    expect(run.code).toBe(2);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    for (const line of lines) expect(line).not.toMatch(RAW_CONTROL);
    expect(lines[0]).toBe(
      'baton: run\\u001b]0;owned\\u0007\\nx\\u202e.json: resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a 16-byte id as 32 hex digits, got "\\u001b[2J\\u009b"',
    );
  });
});
