/**
 * The shared half of model building: handoff parts from any dialect are paired
 * (sends, receives and acks by handoff id), linked (did trace context arrive?),
 * placed (which agent run a state access happened in) and ordered into the
 * HandoffModel the detectors read. Dialect-specific reading stays in
 * ./dialects; nothing here knows an attribute name.
 */
import type {
  AgentRunRecord,
  EnvelopeFacts,
  DialectUsage,
  EventRecord,
  Handoff,
  HandoffAck,
  HandoffDelivery,
  HandoffModel,
  HandoffReceive,
  HandoffSend,
  SpanRole,
  StateAccessRecord,
  TimedSpan,
} from '../model/handoff-model.js';
import { StatusCodeNumber, type SpanRecord } from '../model/span-record.js';
import type { HandoffPart, Mutable, ReceivePart, SendPart } from './dialects/dialect.js';
import { compareByStart, rememberSpanIndex, type SpanIndex } from './span-index.js';


/** Parts of one group with the dialect that read each. */
export interface DialectParts {
  readonly dialect: string;
  readonly parts: readonly HandoffPart[];
}

interface HandoffDraft {
  id: string;
  dialect: string;
  taskId: string | undefined;
  source: string | undefined;
  target: string | undefined;
  send: HandoffSend | undefined;
  sendSpanIds: string[];
  receives: HandoffReceive[];
  acks: HandoffAck[];
  deliveries: HandoffDelivery[] | undefined;
}


/**
 * Copies the envelope facts of a send or receive part, field by field: this runs
 * for every handoff span, and a for-in or spread over the part is several times slower.
 */
function copyFacts(target: Mutable<EnvelopeFacts>, part: SendPart | ReceivePart): void {
  if (part.schemaId !== undefined) target.schemaId = part.schemaId;
  if (part.schemaVersion !== undefined) target.schemaVersion = part.schemaVersion;
  if (part.validation !== undefined) target.validation = part.validation;
  if (part.attempt !== undefined) target.attempt = part.attempt;
  if (part.epoch !== undefined) target.epoch = part.epoch;
  if (part.stateVersion !== undefined) target.stateVersion = part.stateVersion;
  if (part.idempotencyKey !== undefined) target.idempotencyKey = part.idempotencyKey;
  if (part.timeoutBudgetMs !== undefined) target.timeoutBudgetMs = part.timeoutBudgetMs;
  if (part.tokenCount !== undefined) target.tokenCount = part.tokenCount;
  if (part.contextBytes !== undefined) target.contextBytes = part.contextBytes;
  if (part.envelopeBytes !== undefined) target.envelopeBytes = part.envelopeBytes;
  if (part.decisionsCount !== undefined) target.decisionsCount = part.decisionsCount;
  if (part.constraintsCount !== undefined) target.constraintsCount = part.constraintsCount;
  if (part.missingFields !== undefined) target.missingFields = part.missingFields;
  if (part.status !== undefined) target.status = part.status;
}

/**
 * Assembles the model of one trace group. `spans` are all of the group's
 * spans (timing keeps the ones no dialect read) and `index` is built over them;
 * `dialects` says how many spans each dialect claimed. Pure: parts and spans
 * are read, never changed.
 */
