/**
 * The `autogen` dialect: the message runtime spans of AutoGen 0.4+
 * (`autogen_core`), which reach Baton over OTLP from Python. docs/frameworks.md
 * ("AutoGen") lists what is read and why.
 *
 * The runtime names every span `autogen {operation} {destination}`
 * (`_telemetry/_tracing_config.py`): `create` where an agent (or the app) calls
 * `send_message`/`publish_message`, `send`/`publish` where the runtime
 * dispatches it, `process` where the recipient's handler runs, `ack` where an
 * RPC's response is delivered, `intercept` for intervention handlers, `receive`
 * in the gRPC worker. Destinations are `{type}.({key})-A` for an agent and
 * `{type}.({source})-T` for a topic. The dispatch runs in the runtime's own
 * task, so the sender's and the receiver's spans are in different traces,
 * joined by a **span link** to the `create` span (`_propagation.py`
 * `get_telemetry_links`), not by parentage.
 *
 * - A `process` span is the receiver's side of a handoff and, unless an
 *   AgentChat `invoke_agent` runs inside it (read by otel-genai), the
 *   receiver's agent run. The sender is `sender_agent_type`, else the agent
 *   whose `process` span encloses the linked `create` span (the gRPC worker
 *   records no sender type).
 * - The `create` span is the send. A message created again by the same handler
 *   run for the same recipient after the earlier `create` failed (its RPC
 *   raised: recipient not found, handler exception, dropped by an intervention
 *   handler) is a retry of one handoff.
 * - An `ack` span (the RPC's response reaching the caller) acknowledges the
 *   handoff of the send it links to.
 * - AgentChat teams register agent types as `{name}_{team uuid}`: the uuid is
 *   stripped (it becomes the task id). The team's `group_topic_{uuid}`
 *   broadcasts (every participant buffers every message) and its
 *   `output_topic_{uuid}` stream are context, not handoffs, except a speaker's
 *   response reaching the group chat manager: handoffs run manager → speaker →
 *   manager.
 *
 * AutoGen's GenAI spans (`create_agent`, `invoke_agent`, `execute_tool` with
 * `gen_ai.system = autogen`, `_telemetry/_genai.py`) follow the OTel GenAI
 * conventions and are left to the otel-genai dialect, which reads agent runs
 * and transfer tools from them; this dialect claims only the runtime's spans.
 *
 * @see https://github.com/microsoft/autogen/tree/main/python/packages/autogen-core/src/autogen_core/_telemetry
 * @see https://github.com/microsoft/autogen/blob/main/python/packages/autogen-core/src/autogen_core/_single_threaded_agent_runtime.py
 */
import {
  AUTOGEN_MESSAGE_TYPE,
  AUTOGEN_MESSAGING_DESTINATION,
  AUTOGEN_RECIPIENT_AGENT_TYPE,
  AUTOGEN_SENDER_AGENT_TYPE,
  ERROR_TYPE,
  GEN_AI_OPERATION_NAME,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart } from '../span-index.js';
import { put, readName } from './attribute-readers.js';
import type { AckPart, AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, ReceivePart, SendPart } from './dialect.js';
import { hasDescendant } from './dialect.js';

const PREFIX = 'autogen ';
const OPERATIONS: ReadonlySet<string> = new Set(['create', 'send', 'publish', 'receive', 'intercept', 'process', 'ack']);

/** AgentChat's `{name}_{team uuid}` (`_base_group_chat.py`: `f"{participant.name}_{self._team_id}"`): the last 37 characters. */
const TEAM_SUFFIX = /^_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TEAM_SUFFIX_LENGTH = 37;

/** The group chat managers AgentChat ships (`group_chat_manager_name=` of each team class). */
const TEAM_MANAGERS: ReadonlySet<string> = new Set([
  'RoundRobinGroupChatManager',
  'SelectorGroupChatManager',
  'SwarmGroupChatManager',
  'MagenticOneOrchestrator',
  'GraphManager',
]);
const GROUP_TOPIC = 'group_topic';
const OUTPUT_TOPIC = 'output_topic';

