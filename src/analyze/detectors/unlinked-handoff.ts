/**
 * unlinked-handoff: a receive not linked to its send: trace context did not
 * travel (the send is elsewhere, or nowhere). Reported, never silently merged.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf } from './evidence.js';
import { countReason, perGroupRule, reasonByDialect, reasonsOf, type RuleDefinition } from './rule.js';

export const RULE = 'unlinked-handoff' as const;

export type UnlinkedHandoffOptions = Record<string, never>;

const HINT =
  'Carry W3C trace context inside the envelope (handoff.trace_context) through every queue, and receive with baton.receive so the receive span links to the send.';
const transfersUnlinked = reasonByDialect((dialect) => `in-process transfers (${dialect}): no trace context travels between their sides`);

/** Reports receives whose send span is not their parent or link. Pure. */
export function detectUnlinkedHandoffs(handoffGraph: HandoffGraph, _options: UnlinkedHandoffOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const findings: Finding[] = [];
  let checked = 0;
  const reasons = new Map<string, number>();
  for (const handoff of model.handoffs) {
    if (handoff.kind === 'transfer') {
      // One span holds both sides: there is no trace context to lose between them.
      countReason(reasons, transfersUnlinked(handoff.dialect));
      continue;
    }
    for (const receive of handoff.receives) {
      checked++;
      if (receive.linkedToSend) continue;
      const why = handoff.send
        ? 'its send span is in the data but neither its parent nor a link'
        : receive.carriesRemoteContext
          ? 'it links to a span outside the data'
          : 'it carries no trace context and no matching send is in its trace';
      // A receive that links somewhere outside the data is not evidence of broken propagation.
      if (!handoff.send && receive.carriesRemoteContext) continue;
      findings.push({
        ruleId: RULE,
        severity: 'warning',
        message: `${receive.agent} received handoff ${handoff.id.startsWith('span:') ? '' : `${handoff.id} `}from ${handoff.source} unlinked: ${why}`,
        hint: HINT,
        evidence: evidenceOf([receive, handoff.send]),
        agents: [handoff.source, receive.agent],
        ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
      });
    }
  }
  return { findings, checked, notEvaluated: reasonsOf(reasons) };
}

export const unlinkedHandoffRule: RuleDefinition<UnlinkedHandoffOptions> = {
  id: RULE,
  description: 'a receive not linked to its send: trace context lost on the way',
  severity: 'warning',
  reads: ['handoffs'],
  create: perGroupRule(detectUnlinkedHandoffs),
};
