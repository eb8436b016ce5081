/**
 * lost-update: a plain (not compare-and-set) write that replaced another
 * writer's committed update without having seen it. Two agents read a key at
 * version 1 and each write version 2: both writes commit, and the second one
 * silently drops the first one's change (last writer wins). A compare-and-set
 * on the version read turns the second write into a refusal the writer can
 * act on; a plain GET/SET (or an UPDATE without `WHERE version = $n`) never
 * does, so the trace is the only place it shows.
 *
 * Definition. A committed write W of a key, with the version it claims
 * (`baton.state.version_written`, V), overwrote a committed write W' of the
 * same key (same store) when all of these hold:
 *   - W is not a compare-and-set (no `baton.state.version_expected`: a
 *     compare-and-set that committed replaced exactly the version it read) and
 *     the store did not deduplicate it (`baton.state.deduplicated`);
 *   - W' is by another logical writer: another agent run, agent or task, or
 *     another idempotency key. Writes duplicate-write takes as one logical
 *     write (one idempotency key; one task + step + key; with only attempt
 *     numbers, one task + agent + key) are never paired here: a retry that
 *     lands twice is duplicate-write's finding, not this rule's;
 *   - W' came before W: its reply came first (its span ended first), unless
 *     the two overlapped and W' claims a higher version than W (the store's
 *     versions then say W' came after);
 *   - W' claims a version newer than the one W was based on, and ended after
 *     the access that version comes from began: W's writer could not have
 *     seen it. W was based on what its writer last saw of the key before W
 *     began, in the same agent run (outside any run: the same agent and task,
 *     in the same trace group): the version its latest read returned (none,
 *     for a read that found no key), or the version of its own latest write.
 *     A newer commit that had ended before that access began was there to be
 *     seen: the basis was stale (stale-epoch-read reports such a read) or the
 *     key changed in a way the trace does not show (a deletion), and W is not
 *     reported here. With no such access in the data, W is taken as based on
 *     V − 1, the version a write of V replaces, and only a W' claiming V too
 *     counts (a lower or higher version may be a reset); what that finds is a
 *     warning saying the basis was inferred.
 * So two writers that both read version 1 and both wrote version 2 are
 * reported once, against the later write; a writer that read version 2 after
 * the other committed it and wrote version 3 is not (serialized, the near
 * miss); a compare-and-set the store refused committed nothing and is not a
 * write here at all.
 *
 * What it does not claim. It does not say which fields were lost (bodies are
 * not recorded): a writer that re-applied its change to the newest value
 * outside the trace, a write that replaces the whole value on purpose, or a
 * partial write that left the other writer's change in place (an HSET or an
 * UPDATE of other fields, claiming the same version) reads the same; what is
 * certain then is that the version no longer counts the writes. A version
 * field that is not the key's write counter (a schema version) makes every
 * pair of writers look like a lost update. Spans give order only to their own
 * precision: of two overlapping writes claiming one version, the later reply
 * is taken as the later commit; two overlapping writes whose replies came back
 * in the opposite order of the versions the store gave them are not paired
 * (the lower one's reply, the later, comes when the other has already been
 * checked), nor are overlapping writes more than MAX_OVERLAP_VERSIONS apart. A
 * write without a version cannot be placed (counted under `notEvaluated`,
 * never passed), and neither can one naming no agent, task, agent run or
 * idempotency key. Failed writes, timed-out ones included, committed nothing
 * it can see (a timed-out retry is duplicate-write's).
 *
 * State lives in a store, so committed writes are indexed per store and key
 * over the whole input (the two writers are often two processes, two traces).
 * A write is checked once everything that ended before it has been seen (or
 * at the end). Per key the index keeps the two newest versions of distinct
 * writers among writes settled long ago, plus the recent writes sorted once
 * and searched by binary search, and the earliest two distinct writers of each
 * recent version; overlapping writers are looked up by version, at most
 * MAX_OVERLAP_VERSIONS below the write's own. Every lookup is O(log n) or a
 * bounded number of map lookups, so a hot key of 300k writes costs n log n. A
 * key nobody wrote for an hour of data time is forgotten, and at most
 * MAX_REMEMBERED keys are kept (the oldest go first).
 */
