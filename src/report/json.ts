/**
 * The machine-readable report: the AuditReport itself, as documented by
 * docs/audit-report.schema.json (its `reportVersion` changes on any breaking change).
 */
import type { AuditReport } from '../model/audit-report.js';

/** The report as indented JSON. */
export function renderJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
