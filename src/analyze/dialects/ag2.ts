/**
 * The `ag2` dialect: AG2's own OpenTelemetry instrumentation (ag2ai/ag2 `autogen/opentelemetry/`,
 * the AutoGen fork, `ag2` / `autogen` on PyPI), whose spans follow the GenAI conventions' names
 * (`invoke_agent {name}`, `execute_tool {name}`) and mark every span with `ag2.span.type`.
 * docs/frameworks.md ("AG2") lists what is read and why.
 *
 * AG2 records no handoff span (`SpanType.HANDOFF` is reserved): who handed the turn to whom is
 * the order of the agents' turns inside a chat.
 *
 * - A `conversation {sender}` span is one `initiate_chat`: the recipient's turns (`invoke_agent`)
 *   and the sender's replies are its direct children, in turn order. Each turn taken by another
 *   agent than the one before it is a handoff from the previous speaker (`pass_control`,
 *   inferred), arriving at the turn; the first from the sender (`gen_ai.agent.name` of the
 *   conversation), its evidence the conversation span, except from AG2's temporary `_User`
 *   (`initiate_group_chat` without a user agent: the application's input, the task's entry).
 * - A group chat runs inside the GroupChatManager's turn (`run_chat` is its reply function): an
 *   `invoke_agent` with the speakers' turns, `speaker_selection` spans or the
 *   `_Group_Tool_Executor`'s turns as direct children is the manager, a container whose children
 *   are read as the conversation's turns. The executor's turns are not speakers: the tools in them
 *   are the previous speaker's. A speaker transition is read in this order: a successful
 *   `transfer_to_{target}_{n}` tool (an OnCondition handoff) naming the next speaker, its
 *   evidence the tool span (inferred: a tool name); a `speaker_selection` whose
 *   `ag2.speaker_selection.selected` is the next speaker (declared: the manager's LLM selection),
 *   its evidence the selection span; else the next speaker's turn itself (an after-work target,
 *   a round robin: inferred from order). The internal `checking_agent` ↔
 *   `speaker_selection_agent` chat inside a selection is AG2's machinery: ignored.
 * - A transfer tool that failed (`error.type`: the function is unknown to AG2, or its arguments
 *   were not JSON) followed, from the same speaker, by the transfer reaching that target is one
 *   handoff attempted again (`sendCount`); otherwise it was refused: an undelivered handoff.
 * - A conversation inside an agent's turn (a nested chat) or in a queue of chats
 *   (`initiate_chats` / `agent.initiate_chats`, `multi_conversation`) is a delegation: its first
 *   handoff returns to the sender (`return_to_caller`), declared when the queue's
 *   `ag2.chats.recipients` names that chat's recipient.
 * - An A2A remote agent's turn holds a second `invoke_agent` of it (`gen_ai.agent.remote`) and,
 *   when the server is instrumented, `a2a-execution` with the server's `invoke_agent`: one run,
 *   counted at the caller.
 * - Model calls (`chat {model}`, `ag2.span.type` = `llm`) are left unclaimed: timing only.
 *
 * AG2 1.0 (`autogen.beta`, then the `ag2` package: `middleware/builtin/telemetry.py`,
 * `network/hub/{_envelope_tracing,telemetry}.py`) writes `ag2.span.type` too, under the same scope:
 * - A `network.envelope {event_type}` span (`envelope`, a trace root) is one message of the hub; the
 *   turns inside it (TelemetryMiddleware parents `invoke_agent` under the relayed traceparent) are
 *   handoffs from its sender, declared when the sender is named by its own turn in the data (a
 *   `triggered_by` link into it, else the one agent whose turn the `ag2.network.causation_id`
 *   envelope started); a sender with no turn in the data (a human's seed) is the task's entry, not
 *   evaluated. Two turns of one agent in one envelope are one handoff attempted twice (the pending
 *   turn resumed); `ag2.network.dispatch_failures` are undelivered handoffs, named by the channel
 *   span's `dispatch_failed` events. The channel (`ag2.network.channel_id`) is the task.
 * - A turn inside another agent's `execute_tool` (`Agent.as_tool`), or inside the caller's envelope
 *   within the caller's turn (run_task relays the traceparent), is a delegation (inferred); a failed
 *   sub-task called again through the same tool is one delegation attempted again.
 *
 * OpenInference's AG2 instrumentation (`openinference-instrumentation-ag2` `_wrappers.py`: AGENT
 * spans `{sender}.initiate_chat` and `{agent}.generate_reply`, TOOL spans per function) is claimed
 * by its scope and read as the 0.x shapes above; it writes no speaker selection span (its internal
 * `checking_agent` chat is known by name) and no chat id (`session.id`, when set, is the task).
 *
 * Linear in the group's spans but for the sorts the context does; walks up a parent chain are
 * bounded and cycle-safe (a trace can claim a span is its own ancestor).
 *
 * @see https://github.com/ag2ai/ag2/tree/main/autogen/opentelemetry
 * @see https://github.com/ag2ai/ag2/blob/main/autogen/agentchat/group/group_utils.py
 * @see https://github.com/ag2ai/ag2/tree/main/ag2/network/hub
 * @see https://github.com/Arize-ai/openinference/tree/main/python/instrumentation/openinference-instrumentation-ag2
 */
import {
  AG2_CHATS_IDS,
  AG2_CHATS_RECIPIENTS,
  AG2_SPAN_TYPE,
  AG2_SPEAKER_SELECTION_CANDIDATES,
  AG2_SPEAKER_SELECTION_SELECTED,
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  GEN_AI_AGENT_REMOTE,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_CONVERSATION_RESUMED,
  GEN_AI_TOOL_NAME,
  OPENINFERENCE_AGENT_NAME,
  OPENINFERENCE_SESSION_ID,
  OPENINFERENCE_SPAN_KIND,
  OPENINFERENCE_TOOL_NAME,
  SERVER_ADDRESS,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart } from '../span-index.js';
import { parseJsonText, put, readName, readNumber } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { normalizeAgentName } from './otel-genai.js';

/** `consts.py` `INSTRUMENTING_MODULE_NAME`: the tracer every AG2 span comes from. */
const AG2_SCOPE = 'opentelemetry.instrumentation.ag2';
/** `a2a.py` `OTELMiddleware`: the server's span around a request that carried `traceparent` (no attributes). */
const A2A_EXECUTION = 'a2a-execution';
/** `group_tool_executor.py` `__TOOL_EXECUTOR_NAME__`. */
const TOOL_EXECUTOR = '_Group_Tool_Executor';
/** `group_utils.py` `process_initial_messages`: the user proxy AG2 makes up when no user agent is given. */
const TEMP_USER = '_User';

