/**
 * Flags declared once: parsing against the declaration (one-line errors for
 * what parseArgs refuses) and help laid out from it within a width, whatever
 * the descriptions say.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkChoice, formatHelp, parseCommandArgs, type OptionSpecs } from '../../cli/args.js';
import { UsageError } from '../../cli/io.js';

const OPTIONS = {
  format: { type: 'string', value: 'f', description: 'text (default) or json' },
  'max-line-mib': { type: 'string', value: 'n', description: 'longest line read, in MiB' },
  rule: { type: 'string', multiple: true, value: 'id', description: 'run only this rule (repeatable); one of:' },
  quiet: { type: 'boolean', short: 'q', description: 'say less' },
} as const satisfies OptionSpecs;

describe('parseCommandArgs', () => {
  it('parses a declaration: strings, repeatable strings, booleans with a short form, positionals', () => {
    const { values, positionals } = parseCommandArgs(['--format', 'json', '--rule', 'a', '-q', 'x.json', '--rule=b', '--max-line-mib', '8'], OPTIONS, true);
    expect({ ...values }).toEqual({ format: 'json', rule: ['a', 'b'], quiet: true, 'max-line-mib': '8' });
    expect(positionals).toEqual(['x.json']);
  });

  it.each([
    [['--formatt', 'json'], 'unknown option --formatt; did you mean --format?'],
    [['--max-line', '8'], 'unknown option --max-line; did you mean --max-line-mib?'],
    [['-z'], 'unknown option -z (see --help)'],
    [['--format'], '--format needs a value'],
    [['--quiet=yes'], '--quiet takes no value'],
    [['--format', '--quiet'], '--format needs a value, and the next argument is a flag (write --format=<value> for a value that starts with -)'],
  ])('%j → UsageError "%s"', (args, message) => {
    expect(() => parseCommandArgs(args, OPTIONS, true)).toThrow(new UsageError(message));
  });

  it('refuses positionals where the command takes none', () => {
    expect(() => parseCommandArgs(['x'], OPTIONS, false)).toThrow(new UsageError('unexpected argument "x": this command takes no file arguments'));
  });
});

describe('checkChoice', () => {
  it('returns a listed value and refuses any other, suggesting the closest', () => {
    expect(checkChoice('format', 'json', ['text', 'json'])).toBe('json');
    expect(() => checkChoice('format', 'jsno', ['text', 'json'])).toThrow(new UsageError('--format must be one of text, json, not "jsno"; did you mean "json"?'));
    expect(() => checkChoice('format', 'xml', ['text', 'json'])).toThrow(new UsageError('--format must be one of text, json, not "xml"'));
  });
});

describe('formatHelp', () => {
  const help = { usage: 'baton x <file>...', description: 'Does x.', footer: ['Exit codes: 0 ok.'] };

  it('lays out usage, description, one entry per flag (its list under it; a flag too long for the column on its own line), -h, footer', () => {
    expect(formatHelp(help, OPTIONS, { rule: [{ name: 'a', description: 'first' }, { name: 'bb' }] })).toBe(
      [
        'Usage: baton x <file>...',
        '',
        'Does x.',
        '',
        'Options:',
        '      --format <f>      text (default) or json',
        '      --max-line-mib <n>',
        '                        longest line read, in MiB',
        '      --rule <id>       run only this rule (repeatable); one of:',
        '        a   first',
        '        bb',
        '  -q, --quiet           say less',
        '  -h, --help            show this help',
        '',
        'Exit codes: 0 ok.',
        '',
      ].join('\n'),
    );
  });

  it('keeps every line within the width for any descriptions', () => {
    const word = fc.stringMatching(/^[a-z]{1,30}$/);
    const text = fc.array(word, { minLength: 1, maxLength: 40 }).map((words) => words.join(' '));
    fc.assert(
      fc.property(text, text, fc.array(fc.tuple(word, text), { maxLength: 5 }), fc.integer({ min: 60, max: 120 }), (description, flag, choices, width) => {
        const out = formatHelp(
          { usage: 'baton x', description, footer: [flag] },
          { 'some-flag': { type: 'string', value: 'v', description: flag }, b: { type: 'boolean', description: flag } },
          { 'some-flag': choices.map(([name, d]) => ({ name, description: d })) },
          width,
        );
        for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(width);
      }),
      { numRuns: 200 },
    );
  });
});