/** A parsed destination. */
interface Destination {
  readonly kind: 'agent' | 'topic' | 'other';
  /** The agent or topic type, with an AgentChat team suffix removed. */
  readonly type: string;
  /** The agent key or topic source. */
  readonly key: string;
  /** The AgentChat team uuid, when the type carried one. */
  readonly team: string | undefined;
}

/** The operation word of an `autogen {operation} …` span name, or undefined (no allocation but the slice). */
function operationOf(span: SpanRecord): string | undefined {
  const name = span.name;
  if (!name.startsWith(PREFIX)) return undefined;
  const end = name.indexOf(' ', PREFIX.length);
  const op = end < 0 ? name.slice(PREFIX.length) : name.slice(PREFIX.length, end);
  return OPERATIONS.has(op) ? op : undefined;
}

/**
 * Destinations and agent types repeat across spans and groups (a team's agents, its topics): each
 * text is parsed once. The results are read-only and shared. Bounded against hostile input.
 */
const MAX_CACHED_NAMES = 4096;
const teamSuffixes = new Map<string, { readonly name: string; readonly team: string | undefined }>();
const destinations = new Map<string, Destination>();

/** An agent or topic type without the AgentChat team suffix, and the suffix. */
export function stripTeamSuffix(type: string): { readonly name: string; readonly team: string | undefined } {
  let known = teamSuffixes.get(type);
  if (known === undefined) {
    known = splitTeamSuffix(type);
    if (teamSuffixes.size >= MAX_CACHED_NAMES) teamSuffixes.clear();
    teamSuffixes.set(type, known);
  }
  return known;
}

function splitTeamSuffix(type: string): { readonly name: string; readonly team: string | undefined } {
  const at = type.length - TEAM_SUFFIX_LENGTH;
  // Cheap tests first (this runs for every process span): the underscore and the uuid's first dash.
  if (at <= 0 || type.charCodeAt(at) !== 95 /* _ */ || type.charCodeAt(at + 9) !== 45 /* - */ || !TEAM_SUFFIX.test(type.slice(at))) {
    return { name: type, team: undefined };
  }
  return { name: type.slice(0, at), team: type.slice(at + 1).toLowerCase() };
}

/** `messaging.destination`, else the span name after the operation. */
function destinationOf(span: SpanRecord, op: string): Destination | undefined {
  let text = readName(span.attributes, AUTOGEN_MESSAGING_DESTINATION);
  if (text === undefined) {
    const start = PREFIX.length + op.length + 1;
    if (span.name.length <= start) return undefined;
    text = span.name.slice(start);
  }
  return parseDestination(text);
}

/** Parses `{type}.({key})-A`, `{type}.({source})-T`, or any other text (an intervention handler's class). */
export function parseDestination(text: string): Destination {
  let known = destinations.get(text);
  if (known === undefined) {
    known = readDestination(text);
    if (destinations.size >= MAX_CACHED_NAMES) destinations.clear();
    destinations.set(text, known);
  }
  return known;
}

function readDestination(text: string): Destination {
  // `{type}.({key})-A`: the key is what the last `.(` opens (a type may hold dots, a key parentheses).
  const end = text.length - 3;
  const suffix = end > 0 && text.charCodeAt(end) === 41 /* ) */ && text.charCodeAt(end + 1) === 45 /* - */ ? text.charCodeAt(end + 2) : 0;
  if (suffix === 65 /* A */ || suffix === 84 /* T */) {
    const open = text.lastIndexOf('.(', end);
    if (open >= 0) {
      const { name, team } = stripTeamSuffix(text.slice(0, open));
      return { kind: suffix === 65 ? 'agent' : 'topic', type: name, key: text.slice(open + 2, end), team };
    }
  }
  return { kind: 'other', type: text, key: '', team: undefined };
}

function isTeamManager(agent: string): boolean {
  return TEAM_MANAGERS.has(agent) || agent.endsWith('GroupChatManager');
}

function failed(span: SpanRecord): boolean {
  return span.statusCode === StatusCodeNumber.Error || readName(span.attributes, ERROR_TYPE) !== undefined;
}

/** A `process` span read: who received what from whom. */
interface Delivery {
  readonly span: SpanRecord;
  readonly recipient: string;
  readonly taskId: string | undefined;
  readonly create: SpanRecord | undefined;
  readonly sender: string | undefined;
}

