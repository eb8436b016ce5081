/**
 * The rules by id, as vitest's ReportersMap names its reporters: `--rule` and
 * baton.config.json read this map. Each rule is one file exporting its
 * RuleDefinition (./rule.ts) and a pure detect function.
 */
import type { DetectorResult, Severity } from '../../model/finding.js';
import type { HandoffGraph } from '../../model/handoff-model.js';
import { ackTimeoutRule, detectAckTimeouts, RULE as ACK_TIMEOUT, type AckTimeoutOptions } from './ack-timeout.js';
import { contextBlowupRule, detectContextBlowup, RULE as CONTEXT_BLOWUP, type ContextBlowupOptions } from './context-blowup.js';
import { contextLossRule, detectContextLoss, RULE as CONTEXT_LOSS } from './context-loss.js';
import {
  dependencyCycleRule,
  detectDependencyCycles,
  RULE as DEPENDENCY_CYCLE,
  type DependencyCycleOptions,
} from './dependency-cycle.js';
import { detectDuplicateWrites, duplicateWriteRule, RULE as DUPLICATE_WRITE } from './duplicate-write.js';
import { detectLostUpdates, lostUpdateRule, RULE as LOST_UPDATE } from './lost-update.js';
import { detectPartialHandoffs, partialHandoffRule, RULE as PARTIAL_HANDOFF, type PartialHandoffOptions } from './partial-handoff.js';
import type { RuleDefinition } from './rule.js';
import { detectSchemaDrift, RULE as SCHEMA_DRIFT, schemaDriftRule } from './schema-drift.js';
import { detectStaleEpochReads, RULE as STALE_EPOCH_READ, staleEpochReadRule, type StaleEpochReadOptions } from './stale-epoch-read.js';
import { detectUndeliveredHandoffs, RULE as UNDELIVERED_HANDOFF, undeliveredHandoffRule } from './undelivered-handoff.js';
import { detectUnlinkedHandoffs, RULE as UNLINKED_HANDOFF, unlinkedHandoffRule } from './unlinked-handoff.js';

/** Options per rule, as baton.config.json's `rules` holds them. */
export interface RuleOptionsMap {
  [DEPENDENCY_CYCLE]: DependencyCycleOptions;
  [STALE_EPOCH_READ]: StaleEpochReadOptions;
  [DUPLICATE_WRITE]: Record<string, never>;
  [LOST_UPDATE]: Record<string, never>;
  [PARTIAL_HANDOFF]: PartialHandoffOptions;
  [ACK_TIMEOUT]: AckTimeoutOptions;
  [SCHEMA_DRIFT]: Record<string, never>;
  [CONTEXT_BLOWUP]: ContextBlowupOptions;
  [CONTEXT_LOSS]: Record<string, never>;
  [UNDELIVERED_HANDOFF]: Record<string, never>;
  [UNLINKED_HANDOFF]: Record<string, never>;
}

export type RuleId = keyof RuleOptionsMap;

export interface DetectorEntry<R extends RuleId> {
  /** The rule over one graph taken as the whole input (tests, library use). */
  readonly detect: (graph: HandoffGraph, options: RuleOptionsMap[R]) => DetectorResult;
  /** The rule over a whole input, group by group (the Auditor). */
  readonly rule: RuleDefinition<RuleOptionsMap[R]>;
  /** One line for `--help` and reports. */
  readonly description: string;
  /** The worst severity the rule reports. */
  readonly maxSeverity: Severity;
}

function entry<R extends RuleId>(
  rule: RuleDefinition<RuleOptionsMap[R]>,
  detect: (graph: HandoffGraph, options: RuleOptionsMap[R]) => DetectorResult,
): DetectorEntry<R> {
  return { detect, rule, description: rule.description, maxSeverity: rule.severity };
}

/** Every rule, in report order. */
export const DETECTORS: { readonly [R in RuleId]: DetectorEntry<R> } = {
  [DEPENDENCY_CYCLE]: entry<typeof DEPENDENCY_CYCLE>(dependencyCycleRule, detectDependencyCycles),
  [STALE_EPOCH_READ]: entry<typeof STALE_EPOCH_READ>(staleEpochReadRule, detectStaleEpochReads),
  [DUPLICATE_WRITE]: entry<typeof DUPLICATE_WRITE>(duplicateWriteRule, detectDuplicateWrites),
  [LOST_UPDATE]: entry<typeof LOST_UPDATE>(lostUpdateRule, detectLostUpdates),
  [PARTIAL_HANDOFF]: entry<typeof PARTIAL_HANDOFF>(partialHandoffRule, detectPartialHandoffs),
  [ACK_TIMEOUT]: entry<typeof ACK_TIMEOUT>(ackTimeoutRule, detectAckTimeouts),
  [SCHEMA_DRIFT]: entry<typeof SCHEMA_DRIFT>(schemaDriftRule, detectSchemaDrift),
  [CONTEXT_BLOWUP]: entry<typeof CONTEXT_BLOWUP>(contextBlowupRule, detectContextBlowup),
  [CONTEXT_LOSS]: entry<typeof CONTEXT_LOSS>(contextLossRule, detectContextLoss),
  [UNDELIVERED_HANDOFF]: entry<typeof UNDELIVERED_HANDOFF>(undeliveredHandoffRule, detectUndeliveredHandoffs),
  [UNLINKED_HANDOFF]: entry<typeof UNLINKED_HANDOFF>(unlinkedHandoffRule, detectUnlinkedHandoffs),
};

/** Rule ids in report order. */
export const RULE_IDS = Object.keys(DETECTORS) as RuleId[];

export function isRuleId(value: string): value is RuleId {
  return Object.hasOwn(DETECTORS, value);
}

export {
  ACK_TIMEOUT,
  CONTEXT_BLOWUP,
  CONTEXT_LOSS,
  DEPENDENCY_CYCLE,
  DUPLICATE_WRITE,
  LOST_UPDATE,
  PARTIAL_HANDOFF,
  SCHEMA_DRIFT,
  STALE_EPOCH_READ,
  UNDELIVERED_HANDOFF,
  UNLINKED_HANDOFF,
};
