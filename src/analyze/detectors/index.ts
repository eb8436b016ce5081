/**
 * The detectors by rule id, as vitest's ReportersMap names its reporters:
 * `--rule` and baton.config.json read this map.
 */
import type { DetectorResult, Severity } from '../../model/finding.js';
import type { HandoffGraph } from '../../model/handoff-model.js';
import { detectAckTimeouts, RULE as ACK_TIMEOUT, type AckTimeoutOptions } from './ack-timeout.js';
import { detectContextBlowup, RULE as CONTEXT_BLOWUP, type ContextBlowupOptions } from './context-blowup.js';
import { detectContextLoss, RULE as CONTEXT_LOSS } from './context-loss.js';
import { detectDependencyCycles, RULE as DEPENDENCY_CYCLE, type DependencyCycleOptions } from './dependency-cycle.js';
import { detectDuplicateWrites, RULE as DUPLICATE_WRITE } from './duplicate-write.js';
import { detectPartialHandoffs, RULE as PARTIAL_HANDOFF, type PartialHandoffOptions } from './partial-handoff.js';
import { detectSchemaDrift, RULE as SCHEMA_DRIFT } from './schema-drift.js';
import { detectStaleEpochReads, RULE as STALE_EPOCH_READ, type StaleEpochReadOptions } from './stale-epoch-read.js';
import { detectUnlinkedHandoffs, RULE as UNLINKED_HANDOFF } from './unlinked-handoff.js';

/** Options per rule, as baton.config.json's `rules` holds them. */
export interface RuleOptionsMap {
  [DEPENDENCY_CYCLE]: DependencyCycleOptions;
  [STALE_EPOCH_READ]: StaleEpochReadOptions;
  [DUPLICATE_WRITE]: Record<string, never>;
  [PARTIAL_HANDOFF]: PartialHandoffOptions;
  [ACK_TIMEOUT]: AckTimeoutOptions;
  [SCHEMA_DRIFT]: Record<string, never>;
  [CONTEXT_BLOWUP]: ContextBlowupOptions;
  [CONTEXT_LOSS]: Record<string, never>;
  [UNLINKED_HANDOFF]: Record<string, never>;
}

export type RuleId = keyof RuleOptionsMap;

export interface DetectorEntry<R extends RuleId> {
  readonly detect: (graph: HandoffGraph, options: RuleOptionsMap[R]) => DetectorResult;
  /** One line for `--help` and reports. */
  readonly description: string;
  /** The worst severity the rule reports. */
  readonly maxSeverity: Severity;
}

/** Every detector, in report order. */
export const DETECTORS: { readonly [R in RuleId]: DetectorEntry<R> } = {
  [DEPENDENCY_CYCLE]: {
    detect: detectDependencyCycles,
    description: 'agents waiting on each other (deadlock) or handoffs going round a loop',
    maxSeverity: 'error',
  },
  [STALE_EPOCH_READ]: {
    detect: detectStaleEpochReads,
    description: 'state read at a version or epoch older than one already committed',
    maxSeverity: 'error',
  },
  [DUPLICATE_WRITE]: {
    detect: detectDuplicateWrites,
    description: 'one logical write committed by more than one attempt',
    maxSeverity: 'error',
  },
  [PARTIAL_HANDOFF]: {
    detect: detectPartialHandoffs,
    description: 'a write whose completion event never went out, or an event nobody consumed',
    maxSeverity: 'error',
  },
  [ACK_TIMEOUT]: {
    detect: detectAckTimeouts,
    description: 'a handoff acknowledged after its timeout budget, or never',
    maxSeverity: 'error',
  },
  [SCHEMA_DRIFT]: {
    detect: detectSchemaDrift,
    description: 'sender and receiver on different envelope schema versions, or a failed validation',
    maxSeverity: 'error',
  },
  [CONTEXT_BLOWUP]: {
    detect: detectContextBlowup,
    description: 'context growing too fast along a chain, or past a budget',
    maxSeverity: 'error',
  },
  [CONTEXT_LOSS]: {
    detect: detectContextLoss,
    description: 'a handoff that drops decisions_made or constraints',
    maxSeverity: 'warning',
  },
  [UNLINKED_HANDOFF]: {
    detect: detectUnlinkedHandoffs,
    description: 'a receive not linked to its send: trace context lost on the way',
    maxSeverity: 'warning',
  },
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
  PARTIAL_HANDOFF,
  SCHEMA_DRIFT,
  STALE_EPOCH_READ,
  UNLINKED_HANDOFF,
};
