/**
 * stale-epoch-read: a read of a state key at a version older than one already
 * committed when the read began (or at an epoch older than one committed), and
 * the handoffs its agent sent after deciding on it; also a handoff received
 * with an epoch older than one already sent in the same task.
 *
 * State is shared by every trace, so writes and reads are indexed per store
 * and key over the whole input: a worker fenced out by a failover in another
 * trace, reading at its old epoch, is found. Reads are checked once the data
 * before them is complete (or at the end); per key only the newest settled
 * version and epoch plus recent writes are kept.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph, HandoffSend, SpanRef } from '../../model/handoff-model.js';
import { FORGET_AFTER_MS, FORGET_EVERY_MS, forgetOldest } from '../bounded.js';
import { KeyWrites, newerCommitted, spanRefOf, type NewestCommitted, type WriteFact } from '../state-index.js';
import { assertGraph, evidenceOf, formatMs } from './evidence.js';
import { countReason, reasonsOf, runOnOneGraph, type RuleDefinition, type RuleRun } from './rule.js';

export const RULE = 'stale-epoch-read' as const;

export interface StaleEpochReadOptions {
  /** A write must have committed this long before the read began to count (clock skew allowance). Default 0. */
  readonly skewToleranceMs?: number;
}

const HINT =
  'Add a version field to every state entry and reject reads older than the current task epoch; read from the primary (or wait for the version the handoff names) instead of a lagging replica or snapshot.';
const UNVERSIONED = 'state reads without baton.state.version_read or baton.epoch';
const AMBIGUOUS_STORE =
  'state reads or writes without db.system.name of a key that several named stores hold: not matched to a store';

/** Handoffs an agent sent after a read, in the same agent run: what it decided on the read. */
const MAX_DECIDED = 10;

interface PendingRead {
  readonly key: string;
  readonly store: string;
  readonly bareKey: string;
  readonly ref: SpanRef;
  readonly versionRead: number | undefined;
  readonly epoch: number | undefined;
  readonly agent: string | undefined;
  readonly taskId: string | undefined;
  readonly decided: readonly SpanRef[];
}

interface PendingReceive {
  readonly taskKey: string;
  readonly ref: SpanRef;
  readonly send: SpanRef | undefined;
  readonly epoch: number;
  readonly agent: string;
  readonly source: string;
  readonly taskId: string | undefined;
}

/** Store and key as one map key; the store name keeps two stores' equal keys apart. */
function keyOf(store: string, key: string): string {
  return `${store}\u0000${key}`;
}

/**
 * A store the span does not name: no `db.system.name` (''), or the SDK's `other`
 * (`traceStateRead`/`traceStateWrite` called without `system`). Such an access of a
 * key is taken to be of the one named store that key is seen in, so a read traced
 * by hand and writes through `instrumentStore(…, { system: 'memory' })` meet.
 */
function isUnnamedStore(store: string): boolean {
  return store === '' || store === 'other';
}

