/**
 * The `agent-framework` dialect: Microsoft Agent Framework workflow spans
 * (Python `agent_framework/observability.py`, .NET
 * `Microsoft.Agents.AI.Workflows/Observability`). docs/frameworks.md
 * ("Microsoft Agent Framework") lists what is read and why.
 *
 * A workflow runs executors in supersteps under one `workflow.run` span
 * (`workflow_invoke` and `workflow.session` in .NET). An executor's handler
 * runs in `executor.process {executor.id}`; each message it sends is a
 * `message.send` PRODUCER span inside it; the edge group that routes the
 * message records `edge_group.process` with `edge_group.delivery_status`; the
 * target's `executor.process` span is a sibling, not a child, **linked** to
 * the `message.send` span(s) it handles (several for a fan-in).
 *
 * - `executor.process` is an agent run of the executor (agent = `executor.id`)
 *   and the receive side of every send it links to. An AgentExecutor's run is
 *   left to its `invoke_agent` span (otel-genai) when one of the same name runs
 *   inside it.
 * - `message.send` is the send; the source is `message.source_id` (.NET) else
 *   the enclosing executor; one handoff per executor that handled it.
 * - `edge_group.process` is a delivery outcome of the send(s) it links to
 *   (Python), else of the send it runs inside (.NET routes within the
 *   `message.send` activity), else of the latest earlier send from its
 *   `message.source_id`. A send that no executor handled and whose every
 *   delivery was dropped (`dropped type mismatch`, `dropped target mismatch`,
 *   `dropped condition evaluated to false`, `exception`) is a handoff that
 *   never arrived, or, left `buffered` in a fan-in, one still waiting: the
 *   undelivered-handoff rule reports both. A drop on one edge group while
 *   another delivered the message is routing, not loss.
 * - The task id is `gen_ai.conversation.id` of the enclosing `workflow.run`.
 * - A HandoffBuilder workflow (Python `agent_framework_orchestrations/_handoff.py`)
 *   connects every participant (`HandoffAgentExecutor`) to all the others by fan-out
 *   edges, and after each run the agent **broadcasts** its reply to all of them (an
 *   `AgentExecutorRequest` with no destination, `should_respond=False`: they only cache
 *   it); the handoff is the `AgentExecutorRequest` it then sends **to** the chosen agent
 *   (`message.destination_executor_id`). A broadcast is not a handoff: it, the edge
 *   groups routing it and the executor spans that only cached it are ignored with the
 *   reason. (.NET's handoff executor routes `HandoffState` through switch edges: every
 *   send of it is a handoff, read as above.) GroupChat (`_base_group_chat_orchestrator.py`
 *   `_broadcast_messages_to_participants`) syncs its participants with the same request,
 *   `should_respond=False`, **targeted** at each: there the receiver says it, an
 *   `executor.process` of an `AgentExecutorRequest` (`message.payload_type`) that ran no
 *   agent, sent nothing and did not fail only cached the conversation; a send that only
 *   such executors received is no handoff either.
 * - .NET: the task is `session.id`; an agent host executor (`AIAgentHostExecutor`,
 *   `HandoffAgentExecutor`, `executor.type` a full class name) is named `{Name}_{Id}`
 *   (`GetDescriptiveId`) and read as the agent `Name`; HandoffWorkflowBuilder's `HandoffStart`
 *   and `HandoffEnd` are its entry and end of turn, no agents, and the HandoffStates to and from
 *   them no handoffs; the input runner (`ResponseEdgeRunner`) routes no message between
 *   executors; the fan-in's releasing span has no status (not a drop); a runner's
 *   `message.target_id` is its sink, not the message's target; a chat-protocol executor
 *   (`AIAgentHostExecutor`, `GroupChatHost`) only accumulates chat messages until its `TurnToken`,
 *   so chat messages it only cached are syncs, as above, and the TurnTokens the handoffs. .NET never marks a failed
 *   `executor.process` (the exception escapes the activity unrecorded).
 *
 * @see https://github.com/microsoft/agent-framework/blob/main/python/packages/core/agent_framework/observability.py
 * @see https://github.com/microsoft/agent-framework/blob/main/python/packages/core/agent_framework/_workflows/_edge_runner.py
 * @see https://github.com/microsoft/agent-framework/tree/main/dotnet/src/Microsoft.Agents.AI.Workflows/Observability
 */
import {
  ERROR_TYPE,
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  MAF_EDGE_GROUP_DELIVERED,
  MAF_EDGE_GROUP_DELIVERY_STATUS,
  MAF_EDGE_GROUP_ID,
  MAF_EDGE_GROUP_TYPE,
  MAF_EXECUTOR_ID,
  MAF_EXECUTOR_TYPE,
  MAF_MESSAGE_DESTINATION_EXECUTOR_ID,
  MAF_MESSAGE_PAYLOAD_TYPE,
  MAF_MESSAGE_SOURCE_ID,
  MAF_MESSAGE_TYPE,
  MAF_MESSAGE_TARGET_ID,
  MAF_SESSION_ID,
  MAF_WORKFLOW_NAME,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart, partitionPoint } from '../span-index.js';
