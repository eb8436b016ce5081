/**
 * The `openai-agents` dialect: runs of the OpenAI Agents SDK (@openai/agents,
 * and the Python `openai-agents` package), in the three vocabularies its traces
 * reach a backend in:
 *
 * - **native**: the SDK's own span data, from Baton's tracing processor
 *   (src/integrations/openai-agents/) or the SDK's exported JSON
 *   (src/ingest/encodings/openai-agents.ts); spans with `openai_agents.span.type`;
 * - **OpenInference** (@arizeai/openinference-instrumentation-openai-agents, and
 *   Python's openinference-instrumentation-openai-agents, claimed by their
 *   instrumentation scopes): AGENT spans named after the agent with
 *   `graph.node.id` (and `graph.node.parent_id` = the agent that handed off; the
 *   Python one writes neither, so an AGENT span under another of its spans is an
 *   agent), TOOL spans `handoff to <agent>` (`tool.name` `handoff_to_<agent>`),
 *   a root AGENT span for the trace;
 * - **Logfire** (Python `logfire.instrument_openai_agents()`, scope
 *   `logfire.openai_agents`): spans named by their message template,
 *   `Agent run: {name!r}`, `Handoff: {from_agent} → {to_agent}`,
 *   `Function: {name}`, with the span data's fields as attributes and failures
 *   as `logfire.level_num` ≥ 17 with an `error` attribute.
 *
 * What the SDK records, and so how handoffs are read:
 * - An agent span per agent turn sequence; a **handoff** span (`from_agent`,
 *   `to_agent`) inside the sender's agent span (under its turn span), after which
 *   the receiver gets a new agent span, a sibling of the sender's. The handoff is
 *   a declared transfer (`pass_control`, `inferred: false`) arriving at the
 *   target's earliest agent span starting at or after the handoff, a sibling of
 *   the sender's first (runs side by side in one trace keep their own receivers).
 * - "Multiple handoffs requested": one response asked for several; the SDK ran
 *   the first (`to_agent`) and listed all in the error. One transfer, to the
 *   agent that ran; the dropped requests are reported (`ignored`, for `--explain`).
 * - An agent used as a tool (`agent.asTool()`): its agent span nests under the
 *   caller's function span. A delegation that returns to the caller
 *   (`return_to_caller`, `inferred: true`: read from nesting). A failed call of
 *   that tool followed by another call of it from the same run is a retry: one
 *   handoff, `sendCount` attempts. The retry starts after the failed call ended:
 *   two calls of the tool at once (one response asking twice) are two handoffs.
 * - Repeated transfers from one run to one target landing in the same run are
 *   one handoff attempted several times, as in otel-genai.
 *
 * The SDK records no envelopes, acknowledgements, context sizes or state
 * versions: every handoff is an in-process transfer, and the rules that need
 * those facts report "not evaluated: in-process transfers: openai-agents does
 * not record …" for them, never a pass.
 *
 * Linear in the group's spans but for sorts; ancestor walks go through the
 * context (cycle-safe).
 *
 * @see https://openai.github.io/openai-agents-js/guides/tracing/
 * @see https://github.com/Arize-ai/openinference/tree/main/js/packages/openinference-instrumentation-openai-agents
 * @see https://github.com/pydantic/logfire/blob/main/logfire/_internal/integrations/openai_agents.py
 */
import {
  GEN_AI_AGENT_HANDOFF_SOURCE_NAME,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_TOOL_NAME,
  GEN_AI_TRANSFER_TARGET_NAME,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  LOGFIRE_LEVEL_NUM,
  LOGFIRE_MSG,
  LOGFIRE_MSG_TEMPLATE,
  OPENAI_AGENTS_ERROR_MESSAGE,
  OPENAI_AGENTS_GROUP_ID,
  OPENAI_AGENTS_GUARDRAIL_TRIGGERED,
  OPENAI_AGENTS_HANDOFF_FROM_AGENT,
  OPENAI_AGENTS_HANDOFF_REQUESTED_AGENTS,
  OPENAI_AGENTS_HANDOFF_TO_AGENT,
  OPENAI_AGENTS_SPAN_TYPE,
  OPENINFERENCE_GRAPH_NODE_ID,
  OPENINFERENCE_GRAPH_NODE_PARENT_ID,
  OPENINFERENCE_INPUT_VALUE,
  OPENINFERENCE_SESSION_ID,
  OPENINFERENCE_SPAN_KIND,
  OPENINFERENCE_TOOL_NAME,
} from '../../model/attributes.js';
import type { TransferMode } from '../../model/handoff-model.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart, partitionPoint } from '../span-index.js';
import { parseJsonText, put, readName, readNumber, readStrings } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { NearestAncestor } from './nearest-ancestor.js';
import { normalizeAgentName } from './otel-genai.js';

