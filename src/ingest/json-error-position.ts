/**
 * Where a JSON.parse failure is, as line and column, for one-line error messages.
 *
 * V8 names the offset for most syntax errors ("... in JSON at position 42") but
 * not for an unexpected token, where it quotes the text instead. There the offset
 * is found by bisection over prefixes: a prefix that ends before the error is
 * either valid JSON or fails only at its end, and every longer prefix contains
 * the error, so the predicate is monotone.
 */

/** Texts longer than this are not bisected (each probe re-parses a prefix). */
const MAX_BISECT_CHARS = 16 * 1024 * 1024;

export interface TextPosition {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units. */
  readonly column: number;
}

/** The character offset of the syntax error JSON.parse raised on `text`, when it can be told. */
export function jsonErrorOffset(text: string, error: Error): number | undefined {
  const named = /at position (\d+)/.exec(error.message);
  if (named) return Number(named[1]);
  if (/Unexpected end of JSON input/.test(error.message)) return text.length;
  if (text.length > MAX_BISECT_CHARS) return undefined;
  let good = 0;
  let bad = text.length;
  while (bad - good > 1) {
    const middle = (good + bad) >>> 1;
    if (failsBefore(text, middle)) bad = middle;
    else good = middle;
  }
  return good;
}

/** True when the first `length` characters already contain the error (not just an early end). */
function failsBefore(text: string, length: number): boolean {
  try {
    JSON.parse(text.slice(0, length));
    return false;
  } catch (error) {
    const message = (error as Error).message;
    if (/Unexpected end of JSON input/.test(message)) return false;
    const named = /at position (\d+)/.exec(message);
    return named ? Number(named[1]) < length : true;
  }
}

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** V8's message without the offset and the quoted text, which the location replaces. */
export function jsonErrorReason(error: Error): string {
  return error.message
    .replace(/ (in JSON )?at position \d+.*$/s, '')
    .replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '')
    .replace(/\s*\(line \d+ column \d+\)$/, '');
}