/** Starts a stale-epoch-read run over one input. */
export function createStaleEpochReadRun(options: StaleEpochReadOptions = {}): RuleRun {
  const skew = options.skewToleranceMs ?? 0;
  const writes = new Map<string, KeyWrites>();
  /** Per bare key, the named stores it was read or written in: where an unnamed access of it belongs. */
  const namedStores = new Map<string, string[]>();
  const noteStore = (bareKey: string, store: string): void => {
    if (isUnnamedStore(store)) return;
    const list = namedStores.get(bareKey);
    if (!list) namedStores.set(bareKey, [store]);
    else if (list.length < 2 && list[0] !== store) list.push(store); // two are already ambiguous
  };
  /**
   * The newest writes a read could have missed: those of its own store, plus those
   * of the same key under the other name of that store when the key is seen in
   * one named store only (an unnamed read meets the named writes, a named read the
   * unnamed writes). With two named stores an unnamed access matches neither.
   */
  const newestFor = (read: PendingRead, atMs: number, reasons: Map<string, number>): NewestCommitted | undefined => {
    const own = writes.get(read.key)?.newestBefore(atMs);
    const named = namedStores.get(read.bareKey);
    let peer: KeyWrites | undefined;
    if (isUnnamedStore(read.store)) {
      if (named?.length === 1) peer = writes.get(keyOf(named[0]!, read.bareKey));
      else if (named !== undefined) countReason(reasons, AMBIGUOUS_STORE);
    } else {
      const unnamed = writes.get(keyOf('other', read.bareKey)) ?? writes.get(keyOf('', read.bareKey));
      if (unnamed !== undefined) {
        if (named?.length === 1) peer = unnamed;
        else countReason(reasons, AMBIGUOUS_STORE);
      }
    }
    const other = peer?.newestBefore(atMs);
    if (!other) return own;
    return own ? newerCommitted(own, other) : other;
  };
  /** Per task, sends that carry an epoch, as "writes" of the task's epoch. */
  const taskEpochs = new Map<string, KeyWrites>();
  let reads: PendingRead[] = [];
  let receives: PendingReceive[] = [];
  let lastSettleMs = Number.NEGATIVE_INFINITY;

  const check = (completeBeforeMs: number, final: boolean): DetectorResult => {
    const findings: Finding[] = [];
    const reasons = new Map<string, number>();
    let checked = 0;
    const keepReads: PendingRead[] = [];
    for (const read of reads) {
      if (!final && read.ref.startMs >= completeBeforeMs) {
        keepReads.push(read);
        continue;
      }
      checked++;
      const newest = newestFor(read, read.ref.startMs - skew, reasons);
      if (!newest) continue;
      const byVersion =
        read.versionRead !== undefined && newest.version?.version !== undefined && newest.version.version > read.versionRead
          ? newest.version
          : undefined;
      const byEpoch =
        read.epoch !== undefined && newest.epoch?.epoch !== undefined && newest.epoch.epoch > read.epoch ? newest.epoch : undefined;
      const culprit = byVersion ?? byEpoch;
      if (!culprit) continue;
      findings.push(staleReadFinding(read, culprit, byVersion !== undefined));
    }
    const keepReceives: PendingReceive[] = [];
    for (const receive of receives) {
      if (!final && receive.ref.startMs >= completeBeforeMs) {
        keepReceives.push(receive);
        continue;
      }
      checked++;
      const newer = taskEpochs.get(receive.taskKey)?.newestBefore(receive.ref.startMs - skew).epoch;
      if (!newer || newer.epoch === undefined || newer.epoch <= receive.epoch) continue;
      findings.push({
        ruleId: RULE,
        severity: 'error',
        message: `${receive.agent} acted on a handoff from ${receive.source} at epoch ${receive.epoch} after the task moved to epoch ${newer.epoch}`,
        hint: HINT,
        evidence: evidenceOf([receive.ref, receive.send, newer.ref]),
        agents: [receive.source, receive.agent],
        ...(receive.taskId ? { taskId: receive.taskId } : {}),
      });
    }
    reads = keepReads;
    receives = keepReceives;
    // Nothing still to be checked starts before the oldest pending read: older writes fold into each
    // key's baseline. The fold walks every key, so at most once a minute of data time.
    if (!final && completeBeforeMs - lastSettleMs >= FORGET_EVERY_MS) {
      lastSettleMs = completeBeforeMs;
      let horizon = completeBeforeMs;
      for (const r of reads) if (r.ref.startMs < horizon) horizon = r.ref.startMs;
      for (const r of receives) if (r.ref.startMs < horizon) horizon = r.ref.startMs;
      // A key (or task) nobody wrote for an hour of data time is forgotten: memory follows what is live.
      const forgetBefore = horizon - FORGET_AFTER_MS;
      for (const [key, list] of writes) {
        list.settle(horizon - skew);
        if (list.lastEndMs < forgetBefore) writes.delete(key);
      }
      for (const [task, list] of taskEpochs) {
        list.settle(horizon - skew);
        if (list.lastEndMs < forgetBefore) taskEpochs.delete(task);
      }
    }
    return { findings, checked, notEvaluated: reasonsOf(reasons) };
  };

  return {
    group(handoffGraph): DetectorResult {
      assertGraph(RULE, handoffGraph);
      const { model } = handoffGraph;
      const reasons = new Map<string, number>();
      // Sends by the agent run they happened in, in start order (handoffs are sorted by send start).
      const sendsByRun = new Map<string, HandoffSend[]>();
      // Only stale reads look sends up by run: a group without state accesses (most framework traces) needs no index.
      const indexSends = model.stateAccesses.length > 0;
      for (const handoff of model.handoffs) {
        const send = handoff.send;
        if (!send) continue;
        if (indexSends && send.agentRunSpanId !== undefined) {
          let list = sendsByRun.get(send.agentRunSpanId);
          if (!list) sendsByRun.set(send.agentRunSpanId, (list = []));
          list.push(send);
        }
        if (send.epoch !== undefined) {
          const taskKey = handoff.taskId ?? `trace:${send.traceId}`;
          let list = taskEpochs.get(taskKey);
          if (!list) taskEpochs.set(taskKey, (list = new KeyWrites()));
          // A send moves the task to its epoch from the moment it starts.
          list.add({ endMs: send.startMs, version: undefined, epoch: send.epoch, ref: spanRefOf(send), agent: handoff.source });
        }
      }
      for (const handoff of model.handoffs) {
        for (const receive of handoff.receives) {
          if (receive.epoch === undefined) continue;
          receives.push({
            taskKey: handoff.taskId ?? `trace:${(handoff.send ?? receive).traceId}`,
            ref: receive,
            send: handoff.send,
            epoch: receive.epoch,
            agent: receive.agent,
            source: handoff.source,
            taskId: handoff.taskId,
          });
        }
      }
      for (const access of model.stateAccesses) {
        if (!access.ok) continue;
        const key = keyOf(access.store, access.key);
        noteStore(access.key, access.store);
        if (access.kind === 'write') {
          if (access.deduplicated) continue; // nothing new was committed
          let list = writes.get(key);
          if (!list) writes.set(key, (list = new KeyWrites()));
          list.add({ endMs: access.endMs, version: access.versionWritten, epoch: access.epoch, ref: spanRefOf(access), agent: access.agent });
          continue;
        }
        if (access.versionRead === undefined && access.epoch === undefined) {
          if (access.found !== false) countReason(reasons, UNVERSIONED);
          continue;
        }
        const decided: SpanRef[] = [];
        const sends = access.agentRunSpanId !== undefined ? sendsByRun.get(access.agentRunSpanId) : undefined;
        if (sends) {
          let lo = 0;
          let hi = sends.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (sends[mid]!.startMs < access.startMs) lo = mid + 1;
            else hi = mid;
          }
          for (let i = lo; i < sends.length && decided.length < MAX_DECIDED; i++) decided.push(sends[i]!);
        }
        reads.push({
          key,
          store: access.store,
          bareKey: access.key,
          ref: access,
          versionRead: access.versionRead,
          epoch: access.epoch,
          agent: access.agent,
          taskId: access.taskId,
          decided,
        });
      }
      forgetOldest(writes);
      forgetOldest(taskEpochs);
      forgetOldest(namedStores);
      return { findings: [], checked: 0, notEvaluated: reasonsOf(reasons) };
    },
    advance(completeBeforeMs) {
      return check(completeBeforeMs, false);
    },
    finish(nowMs) {
      return check(nowMs, true);
    },
  };
}