/** Instrumentation scope of @arizeai/openinference-instrumentation-openai-agents. */
export const OPENINFERENCE_OPENAI_AGENTS_SCOPE = '@arizeai/openinference-instrumentation-openai-agents';
/** Instrumentation scope of the Python openinference-instrumentation-openai-agents (its module name). */
export const OPENINFERENCE_OPENAI_AGENTS_PYTHON_SCOPE = 'openinference.instrumentation.openai_agents';
/** Instrumentation scope of Logfire's openai_agents integration (`logfire.` + its scope suffix). */
export const LOGFIRE_OPENAI_AGENTS_SCOPE = 'logfire.openai_agents';

const LOGFIRE_AGENT = 'Agent run: {name!r}';
const LOGFIRE_HANDOFF = 'Handoff: {from_agent} → {to_agent}';
const LOGFIRE_FUNCTION = 'Function: {name}';
const LOGFIRE_TRACE = 'OpenAI Agents trace: {name}';
/** Logfire's `error` level number: spans at or above it failed. */
const LOGFIRE_ERROR_LEVEL = 17;
const MULTIPLE_HANDOFFS = 'Multiple handoffs requested';
const OPENINFERENCE_HANDOFF_PREFIX = 'handoff to ';
const OPENINFERENCE_HANDOFF_TOOL_PREFIX = 'handoff_to_';
/** How many later runs of the target a handoff looks through for a sibling of its sender before taking the earliest. */
const SIBLING_LOOKAHEAD = 64;
/** Longest attribute text parsed as JSON (a name sits near the top; payloads are not walked). */
const MAX_JSON_CHARS = 1 << 16;

type Role = 'agent' | 'handoff' | 'tool' | 'workflow' | 'other';

/** One claimed span, read in whichever vocabulary it came in. */
interface Node {
  readonly span: SpanRecord;
  readonly role: Role;
  /** agent: the agent; tool: the tool; other: what the span is (for the ignore reason). */
  readonly name: string | undefined;
  readonly from: string | undefined;
  readonly to: string | undefined;
  /** A "Multiple handoffs requested" error's list. */
  readonly requested: readonly string[] | undefined;
  /** OpenInference's `graph.node.parent_id` on an agent span: the agent that handed off to it. */
  readonly handedOffBy: string | undefined;
  /** An OpenInference AGENT span without `graph.node.id` (the Python instrumentation writes none): the trace's root, unless it sits under another OpenInference span, then an agent of this name. */
  readonly agentUnlessRoot: string | undefined;
  readonly failed: boolean;
  readonly errorMessage: string | undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.length === 0) return undefined;
  const first = text[0];
  if (first !== '{' && first !== '[') return undefined;
  return parseJsonText(text, MAX_JSON_CHARS);
}

function stringField(value: unknown, key: string): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' && field.length > 0 ? field : undefined;
}

/** `requested_agents` of an error's data, from an object `{message, data}` or the data itself. */
function requestedIn(value: unknown): string[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const data = record.data !== null && typeof record.data === 'object' ? (record.data as Record<string, unknown>) : record;
  const list = data.requested_agents;
  if (!Array.isArray(list)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) if (typeof list[i] === 'string') out.push(list[i] as string);
  return out.length > 0 ? out : undefined;
}

