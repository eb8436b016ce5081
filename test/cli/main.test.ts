/**
 * The CLI as people expect it, driven in-process through its IO seam: the
 * version from package.json, `baton help <command>`, help within 80 columns,
 * "did you mean" for a mistyped command, flag or value, and piped text output
 * at 80 columns unless $COLUMNS or the terminal says otherwise.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatonInProcess } from '../helpers/cli.js';
import { FIXTURES_DIR } from '../helpers/traces.js';
import { DIALECT_IDS } from '../../src/analyze/dialects/index.js';

const baton = (args: string[], options: Partial<Parameters<typeof runBatonInProcess>[1]> = {}) =>
  runBatonInProcess(args, { cwd: FIXTURES_DIR, ...options });

// Colour codes take no columns.
const widest = (text: string) => Math.max(...text.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((line) => line.length));

let empty: string;
beforeAll(async () => {
  empty = await mkdtemp(join(tmpdir(), 'baton-main-'));
});
afterAll(async () => {
  await rm(empty, { recursive: true, force: true });
});

describe('main', () => {
  it.each([['--version'], ['-V'], ['-v']])('%s prints the version in package.json', async (flag) => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await baton([flag]);
    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help lists every command and the global options, exit 0', async () => {
    const run = await baton(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['audit', 'graph', 'demo']) expect(run.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    expect(run.stdout).toContain('-V, --version');
    expect(run.stdout).toContain('baton help <command>');
  });

  it('with no command prints the usage to stderr and exits 2', async () => {
    const run = await baton([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Usage: baton <command>/);
  });

  it.each(['audit', 'graph', 'demo'])('`baton help %s` prints what `baton %s --help` prints', async (command) => {
    const help = await baton(['help', command]);
    const flag = await baton([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(flag.stdout);
    expect(help.stdout).toMatch(new RegExp(`^Usage: baton ${command}`));
  });

  it.each([[[]], [['audit']], [['graph']], [['demo']]])('help for %j fits 80 columns', async (command) => {
    const run = await baton(['help', ...command]);
    expect(run.code).toBe(0);
    expect(widest(run.stdout)).toBeLessThanOrEqual(80);
  });

  it.each([
    [['audti', 'clean.json'], 'baton: unknown command "audti"; did you mean "audit"? (see baton --help)\n'],
    [['grpah'], 'baton: unknown command "grpah"; did you mean "graph"? (see baton --help)\n'],
    [['hepl'], 'baton: unknown command "hepl"; did you mean "help"? (see baton --help)\n'],
    [['frobnicate'], 'baton: unknown command "frobnicate"; one of: audit, graph, demo, watch (see baton --help)\n'],
    [['a\u001b[2Jb'], 'baton: unknown command "a\\u001b[2Jb"; one of: audit, graph, demo, watch (see baton --help)\n'],
    [['--formt'], 'baton: unknown option --formt; a command comes first (see baton --help)\n'],
    [['help', 'audti'], 'baton: unknown command "audti"; did you mean "audit"? (see baton --help)\n'],
  ])('%j: one stderr line, exit 2', async (args, stderr) => {
    const run = await baton(args);
    expect(run).toEqual({ code: 2, stdout: '', stderr });
  });

  it.each([
    [['audit', '--formt', 'json', 'clean.json'], 'baton audit: unknown option --formt; did you mean --format?\n'],
    [['audit', '--fail', 'warning', 'clean.json'], 'baton audit: unknown option --fail; did you mean --fail-on?\n'],
    [['audit', '--allow-emtpy', 'clean.json'], 'baton audit: unknown option --allow-emtpy; did you mean --allow-empty?\n'],
    [['audit', '--zzz', 'clean.json'], 'baton audit: unknown option --zzz (see --help)\n'],
    [['audit', '--format', 'jsn', 'clean.json'], 'baton audit: --format must be one of text, json, junit, markdown, not "jsn"; did you mean "json"?\n'],
    [['audit', '--fail-on', 'warn', 'clean.json'], 'baton audit: --fail-on must be one of error, warning, never, not "warn"; did you mean "warning"?\n'],
    [['audit', '--rule', 'stale-read', 'clean.json'], 'baton audit: unknown rule "stale-read"; did you mean "stale-epoch-read"?\n'],
    [['audit', '--dialect', 'otel', 'clean.json'], `baton audit: --dialect must be one of ${DIALECT_IDS.join(', ')}, not "otel"; did you mean "otel-genai"?\n`],
    [['audit', 'clean.json', '--format'], 'baton audit: --format needs a value\n'],
    [['graph', '--format', 'mermaidd', 'clean.json'], 'baton graph: --format must be one of text, mermaid, dot, json, not "mermaidd"; did you mean "mermaid"?\n'],
    [['demo', '--fault', 'stale-reed'], 'baton demo: unknown fault "stale-reed"; did you mean "stale-read"?\n'],
    [['demo', 'extra'], 'baton demo: unexpected argument "extra": this command takes no file arguments\n'],
  ])('%j: one stderr line naming the flag, exit 2', async (args, stderr) => {
    const run = await baton(args, { cwd: FIXTURES_DIR });
    expect(run).toEqual({ code: 2, stdout: '', stderr });
  });
});

describe('text output width', () => {
  const audit = (options: Partial<Parameters<typeof runBatonInProcess>[1]>) => baton(['audit', '--fail-on', 'never', 'revision-loop.json', 'cycle.json'], options);

  it('fits 80 columns when piped', async () => {
    const run = await audit({});
    expect(run.code).toBe(0);
    expect(widest(run.stdout)).toBeLessThanOrEqual(80);
    // The latency table would take about 100 columns: at 80 some columns are left out, and it says so.
    expect(run.stdout).toContain('left out to fit 80 columns');
  });

  it('takes $COLUMNS over the pipe default and over the terminal width', async () => {
    const wide = await audit({ env: { COLUMNS: '160' } });
    expect(wide.stdout).not.toContain('left out to fit');
    expect(widest(wide.stdout)).toBeGreaterThan(80);
    expect(widest(wide.stdout)).toBeLessThanOrEqual(160);
    const narrow = await audit({ env: { COLUMNS: '70' }, ttyColumns: 200 });
    expect(widest(narrow.stdout)).toBeLessThanOrEqual(70);
  });

  it('on a terminal, uses its width', async () => {
    const run = await audit({ ttyColumns: 72 });
    expect(widest(run.stdout)).toBeLessThanOrEqual(72);
    expect(run.stdout).toContain('left out to fit 72 columns');
  });

  it.each(['0', '-5', 'wide', ''])('ignores a $COLUMNS of %j', async (columns) => {
    const run = await audit({ env: { COLUMNS: columns } });
    expect(run.stdout).toContain('left out to fit 80 columns');
  });
});
