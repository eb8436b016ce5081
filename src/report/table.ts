/**
 * Plain-text layout for terminals: word wrapping, and tables that fit a width
 * by dropping their least important columns and then wrapping their wrappable
 * ones onto more lines. Cells are never cut: a report that hides the end of an
 * agent name or of the reason a rule could not run is worse than a long one.
 * Widths count UTF-16 code units, which is right for the BMP text reports hold.
 */

/** One column of {@link renderTable}. */
export interface Column {
  readonly header: string;
  /** Default `left`; numbers are `right`. */
  readonly align?: 'left' | 'right';
  /** The column wraps onto more lines (at spaces, or inside a long word) when the table is too wide. */
  readonly wrap?: boolean;
  /** Narrowest a wrapping column gets. Default 12. */
  readonly minWidth?: number;
  /** The column is dropped when the table does not fit otherwise, lowest `dropOrder` first. */
  readonly dropOrder?: number;
}

/** Options of {@link renderTable}. */
export interface TableOptions {
  /** Widest a line may be, indent included. */
  readonly maxWidth: number;
  /** Put before every line. Default two spaces. */
  readonly indent?: string;
  /**
   * Styles one cell's text after it is laid out (row -1 is the header); the
   * padding stays outside, so colour codes never count towards a width.
   */
  readonly paint?: (text: string, row: number, column: number) => string;
}

/** A laid-out table: the header line, then each row's lines (more than one where a cell wrapped). */
export interface RenderedTable {
  readonly header: string;
  readonly rows: readonly (readonly string[])[];
  /** The columns kept, as indexes into the columns given. */
  readonly kept: readonly number[];
}

/** Narrowest text a wrapped line keeps after its indent, however narrow the terminal says it is. */
export const MIN_WRAP_CHARS = 20;

/** Splits `text` into lines of at most `width` characters, at spaces where it can and inside words where it must. */
export function wrapWords(text: string, width: number): string[] {
  const limit = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length <= limit) {
      line = `${line} ${word}`;
      continue;
    }
    if (line !== '') lines.push(line.trimEnd());
    let rest = word;
    // A word longer than a whole line (a span id list, a URL) is split where the line ends.
    for (; rest.length > limit; rest = rest.slice(limit)) lines.push(rest.slice(0, limit));
    line = rest;
  }
  lines.push(line.trimEnd());
  return lines;
}

/**
 * `text` as lines of at most `width` columns under a hanging indent: the first
 * line after `first`, the others after `rest`, each filling what its own indent
 * leaves (never less than {@link MIN_WRAP_CHARS}); each line styled on its own,
 * so no colour code spans a line break. Without a width, one line.
 */
export function wrapHanging(text: string, width: number | undefined, first: string, rest: string, style: (line: string) => string = (line) => line): string[] {
  if (width === undefined || first.length + text.length <= width) return [first + style(text)];
  const head = wrapWords(text, Math.max(MIN_WRAP_CHARS, width - first.length))[0]!;
  const lines = [first + style(head)];
  // wrapWords cut at a space (dropped here) or inside a word longer than the line, and dropped any
  // leading spaces: the head is found where it is in the text, not assumed to be its prefix.
  const remainder = text.slice(text.indexOf(head) + head.length).replace(/^ +/, '');
  if (remainder === '') return lines;
  for (const part of wrapWords(remainder, Math.max(MIN_WRAP_CHARS, width - rest.length))) lines.push(rest + style(part));
  return lines;
}

/**
 * Lays out `rows` under the columns' headers, two spaces between columns, no
 * wider than `maxWidth` when it can be done: first the droppable columns go,
 * lowest `dropOrder` first, until the table fits with its wrapping columns at
 * their narrowest; then the wrapping columns give up width, widest first.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], options: TableOptions): RenderedTable {
  const indent = options.indent ?? '  ';
  const paint = options.paint ?? ((text: string) => text);
  const natural = columns.map((c, i) => {
    let width = c.header.length;
    for (const row of rows) width = Math.max(width, (row[i] ?? '').length);
    return width;
  });
  const narrowest = (i: number) => (columns[i]!.wrap ? Math.min(natural[i]!, columns[i]!.minWidth ?? 12) : natural[i]!);
  const widthOf = (kept: readonly number[], each: (i: number) => number) =>
    indent.length + kept.reduce((sum, i) => sum + each(i), 0) + 2 * Math.max(0, kept.length - 1);

  let kept = columns.map((_, i) => i);
  while (widthOf(kept, narrowest) > options.maxWidth) {
    let drop = -1;
    for (const i of kept) {
      const order = columns[i]!.dropOrder;
      if (order !== undefined && (drop === -1 || order <= columns[drop]!.dropOrder!)) drop = i;
    }
    if (drop === -1) break;
    kept = kept.filter((i) => i !== drop);
  }

  const widths = new Map(kept.map((i) => [i, natural[i]!]));
  let excess = widthOf(kept, (i) => widths.get(i)!) - options.maxWidth;
  while (excess > 0) {
    let widest = -1;
    for (const i of kept) {
      if (widths.get(i)! > narrowest(i) && (widest === -1 || widths.get(i)! > widths.get(widest)!)) widest = i;
    }
    if (widest === -1) break;
    widths.set(widest, widths.get(widest)! - 1);
    excess--;
  }

  const last = kept[kept.length - 1];
  const layout = (cells: readonly string[], row: number): string[] => {
    const parts = kept.map((i) => (columns[i]!.wrap ? wrapWords(cells[i] ?? '', widths.get(i)!) : [cells[i] ?? '']));
    const height = Math.max(1, ...parts.map((p) => p.length));
    const lines: string[] = [];
    for (let j = 0; j < height; j++) {
      let line = indent;
      kept.forEach((i, k) => {
        const text = parts[k]![j] ?? '';
        const width = widths.get(i)!;
        const pad = ' '.repeat(Math.max(0, width - text.length));
        const styled = text.trim() === '' ? text : paint(text, row, i);
        if (k > 0) line += '  ';
        if (columns[i]!.align === 'right') line += pad + styled;
        else line += i === last ? styled : styled + pad;
      });
      lines.push(line.trimEnd());
    }
    return lines;
  };
  return {
    header: layout(
      columns.map((c) => c.header),
      -1,
    )[0]!,
    rows: rows.map((r, n) => layout(r, n)),
    kept,
  };
}