type Kind =
  | 'conversation'
  | 'chats'
  | 'agent'
  | 'tool'
  | 'selection'
  | 'human'
  | 'code'
  | 'reserved'
  | 'a2a'
  | 'envelope'
  | 'channel'
  | 'task'
  | 'lifetime'
  | 'agent-event'
  | 'usage';

/**
 * `ag2.span.type` values claimed: 0.x `consts.py` `SpanType`, and AG2 1.0's (`autogen.beta`, then `ag2`)
 * `_telemetry_consts.py` (`agent`, `tool`, `human_input` from TelemetryMiddleware; `envelope`,
 * `channel`, `task`, `agent_lifetime`, `agent_event` from the hub; `usage` from the middleware's
 * usage watcher). `llm` (model calls) stays unclaimed.
 */
const KINDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['conversation', 'conversation'],
  ['multi_conversation', 'chats'],
  ['agent', 'agent'],
  ['tool', 'tool'],
  ['speaker_selection', 'selection'],
  ['human_input', 'human'],
  ['code_execution', 'code'],
  ['handoff', 'reserved'],
  ['envelope', 'envelope'],
  ['channel', 'channel'],
  ['task', 'task'],
  ['agent_lifetime', 'lifetime'],
  ['agent_event', 'agent-event'],
  ['usage', 'usage'],
]);

/**
 * OpenInference's AG2 instrumentation (Arize-ai/openinference `openinference-instrumentation-ag2`,
 * `get_tracer(__name__)` in its `__init__.py`): `initiate_chat` / `generate_reply` as AGENT spans,
 * `execute_function` as TOOL spans, on ConversableAgent (`_wrappers.py`).
 */
const OPENINFERENCE_AG2_SCOPE = 'openinference.instrumentation.ag2';
/** `_wrappers.py` `_ChatWrapper`: the chat's recipient, on the sender's `{sender}.initiate_chat` span. */
const OI_RECIPIENT_NAME = 'ag2.recipient.name';
/** `_wrappers.py` `_ReplyWrapper`: who the reply answers, on `{agent}.generate_reply`. */
const OI_SENDER_NAME = 'ag2.sender.name';
/** `groupchat.py` `_auto_select_speaker`: the two agents of AG2's speaker-selection chat. */
const CHECKING_AGENT = 'checking_agent';

/** AG2 1.0 network spans (`_telemetry_consts.py`, `network/hub/_envelope_tracing.py`, `network/hub/telemetry.py`). */
const NET_CHANNEL_ID = 'ag2.network.channel_id';
const NET_SENDER_ID = 'ag2.network.sender_id';
const NET_ENVELOPE_ID = 'ag2.network.envelope_id';
const NET_CAUSATION_ID = 'ag2.network.causation_id';
const NET_AUDIENCE = 'ag2.network.audience';
const NET_EVENT_TYPE = 'ag2.network.event_type';
const NET_DISPATCH_FAILURES = 'ag2.network.dispatch_failures';
const NET_RECIPIENT_ID = 'ag2.network.recipient_id';
const NET_MANIFEST_TYPE = 'ag2.network.manifest_type';
const AGENT_ID = 'ag2.agent.id';
const ERROR_TYPE_EVENT = 'ag2.error.type';
const ERROR_MESSAGE_EVENT = 'ag2.error.message';
/** `HubTelemetryListener.on_dispatch_failed`: the channel span's event per recipient the hub could not deliver to. */
const DISPATCH_FAILED = 'dispatch_failed';
/** Most dispatch failures read from one envelope (a bound on a hostile count). */
const MAX_FAILURES = 1024;

function isOpenInferenceAg2(span: SpanRecord): boolean {
  const scope = span.scopeName;
  if (scope !== '') return scope === OPENINFERENCE_AG2_SCOPE || (scope.startsWith(OPENINFERENCE_AG2_SCOPE) && scope.charCodeAt(OPENINFERENCE_AG2_SCOPE.length) === 46);
  // No scope (the Python SDK's console JSON): the AGENT spans carry attributes only this instrumentation writes.
  return typeof span.attributes[OI_RECIPIENT_NAME] === 'string' || typeof span.attributes[OI_SENDER_NAME] === 'string';
}

/** OpenInference's AG2 span kinds: a chat, a reply, a tool call. */
function openInferenceKindOf(span: SpanRecord): Kind | undefined {
  const kind = span.attributes[OPENINFERENCE_SPAN_KIND];
  if (kind === 'TOOL') return 'tool';
  if (kind !== 'AGENT') return undefined;
  if (typeof span.attributes[OI_RECIPIENT_NAME] === 'string' || span.name.endsWith('.initiate_chat') || span.name.endsWith('.a_initiate_chat')) return 'conversation';
  return 'agent';
}

/** The name before `.{method}` of an OpenInference AG2 span (`{agent}.generate_reply`). */
function nameBeforeMethod(span: SpanRecord): string | undefined {
  const dot = span.name.lastIndexOf('.');
  return dot > 0 ? span.name.slice(0, dot) : undefined;
}

/** Who sent a conversation's first message: `gen_ai.agent.name` (AG2), `agent.name` (OpenInference), else the span's name. */
function senderOf(conversation: SpanRecord): string | undefined {
  const attrs = conversation.attributes;
  const named = readName(attrs, GEN_AI_AGENT_NAME) ?? readName(attrs, OPENINFERENCE_AGENT_NAME);
  if (named !== undefined) return named;
  if (conversation.name.startsWith('conversation ')) return conversation.name.slice(13);
  return attrs[OPENINFERENCE_SPAN_KIND] !== undefined ? nameBeforeMethod(conversation) : undefined;
}

/** The function a tool span ran: `gen_ai.tool.name` (AG2), `tool.name` (OpenInference), else the span's name. */
function toolNameOf(span: SpanRecord): string {
  return readName(span.attributes, GEN_AI_TOOL_NAME) ?? readName(span.attributes, OPENINFERENCE_TOOL_NAME) ?? (span.name.startsWith('execute_tool ') ? span.name.slice(13) : span.name);
}

/** `handoffs.py` `set_llm_function_names`: `transfer_to_{target.normalized_name()}_{i + 1}`. */
const TRANSFER_TOOL = /^transfer_to_(.+)_(\d{1,6})$/;
/** Targets that are no agent (`transition_target.py` `normalized_name`), and what each does. */
const NON_AGENT_TARGETS: ReadonlyMap<string, string> = new Map([
  ['terminate', 'a TerminateTarget: the group chat ends'],
  ['stay', 'a StayTarget: the same speaker goes on'],
  ['group_manager', 'a GroupManagerTarget: the manager selects the next speaker'],
  ['ask_user', 'an AskUserTarget: the user picks the next speaker'],
]);
/** `RevertToUserTarget`: the pattern's user agent, whoever that is. */
const REVERT_TO_USER = 'revert_to_user';