/** One interpretation of a group's claimed spans. */
class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #ops = new Map<string, string>();
  /** create span id → the handoff id per recipient key. */
  readonly #handoffIds = new Map<string, string>();
  /** create span id → recipients that received it (for the send parts). */
  readonly #received = new Map<string, Delivery[]>();
  /** Per span: its parsed destination and the handler run around it, each read once. */
  readonly #destinations = new Map<string, Destination | undefined>();
  readonly #handlers = new Map<string, { agent: string; run: SpanRecord } | undefined>();
  readonly #isProcess = (candidate: SpanRecord): boolean => this.#op(candidate) === 'process';

  constructor(context: DialectContext) {
    this.#context = context;
  }

  #ignore(span: SpanRecord, reason: string): void {
    this.ignored.push({ span, reason });
  }

  /** The autogen operation of any span of the group (claimed by this dialect or not). */
  #op(span: SpanRecord): string | undefined {
    const known = this.#ops.get(span.spanId);
    return known ?? operationOf(span);
  }

  /** The first linked span that is an autogen span of operation `op`, in the data. */
  #linked(span: SpanRecord, op: string): SpanRecord | undefined {
    const links = span.links;
    for (let i = 0; i < links.length; i++) {
      const target = this.#context.span(links[i]!.spanId);
      if (target && this.#op(target) === op) return target;
    }
    return undefined;
  }

  /** The `create` span a delivery came from: its own link, else its dispatch span's link. */
  #createOf(process: SpanRecord): SpanRecord | undefined {
    const direct = this.#linked(process, 'create');
    if (direct) return direct;
    const parent = this.#context.parentOf(process);
    if (parent) {
      const op = this.#op(parent);
      if (op === 'send' || op === 'publish') return this.#linked(parent, 'create');
    }
    return undefined;
  }

  /** The agent whose handler a span ran in: the recipient of the nearest enclosing `process` span. */
  #handlerAgentOf(span: SpanRecord): { agent: string; run: SpanRecord } | undefined {
    if (this.#handlers.has(span.spanId)) return this.#handlers.get(span.spanId);
    const run = this.#context.ancestorWhere(span, this.#isProcess);
    const agent = run ? this.#recipientOf(run) : undefined;
    const handler = run && agent !== undefined ? { agent: agent.name, run } : undefined;
    this.#handlers.set(span.spanId, handler);
    return handler;
  }

  #destination(span: SpanRecord, op: string): Destination | undefined {
    if (this.#destinations.has(span.spanId)) return this.#destinations.get(span.spanId);
    const destination = destinationOf(span, op);
    this.#destinations.set(span.spanId, destination);
    return destination;
  }

  #recipientOf(process: SpanRecord): { name: string; team: string | undefined; key: string } | undefined {
    const declared = readName(process.attributes, AUTOGEN_RECIPIENT_AGENT_TYPE);
    const destination = destinationOf(process, 'process');
    if (declared !== undefined) {
      const { name, team } = stripTeamSuffix(declared);
      return { name, team, key: destination?.kind === 'agent' ? destination.key : '' };
    }
    if (destination && destination.kind === 'agent') return { name: destination.type, team: destination.team, key: destination.key };
    return undefined;
  }

  /** True when an AgentChat `invoke_agent` runs inside the handler (before any nested delivery): that span is the run. */
  #hasGenAiRun(process: SpanRecord): boolean {
    const isRun = (span: SpanRecord): boolean =>
      readName(span.attributes, GEN_AI_OPERATION_NAME) === 'invoke_agent' || span.name.startsWith('invoke_agent ');
    return hasDescendant(this.#context, process, isRun, (span) => this.#op(span) !== 'process');
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    const creates: SpanRecord[] = [];
    const processes: SpanRecord[] = [];
    const acks: SpanRecord[] = [];
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const op = operationOf(span)!;
      if (this.#ops.has(span.spanId)) continue; // a re-exported copy
      this.#ops.set(span.spanId, op);
      if (op === 'create') creates.push(span);
      else if (op === 'process') processes.push(span);
      else if (op === 'ack') acks.push(span);
      else if (op === 'send' || op === 'publish') this.#ignore(span, `the runtime dispatching a message (${op}): the handoff is read from its create and process spans`);
      else if (op === 'intercept') this.#ignore(span, `intervention handler ${span.name.slice(PREFIX.length + op.length + 1) || '(unnamed)'}: no handoff of its own`);
      else this.#ignore(span, `${op}: the gRPC worker receiving a message; the handoff is read from its process span`);
    }
    creates.sort(compareByStart);
    processes.sort(compareByStart);
    acks.sort(compareByStart);
    this.#assignHandoffIds(creates);
    for (let i = 0; i < processes.length; i++) this.#readProcess(processes[i]!);
    for (let i = 0; i < creates.length; i++) this.#readCreate(creates[i]!);
    for (let i = 0; i < acks.length; i++) this.#readAck(acks[i]!);
    return { parts: this.parts, ignored: this.ignored };
  }

  /**
   * One handoff id per message, except a message created again by the same
   * handler run for the same recipient and type after the earlier one failed:
   * that is the same handoff, retried.
   */
  #assignHandoffIds(creates: readonly SpanRecord[]): void {
    const lastByKey = new Map<string, SpanRecord>();
    for (let i = 0; i < creates.length; i++) {
      const create = creates[i]!;
      const destination = this.#destination(create, 'create');
      const handler = this.#handlerAgentOf(create);
      const key = `${handler ? handler.run.spanId : ''}\u0000${destination ? `${destination.kind}:${destination.type}:${destination.key}` : ''}\u0000${readName(create.attributes, AUTOGEN_MESSAGE_TYPE) ?? ''}`;
      const previous = lastByKey.get(key);
      const previousId = previous ? this.#handoffIds.get(previous.spanId) : undefined;
      this.#handoffIds.set(create.spanId, previous && previousId !== undefined && failed(previous) && handler ? previousId : `autogen:${create.spanId}`);
      lastByKey.set(key, create);
    }
  }

  #readProcess(span: SpanRecord): void {
    const recipient = this.#recipientOf(span);
    if (recipient === undefined) {
      this.#ignore(span, `process without ${AUTOGEN_RECIPIENT_AGENT_TYPE} or an agent destination ({type}.({key})-A): which agent handled it is unknown`);
      return;
    }
    const taskId = recipient.team ?? (recipient.key !== '' && recipient.key !== 'default' ? recipient.key : undefined);
    const create = this.#createOf(span);
    const createDestination = create ? this.#destination(create, 'create') : undefined;
    const topic = createDestination?.kind === 'topic' ? createDestination : undefined;
    const declaredSender = readName(span.attributes, AUTOGEN_SENDER_AGENT_TYPE);
    const sender = declaredSender !== undefined ? stripTeamSuffix(declaredSender).name : create ? this.#handlerAgentOf(create)?.agent : undefined;

    // AgentChat's team streams: context every participant buffers, and the manager's output relay.
    if (topic && topic.team !== undefined && (topic.type === OUTPUT_TOPIC || (topic.type === GROUP_TOPIC && !isTeamManager(recipient.name)))) {
      this.#ignore(
        span,
        topic.type === OUTPUT_TOPIC
          ? `AgentChat output stream (${OUTPUT_TOPIC}): a log of the team's messages, not a handoff`
          : `AgentChat group topic broadcast to ${recipient.name}: context every participant buffers, not a handoff`,
      );
      return;
    }
    if (!this.#hasGenAiRun(span)) this.parts.push(this.#runPart(span, recipient.name, taskId));
    // No sender: the application sent it (the task's entry), or nothing says who did. A run, no handoff.
    // A named sender whose create span is in another export still makes a receive, without its send.
    if (sender === undefined) return;
    const handoffId = this.#handoffIdFor(create, span, recipient.name);
    const receive: Mutable<ReceivePart> = { type: 'receive', span, handoffId, source: sender, target: recipient.name, agent: recipient.name };
    put(receive, 'taskId', taskId);
    this.parts.push(receive);
    if (create) {
      let list = this.#received.get(create.spanId);
      if (!list) this.#received.set(create.spanId, (list = []));
      list.push({ span, recipient: recipient.name, taskId, create, sender });
    }
  }

  #handoffIdFor(create: SpanRecord | undefined, process: SpanRecord, recipient: string): string {
    if (!create) return `autogen:link:${process.links[0]?.spanId ?? process.spanId}>${recipient}`;
    // One id per recipient: a topic message reaching three agents is three handoffs.
    return `${this.#handoffIds.get(create.spanId) ?? `autogen:${create.spanId}`}>${recipient}`;
  }

  #runPart(span: SpanRecord, agent: string, taskId: string | undefined): AgentRunPart {
    const part: Mutable<AgentRunPart> = { type: 'agent-run', span, agent, outcome: failed(span) ? 'failed' : 'completed' };
    put(part, 'taskId', taskId);
    return part;
  }

  #readCreate(span: SpanRecord): void {
    const received = this.#received.get(span.spanId);
    const handler = this.#handlerAgentOf(span);
    const destination = this.#destination(span, 'create');
    if (received && received.length > 0) {
      for (let i = 0; i < received.length; i++) {
        const delivery = received[i]!;
        this.parts.push(this.#sendPart(span, `${this.#handoffIds.get(span.spanId)}>${delivery.recipient}`, delivery.sender, delivery.recipient, delivery.taskId));
      }
      return;
    }
    if (!handler) {
      this.#ignore(span, 'message created outside any agent handler (by the application): the task entry, not a handoff between agents');
      return;
    }
    if (destination?.kind === 'agent') {
      // Never delivered in the data (failed before dispatch, or the delivery is in another export).
      const taskId = destination.team ?? (destination.key !== '' && destination.key !== 'default' ? destination.key : undefined);
      this.parts.push(this.#sendPart(span, `${this.#handoffIds.get(span.spanId)}>${destination.type}`, handler.agent, destination.type, taskId));
      return;
    }
    this.#ignore(
      span,
      destination?.kind === 'topic'
        ? `published to topic ${destination.type}: no delivery of it in the data, so no recipient`
        : 'create without a destination: no recipient',
    );
  }

  #sendPart(span: SpanRecord, handoffId: string, source: string | undefined, target: string, taskId: string | undefined): SendPart {
    const part: Mutable<SendPart> = { type: 'send', span, handoffId, target };
    put(part, 'source', source);
    put(part, 'taskId', taskId);
    return part;
  }

  /** The RPC response reached the caller: the handoff of the send it answers is acknowledged. */
  #readAck(span: SpanRecord): void {
    const dispatch = this.#linked(span, 'send');
    const create = dispatch ? this.#linked(dispatch, 'create') : undefined;
    const received = create ? this.#received.get(create.spanId) : undefined;
    if (!create || !received || received.length === 0) {
      this.#ignore(
        span,
        create && !this.#handlerAgentOf(create)
          ? 'response to a request the application sent (the task entry): no handoff between agents to acknowledge'
          : 'response delivered to the caller, but the request it answers is not in the data',
      );
      return;
    }
    const delivery = received[0]!;
    const part: Mutable<AckPart> = {
      type: 'ack',
      span,
      handoffId: `${this.#handoffIds.get(create.spanId)}>${delivery.recipient}`,
      target: delivery.recipient,
    };
    put(part, 'source', delivery.sender);
    put(part, 'taskId', delivery.taskId);
    this.parts.push(part);
  }
}

/** AutoGen 0.4+ message runtime spans (see the file header). */
export const autogenDialect: Dialect = {
  id: 'autogen',
  description: 'AutoGen 0.4+ runtime spans (autogen create/send/publish/process/ack, linked across traces)',
  readsAttribute(name) {
    return (
      name === AUTOGEN_MESSAGING_DESTINATION ||
      name === AUTOGEN_SENDER_AGENT_TYPE ||
      name === AUTOGEN_RECIPIENT_AGENT_TYPE ||
      name === AUTOGEN_MESSAGE_TYPE ||
      name === ERROR_TYPE ||
      name === GEN_AI_OPERATION_NAME
    );
  },
  claims(span) {
    return operationOf(span) !== undefined;
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
