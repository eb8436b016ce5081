/**
 * Where the top-level values of a text of concatenated JSON objects or arrays
 * are: what a tool that writes one pretty-printed value after another leaves
 * (the Python SDK's ConsoleSpanExporter writes `span.to_json()`, indented, and a
 * line break per span), which is neither one document nor JSON Lines.
 *
 * Only the structure is scanned (brackets outside strings, escapes inside them);
 * each value is then parsed by JSON.parse, which says what is wrong inside one.
 */

/** A value's place: [start, end) in the text, and the line (1-based) it starts on. */
export interface JsonValueSpan {
  readonly start: number;
  readonly end: number;
  readonly line: number;
}

/** The values of a text, and the runs of whole lines between them that were not JSON (print output beside the spans). */
export interface JsonValues {
  readonly values: JsonValueSpan[];
  /** Lines [first, last] (1-based) skipped, in order. */
  readonly skipped: { readonly first: number; readonly last: number }[];
}

/**
 * The top-level values of `text` in order, or undefined when it is not a sequence
 * of objects and arrays (a scalar after a value on its line, a bracket that does
 * not close). A line that does not start a value (an app's own print output,
 * interleaved when stdout went to the same file) is skipped and listed.
 */
export function concatenatedJsonValues(text: string): JsonValues | undefined {
  const values: JsonValueSpan[] = [];
  const skipped: { first: number; last: number }[] = [];
  let line = 1;
  let at = 0;
  let atLineStart = true;
  const length = text.length;
  while (at < length) {
    const c = text.charCodeAt(at);
    if (c === 0x0a) {
      line++;
      at++;
      atLineStart = true;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d) {
      at++;
      continue;
    }
    if (c !== 0x7b && c !== 0x5b) {
      // `{` or `[` starts each value; other text is skipped only as whole lines.
      if (!atLineStart) return undefined;
      const newline = text.indexOf('\n', at);
      const last = skipped[skipped.length - 1];
      if (last !== undefined && last.last === line - 1) last.last = line;
      else skipped.push({ first: line, last: line });
      if (newline === -1) break;
      at = newline;
      continue;
    }
    const start = at;
    const startLine = line;
    let depth = 0;
    let inString = false;
    for (; at < length; at++) {
      const d = text.charCodeAt(at);
      if (d === 0x0a) line++;
      if (inString) {
        if (d === 0x5c) at++; // a backslash escapes the next character
        else if (d === 0x22) inString = false;
      } else if (d === 0x22) inString = true;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0 || at >= length) return undefined;
    at++;
    atLineStart = false;
    values.push({ start, end: at, line: startLine });
  }
  return { values, skipped };
}
