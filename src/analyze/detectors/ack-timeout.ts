/**
 * ack-timeout: a handoff acknowledged after its timeout budget, or never
 * acknowledged although the budget has run out by `now` (the end of the data's
 * horizon for files, the wall clock for a live view).
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf, formatMs } from './evidence.js';

export const RULE = 'ack-timeout' as const;

export interface AckTimeoutOptions {
  /** The time the data ends at; a handoff is overdue when now − send > budget. Default: the horizon's end. */
  readonly now?: number;
  /**
   * Budget for handoffs that declare none (traces from apps without Baton rarely do).
   * Default: none, and such handoffs are reported as not evaluated rather than on time.
   */
  readonly defaultBudgetMs?: number;
}

const HINT =
  'Give every handoff an explicit budget and have the coordinator reassign when the target does not acknowledge within it; check what kept the target busy.';

/** Reports late and missing acknowledgements. Pure: `now` comes in as an option. */
export function detectAckTimeouts(handoffGraph: HandoffGraph, options: AckTimeoutOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const now = options.now ?? model.horizon.endMs;
  const findings: Finding[] = [];
  let checked = 0;
  let withoutBudget = 0;
  let pending = 0;
  let withoutSend = 0;
  for (const handoff of model.handoffs) {
    const send = handoff.send;
    const budget = send?.timeoutBudgetMs ?? handoff.receives[0]?.timeoutBudgetMs ?? options.defaultBudgetMs;
    if (budget === undefined) {
      withoutBudget++;
      continue;
    }
    checked++;
    const ack = handoff.acks[0];
    if (ack) {
      // The receiver's own measurement against sent_at wins; else span clocks.
      const delay = ack.delayMs ?? (send ? ack.atMs - send.startMs : undefined);
      const late = ack.withinBudget === false || (ack.withinBudget === undefined && delay !== undefined && delay > budget);
      if (!late) continue;
      findings.push({
        ruleId: RULE,
        severity: 'warning',
        message: `${handoff.target} acknowledged the handoff from ${handoff.source} after ${delay !== undefined ? formatMs(delay) : 'its budget'}, over its ${formatMs(budget)} budget`,
        hint: HINT,
        evidence: evidenceOf([send, ack, handoff.receives[0]]),
        agents: [handoff.source, handoff.target],
        ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
      });
      continue;
    }
    if (!send) {
      checked--;
      withoutSend++;
      continue;
    }
    if (now - send.startMs <= budget) {
      // Not acknowledged yet and still within budget: its outcome is unknown, not on time.
      checked--;
      pending++;
      continue;
    }
    findings.push({
      ruleId: RULE,
      severity: 'error',
      message: `${handoff.target} never acknowledged the handoff from ${handoff.source} (budget ${formatMs(budget)}, ${formatMs(now - send.startMs)} elapsed)`,
      hint: HINT,
      evidence: evidenceOf([send, handoff.receives[0]]),
      agents: [handoff.source, handoff.target],
      ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
    });
  }
  return {
    findings,
    checked,
    notEvaluated: [
      ...(withoutBudget > 0 ? [{ count: withoutBudget, reason: 'handoffs without baton.timeout_budget_ms' }] : []),
      ...(pending > 0 ? [{ count: pending, reason: 'handoffs not acknowledged yet, still within budget when the data ends' }] : []),
      ...(withoutSend > 0 ? [{ count: withoutSend, reason: 'unacknowledged handoffs whose send is not in the data' }] : []),
    ],
  };
}
