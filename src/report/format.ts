/**
 * Number and text formatting shared by the renderers: durations with a
 * precision that suits their size (and their sign: a negative latency is clock
 * skew, never folded into zero), shares as percentages, counts with their noun,
 * the facts every human format states the same way (what a rule did, which
 * vocabularies read the input, how precise the latencies are), and trace data
 * made safe to print (agent names and messages come from whoever wrote the
 * spans, so they may hold newlines or terminal escapes).
 */
import type { AuditReport, DialectSummary, LatencySummary, RuleStatus, RuleSummary } from '../model/audit-report.js';
import type { Evidence, NotEvaluated } from '../model/finding.js';

/**
 * A duration in milliseconds for a table whose header says "ms": three
 * significant digits below 10 s (`0.42`, `12.3`, `512`, `0`), then with a unit
 * (`12.4 s`, `8.5 min`, `1.7 h`); `<0.01` for a figure too small to show (never
 * `0.00`, which reads as zero), `—` when unknown. The size class is chosen after
 * rounding, so 9.999 is `10.0`, not a four-digit `10.00`.
 */
export function formatMsCell(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  if (ms === 0) return '0';
  if (Math.abs(ms) < 0.005) return ms < 0 ? '>-0.01' : '<0.01';
  if (roundsBelow(ms, 2, 10)) return ms.toFixed(2);
  if (roundsBelow(ms, 1, 100)) return ms.toFixed(1);
  if (roundsBelow(ms, 0, 10_000)) return ms.toFixed(0);
  return withLargeUnit(ms);
}

/** Whether `value` written with `decimals` decimals stays below `limit` in size. */
function roundsBelow(value: number, decimals: number, limit: number): boolean {
  return Math.abs(Number(value.toFixed(decimals))) < limit;
}

/**
 * One table column of durations in milliseconds, every figure with the same
 * decimals so the column reads in one format and its digits line up: as many
 * decimals as the smallest non-zero figure needs for three significant digits
 * (2 below 10 ms, 1 below 100 ms, else none), thousands grouped. A real zero is
 * `0.00` (in that column's decimals), a figure too small to show `<0.01`, an
 * unknown one `—`, so none of the three can be mistaken for another.
 */
export function formatMsColumn(values: readonly (number | undefined | null)[]): string[] {
  let smallest = Infinity;
  for (const value of values) {
    if (value !== undefined && value !== null && Number.isFinite(value) && value !== 0) smallest = Math.min(smallest, Math.abs(value));
  }
  const decimals = smallest < 10 ? 2 : smallest < 100 ? 1 : 0;
  const format = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  const floor = 0.5 * 10 ** -decimals;
  return values.map((value) => {
    if (value === undefined || value === null || !Number.isFinite(value)) return '—';
    // -0 is a real zero too; Intl would print it "-0.00".
    if (value === 0) return format.format(0);
    if (Math.abs(value) < floor) return `${value < 0 ? '>-' : '<'}${format.format(2 * floor)}`;
    return format.format(value);
  });
}

/** A duration in milliseconds for prose: `0.42 ms`, `512 ms`, `12.4 s`, `8.5 min`, `1.7 h`; `—` when unknown. */
export function formatMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  return roundsBelow(ms, 0, 10_000) ? `${formatMsCell(ms)} ms` : withLargeUnit(ms);
}

