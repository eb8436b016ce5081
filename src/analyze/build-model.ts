/**
 * Builds the HandoffModel of one trace group: each span goes to the first
 * dialect (in priority order) that claims it, each dialect interprets its
 * spans into parts, and the shared assembly turns all parts into one model.
 * Spans no dialect claims are kept only as timing (TimedSpan).
 */
import type { DialectUsage, HandoffModel } from '../model/handoff-model.js';
import type { SpanRecord } from '../model/span-record.js';
import { assembleHandoffModel, type DialectParts } from './assemble.js';
import type { Dialect, DialectResult, IgnoredSpan } from './dialects/dialect.js';
import { DIALECTS } from './dialects/index.js';
import { SpanIndex } from './span-index.js';

/** Options of {@link buildHandoffModel}. */
export interface BuildModelOptions {
  /** Dialects to try, in priority order. Default: every registered dialect. */
  readonly dialects?: readonly Dialect[];
  /** Called with each span a dialect claimed but could not use, and why (for `--explain`). */
  readonly onIgnored?: (dialect: string, ignored: IgnoredSpan) => void;
  /** Called once per dialect that claimed spans, with what it claimed and made of them (for `--explain`). */
  readonly onInterpreted?: (dialect: string, claimed: readonly SpanRecord[], result: DialectResult) => void;
}

/**
 * Builds the model of one trace group. Pure: the spans are read, never changed.
 * Records are sorted by start time, then span id.
 */
export function buildHandoffModel(spans: readonly SpanRecord[], options: BuildModelOptions = {}): HandoffModel {
  const dialects = options.dialects ?? DIALECTS;
  const claimed: SpanRecord[][] = dialects.map(() => []);
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    for (let d = 0; d < dialects.length; d++) {
      if (dialects[d]!.claims(span)) {
        claimed[d]!.push(span);
        break;
      }
    }
  }
  const index = new SpanIndex(spans);
  const byDialect: DialectParts[] = [];
  const usage: DialectUsage[] = [];
  const versions = new Set<string>();
  // Spans each dialect used, told apart by position (the index's) and stamped with the dialect's
  // turn: one array for the group rather than a set of ids per dialect.
  let used: Int32Array | undefined;
  let turn = 0;
  for (let d = 0; d < dialects.length; d++) {
    const mine = claimed[d]!;
    if (mine.length === 0) continue;
    const dialect = dialects[d]!;
    const result = dialect.interpret(mine, index);
    byDialect.push({ dialect: dialect.id, parts: result.parts });
    used ??= new Int32Array(spans.length);
    turn++;
    let interpreted = 0;
    let elsewhere: Set<string> | undefined;
    const parts = result.parts;
    for (let i = 0; i < parts.length; i++) {
      const id = parts[i]!.span.spanId;
      const at = index.positionOf(id);
      if (at === -1) (elsewhere ??= new Set()).add(id);
      else if (used[at] !== turn) {
        used[at] = turn;
        interpreted++;
      }
    }
    usage.push({ id: dialect.id, spans: mine.length, interpreted: interpreted + (elsewhere?.size ?? 0) });
    if (result.versions) for (const v of result.versions) versions.add(v);
    if (options.onIgnored) for (const ignored of result.ignored) options.onIgnored(dialect.id, ignored);
    options.onInterpreted?.(dialect.id, mine, result);
  }
  return assembleHandoffModel(spans, index, byDialect, usage, versions.size > 0 ? [...versions].sort() : []);
}