function staleReadFinding(read: PendingRead, culprit: WriteFact, byVersion: boolean): Finding {
  const reader = read.agent ?? 'an agent';
  const key = read.bareKey;
  const what = byVersion
    ? `at version ${read.versionRead} after version ${culprit.version} was committed`
    : `at epoch ${read.epoch} after epoch ${culprit.epoch} was committed`;
  const agents = [read.agent, culprit.agent].filter((a): a is string => a !== undefined);
  return {
    ruleId: RULE,
    severity: 'error',
    message: `${reader} read ${key} ${what} by ${culprit.agent ?? 'another writer'} (${formatMs(read.ref.startMs - culprit.endMs)} earlier)${read.decided.length ? ', then handed off on it' : ''}`,
    hint: HINT,
    evidence: evidenceOf([read.ref, culprit.ref, ...read.decided]),
    agents: [...new Set(agents)],
    ...(read.taskId ? { taskId: read.taskId } : {}),
  };
}

/** Reports stale reads and stale-epoch handoffs in one graph, taken as the whole input. Pure. */
export function detectStaleEpochReads(handoffGraph: HandoffGraph, options: StaleEpochReadOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  return runOnOneGraph(createStaleEpochReadRun(options), handoffGraph, handoffGraph.model.horizon.endMs);
}

export const staleEpochReadRule: RuleDefinition<StaleEpochReadOptions> = {
  id: RULE,
  description: 'state read at a version or epoch older than one already committed',
  severity: 'error',
  reads: ['handoffs', 'stateAccesses'],
  create: createStaleEpochReadRun,
};
