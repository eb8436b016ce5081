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
  for (let d = 0; d < dialects.length; d++) {
    const mine = claimed[d]!;
    if (mine.length === 0) continue;
    const dialect = dialects[d]!;
    const result = dialect.interpret(mine, index);
    byDialect.push({ dialect: dialect.id, parts: result.parts });
    const used = new Set<string>();
    for (const part of result.parts) used.add(part.span.spanId);
    usage.push({ id: dialect.id, spans: mine.length, interpreted: used.size });
    if (result.versions) for (const v of result.versions) versions.add(v);
    if (options.onIgnored) for (const ignored of result.ignored) options.onIgnored(dialect.id, ignored);
    options.onInterpreted?.(dialect.id, mine, result);
  }
  const model = assembleHandoffModel(spans, index, byDialect, usage);
  return versions.size > 0 ? { ...model, conventionsVersions: [...versions].sort() } : model;
}
