/** Terminal layout: word wrapping and tables that fit a width without cutting a cell. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_WRAP_CHARS, renderTable, wrapHanging, wrapWords, type Column } from '../../src/report/table.js';

describe('wrapWords', () => {
  it('breaks at spaces, never past the width', () => {
    expect(wrapWords('the quick brown fox jumps over the lazy dog', 10)).toEqual([
      'the quick',
      'brown fox',
      'jumps over',
      'the lazy',
      'dog',
    ]);
  });

  it('splits a word longer than a line where the line ends', () => {
    expect(wrapWords('id 0123456789abcdef0123 end', 8)).toEqual(['id', '01234567', '89abcdef', '0123 end']);
  });

  it('gives one empty line for empty text and leaves no trailing spaces', () => {
    expect(wrapWords('', 10)).toEqual(['']);
    expect(wrapWords('a  b', 2)).toEqual(['a', 'b']);
  });
});

describe('wrapHanging', () => {
  it('hangs the lines after the first under their own indent, each filling its room', () => {
    expect(wrapHanging('cycle: writer → reviewer → writer → editor', 24, '', '       ')).toEqual([
      'cycle: writer → reviewer',
      '       → writer → editor',
    ]);
    expect(wrapHanging('short', undefined, '  ', '    ')).toEqual(['  short']);
  });

  it('keeps every character but spaces, in order, whatever the text (leading spaces, long words), within the width', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(' '), fc.constant('  '), fc.stringMatching(/^[a-z0-9→]{1,40}$/)), { maxLength: 30 }).map((parts) => parts.join('')),
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom('', '  ', '    '),
        fc.constantFrom('', '  ', '      '),
        (text, width, first, rest) => {
          const lines = wrapHanging(text, width, first, rest);
          expect(lines.map((line, i) => line.slice((i === 0 ? first : rest).length)).join('').replace(/ /g, '')).toBe(text.replace(/ /g, ''));
          const room = (indent: string) => indent.length + Math.max(MIN_WRAP_CHARS, width - indent.length);
          lines.forEach((line, i) => expect(line.length).toBeLessThanOrEqual(Math.max(width, room(i === 0 ? first : rest))));
        },
      ),
    );
  });
});

describe('renderTable', () => {
  const columns: Column[] = [
    { header: 'name', wrap: true, minWidth: 6 },
    { header: 'n', align: 'right' },
    { header: 'extra', align: 'right', dropOrder: 1 },
  ];
  const rows = [
    ['short', '1', 'x'],
    ['a much longer name', '22', 'yy'],
  ];

  it('pads columns, right-aligns numbers, and keeps every column when it fits', () => {
    const table = renderTable(columns, rows, { maxWidth: 80 });
    expect(table.header).toBe('  name                 n  extra');
    expect(table.rows).toEqual([['  short                1      x'], ['  a much longer name  22     yy']]);
    expect(table.kept).toEqual([0, 1, 2]);
  });

  it('drops droppable columns first, then wraps the wrapping column onto more lines', () => {
    const table = renderTable(columns, rows, { maxWidth: 14 });
    expect(table.kept).toEqual([0, 1]);
    expect(table.rows[1]).toEqual(['  a much    22', '  longer', '  name']);
    for (const line of [table.header, ...table.rows.flat()]) expect(line.length).toBeLessThanOrEqual(14);
  });

  it('paints cell text without counting the codes in the width', () => {
    const table = renderTable(columns, rows, { maxWidth: 80, paint: (text, row) => (row === 0 ? `<${text}>` : text) });
    expect(table.rows[0]).toEqual(['  <short>                <1>      <x>']);
  });
});
