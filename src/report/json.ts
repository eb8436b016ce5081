/**
 * The machine-readable report: the AuditReport itself, as documented by
 * docs/audit-report.schema.json (its `reportVersion` changes on any breaking change).
 *
 * JSON.stringify escapes C0 controls and lone surrogates but writes C1 controls,
 * bidirectional overrides and line separators from trace text as they are, and a
 * report piped to a terminal or shown in a review tool can then be made to read
 * differently than it is (CVE-2021-42574). They are written as `\uXXXX` escapes:
 * outside strings JSON text is ASCII, so every such character is inside a string,
 * and a parser reads the same value back.
 */
import type { AuditReport } from '../model/audit-report.js';

// C1 controls and DEL, the line and paragraph separators, bidi embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The report as indented JSON. */
export function renderJson(report: AuditReport): string {
  return `${escapeJsonText(JSON.stringify(report, null, 2))}\n`;
}

/** JSON text with the characters above as `\uXXXX` escapes; the value it parses to is unchanged. */
export function escapeJsonText(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
