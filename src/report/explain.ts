/**
 * `baton audit --explain` as text: per trace group, the dialect that read it,
 * each interpreted span with what it became, each ignored span with the reason
 * its dialect gave, spans no dialect knew, parents missing from the data, and
 * every edge with how it was known (declared by the spans, or inferred from
 * their structure). Everything from the traces goes through `printable`.
 */
import type { TraceExplanation } from '../model/audit-report.js';
import { plural, printable } from './format.js';
import { MIN_WRAP_CHARS, wrapHanging } from './table.js';

/** Options of {@link renderExplainText}. */
export interface ExplainTextOptions {
  /** Trace groups left out past the report's cap (AuditReport.explainTruncated). Default 0. */
  readonly truncated?: number;
  /**
   * Columns to fit: a longer line wraps under a hanging indent (a span's reason under its name).
   * Default: no wrapping.
   */
  readonly width?: number;
}

function edgeHow(declared: number, inferred: number): string {
  if (inferred === 0) return 'declared';
  if (declared === 0) return 'inferred';
  return `${declared} declared, ${inferred} inferred`;
}

/** The explanations as text, one block per trace group. */
export function renderExplainText(explanations: readonly TraceExplanation[], options: ExplainTextOptions = {}): string {
  const lines: string[] = [`Explain  ${plural(explanations.length, 'trace group')}`];
  const width = options.width;
  // Every line goes through here: `lead` is its fixed start, `text` what may wrap, under `lead`'s width.
  const out = {
    push(line: string, lead = /^ */.exec(line)![0], hang = `${lead}  `): void {
      if (width === undefined || [...line].length <= width) {
        lines.push(line);
        return;
      }
      // On a terminal too narrow for the hang (a span line's is 22 columns), a short hang and words kept
      // whole: wrapping into a column of single characters lost the text's spaces and meaning.
      const fits = width - hang.length >= MIN_WRAP_CHARS;
      const indent = fits ? hang : hang.slice(0, Math.min(hang.length, 6));
      lines.push(...wrapHanging(line.slice(lead.length), width, lead, indent));
    },
  };
  const spanLine = (spanId: string, rest: string): void => {
    const lead = `    ${spanId}  `;
    out.push(`${lead}${rest}`, lead, ' '.repeat(lead.length));
  };
  for (const group of explanations) {
    lines.push('');
    const traces = group.traceIds.length > 1 ? `trace ${printable(group.traceIds[0]!)} and ${group.traceIds.length - 1} linked` : `trace ${printable(group.traceIds[0] ?? '?')}`;
    const readAs = group.dialects.map((d) => `${printable(d.id)} (${d.claimed})`).join(', ');
    out.push(`${traces} · ${plural(group.spans, 'span')} · ${group.dialect === null ? 'no dialect claimed a span' : `read as ${printable(group.dialect)}${group.dialects.length > 1 ? ` (claimed: ${readAs})` : ''}`}`);
    if (group.error !== undefined) out.push(`  ✖ could not be analyzed: ${printable(group.error)}`);
    if (group.interpreted.length > 0) {
      out.push('  interpreted');
      for (const span of group.interpreted) spanLine(span.spanId, `${printable(span.name)}  → ${printable(span.readAs ?? '')}${group.dialects.length > 1 ? `  [${printable(span.dialect)}]` : ''}`);
    }
    if (group.ignored.length > 0) {
      out.push('  ignored');
      for (const span of group.ignored) spanLine(span.spanId, `${printable(span.name)}: ${printable(span.reason ?? '')}${group.dialects.length > 1 ? `  [${printable(span.dialect)}]` : ''}`);
    }
    if (group.omitted > 0) out.push(`  … ${plural(group.omitted, 'more span')} not listed`);
    if (group.unclaimed.count > 0) {
      out.push(
        `  not in any known vocabulary (timing only): ${plural(group.unclaimed.count, 'span')}${group.unclaimed.names.length > 0 ? ` (${group.unclaimed.names.map(printable).join(', ')}${group.unclaimed.count > group.unclaimed.names.length ? ', …' : ''})` : ''}`,
      );
    }
    if (group.missingParents.count > 0) {
      out.push(
        `  missing parents: ${plural(group.missingParents.count, 'parent span')} not in the data (${group.missingParents.spanIds.map(printable).join(', ')}${group.missingParents.count > group.missingParents.spanIds.length ? ', …' : ''}): their spans are read without what encloses them`,
      );
    }
    if (group.edges.length === 0) {
      // Point at what the listing shows: the ignored spans' reasons, else the spans no dialect read.
      const why =
        group.ignored.length > 0 || group.omitted > 0
          ? 'the ignored spans above say why'
          : group.unclaimed.count > 0
            ? 'no span was read as a handoff, and the others are in no known vocabulary'
            : 'no span of this group was read as a handoff or a transfer';
      out.push(group.error === undefined ? `  edges: none (no handoff was read; ${why})` : '  edges: not read');
    } else {
      out.push('  edges');
      for (const edge of group.edges) {
        out.push(`    ${printable(edge.source)} → ${printable(edge.target)}  ${plural(edge.handoffs, 'handoff')}, ${edgeHow(edge.declared, edge.inferred)} (${edge.dialects.map(printable).join(', ')})`);
      }
    }
  }
  if ((options.truncated ?? 0) > 0) lines.push('', `… ${plural(options.truncated!, 'more trace group')} not explained (cap reached)`);
  return `${lines.join('\n')}\n`;
}