/** Longest recipients list parsed. */
const MAX_LIST_CHARS = 1 << 16;
/** A bound on parent walks: far above any real nesting of chats. */
const MAX_DEPTH = 256;
/** A bound on the spans visited under one speaker selection. */
const MAX_SELECTION_SPANS = 10_000;

type Role = 'speaker' | 'manager' | 'executor' | 'remote' | 'served';

interface Run {
  readonly span: SpanRecord;
  readonly agent: string;
  role: Role;
}

/** An envelope's sender as read, and how it was named. */
interface Sender {
  readonly agent: string;
  /** `link` / `causation`: its turn in the data; `learned`: its id named by another of its envelopes, sent from outside a turn. */
  readonly how: 'link' | 'causation' | 'learned';
}

/** A transfer tool called in a speaker's turn, as read. */
interface TransferCall {
  readonly span: SpanRecord;
  readonly tool: string;
  /** The target as named (the tool name's part), normalized for matching. */
  readonly target: string;
  readonly key: string;
  readonly failed: boolean;
}

/** The tool a span ran, and whether AG2 could not run it. */
function failedTool(span: SpanRecord): boolean {
  return readName(span.attributes, ERROR_TYPE) !== undefined || span.statusCode === StatusCodeNumber.Error;
}

function isAg2Scope(scope: string): boolean {
  return scope === AG2_SCOPE || (scope.startsWith(AG2_SCOPE) && scope.charCodeAt(AG2_SCOPE.length) === 46);
}

function kindOf(span: SpanRecord): Kind | undefined {
  const type = span.attributes[AG2_SPAN_TYPE];
  if (typeof type === 'string') return KINDS.get(type);
  if (span.name === A2A_EXECUTION && isAg2Scope(span.scopeName)) return 'a2a';
  return isOpenInferenceAg2(span) ? openInferenceKindOf(span) : undefined;
}