function withLargeUnit(ms: number): string {
  const seconds = ms / 1000;
  if (roundsBelow(seconds, 1, 600)) return `${seconds.toFixed(1)} s`;
  const minutes = seconds / 60;
  if (roundsBelow(minutes, 1, 120)) return `${minutes.toFixed(1)} min`;
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

// Words that end the noun a reason starts with: "handoffs | without …", "state reads | without …".
const AFTER_NOUN = new Set(
  'without with whose that which who where whom not in on of from to at by for lacking missing having past still under over after before since than because when while'.split(
    ' ',
  ),
);

/** `handoffs` → `handoff`, `entries` → `entry`, `batches` → `batch`; a word that is not a regular plural is kept. */
function singular(word: string): string {
  if (/[^aeiou]ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(ss|x|z|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (/[^su]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/**
 * A count before the plural noun phrase a rule gives as its reason
 * (`NotEvaluated.reason`): `2 handoffs without a budget`, and for one,
 * `1 handoff without a budget` (the phrase's head noun made singular).
 */
export function countedPhrase(count: number, phrase: string): string {
  if (count !== 1) return `${count} ${phrase}`;
  const words = phrase.split(' ');
  // The head noun is the first regular plural before the phrase goes on ("unacknowledged handoffs whose …").
  for (let i = 0; i < Math.min(words.length, 3) && !AFTER_NOUN.has(words[i]!.toLowerCase()); i++) {
    // Punctuation stays where it was: "chains: …" → "chain: …".
    const [, word, punctuation] = /^(.*?)([:;,.]*)$/.exec(words[i]!)!;
    const one = singular(word!);
    if (one !== word) {
      words[i] = one + punctuation!;
      break;
    }
  }
  return `1 ${words.join(' ')}`;
}

/** What a rule could not check, each reason after its count: `1 handoff without …; 3 writes without …`. */
export function notCheckedText(notEvaluated: readonly NotEvaluated[]): string {
  return notEvaluated.map((n) => countedPhrase(n.count, n.reason)).join('; ');
}

/**
 * What a rule did. A rule that was on and checked nothing could not run,
 * whichever of `status` and `couldNotRun` says so: its silence is never a pass.
 */
export function ruleStatus(rule: RuleSummary): RuleStatus {
  if (rule.status === 'off') return 'off';
  return rule.couldNotRun || rule.status === 'could-not-run' ? 'could-not-run' : 'ran';
}

/** Why a rule is off, in every format that lists it. */
export const OFF_REASON = 'switched off by configuration or --rule';

/** The rules that were on (ran or could not run), and those switched off. */
export function rulesByStatus(report: AuditReport): { on: RuleSummary[]; couldNotRun: RuleSummary[]; off: RuleSummary[] } {
  const on: RuleSummary[] = [];
  const couldNotRun: RuleSummary[] = [];
  const off: RuleSummary[] = [];
  for (const rule of report.rules) {
    const status = ruleStatus(rule);
    if (status === 'off') off.push(rule);
    else {
      on.push(rule);
      if (status === 'could-not-run') couldNotRun.push(rule);
    }
  }
  return { on, couldNotRun, off };
}

/** The dialects that claimed spans, as `baton (10), otel-genai (2)`; `''` when none did. */
export function readAsText(dialects: readonly DialectSummary[], name: (id: string) => string = (id) => id): string {
  return dialects
    .filter((d) => d.spans > 0)
    .map((d) => `${name(d.id)} (${d.spans})`)
    .join(', ');
}

/**
 * The warning for input no dialect claimed a span of, naming the vocabularies
 * the report says were tried.
 */
export function noVocabularyText(dialects: readonly DialectSummary[], name: (id: string) => string = (id) => id): string {
  const ids = dialects.map((d) => name(d.id));
  return `No span in any known vocabulary${ids.length > 0 ? ` (${ids.join(', ')} …)` : ''}: the rules had nothing to check. See docs/conventions.md.`;
}

/** At or above this share of whole-millisecond spans, latencies are said to be only millisecond-precise. */
export const WHOLE_MS_SHARE = 0.9;

/**
 * `Latencies are only millisecond-precise: 95% of spans have whole-millisecond
 * times.` when most spans do (exporters that keep only milliseconds), else undefined.
 */
export function precisionNote(report: AuditReport): string | undefined {
  const { spans, wholeMsSpans } = report.inputs;
  if (spans === 0 || !(wholeMsSpans / spans >= WHOLE_MS_SHARE)) return undefined;
  const share = wholeMsSpans === spans ? 'all spans have' : `${formatShare(wholeMsSpans / spans)} of spans have`;
  return `Latencies are only millisecond-precise: ${share} whole-millisecond start and end times.`;
}

/** Every latency and share distribution in the report. */
function summaries(report: AuditReport): (LatencySummary | null)[] {
  const all: (LatencySummary | null)[] = [report.tasks.coordinationShare];
  for (const e of report.edges) all.push(e.latencyMs, e.ackLatencyMs, e.validationMs);
  return all;
}

/** The largest relative error any percentile in the report states (0 when all are exact). */
export function percentileError(report: AuditReport): number {
  let worst = 0;
  for (const s of summaries(report)) if (s && Number.isFinite(s.relativeError) && s.relativeError > worst) worst = s.relativeError;
  return worst;
}

/** `percentiles ±1%` for a relative error of 0.01; undefined when percentiles are exact. */
export function percentileErrorText(report: AuditReport): string | undefined {
  const error = percentileError(report);
  if (error <= 0) return undefined;
  return `percentiles ±${Number((error * 100).toPrecision(2))}%`;
}

/**
 * What the tasks' coordination share is taken over: ` · share of wall time spent coordinating`,
 * or, when tasks run in more trace groups than there are tasks (a task whose processes each start
 * a trace of their own, nothing linking them), ` in 7 trace groups · share of wall time spent
 * coordinating per trace group`: the share is summarized per group, never per task id.
 */
export function tasksPerGroupText(report: AuditReport): string {
  const groups = report.tasks.coordinationShare?.count;
  if (groups === undefined || groups === report.tasks.count) return ' · share of wall time spent coordinating';
  return ` in ${plural(groups, 'trace group')} · share of wall time spent coordinating per trace group`;
}

/** `12 (2 in-process)`: handoffs, and how many of them were in-process transfers. */
export function handoffsText(handoffs: number, transfers: number): string {
  return transfers > 0 ? `${handoffs} (${transfers} in-process)` : String(handoffs);
}

/** The traces a finding's evidence is in, the first one first. */
export function evidenceTraceIds(evidence: Evidence): readonly string[] {
  if (evidence.traceIds.length > 0) return evidence.traceIds;
  return evidence.traceId === '' ? [] : [evidence.traceId];
}

/** Most characters of one trace-given name or message a drawing or a comment shows. */
export const MAX_SHOWN_CHARS = 200;

/**
 * `text` cut to `maxChars` characters (never inside a surrogate pair), saying how
 * many were left out: a 200k-character agent name made a 14.6 MB Markdown report
 * and broke Graphviz (over 16,384 characters). Cut before escaping, so no escape is cut.
 */
export function capped(text: string, maxChars = MAX_SHOWN_CHARS): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${text.slice(0, cut)}…(${text.length - cut} more characters)`;
}

export { printable } from '../model/printable.js';

/** The first agents of a list and how many more: a trace with thousands of failed agents prints one paragraph. */
export function namedAtMost(names: readonly string[], most = 20): string {
  return names.length <= most ? names.join(', ') : `${names.slice(0, most).join(', ')} and ${names.length - most} more`;
}