const REQUESTED_AGENTS_REPR = /requested_agents['"]?\s*:\s*\[([^\]]*)\]/;
const QUOTED = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g;

/**
 * `requested_agents` from Python's repr of the error data, as OpenInference's Python
 * bridge writes the status (`f"{error['message']}: {error['data']}"`:
 * `{'requested_agents': ['billing', 'refunds']}`), which is not JSON.
 */
function requestedInRepr(message: string): string[] | undefined {
  const list = REQUESTED_AGENTS_REPR.exec(message.length > MAX_JSON_CHARS ? message.slice(0, MAX_JSON_CHARS) : message);
  if (!list) return undefined;
  const out: string[] = [];
  for (const match of list[1]!.matchAll(QUOTED)) {
    const name = match[1] ?? match[2];
    if (name) out.push(name);
  }
  return out.length > 0 ? out : undefined;
}

/** Logfire writes Python's None as the JSON text `null`. */
function logfireName(span: SpanRecord, key: string): string | undefined {
  const value = readName(span.attributes, key);
  return value === 'null' ? undefined : value;
}

/** A node with every field in one order (one hidden class for all nodes); the role's own fields are set after. */
function nodeOf(span: SpanRecord, role: Role, name: string | undefined, failed: boolean, errorMessage?: string): Mutable<Node> {
  return { span, role, name, from: undefined, to: undefined, requested: undefined, handedOffBy: undefined, agentUnlessRoot: undefined, failed, errorMessage };
}

function handoffNodeOf(span: SpanRecord, failed: boolean, from: string | undefined, to: string | undefined, requested: readonly string[] | undefined, errorMessage: string | undefined): Node {
  const node = nodeOf(span, 'handoff', undefined, failed, errorMessage);
  node.from = from;
  node.to = to;
  node.requested = requested;
  return node;
}

function readNative(span: SpanRecord, type: string): Node {
  const attrs = span.attributes;
  const errorMessage = readName(attrs, OPENAI_AGENTS_ERROR_MESSAGE) ?? (span.statusCode === StatusCodeNumber.Error ? span.statusMessage || 'error' : undefined);
  const failed = errorMessage !== undefined;
  switch (type) {
    case 'agent':
      return nodeOf(span, 'agent', readName(attrs, GEN_AI_AGENT_NAME), failed, errorMessage);
    case 'handoff': {
      const requested = readStrings(attrs, OPENAI_AGENTS_HANDOFF_REQUESTED_AGENTS);
      return handoffNodeOf(
        span,
        failed,
        readName(attrs, OPENAI_AGENTS_HANDOFF_FROM_AGENT) ?? readName(attrs, GEN_AI_AGENT_HANDOFF_SOURCE_NAME),
        readName(attrs, OPENAI_AGENTS_HANDOFF_TO_AGENT) ?? readName(attrs, GEN_AI_TRANSFER_TARGET_NAME),
        requested && requested.length > 0 ? requested : undefined,
        errorMessage,
      );
    }
    case 'function':
      return nodeOf(span, 'tool', readName(attrs, GEN_AI_TOOL_NAME) ?? span.name, failed, errorMessage);
    case 'trace':
      return nodeOf(span, 'workflow', undefined, failed);
    default:
      return nodeOf(span, 'other', type, failed);
  }
}

function readOpenInference(span: SpanRecord): Node {
  const attrs = span.attributes;
  const kind = readName(attrs, OPENINFERENCE_SPAN_KIND);
  const failed = span.statusCode === StatusCodeNumber.Error;
  const errorMessage = failed ? span.statusMessage || 'error' : undefined;
  if (kind === 'AGENT') {
    const agent = readName(attrs, OPENINFERENCE_GRAPH_NODE_ID);
    // The trace's own root span is an AGENT span too, named after the workflow, without a graph node;
    // the Python instrumentation writes no graph node on agent spans either: told apart by position (see #classify).
    if (agent === undefined) {
      const root = nodeOf(span, 'workflow', undefined, failed, errorMessage);
      root.agentUnlessRoot = span.name;
      return root;
    }
    const node = nodeOf(span, 'agent', agent, failed, errorMessage);
    node.handedOffBy = readName(attrs, OPENINFERENCE_GRAPH_NODE_PARENT_ID);
    return node;
  }
  if (kind === 'TOOL') {
    const tool = readName(attrs, OPENINFERENCE_TOOL_NAME);
    const isHandoff = span.name.startsWith(OPENINFERENCE_HANDOFF_PREFIX) || span.name === 'handoff' || (tool !== undefined && tool.startsWith(OPENINFERENCE_HANDOFF_TOOL_PREFIX));
    if (!isHandoff) return nodeOf(span, 'tool', tool ?? span.name, failed, errorMessage);
    // The span name keeps the agent's name as written; `tool.name` prefixes it.
    let to: string | undefined;
    if (span.name.startsWith(OPENINFERENCE_HANDOFF_PREFIX)) to = span.name.slice(OPENINFERENCE_HANDOFF_PREFIX.length);
    else if (tool !== undefined && tool.startsWith(OPENINFERENCE_HANDOFF_TOOL_PREFIX)) to = tool.slice(OPENINFERENCE_HANDOFF_TOOL_PREFIX.length);
    // `input.value` is {"from_agent": …} unless the app hides inputs; the enclosing agent says it otherwise.
    const from = stringField(parseJson(readName(attrs, OPENINFERENCE_INPUT_VALUE)), 'from_agent');
    // The status description is the error message, then ": " and the error data as JSON.
    let requested: string[] | undefined;
    const message = span.statusMessage;
    if (failed && message.startsWith(MULTIPLE_HANDOFFS)) requested = requestedIn(parseJson(message.slice(message.indexOf('{') >= 0 ? message.indexOf('{') : message.length))) ?? requestedInRepr(message);
    return handoffNodeOf(span, failed, from, to && to.length > 0 ? to : undefined, requested, errorMessage);
  }
  return nodeOf(span, 'other', kind === undefined ? span.name : `openinference:${kind}`, failed);
}

function readLogfire(span: SpanRecord): Node {
  const attrs = span.attributes;
  const template = readName(attrs, LOGFIRE_MSG_TEMPLATE) ?? span.name;
  const level = readNumber(attrs, LOGFIRE_LEVEL_NUM);
  const errorText = readName(attrs, 'error');
  const error = errorText === undefined || errorText === 'null' ? undefined : parseJson(errorText);
  const failed = span.statusCode === StatusCodeNumber.Error || (level !== undefined && level >= LOGFIRE_ERROR_LEVEL) || error !== undefined;
  const errorMessage = failed ? (stringField(error, 'message') ?? (span.statusMessage || 'error')) : undefined;
  if (template === LOGFIRE_AGENT) {
    let agent = logfireName(span, 'name');
    if (agent === undefined) {
      // `logfire.msg` is "Agent run: 'name'" (Python's repr).
      const msg = readName(attrs, LOGFIRE_MSG);
      if (msg !== undefined && msg.startsWith('Agent run: ')) agent = msg.slice(11).replace(/^['"]|['"]$/g, '') || undefined;
    }
    return nodeOf(span, 'agent', agent, failed, errorMessage);
  }
  if (template === LOGFIRE_HANDOFF) {
    return handoffNodeOf(span, failed, logfireName(span, 'from_agent'), logfireName(span, 'to_agent'), errorMessage === MULTIPLE_HANDOFFS ? requestedIn(error) : undefined, errorMessage);
  }
  if (template === LOGFIRE_FUNCTION) return nodeOf(span, 'tool', logfireName(span, 'name') ?? span.name, failed, errorMessage);
  if (template === LOGFIRE_TRACE) return nodeOf(span, 'workflow', undefined, failed);
  if (template.startsWith('Chat completion') || template.startsWith('Responses API')) return nodeOf(span, 'other', 'generation', failed);
  if (template.startsWith('Turn ')) return nodeOf(span, 'other', 'turn', failed);
  if (template.startsWith('Task: ')) return nodeOf(span, 'other', 'task', failed);
  return nodeOf(span, 'other', template, failed);
}

function readNode(span: SpanRecord): Node {
  const type = readName(span.attributes, OPENAI_AGENTS_SPAN_TYPE);
  if (type !== undefined) return readNative(span, type);
  if (span.scopeName === OPENINFERENCE_OPENAI_AGENTS_SCOPE || span.scopeName === OPENINFERENCE_OPENAI_AGENTS_PYTHON_SCOPE) return readOpenInference(span);
  return readLogfire(span);
}

interface Run {
  readonly node: Node;
  readonly agent: string;
  readonly key: string;
  readonly taskId: string | undefined;
  /** Set when a handoff arrived at this run. */
  reachedByHandoff: boolean;
}

interface Draft {
  readonly span: SpanRecord;
  readonly source: string;
  readonly sourceKey: string;
  readonly target: string;
  readonly targetKey: string;
  readonly mode: TransferMode;
  readonly inferred: boolean;
  readonly arrival: Run | undefined;
  readonly taskId: string | undefined;
  /** The tool a delegation went through ('' for a handoff): retries are matched per tool. */
  readonly via: string;
  readonly failed: boolean;
}

function compareDrafts(a: Draft, b: Draft): number {
  return compareByStart(a.span, b.span);
}

function compareNodes(a: Node, b: Node): number {
  return compareByStart(a.span, b.span);
}

function compareRuns(a: Run, b: Run): number {
  return compareByStart(a.node.span, b.node.span);
}

const OTHER_REASONS: Readonly<Record<string, string>> = {
  generation: 'a model call (generation span): no handoff of its own',
  response: 'a model call (response span): no handoff of its own',
  task: 'one Runner.run invocation (task span): a container of agent runs',
  turn: 'one model turn of an agent (turn span): the agent span holds the run',
  guardrail: 'a guardrail check: no handoff meaning',
  custom: 'a custom span: no handoff meaning',
  mcp_tools: 'an MCP tool listing: no handoff meaning',
  'openinference:LLM': 'a model call (OpenInference LLM span): no handoff of its own',
  'openinference:CHAIN': "an OpenInference CHAIN span (the SDK's task, turn or custom span): no handoff meaning",
  'openinference:GUARDRAIL': 'a guardrail check: no handoff meaning',
};

/** One group's interpretation. */
class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #nodes = new Map<string, Node>();
  readonly #runs: Run[] = [];
  readonly #runById = new Map<string, Run>();
  readonly #runsByKey = new Map<string, Run[]>();
  readonly #handoffs: Node[] = [];
  readonly #tools: Node[] = [];
  readonly #drafts: Draft[] = [];
  readonly #isRun: (span: SpanRecord) => boolean;
  readonly #isRunOrTool: (span: SpanRecord) => boolean;
  readonly #isWorkflow: (span: SpanRecord) => boolean;
  readonly #isOpenInference: (span: SpanRecord) => boolean;
  #hasWorkflows = false;
  /**
   * The trace (workflow) span above a span, walked once per span for all below it: agents used as
   * tools nest each run inside the last, and walking to the trace from every run was quadratic.
   * Made once the roles are settled (run() turns some root candidates into agents first).
   */
  #workflowAbove: NearestAncestor | undefined;

  constructor(context: DialectContext) {
    this.#context = context;
    const nodes = this.#nodes;
    this.#isRun = (span) => nodes.get(span.spanId)?.role === 'agent';
    this.#isRunOrTool = (span) => {
      const role = nodes.get(span.spanId)?.role;
      return role === 'agent' || role === 'tool';
    };
    this.#isWorkflow = (span) => nodes.get(span.spanId)?.role === 'workflow';
    this.#isOpenInference = (span) => (span.scopeName === OPENINFERENCE_OPENAI_AGENTS_SCOPE || span.scopeName === OPENINFERENCE_OPENAI_AGENTS_PYTHON_SCOPE) && nodes.has(span.spanId);
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    let rootCandidates = false;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (this.#nodes.has(span.spanId)) continue; // a re-exported copy
      const node = readNode(span);
      if (node.agentUnlessRoot !== undefined && node.agentUnlessRoot.length > 0) rootCandidates = true;
      this.#nodes.set(span.spanId, node);
    }
    if (rootCandidates) {
      for (const [id, node] of this.#nodes) {
        // An AGENT span under another span of its instrumentation is an agent run, not the trace's root.
        if (node.agentUnlessRoot !== undefined && node.agentUnlessRoot.length > 0 && this.#context.ancestorWhere(node.span, this.#isOpenInference) !== undefined) {
          this.#nodes.set(id, nodeOf(node.span, 'agent', node.agentUnlessRoot, node.failed, node.errorMessage));
        }
      }
    }
    // Without a workflow span in the group no run has one above it: #taskOf skips the walk up.
    for (const node of this.#nodes.values()) if (node.role === 'workflow') this.#hasWorkflows = true;
    for (const node of this.#nodes.values()) this.#classify(node);
    this.#runs.sort(compareRuns);
    for (const list of this.#runsByKey.values()) list.sort(compareRuns);
    this.#handoffs.sort(compareNodes);
    for (let i = 0; i < this.#handoffs.length; i++) this.#readHandoff(this.#handoffs[i]!);
    this.#readDelegations();
    this.#readGraphParents();
    this.#emit();
    for (let i = 0; i < this.#runs.length; i++) this.parts.push(this.#runPart(this.#runs[i]!));
    return { parts: this.parts, ignored: this.ignored };
  }

  #ignore(span: SpanRecord, reason: string): void {
    this.ignored.push({ span, reason });
  }

  #classify(node: Node): void {
    switch (node.role) {
      case 'agent': {
        if (node.name === undefined) {
          this.#ignore(node.span, 'agent span without a name: which agent ran is unknown');
          return;
        }
        const key = normalizeAgentName(node.name);
        const run: Run = { node, agent: node.name, key, taskId: this.#taskOf(node.span), reachedByHandoff: false };
        this.#runs.push(run);
        this.#runById.set(node.span.spanId, run);
        let list = this.#runsByKey.get(key);
        if (!list) this.#runsByKey.set(key, (list = []));
        list.push(run);
        return;
      }
      case 'handoff':
        this.#handoffs.push(node);
        return;
      case 'tool':
        this.#tools.push(node);
        return;
      case 'workflow':
        this.#ignore(node.span, 'the trace itself (workflow span): a container of agent runs, no handoff of its own');
        return;
      default:
        if (node.span.attributes[OPENAI_AGENTS_GUARDRAIL_TRIGGERED] === true) {
          // A tripwire ends the run with the SDK's generic "Error in agent run": say which check stopped it.
          this.#ignore(node.span, 'a guardrail check that tripped (openai_agents.guardrail.triggered): the SDK stopped the run here, so the agent run it guarded is read as failed; no handoff meaning');
          return;
        }
        this.#ignore(node.span, OTHER_REASONS[node.name ?? ''] ?? `${node.name ?? 'span'}: no handoff meaning`);
    }
  }

  /** The conversation: the span's own `gen_ai.conversation.id` (OpenInference: `session.id`), else its trace span's (the SDK's group id). */
  #taskOf(span: SpanRecord): string | undefined {
    const own = readName(span.attributes, GEN_AI_CONVERSATION_ID) ?? readName(span.attributes, OPENINFERENCE_SESSION_ID);
    if (own !== undefined || !this.#hasWorkflows) return own;
    this.#workflowAbove ??= new NearestAncestor(this.#context, this.#isWorkflow);
    const workflow = this.#workflowAbove.of(span);
    if (!workflow) return undefined;
    const attrs = workflow.attributes;
    const group = readName(attrs, GEN_AI_CONVERSATION_ID) ?? readName(attrs, OPENAI_AGENTS_GROUP_ID) ?? readName(attrs, 'group_id');
    return group === 'null' ? undefined : group;
  }

  /**
   * The receiving run of a handoff: the earliest run of `key` starting at or
   * after `startMs`, preferring a sibling of the sender's run (the SDK starts the
   * receiver beside the sender, under the same task or trace), so runs going on
   * side by side in one trace (`Promise.all` of two `run()` calls) each get their
   * own receivers. The sibling search looks a bounded way ahead.
   */
  #arrivalOf(key: string, startMs: number, sender: Run | undefined): Run | undefined {
    const runs = this.#runsByKey.get(key);
    if (!runs) return undefined;
    const lo = partitionPoint(runs.length, (i) => runs[i]!.node.span.startMs < startMs);
    let first: Run | undefined;
    const parent = sender ? sender.node.span.parentSpanId : undefined;
    const end = Math.min(runs.length, lo + SIBLING_LOOKAHEAD);
    for (let i = lo; i < end; i++) {
      const run = runs[i]!;
      if (run === sender) continue;
      if (parent === undefined || run.node.span.parentSpanId === parent) return run;
      first ??= run;
    }
    return first ?? (end < runs.length ? runs[end] : undefined);
  }

  #canonical(name: string): string {
    const runs = this.#runsByKey.get(normalizeAgentName(name));
    return runs && runs.length > 0 ? runs[0]!.agent : name;
  }

  #readHandoff(node: Node): void {
    const span = node.span;
    const owner = this.#context.ancestorWhere(span, this.#isRun);
    const ownerRun = owner ? this.#runById.get(owner.spanId) : undefined;
    const source = node.from ?? ownerRun?.agent;
    if (node.to === undefined) {
      // The SDK names the target (`to_agent`) only once the handoff's `onInvokeHandoff` returned: an
      // `onHandoff` that threw, arguments failing the handoff's `inputType`, a bad input filter end the
      // span in error with no target. The model did ask for a handoff, and it never arrived.
      if (node.failed && source !== undefined) {
        const part: Mutable<TransferPart> = {
          type: 'transfer',
          span,
          source: ownerRun ? ownerRun.agent : this.#canonical(source),
          target: 'unknown',
          mode: 'pass_control',
          inferred: false,
          refusal: `failed: the handoff raised before the SDK recorded its target (${node.errorMessage ?? 'error'})`,
        };
        put(part, 'taskId', ownerRun?.taskId ?? this.#taskOf(span));
        this.parts.push(part);
        return;
      }
      this.#ignore(span, `handoff span without to_agent: the handoff ${node.failed ? 'failed outside any agent span' : 'named no target'}${node.errorMessage ? ` (${node.errorMessage})` : ''}`);
      return;
    }
    if (source === undefined) {
      this.#ignore(span, 'handoff span without from_agent outside any agent span: the source agent is unknown');
      return;
    }
    const targetKey = normalizeAgentName(node.to);
    const arrival = this.#arrivalOf(targetKey, span.startMs, ownerRun);
    if (arrival) arrival.reachedByHandoff = true;
    if (node.requested && node.requested.length > 1) {
      const dropped: string[] = [];
      for (let i = 0; i < node.requested.length; i++) if (normalizeAgentName(node.requested[i]!) !== targetKey) dropped.push(node.requested[i]!);
      this.#ignore(span, `${MULTIPLE_HANDOFFS}: the SDK ran only the handoff to ${node.to}; ${dropped.length > 0 ? `the requests to ${dropped.join(', ')} were dropped` : 'the others were repeats'} (read as one handoff)`);
    }
    this.#drafts.push({
      span,
      source: ownerRun ? ownerRun.agent : this.#canonical(source),
      sourceKey: ownerRun ? `run:${ownerRun.node.span.spanId}` : `agent:${normalizeAgentName(source)}`,
      target: arrival ? arrival.agent : this.#canonical(node.to),
      targetKey,
      mode: 'pass_control',
      inferred: false,
      arrival,
      taskId: ownerRun?.taskId ?? arrival?.taskId ?? this.#taskOf(span),
      via: '',
      // A "multiple handoffs" error is not a failed handoff: the first one ran.
      failed: node.failed && node.requested === undefined,
    });
  }

  /** Agents run inside a function span (agents as tools) are delegations from the tool's agent; failed calls of such a tool are their attempts. */
  #readDelegations(): void {
    const delegatingTools = new Map<string, Run[]>();
    // A run can sit in a tool only when the group has tools: without any, no walk up per run.
    const runs = this.#tools.length > 0 ? this.#runs : [];
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      if (run.reachedByHandoff) continue;
      const parent = this.#context.ancestorWhere(run.node.span, this.#isRunOrTool);
      if (!parent || this.#nodes.get(parent.spanId)?.role !== 'tool') continue;
      let nested = delegatingTools.get(parent.spanId);
      if (!nested) delegatingTools.set(parent.spanId, (nested = []));
      nested.push(run);
    }
    // Tool names that delegated somewhere, per owning run: a failed call of one without a nested run is an attempt of that delegation.
    const delegatingNames = new Map<string, string>();
    const tools = this.#tools;
    tools.sort(compareNodes);
    for (let i = 0; i < tools.length; i++) {
      const tool = tools[i]!;
      const nested = delegatingTools.get(tool.span.spanId);
      if (!nested) continue;
      const owner = this.#context.ancestorWhere(tool.span, this.#isRun);
      const ownerRun = owner ? this.#runById.get(owner.spanId) : undefined;
      if (!ownerRun) {
        this.#ignore(tool.span, `tool ${tool.name} ran agent ${nested[0]!.agent} outside any agent span: the delegating agent is unknown`);
        continue;
      }
      delegatingNames.set(`${ownerRun.node.span.spanId}\u0000${tool.name}`, nested[0]!.key);
      for (let k = 0; k < nested.length; k++) {
        const run = nested[k]!;
        this.#drafts.push({
          span: tool.span,
          source: ownerRun.agent,
          sourceKey: `run:${ownerRun.node.span.spanId}`,
          target: run.agent,
          targetKey: run.key,
          mode: 'return_to_caller',
          inferred: true,
          arrival: run,
          taskId: ownerRun.taskId ?? run.taskId,
          via: tool.name ?? '',
          failed: tool.failed,
        });
      }
    }
    for (let i = 0; i < tools.length; i++) {
      const tool = tools[i]!;
      if (delegatingTools.has(tool.span.spanId)) continue;
      if (delegatingNames.size === 0) {
        // No tool ran an agent: none of these is an attempt of a delegation (no walk up to its run).
        this.#ignore(tool.span, `tool ${tool.name ?? tool.span.name} is not a handoff: no agent ran inside it`);
        continue;
      }
      const owner = this.#context.ancestorWhere(tool.span, this.#isRun);
      const ownerRun = owner ? this.#runById.get(owner.spanId) : undefined;
      const targetKey = ownerRun ? delegatingNames.get(`${ownerRun.node.span.spanId}\u0000${tool.name}`) : undefined;
      if (ownerRun && targetKey !== undefined && tool.failed) {
        const runs = this.#runsByKey.get(targetKey)!;
        this.#drafts.push({
          span: tool.span,
          source: ownerRun.agent,
          sourceKey: `run:${ownerRun.node.span.spanId}`,
          target: runs[0]!.agent,
          targetKey,
          mode: 'return_to_caller',
          inferred: true,
          arrival: undefined,
          taskId: ownerRun.taskId,
          via: tool.name ?? '',
          failed: true,
        });
        continue;
      }
      this.#ignore(tool.span, `tool ${tool.name ?? tool.span.name} is not a handoff: no agent ran inside it`);
    }
  }

  /** An OpenInference agent span naming the agent that handed off to it (`graph.node.parent_id`) with no handoff span in the data arriving at it. */
  #readGraphParents(): void {
    let arrived: Set<string> | undefined;
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      const from = run.node.handedOffBy;
      if (from === undefined) continue;
      if (!arrived) {
        arrived = new Set();
        for (let d = 0; d < this.#drafts.length; d++) {
          const arrival = this.#drafts[d]!.arrival;
          if (arrival) arrived.add(arrival.node.span.spanId);
        }
      }
      if (arrived.has(run.node.span.spanId)) continue;
      this.#drafts.push({
        span: run.node.span,
        source: this.#canonical(from),
        sourceKey: `agent:${normalizeAgentName(from)}`,
        target: run.agent,
        targetKey: run.key,
        mode: 'pass_control',
        inferred: false,
        arrival: run,
        taskId: run.taskId,
        via: '',
        failed: false,
      });
    }
  }

  /**
   * Merges attempts: transfers from one source run to one target that land in the
   * same run, and a failed attempt with the next attempt through the same tool
   * (or handoff) to the same target, are one handoff with `sendCount` attempts.
   */
  #emit(): void {
    const drafts = this.#drafts;
    drafts.sort(compareDrafts);
    const byArrival = new Map<string, Mutable<TransferPart>>();
    /**
     * The latest attempt per source run, target and tool whose call failed, with when that call
     * ended: the next attempt starting after it retries it. One starting before it ended ran beside
     * it (the same response asked for the tool twice): a handoff of its own.
     */
    const failedAttempt = new Map<string, { part: Mutable<TransferPart>; endMs: number }>();
    for (let i = 0; i < drafts.length; i++) {
      const draft = drafts[i]!;
      const route = `${draft.sourceKey}\u0000${draft.targetKey}\u0000${draft.via}`;
      const arrivalKey = `${route}\u0000${draft.arrival ? draft.arrival.node.span.spanId : ''}`;
      const failed = failedAttempt.get(route);
      const retried = failed && failed.endMs <= draft.span.startMs ? failed.part : undefined;
      const first = retried ?? (draft.arrival ? byArrival.get(arrivalKey) : undefined);
      if (first) {
        first.sendCount = (first.sendCount ?? 1) + 1;
        if (draft.arrival) {
          first.arrival = draft.arrival.node.span;
          first.target = draft.target;
          byArrival.set(arrivalKey, first);
        }
        if (draft.failed) failedAttempt.set(route, { part: first, endMs: draft.span.endMs });
        else if (retried) failedAttempt.delete(route);
        if (draft.span !== first.span) this.#ignore(draft.span, `retry of the handoff on span ${first.span.spanId}: counted in its sendCount`);
        continue;
      }
      const part: Mutable<TransferPart> = { type: 'transfer', span: draft.span, source: draft.source, target: draft.target, inferred: draft.inferred, mode: draft.mode };
      put(part, 'taskId', draft.taskId);
      if (draft.arrival) {
        part.arrival = draft.arrival.node.span;
        byArrival.set(arrivalKey, part);
      }
      if (draft.failed) failedAttempt.set(route, { part, endMs: draft.span.endMs });
      this.parts.push(part);
    }
  }

  #runPart(run: Run): AgentRunPart {
    const attrs = run.node.span.attributes;
    const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.node.span, agent: run.agent, outcome: run.node.failed ? 'failed' : 'completed' };
    put(part, 'taskId', run.taskId);
    put(part, 'inputTokens', readNumber(attrs, GEN_AI_USAGE_INPUT_TOKENS));
    put(part, 'outputTokens', readNumber(attrs, GEN_AI_USAGE_OUTPUT_TOKENS));
    return part;
  }
}

