/**
 * Helpers for the analyzer tests: build the handoff graph the way the Auditor
 * does (buildHandoffModel → buildHandoffGraph), audit one batch, and derive
 * variants of committed fixtures without touching the files (drop spans, strip
 * or set attributes) to show what a rule does when its evidence is missing.
 *
 * The committed fixtures are never edited; every variant here is a fresh copy.
 */
import { auditSpans, type AuditOptions } from '../../src/analyze/audit.js';
import { buildHandoffGraph } from '../../src/analyze/build-graph.js';
import { buildHandoffModel } from '../../src/analyze/build-model.js';
import { DETECTORS, type RuleId } from '../../src/analyze/detectors/index.js';
import { expect } from 'vitest';
import { BATON_OPERATION } from '../../src/model/attributes.js';
import type { AuditReport, RuleSummary } from '../../src/model/audit-report.js';
import type { NotEvaluated } from '../../src/model/finding.js';
import type { HandoffGraph } from '../../src/model/handoff-model.js';
import type { AttributeValue, SpanRecord } from '../../src/model/span-record.js';

/** The graph of one trace group, built exactly as Auditor#analyzeGroup builds it. */
export function graphOf(spans: readonly SpanRecord[]): HandoffGraph {
  return buildHandoffGraph(buildHandoffModel(spans));
}

/** Audits `spans` as one batch. */
export function auditOne(spans: readonly SpanRecord[], options: AuditOptions = {}): Promise<AuditReport> {
  return auditSpans([spans], options);
}

/** The summary of `ruleId` in a report; throws if the rule did not run. */
export function ruleOf(report: AuditReport, ruleId: RuleId): RuleSummary {
  const rule = report.rules.find((r) => r.ruleId === ruleId);
  if (!rule) throw new Error(`rule ${ruleId} is not in the report`);
  return rule;
}

/** Expects the report to say `ruleId` could not run: it checked nothing, with these reasons, rather than passing. */
export function expectCouldNotRun(report: AuditReport, ruleId: RuleId, notEvaluated: readonly NotEvaluated[]): void {
  expect(ruleOf(report, ruleId)).toEqual({
    ruleId,
    description: DETECTORS[ruleId].description,
    severity: DETECTORS[ruleId].maxSeverity,
    status: 'could-not-run',
    findings: 0,
    checked: 0,
    notEvaluated,
    couldNotRun: true,
  });
}

/** Copies of the spans with `keys` removed from the attributes of every span that `where` accepts. */
export function stripAttributes(
  spans: readonly SpanRecord[],
  keys: readonly string[],
  where: (span: SpanRecord) => boolean = () => true,
): SpanRecord[] {
  return spans.map((span) => {
    if (!where(span)) return span;
    const attributes: Record<string, AttributeValue> = { ...span.attributes };
    for (const key of keys) delete attributes[key];
    return { ...span, attributes };
  });
}

/** Copies of the spans with `attributes` set on the span `spanId` (throws if it is absent). */
export function setAttributes(
  spans: readonly SpanRecord[],
  spanId: string,
  attributes: Readonly<Record<string, AttributeValue>>,
): SpanRecord[] {
  if (!spans.some((s) => s.spanId === spanId)) throw new Error(`no span ${spanId}`);
  return spans.map((span) => (span.spanId === spanId ? { ...span, attributes: { ...span.attributes, ...attributes } } : span));
}

/** The spans without those whose id is listed (throws if one is absent, so a stale id cannot pass silently). */
export function withoutSpans(spans: readonly SpanRecord[], spanIds: readonly string[]): SpanRecord[] {
  for (const id of spanIds) if (!spans.some((s) => s.spanId === id)) throw new Error(`no span ${id}`);
  return spans.filter((s) => !spanIds.includes(s.spanId));
}

/** Spans whose `baton.operation` is `operation`. */
export function spansOf(spans: readonly SpanRecord[], operation: string): SpanRecord[] {
  return spans.filter((s) => s.attributes[BATON_OPERATION] === operation);
}

/** Accepts the spans whose `baton.operation` is one of `operations`. */
export function isOperation(...operations: string[]): (span: SpanRecord) => boolean {
  return (span) => operations.includes(span.attributes[BATON_OPERATION] as string);
}

/** Inputs every detector must refuse before looking at them (graphology-dag style input checks). */
export function invalidGraphs(): [string, unknown][] {
  const model = buildHandoffModel([]);
  const { graph } = buildHandoffGraph(model);
  return [
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['an empty object', {}],
    ['a bare HandoffModel (not passed through buildHandoffGraph)', model],
    ['a graph without its model', { graph }],
    ['a model without its graph', { model }],
  ];
}
