/**
 * partial-handoff: a committed write that announced a completion event which was
 * never published, or an event published that no one consumed, within the
 * trace's horizon.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { EventRecord, HandoffGraph } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf } from './evidence.js';

export const RULE = 'partial-handoff' as const;

export interface PartialHandoffOptions {
  /** Events published this close to the end of the horizon are not yet expected to be consumed. Default 0. */
  readonly graceMs?: number;
  /** Also report published events nobody consumed. Default true. */
  readonly unconsumedEvents?: boolean;
}

const HINT_WRITE =
  'Make the write and its completion event atomic (transactional outbox), or have the coordinator check the store before it retries.';
const HINT_EVENT = 'Subscribe a consumer to the topic, or stop publishing it; an event nobody receives is a handoff that never happened.';

/** Reports writes whose event never went out and events never consumed. Pure. */
export function detectPartialHandoffs(handoffGraph: HandoffGraph, options: PartialHandoffOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const grace = options.graceMs ?? 0;
  const findings: Finding[] = [];
  const publishes = new Map<string, EventRecord[]>();
  const consumed = new Set<string>();
  for (const event of model.events) {
    if (event.kind === 'consume') {
      consumed.add(event.messageId);
      continue;
    }
    let list = publishes.get(event.topic);
    if (!list) publishes.set(event.topic, (list = []));
    list.push(event);
  }
  let checked = 0;
  let unannounced = 0;
  for (const write of model.stateAccesses) {
    if (write.kind !== 'write' || !write.ok) continue;
    if (write.expectedTopic === undefined) {
      unannounced++;
      continue;
    }
    checked++;
    const announced = (publishes.get(write.expectedTopic) ?? []).some(
      (p) =>
        p.startMs >= write.startMs &&
        (p.taskId === undefined || write.taskId === undefined || p.taskId === write.taskId) &&
        (p.key === undefined || p.key === write.key) &&
        (p.stateVersion === undefined || write.versionWritten === undefined || p.stateVersion === write.versionWritten),
    );
    if (announced) continue;
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
  let eventsChecked = 0;
  if (options.unconsumedEvents ?? true) {
    for (const list of publishes.values()) {
      for (const publish of list) {
        if (publish.endMs > model.horizon.endMs - grace) continue;
        eventsChecked++;
        if (consumed.has(publish.messageId)) continue;
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
    }
  }
  return {
    findings,
    checked: checked + eventsChecked,
    notEvaluated:
      unannounced > 0 && checked === 0
        ? [{ count: unannounced, reason: 'writes without baton.event.expected_topic: which event should follow is unknown' }]
        : [],
  };
}