export function assembleHandoffModel(
  spans: readonly SpanRecord[],
  index: SpanIndex,
  byDialect: readonly DialectParts[],
  dialects: readonly DialectUsage[],
  /** The model's `conventionsVersions` (sorted). Default: none. */
  conventionsVersions: readonly string[] = [],
): HandoffModel {
  const traceIds = new Set<string>();
  let lastTraceId: string | undefined;
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    // Spans of one trace come together: a set lookup only when the trace id changes.
    if (span.traceId !== lastTraceId) traceIds.add((lastTraceId = span.traceId));
    if (span.startMs < startMs) startMs = span.startMs;
    if (span.endMs > endMs) endMs = span.endMs;
  }

  // The role of each span a dialect read, as the TimedSpan it becomes: one object per span, built
  // once, kept at the position of the span's id in the group (the index's), so no map of its own.
  const roleAt: (TimedSpan | undefined)[] = new Array(spans.length);
  const setRole = (span: SpanRecord, role: SpanRole, agent: string | undefined): void => {
    const at = index.positionOf(span.spanId);
    // Not a span of the group: timing reads roles only through the group's spans.
    if (at === -1) return;
    roleAt[at] = {
      traceId: span.traceId,
      spanId: span.spanId,
      startMs: span.startMs,
      endMs: span.endMs,
      parentSpanId: span.parentSpanId,
      name: span.name,
      role,
      agent,
    };
  };
  // Agent run span id → its agent: a state access or event that names no agent is its enclosing run's.
  const agentRunSpans = new Map<string, string>();
  for (const { parts } of byDialect) {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.type === 'agent-run') agentRunSpans.set(part.span.spanId, part.agent);
    }
  }

  // The nearest enclosing agent run, memoized along each walked path: O(spans) overall.
  const runOf = new Map<string, string | undefined>();
  const enclosingRun = (span: SpanRecord): string | undefined => {
    const path: string[] = [];
    let found: string | undefined;
    let steps = index.size + 1;
    for (let current = index.parentOf(span); current && steps-- > 0; current = index.parentOf(current)) {
      if (runOf.has(current.spanId)) {
        found = runOf.get(current.spanId);
        break;
      }
      if (agentRunSpans.has(current.spanId)) {
        found = current.spanId;
        break;
      }
      if (current === span) break;
      path.push(current.spanId);
    }
    for (let i = 0; i < path.length; i++) runOf.set(path[i]!, found);
    return found;
  };

  const drafts = new Map<string, HandoffDraft>();
  // In creation order, as the map iterates them: walked by index, since on one large group this runs
  // once, before V8 optimizes it, and a map iterator there allocates a result per entry.
  const draftList: HandoffDraft[] = [];
  const draftFor = (id: string, dialect: string, part: { taskId?: string; source?: string; target?: string }): HandoffDraft => {
    let draft = drafts.get(id);
    if (!draft) {
      draft = { id, dialect, taskId: undefined, source: undefined, target: undefined, send: undefined, sendSpanIds: [], receives: [], acks: [], deliveries: undefined };
      drafts.set(id, draft);
      draftList.push(draft);
    }
    draft.taskId ??= part.taskId;
    draft.source ??= part.source;
    draft.target ??= part.target;
    return draft;
  };

  const transfers: Handoff[] = [];
  const transferIds = new Set<string>();
  const stateAccesses: StateAccessRecord[] = [];
  const events: EventRecord[] = [];
  const agentRuns: AgentRunRecord[] = [];
  const sendSpanIds = new Set<string>();

  for (const { dialect, parts } of byDialect) {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const span = part.span;
      switch (part.type) {
        case 'send': {
          setRole(span, 'send', part.source);
          const draft = draftFor(part.handoffId ?? `span:${span.spanId}`, dialect, part);
          // A resend under the same id (a retry) is one handoff: the earliest send is its start,
          // and a receive linked to any of its sends is linked.
          draft.sendSpanIds.push(span.spanId);
          sendSpanIds.add(span.spanId);
          if (!draft.send || compareByStart(span, draft.send) < 0) {
            const send: Mutable<HandoffSend> = {
              traceId: span.traceId,
              spanId: span.spanId,
              startMs: span.startMs,
              endMs: span.endMs,
              parentSpanId: span.parentSpanId,
            };
            copyFacts(send, part);
            const run = enclosingRun(span);
            if (run !== undefined) send.agentRunSpanId = run;
            draft.send = send;
          }
          break;
        }
        case 'receive': {
          const agent = part.agent ?? part.target ?? 'unknown';
          setRole(span, 'receive', agent);
          const draft = draftFor(part.handoffId ?? `span:${span.spanId}`, dialect, part);
          const receive: Mutable<HandoffReceive> = {
            traceId: span.traceId,
            spanId: span.spanId,
            startMs: span.startMs,
            endMs: span.endMs,
            parentSpanId: span.parentSpanId,
            links: span.links,
            linkedToSend: false, // resolved below, once every send is known
            carriesRemoteContext: false,
            agent,
          };
          copyFacts(receive, part);
          if (part.senderSchemaVersion !== undefined) receive.senderSchemaVersion = part.senderSchemaVersion;
          draft.receives.push(receive);
          if (part.ack) {
            const ack: Mutable<HandoffAck> = { traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, endMs: span.endMs, atMs: span.startMs, manual: false };
            if (part.ack.delayMs !== undefined) ack.delayMs = part.ack.delayMs;
            if (part.ack.withinBudget !== undefined) ack.withinBudget = part.ack.withinBudget;
            draft.acks.push(ack);
          }
          break;
        }
        case 'ack': {
          setRole(span, 'ack', part.target);
          const draft = draftFor(part.handoffId, dialect, part);
          const ack: Mutable<HandoffAck> = { traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, endMs: span.endMs, atMs: span.startMs, manual: true };
          if (part.delayMs !== undefined) ack.delayMs = part.delayMs;
          if (part.withinBudget !== undefined) ack.withinBudget = part.withinBudget;
          draft.acks.push(ack);
          break;
        }
        case 'delivery': {
          // The router's span keeps no role of its own: it is timing, and evidence of the handoff.
          const draft = draftFor(part.handoffId, dialect, part);
          const delivery: Mutable<HandoffDelivery> = {
            traceId: span.traceId,
            spanId: span.spanId,
            startMs: span.startMs,
            endMs: span.endMs,
            status: part.status,
            accepted: part.accepted,
          };
          if (part.router !== undefined) delivery.router = part.router;
          (draft.deliveries ??= []).push(delivery);
          break;
        }
        case 'transfer': {
          setRole(span, 'transfer', part.source);
          // Field by field, not spreads: this runs for every transfer span of framework traces.
          const send: HandoffSend = { traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, endMs: span.endMs, parentSpanId: span.parentSpanId };
          const receives: HandoffReceive[] = [];
          const arrival = part.arrival;
          if (arrival) {
            receives.push({
              traceId: arrival.traceId,
              spanId: arrival.spanId,
              startMs: arrival.startMs,
              endMs: arrival.endMs,
              parentSpanId: arrival.parentSpanId,
              links: arrival.links,
              // In-process: the target's run is the transfer's continuation, so context cannot be lost.
              linkedToSend: true,
              carriesRemoteContext: true,
              agent: part.target,
            });
          }
          // One span can hand off to several agents (a tool that invokes two): ids stay unique.
          let id = `transfer:${span.spanId}`;
          if (transferIds.has(id)) id = `${id}:${part.arrival?.spanId ?? transfers.length}`;
          transferIds.add(id);
          const handoff: Mutable<Handoff> = {
            id,
            taskId: part.taskId,
            source: part.source,
            target: part.target,
            send,
            sendCount: part.sendCount ?? 1,
            receives,
            acks: [],
            kind: 'transfer',
            dialect,
            inferred: part.inferred,
          };
          if (part.mode !== undefined) handoff.mode = part.mode;
          // A transfer the framework refused is a handoff that was routed nowhere: read as a drop.
          if (part.refusal !== undefined) handoff.deliveries = [{ traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, endMs: span.endMs, status: part.refusal, accepted: false }];
          transfers.push(handoff);
          break;
        }
        case 'state-read':
        case 'state-write': {
          const run = enclosingRun(span);
          // `traceStateRead` / `instrumentStore` inside `runAgent` without `agent`: the run says who.
          const agent = part.agent ?? (run !== undefined ? agentRunSpans.get(run) : undefined);
          setRole(span, part.type, agent);
          const access = {
            traceId: span.traceId,
            spanId: span.spanId,
            startMs: span.startMs,
            endMs: span.endMs,
            kind: part.type === 'state-read' ? 'read' : 'write',
            key: part.key,
            store: part.store ?? '',
            dialect,
            agent,
            taskId: part.taskId,
            ok: span.statusCode !== StatusCodeNumber.Error,
            agentRunSpanId: run,
          } as Mutable<StateAccessRecord>;
          if (part.versionRead !== undefined) access.versionRead = part.versionRead;
          if (part.versionWritten !== undefined) access.versionWritten = part.versionWritten;
          if (part.found !== undefined) access.found = part.found;
          if (part.epoch !== undefined) access.epoch = part.epoch;
          if (part.attempt !== undefined) access.attempt = part.attempt;
          if (part.idempotencyKey !== undefined) access.idempotencyKey = part.idempotencyKey;
          if (part.step !== undefined) access.step = part.step;
          if (part.expectedTopic !== undefined) access.expectedTopic = part.expectedTopic;
          if (part.deduplicated !== undefined) access.deduplicated = part.deduplicated;
          if (part.versionExpected !== undefined) access.versionExpected = part.versionExpected;
          if (part.outcomeUnknown === true) access.outcomeUnknown = true;
          stateAccesses.push(access);
          break;
        }
        case 'publish':
        case 'consume': {
          let agent = part.agent;
          if (agent === undefined) {
            const run = enclosingRun(span);
            if (run !== undefined) agent = agentRunSpans.get(run);
          }
          setRole(span, part.type, agent);
          const event = {
            traceId: span.traceId,
            spanId: span.spanId,
            startMs: span.startMs,
            endMs: span.endMs,
            kind: part.type,
            dialect,
            messageId: part.messageId ?? `span:${span.spanId}`,
            topic: part.topic,
            taskId: part.taskId,
            agent,
            links: span.links,
            parentSpanId: span.parentSpanId,
          } as Mutable<EventRecord>;
          if (part.key !== undefined) event.key = part.key;
          if (part.stateVersion !== undefined) event.stateVersion = part.stateVersion;
          events.push(event);
          break;
        }
        case 'agent-run': {
          setRole(span, 'agent-run', part.agent);
          const run = {
            traceId: span.traceId,
            spanId: span.spanId,
            startMs: span.startMs,
            endMs: span.endMs,
            agent: part.agent,
            dialect,
            taskId: part.taskId,
            parentSpanId: span.parentSpanId,
            outcome: part.outcome,
            dependsOn: part.dependsOn ?? [],
          } as Mutable<AgentRunRecord>;
          if (part.agentId !== undefined) run.agentId = part.agentId;
          if (part.inputTokens !== undefined) run.inputTokens = part.inputTokens;
          if (part.outputTokens !== undefined) run.outputTokens = part.outputTokens;
          agentRuns.push(run);
          break;
        }
      }
    }
  }

  const handoffs: Handoff[] = transfers;
  for (let d = 0; d < draftList.length; d++) {
    const draft = draftList[d]!;
    const sends = draft.sendSpanIds;
    const sendSet = sends.length > 8 ? new Set(sends) : undefined;
    const isSend = (id: string) => (sendSet ? sendSet.has(id) : sends.includes(id));
    for (let i = 0; i < draft.receives.length; i++) {
      const receive = draft.receives[i]! as Mutable<HandoffReceive>;
      let linked = isSend(receive.parentSpanId);
      for (let j = 0; !linked && j < receive.links.length; j++) linked = isSend(receive.links[j]!.spanId);
      receive.linkedToSend = linked;
      // A parent outside the data came from the envelope's traceparent (this export holds only the receiving side).
      receive.carriesRemoteContext =
        linked ||
        receive.links.length > 0 ||
        sendSpanIds.has(receive.parentSpanId) ||
        (receive.parentSpanId !== '' && !index.has(receive.parentSpanId));
    }
    draft.receives.sort(compareByStart);
    draft.acks.sort((a, b) => a.atMs - b.atMs || compareByStart(a, b));
    // An ack whose send and receive fell outside the group tells nothing on its own.
    if (!draft.send && draft.receives.length === 0) continue;
    if (draft.deliveries) draft.deliveries.sort(compareByStart);
    const handoff: Mutable<Handoff> = {
      id: draft.id,
      taskId: draft.taskId,
      source: draft.source ?? 'unknown',
      target: draft.target ?? 'unknown',
      send: draft.send,
      sendCount: sends.length,
      receives: draft.receives,
      acks: draft.acks,
      kind: 'message',
      dialect: draft.dialect,
      inferred: false,
    };
    if (draft.deliveries) handoff.deliveries = draft.deliveries;
    handoffs.push(handoff);
  }
  handoffs.sort((a, b) => compareByStart(a.send ?? a.receives[0]!, b.send ?? b.receives[0]!) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  stateAccesses.sort(compareByStart);
  events.sort(compareByStart);
  agentRuns.sort(compareByStart);

  const timed: TimedSpan[] = new Array(spans.length);
  // Without duplicated ids a span's own position is its id's; with them, every copy shares the role of its id.
  const unique = index.unique;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    timed[i] = roleAt[unique ? i : index.positionOf(span.spanId)] ?? {
      traceId: span.traceId,
      spanId: span.spanId,
      startMs: span.startMs,
      endMs: span.endMs,
      parentSpanId: span.parentSpanId,
      name: span.name,
      role: '',
      agent: undefined,
    };
  }

  const model: HandoffModel = {
    traceIds: [...traceIds].sort(),
    spanCount: spans.length,
    horizon: {
      startMs: Number.isFinite(startMs) ? startMs : 0,
      endMs: Number.isFinite(endMs) ? endMs : 0,
    },
    handoffs,
    stateAccesses,
    events,
    agentRuns,
    spans: timed,
    conventionsVersions,
    dialects,
  };
  rememberSpanIndex(model, index);
  return model;
}