/** OpenAI Agents SDK runs: its own span data, OpenInference's and Logfire's bridges (see the file header). */
export const openAiAgentsDialect: Dialect = {
  id: 'openai-agents',
  description: 'OpenAI Agents SDK (its span data via Baton\'s processor or its JSON export; OpenInference and Logfire bridges)',
  readsAttribute(name) {
    return (
      name.startsWith('openai_agents.') ||
      name.startsWith('gen_ai.') ||
      name === OPENINFERENCE_SPAN_KIND ||
      name === OPENINFERENCE_GRAPH_NODE_ID ||
      name === OPENINFERENCE_GRAPH_NODE_PARENT_ID ||
      name === OPENINFERENCE_TOOL_NAME ||
      name === OPENINFERENCE_INPUT_VALUE ||
      name === OPENINFERENCE_SESSION_ID ||
      name.startsWith('logfire.') ||
      name === 'name' ||
      name === 'from_agent' ||
      name === 'to_agent' ||
      name === 'error' ||
      name === 'group_id'
    );
  },
  claims(span) {
    const scope = span.scopeName;
    return (
      typeof span.attributes[OPENAI_AGENTS_SPAN_TYPE] === 'string' ||
      scope === OPENINFERENCE_OPENAI_AGENTS_SCOPE ||
      scope === OPENINFERENCE_OPENAI_AGENTS_PYTHON_SCOPE ||
      scope === LOGFIRE_OPENAI_AGENTS_SCOPE
    );
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
