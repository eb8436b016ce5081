/**
 * `baton-cli/analyze`: from spans to a handoff graph, findings and coordination cost.
 * Pure: no files, sockets, process or clock (src/ingest reads files; the CLI prints).
 * What a user calls: the Auditor (or auditSpans for one batch), the rule and
 * dialect registries, and, to run one rule on one graph, buildHandoffModel +
 * buildHandoffGraph + `DETECTORS[id].detect`. Sketches, indexes and sort
 * helpers stay internal so they can change.
 */
export { Auditor, auditSpans, hasFindingsAtOrAbove } from './audit.js';
export type { AuditOptions, AuditUpdate, RuleSettings } from './audit.js';
export { buildHandoffModel } from './build-model.js';
export type { BuildModelOptions } from './build-model.js';
export { buildHandoffGraph } from './build-graph.js';
export { DIALECTS, DIALECT_IDS } from './dialects/index.js';
export type {
  AckPart,
  AgentRunPart,
  DeliveryPart,
  Dialect,
  DialectContext,
  DialectResult,
  EventPart,
  HandoffPart,
  IgnoredSpan,
  ReceivePart,
  SendPart,
  StateAccessPart,
  TransferPart,
} from './dialects/dialect.js';
export type { RuleDefinition, RuleRun } from './detectors/rule.js';
export type { EdgeDelta } from './latency.js';
export { DETECTORS, RULE_IDS, isRuleId } from './detectors/index.js';
export type { DetectorEntry, RuleId, RuleOptionsMap } from './detectors/index.js';
export type { AckTimeoutOptions } from './detectors/ack-timeout.js';
export type { ContextBlowupOptions } from './detectors/context-blowup.js';
export type { AllowedLoop, DependencyCycleOptions } from './detectors/dependency-cycle.js';
export type { PartialHandoffOptions } from './detectors/partial-handoff.js';
export type { StaleEpochReadOptions } from './detectors/stale-epoch-read.js';
export type { DetectorResult, Evidence, Finding, NotEvaluated, Severity } from '../model/finding.js';
export { AUDIT_REPORT_VERSION } from '../model/audit-report.js';
export type {
  AuditReport,
  CriticalPathSegment,
  EdgeStats,
  ExplainedEdge,
  ExplainedSpan,
  InputProblem,
  LatencySummary,
  RuleSummary,
  TaskSummary,
  TraceExplanation,
} from '../model/audit-report.js';
export type {
  AgentRunRecord,
  EventRecord,
  Handoff,
  HandoffAck,
  HandoffDelivery,
  HandoffGraph,
  HandoffModel,
  HandoffReceive,
  HandoffSend,
  StateAccessRecord,
  TimedSpan,
} from '../model/handoff-model.js';
export type { AttributeValue, SpanRecord } from '../model/span-record.js';
