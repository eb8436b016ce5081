/**
 * ack-timeout: a handoff acknowledged after its timeout budget, or never
 * acknowledged although its budget has run out by "now".
 *
 * "Now" is the end of all the input (the stream's watermark), or `--now`:
 * never one trace group's own end, so a handoff whose sender exited is not
 * "still within budget" when the data runs far past it. A handoff without an
 * acknowledgement is held (its id, send time and budget) until an ack for it
 * turns up in any trace group (trace context can be lost between them), or
 * until the data up to one budget past its deadline is complete (time for a retry
 * of it, in another trace, to be acknowledged): then "never acknowledged" is
 * reported, while streaming as soon as that passes; at the end, by its deadline.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { Handoff, HandoffAck, HandoffGraph } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf, formatMs } from './evidence.js';
import { countReason, reasonsOf, runOnOneGraph, type RuleDefinition, type RuleRun } from './rule.js';

export const RULE = 'ack-timeout' as const;

export interface AckTimeoutOptions {
  /** The time the data ends at. Default: the end of all input (the watermark). */
  readonly now?: number;
  /**
   * Budget for handoffs that declare none (traces from apps without Baton rarely do).
   * Default: none, and such handoffs are reported as not evaluated rather than on time.
   */
  readonly defaultBudgetMs?: number;
}

const HINT =
  'Give every handoff an explicit budget and have the coordinator reassign when the target does not acknowledge within it; check what kept the target busy.';

const WITHOUT_BUDGET = 'handoffs without baton.timeout_budget_ms';
const PENDING = 'handoffs not acknowledged yet, still within budget when the data ends';
const WITHOUT_SEND = 'unacknowledged handoffs whose send is not in the data';

/** A handoff waiting for its acknowledgement. */
interface Pending {
  readonly handoff: Handoff;
  readonly deadlineMs: number;
  readonly budgetMs: number;
}

/** An acknowledgement seen before the send it acknowledges. */
interface EarlyAck {
  readonly ack: HandoffAck;
  readonly receive: Handoff['receives'][number] | undefined;
}

function lateAckFinding(handoff: Handoff, ack: HandoffAck, budget: number, receive: Handoff['receives'][number] | undefined): Finding | undefined {
  const send = handoff.send;
  // The receiver's own measurement against sent_at wins; else span clocks. Either keeps its sign:
  // a negative delay is clock skew, and never makes a late ack (within_budget false) on time.
  const delay = ack.delayMs ?? (send ? ack.atMs - send.startMs : undefined);
  const late = ack.withinBudget === false || (ack.withinBudget === undefined && delay !== undefined && delay > budget);
  if (!late) return undefined;
  return {
    ruleId: RULE,
    severity: 'warning',
    message: `${handoff.target} acknowledged the handoff from ${handoff.source} after ${delay !== undefined && delay >= 0 ? formatMs(delay) : 'its budget'}, over its ${formatMs(budget)} budget`,
    hint: HINT,
    evidence: evidenceOf([send, ack, receive]),
    agents: [handoff.source, handoff.target],
    ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
  };
}

function neverAckFinding(pending: Pending): Finding {
  const { handoff } = pending;
  return {
    ruleId: RULE,
    severity: 'error',
    message: `${handoff.target} never acknowledged the handoff from ${handoff.source} within its ${formatMs(pending.budgetMs)} budget`,
    hint: HINT,
    evidence: evidenceOf([handoff.send, handoff.receives[0]]),
    agents: [handoff.source, handoff.target],
    ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
  };
}

