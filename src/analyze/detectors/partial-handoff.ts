/**
 * partial-handoff: a committed write that announced a completion event which
 * was never published, or an event published that no one consumed. A write the
 * store deduplicated (`baton.state.deduplicated`) committed nothing and owes no event.
 *
 * Events are matched over the whole input, not one trace: a transactional
 * outbox whose relay publishes the event in another trace (same topic, task,
 * key and version) is the fix this rule recommends, and is not flagged.
 * Publishes are indexed by topic, key, version and task, each of which a
 * publish may leave open (it then matches any), so each write is one handful
 * of lookups; consumers are matched by message id or by a link to the publish.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { EventRecord, HandoffGraph, StateAccessRecord } from '../../model/handoff-model.js';
import { FORGET_AFTER_MS, FORGET_EVERY_MS, forgetOldest } from '../bounded.js';
import { assertGraph, evidenceOf } from './evidence.js';
import { countReason, reasonsOf, runOnOneGraph, type RuleDefinition, type RuleRun } from './rule.js';

export const RULE = 'partial-handoff' as const;

export interface PartialHandoffOptions {
  /** Events published this close to "now" are not yet expected to be consumed, nor writes to be announced. Default 0. */
  readonly graceMs?: number;
  /** Also report published events nobody consumed. Default true. */
  readonly unconsumedEvents?: boolean;
}

const HINT_WRITE =
  'Make the write and its completion event atomic (transactional outbox), or have the coordinator check the store before it retries.';
const HINT_EVENT = 'Subscribe a consumer to the topic, or stop publishing it; an event nobody receives is a handoff that never happened.';
const UNANNOUNCED = 'writes without baton.event.expected_topic: which event should follow is unknown';
const TOO_RECENT = 'events published too close to the end of the data to expect a consumer';


/** A publish field left unset: it matches any value. */
const OPEN = '\u0001';

function slot(topic: string, key: string, version: string, task: string): string {
  return `${topic}\u0000${key}\u0000${version}\u0000${task}`;
}