import type { DetectorResult, Finding, Severity } from '../../model/finding.js';
import type { HandoffGraph, SpanRef, StateAccessRecord } from '../../model/handoff-model.js';
import { FORGET_AFTER_MS, FORGET_EVERY_MS, forgetOldest } from '../bounded.js';
import { partitionPoint } from '../span-index.js';
import { spanRefOf } from '../state-index.js';
import { identityOf as logicalWriteOf } from './duplicate-write.js';
import { assertGraph, evidenceOf } from './evidence.js';
import { countReason, reasonsOf, runOnOneGraph, type RuleDefinition, type RuleRun } from './rule.js';

export const RULE = 'lost-update' as const;

export type LostUpdateOptions = Record<string, never>;

const HINT =
  'Make the read-modify-write a compare-and-set on the version read (RedisStateStore / PgStateStore set with expectedVersion, or UPDATE … WHERE version = $n), so the second writer is refused and re-reads instead of overwriting; or hold a lock on the key from the read to the write.';
const UNVERSIONED = 'state writes without baton.state.version_written: what they replaced cannot be told';
const UNKNOWN_WRITER = 'state writes naming no agent, task, agent run or idempotency key: whose update they replaced cannot be told';

/** Versions below a write's own looked up among the writes that overlapped it: bounded work per write. */
export const MAX_OVERLAP_VERSIONS = 32;

/** A committed write of a key, reduced to what the checks need. */
interface Commit {
  readonly ref: SpanRef;
  readonly version: number;
  /** The logical writer: duplicate-write's identity of the write, else its agent run (or agent and task). */
  readonly tag: string;
  readonly agent: string | undefined;
  readonly taskId: string | undefined;
}

/** What a write's writer last saw of its key before the write. */
type BasisKind = 'read' | 'not-found' | 'own-write' | 'inferred';

interface PendingWrite {
  readonly commit: Commit;
  readonly keyId: string;
  readonly key: string;
  /** The version the write was based on: any newer commit by another writer before it was overwritten. */
  readonly basis: number;
  readonly basisKind: BasisKind;
  /** The access the basis comes from (none when inferred): commits that ended before it began, it could have seen. */
  readonly basisRef: SpanRef | undefined;
}

/** `a` before `b` in commit order as the spans show it: end time, then span id. */
function endsBefore(a: Commit, b: Commit): boolean {
  return a.ref.endMs < b.ref.endMs || (a.ref.endMs === b.ref.endMs && a.ref.spanId < b.ref.spanId);
}

/** `a` is newer than `b`: a higher version; of one version, the earlier commit (the one the writer missed first). */
function newer(a: Commit, b: Commit | undefined): boolean {
  return b === undefined || a.version > b.version || (a.version === b.version && endsBefore(a, b));
}

/** The newest commit, and the newest by a writer other than the newest's: whoever asks, one of them is by another writer. */
interface NewestTwo {
  best: Commit | undefined;
  second: Commit | undefined;
}

function offerNewest(into: NewestTwo, c: Commit | undefined): void {
  if (c === undefined) return;
  if (newer(c, into.best)) {
    if (into.best !== undefined && into.best.tag !== c.tag) into.second = into.best;
    into.best = c;
  } else if (c.tag !== into.best!.tag && newer(c, into.second)) {
    into.second = c;
  }
}

/** Of one version: the earliest commit, and the earliest by a writer other than its. */
interface EarliestTwo {
  first: Commit;
  second: Commit | undefined;
}

function offerEarliest(into: EarliestTwo, c: Commit): void {
  if (endsBefore(c, into.first)) {
    if (into.first.tag !== c.tag) into.second = into.first;
    into.first = c;
  } else if (c.tag !== into.first.tag && (into.second === undefined || endsBefore(c, into.second))) {
    into.second = c;
  }
}

/** Whichever of `head` and `second` (by a writer other than head's) is by a writer other than `tag`. */
function otherThan(head: Commit | undefined, second: Commit | undefined, tag: string): Commit | undefined {
  if (head === undefined) return undefined;
  return head.tag !== tag ? head : second;
}

/** The committed writes of one key: "newest commit by another writer ended by t", and "earliest commit of version v by another writer". */
class KeyCommits {
  /** The newest two distinct writers' commits among those folded away (ended long ago). */
  readonly #baseline: NewestTwo = { best: undefined, second: undefined };
  #recent: Commit[] = [];
  #sorted = true;
  /** Newest-two over #recent[0..i] in end order, rebuilt lazily after additions. */
  #prefixBest: Commit[] = [];
  #prefixSecond: (Commit | undefined)[] = [];
  readonly #byVersion = new Map<number, EarliestTwo>();
  lastEndMs = Number.NEGATIVE_INFINITY;

