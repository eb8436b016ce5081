/**
 * duplicate-write: the same logical write committed more than once by
 * different attempts: same idempotency key, or (without one) the same task,
 * step and key. Typically a retry after a partial handoff. Writes with neither
 * but with attempt numbers are taken as one logical write per task, agent and
 * key: an attempt 2 says it is a retry, and the app would expect it checked.
 * That identity is inferred (two steps of one agent writing one key would look
 * alike), so what it finds is a warning that says so.
 *
 * Writes are indexed by their logical identity over the whole input, so a
 * reconciler in another trace re-posting a committed write is found. A write
 * the store deduplicated (`baton.state.deduplicated`, or a retry that got the
 * same version back) committed nothing new and is not a duplicate.
 *
 * A write whose reply timed out may have committed all the same (the command
 * reached the server; only its answer was lost), which is what makes a blind
 * retry dangerous: one such attempt beside another attempt's unconditional
 * commit is reported as a possible duplicate (a warning: the trace cannot say
 * whether the first one landed). A retry that is a compare-and-set, or that the
 * store checked against its idempotency key (`deduplicated: false`), cannot
 * commit twice and is not reported.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph, StateAccessRecord } from '../../model/handoff-model.js';
import { FORGET_AFTER_MS, FORGET_EVERY_MS } from '../bounded.js';
import { assertGraph, evidenceOf, MAX_EVIDENCE_SPANS } from './evidence.js';
import { countReason, reasonsOf, runOnOneGraph, type RuleDefinition, type RuleRun } from './rule.js';

export const RULE = 'duplicate-write' as const;

export type DuplicateWriteOptions = Record<string, never>;

const HINT =
  'Give each logical write an idempotency key the store checks, so a retried write is recognised and not applied twice; where the retry followed a lost completion event, commit the write and its event together (transactional outbox).';
const INFERRED = ', taken as one logical write: same task, agent and key, and no idempotency key or step recorded';
const UNKNOWN_HINT =
  'A write whose reply timed out may have committed: retry it through a store that deduplicates on the idempotency key (RedisStateStore, PgStateStore) or as a compare-and-set on the version read, never as a blind write.';
const UNKEYED = 'writes with neither baton.idempotency_key, baton.task.id + baton.step, nor baton.task.id + baton.attempt';

/** Distinct attempts and versions kept per logical write: enough to name them, bounded whatever the input. */
const MAX_DISTINCT = 16;


/** One logical write, as the commits of it seen so far. */
interface LogicalWrite {
  /** Commits: writes whose version was new (or unknown). */
  commits: number;
  /** Writes the store deduplicated. */
  deduplicated: number;
  /** The first commits, for evidence and their versions, attempts and agents: most logical writes have one. */
  readonly first: StateAccessRecord[];
  /** The first writes that timed out (outcome unknown): each may have committed. */
  readonly unknown: StateAccessRecord[];
  lastEndMs: number;
  /** Identified by task, agent and key only (no idempotency key, no step): the finding says it was inferred. */
  readonly inferred: boolean;
}

/** Logical writes followed at once; past it the oldest are settled early, so memory has a bound whatever the data's density. */
const MAX_TRACKED = 100_000;

/** Starts a duplicate-write run over one input. */
export function createDuplicateWriteRun(_options: DuplicateWriteOptions = {}): RuleRun {
  const writes = new Map<string, LogicalWrite>();
  let lastSettleMs = Number.NEGATIVE_INFINITY;

  const report = (settledBeforeMs: number, final: boolean): DetectorResult => {
    const findings: Finding[] = [];
    for (const [identity, w] of writes) {
      if (!final && w.lastEndMs >= settledBeforeMs) continue;
      writes.delete(identity);
      const finding = findingOf(w);
      if (finding) findings.push(finding);
    }
    return { findings, checked: 0, notEvaluated: [] };
  };

  return {
    group(handoffGraph): DetectorResult {
      assertGraph(RULE, handoffGraph);
      const reasons = new Map<string, number>();
      let checked = 0;
      for (const write of handoffGraph.model.stateAccesses) {
        if (write.kind !== 'write' || (!write.ok && write.outcomeUnknown !== true)) continue;
        const identity = identityOf(write);
        if (identity === undefined) {
          countReason(reasons, UNKEYED);
          continue;
        }
        checked++;
        let w = writes.get(identity);
        if (!w) {
          w = { commits: 0, deduplicated: 0, first: [], unknown: [], lastEndMs: write.endMs, inferred: identity.startsWith('a') };
          writes.set(identity, w);
        }
        if (write.endMs > w.lastEndMs) w.lastEndMs = write.endMs;
        if (!write.ok) {
          if (w.unknown.length < MAX_EVIDENCE_SPANS) w.unknown.push(write);
          continue;
        }
        // A retry that got an already-committed version back was deduplicated by the store.
        const repeat =
          write.deduplicated === true ||
          (write.versionWritten !== undefined && w.first.some((c) => c.versionWritten === write.versionWritten));
        if (repeat) {
          w.deduplicated++;
          continue;
        }
        w.commits++;
        if (w.first.length < MAX_EVIDENCE_SPANS) w.first.push(write);
      }
      // Past the bound, the longest-followed logical writes settle now (Map order is insertion order).
      const findings: Finding[] = [];
      if (writes.size > MAX_TRACKED) {
        for (const [identity, w] of writes) {
          if (writes.size <= MAX_TRACKED * 0.9) break;
          writes.delete(identity);
          const finding = findingOf(w);
          if (finding) findings.push(finding);
        }
      }
      return { findings, checked, notEvaluated: reasonsOf(reasons) };
    },
    advance(completeBeforeMs) {
      // Settling walks every logical write: at most once a minute of data time.
      if (completeBeforeMs - lastSettleMs < FORGET_EVERY_MS) return { findings: [], checked: 0, notEvaluated: [] };
      lastSettleMs = completeBeforeMs;
      // A logical write untouched for FORGET_AFTER_MS is settled: reported if duplicated, then forgotten
      // (a retry later than that is not joined to the original).
      return report(completeBeforeMs - FORGET_AFTER_MS, false);
    },
    finish(nowMs) {
      return report(nowMs, true);
    },
  };
}

