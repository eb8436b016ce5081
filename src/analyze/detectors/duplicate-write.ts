/**
 * duplicate-write: the same logical write committed more than once by different
 * attempts: same idempotency key, or (without one) the same task, step and key.
 * Typically a retry after a partial handoff.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph, StateAccessRecord } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf } from './evidence.js';

export const RULE = 'duplicate-write' as const;

export type DuplicateWriteOptions = Record<string, never>;

const HINT =
  'Make the write and the completion event atomic (transactional outbox), or have the coordinator check the store before retrying; dedupe writes on the idempotency key.';

/** Reports logical writes committed by more than one attempt. Pure. */
export function detectDuplicateWrites(handoffGraph: HandoffGraph, _options: DuplicateWriteOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const groups = new Map<string, StateAccessRecord[]>();
  let checked = 0;
  let unkeyed = 0;
  for (const write of model.stateAccesses) {
    if (write.kind !== 'write' || !write.ok) continue;
    let identity: string | undefined;
    if (write.idempotencyKey !== undefined) identity = `k\u0000${write.idempotencyKey}`;
    else if (write.taskId !== undefined && write.step !== undefined) identity = `s\u0000${write.taskId}\u0000${write.step}\u0000${write.key}`;
    if (identity === undefined) {
      unkeyed++;
      continue;
    }
    checked++;
    let list = groups.get(identity);
    if (!list) groups.set(identity, (list = []));
    list.push(write);
  }
  const findings: Finding[] = [];
  for (const writes of groups.values()) {
    if (writes.length < 2) continue;
    const attempts = [...new Set(writes.map((w) => w.attempt))];
    // The same attempt writing twice is an update, not a retry duplicate, unless attempts are unknown.
    if (attempts.length < 2 && attempts[0] !== undefined) continue;
    const first = writes[0]!;
    const versions = writes.map((w) => (w.versionWritten !== undefined ? `v${w.versionWritten}` : '?')).join(', ');
    const by = attempts.every((a) => a !== undefined) ? ` by attempts ${attempts.join(', ')}` : '';
    findings.push({
      ruleId: RULE,
      severity: 'error',
      message: `${first.key} written ${writes.length} times${by} (${versions})${first.idempotencyKey ? ` under idempotency key ${first.idempotencyKey}` : ''}`,
      hint: HINT,
      evidence: evidenceOf(writes),
      agents: [...new Set(writes.map((w) => w.agent).filter((a): a is string => a !== undefined))],
      ...(first.taskId ? { taskId: first.taskId } : {}),
    });
  }
  return {
    findings,
    checked,
    notEvaluated: unkeyed > 0 ? [{ count: unkeyed, reason: 'writes with neither baton.idempotency_key nor baton.task.id + baton.step' }] : [],
  };
}
