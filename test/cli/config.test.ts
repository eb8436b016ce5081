/**
 * baton.config.json as a user writes it, wrong in each way people get it wrong:
 * the error names the option that failed (not the `oneOf` branch the user did
 * not mean), its line and column, and escapes what came from the file; a BOM
 * is accepted, a non-finite number refused, and --config takes absolute paths.
 * Driven in-process through the CLI's IO seam; one child-process run checks
 * the exit code a shell sees.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offsetOfPointer, parseConfig } from '../../cli/config.js';
import { RULE_IDS } from '../../src/analyze/detectors/index.js';
import { ConfigError } from '../../cli/config.js';
import { runBaton, runBatonInProcess } from '../helpers/cli.js';
import { FIXTURES_DIR } from '../helpers/traces.js';

const CLEAN = join(FIXTURES_DIR, 'clean.json');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-config-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Audits clean.json with `text` as ./baton.config.json. */
async function auditWith(text: string | Buffer, file = 'baton.config.json') {
  const dir = await mkdtemp(join(work, 'case-'));
  await writeFile(join(dir, file), text);
  return runBatonInProcess(['audit', '--format', 'json', ...(file === 'baton.config.json' ? [] : ['--config', file]), CLEAN], { cwd: dir });
}

describe('baton.config.json errors', () => {
  it.each([
    ['{"rules":{"context-blowup":{"maxTokens":"big"}}}', '1:29: /rules/context-blowup/maxTokens must be number, not "big"'],
    ['{"rules":{"context-blowup":{"maxTokens":-1}}}', '1:29: /rules/context-blowup/maxTokens must be > 0, not -1'],
    ['{"rules":{"context-blowup":{"maxTokenz":5}}}', '1:29: /rules/context-blowup: unknown option "maxTokenz"; did you mean "maxTokens"?'],
    [
      '{"rules":{"dependency-cycle":{"allowedLoops":[{"agents":["a"],"maxLaps":0}]}}}',
      '1:63: /rules/dependency-cycle/allowedLoops/0/maxLaps must be >= 1, not 0',
    ],
    [
      '{"rules":{"dependency-cycle":{"allowedLoops":[{"agents":[]}]}}}',
      '1:48: /rules/dependency-cycle/allowedLoops/0/agents must NOT have fewer than 1 items, not []',
    ],
    ['{"rules":{"ack-timeout":5}}', '1:11: /rules/ack-timeout must be "off" or an object of options, not 5'],
    ['{"rules":{"schema-drift":{"x":1}}}', '1:27: /rules/schema-drift: unknown option "x"; this rule takes no options'],
    ['{"failOn":"warn"}', '1:2: /failOn must be one of "error", "warning", "never", not "warn"'],
    ['{"idleMs":1e400}', '1:2: /idleMs must be a finite number (this one overflows to Infinity)'],
    ['{"rules":{"context-blowup":{"maxTokens":1e400}}}', '1:29: /rules/context-blowup/maxTokens must be a finite number (this one overflows to Infinity)'],
    ['{\n  "rules": {\n    "context-blowup": {\n      "maxTokens": "big"\n    }\n  }\n}\n', '4:7: /rules/context-blowup/maxTokens must be number, not "big"'],
    ['{"rules": {"context-blowup": {,}}}', "1:31: not JSON: Expected property name or '}'"],
  ])('%s → one line naming the option and its place', async (text, message) => {
    const run = await auditWith(text);
    expect(run).toEqual({ code: 2, stdout: '', stderr: `baton: baton.config.json:${message}\n` });
  });

  it('escapes a key holding a newline or a terminal escape, as it does every text from a file', async () => {
    const run = await auditWith(JSON.stringify({ rules: { 'x\u001b[31m\nevil': 'off' } }));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `baton: baton.config.json:1:11: /rules: unknown rule "x\\u001b[31m\\nevil"; known: ${RULE_IDS.join(', ')}\n`,
    );
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const run = await auditWith(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"rules":{"unlinked-handoff":"off"}}')]));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { rules: { ruleId: string; status: string }[] };
    expect(report.rules.find((r) => r.ruleId === 'unlinked-handoff')!.status).toBe('off');
  });

  it('reads --config by absolute path, from any working directory', async () => {
    const file = join(work, 'absolute.config.json');
    await writeFile(file, '{"rules":{"context-loss":"off"}}');
    const run = await runBatonInProcess(['audit', '--format', 'json', '--config', file, CLEAN], { cwd: FIXTURES_DIR });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { rules: { ruleId: string; status: string }[] };
    expect(report.rules.find((r) => r.ruleId === 'context-loss')!.status).toBe('off');
  });

  it('runs a rule named by --rule even when the config turns it off, with the options the config gives the others', async () => {
    const dir = await mkdtemp(join(work, 'rule-over-config-'));
    await writeFile(join(dir, 'baton.config.json'), '{"rules":{"context-loss":"off","ack-timeout":"off"}}');
    const run = await runBatonInProcess(['audit', '--format', 'json', '--rule', 'context-loss', CLEAN], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { rules: { ruleId: string; status: string }[] };
    const status = (id: string) => report.rules.find((r) => r.ruleId === id)!.status;
    expect(status('context-loss')).not.toBe('off');
    expect(status('ack-timeout')).toBe('off');
    expect(status('unlinked-handoff')).toBe('off');
  });

  it('names a missing --config file as given', async () => {
    const run = await runBatonInProcess(['audit', '--config', join(work, 'nope.json'), CLEAN], { cwd: FIXTURES_DIR });
    expect(run).toEqual({ code: 2, stdout: '', stderr: `baton: ${join(work, 'nope.json')}: cannot read: no such file\n` });
  });

  it('exits 2 in a shell too', async () => {
    await writeFile(join(work, 'shell.config.json'), '{"idleMs":-5}');
    const run = await runBaton(['audit', '--config', 'shell.config.json', CLEAN], { cwd: work });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('baton: shell.config.json:1:2: /idleMs must be >= 0, not -5\n');
  });
});

describe('parseConfig', () => {
  it('throws a ConfigError naming the location, without a text to place it in', () => {
    expect(() => parseConfig({ failOn: 'sometimes' }, 'inline')).toThrow(ConfigError);
    expect(() => parseConfig({ failOn: 'sometimes' }, 'inline')).toThrow('inline: /failOn must be one of "error", "warning", "never", not "sometimes"');
  });

  it('returns a valid config as it is', () => {
    const config = { failOn: 'warning', idleMs: 500, rules: { 'context-blowup': { maxTokens: 32_000 }, 'unlinked-handoff': 'off' } };
    expect(parseConfig(config, 'inline')).toBe(config);
  });
});

describe('offsetOfPointer', () => {
  const text = '{ "a": [1, {"b~c": 2, "d/e": [3, 4]}], "f": "x\\"}" , "g": {"h": null} }';
  it.each([
    ['', 0],
    ['/a', 2],
    ['/a/0', 8],
    ['/a/1', 11],
    ['/a/1/b~0c', 12],
    ['/a/1/d~1e', 22],
    ['/a/1/d~1e/1', 33],
    ['/f', 39],
    ['/g/h', 59],
  ])('%s is at offset %i', (pointer, offset) => {
    expect(offsetOfPointer(text, pointer)).toBe(offset);
  });

  it.each(['/zz', '/a/5', '/f/0', '/g/h/i'])('%s is not there', (pointer) => {
    expect(offsetOfPointer(text, pointer)).toBeUndefined();
  });
});