/** Starts a partial-handoff run over one input. */
export function createPartialHandoffRun(options: PartialHandoffOptions = {}): RuleRun {
  const grace = options.graceMs ?? 0;
  const reportUnconsumed = options.unconsumedEvents ?? true;
  /** Latest publish start per slot: a write is announced by any publish that starts at or after it. */
  const latestPublish = new Map<string, number>();
  /** Consumed message ids and linked publish spans, with when the consume ended (for pruning). */
  const consumedIds = new Map<string, number>();
  const consumedSpans = new Map<string, number>();
  let writes: StateAccessRecord[] = [];
  let publishes: EventRecord[] = [];
  let sawAnnounced = false;
  let lastForgetMs = Number.NEGATIVE_INFINITY;
  let unannounced = 0;

  /** Per topic, which fields some publish of it left open (bits: 1 key, 2 version, 4 task): the lookups a write needs. */
  const openFields = new Map<string, number>();
  /** Per topic and key, every publish, for the rare write that leaves its version or task unset. */
  const byTopicKey = new Map<string, EventRecord[]>();

  const indexPublish = (p: EventRecord) => {
    const version = p.stateVersion !== undefined ? String(p.stateVersion) : OPEN;
    const s = slot(p.topic, p.key ?? OPEN, version, p.taskId ?? OPEN);
    const at = latestPublish.get(s);
    if (at === undefined || p.startMs > at) latestPublish.set(s, p.startMs);
    const open = (p.key === undefined ? 1 : 0) | (p.stateVersion === undefined ? 2 : 0) | (p.taskId === undefined ? 4 : 0);
    openFields.set(p.topic, (openFields.get(p.topic) ?? 0) | open);
    const tk = `${p.topic}\u0000${p.key ?? OPEN}`;
    let list = byTopicKey.get(tk);
    if (!list) byTopicKey.set(tk, (list = []));
    list.push(p);
  };

  const announced = (w: StateAccessRecord): boolean => {
    const topic = w.expectedTopic!;
    const open = openFields.get(topic);
    if (open === undefined) return false;
    if (w.versionWritten === undefined || w.taskId === undefined) {
      // A write that does not say its version or task accepts any: scan the publishes of its key.
      for (const key of open & 1 ? [w.key, OPEN] : [w.key]) {
        for (const p of byTopicKey.get(`${topic}\u0000${key}`) ?? []) {
          if (p.startMs < w.startMs) continue;
          if (w.versionWritten !== undefined && p.stateVersion !== undefined && p.stateVersion !== w.versionWritten) continue;
          if (w.taskId !== undefined && p.taskId !== undefined && p.taskId !== w.taskId) continue;
          return true;
        }
      }
      return false;
    }
    // The common case: one lookup, more only for the fields some publish of the topic left open.
    const version = String(w.versionWritten);
    const keys = open & 1 ? [w.key, OPEN] : [w.key];
    const versions = open & 2 ? [version, OPEN] : [version];
    const tasks = open & 4 ? [w.taskId, OPEN] : [w.taskId];
    for (const key of keys)
      for (const v of versions)
        for (const task of tasks) {
          const at = latestPublish.get(slot(topic, key, v, task));
          if (at !== undefined && at >= w.startMs) return true;
        }
    return false;
  };

  const check = (completeBeforeMs: number, final: boolean): DetectorResult => {
    const findings: Finding[] = [];
    const reasons = new Map<string, number>();
    let checked = 0;
    const keepWrites: StateAccessRecord[] = [];
    for (const write of writes) {
      if (!final && write.endMs > completeBeforeMs - grace) {
        keepWrites.push(write);
        continue;
      }
      checked++;
      if (announced(write)) continue;
      const version = write.versionWritten !== undefined ? ` (version ${write.versionWritten})` : '';
      findings.push({
        ruleId: RULE,
        severity: 'error',
        message: `${write.agent ?? 'a writer'} wrote ${write.key}${version}${write.attempt !== undefined ? ` in attempt ${write.attempt}` : ''} but never published ${write.expectedTopic}`,
        hint: HINT_WRITE,
        evidence: evidenceOf([write]),
        agents: write.agent ? [write.agent] : [],
        ...(write.taskId ? { taskId: write.taskId } : {}),
      });
    }
    const keepPublishes: EventRecord[] = [];
    for (const publish of publishes) {
      if (publish.endMs > completeBeforeMs - grace) {
        if (final) countReason(reasons, TOO_RECENT);
        else keepPublishes.push(publish);
        continue;
      }
      checked++;
      if (consumedIds.has(publish.messageId) || consumedSpans.has(publish.spanId)) continue;
      findings.push({
        ruleId: RULE,
        severity: 'warning',
        message: `event ${publish.topic} (${publish.messageId}) published by ${publish.agent ?? 'an agent'} was never consumed`,
        hint: HINT_EVENT,
        evidence: evidenceOf([publish]),
        agents: publish.agent ? [publish.agent] : [],
        ...(publish.taskId ? { taskId: publish.taskId } : {}),
      });
    }
    writes = keepWrites;
    publishes = keepPublishes;
    if (!final && completeBeforeMs - lastForgetMs >= FORGET_EVERY_MS) {
      lastForgetMs = completeBeforeMs;
      // Forget what nothing still pending can match: publishes older than every pending write,
      // consumes an hour older than the data settled so far.
      let oldestWrite = completeBeforeMs - grace;
      for (const w of writes) if (w.startMs < oldestWrite) oldestWrite = w.startMs;
      for (const [s, at] of latestPublish) if (at < oldestWrite) latestPublish.delete(s);
      for (const [tk, list] of byTopicKey) {
        const kept = list.filter((p) => p.startMs >= oldestWrite);
        if (kept.length === 0) byTopicKey.delete(tk);
        else if (kept.length < list.length) byTopicKey.set(tk, kept);
      }
      const forgetBefore = completeBeforeMs - FORGET_AFTER_MS;
      for (const [id, at] of consumedIds) if (at < forgetBefore) consumedIds.delete(id);
      for (const [id, at] of consumedSpans) if (at < forgetBefore) consumedSpans.delete(id);
    }
    if (final && unannounced > 0 && !sawAnnounced) countReason(reasons, UNANNOUNCED, unannounced);
    return { findings, checked, notEvaluated: reasonsOf(reasons) };
  };

  return {
    group(handoffGraph): DetectorResult {
      assertGraph(RULE, handoffGraph);
      const { model } = handoffGraph;
      for (const event of model.events) {
        if (event.kind === 'consume') {
          consumedIds.set(event.messageId, event.endMs);
          for (const link of event.links) consumedSpans.set(link.spanId, event.endMs);
          if (event.parentSpanId !== '') consumedSpans.set(event.parentSpanId, event.endMs);
          continue;
        }
        indexPublish(event);
        if (reportUnconsumed) publishes.push(event);
      }
      for (const write of model.stateAccesses) {
        if (write.kind !== 'write' || !write.ok) continue;
        if (write.expectedTopic === undefined) {
          unannounced++;
          continue;
        }
        sawAnnounced = true;
        // A write the store deduplicated (an idempotent retry answered with the first
        // write's version) committed nothing: its event is the first write's, which went
        // out with that write or did not, and is judged there.
        if (write.deduplicated === true) continue;
        writes.push(write);
      }
      forgetOldest(consumedIds);
      forgetOldest(consumedSpans);
      forgetOldest(latestPublish);
      forgetOldest(byTopicKey);
      return { findings: [], checked: 0, notEvaluated: [] };
    },
    advance(completeBeforeMs) {
      return check(completeBeforeMs, false);
    },
    finish(nowMs) {
      return check(nowMs, true);
    },
  };
}

/** Reports writes whose event never went out and events never consumed in one graph, taken as the whole input. Pure. */
export function detectPartialHandoffs(handoffGraph: HandoffGraph, options: PartialHandoffOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  return runOnOneGraph(createPartialHandoffRun(options), handoffGraph, handoffGraph.model.horizon.endMs);
}

export const partialHandoffRule: RuleDefinition<PartialHandoffOptions> = {
  id: RULE,
  description: 'a write whose completion event never went out, or an event nobody consumed',
  severity: 'error',
  reads: ['events', 'stateAccesses'],
  create: createPartialHandoffRun,
};
