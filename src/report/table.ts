/** Plain-text tables: padded columns, numbers right-aligned, cells cut to fit a width. */

export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
  /** The column that gives up characters (with an ellipsis) when the table is wider than allowed. */
  readonly shrinkable?: boolean;
  /** Dropped, last first, when shrinking is not enough. */
  readonly optional?: boolean;
}

/** Visible length of a string that may contain ANSI colour codes. */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/** Renders rows under headers, two spaces between columns, no wider than `maxWidth` when it can. */
export function renderTable(allColumns: readonly Column[], allRows: readonly (readonly string[])[], maxWidth: number, indent = '  '): string[] {
  let columns = allColumns;
  let rows = allRows;
  const widthOf = (cols: readonly Column[], rs: readonly (readonly string[])[]) =>
    indent.length +
    cols.reduce((sum, c, i) => {
      const natural = Math.max(c.header.length, ...rs.map((r) => (r[i] ?? '').length));
      return sum + (c.shrinkable ? Math.min(8, natural) : natural);
    }, 0) +
    2 * (cols.length - 1);
  while (widthOf(columns, rows) > maxWidth) {
    const drop = columns.map((c) => c.optional === true).lastIndexOf(true);
    if (drop === -1) break;
    columns = columns.filter((_, i) => i !== drop);
    rows = rows.map((r) => r.filter((_, i) => i !== drop));
  }
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const total = () => indent.length + widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  const shrink = columns.findIndex((c) => c.shrinkable);
  if (shrink !== -1 && total() > maxWidth) widths[shrink] = Math.max(8, widths[shrink]! - (total() - maxWidth));
  const line = (cells: readonly string[]) =>
    indent +
    columns
      .map((c, i) => {
        const cell = cut(cells[i] ?? '', widths[i]!);
        return c.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)];
}

/** Wraps `text` at spaces to lines of at most `width` characters, every line after the first indented by `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (candidate.length > width && line.trim() !== '' && line !== indent) {
      lines.push(line);
      line = `${indent}${word}`;
    } else line = candidate;
  }
  lines.push(line);
  return lines;
}