import { firstLineOf, put, readBoolean, readName } from './attribute-readers.js';
import type { AgentRunPart, DeliveryPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, ReceivePart, SendPart, TransferPart } from './dialect.js';
import { hasDescendant } from './dialect.js';
import { NearestAncestor } from './nearest-ancestor.js';
import { normalizeAgentName } from './otel-genai.js';

const EXECUTOR_PROCESS = 'executor.process';
const EDGE_GROUP_PROCESS = 'edge_group.process';
const MESSAGE_SEND = 'message.send';
/** HandoffBuilder's participant executor class and the request class it broadcasts and hands off with (Python). */
const HANDOFF_EXECUTOR_TYPE = 'HandoffAgentExecutor';
const AGENT_EXECUTOR_REQUEST = 'AgentExecutorRequest';
/**
 * .NET executor classes (`executor.type` is `GetType().FullName` there). An agent's host
 * executor is named `AIAgent.GetDescriptiveId()`, `{Name}_{Id}` with every run of characters other
 * than ASCII letters and digits made `_` (AIAgentExtensions.cs), and `Id` is by default
 * `Guid.NewGuid().ToString("N")`: the agent is `Name`, not the executor id. HandoffWorkflowBuilder's
 * `HandoffStart` and `HandoffEnd` executors are the orchestration's entry and end of turn, no agents.
 */
const DOTNET_SPECIALIZED = 'Microsoft.Agents.AI.Workflows.Specialized.';
const DOTNET_AGENT_HOSTS: ReadonlySet<string> = new Set([`${DOTNET_SPECIALIZED}AIAgentHostExecutor`, `${DOTNET_SPECIALIZED}HandoffAgentExecutor`]);
const DOTNET_HANDOFF_START = `${DOTNET_SPECIALIZED}HandoffStartExecutor`;
const DOTNET_HANDOFF_END = `${DOTNET_SPECIALIZED}HandoffEndExecutor`;
/** SequentialWorkflowBuilder's last executor (`OutputMessages`), which yields the conversation: the chain's end, no agent. */
const DOTNET_OUTPUT_MESSAGES = 'Microsoft.Agents.AI.Workflows.OutputMessagesExecutor';
const DOTNET_GUID_SUFFIX = /^(.+)_[0-9a-f]{32}$/;
/** The .NET runner that routes the workflow's input and external responses (no message between executors). */
const DOTNET_INPUT_RUNNER = 'ResponseEdgeRunner';
/** .NET's `edge_group.type` is the runner's class (`DirectEdgeRunner`, …), Python's the edge group's (`SingleEdgeGroup`, …). */
const DOTNET_RUNNER_SUFFIX = 'EdgeRunner';
/** The .NET fan-in runner, which records no status on the span that releases its buffer. */
const DOTNET_FAN_IN_RUNNER = 'FanInEdgeRunner';

/**
 * HandoffBuilder's refusal (`_handoff.py` `_run_agent_and_emit`): a function result with a
 * `handoff_to` key naming no participant the agent may hand to raises
 * `ValueError("Agent '{id}' attempted to handoff to unknown target '{target}'. Valid targets are: …")`,
 * which OTel Python writes as the failed `executor.process` span's status, `ValueError: …`.
 */
const UNKNOWN_HANDOFF_TARGET = /attempted to handoff to unknown target '([^']*)'/;

/**
 * .NET's chat protocol (`ChatProtocolExecutor`, the base of `AIAgentHostExecutor` and
 * `GroupChatHost`): chat messages (`string`, `ChatMessage`, `ChatMessage[]`, `List<ChatMessage>`, full
 * type names in `message.type`) are only accumulated; the executor takes its turn on a `TurnToken`.
 */
const DOTNET_CHAT_PROTOCOL: ReadonlySet<string> = new Set([`${DOTNET_SPECIALIZED}AIAgentHostExecutor`, `${DOTNET_SPECIALIZED}GroupChatHost`]);
const DOTNET_CHAT_MESSAGE = 'Microsoft.Extensions.AI.ChatMessage';
const DOTNET_CHAT_MESSAGE_LIST = 'System.Collections.Generic.List`1[[Microsoft.Extensions.AI.ChatMessage,';

function isDotnetChatContent(type: string): boolean {
  return type === 'System.String' || type === DOTNET_CHAT_MESSAGE || type === `${DOTNET_CHAT_MESSAGE}[]` || type.startsWith(DOTNET_CHAT_MESSAGE_LIST);
}

/**
 * Whether the executor span handled a message its executor only caches when it runs nothing: a
 * Python `AgentExecutorRequest` (`should_respond=False`, GroupChat's sync), or chat messages reaching
 * a .NET chat-protocol executor (which waits for its TurnToken).
 */
function cachesWhatItGets(span: SpanRecord): boolean {
  if (readName(span.attributes, MAF_MESSAGE_PAYLOAD_TYPE) === AGENT_EXECUTOR_REQUEST) return true;
  const type = readName(span.attributes, MAF_EXECUTOR_TYPE);
  if (type === undefined || !DOTNET_CHAT_PROTOCOL.has(type)) return false;
  const message = readName(span.attributes, MAF_MESSAGE_TYPE);
  return message !== undefined && isDotnetChatContent(message);
}

