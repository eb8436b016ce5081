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
 * Linear in the group's spans but for the sorts the context does; walks up a parent chain are
 * bounded and cycle-safe (a trace can claim a span is its own ancestor).
 *
 * @see https://github.com/ag2ai/ag2/tree/main/autogen/opentelemetry
 * @see https://github.com/ag2ai/ag2/blob/main/autogen/agentchat/group/group_utils.py
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
  SERVER_ADDRESS,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { parseJsonText, put, readName } from './attribute-readers.js';
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

type Kind = 'conversation' | 'chats' | 'agent' | 'tool' | 'selection' | 'human' | 'code' | 'reserved' | 'a2a';

/** `consts.py` `SpanType` values claimed; `llm` (model calls) stays unclaimed. */
const KINDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['conversation', 'conversation'],
  ['multi_conversation', 'chats'],
  ['agent', 'agent'],
  ['tool', 'tool'],
  ['speaker_selection', 'selection'],
  ['human_input', 'human'],
  ['code_execution', 'code'],
  ['handoff', 'reserved'],
]);

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
  return span.name === A2A_EXECUTION && isAg2Scope(span.scopeName) ? 'a2a' : undefined;
}

/** `gen_ai.agent.name`, else the name in `invoke_agent {name}`. */
function agentOf(span: SpanRecord): string {
  const name = readName(span.attributes, GEN_AI_AGENT_NAME);
  if (name !== undefined) return name;
  const rest = span.name.startsWith('invoke_agent ') ? span.name.slice(13).trim() : '';
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
    for (let i = 0; i < spans.length; i++) if (this.#kinds.get(spans[i]!.spanId) === 'selection') this.#markInternal(spans[i]!);
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
    if (readName(conversation.attributes, GEN_AI_AGENT_NAME) !== manager) return false;
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
    const sender = readName(attrs, GEN_AI_AGENT_NAME) ?? (conversation.name.startsWith('conversation ') ? conversation.name.slice(13) : undefined);
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

  /** The transfer tools in an executor's turn, in order; other tools are the speaker's steps. */
  #readTransferCalls(executor: SpanRecord, calls: TransferCall[]): void {
    const children = this.#context.childrenOf(executor);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (this.#kinds.get(child.spanId) !== 'tool') continue;
      const tool = readName(child.attributes, GEN_AI_TOOL_NAME) ?? child.name.slice('execute_tool '.length);
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
    let at: SpanRecord | undefined = span;
    for (let depth = 0; at && depth < MAX_DEPTH; depth++) {
      const kind = this.#kinds.get(at.spanId);
      if (kind === 'conversation' || kind === 'chats') outermost = at;
      const parent = this.#context.parentOf(at);
      at = parent && parent.spanId !== at.spanId ? parent : undefined;
    }
    const found =
      outermost === undefined
        ? undefined
        : this.#kinds.get(outermost.spanId) === 'conversation'
          ? readName(outermost.attributes, GEN_AI_CONVERSATION_ID)
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
        if (this.#runChats.has(span.spanId)) return `${readName(span.attributes, GEN_AI_AGENT_NAME) ?? 'the manager'}'s run_chat: the group chat's rounds, read as the turns of the chat around it`;
        if (isTrue(span.attributes[GEN_AI_CONVERSATION_RESUMED])) return 'resuming a group chat (a_resume): AG2 loads its messages; no agent runs in it';
        if (readName(span.attributes, GEN_AI_AGENT_NAME) === TEMP_USER) return `AG2's temporary user proxy ${TEMP_USER} sent the first message (a group chat started without a user agent): the task's entry, not a handoff`;
        return 'a chat whose first message went to no agent run inside it (its recipient not instrumented, or it answered itself): no handoff read';
      case 'chats':
        return 'a queue of chats (initiate_chats): a container of its conversations, each a delegation to its recipient';
      case 'tool': {
        const tool = readName(span.attributes, GEN_AI_TOOL_NAME) ?? span.name;
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
      default:
        return `ag2.span.type ${String(span.attributes[AG2_SPAN_TYPE])}: reserved by AG2, not written yet; not read`;
    }
  }
}

/** AG2's own spans (see the file header). */
export const ag2Dialect: Dialect = {
  id: 'ag2',
  description: "AG2's OpenTelemetry spans (conversations, group chat turns and speaker selection, transfer tools, nested and queued chats)",
  readsAttribute(name) {
    return (
      name.startsWith('ag2.') ||
      name === GEN_AI_AGENT_NAME ||
      name === GEN_AI_TOOL_NAME ||
      name === GEN_AI_CONVERSATION_ID ||
      name === GEN_AI_AGENT_REMOTE ||
      name === GEN_AI_CONVERSATION_RESUMED ||
      name === ERROR_TYPE ||
      name === SERVER_ADDRESS
    );
  },
  claims(span) {
    return kindOf(span) !== undefined;
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