/** The finding of one settled logical write, if any. */
function findingOf(w: LogicalWrite): Finding | undefined {
  if (w.commits >= 2) return duplicateFinding(w);
  if (w.commits === 1 && w.unknown.length > 0) return possibleDuplicateFinding(w);
  return undefined;
}

/**
 * The warning for a write committed once by one attempt while another attempt of it
 * timed out, or undefined when the commit could not have landed on top of it.
 */
function possibleDuplicateFinding(w: LogicalWrite): Finding | undefined {
  const commit = w.first[0]!;
  // A compare-and-set fails if the timed-out write landed; a store that checked the key found it had not.
  if (commit.versionExpected !== undefined || commit.deduplicated === false) return undefined;
  const timedOut = w.unknown.filter((u) => u.attempt === undefined || u.attempt !== commit.attempt);
  if (timedOut.length === 0) return undefined;
  const attemptsOf = (writes: readonly StateAccessRecord[]) =>
    writes.every((u) => u.attempt !== undefined) ? `attempt${writes.length === 1 ? '' : 's'} ${writes.map((u) => u.attempt).join(', ')}` : 'an attempt';
  const evidence = [...timedOut, commit].sort((a, b) => a.startMs - b.startMs || (a.spanId < b.spanId ? -1 : 1));
  const agents = [...new Set(evidence.map((c) => c.agent).filter((a): a is string => a !== undefined))].slice(0, MAX_DISTINCT);
  const version = commit.versionWritten !== undefined ? ` (v${commit.versionWritten})` : '';
  return {
    ruleId: RULE,
    severity: 'warning',
    message: `${commit.key} may have been written twice: ${attemptsOf(timedOut)} timed out, so ${timedOut.length === 1 ? 'its write' : 'their writes'} may have committed, and ${commit.attempt !== undefined ? `attempt ${commit.attempt}` : 'another attempt'} wrote it again unconditionally${version}${commit.idempotencyKey !== undefined ? ` under idempotency key ${commit.idempotencyKey}` : w.inferred ? INFERRED : ''}`,
    hint: UNKNOWN_HINT,
    evidence: evidenceOf(evidence),
    agents,
    ...(commit.taskId !== undefined ? { taskId: commit.taskId } : {}),
  };
}

/** The finding for a logical write committed more than once, or undefined when it is an update by one attempt. */
function duplicateFinding(w: LogicalWrite): Finding | undefined {
  const attempts = [...new Set(w.first.map((c) => c.attempt))].slice(0, MAX_DISTINCT);
  // The same attempt writing twice is an update, not a retry duplicate, unless attempts are unknown.
  if (attempts.length < 2 && attempts[0] !== undefined) return undefined;
  const first = w.first[0]!;
  const labels = w.first.slice(0, MAX_DISTINCT).map((c) => (c.versionWritten !== undefined ? `v${c.versionWritten}` : '?'));
  const by = attempts.every((a) => a !== undefined) ? ` by attempts ${attempts.join(', ')}` : '';
  const agents = [...new Set(w.first.map((c) => c.agent).filter((a): a is string => a !== undefined))].slice(0, MAX_DISTINCT);
  const identity = first.idempotencyKey !== undefined ? ` under idempotency key ${first.idempotencyKey}` : w.inferred ? INFERRED : '';
  return {
    ruleId: RULE,
    severity: w.inferred ? 'warning' : 'error',
    message: `${first.key} written ${w.commits} times${by} (${labels.join(', ')}${w.commits > labels.length ? ', …' : ''})${identity}`,
    hint: HINT,
    evidence: evidenceOf(w.first),
    agents,
    ...(first.taskId !== undefined ? { taskId: first.taskId } : {}),
  };
}

/**
 * The identity of a write's logical operation; one starting with `a` is inferred from its attempt number.
 * lost-update pairs only writes of different identities: two commits of one identity are this rule's.
 */
export function identityOf(write: StateAccessRecord): string | undefined {
  if (write.idempotencyKey !== undefined) return `k\u0000${write.store}\u0000${write.idempotencyKey}`;
  if (write.taskId === undefined) return undefined;
  if (write.step !== undefined) return `s\u0000${write.store}\u0000${write.taskId}\u0000${write.step}\u0000${write.key}`;
  if (write.attempt !== undefined) return `a\u0000${write.store}\u0000${write.taskId}\u0000${write.agent ?? ''}\u0000${write.key}`;
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
  reads: ['stateAccesses'],
  create: createDuplicateWriteRun,
};
