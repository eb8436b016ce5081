/**
 * Number and text formatting shared by the renderers: durations with a
 * precision that suits their size, shares as percentages, counts with their
 * noun, and trace data made safe to print (agent names and messages come from
 * whoever wrote the spans, so they may hold newlines or terminal escapes).
 */

/**
 * A duration in milliseconds for a table whose header says "ms": three
 * significant digits below 10 s (`0.42`, `12.3`, `512`, `0`), then with a unit
 * (`12.4 s`, `8.5 min`, `1.7 h`); `—` when unknown.
 */
export function formatMsCell(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  const size = Math.abs(ms);
  if (size >= 10_000) return withLargeUnit(ms);
  if (ms === 0) return '0';
  if (size >= 100) return ms.toFixed(0);
  if (size >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

/** A duration in milliseconds for prose: `0.42 ms`, `512 ms`, `12.4 s`, `8.5 min`, `1.7 h`; `—` when unknown. */
export function formatMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  return Math.abs(ms) >= 10_000 ? withLargeUnit(ms) : `${formatMsCell(ms)} ms`;
}

function withLargeUnit(ms: number): string {
  const seconds = ms / 1000;
  if (Math.abs(seconds) < 600) return `${seconds.toFixed(1)} s`;
  const minutes = seconds / 60;
  if (Math.abs(minutes) < 120) return `${minutes.toFixed(1)} min`;
  return `${(minutes / 60).toFixed(1)} h`;
}

/** A 0..1 share as a percentage: `37%`, `0.4%`, `—` when unknown. */
export function formatShare(share: number | undefined | null): string {
  if (share === undefined || share === null || !Number.isFinite(share)) return '—';
  const percent = share * 100;
  return `${percent > 0 && percent < 1 ? percent.toFixed(1) : percent.toFixed(0)}%`;
}

/** Epoch milliseconds as ISO 8601 UTC with milliseconds, or `—` when unknown (0). */
export function formatTime(ms: number): string {
  return ms > 0 && Number.isFinite(ms) && ms < 8.64e15 ? new Date(ms).toISOString() : '—';
}

/** `1 error`, `2 errors`; `irregular` for nouns that do not take an s. */
export function plural(count: number, noun: string, irregular?: string): string {
  return `${count} ${count === 1 ? noun : (irregular ?? `${noun}s`)}`;
}

// C0 and C1 controls, DEL, lone surrogates, and the bidirectional overrides and
// isolates that can make a terminal show text in a different order than it is
// (CVE-2021-42574, "Trojan Source").
// eslint-disable-next-line no-control-regex
const UNPRINTABLE =
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Trace data made printable on one line: a newline becomes `\n`, a tab `\t`,
 * any other control or bidi character `\u001b`-style, so a hostile agent name
 * can neither break a layout nor send escape sequences to a terminal.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