/** Starts an ack-timeout run over one input. */
export function createAckTimeoutRun(options: AckTimeoutOptions = {}): RuleRun {
  const pending = new Map<string, Pending>();
  const early = new Map<string, EarlyAck>();

  const settle = (completeBeforeMs: number, final: boolean): DetectorResult => {
    const findings: Finding[] = [];
    const reasons = new Map<string, number>();
    let checked = 0;
    for (const [id, p] of pending) {
      // While data still arrives, an unacknowledged attempt waits one budget more past its deadline: its retry
      // (same handoff id, usually sent when the budget ran out) may be acknowledged in a trace not analyzed yet,
      // and that settles it, as when both attempts share a trace. At the end of the input, the deadline decides.
      if (final ? p.deadlineMs < completeBeforeMs : p.deadlineMs + p.budgetMs < completeBeforeMs) {
        checked++;
        findings.push(neverAckFinding(p));
        pending.delete(id);
      } else if (final) {
        countReason(reasons, PENDING);
        pending.delete(id);
      }
    }
    if (final) early.clear();
    return { findings, checked, notEvaluated: reasonsOf(reasons) };
  };

  return {
    group(handoffGraph): DetectorResult {
      assertGraph(RULE, handoffGraph);
      const findings: Finding[] = [];
      const reasons = new Map<string, number>();
      let checked = 0;
      const transfersByDialect = new Map<string, number>();
      for (const handoff of handoffGraph.model.handoffs) {
        if (handoff.kind === 'transfer') {
          transfersByDialect.set(handoff.dialect, (transfersByDialect.get(handoff.dialect) ?? 0) + 1);
          continue;
        }
        const send = handoff.send;
        const budget = send?.timeoutBudgetMs ?? handoff.receives[0]?.timeoutBudgetMs ?? options.defaultBudgetMs;
        let ack = handoff.acks[0];
        let receive = handoff.receives[0];
        const held = early.get(handoff.id);
        if (!ack && held && send) {
          ack = held.ack;
          receive ??= held.receive;
          early.delete(handoff.id);
        }
        if (budget === undefined) {
          countReason(reasons, WITHOUT_BUDGET);
          continue;
        }
        if (ack) {
          const waiting = pending.get(handoff.id);
          if (!send && waiting) {
            // The ack of a handoff whose send came in another group (trace context lost on the way).
            pending.delete(handoff.id);
            checked++;
            const finding = lateAckFinding(waiting.handoff, ack, waiting.budgetMs, receive);
            if (finding) findings.push(finding);
            continue;
          }
          if (!send) {
            // Hold it: its send may still come, in a later group.
            early.set(handoff.id, { ack, receive });
            continue;
          }
          // An earlier attempt of this handoff, sent in another trace group, waits for the ack this retry got:
          // the handoff was acknowledged, as when both attempts are in one group.
          // One handoff checked once, whichever group held its attempts.
          pending.delete(handoff.id);
          checked++;
          const finding = lateAckFinding(handoff, ack, budget, receive);
          if (finding) findings.push(finding);
          continue;
        }
        if (!send) {
          countReason(reasons, WITHOUT_SEND);
          continue;
        }
        if (!pending.has(handoff.id)) pending.set(handoff.id, { handoff, deadlineMs: send.startMs + budget, budgetMs: budget });
      }
      for (const [dialect, count] of transfersByDialect) {
        countReason(reasons, `in-process transfers: ${dialect} does not record acknowledgements`, count);
      }
      return { findings, checked, notEvaluated: reasonsOf(reasons) };
    },
    advance(completeBeforeMs) {
      // With `now` given, nothing is settled before the end: the user fixed the clock.
      if (options.now !== undefined) return { findings: [], checked: 0, notEvaluated: [] };
      return settle(completeBeforeMs, false);
    },
    finish(nowMs) {
      return settle(options.now ?? nowMs, true);
    },
  };
}

/** Reports late and missing acknowledgements in one graph, taken as the whole input. Pure. */
export function detectAckTimeouts(handoffGraph: HandoffGraph, options: AckTimeoutOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  return runOnOneGraph(createAckTimeoutRun(options), handoffGraph, options.now ?? handoffGraph.model.horizon.endMs);
}

export const ackTimeoutRule: RuleDefinition<AckTimeoutOptions> = {
  id: RULE,
  description: 'a handoff acknowledged after its timeout budget, or never',
  severity: 'error',
  reads: ['handoffs'],
  create: createAckTimeoutRun,
};
