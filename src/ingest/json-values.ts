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

/**
 * The top-level values of `text` in order, or undefined when it is not a sequence
 * of objects and arrays (a scalar at the top, a bracket that does not close).
 */
export function concatenatedJsonValues(text: string): JsonValueSpan[] | undefined {
  const values: JsonValueSpan[] = [];
  let line = 1;
  let at = 0;
  const length = text.length;
  while (at < length) {
    const c = text.charCodeAt(at);
    if (c === 0x0a) {
      line++;
      at++;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d) {
      at++;
      continue;
    }
    if (c !== 0x7b && c !== 0x5b) return undefined; // `{` or `[` starts each value
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
    values.push({ start, end: at, line: startLine });
  }
  return values;
}