/** `gen_ai.agent.name` (AG2), `agent.name` (OpenInference), else the name in `invoke_agent {name}` / `{name}.generate_reply`. */
function agentOf(span: SpanRecord): string {
  const name = readName(span.attributes, GEN_AI_AGENT_NAME) ?? readName(span.attributes, OPENINFERENCE_AGENT_NAME);
  if (name !== undefined) return name;
  const rest = span.name.startsWith('invoke_agent ') ? span.name.slice(13).trim() : span.attributes[OPENINFERENCE_SPAN_KIND] !== undefined ? (nameBeforeMethod(span) ?? '') : '';
  return rest.length > 0 ? rest : span.name;
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

/** The JSON list of names an attribute holds (`json.dumps([...])`), or undefined. */
function namesIn(value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseJsonText(value, MAX_LIST_CHARS);
  if (!Array.isArray(parsed)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < parsed.length; i++) if (typeof parsed[i] === 'string') out.push(parsed[i] as string);
  return out;
}

class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #kinds = new Map<string, Kind>();
  readonly #runs = new Map<string, Run>();
  /** Claimed spans inside a speaker selection: its internal chat. */
  readonly #internal = new Set<string>();
  /** Spans a handoff was read from (not reported as ignored). */
  readonly #used = new Set<string>();
  /** Managers read as a conversation's turns. */
  readonly #expanded = new Set<string>();
  /** Conversations that are a manager's `run_chat` (read as its turns). */
  readonly #runChats = new Set<string>();
  readonly #taskOf = new Map<string, string | null>();
  /** A retried transfer's later calls, read with its first: why each is not a part of its own. */
  readonly #attempts = new Map<string, string>();
  readonly #runParts: AgentRunPart[] = [];
  /** AG2 1.0's hub: envelope spans by `ag2.network.envelope_id`, agent names by `ag2.agent.id`. */
  readonly #envelopes = new Map<string, SpanRecord>();
  readonly #names = new Map<string, string>();
  /** Agent ids named by the turn that sent an envelope (learned while reading), with how. */
  readonly #learned = new Map<string, string>();
  /** Why an envelope span gave no handoff. */
  readonly #envelopeReasons = new Map<string, string>();
  /** Runs read as another agent's subagent: no turn of an envelope of their own. */
  readonly #delegated = new Set<string>();
  // Ancestor tests, made once: the walks run per run and per chat.
  readonly #isClaimed = (span: SpanRecord): boolean => this.#kinds.has(span.spanId);
  readonly #isRun = (span: SpanRecord): boolean => this.#runs.has(span.spanId);
  readonly #isSpeaker = (span: SpanRecord): boolean => this.#runs.get(span.spanId)?.role === 'speaker';
  readonly #isTurn = (span: SpanRecord): boolean => {
    const role = this.#runs.get(span.spanId)?.role;
    return role === 'speaker' || role === 'executor';
  };

  constructor(context: DialectContext) {
    this.#context = context;
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const kind = kindOf(span);
      if (kind !== undefined && !this.#kinds.has(span.spanId)) this.#kinds.set(span.spanId, kind);
    }
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const kind = this.#kinds.get(span.spanId);
      if (kind === 'selection') this.#markInternal(span);
      // OpenInference writes no selection span: the internal chat is known by its sender (groupchat.py names it).
      else if (kind === 'conversation' && senderOf(span) === CHECKING_AGENT && !this.#internal.has(span.spanId)) {
        this.#internal.add(span.spanId);
        this.#markInternal(span);
      }
    }
    const claimed: SpanRecord[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (!this.#kinds.has(span.spanId) || seen.has(span.spanId)) continue; // a re-exported copy
      seen.add(span.spanId);
      claimed.push(span);
      if (this.#kinds.get(span.spanId) === 'agent' && !this.#internal.has(span.spanId)) {
        this.#runs.set(span.spanId, { span, agent: agentOf(span), role: 'speaker' });
      }
    }
    for (const run of this.#runs.values()) run.role = this.#roleOf(run);
    for (let i = 0; i < claimed.length; i++) {
      const span = claimed[i]!;
      if (this.#kinds.get(span.spanId) !== 'conversation' || this.#internal.has(span.spanId)) continue;
      const around = this.#context.parentOf(span);
      const owner = around ? this.#runs.get(around.spanId) : undefined;
      if (owner?.role === 'manager' && this.#isRunChat(span, owner.agent)) this.#runChats.add(span.spanId);
      else this.#readConversation(span);
    }
    for (const run of this.#runs.values()) {
      // A group chat whose conversation is not in the data (its sender not instrumented).
      if (run.role === 'manager' && !this.#expanded.has(run.span.spanId)) this.#readSequence(this.#turnsIn(run.span), undefined, undefined, this.#context.ancestorWhere(run.span, this.#isSpeaker) !== undefined, undefined, run.span);
    }
    this.#readDelegations();
    this.#readNetwork(claimed);
    for (const run of this.#runs.values()) {
      if (run.role !== 'speaker') continue;
      const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.span, agent: run.agent, outcome: run.span.statusCode === StatusCodeNumber.Error ? 'failed' : 'completed' };
      put(part, 'taskId', this.#taskIdOf(run.span));
      this.#runParts.push(part);
    }
    // Runs last: a turn that is also a transition's evidence keeps its agent-run role.
    for (let i = 0; i < this.#runParts.length; i++) this.parts.push(this.#runParts[i]!);
    for (let i = 0; i < claimed.length; i++) {
      const span = claimed[i]!;
      const attempt = this.#attempts.get(span.spanId);
      if (attempt !== undefined) this.ignored.push({ span, reason: attempt });
      if (this.#used.has(span.spanId)) continue;
      const reason = this.#reasonFor(span);
      if (reason !== undefined) this.ignored.push({ span, reason });
    }
    return { parts: this.parts, ignored: this.ignored };
  }

  /** Every claimed span under a speaker selection is its internal chat (bounded, cycle-safe). */
  #markInternal(selection: SpanRecord): void {
    const stack: SpanRecord[] = [selection];
    let budget = MAX_SELECTION_SPANS;
    while (stack.length > 0 && budget-- > 0) {
      const children = this.#context.childrenOf(stack.pop()!);
      for (let i = 0; i < children.length; i++) {
        const child = children[i]!;
        if (child.spanId === selection.spanId || this.#internal.has(child.spanId)) continue;
        if (this.#kinds.has(child.spanId)) this.#internal.add(child.spanId);
        stack.push(child);
      }
    }
  }

  #roleOf(run: Run): Role {
    const span = run.span;
    if (run.agent === TOOL_EXECUTOR) return 'executor';
    if (isTrue(span.attributes[GEN_AI_AGENT_REMOTE])) return 'remote';
    // The server's run of an A2A request: the caller's turn, when the caller is in the data.
    const around = this.#context.ancestorWhere(span, this.#isClaimed);
    if (around && this.#kinds.get(around.spanId) === 'a2a' && this.#context.ancestorWhere(around, this.#isRun)) return 'served';
    const children = this.#context.childrenOf(span);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      const kind = this.#kinds.get(child.spanId);
      if (kind === 'selection') return 'manager';
      if (kind === 'conversation' && this.#isRunChat(child, run.agent)) return 'manager';
      if (kind !== 'agent') continue;
      const inner = this.#runs.get(child.spanId);
      if (inner && inner.agent !== run.agent && !isTrue(child.attributes[GEN_AI_AGENT_REMOTE])) return 'manager';
    }
    return 'speaker';
  }

  /**
   * Whether a conversation of `manager` inside its turn is its `run_chat` (a group's rounds) rather
   * than a nested chat: its sender is the turn's agent, and it holds a speaker selection, the tool
   * executor's turn, or turns of two agents other than the sender. AG2 wraps `run_chat` as a
   * conversation but calls the class function it registered (so no such span today); read it as
   * the manager's turns should AG2 call the wrapper.
   */
  #isRunChat(conversation: SpanRecord, manager: string): boolean {
    if (senderOf(conversation) !== manager) return false;
    const children = this.#context.childrenOf(conversation);
    let other: string | undefined;
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      const kind = this.#kinds.get(child.spanId);
      if (kind === 'selection') return true;
      if (kind !== 'agent') continue;
      const agent = agentOf(child);
      if (agent === TOOL_EXECUTOR) return true;
      if (agent === manager || agent === other) continue;
      if (other !== undefined) return true;
      other = agent;
    }
    return false;
  }

  /** A manager's turns: its speakers, its executor's turns and its selections, in start order (a manager inside, its own). */
  #turnsIn(manager: SpanRecord, out: SpanRecord[] = [], depth = 0): SpanRecord[] {
    this.#expanded.add(manager.spanId);
    const children = this.#context.childrenOf(manager);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (this.#kinds.get(child.spanId) === 'selection') {
        out.push(child);
        continue;
      }
      if (this.#kinds.get(child.spanId) === 'conversation' && depth < MAX_DEPTH && !this.#expanded.has(child.spanId) && this.#isRunChat(child, agentOf(manager))) {
        this.#runChats.add(child.spanId);
        this.#turnsIn(child, out, depth + 1);
        continue;
      }
      const role = this.#runs.get(child.spanId)?.role;
      if (role === 'speaker' || role === 'executor') out.push(child);
      else if (role === 'manager' && depth < MAX_DEPTH && !this.#expanded.has(child.spanId)) this.#turnsIn(child, out, depth + 1);
    }
    return out;
  }

  #readConversation(conversation: SpanRecord): void {
    const attrs = conversation.attributes;
    if (isTrue(attrs[GEN_AI_CONVERSATION_RESUMED])) return;
    const turns: SpanRecord[] = [];
    const children = this.#context.childrenOf(conversation);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      const run = this.#runs.get(child.spanId);
      if (!run) continue;
      if (run.role === 'manager') {
        if (!this.#expanded.has(child.spanId)) this.#turnsIn(child, turns);
      } else if (run.role === 'speaker' || run.role === 'executor') turns.push(child);
    }
    const sender = senderOf(conversation);
    // A nested chat (inside a turn) or a queued one: the chat's summary goes back to its sender.
    const queue = this.#context.ancestorWhere(conversation, this.#isClaimed);
    const queued = queue !== undefined && this.#kinds.get(queue.spanId) === 'chats' ? queue : undefined;
    const delegated = queued !== undefined || this.#context.ancestorWhere(conversation, this.#isSpeaker) !== undefined;
    let declaredRecipient: string | undefined;
    if (queued) {
      const recipients = namesIn(queued.attributes[AG2_CHATS_RECIPIENTS]);
      const index = this.#indexAmong(queued, conversation);
      if (recipients && index >= 0) declaredRecipient = recipients[index];
    }
    this.#readSequence(turns, sender, conversation, delegated, declaredRecipient, conversation);
  }

  /** Which of the queue's chats `conversation` is (its position among the conversations in the queue's span). */
  #indexAmong(queue: SpanRecord, conversation: SpanRecord): number {
    let index = 0;
    const stack: SpanRecord[] = [queue];
    // The module's initiate_chats may sit inside the agent's: chats are found through either.
    for (let visits = 0; stack.length > 0 && visits < MAX_DEPTH; visits++) {
      const children = this.#context.childrenOf(stack.pop()!);
      for (let i = 0; i < children.length; i++) {
        const child = children[i]!;
        const kind = this.#kinds.get(child.spanId);
        if (kind === 'chats') stack.push(child);
        else if (kind === 'conversation') {
          if (child.spanId === conversation.spanId) return index;
          index++;
        }
      }
    }
    return -1;
  }

  /**
   * Reads the handoffs of one chat's turns (see the file header). `sender`: who sent the first
   * message (undefined: a manager whose chat is not in the data); `opening`: its span.
   */
  #readSequence(turns: readonly SpanRecord[], sender: string | undefined, opening: SpanRecord | undefined, delegated: boolean, declaredRecipient: string | undefined, container: SpanRecord): void {
    const taskId = this.#taskIdOf(container);
    let previous: Run | undefined;
    /** Selections and transfer calls since the previous speaker's turn began. */
    let selections: SpanRecord[] = [];
    let calls: TransferCall[] = [];
    const participants = new Set<string>();
    for (let i = 0; i < turns.length; i++) {
      const run = this.#runs.get(turns[i]!.spanId);
      if (run?.role === 'speaker') participants.add(normalizeAgentName(run.agent));
      if (this.#kinds.get(turns[i]!.spanId) === 'selection') {
        const candidates = namesIn(turns[i]!.attributes[AG2_SPEAKER_SELECTION_CANDIDATES]);
        if (candidates) for (let j = 0; j < candidates.length; j++) participants.add(normalizeAgentName(candidates[j]!));
      }
    }
    for (let i = 0; i < turns.length; i++) {
      const span = turns[i]!;
      if (this.#kinds.get(span.spanId) === 'selection') {
        selections.push(span);
        continue;
      }
      const run = this.#runs.get(span.spanId)!;
      if (run.role === 'executor') {
        if (previous) this.#readTransferCalls(span, calls);
        continue;
      }
      if (!previous) {
        if (sender !== undefined && opening !== undefined && sender !== TEMP_USER && sender !== run.agent) {
          const part: Mutable<TransferPart> = { type: 'transfer', span: opening, source: sender, target: run.agent, mode: delegated ? 'return_to_caller' : 'pass_control', inferred: declaredRecipient !== run.agent, arrival: run.span };
          put(part, 'taskId', taskId);
          this.parts.push(part);
          this.#used.add(opening.spanId);
        }
        previous = run;
        continue;
      }
      if (run.agent === previous.agent) continue;
      this.#handOn(previous, run, selections, calls, participants, taskId);
      selections = [];
      calls = [];
      previous = run;
    }
    if (previous) this.#settle(previous, calls, participants, taskId, true);
  }

  /**
   * AG2 1.0's network (see the file header): each `network.envelope` span is one message the hub
   * dispatched, and the turns it started run inside it (the hub injects the envelope span's
   * traceparent, the recipient's TelemetryMiddleware parents its `invoke_agent` under it).
   */
  #readNetwork(claimed: readonly SpanRecord[]): void {
    const envelopes: SpanRecord[] = [];
    const channels: SpanRecord[] = [];
    for (let i = 0; i < claimed.length; i++) {
      const span = claimed[i]!;
      const kind = this.#kinds.get(span.spanId);
      if (kind === 'envelope') {
        envelopes.push(span);
        const id = readName(span.attributes, NET_ENVELOPE_ID);
        if (id !== undefined && !this.#envelopes.has(id)) this.#envelopes.set(id, span);
      } else if (kind === 'channel') channels.push(span);
      else if (kind === 'lifetime') {
        const id = readName(span.attributes, AGENT_ID);
        const name = readName(span.attributes, GEN_AI_AGENT_NAME);
        if (id !== undefined && name !== undefined) this.#names.set(id, name);
      }
    }
    if (envelopes.length === 0) return;
    envelopes.sort(compareByStart);
    // Senders named by what the spans declare first (a link into their turn, the envelope their
    // turn answered), so that an id they name can name the same agent's other envelopes.
    const declared = new Map<string, Sender>();
    for (let i = 0; i < envelopes.length; i++) {
      const envelope = envelopes[i]!;
      const sender = this.#declaredSender(envelope);
      if (!sender) continue;
      declared.set(envelope.spanId, sender);
      const id = readName(envelope.attributes, NET_SENDER_ID);
      if (id !== undefined && !this.#learned.has(id)) this.#learned.set(id, sender.agent);
    }
    for (let i = 0; i < envelopes.length; i++) {
      const envelope = envelopes[i]!;
      const senderId = readName(envelope.attributes, NET_SENDER_ID);
      let sender = declared.get(envelope.spanId);
      // An id no turn of the data answers for (a human's seed, app code posting for an agent) sent from outside any turn: the task's entry.
      if (!sender && senderId !== undefined) {
        const learned = this.#learned.get(senderId);
        if (learned !== undefined) sender = { agent: learned, how: 'learned' };
      }
      this.#readEnvelope(envelope, sender, senderId, channels);
    }
  }

  /**
   * The sender of an envelope, from its turn in the data: the turn a link of the envelope points
   * into (`triggered_by`: posted from inside a turn, by a tool), else the one agent whose turns the
   * envelope it answers (`ag2.network.causation_id`, which the handler stamps on its reply) started.
   */
  #declaredSender(envelope: SpanRecord): Sender | undefined {
    for (let i = 0; i < envelope.links.length; i++) {
      const linked = this.#context.span(envelope.links[i]!.spanId);
      if (!linked) continue;
      const turn = this.#runs.has(linked.spanId) ? linked : this.#context.ancestorWhere(linked, this.#isRun);
      const run = turn ? this.#runs.get(turn.spanId) : undefined;
      if (run && run.role === 'speaker') return { agent: run.agent, how: 'link' };
    }
    const cause = readName(envelope.attributes, NET_CAUSATION_ID);
    const before = cause !== undefined ? this.#envelopes.get(cause) : undefined;
    if (!before || before.spanId === envelope.spanId) return undefined;
    let agent: string | undefined;
    const turns = this.#turnsOf(before);
    for (let i = 0; i < turns.length; i++) {
      if (agent === undefined) agent = turns[i]!.agent;
      else if (agent !== turns[i]!.agent) return undefined;
    }
    return agent !== undefined ? { agent, how: 'causation' } : undefined;
  }

  /** The turns an envelope started: the agent runs directly inside it, in start order. */
  #turnsOf(envelope: SpanRecord): Run[] {
    const out: Run[] = [];
    const children = this.#context.childrenOf(envelope);
    for (let i = 0; i < children.length; i++) {
      const run = this.#runs.get(children[i]!.spanId);
      if (run && run.role === 'speaker' && !this.#delegated.has(run.span.spanId)) out.push(run);
    }
    return out;
  }

  /**
   * One envelope's handoffs: from its sender to each other agent that took a turn on it (two turns
   * of one agent are the hub's pending turn fired again after the first raised: one handoff
   * attempted twice), and one undelivered handoff per recipient the hub could not deliver to
   * (`ag2.network.dispatch_failures`, named by the channel span's `dispatch_failed` events).
   */
  #readEnvelope(envelope: SpanRecord, sender: Sender | undefined, senderId: string | undefined, channels: readonly SpanRecord[]): void {
    const attrs = envelope.attributes;
    const eventType = readName(attrs, NET_EVENT_TYPE) ?? envelope.name.slice('network.envelope '.length);
    const channelId = readName(attrs, NET_CHANNEL_ID);
    const turns = this.#turnsOf(envelope);
    const failures = Math.min(MAX_FAILURES, Math.max(0, Math.floor(readNumber(attrs, NET_DISPATCH_FAILURES) ?? 0)));
    if (!sender) {
      this.#envelopeReasons.set(
        envelope.spanId,
        turns.length > 0 || failures > 0
          ? `${eventType} from ${senderId === undefined ? 'an unnamed sender' : `${this.#names.has(senderId) ? `${this.#names.get(senderId)!} (agent id ${senderId})` : `agent id ${senderId}`}`}, posted outside any traced turn (a human participant, the code that seeded the channel, or an agent without TelemetryMiddleware): the task's entry, not evaluated as a handoff`
          : `${eventType}: no sender named and no agent took a turn on it`,
      );
      return;
    }
    const byAgent = new Map<string, Run[]>();
    for (let i = 0; i < turns.length; i++) {
      const key = normalizeAgentName(turns[i]!.agent);
      const list = byAgent.get(key);
      if (list) list.push(turns[i]!);
      else byAgent.set(key, [turns[i]!]);
    }
    const own = normalizeAgentName(sender.agent);
    let read = false;
    for (const [key, runs] of byAgent) {
      if (key === own) continue;
      const part: Mutable<TransferPart> = { type: 'transfer', span: envelope, source: sender.agent, target: runs[0]!.agent, mode: 'pass_control', inferred: sender.how === 'learned', arrival: runs[0]!.span };
      if (runs.length > 1) part.sendCount = runs.length;
      put(part, 'taskId', channelId);
      this.parts.push(part);
      read = true;
    }
    if (failures > 0) {
      const events: SpanRecord['events'][number][] = [];
      for (let c = 0; c < channels.length; c++) {
        const channel = channels[c]!;
        if (readName(channel.attributes, NET_CHANNEL_ID) !== channelId) continue;
        for (let i = 0; i < channel.events.length; i++) {
          const event = channel.events[i]!;
          if (event.name === DISPATCH_FAILED && event.timeMs >= envelope.startMs && event.timeMs <= envelope.endMs) events.push(event);
        }
      }
      events.sort((a, b) => a.timeMs - b.timeMs);
      for (let i = 0; i < failures; i++) {
        const event = events[i];
        const recipient = event ? readName(event.attributes, NET_RECIPIENT_ID) : undefined;
        const name = recipient === undefined ? 'a recipient' : (this.#names.get(recipient) ?? this.#learned.get(recipient) ?? `agent id ${recipient}`);
        const why = event
          ? `${readName(event.attributes, ERROR_TYPE_EVENT) ?? 'error'}: ${readName(event.attributes, ERROR_MESSAGE_EVENT) ?? ''}`
          : `${envelope.statusMessage || `${failures} dispatch failure(s)`}; no dispatch_failed event of its channel span in this trace group names the recipient`;
        const part: Mutable<TransferPart> = { type: 'transfer', span: envelope, source: sender.agent, target: 'unknown', mode: 'pass_control', inferred: false, refusal: `refused: the hub could not deliver ${eventType} to ${name} (${why})` };
        put(part, 'taskId', channelId);
        this.parts.push(part);
        read = true;
      }
    }
    if (read) this.#used.add(envelope.spanId);
    else
      this.#envelopeReasons.set(
        envelope.spanId,
        byAgent.has(own)
          ? `${eventType} from ${sender.agent}, answered by ${sender.agent} itself (the workflow kept the turn with it): no handoff`
          : `${eventType} from ${sender.agent}: no agent took a turn on it (the channel closed after it, by max_turns or a Finish, or its recipients have no TelemetryMiddleware)`,
      );
  }

  /**
   * Agents run as another agent's tool (AG2 1.0 `Agent.as_tool`, `subagent_tool`: `task_{name}`):
   * a run whose nearest claimed span above is a tool call in another agent's turn is a delegation
   * returning to the caller (inferred: the nesting), its evidence the tool span. A sub-task that
   * failed (its run ERROR; AG2 hands the caller "Sub-task '…' failed") and was called again through
   * the same tool is one delegation attempted again (`sendCount`).
   */
  #readDelegations(): void {
    const drafts: { caller: Run; tool: SpanRecord; toolName: string; run: Run }[] = [];
    for (const run of this.#runs.values()) {
      if (run.role !== 'speaker') continue;
      const above = this.#context.ancestorWhere(run.span, this.#isClaimed);
      const kind = above ? this.#kinds.get(above.spanId) : undefined;
      if (kind === 'tool') {
        const around = this.#context.ancestorWhere(above!, this.#isRun);
        const caller = around ? this.#runs.get(around.spanId) : undefined;
        if (!caller || caller.role !== 'speaker' || caller === run) continue;
        drafts.push({ caller, tool: above!, toolName: toolNameOf(above!), run });
      } else if (kind === 'envelope') {
        // run_task copies the caller's dependencies, the relayed traceparent with them: inside a network
        // turn the subagent's invoke_agent is parented under the envelope too, within its caller's time.
        const caller = this.#holderOf(run, above!);
        if (!caller) continue;
        const tool = this.#toolHolding(caller, run);
        this.#delegated.add(run.span.spanId);
        drafts.push({ caller, tool: tool ?? caller.span, toolName: tool ? toolNameOf(tool) : '', run });
      }
    }
    drafts.sort((a, b) => compareByStart(a.tool, b.tool) || compareByStart(a.run.span, b.run.span));
    /** Delegations whose latest run failed, by caller, tool and target: a later call is the same one tried again. */
    const retrying = new Map<string, Mutable<TransferPart>>();
    for (let i = 0; i < drafts.length; i++) {
      const { caller, tool, toolName, run } = drafts[i]!;
      const slot = `${caller.span.spanId}\u0000${toolName}\u0000${normalizeAgentName(run.agent)}`;
      const failed = run.span.statusCode === StatusCodeNumber.Error;
      if (tool !== caller.span) this.#used.add(tool.spanId);
      const earlier = retrying.get(slot);
      if (earlier) {
        earlier.sendCount = (earlier.sendCount ?? 1) + 1;
        earlier.arrival = run.span;
        this.#attempts.set(tool.spanId, `attempt ${earlier.sendCount} of ${caller.agent}'s delegation to ${run.agent} through ${toolName} (the run before failed): read with the first call on span ${earlier.span.spanId} as one handoff attempted again`);
        if (!failed) retrying.delete(slot);
        continue;
      }
      const part: Mutable<TransferPart> = { type: 'transfer', span: tool, source: caller.agent, target: run.agent, mode: 'return_to_caller', inferred: true, arrival: run.span };
      put(part, 'taskId', this.#taskIdOf(caller.span));
      this.parts.push(part);
      if (failed) retrying.set(slot, part);
    }
  }

  /** The other agent's turn of the same envelope whose time holds `run` (the innermost: a subagent's subagent). */
  #holderOf(run: Run, envelope: SpanRecord): Run | undefined {
    let holder: Run | undefined;
    const children = this.#context.childrenOf(envelope);
    for (let i = 0; i < children.length; i++) {
      const other = this.#runs.get(children[i]!.spanId);
      if (!other || other === run || other.role !== 'speaker' || other.agent === run.agent) continue;
      if (other.span.startMs > run.span.startMs || other.span.endMs < run.span.endMs) continue;
      if (!holder || other.span.startMs > holder.span.startMs) holder = other;
    }
    return holder;
  }

  /** The latest-starting tool call in `caller`'s turn (not inside another turn) whose time holds `run`; bounded. */
  #toolHolding(caller: Run, run: Run): SpanRecord | undefined {
    let best: SpanRecord | undefined;
    const stack: SpanRecord[] = [caller.span];
    for (let budget = MAX_SELECTION_SPANS; stack.length > 0 && budget > 0; budget--) {
      const children = this.#context.childrenOf(stack.pop()!);
      for (let i = 0; i < children.length; i++) {
        const child = children[i]!;
        if (this.#runs.has(child.spanId) || child.spanId === caller.span.spanId) continue;
        if (this.#kinds.get(child.spanId) === 'tool' && child.startMs <= run.span.startMs && child.endMs >= run.span.endMs && (!best || child.startMs > best.startMs)) best = child;
        stack.push(child);
      }
    }
    return best;
  }

  /** The transfer tools in an executor's turn, in order; other tools are the speaker's steps. */
  #readTransferCalls(executor: SpanRecord, calls: TransferCall[]): void {
    const children = this.#context.childrenOf(executor);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (this.#kinds.get(child.spanId) !== 'tool') continue;
      const tool = toolNameOf(child);
      const match = TRANSFER_TOOL.exec(tool);
      if (!match) continue;
      const target = match[1]!;
      calls.push({ span: child, tool, target, key: normalizeAgentName(target), failed: failedTool(child) });
    }
  }

  /** The turn passed from `from` to `to`: its evidence and its attempts; the other transfer calls settled. */
  #handOn(from: Run, to: Run, selections: readonly SpanRecord[], calls: readonly TransferCall[], participants: ReadonlySet<string>, taskId: string | undefined): void {
    const key = normalizeAgentName(to.agent);
    let transfer: TransferCall | undefined;
    for (let i = calls.length - 1; i >= 0 && !transfer; i--) {
      const call = calls[i]!;
      if (!call.failed && (call.key === key || call.key === REVERT_TO_USER)) transfer = call;
    }
    let evidence: SpanRecord = transfer?.span ?? to.span;
    let inferred = true;
    if (!transfer) {
      for (let i = selections.length - 1; i >= 0; i--) {
        if (readName(selections[i]!.attributes, AG2_SPEAKER_SELECTION_SELECTED) === to.agent) {
          evidence = selections[i]!;
          inferred = false;
          break;
        }
      }
    }
    // Failed calls of the transfer that then reached this speaker: the same handoff, attempted again.
    const attempts: SpanRecord[] = [];
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!;
      if (call.failed && call.key === key && (transfer === undefined || call.span.startMs <= transfer.span.startMs)) attempts.push(call.span);
    }
    if (attempts.length > 0) {
      if (transfer) attempts.push(transfer.span);
      evidence = attempts[0]!;
      inferred = true;
      for (let i = 1; i < attempts.length; i++) {
        this.#used.add(attempts[i]!.spanId);
        this.#attempts.set(attempts[i]!.spanId, `attempt ${i + 1} of the transfer from ${from.agent} to ${to.agent}: read with the first as one handoff attempted ${attempts.length} times`);
      }
    }
    const sendCount = transfer ? Math.max(1, attempts.length) : attempts.length + 1;
    const part: Mutable<TransferPart> = { type: 'transfer', span: evidence, source: from.agent, target: to.agent, mode: 'pass_control', inferred, arrival: to.span };
    if (sendCount > 1) part.sendCount = sendCount;
    put(part, 'taskId', taskId);
    this.parts.push(part);
    if (evidence !== to.span) this.#used.add(evidence.spanId);
    if (transfer) this.#used.add(transfer.span.spanId);
    this.#settle(from, calls, participants, taskId, false);
  }

  /**
   * The transfer calls of `from`'s turns that passed no turn: a failed one was refused (an
   * undelivered handoff); a successful one to an agent, when the chat ended before anyone spoke
   * after it (`ended`: max_rounds), is a handoff without arrival; the rest (a later transfer in
   * the same turn decided, a non-agent target) are ignored with their reason.
   */
  #settle(from: Run, calls: readonly TransferCall[], participants: ReadonlySet<string>, taskId: string | undefined, ended: boolean): void {
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!;
      if (this.#used.has(call.span.spanId)) continue;
      let part: Mutable<TransferPart> | undefined;
      if (call.failed) {
        const why = `${call.tool} failed (${ERROR_TYPE} ${readName(call.span.attributes, ERROR_TYPE) ?? 'unset'}${call.span.statusMessage ? `: ${call.span.statusMessage}` : ''})`;
        const refusal = participants.has(call.key) ? `refused: the transfer to ${call.target} failed and was not made again; ${why}` : `refused: no agent ${call.target} in the chat; ${why}`;
        part = { type: 'transfer', span: call.span, source: from.agent, target: 'unknown', mode: 'pass_control', inferred: true, refusal };
      } else if (ended && !NON_AGENT_TARGETS.has(call.key) && call.key !== REVERT_TO_USER) {
        part = { type: 'transfer', span: call.span, source: from.agent, target: call.target, mode: 'pass_control', inferred: true };
      }
      if (!part) continue;
      put(part, 'taskId', taskId);
      this.parts.push(part);
      this.#used.add(call.span.spanId);
    }
  }

  /**
   * The task: the id of the outermost chat around `span` (its conversation's
   * `gen_ai.conversation.id`, a queue's first chat id), none when that chat has none (it failed
   * before AG2 set it), so one tree of chats is one task. Memoized.
   */
  #taskIdOf(span: SpanRecord): string | undefined {
    const known = this.#taskOf.get(span.spanId);
    if (known !== undefined) return known ?? undefined;
    let outermost: SpanRecord | undefined;
    let envelope: SpanRecord | undefined;
    let at: SpanRecord | undefined = span;
    for (let depth = 0; at && depth < MAX_DEPTH; depth++) {
      const kind = this.#kinds.get(at.spanId);
      if (kind === 'conversation' || kind === 'chats') outermost = at;
      else if (kind === 'envelope') envelope ??= at;
      const parent = this.#context.parentOf(at);
      at = parent && parent.spanId !== at.spanId ? parent : undefined;
    }
    const found =
      outermost === undefined
        ? // AG2 1.0's network: a turn runs in its envelope's trace, and the channel is the task.
          envelope !== undefined
          ? readName(envelope.attributes, NET_CHANNEL_ID)
          : undefined
        : this.#kinds.get(outermost.spanId) === 'conversation'
          ? (readName(outermost.attributes, GEN_AI_CONVERSATION_ID) ?? readName(outermost.attributes, OPENINFERENCE_SESSION_ID))
          : namesIn(outermost.attributes[AG2_CHATS_IDS])?.[0];
    this.#taskOf.set(span.spanId, found ?? null);
    return found;
  }

  #ownerOf(span: SpanRecord): string {
    const owner = this.#context.ancestorWhere(span, this.#isTurn);
    return owner ? this.#runs.get(owner.spanId)!.agent : 'no agent';
  }

  /** Why a claimed span gave no part (for --explain). */
  #reasonFor(span: SpanRecord): string | undefined {
    const kind = this.#kinds.get(span.spanId)!;
    const envelopeReason = this.#envelopeReasons.get(span.spanId);
    if (envelopeReason !== undefined) return envelopeReason;
    if (this.#internal.has(span.spanId)) return `the speaker selection's internal chat (checking_agent and speaker_selection_agent): AG2's machinery choosing the next speaker, not the group's handoffs`;
    switch (kind) {
      case 'agent': {
        const run = this.#runs.get(span.spanId)!;
        if (run.role === 'speaker') return undefined;
        if (run.role === 'manager') return `${run.agent}'s turn runs the group chat (GroupChatManager.run_chat): a container of its speakers' turns, whose transitions are the handoffs`;
        if (run.role === 'executor') return `the group's tool executor (${TOOL_EXECUTOR}): it runs the tools the previous speaker called; they are that speaker's`;
        if (run.role === 'remote') return `the A2A call of ${run.agent}'s turn (${GEN_AI_AGENT_REMOTE}): the same run, served at ${String(span.attributes[SERVER_ADDRESS] ?? 'its url')}`;
        return `${run.agent}'s turn on its A2A server: the caller's turn, counted once there`;
      }
      case 'conversation':
        if (this.#runChats.has(span.spanId)) return `${senderOf(span) ?? 'the manager'}'s run_chat: the group chat's rounds, read as the turns of the chat around it`;
        if (isTrue(span.attributes[GEN_AI_CONVERSATION_RESUMED])) return 'resuming a group chat (a_resume): AG2 loads its messages; no agent runs in it';
        if (senderOf(span) === TEMP_USER) return `AG2's temporary user proxy ${TEMP_USER} sent the first message (a group chat started without a user agent): the task's entry, not a handoff`;
        return 'a chat whose first message went to no agent run inside it (its recipient not instrumented, or it answered itself): no handoff read';
      case 'chats':
        return 'a queue of chats (initiate_chats): a container of its conversations, each a delegation to its recipient';
      case 'tool': {
        const tool = toolNameOf(span);
        const match = TRANSFER_TOOL.exec(tool);
        const target = match ? NON_AGENT_TARGETS.get(normalizeAgentName(match[1]!)) : undefined;
        if (target !== undefined) return `a transfer to ${target}: no agent takes the turn from it`;
        if (match) return `transfer tool ${tool}: its target did not take the turn next (a later transfer in the same turn, or another speaker, came first)`;
        const owner = this.#ownerOf(span);
        return owner === TOOL_EXECUTOR ? `a tool the group's tool executor ran for the previous speaker: no handoff` : `a tool call in ${owner}'s turn: no handoff`;
      }
      case 'selection': {
        const selected = readName(span.attributes, AG2_SPEAKER_SELECTION_SELECTED);
        return selected === undefined ? 'a speaker selection that chose no one (it failed)' : `the manager selected ${selected}, who did not take the turn from another speaker next (selected again, or a transfer decided)`;
      }
      case 'human':
        return `a human's input in ${this.#ownerOf(span)}'s turn: no handoff`;
      case 'code':
        return `code execution in ${this.#ownerOf(span)}'s turn: no handoff`;
      case 'a2a':
        return "an A2A server's side of a remote agent's turn: no handoff of its own";
      case 'envelope':
        return `${readName(span.attributes, NET_EVENT_TYPE) ?? span.name}: a message of the hub with no turn and no failed delivery read from it`;
      case 'channel':
        return `an AG2 network channel (${readName(span.attributes, NET_MANIFEST_TYPE) ?? 'channel'}): a container of its envelopes, whose handoffs are read from them; its dispatch_failed events name the recipients of failed deliveries`;
      case 'task':
        return `an AG2 network task (${String(span.attributes['ag2.network.capability'] ?? 'task')}, ${String(span.attributes['ag2.network.outcome'] ?? 'no outcome')}): work an agent owned, no handoff of its own`;
      case 'lifetime':
        return `${readName(span.attributes, GEN_AI_AGENT_NAME) ?? 'an agent'}'s registration on the hub (agent.lifetime): names its ag2.agent.id, no handoff`;
      case 'agent-event':
        return "a change to a registered agent's resume, skill or rule: no handoff";
      case 'usage':
        return 'token usage AG2 recorded outside a model call: no handoff';
      default:
        return `ag2.span.type ${String(span.attributes[AG2_SPAN_TYPE])}: reserved by AG2, not written yet; not read`;
    }
  }
}

/** AG2's own spans (see the file header). */
export const ag2Dialect: Dialect = {
  id: 'ag2',
  description:
    "AG2's OpenTelemetry spans (conversations, group chat turns and speaker selection, transfer tools, nested and queued chats; AG2 1.0's agent turns, subagent tools and hub envelopes) and OpenInference's AG2 instrumentation",
  readsAttribute(name) {
    return (
      name.startsWith('ag2.') ||
      name === OPENINFERENCE_SPAN_KIND ||
      name === OPENINFERENCE_AGENT_NAME ||
      name === OPENINFERENCE_TOOL_NAME ||
      name === OPENINFERENCE_SESSION_ID ||
      name === GEN_AI_AGENT_NAME ||
      name === GEN_AI_TOOL_NAME ||
      name === GEN_AI_CONVERSATION_ID ||
      name === GEN_AI_AGENT_REMOTE ||
      name === GEN_AI_CONVERSATION_RESUMED ||
      name === ERROR_TYPE ||
      name === SERVER_ADDRESS
    );
  },
  readsEvent(name, span) {
    return name === DISPATCH_FAILED && span.attributes[AG2_SPAN_TYPE] === 'channel';
  },
  claims(span) {
    return kindOf(span) !== undefined;
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