/** Whether `executorId` is `GetDescriptiveId()` of the agent `name` / `id` (net8+ and netstandard sanitize differently). */
function isDescriptiveIdOf(executorId: string, name: string | undefined, id: string): boolean {
  const raw = name !== undefined && name.trim().length > 0 ? `${name}_${id}` : id;
  return executorId === raw.replace(/[^0-9A-Za-z]+/g, '_') || executorId === raw.replace(/[^0-9A-Za-z_]+/g, '_');
}

/** Workflow containers: Python's run and build, .NET's invoke, session and build. */
const CONTAINERS: ReadonlySet<string> = new Set(['workflow.run', 'workflow_invoke', 'workflow.session', 'workflow.build']);

type Kind = 'executor' | 'edge' | 'send' | 'container';

/** True when `word` is the span name's first word (the name up to its first space). */
function isFirstWord(name: string, word: string): boolean {
  return name.startsWith(word) && (name.length === word.length || name.charCodeAt(word.length) === 32);
}

/**
 * The first word of the span name (the rest is the executor id or edge group type). Compared in
 * place: this claims or refuses every span of every group, and slicing the word out allocated.
 */
function kindOf(span: SpanRecord): Kind | undefined {
  const name = span.name;
  if (isFirstWord(name, EXECUTOR_PROCESS)) return 'executor';
  if (isFirstWord(name, EDGE_GROUP_PROCESS)) return 'edge';
  if (isFirstWord(name, MESSAGE_SEND)) return 'send';
  // A container's name is one word: none of the set holds a space.
  if (CONTAINERS.has(name)) return 'container';
  return undefined;
}

/** Delivery statuses the router took the message on with. */
function isAccepted(status: string): boolean {
  return status === 'delivered' || status === 'buffered';
}

function failed(span: SpanRecord): boolean {
  return span.statusCode === StatusCodeNumber.Error || readName(span.attributes, ERROR_TYPE) !== undefined;
}

/** `executor.id`, else the span name's `executor.process <id>`. */
function executorIdOf(span: SpanRecord): string | undefined {
  const id = readName(span.attributes, MAF_EXECUTOR_ID);
  if (id !== undefined) return id;
  const rest = span.name.slice(EXECUTOR_PROCESS.length).trim();
  return rest.length > 0 ? rest : undefined;
}

interface Receiver {
  readonly executor: string;
  readonly span: SpanRecord;
}

