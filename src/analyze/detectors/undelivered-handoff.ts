/**
 * undelivered-handoff: a message that was sent and routed, but that the router
 * dropped (or left buffered) and no target ever handled: a handoff that never
 * arrived. Read from routing outcomes a framework records between the two
 * sides (Agent Framework's `edge_group.delivery_status`), or from a transfer the
 * framework refused (a handoff tool naming an agent it does not have); a drop on one route
 * while another delivered the message is routing, not loss, and a fan-in that
 * buffered a message and later delivered it is clean.
 */
import type { DetectorResult, Finding, Severity } from '../../model/finding.js';
import type { Handoff, HandoffDelivery, HandoffGraph } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf } from './evidence.js';
import { countReason, perGroupRule, reasonsOf, type RuleDefinition } from './rule.js';

export const RULE = 'undelivered-handoff' as const;

export type UndeliveredHandoffOptions = Record<string, never>;

const HINT =
  'Make every message the source sends match a route: check the edge conditions, the target executor\'s input types and targeted sends (target_id); a fan-in waits for every source, so each must send.';

/** A transfer the framework refused (the model named an agent it does not have): a different fix. */
const TRANSFER_HINT =
  'Hand off only to agents the framework has: check the agent names the instructions and tool descriptions give the model, and the name it asked for (in the message).';

/** A transfer that raised on the way (the framework's handoff callback, its input schema): the target was fine, the handoff broke. */
const FAILED_TRANSFER_HINT =
  'The handoff itself raised (a callback run on handoff, arguments failing the handoff\'s input schema, an input filter): fix the error in the message; the target agent never ran.';

/** A drop whose cause is the message itself (its type, its target) or a router fault: the handoff is broken, not filtered. */
function severityOf(statuses: readonly string[]): Severity {
  for (const status of statuses) if (status !== 'buffered' && !status.startsWith('dropped condition')) return 'error';
  return 'warning';
}

function describe(deliveries: readonly HandoffDelivery[]): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const delivery of deliveries) {
    const text = delivery.router ? `${delivery.status} at ${delivery.router}` : delivery.status;
    if (seen.has(text)) continue;
    seen.add(text);
    parts.push(text);
  }
  return parts.join(', ');
}

/** The handoff's outcome: undefined when it arrived (a receive, or a router delivered it). */
function undelivered(handoff: Handoff): { deliveries: readonly HandoffDelivery[]; buffered: boolean } | undefined {
  const deliveries = handoff.deliveries!;
  if (handoff.receives.length > 0) return undefined;
  let buffered = false;
  for (const delivery of deliveries) {
    if (delivery.status === 'delivered') return undefined;
    if (delivery.status === 'buffered') buffered = true;
  }
  return { deliveries, buffered };
}

/** Reports handoffs every router dropped or left buffered, with no receive. Pure. */
export function detectUndeliveredHandoffs(handoffGraph: HandoffGraph, _options: UndeliveredHandoffOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const findings: Finding[] = [];
  const reasons = new Map<string, number>();
  let checked = 0;
  for (const handoff of model.handoffs) {
    if (handoff.deliveries === undefined || handoff.deliveries.length === 0) {
      countReason(
        reasons,
        handoff.kind === 'transfer'
          ? `in-process transfers (${handoff.dialect}): control passes directly, there is no router to drop it`
          : `handoffs whose routing is not recorded (${handoff.dialect}): a drop between send and receive is not visible`,
      );
      continue;
    }
    checked++;
    const lost = undelivered(handoff);
    if (!lost) continue;
    const statuses = lost.deliveries.map((d) => d.status);
    const to = handoff.target === 'unknown' ? 'its target' : handoff.target;
    const what = lost.buffered && statuses.every((s) => s === 'buffered')
      ? `was buffered (${describe(lost.deliveries)}) and never delivered: the fan-in still waited for its other sources when the data ended`
      : `never arrived: ${describe(lost.deliveries)}`;
    findings.push({
      ruleId: RULE,
      severity: severityOf(statuses),
      message: `handoff ${handoff.source} → ${to} ${what}`,
      hint: handoff.kind !== 'transfer' ? HINT : statuses.some((s) => s.startsWith('failed')) ? FAILED_TRANSFER_HINT : TRANSFER_HINT,
      evidence: evidenceOf([handoff.send, ...lost.deliveries]),
      agents: handoff.target === 'unknown' ? [handoff.source] : [handoff.source, handoff.target],
      ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
    });
  }
  return { findings, checked, notEvaluated: reasonsOf(reasons) };
}

export const undeliveredHandoffRule: RuleDefinition<UndeliveredHandoffOptions> = {
  id: RULE,
  description: 'a handoff the router dropped or left buffered, never reaching its target',
  severity: 'error',
  reads: ['handoffs'],
  create: perGroupRule(detectUndeliveredHandoffs),
};
