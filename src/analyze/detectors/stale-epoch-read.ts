/**
 * stale-epoch-read: a read of a state key at a version older than one already
 * committed when the read began (or at an epoch older than one committed), and
 * the handoffs its agent sent after deciding on it; also a handoff received
 * with an epoch older than one already sent in the same task.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph, StateAccessRecord } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf, formatMs } from './evidence.js';

export const RULE = 'stale-epoch-read' as const;

export interface StaleEpochReadOptions {
  /** A write must have committed this long before the read began to count (clock skew allowance). Default 0. */
  readonly skewToleranceMs?: number;
}

const HINT =
  'Add a version field to every state entry and reject reads older than the current task epoch; read from the primary (or wait for the version the handoff names) instead of a lagging replica or snapshot.';

/** Reports stale reads and stale-epoch handoffs. Pure. */
export function detectStaleEpochReads(handoffGraph: HandoffGraph, options: StaleEpochReadOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const skew = options.skewToleranceMs ?? 0;
  const findings: Finding[] = [];
  const writesByKey = new Map<string, StateAccessRecord[]>();
  for (const access of model.stateAccesses) {
    if (access.kind !== 'write' || !access.ok) continue;
    let list = writesByKey.get(access.key);
    if (!list) writesByKey.set(access.key, (list = []));
    list.push(access);
  }
  let checked = 0;
  let unversioned = 0;
  for (const read of model.stateAccesses) {
    if (read.kind !== 'read' || !read.ok) continue;
    if (read.versionRead === undefined && read.epoch === undefined) {
      if (read.found !== false) unversioned++;
      continue;
    }
    checked++;
    let newest: StateAccessRecord | undefined;
    let newestEpoch: StateAccessRecord | undefined;
    for (const write of writesByKey.get(read.key) ?? []) {
      if (write.endMs > read.startMs - skew) continue; // not committed when the read began
      if (read.versionRead !== undefined && write.versionWritten !== undefined && write.versionWritten > read.versionRead) {
        if (!newest || (write.versionWritten ?? 0) > (newest.versionWritten ?? 0)) newest = write;
      }
      if (read.epoch !== undefined && write.epoch !== undefined && write.epoch > read.epoch) {
        if (!newestEpoch || (write.epoch ?? 0) > (newestEpoch.epoch ?? 0)) newestEpoch = write;
      }
    }
    const culprit = newest ?? newestEpoch;
    if (!culprit) continue;
    // What was decided on it: handoffs sent from the same agent run after the read.
    const decided = model.handoffs
      .map((h) => h.send)
      .filter((s) => s && read.agentRunSpanId !== undefined && s.startMs >= read.startMs && isInRun(model.spans, s.spanId, read.agentRunSpanId));
    const reader = read.agent ?? 'an agent';
    const what = newest
      ? `at version ${read.versionRead} after version ${newest.versionWritten} was committed`
      : `at epoch ${read.epoch} after epoch ${newestEpoch!.epoch} was committed`;
    findings.push({
      ruleId: RULE,
      severity: 'error',
      message: `${reader} read ${read.key} ${what} by ${culprit.agent ?? 'another writer'} (${formatMs(read.startMs - culprit.endMs)} earlier)${decided.length ? `, then handed off on it` : ''}`,
      hint: HINT,
      evidence: evidenceOf([read, culprit, ...decided]),
      agents: [...new Set([read.agent, culprit.agent].filter((a): a is string => a !== undefined))],
      ...(read.taskId ? { taskId: read.taskId } : {}),
    });
  }

  // Handoffs acted on with an epoch older than one the task already moved to.
  let epochChecked = 0;
  const maxEpochSent = new Map<string, { epoch: number; at: number; spanId: string }[]>();
  for (const handoff of model.handoffs) {
    const send = handoff.send;
    if (!send || send.epoch === undefined) continue;
    const key = handoff.taskId ?? '';
    let list = maxEpochSent.get(key);
    if (!list) maxEpochSent.set(key, (list = []));
    list.push({ epoch: send.epoch, at: send.startMs, spanId: send.spanId });
  }
  for (const handoff of model.handoffs) {
    for (const receive of handoff.receives) {
      if (receive.epoch === undefined) continue;
      epochChecked++;
      const newer = (maxEpochSent.get(handoff.taskId ?? '') ?? []).find(
        (s) => s.epoch > receive.epoch! && s.at <= receive.startMs - skew,
      );
      if (!newer) continue;
      findings.push({
        ruleId: RULE,
        severity: 'error',
        message: `${receive.agent} acted on a handoff from ${handoff.source} at epoch ${receive.epoch} after the task moved to epoch ${newer.epoch}`,
        hint: HINT,
        evidence: evidenceOf([receive, handoff.send]),
        agents: [handoff.source, receive.agent],
        ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
      });
    }
  }

  return {
    findings,
    checked: checked + epochChecked,
    notEvaluated: unversioned > 0 ? [{ count: unversioned, reason: 'state reads without baton.state.version_read or baton.epoch' }] : [],
  };
}

/** True when the nearest agent run enclosing `spanId` is `runSpanId` (another agent's run nested below it does not count). */
function isInRun(spans: HandoffGraph['model']['spans'], spanId: string, runSpanId: string): boolean {
  // Walk up parents; spans are few per group, and this runs only for stale reads.
  const byId = new Map<string, (typeof spans)[number]>();
  for (const s of spans) byId.set(s.spanId, s);
  for (let id = byId.get(spanId)?.parentSpanId; id; id = byId.get(id)?.parentSpanId) {
    if (id === runSpanId) return true;
    if (byId.get(id)?.role === 'agent-run') return false;
  }
  return false;
}
