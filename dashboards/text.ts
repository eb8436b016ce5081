/**
 * Text helpers the panels share: trace text made printable and cut to a column
 * width (by code point, so a cut never splits a surrogate pair), ages, counts,
 * and the sparkline and histogram glyphs.
 */
import { formatMsCell, printable } from '../src/report/format.js';

/** Trace text, escaped (no control or bidi characters reach the terminal) and cut to `width` with an ellipsis. */
export function cell(text: string, width: number): string {
  const safe = [...printable(text)];
  if (width <= 0) return '';
  if (safe.length <= width) return safe.join('');
  return `${safe.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** `cell` padded to exactly `width` (left-aligned). */
export function padCell(text: string, width: number): string {
  const cut = cell(text, width);
  return cut + ' '.repeat(Math.max(0, width - [...cut].length));
}

/** A number or duration right-aligned in `width`. */
export function right(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width) : ' '.repeat(width - text.length) + text;
}

/** `1,234`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A rate: `0`, `0.4`, `12`, `1.2k`. */
export function rate(n: number): string {
  if (n === 0) return '0';
  // A trickle (one span a minute) is not "0/s": that reads as nothing arriving.
  if (n < 0.05) return '<0.1';
  if (n < 10) return n.toFixed(1).replace(/\.0$/, '');
  if (n < 10_000) return n.toFixed(0);
  return `${(n / 1000).toFixed(1)}k`;
}

/** A latency cell: formatMsCell, `—` when unknown. */
export function ms(value: number | null): string {
  return formatMsCell(value);
}

/** How long ago, compactly: `now`, `4s`, `3m`, `2h`; `—` when unknown. */
export function ago(atMs: number | null, nowMs: number): string {
  if (atMs === null || !Number.isFinite(atMs)) return '—';
  const s = Math.max(0, Math.round((nowMs - atMs) / 1000));
  if (s < 1) return 'now';
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

const BARS = '▁▂▃▄▅▆▇█';

/** The last `width` values as a sparkline scaled between their min and max. */
export function sparkline(values: readonly number[], width: number): string {
  if (width <= 0 || values.length === 0) return '';
  const shown = values.slice(-width);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of shown) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  let out = '';
  for (const v of shown) out += BARS[span > 0 ? Math.min(7, Math.floor(((v - lo) / span) * 8)) : 0];
  return out;
}

/** One histogram bucket: values in [lowMs, highMs). */
export interface Bucket {
  readonly lowMs: number;
  readonly highMs: number;
  readonly count: number;
}

/**
 * Values in at most `buckets` log-spaced buckets (latencies span orders of
 * magnitude); negative values (clock skew) get a bucket of their own.
 */
export function histogram(values: readonly number[], buckets: number): Bucket[] {
  const positive = values.filter((v) => v >= 0);
  const negative = values.length - positive.length;
  const out: Bucket[] = [];
  if (negative > 0) out.push({ lowMs: Number.NEGATIVE_INFINITY, highMs: 0, count: negative });
  if (positive.length === 0) return out;
  const lo = Math.max(0.001, Math.min(...positive));
  const hi = Math.max(...positive);
  if (hi <= lo) {
    out.push({ lowMs: lo, highMs: hi, count: positive.length });
    return out;
  }
  const n = Math.max(1, buckets);
  const ratio = Math.pow(hi / lo, 1 / n);
  const counts = new Array<number>(n).fill(0);
  for (const v of positive) {
    const i = v <= lo ? 0 : Math.min(n - 1, Math.floor(Math.log(v / lo) / Math.log(ratio)));
    counts[i]!++;
  }
  for (let i = 0; i < n; i++) out.push({ lowMs: lo * Math.pow(ratio, i), highMs: lo * Math.pow(ratio, i + 1), count: counts[i]! });
  return out;
}
