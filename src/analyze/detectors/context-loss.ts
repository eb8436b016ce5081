/**
 * context-loss: a handoff that drops the accumulated `decisions_made` or
 * `constraints`: the field is missing, or holds fewer entries than the hop
 * into the sender carried. An envelope of an app's own schema with no `context`
 * object at all, after a hop that carried none either, is not judged: that
 * schema has no context to lose (Baton's envelope requires one).
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import { ENVELOPE_SCHEMA_ID } from '../../model/envelope.js';
import type { HandoffGraph } from '../../model/handoff-model.js';
import { chainIndexOf } from '../chains.js';
import { assertGraph, evidenceOf } from './evidence.js';
import { countReason, perGroupRule, reasonByDialect, reasonsOf, type RuleDefinition } from './rule.js';

export const RULE = 'context-loss' as const;

export type ContextLossOptions = Record<string, never>;

const HINT =
  'Pass decisions_made and constraints forward on every handoff: the receiver needs the reasoning that shaped the output, not only the output.';
const WITHOUT_CONTEXT = 'handoffs of an envelope schema of your own with no context object (nor one on the hop before): nothing to lose';
const transfersUnrecorded = reasonByDialect((dialect) => `in-process transfers: ${dialect} does not record the context passed (decisions, constraints)`);

/** Reports handoffs that lose decisions or constraints. Pure. */
export function detectContextLoss(handoffGraph: HandoffGraph, _options: ContextLossOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const chains = chainIndexOf(model);
  const findings: Finding[] = [];
  let checked = 0;
  let unrecorded = 0;
  const reasons = new Map<string, number>();
  for (const handoff of model.handoffs) {
    if (handoff.kind === 'transfer') {
      countReason(reasons, transfersUnrecorded(handoff.dialect));
      continue;
    }
    const send = handoff.send;
    if (!send || send.missingFields === undefined) {
      if (send || handoff.receives.length > 0) unrecorded++;
      continue;
    }
    const previous = chains.previousHop(handoff)?.send;
    if (
      send.missingFields.includes('context') &&
      send.schemaId !== undefined &&
      send.schemaId !== ENVELOPE_SCHEMA_ID &&
      previous?.decisionsCount === undefined &&
      previous?.constraintsCount === undefined
    ) {
      countReason(reasons, WITHOUT_CONTEXT);
      continue;
    }
    checked++;
    const lost: string[] = [];
    for (const field of ['decisions_made', 'constraints'] as const) {
      const before = field === 'decisions_made' ? previous?.decisionsCount : previous?.constraintsCount;
      const now = field === 'decisions_made' ? send.decisionsCount : send.constraintsCount;
      if (send.missingFields.includes(field) || send.missingFields.includes('context')) {
        lost.push(before ? `${field} (${before} before)` : field);
      } else if (before !== undefined && now !== undefined && now < before) {
        lost.push(`${before - now} of ${before} ${field}`);
      }
    }
    if (lost.length === 0) continue;
    findings.push({
      ruleId: RULE,
      severity: 'warning',
      message: `${handoff.source} → ${handoff.target} drops ${lost.join(' and ')}`,
      hint: HINT,
      evidence: evidenceOf([send, previous]),
      agents: [handoff.source, handoff.target],
      ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
    });
  }
  return {
    findings,
    checked,
    notEvaluated: [
      ...(unrecorded > 0 ? [{ count: unrecorded, reason: 'handoffs without baton.context.missing_fields on the send side' }] : []),
      ...reasonsOf(reasons),
    ],
  };
}

export const contextLossRule: RuleDefinition<ContextLossOptions> = {
  id: RULE,
  description: 'a handoff that drops decisions_made or constraints',
  severity: 'warning',
  reads: ['handoffs'],
  create: perGroupRule(detectContextLoss),
};