class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #kinds = new Map<string, Kind>();
  /** message.send span id → executors whose process span links to it. */
  readonly #receivers = new Map<string, Receiver[]>();
  readonly #taskIds = new Map<string, string | undefined>();
  /** message.send span id → the handoff id its receivers extend (`<id>><executor>`). */
  readonly #baseIds = new Map<string, string>();
  /** message.send span id → whether it is a HandoffBuilder participant's broadcast, memoized. */
  readonly #broadcasts = new Map<string, boolean>();
  /** message.send span ids received by an executor that only cached the request (see the file header). */
  readonly #cachedBy = new Set<string>();
  /** message.send span ids that only such executors received: conversation syncs. */
  readonly #syncs = new Set<string>();
  /** Executor id → the agent it hosts, where that differs (.NET's `{Name}_{Id}`, see DOTNET_AGENT_HOSTS). */
  readonly #agents = new Map<string, string>();
  /** Executor ids whose agent an invoke_agent span inside one of their runs declared (the GUID-less id is only a fallback). */
  readonly #declaredAgents = new Set<string>();
  /** .NET HandoffWorkflowBuilder's start and end executors, by id. */
  readonly #plumbing = new Map<string, 'start' | 'end'>();
  /** message.send span ids a HandoffEnd executor received. */
  readonly #toEnd = new Set<string>();
  /** message.send span ids from or only to HandoffStart / HandoffEnd, ignored with their edge groups. */
  readonly #plumbingSends = new Set<string>();

  /**
   * The workflow run, executor and send around a span, each walked once per span for every span
   * below it: a workflow whose executors nest in the sends they handle is 2n deep, and walking to
   * the run from each of its n executors and sends was quadratic.
   */
  readonly #runAround: NearestAncestor;
  readonly #executorAround: NearestAncestor;
  readonly #sendAround: NearestAncestor;

  constructor(context: DialectContext) {
    this.#context = context;
    this.#runAround = new NearestAncestor(context, (candidate) => this.#kind(candidate) === 'container');
    this.#executorAround = new NearestAncestor(context, (candidate) => this.#kind(candidate) === 'executor');
    this.#sendAround = new NearestAncestor(context, (candidate) => this.#kind(candidate) === 'send');
  }

  #ignore(span: SpanRecord, reason: string): void {
    this.ignored.push({ span, reason });
  }

  #kind(span: SpanRecord): Kind | undefined {
    return this.#kinds.get(span.spanId) ?? kindOf(span);
  }

  /** `gen_ai.conversation.id` (.NET: `session.id`) of the enclosing workflow run, memoized per run. */
  #taskIdOf(span: SpanRecord): string | undefined {
    const run = this.#runAround.of(span);
    if (!run) return readName(span.attributes, GEN_AI_CONVERSATION_ID);
    if (!this.#taskIds.has(run.spanId)) this.#taskIds.set(run.spanId, readName(run.attributes, GEN_AI_CONVERSATION_ID) ?? readName(run.attributes, MAF_SESSION_ID));
    return this.#taskIds.get(run.spanId);
  }

  /** The agent an executor id stands for: the id, unless the executor hosts a .NET agent (see DOTNET_AGENT_HOSTS). */
  #agentName(executorId: string): string {
    return this.#agents.get(executorId) ?? executorId;
  }

  /** The id of the executor whose handler a span ran in. */
  #executorIdAround(span: SpanRecord): string | undefined {
    const process = this.#executorAround.of(span);
    return process ? executorIdOf(process) : undefined;
  }

  /** The sending executor's id: `message.source_id` (.NET), else the enclosing executor's. */
  #sourceIdOf(send: SpanRecord): string | undefined {
    return readName(send.attributes, MAF_MESSAGE_SOURCE_ID) ?? this.#executorIdAround(send);
  }

  /**
   * Learns what a .NET executor is: HandoffStart / HandoffEnd by class, and the agent an agent
   * host runs. That is the `invoke_agent` inside it whose `gen_ai.agent.name` and `gen_ai.agent.id`
   * make the executor's id (declared), else, for an AIAgentHostExecutor or HandoffAgentExecutor,
   * the id without its `_{32 hex digits}` default agent id (inferred: an agent built without
   * `UseOpenTelemetry()` has no span naming it).
   */
  #learnExecutor(span: SpanRecord): void {
    const id = executorIdOf(span);
    if (id === undefined || this.#declaredAgents.has(id)) return;
    const type = readName(span.attributes, MAF_EXECUTOR_TYPE);
    if (type === DOTNET_HANDOFF_START) this.#plumbing.set(id, 'start');
    else if (type === DOTNET_HANDOFF_END || type === DOTNET_OUTPUT_MESSAGES) this.#plumbing.set(id, 'end');
    if (type === undefined || !DOTNET_AGENT_HOSTS.has(type)) return;
    let agent: string | undefined;
    hasDescendant(
      this.#context,
      span,
      (candidate) => {
        const agentId = readName(candidate.attributes, GEN_AI_AGENT_ID);
        if (agentId === undefined || readName(candidate.attributes, GEN_AI_OPERATION_NAME) !== 'invoke_agent') return false;
        const name = readName(candidate.attributes, GEN_AI_AGENT_NAME);
        if (!isDescriptiveIdOf(id, name, agentId)) return false;
        agent = name ?? agentId;
        return true;
      },
      (candidate) => this.#kind(candidate) !== 'executor',
    );
    if (agent !== undefined) {
      this.#declaredAgents.add(id);
      this.#agents.set(id, agent);
      return;
    }
    const stripped = DOTNET_GUID_SUFFIX.exec(id)?.[1];
    if (stripped !== undefined && !this.#agents.has(id)) this.#agents.set(id, stripped);
  }

  /**
   * True for a HandoffBuilder participant's conversation broadcast: an `AgentExecutorRequest`
   * with no destination sent from a `HandoffAgentExecutor` (see the file header).
   */
  #isBroadcast(send: SpanRecord): boolean {
    let known = this.#broadcasts.get(send.spanId);
    if (known !== undefined) return known;
    known = false;
    if (
      readName(send.attributes, MAF_MESSAGE_TYPE) === AGENT_EXECUTOR_REQUEST &&
      readName(send.attributes, MAF_MESSAGE_DESTINATION_EXECUTOR_ID) === undefined &&
      readName(send.attributes, MAF_MESSAGE_TARGET_ID) === undefined
    ) {
      const process = this.#executorAround.of(send);
      known = process !== undefined && readName(process.attributes, MAF_EXECUTOR_TYPE) === HANDOFF_EXECUTOR_TYPE;
    }
    this.#broadcasts.set(send.spanId, known);
    return known;
  }

  /** True when every message an executor span handled is a broadcast (it only cached the conversation). */
  #handlesOnlyBroadcasts(span: SpanRecord): boolean {
    const links = span.links;
    let broadcasts = 0;
    for (let i = 0; i < links.length; i++) {
      const send = this.#context.span(links[i]!.spanId);
      if (!send || this.#kind(send) !== 'send') continue;
      if (!this.#isBroadcast(send)) return false;
      broadcasts++;
    }
    return broadcasts > 0;
  }

  /** True when a `message.send` runs inside the executor span (not inside another executor's). */
  #sendsInside(process: SpanRecord): boolean {
    return hasDescendant(this.#context, process, (span) => this.#kind(span) === 'send', (span) => this.#kind(span) !== 'executor');
  }

  /** True when an `invoke_agent` of the executor's own name runs inside it: that span is the run. */
  #agentRunsInside(process: SpanRecord, executor: string): boolean {
    const key = normalizeAgentName(executor);
    const isRun = (span: SpanRecord): boolean => {
      const op = readName(span.attributes, GEN_AI_OPERATION_NAME);
      if (op !== 'invoke_agent' && (op !== undefined || !span.name.startsWith('invoke_agent '))) return false;
      return normalizeAgentName(readName(span.attributes, GEN_AI_AGENT_NAME) ?? span.name.slice('invoke_agent '.length)) === key;
    };
    return hasDescendant(this.#context, process, isRun, (span) => this.#kind(span) !== 'executor');
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    const executors: SpanRecord[] = [];
    const sends: SpanRecord[] = [];
    const edges: SpanRecord[] = [];
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (this.#kinds.has(span.spanId)) continue; // a re-exported copy
      const kind = kindOf(span)!;
      this.#kinds.set(span.spanId, kind);
      if (kind === 'executor') executors.push(span);
      else if (kind === 'send') {
        if (this.#isBroadcast(span)) this.#ignore(span, `${MESSAGE_SEND}: a HandoffBuilder participant broadcasting the conversation to the others (no destination, they only cache it), not a handoff`);
        else sends.push(span);
      }
      else if (kind === 'edge') edges.push(span);
      else {
        const name = readName(span.attributes, MAF_WORKFLOW_NAME);
        this.#ignore(span, `${span.name}${name === undefined ? '' : ` ${name}`}: a container of executor runs, no handoff of its own`);
      }
    }
    executors.sort(compareByStart);
    sends.sort(compareByStart);
    edges.sort(compareByStart);
    for (let i = 0; i < executors.length; i++) this.#learnExecutor(executors[i]!);
    for (let i = 0; i < executors.length; i++) this.#readExecutor(executors[i]!);
    if (this.#plumbing.size > 0) this.#ignorePlumbingSends(sends);
    if (this.#cachedBy.size > 0) {
      let kept = 0;
      for (let i = 0; i < sends.length; i++) {
        const send = sends[i]!;
        if (this.#cachedBy.has(send.spanId) && !this.#receivers.has(send.spanId)) {
          this.#syncs.add(send.spanId);
          this.#ignore(send, `${MESSAGE_SEND}: a conversation sync (every executor that received it only cached it, ran no agent), not a handoff`);
        } else sends[kept++] = send;
      }
      sends.length = kept;
    }
    this.#assignHandoffIds(sends);
    const deliveries = this.#deliveriesBySend(edges, sends);
    for (let i = 0; i < sends.length; i++) this.#readSend(sends[i]!, deliveries.get(sends[i]!.spanId));
    this.#explainSilentExecutors(executors);
    return { parts: this.parts, ignored: this.ignored };
  }

  /**
   * .NET HandoffWorkflowBuilder: the HandoffState HandoffStart passes to the first agent is the
   * task's entry; the one an agent sends when it answered without handing off reaches HandoffEnd;
   * HandoffEnd's autonomous loop-back returns the turn to the same agent. None is a handoff
   * between agents; the handoffs are the HandoffStates an agent's switch routed to another agent.
   */
  #ignorePlumbingSends(sends: SpanRecord[]): void {
    let kept = 0;
    for (let i = 0; i < sends.length; i++) {
      const send = sends[i]!;
      const sourceId = this.#sourceIdOf(send);
      const from = sourceId === undefined ? undefined : this.#plumbing.get(sourceId);
      let reason: string | undefined;
      if (from === 'start') reason = `${MESSAGE_SEND} from ${sourceId}: the handoff workflow passing the user's turn to its first agent (the task's entry), not a handoff`;
      else if (from === 'end') reason = `${MESSAGE_SEND} from ${sourceId}: the handoff workflow's autonomous loop-back (the agent continues its own turn), not a handoff`;
      else if (this.#toEnd.has(send.spanId) && !this.#receivers.has(send.spanId)) reason = `${MESSAGE_SEND}: the agent's turn ended without a handoff (what it sent went only to the workflow's end executor, HandoffEnd or OutputMessages), not a handoff`;
      if (reason === undefined) sends[kept++] = send;
      else {
        this.#plumbingSends.add(send.spanId);
        this.#ignore(send, reason);
      }
    }
    sends.length = kept;
  }

  /** A HandoffBuilder participant's handoff to an unknown target, refused by the workflow (see UNKNOWN_HANDOFF_TARGET). */
  #readRefusedHandoff(span: SpanRecord, executor: string): void {
    const asked = UNKNOWN_HANDOFF_TARGET.exec(span.statusMessage)?.[1];
    if (asked === undefined) return;
    const part: Mutable<TransferPart> = {
      type: 'transfer',
      span,
      source: executor,
      target: 'unknown',
      mode: 'pass_control',
      inferred: true,
      refusal: `refused: no participant ${asked} that ${executor} may hand off to; the workflow raised ${firstLineOf(span.statusMessage)}`,
    };
    put(part, 'taskId', this.#taskIdOf(span));
    this.parts.push(part);
  }

  /**
   * An executor span that left its run to the `invoke_agent` inside it and received no handoff
   * (the workflow's input, or a message that was no handoff) produced no part: say so, so that
   * `--explain` accounts for every span claimed.
   */
  #explainSilentExecutors(executors: readonly SpanRecord[]): void {
    const used = new Set<string>();
    for (let i = 0; i < this.parts.length; i++) used.add(this.parts[i]!.span.spanId);
    for (let i = 0; i < this.ignored.length; i++) used.add(this.ignored[i]!.span.spanId);
    for (let i = 0; i < executors.length; i++) {
      const span = executors[i]!;
      if (used.has(span.spanId)) continue;
      this.#ignore(span, `${EXECUTOR_PROCESS} ${executorIdOf(span) ?? ''}: its agent's run is the invoke_agent span inside it, and it received no handoff (the workflow's input, or a message that was not one)`);
    }
  }

  #readExecutor(span: SpanRecord): void {
    const id = executorIdOf(span);
    if (id === undefined) {
      this.#ignore(span, `${EXECUTOR_PROCESS} without ${MAF_EXECUTOR_ID}: which executor ran is unknown`);
      return;
    }
    const plumbing = this.#plumbing.get(id);
    if (plumbing !== undefined) {
      this.#ignore(span, plumbing === 'start'
        ? `${EXECUTOR_PROCESS} ${id}: the handoff workflow's entry (it takes the user's turn and passes it to an agent), no agent`
        : `${EXECUTOR_PROCESS} ${id}: the workflow's end of a turn (HandoffEnd: an agent answered without handing off; OutputMessages: the sequence's output), no agent`);
      if (plumbing === 'end') for (let i = 0; i < span.links.length; i++) this.#toEnd.add(span.links[i]!.spanId);
      return;
    }
    const executor = this.#agentName(id);
    if (failed(span)) this.#readRefusedHandoff(span, executor);
    const agentInside = this.#agentRunsInside(span, executor);
    if (!agentInside && this.#handlesOnlyBroadcasts(span)) {
      this.#ignore(span, `${EXECUTOR_PROCESS} ${executor}: cached a HandoffBuilder broadcast of the conversation, no agent run and no handoff`);
      return;
    }
    if (!agentInside && !failed(span) && cachesWhatItGets(span) && !this.#sendsInside(span)) {
      // .NET's chat protocol also caches the workflow's input (no link: the input runner has no send).
      if (span.links.length === 0 && readName(span.attributes, MAF_MESSAGE_PAYLOAD_TYPE) !== AGENT_EXECUTOR_REQUEST) {
        this.#ignore(span, `${EXECUTOR_PROCESS} ${executor}: cached the workflow's input (chat messages; a .NET chat-protocol executor takes its turn on a TurnToken), no run and no handoff`);
        return;
      }
      let linked = false;
      for (let i = 0; i < span.links.length; i++) {
        const send = this.#context.span(span.links[i]!.spanId);
        if (send && this.#kind(send) === 'send') {
          this.#cachedBy.add(send.spanId);
          linked = true;
        }
      }
      if (linked) {
        const what = readName(span.attributes, MAF_MESSAGE_PAYLOAD_TYPE) === AGENT_EXECUTOR_REQUEST ? `an ${AGENT_EXECUTOR_REQUEST}` : `chat messages (a .NET chat-protocol executor takes its turn on a TurnToken)`;
        this.#ignore(span, `${EXECUTOR_PROCESS} ${executor}: ${what} it only cached (no agent run, nothing sent): a conversation sync, no handoff`);
        return;
      }
    }
    if (!agentInside) {
      const run: Mutable<AgentRunPart> = { type: 'agent-run', span, agent: executor, outcome: failed(span) ? 'failed' : 'completed' };
      put(run, 'taskId', this.#taskIdOf(span));
      this.parts.push(run);
    }
    const links = span.links;
    for (let i = 0; i < links.length; i++) {
      const send = this.#context.span(links[i]!.spanId);
      if (!send || this.#kind(send) !== 'send') continue;
      let list = this.#receivers.get(send.spanId);
      if (!list) this.#receivers.set(send.spanId, (list = []));
      // A fan-in links every source message once; a duplicate link adds nothing. This span's links
      // are all read here, so an entry of it in the list is the last one.
      if (list.length === 0 || list[list.length - 1]!.span.spanId !== span.spanId) list.push({ executor, span });
    }
  }

  /**
   * One handoff per send and target, except a send that repeats, in the same
   * task, the source, target and message type of an earlier one whose every
   * receiver failed (the app ran the workflow again after the target raised):
   * that is the earlier handoff, retried.
   */
  #assignHandoffIds(sends: readonly SpanRecord[]): void {
    const last = new Map<string, { id: string; failed: boolean }>();
    for (let i = 0; i < sends.length; i++) {
      const send = sends[i]!;
      const receivers = this.#receivers.get(send.spanId);
      let id = `maf:${send.spanId}`;
      if (receivers && receivers.length > 0) {
        const sourceId = this.#sourceIdOf(send);
        const source = sourceId === undefined ? '' : this.#agentName(sourceId);
        const key = `${this.#taskIdOf(send) ?? ''}\u0000${source}\u0000${receivers[0]!.executor}\u0000${readName(send.attributes, MAF_MESSAGE_TYPE) ?? ''}`;
        const previous = last.get(key);
        let allFailed = true;
        for (let j = 0; j < receivers.length; j++) if (!failed(receivers[j]!.span)) allFailed = false;
        if (previous && previous.failed && this.#taskIdOf(send) !== undefined) id = previous.id;
        last.set(key, { id, failed: allFailed });
      }
      this.#baseIds.set(send.spanId, id);
    }
  }

  #receiveParts(send: SpanRecord, source: string | undefined, taskId: string | undefined): void {
    const receivers = this.#receivers.get(send.spanId);
    if (!receivers) return;
    const base = this.#baseIds.get(send.spanId)!;
    for (let i = 0; i < receivers.length; i++) {
      const { executor, span } = receivers[i]!;
      const receive: Mutable<ReceivePart> = { type: 'receive', span, handoffId: `${base}>${executor}`, target: executor, agent: executor };
      put(receive, 'source', source);
      put(receive, 'taskId', this.#taskIdOf(span) ?? taskId);
      this.parts.push(receive);
    }
  }

  /**
   * Edge group spans by the send they route: their links (Python), else the
   * send enclosing them (.NET), else the latest earlier send from their
   * `message.source_id` (an export that lost the parent).
   */
  #deliveriesBySend(edges: readonly SpanRecord[], sends: readonly SpanRecord[]): Map<string, SpanRecord[]> {
    const out = new Map<string, SpanRecord[]>();
    /** Sends by source executor id, in start order: built when an edge needs it. */
    let bySource: Map<string, SpanRecord[]> | undefined;
    const add = (send: SpanRecord, edge: SpanRecord): void => {
      let list = out.get(send.spanId);
      if (!list) out.set(send.spanId, (list = []));
      list.push(edge);
    };
    for (let i = 0; i < edges.length; i++) {
      const edge = edges[i]!;
      const runner = readName(edge.attributes, MAF_EDGE_GROUP_TYPE);
      if (runner === DOTNET_INPUT_RUNNER) {
        this.#ignore(edge, `${EDGE_GROUP_PROCESS} ${runner}: routes the workflow's input or an external response to ${readName(edge.attributes, MAF_MESSAGE_TARGET_ID) ?? 'an executor'}, not a message between executors`);
        continue;
      }
      if (readName(edge.attributes, MAF_EDGE_GROUP_DELIVERY_STATUS) === undefined && readBoolean(edge.attributes, MAF_EDGE_GROUP_DELIVERED) === undefined) {
        this.#ignore(edge, runner === DOTNET_FAN_IN_RUNNER
          ? `${EDGE_GROUP_PROCESS} ${runner} without ${MAF_EDGE_GROUP_DELIVERY_STATUS}: .NET's fan-in releasing its buffer (it records no status then); the messages' arrivals are the target's ${EXECUTOR_PROCESS} spans`
          : `${EDGE_GROUP_PROCESS} without ${MAF_EDGE_GROUP_DELIVERY_STATUS}: the routing outcome is unknown`);
        continue;
      }
      let linked = false;
      let broadcast = false;
      for (let j = 0; j < edge.links.length; j++) {
        const send = this.#context.span(edge.links[j]!.spanId);
        if (send && this.#kind(send) === 'send') {
          if (this.#isBroadcast(send) || this.#syncs.has(send.spanId)) broadcast = true;
          else add(send, edge);
          linked = true;
        }
      }
      if (broadcast) this.#ignore(edge, `${EDGE_GROUP_PROCESS}: routed a broadcast of the conversation (a HandoffBuilder participant's or a sync every receiver only cached), not a handoff`);
      if (linked) continue;
      // .NET routes inside the send's activity: the edge group span is the send's child.
      const enclosing = this.#sendAround.of(edge);
      if (enclosing && this.#plumbingSends.has(enclosing.spanId)) {
        this.#ignore(edge, `${EDGE_GROUP_PROCESS}: routed a message to or from the workflow's start or end executor (HandoffStart, HandoffEnd, OutputMessages), not a handoff`);
        continue;
      }
      if (enclosing && this.#syncs.has(enclosing.spanId)) {
        this.#ignore(edge, `${EDGE_GROUP_PROCESS}: routed a conversation sync (every executor that received it only cached it), not a handoff`);
        continue;
      }
      if (enclosing) {
        add(enclosing, edge);
        continue;
      }
      const source = readName(edge.attributes, MAF_MESSAGE_SOURCE_ID);
      let match: SpanRecord | undefined;
      if (source !== undefined) {
        bySource ??= this.#sendsBySource(sends);
        // The latest send from that source starting no later than the edge (binary search: an export that lost every parent has many).
        const from = bySource.get(source);
        if (from) {
          const lo = partitionPoint(from.length, (i) => from[i]!.startMs <= edge.startMs);
          if (lo > 0) match = from[lo - 1];
        }
      }
      if (match) add(match, edge);
      else this.#ignore(edge, `${EDGE_GROUP_PROCESS}: no ${MESSAGE_SEND} span it routes is in the data (no link, no earlier send from ${source ?? 'a named source'})`);
    }
    return out;
  }

  /** The sends (in start order) by their source executor's id; sends with none are left out. */
  #sendsBySource(sends: readonly SpanRecord[]): Map<string, SpanRecord[]> {
    const bySource = new Map<string, SpanRecord[]>();
    for (let i = 0; i < sends.length; i++) {
      const sourceId = this.#sourceIdOf(sends[i]!);
      if (sourceId === undefined) continue;
      let list = bySource.get(sourceId);
      if (!list) bySource.set(sourceId, (list = []));
      list.push(sends[i]!);
    }
    return bySource;
  }

  #readSend(span: SpanRecord, edges: readonly SpanRecord[] | undefined): void {
    const sourceId = this.#sourceIdOf(span);
    const source = sourceId === undefined ? undefined : this.#agentName(sourceId);
    if (source === undefined) {
      this.#ignore(span, `${MESSAGE_SEND} outside any ${EXECUTOR_PROCESS} and without ${MAF_MESSAGE_SOURCE_ID}: the sending executor is unknown`);
      return;
    }
    const taskId = this.#taskIdOf(span);
    const receivers = this.#receivers.get(span.spanId);
    const declaredTargetId = readName(span.attributes, MAF_MESSAGE_TARGET_ID) ?? readName(span.attributes, MAF_MESSAGE_DESTINATION_EXECUTOR_ID);
    const declaredTarget = declaredTargetId === undefined ? undefined : this.#agentName(declaredTargetId);
    if (receivers && receivers.length > 0) {
      const base = this.#baseIds.get(span.spanId)!;
      this.#receiveParts(span, source, taskId);
      for (let i = 0; i < receivers.length; i++) this.parts.push(this.#sendPart(span, `${base}>${receivers[i]!.executor}`, source, receivers[i]!.executor, taskId));
      if (edges) {
        // The receivers by executor, for routers that name one (a fan-out of n messages routed by n edge groups would scan n² otherwise).
        let byExecutor: Map<string, Receiver[]> | undefined;
        for (let i = 0; i < edges.length; i++) {
          const edge = edges[i]!;
          // A router naming its target routed to that receiver only; one naming none (a fan-out, Python's single edges) to each.
          const targetId = readName(edge.attributes, MAF_MESSAGE_TARGET_ID);
          const target = targetId === undefined ? undefined : this.#agentName(targetId);
          let to: readonly Receiver[] = receivers;
          if (target !== undefined) {
            if (!byExecutor) {
              byExecutor = new Map();
              for (let j = 0; j < receivers.length; j++) {
                const receiver = receivers[j]!;
                let list = byExecutor.get(receiver.executor);
                if (!list) byExecutor.set(receiver.executor, (list = []));
                list.push(receiver);
              }
            }
            to = byExecutor.get(target) ?? receivers;
          }
          for (let j = 0; j < to.length; j++) this.parts.push(this.#deliveryPart(edge, `${base}>${to[j]!.executor}`, source, to[j]!.executor, taskId));
        }
      }
      return;
    }
    // No executor handled the message: the handoff stands alone, with whatever the routers said.
    let target = declaredTarget;
    if (target === undefined && edges) {
      for (let i = 0; i < edges.length && target === undefined; i++) {
        // Python's router records the message's target; .NET's runners their own sink, which says nothing of where a dropped message was meant to go.
        if (readName(edges[i]!.attributes, MAF_EDGE_GROUP_TYPE)?.endsWith(DOTNET_RUNNER_SUFFIX)) continue;
        const targetId = readName(edges[i]!.attributes, MAF_MESSAGE_TARGET_ID);
        if (targetId !== undefined) target = this.#agentName(targetId);
      }
    }
    const handoffId = `maf:${span.spanId}`;
    this.parts.push(this.#sendPart(span, handoffId, source, target, taskId));
    if (edges) for (let i = 0; i < edges.length; i++) this.parts.push(this.#deliveryPart(edges[i]!, handoffId, source, target, taskId));
  }

  #sendPart(span: SpanRecord, handoffId: string, source: string, target: string | undefined, taskId: string | undefined): SendPart {
    const part: Mutable<SendPart> = { type: 'send', span, handoffId, source };
    put(part, 'target', target);
    put(part, 'taskId', taskId);
    return part;
  }

  #deliveryPart(edge: SpanRecord, handoffId: string, source: string, target: string | undefined, taskId: string | undefined): DeliveryPart {
    const recorded = readName(edge.attributes, MAF_EDGE_GROUP_DELIVERY_STATUS);
    const delivered = readBoolean(edge.attributes, MAF_EDGE_GROUP_DELIVERED);
    const status = recorded !== undefined ? recorded.toLowerCase() : delivered ? 'delivered' : 'dropped';
    const part: Mutable<DeliveryPart> = { type: 'delivery', span: edge, handoffId, source, status, accepted: isAccepted(status) };
    put(part, 'target', target);
    put(part, 'taskId', taskId);
    put(part, 'router', readName(edge.attributes, MAF_EDGE_GROUP_TYPE) ?? readName(edge.attributes, MAF_EDGE_GROUP_ID));
    return part;
  }
}

