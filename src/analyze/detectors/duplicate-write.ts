/**
 * duplicate-write: the same logical write committed more than once by
 * different attempts: same idempotency key, or (without one) the same task,
 * step and key. Typically a retry after a partial handoff.
 *
 * Writes are indexed by their logical identity over the whole input, so a
 * reconciler in another trace re-posting a committed write is found. A write
 * the store deduplicated (`baton.state.deduplicated`, or a retry that got the
 * same version back) committed nothing new and is not a duplicate.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph, SpanRef, StateAccessRecord } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf, MAX_EVIDENCE_SPANS } from './evidence.js';
import { countReason, reasonsOf, runOnOneGraph, type RuleDefinition, type RuleRun } from './rule.js';

export const RULE = 'duplicate-write' as const;

export type DuplicateWriteOptions = Record<string, never>;

const HINT =
  'Make the write and the completion event atomic (transactional outbox), or have the coordinator check the store before retrying; dedupe writes on the idempotency key.';
const UNKEYED = 'writes with neither baton.idempotency_key nor baton.task.id + baton.step';

/** Distinct attempts and versions kept per logical write: enough to name them, bounded whatever the input. */
const MAX_DISTINCT = 16;

/**
 * A logical write nobody touched for this long (data time) is settled: reported
 * if duplicated, then forgotten, so memory stays bounded over hours. A retry
 * later than this is not joined to the original.
 */
export const SETTLE_AFTER_MS = 3_600_000;

/** One logical write, as the commits of it seen so far. */
interface LogicalWrite {
  readonly key: string;
  readonly idempotencyKey: string | undefined;
  readonly taskId: string | undefined;
  /** Commits: writes whose version was new (or unknown). */
  commits: number;
  /** Writes the store deduplicated. */
  deduplicated: number;
  readonly versions: Set<number>;
  readonly attempts: Set<number | undefined>;
  readonly agents: Set<string>;
  readonly evidence: SpanRef[];
  readonly labels: string[];
  lastEndMs: number;
}

/** Starts a duplicate-write run over one input. */
export function createDuplicateWriteRun(_options: DuplicateWriteOptions = {}): RuleRun {
  const writes = new Map<string, LogicalWrite>();
  let lastSettleMs = Number.NEGATIVE_INFINITY;

  const report = (settledBeforeMs: number, final: boolean): DetectorResult => {
    const findings: Finding[] = [];
    for (const [identity, w] of writes) {
      if (!final && w.lastEndMs >= settledBeforeMs) continue;
      writes.delete(identity);
      // The same attempt writing twice is an update, not a retry duplicate, unless attempts are unknown.
      const duplicate = w.commits >= 2 && (w.attempts.size >= 2 || w.attempts.has(undefined));
      if (duplicate) {
        const attempts = [...w.attempts];
        const by = attempts.every((a) => a !== undefined) ? ` by attempts ${attempts.join(', ')}` : '';
        findings.push({
          ruleId: RULE,
          severity: 'error',
          message: `${w.key} written ${w.commits} times${by} (${w.labels.join(', ')}${w.commits > w.labels.length ? ', …' : ''})${w.idempotencyKey !== undefined ? ` under idempotency key ${w.idempotencyKey}` : ''}`,
          hint: HINT,
          evidence: evidenceOf(w.evidence),
          agents: [...w.agents],
          ...(w.taskId !== undefined ? { taskId: w.taskId } : {}),
        });
      }
    }
    return { findings, checked: 0, notEvaluated: [] };
  };

  return {
    group(handoffGraph): DetectorResult {
      assertGraph(RULE, handoffGraph);
      const reasons = new Map<string, number>();
      let checked = 0;
      for (const write of handoffGraph.model.stateAccesses) {
        if (write.kind !== 'write' || !write.ok) continue;
        const identity = identityOf(write);
        if (identity === undefined) {
          countReason(reasons, UNKEYED);
          continue;
        }
        checked++;
        let w = writes.get(identity);
        if (!w) {
          w = {
            key: write.key,
            idempotencyKey: write.idempotencyKey,
            taskId: write.taskId,
            commits: 0,
            deduplicated: 0,
            versions: new Set(),
            attempts: new Set(),
            agents: new Set(),
            evidence: [],
            labels: [],
            lastEndMs: write.endMs,
          };
          writes.set(identity, w);
        }
        if (write.endMs > w.lastEndMs) w.lastEndMs = write.endMs;
        // A retry that got an already-committed version back was deduplicated by the store.
        const repeat = write.deduplicated === true || (write.versionWritten !== undefined && w.versions.has(write.versionWritten));
        if (repeat) {
          w.deduplicated++;
          continue;
        }
        w.commits++;
        if (write.versionWritten !== undefined && w.versions.size < MAX_DISTINCT) w.versions.add(write.versionWritten);
        if (w.attempts.size < MAX_DISTINCT) w.attempts.add(write.attempt);
        if (write.agent !== undefined && w.agents.size < MAX_DISTINCT) w.agents.add(write.agent);
        if (w.evidence.length < MAX_EVIDENCE_SPANS) w.evidence.push(write);
        if (w.labels.length < MAX_DISTINCT) w.labels.push(write.versionWritten !== undefined ? `v${write.versionWritten}` : '?');
      }
      return { findings: [], checked, notEvaluated: reasonsOf(reasons) };
    },
    advance(completeBeforeMs) {
      // Settling walks every logical write: at most once a minute of data time.
      if (completeBeforeMs - lastSettleMs < 60_000) return { findings: [], checked: 0, notEvaluated: [] };
      lastSettleMs = completeBeforeMs;
      return report(completeBeforeMs - SETTLE_AFTER_MS, false);
    },
    finish(nowMs) {
      return report(nowMs, true);
    },
  };
}

function identityOf(write: StateAccessRecord): string | undefined {
  if (write.idempotencyKey !== undefined) return `k\u0000${write.store}\u0000${write.idempotencyKey}`;
  if (write.taskId !== undefined && write.step !== undefined) return `s\u0000${write.store}\u0000${write.taskId}\u0000${write.step}\u0000${write.key}`;
  return undefined;
}

/** Reports logical writes committed by more than one attempt in one graph, taken as the whole input. Pure. */
export function detectDuplicateWrites(handoffGraph: HandoffGraph, options: DuplicateWriteOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  return runOnOneGraph(createDuplicateWriteRun(options), handoffGraph, handoffGraph.model.horizon.endMs);
}

export const duplicateWriteRule: RuleDefinition<DuplicateWriteOptions> = {
  id: RULE,
  description: 'one logical write committed by more than one attempt',
  severity: 'error',
  create: createDuplicateWriteRun,
};