  add(c: Commit): void {
    const last = this.#recent[this.#recent.length - 1];
    if (last && endsBefore(c, last)) this.#sorted = false;
    this.#recent.push(c);
    if (c.ref.endMs > this.lastEndMs) this.lastEndMs = c.ref.endMs;
    const same = this.#byVersion.get(c.version);
    if (same) offerEarliest(same, c);
    else this.#byVersion.set(c.version, { first: c, second: undefined });
  }

  #prepare(): void {
    let from = this.#prefixBest.length;
    if (!this.#sorted) {
      this.#recent.sort((a, b) => (endsBefore(a, b) ? -1 : endsBefore(b, a) ? 1 : 0));
      this.#sorted = true;
      from = 0;
    }
    const n = this.#recent.length;
    if (from === n) return;
    this.#prefixBest.length = from;
    this.#prefixSecond.length = from;
    const running: NewestTwo = { best: from > 0 ? this.#prefixBest[from - 1] : undefined, second: from > 0 ? this.#prefixSecond[from - 1] : undefined };
    for (let i = from; i < n; i++) {
      offerNewest(running, this.#recent[i]);
      this.#prefixBest[i] = running.best!;
      this.#prefixSecond[i] = running.second;
    }
  }

  /**
   * The newest commit by a writer other than `tag` that ended at or before `atMs`. A baseline
   * commit that ended after `atMs` (data that arrived after the fold) is not used: the answer may
   * then miss one, but never names a commit that came later.
   */
  newestOtherBy(atMs: number, tag: string): Commit | undefined {
    const base = otherThan(this.#baseline.best, this.#baseline.second, tag);
    let found = base !== undefined && base.ref.endMs <= atMs ? base : undefined;
    if (this.#recent.length === 0) return found;
    this.#prepare();
    const recent = this.#recent;
    const end = partitionPoint(recent.length, (i) => recent[i]!.ref.endMs <= atMs);
    if (end === 0) return found;
    const candidate = otherThan(this.#prefixBest[end - 1], this.#prefixSecond[end - 1], tag);
    if (candidate !== undefined && newer(candidate, found)) found = candidate;
    return found;
  }

  /** The earliest commit of `version` by a writer other than `tag`. */
  earliestOtherOf(version: number, tag: string): Commit | undefined {
    const same = this.#byVersion.get(version);
    return same === undefined ? undefined : otherThan(same.first, same.second, tag);
  }

  /**
   * Folds the commits that ended before `beforeMs` into the baseline: no write still to be
   * checked began before them, so the newest-before lookup answers for them from the baseline,
   * and a version whose earliest two writers both ended then needs no lookup by version.
   */
  settle(beforeMs: number): void {
    if (this.#recent.length === 0) return;
    this.#prepare();
    const recent = this.#recent;
    const keep = partitionPoint(recent.length, (i) => recent[i]!.ref.endMs < beforeMs);
    if (keep === 0) return;
    offerNewest(this.#baseline, this.#prefixBest[keep - 1]);
    offerNewest(this.#baseline, this.#prefixSecond[keep - 1]);
    this.#recent = recent.slice(keep);
    this.#prefixBest = [];
    this.#prefixSecond = [];
    for (const [version, two] of this.#byVersion) {
      if (two.first.ref.endMs < beforeMs && (two.second === undefined || two.second.ref.endMs < beforeMs)) this.#byVersion.delete(version);
    }
  }
}

/** Store and key as one map key. */
function keyOf(store: string, key: string): string {
  return `${store}\u0000${key}`;
}

/** Who acted: the agent run, else the agent and task; undefined when the span names neither. */
function actorOf(access: StateAccessRecord): string | undefined {
  if (access.agentRunSpanId !== undefined) return `r\u0000${access.traceId}\u0000${access.agentRunSpanId}`;
  if (access.agent !== undefined || access.taskId !== undefined) return `n\u0000${access.agent ?? ''}\u0000${access.taskId ?? ''}`;
  return undefined;
}

/** The version an access told its actor the key was at (0: no key), or undefined when it told nothing countable. */
function seenVersion(access: StateAccessRecord): { version: number; kind: BasisKind } | undefined {
  if (access.kind === 'write') return access.versionWritten !== undefined ? { version: access.versionWritten, kind: 'own-write' } : undefined;
  if (access.versionRead !== undefined) return { version: access.versionRead, kind: 'read' };
  if (access.found === false) return { version: 0, kind: 'not-found' };
  return undefined;
}

/** Sorts by end time, then span id. */
function byEnd(a: SpanRef, b: SpanRef): number {
  return a.endMs - b.endMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

/** Starts a lost-update run over one input. */
export function createLostUpdateRun(_options: LostUpdateOptions = {}): RuleRun {
  const keys = new Map<string, KeyCommits>();
  let pending: PendingWrite[] = [];
  let lastSettleMs = Number.NEGATIVE_INFINITY;

  const check = (completeBeforeMs: number, final: boolean): DetectorResult => {
    const findings: Finding[] = [];
    const ready: PendingWrite[] = [];
    const keep: PendingWrite[] = [];
    for (const write of pending) (final || write.commit.ref.endMs < completeBeforeMs ? ready : keep).push(write);
    pending = keep;
    ready.sort((a, b) => byEnd(a.commit.ref, b.commit.ref));
    for (const write of ready) {
      const overwritten = overwrittenBy(keys.get(write.keyId), write);
      if (overwritten !== undefined) findings.push(lostUpdateFinding(write, overwritten));
    }
    // Nothing still to be checked began before the oldest pending write: older commits fold into each
    // key's baseline. The fold walks every key, so at most once a minute of data time.
    if (!final && completeBeforeMs - lastSettleMs >= FORGET_EVERY_MS) {
      lastSettleMs = completeBeforeMs;
      let horizon = completeBeforeMs;
      for (const w of pending) if (w.commit.ref.startMs < horizon) horizon = w.commit.ref.startMs;
      // A key nobody wrote for an hour of data time is forgotten: memory follows what is live.
      const forgetBefore = horizon - FORGET_AFTER_MS;
      for (const [key, commits] of keys) {
        commits.settle(horizon);
        if (commits.lastEndMs < forgetBefore) keys.delete(key);
      }
    }
    return { findings, checked: 0, notEvaluated: [] };
  };

  return {
    group(handoffGraph): DetectorResult {
      assertGraph(RULE, handoffGraph);
      const accesses = handoffGraph.model.stateAccesses;
      const reasons = new Map<string, number>();
      let checked = 0;
      // What each actor saw of each key, in end order: the basis of its writes.
      const seen = new Map<string, StateAccessRecord[]>();
      for (const access of accesses) {
        if (!access.ok) continue; // a failed read or write told its actor nothing countable
        const actor = actorOf(access);
        if (actor === undefined) continue;
        const id = `${actor}\u0000${keyOf(access.store, access.key)}`;
        let list = seen.get(id);
        if (!list) seen.set(id, (list = []));
        list.push(access);
      }
      for (const list of seen.values()) list.sort(byEnd);
      for (const write of accesses) {
        if (write.kind !== 'write' || !write.ok) continue;
        if (write.deduplicated === true) {
          checked++; // committed nothing new: nothing overwritten
          continue;
        }
        const keyId = keyOf(write.store, write.key);
        const actor = actorOf(write);
        const identity = logicalWriteOf(write);
        const tag = identity ?? actor ?? `u\u0000${write.traceId}\u0000${write.spanId}`;
        const version = write.versionWritten;
        const commit: Commit | undefined =
          version !== undefined ? { ref: spanRefOf(write), version, tag, agent: write.agent, taskId: write.taskId } : undefined;
        if (commit) {
          let commits = keys.get(keyId);
          if (!commits) keys.set(keyId, (commits = new KeyCommits()));
          commits.add(commit);
        }
        if (write.versionExpected !== undefined) {
          checked++; // a compare-and-set that committed replaced the version it read
          continue;
        }
        if (!commit) {
          countReason(reasons, UNVERSIONED);
          continue;
        }
        if (identity === undefined && actor === undefined) {
          countReason(reasons, UNKNOWN_WRITER);
          continue;
        }
        checked++;
        const list = actor !== undefined ? seen.get(`${actor}\u0000${keyId}`) : undefined;
        let basisAccess: StateAccessRecord | undefined;
        if (list) {
          const at = partitionPoint(list.length, (i) => list[i]!.endMs <= write.startMs);
          // The latest access that ended before the write began (the write itself, when it took no time, aside).
          for (let i = at - 1; i >= 0; i--) {
            if (list[i] !== write) {
              basisAccess = list[i];
              break;
            }
          }
        }
        const saw = basisAccess !== undefined ? seenVersion(basisAccess) : undefined;
        pending.push({
          commit,
          keyId,
          key: write.key,
          basis: saw?.version ?? commit.version - 1,
          basisKind: saw?.kind ?? 'inferred',
          basisRef: saw !== undefined ? spanRefOf(basisAccess!) : undefined,
        });
      }
      forgetOldest(keys);
      return { findings: [], checked, notEvaluated: reasonsOf(reasons) };
    },
    advance(completeBeforeMs) {
      return check(completeBeforeMs, false);
    },
    finish(nowMs) {
      return check(nowMs, true);
    },
  };
}

/** The newest commit by another writer that `write` replaced without having seen it, if any. */
function overwrittenBy(commits: KeyCommits | undefined, write: PendingWrite): Commit | undefined {
  if (commits === undefined) return undefined;
  const w = write.commit;
  const basisRef = write.basisRef;
  // With nothing its writer saw in the data, only a commit claiming the very version it claims says that
  // both replaced the version before it: a lower or higher version may be a reset the trace does not show.
  if (basisRef === undefined) {
    const same = commits.earliestOtherOf(w.version, w.tag);
    return same !== undefined && endsBefore(same, w) ? same : undefined;
  }
  // Commits that ended before the write began: any version newer than its basis. One that ended before the
  // basis access even began was there to be seen: the basis was stale (stale-epoch-read reports such a
  // read), or the key changed in a way the trace does not show; either way not this rule's to report.
  let found = commits.newestOtherBy(w.ref.startMs, w.tag);
  if (found !== undefined && found.version <= write.basis) found = undefined;
  if (found !== undefined && found.ref.endMs <= basisRef.startMs) return undefined;
  // Commits that overlapped it and ended first: those of its own version or a version below it
  // (a higher version claimed by an overlapping write says that write came after). Versions below its
  // own are counted down only from a safe integer: from 1e308, v - 1 is v again.
  let below = -1;
  if (w.version > write.basis) {
    below = Number.isSafeInteger(w.version) && Number.isSafeInteger(write.basis) ? Math.min(MAX_OVERLAP_VERSIONS - 1, w.version - write.basis - 1) : 0;
  }
  for (let k = 0; k <= below; k++) {
    const v = w.version - k;
    if (found !== undefined && found.version >= v) break;
    const candidate = commits.earliestOtherOf(v, w.tag);
    if (candidate !== undefined && endsBefore(candidate, w)) {
      if (candidate.ref.endMs <= basisRef.startMs) return undefined;
      found = candidate;
      break;
    }
  }
  return found;
}

function lostUpdateFinding(write: PendingWrite, lost: Commit): Finding {
  const w = write.commit;
  const writer = w.agent ?? 'a writer';
  let other = lost.agent ?? 'another writer';
  // Two writers of one name (two runs of an agent, or one agent in two tasks) are told apart.
  if (lost.agent !== undefined && lost.agent === w.agent) {
    other = lost.taskId !== undefined && lost.taskId !== w.taskId ? `${lost.agent} (task ${lost.taskId})` : `another run of ${lost.agent}`;
  }
  const basis =
    write.basisKind === 'read'
      ? `based on version ${write.basis} it had read`
      : write.basisKind === 'not-found'
        ? 'based on a read that found no such key'
        : write.basisKind === 'own-write'
          ? `based on version ${write.basis} it had written itself`
          : `with no read of the key in the data (taken as based on version ${write.basis})`;
  const severity: Severity = write.basisKind === 'inferred' ? 'warning' : 'error';
  const agents = [...new Set([w.agent, lost.agent].filter((a): a is string => a !== undefined))];
  return {
    ruleId: RULE,
    severity,
    message: `${writer} overwrote ${other}'s update of ${write.key}: ${writer} wrote version ${w.version} ${basis}, after ${other} had committed version ${lost.version}`,
    hint: HINT,
    evidence: evidenceOf([w.ref, lost.ref, write.basisRef]),
    agents,
    ...(w.taskId !== undefined ? { taskId: w.taskId } : {}),
  };
}

/** Reports plain writes that replaced another writer's update they never saw, in one graph taken as the whole input. Pure. */
export function detectLostUpdates(handoffGraph: HandoffGraph, options: LostUpdateOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  return runOnOneGraph(createLostUpdateRun(options), handoffGraph, handoffGraph.model.horizon.endMs);
}

export const lostUpdateRule: RuleDefinition<LostUpdateOptions> = {
  id: RULE,
  description: "a plain write that replaced another writer's committed update it never read",
  severity: 'error',
  reads: ['stateAccesses'],
  create: createLostUpdateRun,
};