const READ_ATTRIBUTES: ReadonlySet<string> = new Set([
  MAF_EXECUTOR_ID,
  MAF_EXECUTOR_TYPE,
  MAF_MESSAGE_PAYLOAD_TYPE,
  MAF_MESSAGE_SOURCE_ID,
  MAF_MESSAGE_TARGET_ID,
  MAF_MESSAGE_DESTINATION_EXECUTOR_ID,
  MAF_MESSAGE_TYPE,
  MAF_EDGE_GROUP_TYPE,
  MAF_EDGE_GROUP_ID,
  MAF_EDGE_GROUP_DELIVERED,
  MAF_EDGE_GROUP_DELIVERY_STATUS,
  MAF_WORKFLOW_NAME,
  ERROR_TYPE,
  GEN_AI_CONVERSATION_ID,
  MAF_SESSION_ID,
  GEN_AI_OPERATION_NAME,
  GEN_AI_AGENT_NAME,
  GEN_AI_AGENT_ID,
]);

/** Microsoft Agent Framework workflow spans (see the file header). */
export const agentFrameworkDialect: Dialect = {
  id: 'agent-framework',
  description: 'Microsoft Agent Framework workflows (executor.process, message.send, edge_group.process delivery status)',
  readsAttribute(name) {
    // Exact names: executor.input/output and message.content hold payloads, never kept.
    return READ_ATTRIBUTES.has(name);
  },
  claims(span) {
    return kindOf(span) !== undefined;
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
